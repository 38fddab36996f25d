//! Outages answered fast, and nothing lost to them: Postgres cut off under a running API and
//! worker (both `herald` processes), Redis cut off under the API, and a platform whose
//! lookups crawl while the sweeper has overdue deliveries to dispatch.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use herald_domain::{AppType, DeliveryState, Platform, Scope, StepState};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::app::TestApp;
use support::eventually;
use support::harness::{Harness, fast_sim, text};
use support::process::{KillOnDrop, free_port};
use support::proxy::TcpProxy;

/// How long Postgres stays cut off.
const CUT: Duration = Duration::from_secs(15);
/// The longest an answer may take while Postgres is away.
const PROMPT: Duration = Duration::from_secs(2);

/// A `herald` child process (`serve` or `work`) against the harness' services, with
/// Postgres reached at `database_url`.
fn herald(h: &Harness, command: &str, database_url: &str, env: &[(&str, String)]) -> KillOnDrop {
    let mut child = h.herald_command(command);
    child
        .env("DATABASE_URL", database_url)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    KillOnDrop(child.spawn().expect("herald starts"))
}

/// Whether a child process is still the one that was started (it has not exited).
fn still_running(child: &mut KillOnDrop) -> bool {
    matches!(child.0.try_wait(), Ok(None))
}

/// One request timed, with its status, headers and JSON body.
async fn timed(
    request: reqwest::RequestBuilder,
) -> (Duration, StatusCode, reqwest::header::HeaderMap, Value) {
    let started = Instant::now();
    let answer = request.send().await.expect("the API answers");
    let elapsed = started.elapsed();
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.json().await.unwrap_or(Value::Null);
    (elapsed, status, headers, body)
}

#[tokio::test]
async fn with_postgres_cut_off_the_api_answers_503_at_once_and_afterwards_every_post_is_published_once()
 {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // Each publish takes a moment and few run at once, so the batch is mid-way at the cut.
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "latency_ms": 300}))
        .await;
    let key = h
        .store
        .api_keys()
        .create(h.tenant, &[Scope::Publish, Scope::Read], None)
        .await
        .expect("an API key")
        .key
        .expose_secret()
        .to_owned();
    let (proxy, database_url) = TcpProxy::in_front_of(h.db.url()).await;
    let api_port = free_port();
    let api = format!("http://127.0.0.1:{api_port}");
    let mut serve = herald(
        &h,
        "serve",
        &database_url,
        &[("HERALD_API__ADDR", format!("127.0.0.1:{api_port}"))],
    );
    let mut work = herald(
        &h,
        "work",
        &database_url,
        &[("HERALD_WORKER__PER_PLATFORM_CONCURRENCY", "4".to_owned())],
    );
    let http = reqwest::Client::new();
    let ready = eventually(Duration::from_secs(20), || async {
        let answer = http.get(format!("{api}/readyz")).send().await.ok()?;
        (answer.status() == StatusCode::OK).then_some(())
    })
    .await;
    assert!(ready.is_some(), "herald serve becomes ready");

    let texts: Vec<String> = (0..40)
        .map(|n| format!("outlives the outage {n}"))
        .collect();
    let mut ids = Vec::new();
    for t in &texts {
        let answer = http
            .post(format!("{api}/v1/posts"))
            .bearer_auth(&key)
            .json(&json!({"targets": [connection.to_string()], "text": t}))
            .send()
            .await
            .expect("the API answers");
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        let body: Value = answer.json().await.expect("JSON");
        ids.push(
            body["deliveries"][0]["id"]
                .as_str()
                .expect("a delivery id")
                .parse()
                .expect("an id"),
        );
    }
    let started = eventually(Duration::from_secs(20), || async {
        (h.sim_posts("linkedin").await.len() >= 5).then_some(())
    })
    .await;
    assert!(started.is_some(), "the batch is under way");

    proxy.cut();
    let cut_at = Instant::now();
    let delivery_id = ids[0];
    let mut answered = 0;
    while cut_at.elapsed() < CUT {
        let routes = [
            http.get(format!("{api}/v1/deliveries")).bearer_auth(&key),
            http.get(format!("{api}/v1/deliveries/{delivery_id}"))
                .bearer_auth(&key),
            http.post(format!("{api}/v1/posts"))
                .bearer_auth(&key)
                .json(&json!({"targets": [connection.to_string()], "text": "during the outage"})),
        ];
        for request in routes {
            let (elapsed, status, headers, body) = timed(request).await;
            assert!(elapsed < PROMPT, "answered in {elapsed:?}: {status} {body}");
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
            assert_eq!(headers["content-type"], "application/problem+json");
            assert!(headers.contains_key("retry-after"), "{headers:?}");
            assert_eq!(body["code"], "unavailable", "{body}");
            answered += 1;
        }
        let (elapsed, status, _, body) = timed(http.get(format!("{api}/readyz"))).await;
        assert!(elapsed < PROMPT, "/readyz answered in {elapsed:?}");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body["postgres"]["error"].is_string(), "{body}");
        assert_eq!(body["redis"], "ok", "{body}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(answered >= 9, "the API was asked throughout the outage");
    proxy.restore().await;

    let done = h.until_final(&ids, Duration::from_secs(40)).await;
    for delivery in &done {
        assert_eq!(
            delivery.state,
            DeliveryState::Published,
            "{:?}",
            delivery.error
        );
        assert!(delivery.remote_id.is_some());
    }
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    assert_eq!(
        h.sim_count("linkedin", "during the outage").await,
        0,
        "nothing refused with 503 was accepted"
    );
    let steps =
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM delivery_steps WHERE state = 'sending'")
            .fetch_one(h.store.pool())
            .await
            .expect("the journal");
    assert_eq!(steps, 0, "no publish is left unresolved");
    assert!(still_running(&mut serve), "herald serve rode it out");
    assert!(still_running(&mut work), "herald work rode it out");
    let ready = http
        .get(format!("{api}/readyz"))
        .send()
        .await
        .expect("answers");
    assert_eq!(ready.status(), StatusCode::OK);
}

