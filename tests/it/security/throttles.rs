//! Floods of failed authentications, sign-ins and streams are throttled; valid keys never are.
//!
//! Each test runs the API in process against real Postgres and Redis, with limits low
//! enough to reach in a few requests. The failure throttles live in Redis, so two API
//! instances on one Redis share them.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use herald_api::AppState;
use herald_domain::Scope;
use herald_platforms::{HttpSettings, Platforms};
use reqwest::{Response, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::Value;
use support::app::{RedisProxy, TestApp, problem};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Well-formed, but no such key.
const UNKNOWN_KEY: &str = "hrld_zzzzzzzzzzzz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// A `/v1` request with `key` (none when `None`), as if forwarded for `forwarded_for`.
async fn v1(app: &TestApp, base: &str, key: Option<&str>, forwarded_for: Option<&str>) -> Response {
    let mut request = app.http.get(format!("{base}/v1/connections"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(hops) = forwarded_for {
        request = request.header("x-forwarded-for", hops);
    }
    request.send().await.unwrap()
}

/// Asserts a failure over the throttle: 429 problem+json `auth_throttled` with a
/// `Retry-After` of whole seconds, at most a minute.
async fn assert_throttled(response: Response) {
    let retry_after: u64 = response
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body:#}");
    assert_eq!(body["code"], "auth_throttled", "{body:#}");
}

async fn assert_unauthorized(response: Response) {
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:#}");
}

/// A second API instance on `app`'s Postgres and Redis (same prefix), on a port of its own.
/// It stops when the returned sender is dropped.
async fn second_instance(app: &TestApp) -> (String, oneshot::Sender<()>) {
    let redis = herald_queue::connect(app.config.redis_url.expose_secret(), Default::default())
        .await
        .unwrap();
    let platforms = Platforms::new(&app.config.platforms, &HttpSettings::default()).unwrap();
    let state = AppState::new(app.config.clone(), app.store.clone(), redis, platforms).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(herald_api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_flood_of_bad_keys_is_throttled_while_a_valid_key_from_the_same_address_keeps_working() {
    let app =
        TestApp::spawn_with(&[("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "6")]).await;
    let revoked = app
        .store
        .api_keys()
        .create(app.keys.tenant, &[Scope::Read], None)
        .await
        .unwrap();
    app.store
        .api_keys()
        .revoke(app.keys.tenant, revoked.id)
        .await
        .unwrap();
    let revoked = revoked.key.expose_secret().to_owned();
    let base = app.base.clone();

    // Unknown, malformed, revoked and missing keys all fail alike, until the limit.
    let failures = [
        Some(UNKNOWN_KEY),
        Some("not-a-key"),
        Some(revoked.as_str()),
        None,
        Some(UNKNOWN_KEY),
        Some(revoked.as_str()),
    ];
    for key in failures {
        assert_unauthorized(v1(&app, &base, key, None).await).await;
        let good = v1(&app, &base, Some(&app.keys.read), None).await;
        assert_eq!(
            good.status(),
            StatusCode::OK,
            "a valid key during the flood"
        );
    }
    for key in [Some(UNKNOWN_KEY), Some(revoked.as_str()), None] {
        assert_throttled(v1(&app, &base, key, None).await).await;
    }
    // The same address, keys that have not been seen (so not cached) and that have.
    for key in [&app.keys.admin, &app.keys.producer, &app.keys.read] {
        let good = v1(&app, &base, Some(key), None).await;
        assert_eq!(good.status(), StatusCode::OK, "a valid key after the flood");
    }
    assert!(
        metrics(&app)
            .await
            .lines()
            .any(|l| l == "herald_api_auth_throttled_total{surface=\"api\",limit=\"address\"} 3"),
        "the throttled failures are counted"
    );
}

#[tokio::test]
async fn the_total_throttle_slows_failures_from_everywhere_but_never_a_valid_key() {
    let app = TestApp::spawn_with(&[
        ("HERALD_API__AUTH_FAILURES_PER_MINUTE", "4"),
        ("HERALD_API__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
    ])
    .await;
    let base = app.base.clone();
    for n in 1..=4 {
        let client = format!("198.51.100.{n}");
        assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), Some(&client)).await).await;
    }
    assert_throttled(v1(&app, &base, Some(UNKNOWN_KEY), Some("198.51.100.99")).await).await;
    let good = v1(&app, &base, Some(&app.keys.read), Some("198.51.100.99")).await;
    assert_eq!(good.status(), StatusCode::OK);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_per_address_throttle() {
    let app =
        TestApp::spawn_with(&[("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "3")]).await;
    let base = app.base.clone();
    for n in 1..=3 {
        let spoofed = format!("203.0.113.{n}");
        assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), Some(&spoofed)).await).await;
    }
    assert_throttled(v1(&app, &base, Some(UNKNOWN_KEY), Some("203.0.113.77")).await).await;
}

#[tokio::test]
async fn x_forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = TestApp::spawn_with(&[
        ("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "3"),
        (
            "HERALD_API__TRUSTED_PROXIES",
            "[\"127.0.0.0/8\", \"10.0.0.1\"]",
        ),
    ])
    .await;
    let base = app.base.clone();
    for _ in 0..3 {
        assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), Some("198.51.100.7")).await).await;
    }
    assert_throttled(v1(&app, &base, Some(UNKNOWN_KEY), Some("198.51.100.7")).await).await;
    // What the client wrote left of the last untrusted hop does not change who it is.
    let forged = "192.0.2.200, 198.51.100.7, 10.0.0.1";
    assert_throttled(v1(&app, &base, Some(UNKNOWN_KEY), Some(forged)).await).await;
    // Another client behind the same proxy has a budget of its own.
    assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), Some("198.51.100.8")).await).await;
    // And the proxy's own address (no header) too.
    assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), None).await).await;
}

