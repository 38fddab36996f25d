//! Each rate-limit signal: X's headers and 429 problem (15-minute and 24-hour windows, the
//! lookup windows per user and per app),
//! Graph codes 4 / 17 / 32 / 80001 / 80002 / 613 with usage headers, LinkedIn 101.
//! (Instagram and Threads quotas and Telegram's retry_after are in their own files.)

use herald_sim::Limit;
use serde_json::{Value, json};

use crate::common::{Sim, fast_config};
use crate::facebook::{login as meta_login, page};
use crate::twitter::{login, login_as, tweet};

fn header(response: &reqwest::Response, name: &str) -> String {
    response.headers()[name].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_free_tier_allows_17_tweets_a_day_and_failed_ones_count() {
    let mut config = fast_config();
    config.tokens.x_access_secs = 2 * 86_400;
    let sim = Sim::start_with(config).await;
    let tokens = login(&sim).await;
    for i in 0..16 {
        assert_eq!(
            tweet(&sim, &tokens.access, json!({"text": format!("post {i}")}))
                .await
                .status(),
            201
        );
    }
    // A refused duplicate still spends the 17th slot.
    let duplicate = tweet(&sim, &tokens.access, json!({"text": "post 0"})).await;
    assert_eq!(duplicate.status(), 403);
    assert_eq!(header(&duplicate, "x-user-limit-24hour-remaining"), "0");

    let limited = tweet(&sim, &tokens.access, json!({"text": "one too many"})).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "x-user-limit-24hour-limit"), "17");
    assert_eq!(header(&limited, "x-user-limit-24hour-remaining"), "0");
    assert!(
        limited.headers().get("retry-after").is_none(),
        "X sends no Retry-After"
    );
    let reset: u64 = header(&limited, "x-user-limit-24hour-reset")
        .parse()
        .unwrap();
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    assert_eq!(
        problem["type"],
        "https://api.twitter.com/2/problems/rate-limit-exceeded"
    );

    let now = sim.get_json("/_sim/clock").await["now_ms"]
        .as_u64()
        .unwrap()
        / 1000;
    assert!(
        reset > now + 86_000 && reset <= now + 86_401,
        "reset is when the oldest post ages out"
    );
    sim.advance(86_401.0).await;
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "a new day"}))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn the_15_minute_window_has_its_own_headers() {
    let mut config = fast_config();
    config.x.posts_per_15min = Limit::new(2, 900.0);
    config.x.tier = herald_sim::XTier::Basic;
    let sim = Sim::start_with(config).await;
    let tokens = login(&sim).await;
    let first = tweet(&sim, &tokens.access, json!({"text": "a"})).await;
    assert_eq!(header(&first, "x-rate-limit-remaining"), "1");
    assert_eq!(header(&first, "x-user-limit-24hour-limit"), "100");
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "b"}))
            .await
            .status(),
        201
    );
    let limited = tweet(&sim, &tokens.access, json!({"text": "c"})).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "x-rate-limit-remaining"), "0");
    assert_eq!(header(&limited, "x-user-limit-24hour-remaining"), "98");
}

const DEV: &str = "1790000000000000001";
const ALT: &str = "1790000000000000002";

