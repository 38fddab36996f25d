//! Every fault mode: scripted statuses and rate limits, hang, reset, accept-then-drop,
//! seeded error rates, latency; set at start or at run time.

use std::time::{Duration, Instant};

use herald_sim::{DEV_BOT_TOKEN, DEV_CHANNEL_ID, FaultAction, FaultRule, Limit};
use serde_json::{Value, json};

use crate::common::{Sim, fast_config};
use crate::twitter::{login, tweet};

fn send_message(sim: &Sim, text: &str) -> reqwest::RequestBuilder {
    sim.http
        .post(sim.url(&format!("/telegram/bot{DEV_BOT_TOKEN}/sendMessage")))
        .json(&json!({"chat_id": DEV_CHANNEL_ID, "text": text}))
}

fn roomy() -> herald_sim::SimConfig {
    let mut config = fast_config();
    config.telegram.per_chat = Limit::new(1_000, 1.0);
    config.telegram.per_group_minute = Limit::new(1_000, 60.0);
    config.telegram.per_bot = Limit::new(1_000, 1.0);
    config
}

#[tokio::test]
async fn a_script_plays_the_next_responses_in_order_in_the_platform_shape() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    sim.set_faults(json!([{"platform": "x", "endpoint": "POST /2/tweets", "script": [500, 503, 429, "ok"], "retry_after_secs": 30}])).await;

    let first = tweet(&sim, &tokens.access, json!({"text": "one"})).await;
    assert_eq!(first.status(), 500);
    assert_eq!(first.headers()["content-type"], "application/problem+json");
    assert_eq!(
        first.json::<Value>().await.unwrap()["title"],
        "Internal Server Error"
    );
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "two"}))
            .await
            .status(),
        503
    );
    let limited = tweet(&sim, &tokens.access, json!({"text": "three"})).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["x-rate-limit-remaining"], "0");
    let reset: u64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset > 1_700_000_000);
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "four"}))
            .await
            .status(),
        201
    );
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "five"}))
            .await
            .status(),
        201,
        "the script is spent"
    );
    assert_eq!(sim.posts("twitter").await.len(), 2);
    // Other endpoints were never affected.
    let me = sim
        .http
        .get(sim.url("/x/2/users/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn each_platform_answers_injected_errors_in_its_own_shape() {
    let sim = Sim::start_with(roomy()).await;
    sim.set_faults(json!([
        {"platform": "telegram", "script": [502, "429"], "retry_after_secs": 7},
        {"platform": "graph", "script": [503]},
        {"platform": "linkedin", "script": ["429"]},
    ]))
    .await;
    let bad_gateway = send_message(&sim, "x").send().await.unwrap();
    assert_eq!(bad_gateway.status(), 502);
    assert_eq!(bad_gateway.json::<Value>().await.unwrap()["ok"], false);
    let limited: Value = send_message(&sim, "x")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(limited["parameters"]["retry_after"], 7);

    let graph = sim
        .http
        .get(sim.url("/graph/v24.0/me?access_token=whatever"))
        .send()
        .await
        .unwrap();
    assert_eq!(graph.status(), 503);
    let graph: Value = graph.json().await.unwrap();
    assert_eq!(graph["error"]["code"], 2);
    assert_eq!(graph["error"]["is_transient"], true);

    let linkedin = sim
        .http
        .get(sim.url("/linkedin/v2/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(linkedin.status(), 429);
    assert_eq!(
        linkedin.json::<Value>().await.unwrap()["serviceErrorCode"],
        101
    );
}

#[tokio::test]
async fn accept_then_drop_creates_the_post_but_the_client_gets_no_answer() {
    let sim = Sim::start_with(roomy()).await;
    sim.set_faults(json!({"faults": [{"platform": "telegram", "endpoint": "sendMessage", "script": ["drop"]}]})).await;
    let dropped = send_message(&sim, "did it go out?").send().await;
    let error = dropped.expect_err("the connection closes before any response byte");
    assert!(!error.is_timeout(), "{error:?}");
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1, "exactly one post exists");
    assert_eq!(posts[0]["text"], "did it go out?");

    // The same on X, where the client would look the tweet up afterwards.
    let tokens = login(&sim).await;
    sim.set_faults(
        json!([{"platform": "twitter", "endpoint": "POST /2/tweets", "script": ["drop"]}]),
    )
    .await;
    assert!(
        tweet_result(&sim, &tokens.access, "uncertain")
            .await
            .is_err()
    );
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "uncertain");
}

async fn tweet_result(
    sim: &Sim,
    token: &str,
    text: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    sim.http
        .post(sim.url("/x/2/tweets"))
        .bearer_auth(token)
        .json(&json!({"text": text}))
        .send()
        .await
}

#[tokio::test]
async fn reset_closes_the_connection_without_processing_the_request() {
    let sim = Sim::start_with(roomy()).await;
    sim.set_faults(json!([{"platform": "telegram", "script": ["reset"]}]))
        .await;
    let error = send_message(&sim, "never")
        .send()
        .await
        .expect_err("connection reset");
    assert!(!error.is_timeout());
    assert!(sim.posts("telegram").await.is_empty());
    assert_eq!(
        send_message(&sim, "after").send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn hang_holds_the_request_until_the_client_times_out() {
    let sim = Sim::start_with(roomy()).await;
    sim.set_faults(json!([{"platform": "telegram", "script": ["hang"], "hang_ms": 5000}]))
        .await;
    let started = Instant::now();
    let error = send_message(&sim, "stuck")
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("the client gives up");
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(sim.posts("telegram").await.is_empty());
}

#[tokio::test]
async fn latency_is_added_before_the_answer() {
    let sim = Sim::start_with(roomy()).await;
    sim.set_faults(json!([{"platform": "telegram", "endpoint": "getMe", "latency_ms": 200}]))
        .await;
    let started = Instant::now();
    let response = sim
        .http
        .get(sim.url(&format!("/telegram/bot{DEV_BOT_TOKEN}/getMe")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// The statuses of 40 sends against a simulator with a 30 % error rate and this seed.
async fn error_pattern(seed: u64) -> Vec<u16> {
    let mut config = roomy();
    config.seed = seed;
    config.faults = vec![FaultRule {
        platform: "telegram".to_owned(),
        endpoint: Some("sendMessage".to_owned()),
        error_rate: 0.3,
        error_status: 503,
        ..FaultRule::default()
    }];
    let sim = Sim::start_with(config).await;
    let mut statuses = Vec::new();
    for i in 0..40 {
        statuses.push(
            send_message(&sim, &format!("m{i}"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    statuses
}

#[tokio::test]
async fn error_rates_are_seeded_and_reproducible() {
    let first = error_pattern(7).await;
    assert_eq!(first, error_pattern(7).await);
    let failures = first.iter().filter(|s| **s == 503).count();
    assert!((4..=20).contains(&failures), "about 30 % fail: {failures}");
    assert_ne!(first, error_pattern(8).await);
}

#[tokio::test]
async fn faults_from_the_config_apply_from_the_start_and_can_be_cleared() {
    let mut config = roomy();
    config.faults = vec![FaultRule {
        platform: "telegram".to_owned(),
        script: vec![FaultAction::Status(500)],
        ..FaultRule::default()
    }];
    let sim = Sim::start_with(config).await;
    let listed = sim.get_json("/_sim/faults").await;
    assert_eq!(listed["faults"][0]["script"][0], "500");
    assert_eq!(send_message(&sim, "a").send().await.unwrap().status(), 500);
    sim.set_faults(json!([{"platform": "telegram", "error_rate": 1.0}]))
        .await;
    assert_eq!(send_message(&sim, "b").send().await.unwrap().status(), 500);
    sim.http
        .delete(sim.url("/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(send_message(&sim, "c").send().await.unwrap().status(), 200);
}
