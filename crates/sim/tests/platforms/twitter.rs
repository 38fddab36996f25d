//! X: OAuth 2.0 with PKCE, users/me, tweets with and without media, replies, read-back.

use herald_sim::SimConfig;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{REDIRECT, Sim, enc, fast_config, pkce};

const CLIENT: &str = "herald-dev-twitter";
const SECRET: &str = "herald-dev-twitter-secret";
const SCOPES: &str = "tweet.read tweet.write users.read offline.access media.write";

pub(crate) struct XTokens {
    pub(crate) access: String,
    pub(crate) refresh: String,
}

/// The whole OAuth dance: authorize (PKCE S256), then the code exchange with Basic auth.
pub(crate) async fn login(sim: &Sim) -> XTokens {
    login_as(sim, None).await
}

/// [`login`] as the fixture user with this username (else the first one).
pub(crate) async fn login_as(sim: &Sim, username: Option<&str>) -> XTokens {
    let (verifier, challenge) = pkce();
    let user = username.map(|u| format!("&user={u}")).unwrap_or_default();
    let redirect = sim
        .authorize(&format!(
            "/x/i/oauth2/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&scope={}&state=st4te&code_challenge={challenge}&code_challenge_method=S256{user}",
            enc(REDIRECT),
            enc(SCOPES)
        ))
        .await;
    assert_eq!(redirect.params["state"], "st4te");
    let response = sim
        .http
        .post(sim.url("/x/2/oauth2/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &redirect.code()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
            ("client_id", CLIENT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    XTokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

pub(crate) async fn tweet(sim: &Sim, token: &str, body: Value) -> reqwest::Response {
    sim.http
        .post(sim.url("/x/2/tweets"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn upload_jpeg(sim: &Sim, token: &str) -> String {
    let form = Form::new()
        .part(
            "media",
            Part::bytes(herald_sim::jpeg(1200, 675))
                .file_name("photo.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .text("media_category", "tweet_image");
    let response = sim
        .http
        .post(sim.url("/x/2/media/upload"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["image"]["w"], 1200);
    body["data"]["id"].as_str().unwrap().to_owned()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_client_conversation_authorizes_posts_with_and_without_an_image_and_reads_back() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;

    let me: Value = sim
        .http
        .get(sim.url("/x/2/users/me"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["username"], "herald_dev");
    let user_id = me["data"]["id"].as_str().unwrap().to_owned();

    let first = tweet(&sim, &tokens.access, json!({"text": "Hello from Herald"})).await;
    assert_eq!(first.status(), 201);
    assert_eq!(header(&first, "x-rate-limit-limit"), "100");
    assert_eq!(header(&first, "x-rate-limit-remaining"), "99");
    assert_eq!(header(&first, "x-user-limit-24hour-limit"), "17");
    assert_eq!(header(&first, "x-user-limit-24hour-remaining"), "16");
    assert!(
        header(&first, "x-app-limit-24hour-reset")
            .parse::<u64>()
            .unwrap()
            > 1_700_000_000
    );
    let first: Value = first.json().await.unwrap();
    let first_id = first["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(first["data"]["text"], "Hello from Herald");

    let media_id = upload_jpeg(&sim, &tokens.access).await;
    let second = tweet(
        &sim,
        &tokens.access,
        json!({"text": "With a picture", "media": {"media_ids": [media_id]}, "reply": {"in_reply_to_tweet_id": first_id}}),
    )
    .await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    let second_id = second["data"]["id"].as_str().unwrap().to_owned();

    let lookup: Value = sim
        .http
        .get(sim.url(&format!("/x/2/tweets/{second_id}?tweet.fields=author_id,created_at,attachments,referenced_tweets")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lookup["data"]["author_id"], user_id.as_str());
    assert_eq!(
        lookup["data"]["attachments"]["media_keys"][0],
        format!("3_{media_id}")
    );
    assert_eq!(
        lookup["data"]["referenced_tweets"][0]["id"],
        first_id.as_str()
    );

    let missing: Value = sim
        .http
        .get(sim.url("/x/2/tweets/1"))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["errors"][0]["title"], "Not Found Error");

    let timeline: Value = sim
        .http
        .get(sim.url(&format!("/x/2/users/{user_id}/tweets?max_results=5")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(timeline["meta"]["result_count"], 2);
    assert_eq!(timeline["data"][0]["id"], second_id.as_str());

    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["media"][0], media_id.as_str());
    assert_eq!(posts[1]["reply_to"], first_id.as_str());
    assert_eq!(
        posts[1]["url"],
        format!("https://x.com/herald_dev/status/{second_id}")
    );
}

#[tokio::test]
async fn token_calls_need_basic_auth_the_same_redirect_and_the_pkce_verifier() {
    let sim = Sim::start().await;
    let (verifier, challenge) = pkce();
    let authorize = format!(
        "/x/i/oauth2/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256",
        enc(REDIRECT),
        enc(SCOPES)
    );
    let code = sim.authorize(&authorize).await.code();
    let exchange = |basic: bool, redirect: &'static str, verifier: String, code: String| {
        let mut request = sim.http.post(sim.url("/x/2/oauth2/token")).form(&[
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect.to_owned()),
            ("code_verifier", verifier),
        ]);
        if basic {
            request = request.basic_auth(CLIENT, Some(SECRET));
        }
        request.send()
    };
    let no_basic = exchange(false, REDIRECT, verifier.clone(), code.clone())
        .await
        .unwrap();
    assert_eq!(no_basic.status(), 401);
    assert_eq!(
        no_basic.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );

    let wrong_redirect = exchange(
        true,
        "https://elsewhere.test/cb",
        verifier.clone(),
        code.clone(),
    )
    .await
    .unwrap();
    assert_eq!(wrong_redirect.status(), 400);

    let wrong_verifier = exchange(true, REDIRECT, "x".repeat(50), code.clone())
        .await
        .unwrap();
    assert_eq!(wrong_verifier.status(), 400);
    assert_eq!(
        wrong_verifier.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let ok = exchange(true, REDIRECT, verifier.clone(), code.clone())
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["scope"], SCOPES);
    assert!(
        body["refresh_token"].is_string(),
        "offline.access gives a refresh token"
    );
    let reused = exchange(true, REDIRECT, verifier, code).await.unwrap();
    assert_eq!(reused.status(), 400, "codes are single-use");
}

#[tokio::test]
async fn refresh_tokens_rotate_and_work_once_and_access_tokens_expire() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    let refresh = |token: String| {
        sim.http
            .post(sim.url("/x/2/oauth2/token"))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", CLIENT),
            ])
            .send()
    };
    let fresh = refresh(tokens.refresh.clone()).await.unwrap();
    assert_eq!(fresh.status(), 200);
    let fresh: Value = fresh.json().await.unwrap();
    assert_ne!(fresh["refresh_token"], tokens.refresh.as_str());

    let replay = refresh(tokens.refresh.clone()).await.unwrap();
    assert_eq!(replay.status(), 400, "a rotated refresh token is spent");
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );

    let counts = sim.get_json("/_sim/requests").await;
    assert_eq!(counts["token_refreshes"]["twitter"], 2);

    let new_access = fresh["access_token"].as_str().unwrap().to_owned();
    sim.advance(7_201.0).await;
    let expired = tweet(&sim, &new_access, json!({"text": "too late"})).await;
    assert_eq!(expired.status(), 401);
    let problem: Value = expired.json().await.unwrap();
    assert_eq!(problem["title"], "Unauthorized");
    assert_eq!(problem["status"], 401);
}

#[tokio::test]
async fn duplicate_and_overlong_tweets_are_refused_by_weighted_length() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": "same words"}))
            .await
            .status(),
        201
    );
    let duplicate = tweet(&sim, &tokens.access, json!({"text": "same words"})).await;
    assert_eq!(duplicate.status(), 403);
    let problem: Value = duplicate.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "You are not allowed to create a Tweet with duplicate content."
    );

    // CJK characters weigh 2: 140 fit, 141 do not.
    let fits = "漢".repeat(140);
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": fits}))
            .await
            .status(),
        201
    );
    let too_long = tweet(&sim, &tokens.access, json!({"text": "漢".repeat(141)})).await;
    assert_eq!(too_long.status(), 403);
    assert!(
        too_long.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("too long")
    );

    // A URL counts 23 whatever its length.
    let url_text = format!(
        "{} https://example.com/{}",
        "a".repeat(256),
        "b".repeat(200)
    );
    assert_eq!(
        tweet(&sim, &tokens.access, json!({"text": url_text}))
            .await
            .status(),
        201
    );

    let unknown = tweet(&sim, &tokens.access, json!({"text": "x", "nonsense": 1})).await;
    assert_eq!(unknown.status(), 400);
    let bad_reply = tweet(
        &sim,
        &tokens.access,
        json!({"text": "reply", "reply": {"in_reply_to_tweet_id": "42"}}),
    )
    .await;
    assert_eq!(bad_reply.status(), 403);
}

#[tokio::test]
async fn chunked_upload_processes_before_a_tweet_may_use_it() {
    let sim = Sim::start().await;
    let tokens = login(&sim).await;
    let gif = b"GIF89a\x40\x01\xf0\x00\x00\x00\x00;".repeat(3);
    let init: Value = sim
        .http
        .post(sim.url("/x/2/media/upload/initialize"))
        .bearer_auth(&tokens.access)
        .json(&json!({"media_type": "image/gif", "total_bytes": gif.len(), "media_category": "tweet_gif"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = init["data"]["id"].as_str().unwrap().to_owned();
    for (index, chunk) in gif.chunks(20).enumerate() {
        let form = Form::new()
            .text("segment_index", index.to_string())
            .part("media", Part::bytes(chunk.to_vec()).file_name("blob"));
        let append = sim
            .http
            .post(sim.url(&format!("/x/2/media/upload/{id}/append")))
            .bearer_auth(&tokens.access)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(append.status(), 200);
    }
    let finalize: Value = sim
        .http
        .post(sim.url(&format!("/x/2/media/upload/{id}/finalize")))
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(finalize["data"]["processing_info"]["state"], "pending");
    let early = tweet(
        &sim,
        &tokens.access,
        json!({"text": "gif", "media": {"media_ids": [id]}}),
    )
    .await;
    assert_eq!(early.status(), 400, "media still processing");

    crate::common::eventually("media processed", || async {
        let status: Value = sim
            .http
            .get(sim.url(&format!("/x/2/media/upload?command=STATUS&media_id={id}")))
            .bearer_auth(&tokens.access)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (status["data"]["processing_info"]["state"] == "succeeded").then_some(())
    })
    .await;
    let ready = tweet(
        &sim,
        &tokens.access,
        json!({"text": "gif", "media": {"media_ids": [id]}}),
    )
    .await;
    assert_eq!(ready.status(), 201);
}

#[tokio::test]
async fn free_tier_mode_refuses_tweets_with_media_although_upload_works() {
    let mut config = fast_config();
    config.x.free_tier_rejects_media = true;
    let sim = Sim::start_with(config).await;
    let tokens = login(&sim).await;
    let media_id = upload_jpeg(&sim, &tokens.access).await;
    let refused = tweet(
        &sim,
        &tokens.access,
        json!({"text": "pic", "media": {"media_ids": [media_id]}}),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let text_only = tweet(&sim, &tokens.access, json!({"text": "pic"})).await;
    assert_eq!(text_only.status(), 201);
    assert_eq!(sim.posts("x").await.len(), 1);
}

#[tokio::test]
async fn another_fixture_user_is_chosen_with_the_user_parameter() {
    let sim = Sim::start_with(SimConfig::default()).await;
    let (_, challenge) = pkce();
    let redirect = sim
        .authorize(&format!(
            "/x/i/oauth2/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256&user=herald_alt",
            enc(REDIRECT),
            enc(SCOPES)
        ))
        .await;
    assert!(!redirect.code().is_empty());
    let denied = sim
        .authorize(&format!(
            "/x/i/oauth2/authorize?response_type=code&client_id={CLIENT}&redirect_uri={}&scope={}&state=s&code_challenge={challenge}&code_challenge_method=S256&deny=1",
            enc(REDIRECT),
            enc(SCOPES)
        ))
        .await;
    assert_eq!(denied.params["error"], "access_denied");
    let unknown = sim
        .http
        .get(sim.url(&format!(
            "/x/i/oauth2/authorize?response_type=code&client_id=nope&redirect_uri={}",
            enc(REDIRECT)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
}
