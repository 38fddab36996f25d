//! One trace from `POST /v1/posts` to the platform call: `herald serve` and `herald work`
//! run as processes with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at an OTLP/HTTP receiver in
//! this test, which decodes the exported spans and checks that they link up.

// Helpers fail the test the way the test does: by panicking.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use herald_domain::{DeliveryState, Platform, Scope};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::eventually;
use support::harness::{Harness, fast_sim};
use support::process::{KillOnDrop, free_port, herald_binary};

/// One exported span, as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_span_id: Vec<u8>,
}

type Spans = Arc<Mutex<Vec<Received>>>;

async fn receive(State(spans): State<Spans>, body: Bytes) -> Vec<u8> {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf request");
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| r.attributes.iter())
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.clone())
            .map(|v| match v {
                AnyValue::StringValue(s) => s,
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Received {
                    service: service.clone(),
                    name: span.name,
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_span_id: span.parent_span_id,
                });
            }
        }
    }
    Vec::new()
}

#[tokio::test]
async fn one_trace_runs_from_post_v1_posts_to_the_platform_call() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let spans: Spans = Arc::default();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", receiver.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/v1/traces", post(receive))
        .with_state(Arc::clone(&spans));
    tokio::spawn(async move { axum::serve(receiver, app).await });

    let api_port = free_port();
    let api = format!("http://127.0.0.1:{api_port}");
    let media = std::env::temp_dir().join(format!("herald-media-{}", uuid::Uuid::new_v4()));
    let herald = herald_binary();
    let spawn = |command: &str| {
        let mut child = Command::new(&herald);
        child
            .arg(command)
            .envs(h.child_env())
            .env("HERALD_API__ADDR", format!("127.0.0.1:{api_port}"))
            .env("HERALD_PUBLIC_URL", &api)
            .env("HERALD_MEDIA__DIR", &media)
            .env("HERALD_LOG", "warn")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        KillOnDrop(child.spawn().expect("herald starts"))
    };
    let _api = spawn("serve");
    let _worker = spawn("work");

    let key = h
        .store
        .api_keys()
        .create(h.tenant, &[Scope::Publish, Scope::Read], None)
        .await
        .unwrap()
        .key
        .expose_secret()
        .to_owned();
    let connection = h.connect(Platform::Telegram, None).await;
    let http = reqwest::Client::new();
    let up = eventually(Duration::from_secs(20), || async {
        let answer = http.get(format!("{api}/healthz")).send().await.ok()?;
        answer.status().is_success().then_some(())
    })
    .await;
    assert!(up.is_some(), "herald serve answers on {api}");

    let answer = http
        .post(format!("{api}/v1/posts"))
        .bearer_auth(&key)
        .json(&json!({"targets": [connection.to_string()], "text": "traced"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let post: Value = answer.json().await.unwrap();
    let delivery = post["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    h.until_state(delivery, DeliveryState::Published, Duration::from_secs(30))
        .await;

    let find = |service: &str, name: &str| {
        spans
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.service == service && s.name == name)
            .cloned()
    };
    let linked = eventually(Duration::from_secs(15), || async {
        Some((
            find("herald-api", "POST /v1/posts")?,
            find("herald-worker", "delivery")?,
            find("herald-worker", "execute")?,
        ))
    })
    .await;
    let Some((request, delivery, call)) = linked else {
        panic!(
            "the API's request span, the worker's delivery span and its platform call were \
             not all exported: {:#?}",
            spans.lock().unwrap()
        );
    };
    assert_eq!(request.trace_id.len(), 16);
    assert_eq!(
        delivery.trace_id, request.trace_id,
        "the worker continues the request's trace"
    );
    assert_eq!(
        delivery.parent_span_id, request.span_id,
        "the delivery is the request's child"
    );
    assert_eq!(
        call.trace_id, request.trace_id,
        "the platform call is in the same trace"
    );
    let _ = std::fs::remove_dir_all(&media);
}