/// `GET /2/users/{id}/tweets`, as Herald's lookup reads it.
async fn timeline(sim: &Sim, token: &str, user: &str) -> reqwest::Response {
    sim.http
        .get(sim.url(&format!("/x/2/users/{user}/tweets?max_results=100")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn x_lookups_on_the_free_plan_get_one_call_per_window_per_app() {
    let mut config = fast_config();
    config.x.lookup_reads_per_user = Limit::new(1, 900.0);
    config.x.lookup_reads_per_app = Limit::new(1, 900.0);
    let sim = Sim::start_with(config).await;
    let dev = login(&sim).await.access;
    let alt = login_as(&sim, Some("herald_alt")).await.access;
    let posted = tweet(&sim, &dev, json!({"text": "look me up"})).await;
    assert_eq!(posted.status(), 201);
    let id = posted.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let first = timeline(&sim, &dev, DEV).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-rate-limit-limit"), "1");
    assert_eq!(header(&first, "x-rate-limit-remaining"), "0");
    let now_secs = sim.get_json("/_sim/clock").await["now_ms"]
        .as_u64()
        .unwrap()
        / 1000;

    let spent = timeline(&sim, &dev, DEV).await;
    assert_eq!(spent.status(), 429);
    assert_eq!(header(&spent, "x-rate-limit-limit"), "1");
    assert_eq!(header(&spent, "x-rate-limit-remaining"), "0");
    let reset: u64 = header(&spent, "x-rate-limit-reset").parse().unwrap();
    assert!(
        (now_secs + 899..=now_secs + 901).contains(&reset),
        "resets when the first call leaves the window: {reset} vs {now_secs}"
    );
    assert!(spent.headers().get("retry-after").is_none());
    let problem: Value = spent.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "https://api.twitter.com/2/problems/rate-limit-exceeded"
    );
    // The window is the app's too: another user of the same app is refused as well.
    assert_eq!(timeline(&sim, &alt, ALT).await.status(), 429);

    // A tweet by id has its own window.
    let by_id = sim
        .http
        .get(sim.url(&format!("/x/2/tweets/{id}")))
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    assert_eq!(by_id.status(), 200);
    let again = sim
        .http
        .get(sim.url(&format!("/x/2/tweets/{id}")))
        .bearer_auth(&dev)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 429);

    sim.advance(900.0).await;
    let after = timeline(&sim, &dev, DEV).await;
    assert_eq!(after.status(), 200, "the window has reset");
    let found: Value = after.json().await.unwrap();
    assert_eq!(found["data"][0]["text"], "look me up");
}

#[tokio::test]
async fn x_lookup_windows_are_per_user_within_the_app_limit() {
    let mut config = fast_config();
    config.x.lookup_reads_per_user = Limit::new(1, 900.0);
    let sim = Sim::start_with(config).await;
    let dev = login(&sim).await.access;
    let alt = login_as(&sim, Some("herald_alt")).await.access;
    assert_eq!(timeline(&sim, &dev, DEV).await.status(), 200);
    assert_eq!(timeline(&sim, &dev, DEV).await.status(), 429);
    let other = timeline(&sim, &alt, ALT).await;
    assert_eq!(
        other.status(),
        200,
        "another user has a window of their own"
    );
    assert_eq!(header(&other, "x-rate-limit-remaining"), "0");
}

#[tokio::test]
async fn graph_reports_usage_and_refuses_with_each_limit_code() {
    let mut config = fast_config();
    config.meta.user_calls = Limit::new(4, 3_600.0);
    let sim = Sim::start_with(config).await;
    let token = meta_login(&sim).await;
    let (page_id, page_token, ig) = page(&sim, &token).await; // call 1 with the user token
    for _ in 0..3 {
        let ok = sim
            .http
            .get(sim.url(&format!("/graph/v24.0/me?access_token={token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let limited: Value = sim
        .get_json(&format!("/graph/v24.0/me?access_token={token}"))
        .await;
    assert_eq!(limited["error"]["code"], 17);

    sim.patch_config(json!({"meta": {"page_calls": {"limit": 1, "window_secs": 3600.0}}}))
        .await;
    let first = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/feed?access_token={page_token}"
        ))
        .await;
    assert!(first["data"].is_array());
    let second = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/feed?access_token={page_token}"
        ))
        .await;
    assert_eq!(second["error"]["code"], 32);

    sim.patch_config(json!({"meta": {"page_calls": {"limit": 100}, "user_calls": {"limit": 100}, "business_calls": {"limit": 2, "window_secs": 3600.0}}})).await;
    let response = sim
        .http
        .get(sim.url(&format!(
            "/graph/v24.0/{ig}?fields=username&access_token={token}"
        )))
        .send()
        .await
        .unwrap();
    let buc: Value = serde_json::from_str(&header(&response, "x-business-use-case-usage")).unwrap();
    assert_eq!(buc[&ig][0]["type"], "instagram");
    assert_eq!(buc[&ig][0]["call_count"], 50);
    sim.get_json(&format!("/graph/v24.0/{ig}?access_token={token}"))
        .await;
    let instagram = sim
        .get_json(&format!("/graph/v24.0/{ig}?access_token={token}"))
        .await;
    assert_eq!(instagram["error"]["code"], 80002);
    let feed = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/feed?access_token={page_token}"
        ))
        .await;
    assert!(
        feed["data"].is_array(),
        "the Page's window is its own: {feed}"
    );
    let feed = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/feed?access_token={page_token}"
        ))
        .await;
    assert_eq!(feed["error"]["code"], 80001);

    sim.patch_config(json!({"meta": {"app_calls": {"limit": 1}}}))
        .await;
    let app = sim
        .http
        .get(sim.url(&format!("/graph/v24.0/me?access_token={token}")))
        .send()
        .await
        .unwrap();
    let usage: Value = serde_json::from_str(&header(&app, "x-app-usage")).unwrap();
    assert_eq!(usage["call_count"], 100);
    assert_eq!(app.json::<Value>().await.unwrap()["error"]["code"], 4);
}

#[tokio::test]
async fn posting_too_fast_to_a_page_is_code_613() {
    let mut config = fast_config();
    config.facebook.page_posts = Limit::new(1, 60.0);
    let sim = Sim::start_with(config).await;
    let token = meta_login(&sim).await;
    let (page_id, page_token, _) = page(&sim, &token).await;
    let post = |message: &'static str| {
        sim.http
            .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
            .form(&[("message", message), ("access_token", &page_token)])
            .send()
    };
    assert_eq!(post("one").await.unwrap().status(), 200);
    let limited: Value = post("two").await.unwrap().json().await.unwrap();
    assert_eq!(limited["error"]["code"], 613);
}

#[tokio::test]
async fn linkedin_throttles_with_service_error_code_101() {
    let mut config = fast_config();
    config.linkedin.member_posts = Limit::new(1, 86_400.0);
    let sim = Sim::start_with(config).await;
    let token = crate::linkedin::login(
        &sim,
        ("herald-dev-linkedin", "herald-dev-linkedin-secret"),
        "openid profile email w_member_social",
    )
    .await;
    let access = token["access_token"].as_str().unwrap();
    let post = |text: &str| {
        sim.http
            .post(sim.url("/linkedin/rest/posts"))
            .bearer_auth(access)
            .header("LinkedIn-Version", "202511")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(&json!({
                "author": "urn:li:person:hrldDev01",
                "commentary": text,
                "visibility": "PUBLIC",
                "distribution": {"feedDistribution": "MAIN_FEED"},
                "lifecycleState": "PUBLISHED",
            }))
            .send()
    };
    assert_eq!(post("first").await.unwrap().status(), 201);
    let limited = post("second").await.unwrap();
    assert_eq!(limited.status(), 429);
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["serviceErrorCode"], 101);
    assert_eq!(body["status"], 429);
}
