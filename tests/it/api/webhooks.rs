//! Webhooks: registration, signed deliveries, retries and the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
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
        let timestamp: i64 = headers["herald-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let signature = headers["herald-signature"].to_str().unwrap();
        assert!(
            herald_worker::webhooks::verify(&secret, timestamp, body, signature),
            "signed"
        );
        assert!(!herald_worker::webhooks::verify(
            "whsec_other",
            timestamp,
            body,
            signature
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
    let timestamp: i64 = headers["herald-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(herald_worker::webhooks::verify(
        hook["secret"].as_str().unwrap(),
        timestamp,
        &body,
        headers["herald-signature"].to_str().unwrap()
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
