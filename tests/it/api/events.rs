//! GET /v1/events: server-sent delivery events, resumable.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

/// Reads `count` events (id, type, data) from an open stream, within a bounded time.
async fn read_events(response: &mut reqwest::Response, count: usize) -> Vec<(i64, String, Value)> {
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < count {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events arrive in time")
            .unwrap()
            .expect("the stream stays open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_owned())
            };
            if let (Some(id), Some(kind), Some(data)) = (field("id"), field("event"), field("data"))
            {
                events.push((
                    id.parse().unwrap(),
                    kind,
                    serde_json::from_str(&data).unwrap(),
                ));
            }
        }
    }
    events
}

#[tokio::test]
async fn delivery_transitions_stream_as_events_and_resume_after_the_last_id() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let mut stream = app.get("/v1/events", &app.keys.read).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );

    let first = app
        .post_ok(&json!({"targets": [telegram], "text": "one"}))
        .await;
    let events = read_events(&mut stream, 1).await;
    assert_eq!(events[0].1, "delivery.queued");
    assert_eq!(events[0].2["delivery_id"], first["deliveries"][0]["id"]);
    assert_eq!(events[0].2["to"], "queued");
    let last_id = events[0].0;
    drop(stream);

    // Missed while disconnected:
    let second = app
        .post_ok(&json!({"targets": [telegram], "text": "two"}))
        .await;
    let cancel = format!("/v1/posts/{}/cancel", second["id"].as_str().unwrap());
    app.request(Method::POST, &cancel, &app.keys.producer)
        .send()
        .await
        .unwrap();

    let mut resumed = app
        .request(Method::GET, "/v1/events", &app.keys.read)
        .header("last-event-id", last_id.to_string())
        .send()
        .await
        .unwrap();
    let events = read_events(&mut resumed, 2).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(kinds, ["delivery.queued", "delivery.cancelled"]);
    assert!(events.iter().all(|e| e.0 > last_id));
    assert!(
        events
            .iter()
            .all(|e| e.2["delivery_id"] == second["deliveries"][0]["id"])
    );
}

#[tokio::test]
async fn the_event_stream_shows_only_the_callers_tenant_and_needs_the_read_scope() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let other = app.other_tenant().await;
    let (status, _) = problem(app.get("/v1/events", &app.keys.publish).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = problem(
        app.request(Method::GET, "/v1/events", &app.keys.read)
            .header("last-event-id", "yesterday")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_last_event_id");

    let mut theirs = app.get("/v1/events", &other.read).await;
    app.post_ok(&json!({"targets": [telegram], "text": "private"}))
        .await;
    let nothing =
        tokio::time::timeout(Duration::from_millis(700), read_events(&mut theirs, 1)).await;
    assert!(nothing.is_err(), "another tenant sees none of our events");
}
