//! The outbound guard, end to end: in production no webhook or media URL a tenant supplies
//! reaches an inward address unless `outbound.allow` lists it, at registration, at send time
//! or through a redirect. Canary listeners on loopback must see no connection.

#![allow(clippy::unwrap_used)]

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use reqwest::StatusCode;
use serde_json::{Value, json};

use support::app::{TestApp, problem};

/// A loopback listener that must never be connected to.
struct Canary {
    listener: std::net::TcpListener,
    port: u16,
}

impl Canary {
    fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("bound").port();
        Self { listener, port }
    }

    /// Panics if anything connected (a connection waits in the backlog until accepted).
    fn assert_untouched(&self) {
        match self.listener.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok((_, from)) => panic!(
                "the canary on port {} got a connection from {from}",
                self.port
            ),
            Err(e) => panic!("the canary failed: {e}"),
        }
    }
}

/// The API in production mode, with `extra` configuration.
async fn production(extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("HERALD_ENV", "production"),
        ("HERALD_ENCRYPTION_KEYS", herald_testkit::TEST_KEYRING),
    ];
    env.extend_from_slice(extra);
    let app = TestApp::spawn_with(&env).await;
    assert_eq!(app.config.env, herald_config::Environment::Production);
    app
}

type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// A webhook receiver on loopback answering `status` (with `location` when given).
async fn receiver(status: u16, location: Option<String>) -> (u16, Received) {
    let received: Received = Arc::default();
    let got = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let got = got.clone();
            let location = location.clone();
            async move {
                got.lock().unwrap().push(body.to_vec());
                let mut headers = HeaderMap::new();
                if let Some(location) = location {
                    headers.insert("location", location.parse().unwrap());
                }
                (AxumStatus::from_u16(status).unwrap(), headers)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

async fn register(app: &TestApp, url: &str) -> reqwest::Response {
    app.post_json(
        "/v1/webhooks",
        &app.keys.admin,
        &json!({"url": url, "event_types": ["*"]}),
    )
    .await
}

/// Creates a post (its `queued` event goes to every webhook).
async fn make_event(app: &TestApp) {
    let telegram = app.connect_telegram().await;
    app.post_ok(&json!({"targets": [telegram], "text": "an event"}))
        .await;
}

/// The webhook's newest delivery once it is no longer pending.
async fn settled_delivery(app: &TestApp, hook_id: &str) -> Value {
    let path = format!("/v1/webhooks/{hook_id}/deliveries");
    let mut log = Value::Null;
    for _ in 0..150 {
        log = app.get(&path, &app.keys.read).await.json().await.unwrap();
        let state = &log["data"][0]["state"];
        if state == "failed" || state == "delivered" {
            return log["data"][0].clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the webhook delivery never settled: {log:#}");
}

async fn wait_for(received: &Received, count: usize) {
    for _ in 0..150 {
        if received.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the receiver got {} requests",
        received.lock().unwrap().len()
    );
}

#[tokio::test]
async fn every_spelling_of_an_inward_webhook_url_is_refused_at_registration_in_production() {
    let mut app = production(&[]).await;
    app.start_webhook_sender();
    let canary = Canary::new();
    let port = canary.port;
    let urls = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0x7f.1:{port}/hook"),
        format!("http://127.1:{port}/hook"),
        format!("http://0.0.0.0:{port}/hook"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
        "http://[fd00:ec2::254]/latest".to_owned(),
    ];
    for url in &urls {
        let (status, body) = problem(register(&app, url).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body:#}");
        let error = &body["errors"][0];
        assert_eq!(error["field"], "url", "{url}: {body:#}");
        assert_eq!(error["code"], "url.inward_address", "{url}: {body:#}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("outbound.allow"),
            "the message says what to do: {body:#}"
        );
    }
    let (status, body) = problem(register(&app, "ftp://example.com/hook").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "url.scheme", "{body:#}");

    let listed: Value = app
        .get("/v1/webhooks", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]), "nothing was registered");
    make_event(&app).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    canary.assert_untouched();
}

#[tokio::test]
async fn a_stored_inward_webhook_is_refused_at_every_send_and_given_up_on_schedule() {
    // As if registered before the guard, or before the operator removed it from the list.
    let mut app = production(&[]).await;
    app.start_webhook_sender();
    let canary = Canary::new();
    let url = format!("http://127.0.0.1:{}/hook", canary.port);
    let (hook, _) = app
        .store
        .webhooks()
        .create(app.keys.tenant, &url, &["*".to_owned()])
        .await
        .unwrap();
    make_event(&app).await;

    let delivery = settled_delivery(&app, &hook.id.to_string()).await;
    assert_eq!(delivery["state"], "failed", "{delivery:#}");
    assert_eq!(
        delivery["attempts"], 3,
        "one try and the two configured retries: {delivery:#}"
    );
    assert_eq!(delivery["last_status"], Value::Null, "no request was made");
    let error = delivery["last_error"].as_str().unwrap();
    assert!(
        error.starts_with("refused:") && error.contains("outbound.allow"),
        "{error}"
    );
    canary.assert_untouched();
}

#[tokio::test]
async fn a_receiver_listed_in_outbound_allow_gets_its_events_in_production() {
    let (port, received) = receiver(200, None).await;
    let allow = format!("[\"127.0.0.1:{port}\"]");
    let mut app = production(&[("HERALD_OUTBOUND__ALLOW", &allow)]).await;
    app.start_webhook_sender();

    let response = register(&app, &format!("http://127.0.0.1:{port}/hook")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let hook: Value = response.json().await.unwrap();
    // The same host on another port is not listed.
    let (status, body) = problem(
        register(
            &app,
            &format!("http://127.0.0.1:{}/hook", port.checked_add(1).unwrap_or(1)),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "url.port", "{body:#}");

    make_event(&app).await;
    wait_for(&received, 1).await;
    let event: Value = serde_json::from_slice(&received.lock().unwrap()[0]).unwrap();
    assert!(event["type"].as_str().unwrap().starts_with("delivery."));
    let delivery = settled_delivery(&app, hook["id"].as_str().unwrap()).await;
    assert_eq!(delivery["state"], "delivered", "{delivery:#}");
}

#[tokio::test]
async fn a_redirect_from_an_allowed_receiver_to_an_inward_canary_is_not_followed() {
    let canary = Canary::new();
    let (port, received) =
        receiver(307, Some(format!("http://127.0.0.1:{}/hook", canary.port))).await;
    let allow = format!("[\"127.0.0.1:{port}\"]");
    let mut app = production(&[("HERALD_OUTBOUND__ALLOW", &allow)]).await;
    app.start_webhook_sender();
    let hook: Value = register(&app, &format!("http://127.0.0.1:{port}/hook"))
        .await
        .json()
        .await
        .unwrap();
    make_event(&app).await;

    let delivery = settled_delivery(&app, hook["id"].as_str().unwrap()).await;
    assert_eq!(delivery["state"], "failed", "{delivery:#}");
    assert_eq!(delivery["last_status"], 307, "{delivery:#}");
    assert_eq!(
        received.lock().unwrap().len(),
        3,
        "each attempt reached the receiver"
    );
    canary.assert_untouched();
}

#[tokio::test]
async fn in_development_a_loopback_receiver_works_without_listing() {
    let mut app = TestApp::spawn().await;
    assert_eq!(app.config.env, herald_config::Environment::Development);
    assert!(app.config.outbound.allow.is_empty());
    app.start_webhook_sender();
    let (port, received) = receiver(200, None).await;
    let response = register(&app, &format!("http://localhost:{port}/hook")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    make_event(&app).await;
    wait_for(&received, 1).await;

    // Private ranges still need listing.
    let (status, body) = problem(register(&app, "http://192.168.1.10/hook").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "url.inward_address", "{body:#}");
}

#[tokio::test]
async fn a_media_url_pointing_at_an_inward_canary_fails_the_delivery_in_production() {
    let canary = Canary::new();
    let mut app = production(&[]).await;
    app.start_worker().await;
    let telegram = app.connect_telegram().await;
    let urls = [
        format!("https://127.0.0.1:{}/image.png", canary.port),
        format!("http://localhost:{}/image.png", canary.port),
        format!("https://2130706433:{}/image.png", canary.port),
    ];
    for url in &urls {
        let post = app
            .post_ok(&json!({"targets": [telegram], "text": "a picture", "media": [{"url": url}]}))
            .await;
        let post = app
            .wait_for_post(post["id"].as_str().unwrap(), "failed")
            .await;
        let error = &post["deliveries"][0]["error"];
        assert_eq!(error["code"], "media_url_refused", "{url}: {post:#}");
    }
    assert!(app.sim_posts().await.is_empty(), "nothing was published");
    canary.assert_untouched();
}
