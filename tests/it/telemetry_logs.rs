//! No secret reaches a log line: a full publish (an X account connected through the API's
//! OAuth flow against the simulator, a Telegram channel connected by bot token, posts
//! enqueued through `POST /v1/posts`, an in-process worker publishing them, one of them after
//! a token refresh) with every Herald crate logging at TRACE into a buffer; then the buffer
//! is searched for each token, key and secret the run handled.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use herald_domain::ConnectionId;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt;

use support::app::TestApp;

const RETURN_TO: &str = "https://producer.example/connected";

/// Every log line of the test, in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the capturing subscriber for the whole process (the API, worker and their tasks
/// run on every runtime thread): readable lines and JSON lines, span fields included.
fn capture() -> Captured {
    let captured = Captured::default();
    let filter = tracing_subscriber::EnvFilter::new(
        "debug,herald=trace,herald_api=trace,herald_worker=trace,herald_platforms=trace,\
         herald_store=trace,herald_queue=trace,herald_config=trace,herald_domain=trace,\
         herald_sim=off,sqlx=debug,hyper=info,hyper_util=info,h2=info,rustls=info",
    );
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_span_events(FmtSpan::NEW)
                .with_writer(captured.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_span_events(FmtSpan::NEW)
                .with_writer(captured.clone()),
        );
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    captured
}

fn query_param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("a redirect, got {}", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The browser round trip of connecting an X account; returns the connection id.
async fn connect_x(app: &TestApp) -> String {
    let response = app
        .post_json(
            "/v1/connect/x",
            &app.keys.admin,
            &json!({"user": "u-1", "return_to": RETURN_TO}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let consent = app
        .http
        .get(answer["authorize_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let callback = location(&consent);
    let done = app.http.get(&callback).send().await.unwrap();
    let back = location(&done);
    assert_eq!(
        query_param(&back, "status").as_deref(),
        Some("connected"),
        "{back}"
    );
    query_param(&back, "connection_id").unwrap()
}

/// Posts `text` to `targets` through the API and waits until it is published; returns the
/// delivery ids.
async fn publish(app: &TestApp, targets: &[&str], text: &str) -> Vec<String> {
    let answer = app
        .post_ok(&json!({"targets": targets, "text": text}))
        .await;
    let post = app
        .wait_for_post(answer["id"].as_str().unwrap(), "published")
        .await;
    post["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_publish_logs_no_token_secret_or_key() {
    // A global subscriber would record the binary's other tests as well (at TRACE), and a
    // scoped one misses events whose callsites other threads register meanwhile: the test
    // runs in a process of its own.
    if !support::process::is_alone() {
        return support::process::run_alone(
            module_path!(),
            "a_full_publish_logs_no_token_secret_or_key",
        );
    }
    let logs = capture();
    let mut app = TestApp::spawn_with(&[
        ("HERALD_WORKER__RETRY_SCHEDULE_SECS", "[1]"),
        (
            "HERALD_API__ALLOWED_RETURN_ORIGINS",
            "[\"https://producer.example\"]",
        ),
    ])
    .await;
    app.start_worker().await;
    // Errors are logged too: Telegram's first send fails (its URL carries the bot token).
    let fault = app
        .http
        .post(app.sim.url("/_sim/faults"))
        .json(&json!({"platform": "telegram", "endpoint": "sendMessage", "script": ["500"]}))
        .send()
        .await
        .unwrap();
    assert!(fault.status().is_success(), "{}", fault.status());

    let x = connect_x(&app).await;
    let telegram = app.connect_telegram().await;
    let x_id: ConnectionId = x.parse().unwrap();
    let first = app
        .store
        .connections()
        .get_with_tokens(x_id)
        .await
        .unwrap()
        .unwrap();

    let mut deliveries = publish(&app, &[&x, &telegram], "Hello from the log test").await;

    // The X token is about to expire: the next publish refreshes it first.
    app.store
        .connections()
        .update_tokens(
            x_id,
            &herald_store::Tokens {
                access_token: first.access_token.clone(),
                refresh_token: first.refresh_token.clone(),
                expires_at: Some(Utc::now() + chrono::Duration::seconds(30)),
            },
        )
        .await
        .unwrap();
    deliveries.extend(publish(&app, &[&x], "Hello again after a refresh").await);
    let refreshed = app
        .store
        .connections()
        .get_with_tokens(x_id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        refreshed.access_token.expose_secret(),
        first.access_token.expose_secret(),
        "the second publish refreshed the token"
    );

    let mut secrets: Vec<(String, String)> = vec![
        (
            "X access token".into(),
            first.access_token.expose_secret().to_owned(),
        ),
        (
            "refreshed X access token".into(),
            refreshed.access_token.expose_secret().to_owned(),
        ),
        (
            "Telegram bot token".into(),
            herald_sim::DEV_BOT_TOKEN.into(),
        ),
        (
            "encryption keys".into(),
            herald_testkit::TEST_KEYRING.into(),
        ),
        (
            "encryption key".into(),
            herald_testkit::TEST_KEYRING
                .split_once(':')
                .unwrap()
                .1
                .into(),
        ),
        ("producer API key".into(), app.keys.producer.clone()),
        ("read API key".into(), app.keys.read.clone()),
        ("publish API key".into(), app.keys.publish.clone()),
        ("admin API key".into(), app.keys.admin.clone()),
    ];
    for (name, token) in [
        ("X refresh token", &first.refresh_token),
        ("refreshed X refresh token", &refreshed.refresh_token),
    ] {
        let token = token.as_ref().expect("X issues refresh tokens");
        secrets.push((name.into(), token.expose_secret().to_owned()));
    }
    let platforms = &app.config.platforms;
    for (name, oauth) in [
        ("X client secret", &platforms.twitter.app),
        ("LinkedIn client secret", &platforms.linkedin.personal),
        (
            "LinkedIn company client secret",
            &platforms.linkedin.company,
        ),
        ("Facebook client secret", &platforms.facebook.app),
        ("Instagram client secret", &platforms.instagram.app),
        ("Threads client secret", &platforms.threads.app),
    ] {
        if let Some(oauth) = oauth {
            secrets.push((name.into(), oauth.client_secret.expose_secret().to_owned()));
        }
    }

    let text = logs.text();
    assert!(text.contains("status=500"), "the logs show the failed send");
    for id in &deliveries {
        assert!(text.contains(id.as_str()), "the logs name delivery {id}");
    }
    let leaked: Vec<&str> = secrets
        .iter()
        .filter(|(_, secret)| !secret.is_empty() && text.contains(secret.as_str()))
        .map(|(name, _)| name.as_str())
        .collect();
    if !leaked.is_empty() {
        let lines: Vec<&str> = text
            .lines()
            .filter(|line| {
                secrets
                    .iter()
                    .any(|(_, s)| !s.is_empty() && line.contains(s.as_str()))
            })
            .take(20)
            .collect();
        panic!("the logs leak {leaked:?}:\n{}", lines.join("\n"));
    }
}