#[tokio::test]
async fn overdue_deliveries_are_dispatched_while_the_sweepers_lookups_crawl() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // Looking a post up on LinkedIn takes far longer than the worker waits for it.
    h.fault(json!({"platform": "linkedin", "endpoint": "GET /rest/posts", "latency_ms": 30000}))
        .await;

    // Twenty publishes whose outcome was lost (a worker died mid-call), of posts due later:
    // the sweeper looks each up.
    let later = Utc::now() + TimeDelta::hours(1);
    let lost: Vec<_> = (0..20)
        .map(|n| (connection, text(&format!("lost in flight {n}"))))
        .collect();
    let lost = h.insert_posts(&lost, Some(later)).await;
    for id in &lost {
        h.store
            .journal()
            .begin(*id, "publish", None)
            .await
            .expect("the journal");
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;

    // Deliveries due now whose jobs Redis lost: only the sweeper dispatches them.
    let texts: Vec<String> = (0..10).map(|n| format!("overdue {n}")).collect();
    let overdue: Vec<_> = texts.iter().map(|t| (connection, text(t))).collect();
    let overdue = h.insert_posts(&overdue, None).await;

    let mut settings = h.settings();
    settings.sweep_lookup_concurrency = 4;
    settings.sweep_lookup_budget = Duration::from_secs(2);
    let sweep_interval = settings.sweep_interval;
    let redispatch_after = settings.redispatch_after;
    let started = Instant::now();
    let worker = h.spawn_worker_with(settings);

    let done = h.until_final(&overdue, Duration::from_secs(30)).await;
    let took = started.elapsed();
    assert!(done.iter().all(|d| d.state == DeliveryState::Published));
    // Due for `redispatch_after`, then dispatched at a sweep or two, then published.
    // Behind the lookups (twenty, one at a time, each until the worker's 3 s request
    // limit) they would have waited a minute.
    assert!(
        took < redispatch_after + sweep_interval * 2 + Duration::from_secs(5),
        "the overdue deliveries took {took:?}"
    );
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1);
    }
    // The lookups were running (and crawling) all along, and stayed unresolved.
    let requests = h.sim_requests().await;
    let lookups = requests["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["platform"] == "linkedin" && r["endpoint"] == "GET /rest/posts")
        .filter_map(|r| r["count"].as_u64())
        .sum::<u64>();
    assert!(lookups >= 4, "{requests}");
    for id in &lost {
        let steps = h.store.journal().steps(*id).await.expect("the journal");
        assert_eq!(steps[0].state, StepState::Sending);
    }
    worker.stop().await;
}

#[tokio::test]
async fn with_redis_cut_off_posts_are_accepted_at_once_and_published_from_postgres() {
    let _serial = support::serial().await;
    let redis = herald_testkit::TestRedis::new().await;
    let (proxy, redis_url) = TcpProxy::in_front_of(redis.url()).await;
    let mut app = TestApp::spawn_with(&[("REDIS_URL", redis_url.as_str())]).await;
    let telegram = app.connect_telegram().await;
    proxy.cut();

    let texts = ["no Redis 1", "no Redis 2", "no Redis 3"];
    let mut posts = Vec::new();
    for t in texts {
        let started = Instant::now();
        let answer = app
            .post_ok(&json!({"targets": [telegram], "text": t}))
            .await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(3), "answered in {elapsed:?}");
        assert_eq!(answer["deliveries"][0]["state"], "queued", "{answer}");
        posts.push(answer["id"].as_str().expect("a post id").to_owned());
    }
    assert_eq!(
        app.queued_jobs().await,
        0,
        "nothing reached Redis: the posts wait in Postgres"
    );

    // A worker (whose own Redis answers) finds them in Postgres and publishes each once.
    app.start_worker().await;
    for id in &posts {
        app.wait_for_post(id, "published").await;
    }
    let published = app.sim_posts().await;
    for t in texts {
        let copies = published.iter().filter(|p| p["text"] == t).count();
        assert_eq!(copies, 1, "`{t}` exactly once");
    }
}
