//! Webhooks: registration, signed deliveries, retries and the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use herald_domain::Platform;
use herald_store::webhook_signing::{verify_legacy, verify_standard};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

/// What the receiver got: headers and body of each request.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver on port 0 that answers `statuses` in turn (then 200).
async fn receiver(statuses: Vec<u16>) -> (String, Received) {
    let received: Received = Arc::default();
    let answers = Arc::new(Mutex::new(statuses));
    let got = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let got = got.clone();
            let answers = answers.clone();
            async move {
                got.lock().unwrap().push((headers, body.to_vec()));
                let mut answers = answers.lock().unwrap();
                let status = if answers.is_empty() {
                    200
                } else {
                    answers.remove(0)
                };
                AxumStatus::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

/// Whether a request carries a Standard Webhooks signature made with `secret`.
fn standard_signed(headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signature)) = (
        header("webhook-id"),
        header("webhook-timestamp").and_then(|t| t.parse::<i64>().ok()),
        header("webhook-signature"),
    ) else {
        return false;
    };
    verify_standard(secret, id, timestamp, body, signature)
}

/// Whether a legacy `Herald-Signature` made with `secret` is there.
fn legacy_signed(headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (
        header("herald-timestamp").and_then(|t| t.parse::<i64>().ok()),
        header("herald-signature"),
    ) else {
        return false;
    };
    verify_legacy(secret, timestamp, body, signature)
}

/// The events of `kind` the receiver got so far.
fn events_of(received: &Received, kind: &str) -> Vec<Value> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(body).unwrap())
        .filter(|event| event["type"] == kind)
        .collect()
}

