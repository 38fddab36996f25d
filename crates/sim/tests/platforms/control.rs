//! The `/_sim` control API: fixtures, posts, request counts, reset, token expiry and
//! revocation, run-time configuration, hosted media, and loading a TOML configuration.

use herald_sim::{DEV_BOT_TOKEN, DEV_CHANNEL_ID, SimConfig};
use serde_json::{Value, json};

use crate::common::{REDIRECT, Sim, enc};
use crate::twitter::{login, tweet};

#[tokio::test]
async fn fixtures_list_herald_development_credentials() {
    let sim = Sim::start().await;
    let fixtures = sim.get_json("/_sim/fixtures").await;
    let apps: Vec<(String, String)> = fixtures["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["client_id"].as_str().unwrap().to_owned(),
                a["client_secret"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for id in [
        "herald-dev-twitter",
        "herald-dev-linkedin",
        "herald-dev-linkedin-company",
        "herald-dev-facebook",
        "herald-dev-threads",
    ] {
        assert!(
            apps.contains(&(id.to_owned(), format!("{id}-secret"))),
            "{id}"
        );
    }
    assert_eq!(fixtures["telegram"]["bot_token"], DEV_BOT_TOKEN);
    assert_eq!(fixtures["telegram"]["bot_username"], "herald_dev_bot");
    assert_eq!(fixtures["telegram"]["chat_id"], DEV_CHANNEL_ID);
    assert_eq!(fixtures["telegram"]["channel"], "@herald_dev_channel");
    assert_eq!(
        fixtures["facebook"]["pages"][0]["instagram_business_account"],
        fixtures["instagram"][0]["id"]
    );
    assert_eq!(
        fixtures["linkedin"]["organizations"][0]["admins"][0],
        fixtures["linkedin"]["members"][0]["sub"]
    );
}

#[tokio::test]
async fn added_accounts_can_connect_and_reset_forgets_everything() {
    let sim = Sim::start().await;
    let added: Value = sim
        .http
        .post(sim.url("/_sim/fixtures"))
        .json(&json!({"twitter": [{"username": "newcomer"}], "telegram": {"chats": [{"username": "second_channel", "title": "Second", "members": [{"user_id": 7_000_000_001i64, "status": "administrator", "can_post_messages": true}]}]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        added["twitter"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "newcomer")
    );
    let (_, challenge) = crate::common::pkce();
    let redirect = sim
        .authorize(&format!(
            "/x/i/oauth2/authorize?response_type=code&client_id=herald-dev-twitter&redirect_uri={}&scope=tweet.read&state=s&code_challenge={challenge}&code_challenge_method=S256&user=newcomer",
            enc(REDIRECT)
        ))
        .await;
    assert!(!redirect.code().is_empty());
    let sent = sim
        .http
        .post(sim.url(&format!("/telegram/bot{DEV_BOT_TOKEN}/sendMessage")))
        .json(&json!({"chat_id": "@second_channel", "text": "in the new channel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    assert_eq!(sim.posts("telegram").await.len(), 1);

    let reset = sim.http.post(sim.url("/_sim/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 204);
    assert!(sim.posts("telegram").await.is_empty());
    let fixtures = sim.get_json("/_sim/fixtures").await;
    assert!(
        !fixtures["twitter"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "newcomer")
    );
}

#[tokio::test]
async fn requests_are_counted_per_endpoint_with_ids_folded() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    for text in ["a", "b", "c"] {
        tweet(&sim, &tokens.access, json!({"text": text})).await;
    }
    for id in ["1", "2"] {
        sim.http
            .get(sim.url(&format!("/x/2/tweets/{id}")))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(sim.request_count("twitter", "POST /2/tweets").await, 3);
    assert_eq!(sim.request_count("twitter", "GET /2/tweets/{id}").await, 2);
    assert_eq!(
        sim.request_count("twitter", "POST /2/oauth2/token").await,
        1
    );
    let counts = sim.get_json("/_sim/requests").await;
    let grants = counts["token_grants"].as_array().unwrap();
    assert!(
        grants
            .iter()
            .any(|g| g["grant_type"] == "authorization_code" && g["count"] == 1)
    );
}

#[tokio::test]
async fn tokens_can_be_expired_or_revoked_to_test_reconnects() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    let expired: Value = sim
        .http
        .post(sim.url("/_sim/tokens/expire"))
        .json(&json!({"platform": "twitter"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(expired["tokens"], 1);
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "x"}))
            .await
            .status(),
        401
    );

    let linkedin = crate::linkedin::login(
        &sim,
        ("herald-dev-linkedin", "herald-dev-linkedin-secret"),
        "openid profile",
    )
    .await;
    sim.http
        .post(sim.url("/_sim/tokens/revoke"))
        .json(&json!({"platform": "linkedin", "user": "hrldDev01"}))
        .send()
        .await
        .unwrap();
    let revoked = sim
        .http
        .get(sim.url("/linkedin/v2/userinfo"))
        .bearer_auth(linkedin["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 401);
    assert_eq!(
        revoked.json::<Value>().await.unwrap()["serviceErrorCode"],
        65601
    );
}

#[tokio::test]
async fn modes_can_change_at_run_time() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    sim.patch_config(json!({"x": {"free_tier_rejects_media": true}}))
        .await;
    let config = sim.get_json("/_sim/config").await;
    assert_eq!(config["x"]["free_tier_rejects_media"], true);
    let bad = sim
        .http
        .patch(sim.url("/_sim/config"))
        .json(&json!({"x": {"no_such_key": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "still fine"}))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn hosted_media_is_served_back_for_platforms_to_fetch() {
    let sim = Sim::start().await;
    let hosted: Value = sim
        .http
        .post(sim.url("/_sim/media"))
        .header("content-type", "image/png")
        .body(herald_sim::png(640, 480))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = hosted["url"].as_str().unwrap();
    let fetched = sim.http.get(url).send().await.unwrap();
    assert_eq!(fetched.headers()["content-type"], "image/png");
    assert_eq!(
        fetched.bytes().await.unwrap().len(),
        herald_sim::png(640, 480).len()
    );
}

#[test]
fn a_toml_file_configures_limits_modes_faults_and_fixtures() {
    let path = std::env::temp_dir().join(format!("herald-sim-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        r#"
seed = 9
rate_limits = true
detect_duplicates = false

[x]
tier = "basic"
free_tier_rejects_media = true
lookup_reads_per_user = { limit = 1, window_secs = 900 }
duplicate_window_secs = 3600

[linkedin]
partner_app = true
image_processing_ms = 20000

[instagram.publishing_quota]
limit = 25
window_secs = 86400

[[faults]]
platform = "x"
endpoint = "POST /2/tweets"
script = [503, "drop"]
"#,
    )
    .unwrap();
    let config = SimConfig::from_toml_file(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(config.seed, 9);
    assert_eq!(config.x.tier, herald_sim::XTier::Basic);
    assert!(!config.detect_duplicates);
    assert_eq!(config.x.lookup_reads_per_user.limit, 1);
    assert_eq!(config.x.duplicate_window_secs, 3_600.0);
    assert!(config.linkedin.partner_app);
    assert_eq!(config.instagram.publishing_quota.limit, 25);
    assert_eq!(config.faults[0].script.len(), 2);
    assert_eq!(
        config.fixtures.apps.len(),
        5,
        "untouched sections keep their defaults"
    );
    assert!(SimConfig::from_toml_str("[x]\ntypo = 1").is_err());
}

#[tokio::test]
async fn run_serves_a_bound_listener_until_its_shutdown_future_completes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(herald_sim::run(
        SimConfig::default(),
        listener,
        async move {
            let _ = stopped.await;
        },
    ));
    let health: Value = reqwest::get(format!("http://{addr}/_sim/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(
        reqwest::get(format!("http://{addr}/_sim/health"))
            .await
            .is_err()
    );
}
