//! Malformed bodies thrown at POST /v1/posts: every answer is a 4xx problem document (or a
//! 202 for the rare valid one), never a 5xx, and the server stays up.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use reqwest::Method;
use serde_json::{Value, json};

use support::app::TestApp;

/// Arbitrary JSON values, a few levels deep, biased towards the post's own field names.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!("2099-01-01T00:00:00Z")),
        Just(json!("0190f0c4-5d1e-7a8b-9c0d-1e2f3a4b5c6d")),
        Just(json!("nul \u{0} inside")),
        Just(json!("https://example.com/a.png")),
        Just(json!({"media_id": "0190f0c4-5d1e-7a8b-9c0d-1e2f3a4b5c6d"})),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("targets".to_owned()),
                        Just("text".to_owned()),
                        Just("thread".to_owned()),
                        Just("media".to_owned()),
                        Just("publish_at".to_owned()),
                        Just("metadata".to_owned()),
                        Just("connection_id".to_owned()),
                        Just("url".to_owned()),
                        Just("media_id".to_owned()),
                        "[a-z_]{1,12}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Bodies: structured JSON, JSON cut short, or raw bytes.
fn body(valid_target: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value().prop_map(|v| v.to_string().into_bytes()),
        (json_value(), json_value()).prop_map(move |(text, media)| {
            json!({"targets": [valid_target.clone()], "text": text, "media": media})
                .to_string()
                .into_bytes()
        }),
        json_value().prop_flat_map(|v| {
            let bytes = v.to_string().into_bytes();
            let len = bytes.len();
            (Just(bytes), 0..=len).prop_map(|(b, cut)| b[..cut].to_vec())
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_post_bodies_never_get_a_server_error() {
    let app = TestApp::spawn_with(&[("HERALD_API__RATE_LIMIT_BURST", "100000")]).await;
    let telegram = app.connect_telegram().await;
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let client = app.http.clone();
    let url = app.url("/v1/posts");
    let key = app.keys.producer.clone();
    let result = tokio::task::spawn_blocking(move || {
        runner.run(&body(telegram), |bytes| {
            let status = handle.block_on(async {
                client
                    .request(Method::POST, &url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(bytes.clone())
                    .send()
                    .await
                    .map(|r| r.status())
            });
            let status = status.map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
            prop_assert!(
                !status.is_server_error(),
                "{status} for {}",
                String::from_utf8_lossy(&bytes)
            );
            Ok(())
        })
    })
    .await
    .unwrap();
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
