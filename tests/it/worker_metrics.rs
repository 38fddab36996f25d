//! The worker's Prometheus metrics over HTTP: the server `herald work` runs on
//! `worker.metrics_addr`, in-process and in the real binary, counts a publish.

use std::process::{Command, Stdio};
use std::time::Duration;

use herald_domain::{DeliveryState, Platform};
use herald_worker::Metrics;
use support::eventually;
use support::harness::{Harness, fast_sim, text};
use support::process::{KillOnDrop, free_port, herald_binary};

const PUBLISHED_ON_TELEGRAM: &str =
    "herald_deliveries_total{platform=\"telegram\",outcome=\"published\"} 1";

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
        body.contains("herald_publish_seconds_count{platform=\"telegram\"} 1"),
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
