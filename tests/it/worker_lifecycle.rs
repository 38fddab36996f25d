//! The edges of a delivery's life: refusals fail at once with their hint, persistent errors
//! end `dead`, an unsafe media URL is never fetched, a refused token gets one forced refresh,
//! and a stopping worker hands back what it has not finished.

use std::time::Duration;

use herald_domain::{AppType, DeliveryState, ErrorClass, Platform};
use serde_json::json;
use support::eventually;
use support::harness::{Harness, fast_sim, text, with_image};

#[tokio::test]
async fn a_platform_refusal_fails_the_delivery_at_once_with_the_platforms_code_and_a_hint() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["422"]}))
        .await;
    let id = h.post(connection, text("refused outright"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Failed, Duration::from_secs(20))
        .await;
    assert_eq!(delivery.attempts, 1, "no retry for a refusal");
    let error = delivery.error.expect("the error is recorded");
    assert_eq!(error.class, ErrorClass::Permanent, "{error:?}");
    assert!(error.code.is_some() && error.hint.is_some(), "{error:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_delivery_that_keeps_failing_is_dead_after_its_last_attempt() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "error_rate": 1.0, "error_status": 503}))
        .await;
    let id = h.post(connection, text("never gets through"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Dead, Duration::from_secs(20))
        .await;
    assert_eq!(delivery.attempts, delivery.max_attempts);
    assert_eq!(delivery.error.unwrap().class, ErrorClass::Retryable);
    assert_eq!(h.sim_count("linkedin", "never gets through").await, 0);
    worker.stop().await;
}

#[tokio::test]
async fn media_urls_pointing_inside_the_network_are_refused_without_being_fetched() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Telegram, None).await;
    let urls = [
        "https://169.254.169.254/latest/meta-data/iam.png",
        "https://localhost/private.png",
        "http://example.com/plain-http.png",
        "file:///etc/passwd",
    ];
    let posts: Vec<_> = urls
        .iter()
        .enumerate()
        .map(|(n, url)| {
            (
                connection,
                with_image(&format!("unsafe {n}"), (*url).to_owned()),
            )
        })
        .collect();
    let ids = h.posts(&posts, None).await;

    for delivery in h.until_final(&ids, Duration::from_secs(20)).await {
        assert_eq!(delivery.state, DeliveryState::Failed);
        let error = delivery.error.unwrap();
        assert_eq!(
            error.code.as_deref(),
            Some("media_url_refused"),
            "{error:?}"
        );
        assert!(error.hint.is_some());
    }
    assert!(h.sim_posts("telegram").await.is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_refused_x_token_gets_one_forced_refresh_and_the_post_goes_out() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    // The platform expires the access token early; Herald still believes it valid.
    h.control(
        reqwest::Method::POST,
        "/_sim/tokens/expire",
        Some(json!({"platform": "twitter"})),
    )
    .await;
    let before = h.sim_requests().await["token_refreshes"]["twitter"]
        .as_u64()
        .unwrap_or(0);
    let id = h.post(connection, text("after a 401"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(
        delivery.attempts, 1,
        "refreshed and retried within the attempt"
    );
    let after = h.sim_requests().await["token_refreshes"]["twitter"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(after - before, 1, "one forced refresh");
    assert_eq!(h.sim_count("twitter", "after a 401").await, 1);
    worker.stop().await;
}

#[tokio::test]
async fn a_stopping_worker_hands_back_unfinished_deliveries_and_another_publishes_them_once() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "latency_ms": 400}))
        .await;
    let mut settings = h.settings();
    settings.per_platform_concurrency = 2;
    let first = h.spawn_worker_with(settings);
    let texts: Vec<String> = (0..10).map(|n| format!("handed over {n}")).collect();
    let posts: Vec<_> = texts.iter().map(|t| (connection, text(t))).collect();
    let ids = h.posts(&posts, None).await;
    let started = eventually(Duration::from_secs(20), || async {
        (!h.sim_posts("linkedin").await.is_empty()).then_some(())
    })
    .await;
    assert!(started.is_some());

    first.stop().await;
    let mut handed_back = 0;
    for id in &ids {
        let d = h.delivery(*id).await;
        assert_ne!(d.state, DeliveryState::Running, "no lease is left behind");
        let events = h.store.deliveries().events(*id).await.unwrap();
        if events
            .iter()
            .any(|e| e.detail["reason"] == "worker_shutdown")
        {
            handed_back += 1;
        }
    }
    let published = h.sim_posts("linkedin").await.len();
    assert!(
        published < texts.len() && handed_back > 0,
        "stopped mid-run: {published} published, {handed_back} handed back"
    );

    let second = h.spawn_worker();
    let done = h.until_final(&ids, Duration::from_secs(30)).await;
    assert!(done.iter().all(|d| d.state == DeliveryState::Published));
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    second.stop().await;
}
