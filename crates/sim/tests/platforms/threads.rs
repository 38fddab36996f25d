//! Threads: authorize, code exchange, th_exchange_token and th_refresh_token; containers for
//! text and image posts and replies, threads_publish, the limit endpoint and read-back.

use serde_json::Value;

use crate::common::{REDIRECT, Sim, enc, eventually, fast_config};

const APP: (&str, &str) = ("herald-dev-threads", "herald-dev-threads-secret");

/// Authorize, exchange the code (short-lived), then th_exchange_token (long-lived).
async fn login(sim: &Sim) -> (String, String) {
    let (short, user_id) = short_login(
        sim,
        "threads_basic,threads_content_publish,threads_manage_replies",
    )
    .await;
    let long = sim
        .get_json(&format!(
            "/threads/access_token?grant_type=th_exchange_token&client_secret={}&access_token={short}",
            APP.1
        ))
        .await;
    assert_eq!(long["expires_in"], 5_184_000);
    (long["access_token"].as_str().unwrap().to_owned(), user_id)
}

/// Authorize with `scopes` and exchange the code: a short-lived token and the user id.
pub(crate) async fn short_login(sim: &Sim, scopes: &str) -> (String, String) {
    let redirect = sim
        .authorize(&format!(
            "/threads/oauth/authorize?client_id={}&redirect_uri={}&scope={scopes}&response_type=code&state=th",
            APP.0,
            enc(REDIRECT)
        ))
        .await;
    assert_eq!(redirect.fragment.as_deref(), Some("_"));
    let short: Value = sim
        .http
        .post(sim.url("/threads/oauth/access_token"))
        .form(&[
            ("client_id", APP.0),
            ("client_secret", APP.1),
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code", &redirect.code()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = short["user_id"]
        .as_u64()
        .expect("numeric user_id")
        .to_string();
    (short["access_token"].as_str().unwrap().to_owned(), user_id)
}

pub(crate) async fn create(sim: &Sim, token: &str, params: &[(&str, &str)]) -> Value {
    sim.http
        .post(sim.url("/threads/v1.0/me/threads"))
        .bearer_auth(token)
        .form(params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub(crate) async fn publish(sim: &Sim, token: &str, user: &str, id: &str) -> Value {
    sim.http
        .post(sim.url(&format!(
            "/threads/v1.0/{user}/threads_publish?creation_id={id}&access_token={token}"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `fields=status,error_message` until the container leaves IN_PROGRESS.
pub(crate) async fn settled(sim: &Sim, token: &str, id: &str) -> Value {
    eventually("container processed", || async {
        let status = sim
            .get_json(&format!(
                "/threads/v1.0/{id}?fields=status,error_message&access_token={token}"
            ))
            .await;
        (status["status"] != "IN_PROGRESS").then_some(status)
    })
    .await
}

async fn publish_when_ready(sim: &Sim, token: &str, user: &str, id: &str) -> String {
    let status = settled(sim, token, id).await;
    assert_eq!(status["status"], "FINISHED", "{status}");
    publish(sim, token, user, id).await["id"]
        .as_str()
        .expect("thread id")
        .to_owned()
}

#[tokio::test]
async fn a_user_connects_posts_text_an_image_and_a_reply_and_reads_back() {
    let sim = Sim::start().await;
    let (token, user) = login(&sim).await;
    let me = sim
        .get_json(&format!(
            "/threads/v1.0/me?fields=id,username&access_token={token}"
        ))
        .await;
    assert_eq!(me["username"], "herald_dev_threads");
    assert_eq!(me["id"], user.as_str());

    let text = create(
        &sim,
        &token,
        &[("media_type", "TEXT"), ("text", "Hello Threads")],
    )
    .await;
    let first = publish_when_ready(&sim, &token, &user, text["id"].as_str().unwrap()).await;

    let image_url = sim.image_url(1080, 1350);
    let image = create(
        &sim,
        &token,
        &[
            ("media_type", "IMAGE"),
            ("image_url", &image_url),
            ("text", "A picture"),
        ],
    )
    .await;
    let image_id = image["id"].as_str().unwrap().to_owned();
    let status = sim
        .get_json(&format!(
            "/threads/v1.0/{image_id}?fields=status&access_token={token}"
        ))
        .await;
    assert_eq!(status["status"], "IN_PROGRESS");
    let early = publish(&sim, &token, &user, &image_id).await;
    assert_eq!(early["error"]["error_subcode"], 2_207_027);
    publish_when_ready(&sim, &token, &user, &image_id).await;

    let reply = create(
        &sim,
        &token,
        &[
            ("media_type", "TEXT"),
            ("text", "A reply"),
            ("reply_to_id", &first),
        ],
    )
    .await;
    let reply_id = publish_when_ready(&sim, &token, &user, reply["id"].as_str().unwrap()).await;
    let permalink = sim
        .get_json(&format!(
            "/threads/v1.0/{reply_id}?fields=permalink&access_token={token}"
        ))
        .await;
    assert!(
        permalink["permalink"]
            .as_str()
            .unwrap()
            .starts_with("https://www.threads.net/@herald_dev_threads/post/")
    );

    let listed = sim
        .get_json(&format!(
            "/threads/v1.0/me/threads?fields=id,text,timestamp&access_token={token}"
        ))
        .await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);
    assert_eq!(listed["data"][0]["id"], reply_id.as_str());

    let limit = sim
        .get_json(&format!("/threads/v1.0/{user}/threads_publishing_limit?fields=quota_usage,config,reply_quota_usage&access_token={token}"))
        .await;
    assert_eq!(limit["data"][0]["quota_usage"], 2);
    assert_eq!(limit["data"][0]["reply_quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 250);

    let posts = sim.posts("threads").await;
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[1]["media"][0], image_url.as_str());
    assert_eq!(posts[2]["reply_to"], first.as_str());
}

#[tokio::test]
async fn long_lived_tokens_refresh_once_a_day_old() {
    let sim = Sim::start().await;
    let (token, _) = login(&sim).await;
    let refresh_path =
        format!("/threads/refresh_access_token?grant_type=th_refresh_token&access_token={token}");
    let too_young = sim.get_json(&refresh_path).await;
    assert!(too_young["error"].is_object());
    sim.advance(86_401.0).await;
    let refreshed = sim.get_json(&refresh_path).await;
    assert_eq!(refreshed["token_type"], "bearer");
    assert!(refreshed["access_token"].is_string());
    assert_eq!(
        sim.get_json("/_sim/requests").await["token_refreshes"]["threads"],
        2
    );

    sim.advance(61.0 * 86_400.0).await;
    let expired = sim
        .get_json(&format!("/threads/v1.0/me?access_token={token}"))
        .await;
    assert_eq!(expired["error"]["code"], 190);
    assert_eq!(expired["error"]["error_subcode"], 463);
}

#[tokio::test]
async fn text_is_limited_and_posts_have_a_rolling_quota() {
    let mut config = fast_config();
    config.threads.posts = herald_sim::Limit::new(1, 3_600.0);
    let sim = Sim::start_with(config).await;
    let (token, user) = login(&sim).await;
    let long = create(
        &sim,
        &token,
        &[("media_type", "TEXT"), ("text", &"t".repeat(501))],
    )
    .await;
    assert!(long["error"].is_object());
    let ok = create(
        &sim,
        &token,
        &[("media_type", "TEXT"), ("text", &"t".repeat(500))],
    )
    .await;
    publish_when_ready(&sim, &token, &user, ok["id"].as_str().unwrap()).await;
    let second = create(&sim, &token, &[("media_type", "TEXT"), ("text", "again")]).await;
    let id = second["id"].as_str().unwrap().to_owned();
    eventually("second FINISHED", || async {
        let s = sim
            .get_json(&format!(
                "/threads/v1.0/{id}?fields=status&access_token={token}"
            ))
            .await;
        (s["status"] == "FINISHED").then_some(())
    })
    .await;
    let refused = publish(&sim, &token, &user, &id).await;
    assert_eq!(refused["error"]["error_subcode"], 2_207_042);

    let unusable = create(
        &sim,
        &token,
        &[
            ("media_type", "IMAGE"),
            ("image_url", &sim.url("/_sim/images/x.jpg?status=500")),
        ],
    )
    .await;
    assert_eq!(unusable["error"]["error_subcode"], 2_207_052);
}