/// Waits until the receiver got `count` events of `kind` (bounded).
async fn wait_for_events(received: &Received, kind: &str, count: usize) -> Vec<Value> {
    for _ in 0..200 {
        let events = events_of(received, kind);
        if events.len() >= count {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the receiver got {} {kind} events, expected {count}",
        events_of(received, kind).len()
    );
}

async fn register(app: &TestApp, url: &str, event_types: &[&str]) -> Value {
    let response = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": url, "event_types": event_types}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Where the `standardwebhooks` package is installed for these tests (kept between runs).
const STANDARD_WEBHOOKS_VENV: &str = "/var/tmp/herald-standardwebhooks";

/// The Python of a virtualenv that has `standardwebhooks` from PyPI, installed on first use.
/// It is built beside its place and renamed into it, so tests (or test processes) installing
/// at once never see a half-built one.
fn standard_webhooks_python() -> std::path::PathBuf {
    use std::process::Command;
    let venv = std::path::Path::new(STANDARD_WEBHOOKS_VENV);
    let importable = |venv: &std::path::Path| {
        Command::new(venv.join("bin/python"))
            .args(["-c", "import standardwebhooks"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if importable(venv) {
        return venv.join("bin/python");
    }
    let building = std::path::PathBuf::from(format!(
        "{STANDARD_WEBHOOKS_VENV}.building-{}",
        uuid::Uuid::new_v4()
    ));
    let created = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&building)
        .output()
        .expect("python3 runs (needed to verify webhooks with the standardwebhooks library)");
    assert!(
        created.status.success(),
        "could not create a virtualenv in {}: {}",
        building.display(),
        String::from_utf8_lossy(&created.stderr)
    );
    let install = Command::new(building.join("bin/python"))
        .args(["-m", "pip", "install", "--quiet", "standardwebhooks==1.1.0"])
        .output()
        .expect("pip runs");
    assert!(
        install.status.success(),
        "could not install the standardwebhooks package from PyPI: {}",
        String::from_utf8_lossy(&install.stderr)
    );
    let _ = std::fs::remove_dir_all(venv);
    if std::fs::rename(&building, venv).is_err() {
        // Another test put its copy in place first.
        let _ = std::fs::remove_dir_all(&building);
    }
    assert!(
        importable(venv),
        "standardwebhooks is not importable from {STANDARD_WEBHOOKS_VENV} after installing it"
    );
    venv.join("bin/python")
}

/// Hands a captured request to the `standardwebhooks` library; its verdict and output.
fn library_verifies(headers: &HeaderMap, body: &[u8], secret: &str) -> (bool, String) {
    let python = standard_webhooks_python();
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap())))
        .collect();
    let request = json!({
        "secret": secret,
        "headers": headers,
        "body": std::str::from_utf8(body).unwrap(),
    });
    let file = std::env::temp_dir().join(format!("herald-webhook-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, request.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/standard_webhooks/verify.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .expect("the verifying script runs");
    let _ = std::fs::remove_file(&file);
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

async fn wait_for(received: &Received, count: usize) {
    for _ in 0..150 {
        if received.lock().unwrap().len() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the receiver got {} requests, expected {count}",
        received.lock().unwrap().len()
    );
}

#[tokio::test]
async fn a_webhook_receives_signed_events_retried_until_accepted_and_logged() {
    let mut app = TestApp::spawn().await;
    app.start_webhook_sender();
    let telegram = app.connect_telegram().await;
    let (url, received) = receiver(vec![500]).await;
    let response = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": url, "event_types": ["delivery.cancelled"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let hook: Value = response.json().await.unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));

    let post = app
        .post_ok(&json!({"targets": [telegram], "text": "never mind"}))
        .await;
    app.request(
        Method::POST,
        &format!("/v1/posts/{}/cancel", post["id"].as_str().unwrap()),
        &app.keys.producer,
    )
    .send()
    .await
    .unwrap();

    wait_for(&received, 2).await;
    let requests = received.lock().unwrap().clone();
    for (headers, body) in &requests {
        assert!(standard_signed(headers, body, &secret), "signed");
        assert!(!standard_signed(
            headers,
            body,
            "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldC1vdGhlcg=="
        ));
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            event["type"], "delivery.cancelled",
            "only the subscribed type"
        );
        assert_eq!(event["data"]["delivery_id"], post["deliveries"][0]["id"]);
    }
    assert_eq!(
        requests[0].1, requests[1].1,
        "the retry sends the same event"
    );
    assert_eq!(
        requests[0].0["webhook-id"], requests[1].0["webhook-id"],
        "the retry is the same message"
    );

    let log_path = format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let mut log = Value::Null;
    for _ in 0..50 {
        log = app
            .get(&log_path, &app.keys.read)
            .await
            .json()
            .await
            .unwrap();
        if log["data"][0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log["data"][0]["state"], "delivered", "{log:#}");
    assert_eq!(log["data"][0]["attempts"], 2);
    assert_eq!(log["data"][0]["last_status"], 200);

    let listed: Value = app
        .get("/v1/webhooks", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"][0]["id"], hook["id"]);
    assert!(
        listed["data"][0].get("secret").is_none(),
        "the secret is shown once"
    );
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_given_up_after_its_schedule() {
    let mut app = TestApp::spawn().await;
    app.start_webhook_sender();
    let telegram = app.connect_telegram().await;
    let (url, received) = receiver(vec![500, 502, 503, 500]).await;
    let hook: Value = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": url, "event_types": ["*"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.post_ok(&json!({"targets": [telegram], "text": "hi"}))
        .await;
    wait_for(&received, 3).await;
    let log_path = format!("/v1/webhooks/{}/deliveries", hook["id"].as_str().unwrap());
    let mut log = Value::Null;
    for _ in 0..50 {
        log = app
            .get(&log_path, &app.keys.read)
            .await
            .json()
            .await
            .unwrap();
        if log["data"][0]["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log["data"][0]["state"], "failed", "{log:#}");
    assert_eq!(
        log["data"][0]["attempts"], 3,
        "one try and the two configured retries"
    );
    assert_eq!(log["data"][0]["last_status"], 503);
}

#[tokio::test]
async fn a_worker_sends_the_webhooks_of_what_it_publishes() {
    let mut app = TestApp::spawn().await;
    app.start_worker().await;
    let telegram = app.connect_telegram().await;
    let (url, received) = receiver(Vec::new()).await;
    let hook: Value = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": url, "event_types": ["delivery.published"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let post = app
        .post_ok(&json!({"targets": [telegram], "text": "out it goes"}))
        .await;
    wait_for(&received, 1).await;
    let (headers, body) = received.lock().unwrap()[0].clone();
    assert!(standard_signed(
        &headers,
        &body,
        hook["secret"].as_str().unwrap()
    ));
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "delivery.published");
    assert_eq!(event["data"]["post_id"], post["id"]);
}

#[tokio::test]
async fn webhook_registration_is_checked_scoped_and_tenant_bound() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(
        app.post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": "ftp://x", "event_types": ["delivery.exploded"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let (status, _) = problem(
        app.post_json(
            "/v1/webhooks",
            &app.keys.producer,
            &json!({"url": "https://a.example/h", "event_types": ["*"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let hook: Value = app
        .post_json(
            "/v1/webhooks",
            &app.keys.admin,
            &json!({"url": "https://a.example/h", "event_types": ["*"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/v1/webhooks/{}", hook["id"].as_str().unwrap());
    let other = app.other_tenant().await;
    assert_eq!(
        problem(app.get(&format!("{path}/deliveries"), &other.read).await)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let response = app
        .request(Method::DELETE, &path, &other.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, StatusCode::NOT_FOUND);
    let response = app
        .request(Method::DELETE, &path, &app.keys.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        problem(app.get(&path, &app.keys.read).await).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_webhook_verifies_with_the_standardwebhooks_library() {
    let mut app = TestApp::spawn().await;
    app.start_webhook_sender();
    let telegram = app.connect_telegram().await;
    let (url, received) = receiver(Vec::new()).await;
    let hook = register(&app, &url, &["delivery.queued"]).await;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert_eq!(hook["signing"], "standard");
    app.post_ok(&json!({"targets": [telegram], "text": "verify me"}))
        .await;
    wait_for(&received, 1).await;
    let (headers, body) = received.lock().unwrap()[0].clone();

    assert!(headers["webhook-id"].to_str().unwrap().starts_with("msg_"));
    assert!(
        headers.get("herald-signature").is_none(),
        "a new webhook gets only the Standard Webhooks headers"
    );
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["type"], "delivery.queued");
    assert!(event["timestamp"].is_string() && event["data"].is_object());

    let (verified, output) = library_verifies(&headers, &body, &secret);
    assert!(verified, "standardwebhooks refused the request: {output}");
    assert_eq!(output.trim(), "delivery.queued");
    let mut tampered = body;
    tampered.extend_from_slice(b" ");
    let (verified, _) = library_verifies(&headers, &tampered, &secret);
    assert!(!verified, "a changed body does not verify");
}

#[tokio::test]
async fn post_completed_and_needs_reconnect_are_sent_once() {
    let mut app = TestApp::spawn().await;
    app.start_worker().await;
    let telegram = app.connect_telegram().await;
    // An X connection whose token expired and that has no refresh token: the worker's
    // refresh fails for good, so the connection needs reconnecting and its delivery fails.
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    sqlx::query(
        "UPDATE connections SET token_expires_at = now() - interval '1 hour' WHERE id = $1",
    )
    .bind(x.into_uuid())
    .execute(app.db.pool())
    .await
    .unwrap();
    let (url, received) = receiver(Vec::new()).await;
    let hook = register(
        &app,
        &url,
        &["post.completed", "connection.needs_reconnect"],
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();

    let post = app
        .post_ok(&json!({"targets": [telegram, x.to_string()], "text": "all of them"}))
        .await;
    let reconnect = wait_for_events(&received, "connection.needs_reconnect", 1).await;
    assert_eq!(reconnect[0]["data"]["connection_id"], x.to_string());
    assert_eq!(reconnect[0]["data"]["platform"], "twitter");
    let completed = wait_for_events(&received, "post.completed", 1).await;
    let data = &completed[0]["data"];
    assert_eq!(data["post_id"], post["id"]);
    let deliveries = data["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2, "{data:#}");
    let of = |platform: &str| {
        deliveries
            .iter()
            .find(|d| d["platform"] == platform)
            .unwrap_or_else(|| panic!("no {platform} delivery in {data:#}"))
            .clone()
    };
    let (published, failed) = (of("telegram"), of("twitter"));
    assert_eq!(published["state"], "published");
    assert!(published["url"].is_string(), "{published:#}");
    assert!(published["error_code"].is_null());
    assert!(
        ["failed", "dead"].contains(&failed["state"].as_str().unwrap()),
        "{failed:#}"
    );
    assert!(failed["error_code"].is_string(), "{failed:#}");
    // The post's state as the API shows it agrees with the event.
    let shown = app
        .wait_for_post(post["id"].as_str().unwrap(), "partially_published")
        .await;
    assert_eq!(shown["id"], post["id"]);

    for (headers, body) in received.lock().unwrap().iter() {
        assert!(standard_signed(headers, body, secret));
    }
    // More rounds of the sender (and the worker's sweeps) send neither again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events_of(&received, "post.completed").len(), 1);
    assert_eq!(events_of(&received, "connection.needs_reconnect").len(), 1);
}

#[tokio::test]
async fn connection_expiring_is_sent_once_per_expiry() {
    let mut app = TestApp::spawn_with(&[("HERALD_API__WEBHOOKS__EXPIRING_NOTICE_DAYS", "7")]).await;
    let expiring = app
        .insert_connection(app.keys.tenant, Platform::Linkedin)
        .await;
    let later = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    for (id, days) in [(expiring, 3), (later, 30)] {
        sqlx::query(
            "UPDATE connections SET token_expires_at = now() + $2 * interval '1 day' WHERE id = $1",
        )
        .bind(id.into_uuid())
        .bind(f64::from(days))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
    let (url, received) = receiver(Vec::new()).await;
    register(&app, &url, &["connection.expiring"]).await;

    app.start_webhook_sender();
    let events = wait_for_events(&received, "connection.expiring", 1).await;
    assert_eq!(events[0]["data"]["connection_id"], expiring.to_string());
    assert_eq!(events[0]["data"]["platform"], "linkedin");
    assert!(events[0]["data"]["expires_at"].is_string());

    // Another sender (a second worker, or this one restarted) checks again: nothing new.
    app.start_webhook_sender();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(events_of(&received, "connection.expiring").len(), 1);
}

/// A receiver that answers every request with `status` and `body`.
async fn answering(status: u16, body: String) -> (String, Received) {
    let received: Received = Arc::default();
    let got = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, request: axum::body::Bytes| {
            let got = got.clone();
            let body = body.clone();
            async move {
                got.lock().unwrap().push((headers, request.to_vec()));
                (AxumStatus::from_u16(status).unwrap(), body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test]
async fn the_test_route_sends_a_signed_event_and_answers_with_the_reply() {
    let app = TestApp::spawn().await;
    let (url, received) = answering(418, "t".repeat(3000)).await;
    let hook = register(&app, &url, &["post.completed"]).await;
    let path = format!("/v1/webhooks/{}/test", hook["id"].as_str().unwrap());

    let response = app.post_json(&path, &app.keys.admin, &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], 418);
    assert_eq!(answer["body"].as_str().unwrap(), "t".repeat(1024));
    assert_eq!(answer["truncated"], true);
    assert!(answer["duration_ms"].is_u64());

    let requests = received.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "sent at once, not retried");
    let (headers, body) = &requests[0];
    assert!(standard_signed(
        headers,
        body,
        hook["secret"].as_str().unwrap()
    ));
    assert_eq!(
        headers["webhook-id"].to_str().unwrap(),
        answer["message_id"]
    );
    let event: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "webhook.test");
    assert_eq!(event["data"]["webhook_id"], hook["id"]);

    // Admin only, tenant-bound.
    let response = app.post_json(&path, &app.keys.producer, &json!({})).await;
    assert_eq!(problem(response).await.0, StatusCode::FORBIDDEN);
    let other = app.other_tenant().await;
    let response = app.post_json(&path, &other.admin, &json!({})).await;
    assert_eq!(problem(response).await.0, StatusCode::NOT_FOUND);
    assert_eq!(received.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_test_route_says_when_the_receiver_cannot_be_reached() {
    let app = TestApp::spawn().await;
    // A port nothing listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    drop(listener);
    let hook = register(&app, &url, &["*"]).await;
    let path = format!("/v1/webhooks/{}/test", hook["id"].as_str().unwrap());
    let (status, body) = problem(app.post_json(&path, &app.keys.admin, &json!({})).await).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["code"], "webhook.unreachable", "{body:#}");
    assert!(
        !body["detail"].as_str().unwrap().contains(&url),
        "the URL is not echoed"
    );
}

#[tokio::test]
async fn a_legacy_webhook_gets_both_signatures_until_its_secret_is_rotated() {
    let mut app = TestApp::spawn().await;
    app.start_webhook_sender();
    let telegram = app.connect_telegram().await;
    let (url, received) = receiver(Vec::new()).await;
    let hook = register(&app, &url, &["delivery.queued"]).await;
    let id = hook["id"].as_str().unwrap().to_owned();
    let old = hook["secret"].as_str().unwrap().to_owned();
    // As a webhook registered before Standard Webhooks is after the migration.
    sqlx::query("UPDATE webhooks SET signing = 'legacy' WHERE id = $1::uuid")
        .bind(&id)
        .execute(app.db.pool())
        .await
        .unwrap();
    let shown: Value = app
        .get(&format!("/v1/webhooks/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["signing"], "legacy");

    app.post_ok(&json!({"targets": [telegram], "text": "before"}))
        .await;
    wait_for(&received, 1).await;
    let (headers, body) = received.lock().unwrap()[0].clone();
    assert!(legacy_signed(&headers, &body, &old), "the old signature");
    assert!(standard_signed(&headers, &body, &old), "and the new one");

    let response = app
        .post_json(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &app.keys.admin,
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(rotated["signing"], "standard");
    let listed: Value = app
        .get(&format!("/v1/webhooks/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.get("secret").is_none(), "shown once");

    app.post_ok(&json!({"targets": [telegram], "text": "after"}))
        .await;
    wait_for(&received, 2).await;
    let (headers, body) = received.lock().unwrap()[1].clone();
    assert!(headers.get("herald-signature").is_none());
    assert!(headers.get("herald-timestamp").is_none());
    assert!(standard_signed(&headers, &body, &new));
    assert!(!standard_signed(&headers, &body, &old));
    let (verified, output) = library_verifies(&headers, &body, &new);
    assert!(verified, "{output}");

    let other = app.other_tenant().await;
    let response = app
        .post_json(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &other.admin,
            &json!({}),
        )
        .await;
    assert_eq!(problem(response).await.0, StatusCode::NOT_FOUND);
}
