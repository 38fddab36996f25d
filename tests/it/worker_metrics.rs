//! The worker's Prometheus metrics over HTTP: the server `herald work` runs on
//! `worker.metrics_addr`, in-process and in the real binary, counts a publish; and what
//! `herald serve` and `herald work` export together follows Prometheus' naming rules, so one
//! Prometheus can scrape both and the dashboards and alerts under `deploy/` can name them.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use herald_domain::{DeliveryState, Platform};
use herald_worker::Metrics;
use support::eventually;
use support::harness::{Harness, fast_sim, text};
use support::process::{KillOnDrop, free_port, herald_binary};

const PUBLISHED_ON_TELEGRAM: &str =
    "herald_delivery_runs_total{platform=\"telegram\",outcome=\"published\"} 1";

async fn scrape(base: &str, path: &str) -> Option<(reqwest::StatusCode, String, String)> {
    let answer = reqwest::get(format!("{base}{path}")).await.ok()?;
    let status = answer.status();
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Some((status, content_type, answer.text().await.ok()?))
}

#[tokio::test]
async fn the_worker_metrics_server_counts_a_published_delivery() {
    let h = Harness::start(fast_sim()).await;
    let (metrics, registry) = Metrics::standalone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(herald_worker::metrics::serve(registry, listener, async {
        let _ = stopped.await;
    }));
    let worker = h.spawn_worker_with_metrics(h.settings(), metrics);

    let (status, _, body) = scrape(&base, "/healthz").await.expect("/healthz answers");
    assert_eq!(status, 200);
    assert_eq!(body, "ok");
    let (_, _, before) = scrape(&base, "/metrics").await.expect("/metrics answers");
    assert!(!before.contains(PUBLISHED_ON_TELEGRAM), "{before}");

    let connection = h.connect(Platform::Telegram, None).await;
    let id = h.post(connection, text("counted"), None).await;
    h.until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;

    let (status, content_type, body) = scrape(&base, "/metrics").await.expect("/metrics answers");
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(body.contains(PUBLISHED_ON_TELEGRAM), "{body}");
    assert!(
        body.contains("herald_delivery_run_seconds_count{platform=\"telegram\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("herald_publish_latency_seconds_count{platform=\"telegram\"} 1"),
        "{body}"
    );
    assert!(body.contains("herald_deliveries_in_flight 0"), "{body}");

    worker.stop().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn herald_work_serves_metrics_on_its_configured_address() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(herald_binary());
    command
        .arg("work")
        .envs(h.child_env())
        .env("HERALD_WORKER__METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("HERALD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let _child = KillOnDrop(command.spawn().expect("herald work starts"));

    let up = eventually(Duration::from_secs(20), || async {
        scrape(&base, "/healthz")
            .await
            .filter(|(s, _, _)| *s == 200)
    })
    .await;
    assert!(up.is_some(), "herald work serves /healthz on {base}");

    let connection = h.connect(Platform::Telegram, None).await;
    let id = h
        .post(connection, text("counted by herald work"), None)
        .await;
    h.until_state(id, DeliveryState::Published, Duration::from_secs(30))
        .await;
    let body = eventually(Duration::from_secs(5), || async {
        scrape(&base, "/metrics")
            .await
            .map(|(_, _, body)| body)
            .filter(|body| body.contains(PUBLISHED_ON_TELEGRAM))
    })
    .await;
    assert!(body.is_some(), "the published delivery is counted");
}

/// What Herald exports, scraped from a running stack: the `/metrics` text of `herald serve`
/// and of `herald work` (both the real binary), after one Telegram post was published, while
/// the worker still runs.
pub(crate) struct Scraped {
    pub(crate) api: String,
    pub(crate) worker: String,
    /// The stack, still running until dropped.
    api_base: String,
    worker_process: Option<KillOnDrop>,
    _api_process: KillOnDrop,
    _harness: Harness,
}

impl Scraped {
    /// Every family either one declares (`# TYPE name kind`), with its kind; a family
    /// declared twice with two kinds panics, naming both.
    pub(crate) fn families(&self) -> BTreeMap<String, String> {
        let mut families: BTreeMap<String, String> = BTreeMap::new();
        for (source, body) in [("herald serve", &self.api), ("herald work", &self.worker)] {
            for (name, kind) in types(body) {
                if let Some(other) = families.insert(name.clone(), kind.clone()) {
                    assert_eq!(
                        other, kind,
                        "{name} is a {other} in one exporter and a {kind} in {source}"
                    );
                }
            }
        }
        families
    }
}

/// The `# TYPE` lines of an exposition, as (family, kind).
fn types(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| {
            let (name, kind) = rest.split_once(' ')?;
            Some((name.to_owned(), kind.trim().to_owned()))
        })
        .collect()
}

/// Starts `herald serve` and `herald work` against a fresh harness, publishes one post and
/// scrapes both (see [`Scraped`]). Labelled families with no series yet are not in the
/// text, which is why both processes create their series at zero when they start.
pub(crate) async fn scrape_a_running_stack() -> Scraped {
    let h = Harness::start(fast_sim()).await;
    let worker_base = format!("http://127.0.0.1:{}", free_port());
    let api_addr = format!("127.0.0.1:{}", free_port());
    let api_base = format!("http://{api_addr}");
    let media_dir = std::env::temp_dir().join(format!("herald-media-{}", h.redis.prefix()));
    let mut work = h.herald_command("work");
    work.env("HERALD_MEDIA__DIR", &media_dir).env(
        "HERALD_WORKER__METRICS_ADDR",
        worker_base.trim_start_matches("http://"),
    );
    let worker_process = KillOnDrop(work.spawn().expect("herald work starts"));
    let mut serve = h.herald_command("serve");
    serve
        .env("HERALD_MEDIA__DIR", &media_dir)
        .args(["--addr", &api_addr]);
    let api_process = KillOnDrop(serve.spawn().expect("herald serve starts"));

    let connection = h.connect(Platform::Telegram, None).await;
    let id = h.post(connection, text("scraped"), None).await;
    h.until_state(id, DeliveryState::Published, Duration::from_secs(30))
        .await;
    let worker = eventually(Duration::from_secs(10), || async {
        scrape(&worker_base, "/metrics")
            .await
            .map(|(_, _, body)| body)
            .filter(|body| body.contains(PUBLISHED_ON_TELEGRAM))
    })
    .await
    .expect("herald work counts the published delivery");
    // Requests are counted once answered: the second scrape shows the first.
    let api = eventually(Duration::from_secs(20), || async {
        scrape(&api_base, "/metrics")
            .await
            .filter(|(status, _, _)| *status == 200)
            .map(|(_, _, body)| body)
            .filter(|body| body.contains("herald_api_requests_total"))
    })
    .await
    .expect("herald serve answers /metrics");
    Scraped {
        api,
        worker,
        api_base,
        worker_process: Some(worker_process),
        _api_process: api_process,
        _harness: h,
    }
}

/// One Prometheus scrapes both processes: no family may be a counter in one and a gauge in
/// the other (or be declared twice), every counter sample is `<family>_total`, and every
/// family is `herald_` and snake_case. The API also sees the live worker and the published
/// delivery, which the dashboards and the alerts are built on.
#[tokio::test]
async fn api_and_worker_export_families_named_by_prometheus_conventions() {
    let _serial = support::serial().await;
    let scraped = Box::pin(scrape_a_running_stack()).await;
    for (source, body) in [
        ("herald serve", &scraped.api),
        ("herald work", &scraped.worker),
    ] {
        let declared = types(body);
        let mut names: Vec<&String> = declared.iter().map(|(name, _)| name).collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(
            before,
            names.len(),
            "{source} declares a family twice:\n{body}"
        );
    }
    let families = scraped.families();
    for (name, kind) in &families {
        assert!(
            name.starts_with("herald_")
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}: families are herald_ and snake_case"
        );
        assert!(
            !name.ends_with("_total"),
            "{name}: a family is named without _total (the encoder adds it to counters)"
        );
        if kind == "histogram" {
            assert!(
                name.ends_with("_seconds"),
                "{name}: histograms here are times"
            );
        }
    }
    let body = format!("{}\n{}", scraped.api, scraped.worker);
    let samples: Vec<&str> = body
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .collect();
    let mut counted = 0;
    for sample in &samples {
        let name = sample.split(['{', ' ']).next().unwrap_or_default();
        let family = ["", "_total", "_created", "_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                let family = name.strip_suffix(suffix)?;
                families.get_key_value(family).map(|(family, _)| family)
            })
            .unwrap_or_else(|| panic!("{sample}: a sample of no declared family"));
        if families[family] == "counter" {
            assert!(
                name.ends_with("_total") || name.ends_with("_created"),
                "{sample}: a counter sample ends in _total"
            );
            counted += 1;
        }
    }
    assert!(counted > 0, "counter samples were checked:\n{body}");
    assert_eq!(families["herald_delivery_runs"], "counter");
    assert_eq!(families["herald_deliveries"], "gauge");
    let api_lines: Vec<&str> = scraped.api.lines().collect();
    for line in [
        "herald_workers_alive 1",
        "herald_deliveries{platform=\"telegram\",state=\"published\"} 1",
        "herald_connections{platform=\"telegram\",health=\"ok\"} 1",
        "herald_deliveries_due{platform=\"telegram\"} 0",
    ] {
        assert!(api_lines.contains(&line), "{line} in\n{}", scraped.api);
    }

    // The worker dies: once its heartbeat is older than heartbeat x missed heartbeats (3 s
    // here), the API counts no live worker, which is what HeraldNoWorkerAlive fires on.
    let mut scraped = scraped;
    drop(scraped.worker_process.take());
    let none_alive = eventually(Duration::from_secs(15), || async {
        scrape(&scraped.api_base, "/metrics")
            .await
            .map(|(_, _, body)| body)
            .filter(|body| body.lines().any(|l| l == "herald_workers_alive 0"))
    })
    .await;
    assert!(none_alive.is_some(), "the API sees the worker gone");
}