#[tokio::test]
async fn a_dashboard_sign_in_flood_is_throttled_while_the_right_key_still_signs_in() {
    let app =
        TestApp::spawn_with(&[("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "3")]).await;
    let sign_in = |key: String| {
        app.http
            .post(app.url("/dashboard/login"))
            .form(&[("key", key)])
            .send()
    };
    for _ in 0..3 {
        let wrong = sign_in(UNKNOWN_KEY.to_owned()).await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let throttled = sign_in("hrld_guess".to_owned()).await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key(header::RETRY_AFTER));
    assert!(!throttled.headers().contains_key(header::SET_COOKIE));
    let page = throttled.text().await.unwrap();
    assert!(
        page.contains("Too many failed sign-ins") && page.contains("name=\"key\""),
        "{page}"
    );

    let right = sign_in(app.keys.admin.clone()).await.unwrap();
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let cookie = right.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("herald_session="), "{cookie}");
    assert!(
        metrics(&app)
            .await
            .lines()
            .any(|l| l
                == "herald_api_auth_throttled_total{surface=\"dashboard\",limit=\"address\"} 1"),
        "the throttled sign-in is counted"
    );
}

#[tokio::test]
async fn a_key_holds_a_capped_number_of_event_streams_and_a_closed_one_frees_its_place() {
    let app = TestApp::spawn_with(&[("HERALD_API__MAX_EVENT_STREAMS_PER_KEY", "2")]).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let stream = app.get("/v1/events", &app.keys.read).await;
        assert_eq!(stream.status(), StatusCode::OK);
        open.push(stream);
    }
    let refused = app.get("/v1/events", &app.keys.read).await;
    assert!(refused.headers().contains_key(header::RETRY_AFTER));
    let (status, body) = problem(refused).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body:#}");
    assert_eq!(body["code"], "too_many_streams", "{body:#}");
    let other_key = app.get("/v1/events", &app.keys.admin).await;
    assert_eq!(
        other_key.status(),
        StatusCode::OK,
        "each key has its own cap"
    );

    // The client goes away: its stream ends and its place is free again.
    drop(open.pop());
    let reopened = support::eventually(Duration::from_secs(10), || async {
        let stream = app.get("/v1/events", &app.keys.read).await;
        (stream.status() == StatusCode::OK).then_some(stream)
    })
    .await;
    assert!(reopened.is_some(), "a new stream once one closed");
    let again = app.get("/v1/events", &app.keys.read).await;
    assert_eq!(
        again.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "still capped"
    );
    drop(open);
}

#[tokio::test]
async fn a_revoked_key_stops_working_within_five_seconds() {
    let app = TestApp::spawn_with(&[("HERALD_API__KEY_CACHE_TTL_MS", "5000")]).await;
    let key = app
        .store
        .api_keys()
        .create(app.keys.tenant, &[Scope::Read], None)
        .await
        .unwrap();
    let secret = key.key.expose_secret().to_owned();
    let answer = app.get("/v1/connections", &secret).await;
    assert_eq!(answer.status(), StatusCode::OK, "valid, and now remembered");

    assert!(
        app.store
            .api_keys()
            .revoke(app.keys.tenant, key.id)
            .await
            .unwrap()
    );
    let revoked_at = Instant::now();
    let refused = support::eventually(Duration::from_secs(10), || async {
        let status = app.get("/v1/connections", &secret).await.status();
        (status == StatusCode::UNAUTHORIZED).then_some(revoked_at.elapsed())
    })
    .await
    .expect("the revoked key is refused");
    assert!(
        refused < Duration::from_millis(5_500),
        "a revoked key worked for {refused:?}"
    );
    let other = app.get("/v1/connections", &app.keys.read).await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_flood_of_good_requests_costs_no_key_lookup_each() {
    let app = TestApp::spawn_with(&[("HERALD_API__KEY_CACHE_TTL_MS", "5000")]).await;
    let first = app.get("/v1/connections", &app.keys.read).await;
    assert_eq!(first.status(), StatusCode::OK, "valid, and now remembered");
    let remembered = Instant::now();

    // While api_keys is locked, any lookup of a key waits for the lock.
    let mut lock = app.db.pool().begin().await.unwrap();
    sqlx::query("LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let patient = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut answered = 0;
    // Well inside the cache's 5 s.
    while answered < 30 && remembered.elapsed() < Duration::from_millis(1_500) {
        let answer = patient
            .get(app.url("/v1/connections"))
            .bearer_auth(&app.keys.read)
            .send()
            .await
            .expect("a remembered key needs no lookup");
        assert_eq!(answer.status(), StatusCode::OK);
        answered += 1;
    }
    assert!(answered > 0);
    // A key not seen yet does need one, and waits (the lock is what holds it).
    let unseen = app
        .http
        .get(app.url("/v1/connections"))
        .bearer_auth(&app.keys.admin)
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(unseen.is_err(), "an unseen key is looked up: {unseen:?}");
    lock.rollback().await.unwrap();
    let admin = app.get("/v1/connections", &app.keys.admin).await;
    assert_eq!(admin.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_api_instances_on_one_redis_share_the_failure_throttle() {
    let app =
        TestApp::spawn_with(&[("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "4")]).await;
    let (second, _stop) = second_instance(&app).await;
    let first = app.base.clone();
    for base in [&first, &second, &first, &second] {
        assert_unauthorized(v1(&app, base, Some(UNKNOWN_KEY), None).await).await;
    }
    for base in [&second, &first] {
        assert_throttled(v1(&app, base, Some(UNKNOWN_KEY), None).await).await;
        let good = v1(&app, base, Some(&app.keys.read), None).await;
        assert_eq!(good.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn with_redis_down_the_throttles_fail_open_and_valid_keys_still_work() {
    let redis = herald_testkit::TestRedis::new().await;
    let proxy = RedisProxy::start(redis.url()).await;
    let app = TestApp::spawn_with(&[
        ("REDIS_URL", proxy.url.as_str()),
        ("HERALD_API__AUTH_FAILURES_PER_ADDRESS_PER_MINUTE", "1"),
    ])
    .await;
    let base = app.base.clone();
    assert_unauthorized(v1(&app, &base, Some(UNKNOWN_KEY), None).await).await;
    assert_throttled(v1(&app, &base, Some(UNKNOWN_KEY), None).await).await;
    proxy.cut();

    for _ in 0..3 {
        let answer = v1(&app, &base, Some(UNKNOWN_KEY), None).await;
        let (status, body): (StatusCode, Value) = problem(answer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "not enforced: {body:#}");
    }
    for key in [&app.keys.read, &app.keys.admin] {
        let good = v1(&app, &base, Some(key), None).await;
        assert_eq!(good.status(), StatusCode::OK, "a valid key without Redis");
    }
}
