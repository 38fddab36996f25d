//! X: videos through the chunked upload (processing states, every limit, expiry), what a
//! tweet may carry, the summoned-only reply policy, and PKCE's method in any letter case.

use herald_sim::{SimConfig, XReplyPolicy};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{REDIRECT, Sim, answer_or_null, enc, fast_config, pkce, video};
use crate::twitter::{login, login_as, tweet};

/// Processing long enough to see each state, on the virtual clock.
fn slow_processing() -> SimConfig {
    let mut config = fast_config();
    config.x.media_processing_ms = 3_000;
    config
}

async fn post_json(sim: &Sim, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = sim.http.post(sim.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    answer_or_null(request).await
}

async fn initialize(sim: &Sim, token: &str, media_type: &str, total: usize) -> (u16, Value) {
    let category = if media_type.starts_with("image/") {
        "tweet_image"
    } else {
        "tweet_video"
    };
    post_json(
        sim,
        token,
        "/x/2/media/upload/initialize",
        Some(json!({"media_type": media_type, "total_bytes": total, "media_category": category})),
    )
    .await
}

async fn append(sim: &Sim, token: &str, id: &str, segment: usize, chunk: &[u8]) -> (u16, Value) {
    let form = Form::new()
        .part("media", Part::bytes(chunk.to_vec()).file_name("blob"))
        .text("segment_index", segment.to_string());
    answer_or_null(
        sim.http
            .post(sim.url(&format!("/x/2/media/upload/{id}/append")))
            .bearer_auth(token)
            .multipart(form),
    )
    .await
}

/// INIT, APPEND in `chunk`-byte segments, FINALIZE: the media id and FINALIZE's answer.
async fn upload(
    sim: &Sim,
    token: &str,
    media_type: &str,
    bytes: &[u8],
    chunk: usize,
) -> (String, Value) {
    let (status, init) = initialize(sim, token, media_type, bytes.len()).await;
    assert_eq!(status, 200, "{init}");
    let id = init["data"]["id"].as_str().unwrap().to_owned();
    for (i, part) in bytes.chunks(chunk).enumerate() {
        let (status, body) = append(sim, token, &id, i, part).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, finalize) = post_json(
        sim,
        token,
        &format!("/x/2/media/upload/{id}/finalize"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{finalize}");
    (id, finalize)
}

/// STATUS the v2 way: `GET /2/media/upload?media_id=` (no `command`).
async fn status(sim: &Sim, token: &str, id: &str) -> Value {
    let response = sim
        .http
        .get(sim.url(&format!("/x/2/media/upload?media_id={id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_video_goes_pending_then_in_progress_then_succeeded_and_only_then_posts() {
    let sim = Sim::start_with(slow_processing()).await;
    let token = login(&sim).await.access;
    let bytes = video("landscape-1280x720-4s.mp4");
    let (id, finalize) = upload(&sim, &token, "video/mp4", &bytes, 40_000).await;
    let processing = &finalize["data"]["processing_info"];
    assert_eq!(processing["state"], "pending");
    assert_eq!(processing["check_after_secs"], 3);
    assert_eq!(finalize["data"]["media_key"], format!("7_{id}"));
    assert_eq!(finalize["data"]["size"], bytes.len());

    let early = tweet(
        &sim,
        &token,
        json!({"text": "v", "media": {"media_ids": [id]}}),
    )
    .await;
    assert_eq!(early.status(), 400);
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "Your media IDs are invalid.");

    sim.advance(1.5).await;
    let seen = status(&sim, &token, &id).await;
    assert_eq!(seen["data"]["processing_info"]["state"], "in_progress");
    assert!(
        seen["data"]["processing_info"]["check_after_secs"]
            .as_u64()
            .unwrap()
            >= 1
    );
    sim.advance(2.0).await;
    let seen = status(&sim, &token, &id).await;
    assert_eq!(seen["data"]["processing_info"]["state"], "succeeded");

    let posted = tweet(
        &sim,
        &token,
        json!({"text": "v", "media": {"media_ids": [id]}}),
    )
    .await;
    assert_eq!(posted.status(), 201);
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media"], json!([id]));
    assert_eq!(posts[0]["media_types"], json!(["video/mp4"]));
}

/// Uploads a fixture, lets processing end, and returns STATUS's `processing_info`.
async fn processed(sim: &Sim, token: &str, name: &str, media_type: &str) -> (String, Value) {
    let (id, _) = upload(sim, token, media_type, &video(name), 1_000_000).await;
    sim.advance(5.0).await;
    let seen = status(sim, token, &id).await;
    (id, seen["data"]["processing_info"].clone())
}

#[tokio::test]
async fn videos_outside_x_s_limits_fail_processing_with_the_reason() {
    let sim = Sim::start_with(slow_processing()).await;
    let token = login(&sim).await.access;
    for (name, media_type, reason) in [
        (
            "clip-640x360-3s.webm",
            "video/webm",
            "Unsupported video format",
        ),
        (
            "long-320x240-320s.mp4",
            "video/mp4",
            "Duration too long, maximum:140000",
        ),
        ("wide-1280x320-4s.mp4", "video/mp4", "aspect ratio"),
    ] {
        let (id, processing) = processed(&sim, &token, name, media_type).await;
        assert_eq!(processing["state"], "failed", "{name}");
        assert_eq!(processing["error"]["code"], 1, "{name}");
        assert_eq!(processing["error"]["name"], "InvalidMedia", "{name}");
        let message = processing["error"]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{name}: {message}");
        let refused = tweet(
            &sim,
            &token,
            json!({"text": name, "media": {"media_ids": [id]}}),
        )
        .await;
        assert_eq!(
            refused.status(),
            400,
            "{name}: a failed media cannot be posted"
        );
    }
    let (_, processing) = processed(&sim, &token, "clip-640x360-3s.mov", "video/quicktime").await;
    assert_eq!(processing["state"], "succeeded", "MOV with H.264 is taken");
    let (_, processing) = processed(&sim, &token, "portrait-720x1280-4s.mp4", "video/mp4").await;
    assert_eq!(
        processing["state"], "succeeded",
        "a 9:16 720x1280 video is taken"
    );
    assert!(sim.posts("twitter").await.is_empty());
}

#[tokio::test]
async fn initialize_and_append_refuse_what_is_too_big() {
    let mut config = fast_config();
    config.x.append_max_bytes = Some(10_000);
    let sim = Sim::start_with(config).await;
    let token = login(&sim).await.access;
    let (status, body) = initialize(&sim, &token, "video/mp4", 512 * 1024 * 1024 + 1).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("total_bytes")
    );
    let (status, _) = initialize(&sim, &token, "video/x-flv", 1000).await;
    assert_eq!(status, 400, "a media type outside the enumeration");

    let bytes = video("short-640x360-1s.mp4");
    let (_, init) = initialize(&sim, &token, "video/mp4", bytes.len()).await;
    let id = init["data"]["id"].as_str().unwrap().to_owned();
    let (status, body) = append(&sim, &token, &id, 0, &bytes[..10_001]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000")
    );
    let (status, _) = append(&sim, &token, &id, 0, &bytes[..10_000]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_expired_upload_can_neither_be_continued_nor_posted() {
    // Shorter than the access token's life, so only the upload expires.
    let mut config = fast_config();
    config.x.media_expires_secs = 60;
    let sim = Sim::start_with(config).await;
    let token = login(&sim).await.access;
    let bytes = video("short-640x360-1s.mp4");
    let (done, _) = upload(&sim, &token, "video/mp4", &bytes, 1_000_000).await;
    let (_, init) = initialize(&sim, &token, "video/mp4", bytes.len()).await;
    let open = init["data"]["id"].as_str().unwrap().to_owned();
    let expires = init["data"]["expires_after_secs"].as_f64().unwrap();
    sim.advance(expires + 1.0).await;

    let (status, _) = append(&sim, &token, &open, 0, &bytes).await;
    assert_eq!(status, 400, "APPEND after expires_after_secs");
    let refused = tweet(
        &sim,
        &token,
        json!({"text": "late", "media": {"media_ids": [done]}}),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["errors"][0]["message"], "Your media IDs are invalid.");
}

#[tokio::test]
async fn a_video_goes_alone_in_a_tweet() {
    let sim = Sim::start().await;
    let token = login(&sim).await.access;
    let (video_id, _) = upload(
        &sim,
        &token,
        "video/mp4",
        &video("short-640x360-1s.mp4"),
        1_000_000,
    )
    .await;
    let image = herald_sim::jpeg(800, 600);
    let (image_id, _) = upload(&sim, &token, "image/jpeg", &image, 1_000_000).await;
    sim.advance(1.0).await;
    let mixed = tweet(
        &sim,
        &token,
        json!({"text": "mixed", "media": {"media_ids": [video_id, image_id]}}),
    )
    .await;
    assert_eq!(mixed.status(), 400);
    let alone = tweet(
        &sim,
        &token,
        json!({"text": "alone", "media": {"media_ids": [video_id]}}),
    )
    .await;
    assert_eq!(alone.status(), 201);
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "alone");
}

async fn tweet_id(sim: &Sim, token: &str, body: Value) -> String {
    let response = tweet(sim, token, body).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["data"]["id"].as_str().unwrap().to_owned()
}

async fn reply(sim: &Sim, token: &str, to: &str) -> reqwest::Response {
    tweet(
        sim,
        token,
        json!({"text": format!("a reply to {to}"), "reply": {"in_reply_to_tweet_id": to}}),
    )
    .await
}

#[tokio::test]
async fn summoned_only_replies_need_a_mention_or_a_quote() {
    let mut config = fast_config();
    config.x.reply_policy = XReplyPolicy::SummonedOnly;
    let sim = Sim::start_with(config).await;
    let dev = login(&sim).await.access;
    let alt = login_as(&sim, Some("herald_alt")).await.access;

    let own = tweet_id(&sim, &dev, json!({"text": "my own post"})).await;
    let refused = reply(&sim, &dev, &own).await;
    assert_eq!(refused.status(), 403);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(
        problem["detail"],
        "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to."
    );
    assert_eq!(problem["status"], 403);

    let plain = tweet_id(&sim, &alt, json!({"text": "nobody summoned"})).await;
    assert_eq!(reply(&sim, &dev, &plain).await.status(), 403);
    let near_miss = tweet_id(&sim, &alt, json!({"text": "hi @herald_devx"})).await;
    assert_eq!(reply(&sim, &dev, &near_miss).await.status(), 403);
    let mention = tweet_id(
        &sim,
        &alt,
        json!({"text": "what do you think, @Herald_Dev?"}),
    )
    .await;
    assert_eq!(reply(&sim, &dev, &mention).await.status(), 201);
    let quote = tweet_id(
        &sim,
        &alt,
        json!({"text": "look at this", "quote_tweet_id": own}),
    )
    .await;
    assert_eq!(reply(&sim, &dev, &quote).await.status(), 201);

    sim.patch_config(json!({"x": {"self_reply_is_summoned": true}}))
        .await;
    let allowed = reply(&sim, &dev, &own).await;
    assert_eq!(allowed.status(), 201);
    let posts = sim.posts("twitter").await;
    assert_eq!(posts.last().unwrap()["reply_to"], own.as_str());
}

#[tokio::test]
async fn open_replies_are_accepted_by_default() {
    let sim = Sim::start().await;
    let dev = login(&sim).await.access;
    let own = tweet_id(&sim, &dev, json!({"text": "my own post"})).await;
    assert_eq!(reply(&sim, &dev, &own).await.status(), 201);
}

#[tokio::test]
async fn the_pkce_method_is_read_in_any_letter_case() {
    let sim = Sim::start().await;
    for method in ["s256", "S256"] {
        let (verifier, challenge) = pkce();
        let redirect = sim
            .authorize(&format!(
                "/x/i/oauth2/authorize?response_type=code&client_id=herald-dev-twitter&redirect_uri={}&scope=tweet.read&state=s&code_challenge={challenge}&code_challenge_method={method}",
                enc(REDIRECT)
            ))
            .await;
        let exchanged = sim
            .http
            .post(sim.url("/x/2/oauth2/token"))
            .basic_auth("herald-dev-twitter", Some("herald-dev-twitter-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &redirect.code()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", "herald-dev-twitter"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            exchanged.status(),
            200,
            "{method}: the verifier is checked as S256"
        );
    }
}
