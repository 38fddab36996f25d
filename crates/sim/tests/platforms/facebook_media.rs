//! Facebook Pages beyond one photo: the chunked video upload and its refusals, video
//! processing, several photos on one post, the Page's first comment, and the token endpoint
//! taking the app's credentials by HTTP Basic.

use base64::Engine;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::common::{Sim, answer, fast_config, video};
use crate::facebook::{APP, login, page};

/// Chunks small enough that a test video takes several transfers.
fn chunked_config() -> herald_sim::SimConfig {
    let mut config = fast_config();
    config.facebook.video_chunk_bytes = 32 * 1024;
    config.facebook.video_processing_ms = 150;
    config
}

async fn connected(sim: &Sim) -> (String, String) {
    let user_token = login(sim).await;
    let (page_id, page_token, _) = page(sim, &user_token).await;
    (page_id, page_token)
}

/// A form POST on a Graph path; the status and the JSON answer.
async fn post_form(sim: &Sim, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    answer(sim.http.post(sim.url(path)).form(form)).await
}

async fn start(sim: &Sim, host: &str, page_id: &str, token: &str, size: usize) -> (u16, Value) {
    post_form(
        sim,
        &format!("/{host}/v24.0/{page_id}/videos"),
        &[
            ("upload_phase", "start"),
            ("file_size", &size.to_string()),
            ("access_token", token),
        ],
    )
    .await
}

async fn transfer(
    sim: &Sim,
    page_id: &str,
    token: &str,
    session: &str,
    start_offset: u64,
    chunk: &[u8],
) -> (u16, Value) {
    let form = Form::new()
        .text("upload_phase", "transfer")
        .text("upload_session_id", session.to_owned())
        .text("start_offset", start_offset.to_string())
        .part(
            "video_file_chunk",
            Part::bytes(chunk.to_vec())
                .file_name("chunk")
                .mime_str("application/octet-stream")
                .unwrap(),
        );
    answer(
        sim.http
            .post(sim.url(&format!("/graph/v24.0/{page_id}/videos")))
            .query(&[("access_token", token)])
            .multipart(form),
    )
    .await
}

fn offsets(answer: &Value) -> (u64, u64) {
    let read = |key: &str| answer[key].as_str().unwrap().parse::<u64>().unwrap();
    (read("start_offset"), read("end_offset"))
}

/// Start, every transfer the simulator asks for, finish; returns the video id.
async fn upload(sim: &Sim, page_id: &str, token: &str, bytes: &[u8], description: &str) -> String {
    let (status, started) = start(sim, "graph-video", page_id, token, bytes.len()).await;
    assert_eq!(status, 200, "{started}");
    let session = started["upload_session_id"].as_str().unwrap().to_owned();
    let video_id = started["video_id"].as_str().unwrap().to_owned();
    let (mut from, mut to) = offsets(&started);
    let mut transfers = 0;
    while from < to {
        let (status, next) = transfer(
            sim,
            page_id,
            token,
            &session,
            from,
            &bytes[from as usize..to as usize],
        )
        .await;
        assert_eq!(status, 200, "{next}");
        (from, to) = offsets(&next);
        transfers += 1;
    }
    assert_eq!(from, bytes.len() as u64);
    assert_eq!(
        transfers,
        bytes.len().div_ceil(32 * 1024),
        "one transfer per 32 KiB"
    );
    let (status, finished) = post_form(
        sim,
        &format!("/graph/v24.0/{page_id}/videos"),
        &[
            ("upload_phase", "finish"),
            ("upload_session_id", &session),
            ("description", description),
            ("title", "A title"),
            ("access_token", token),
        ],
    )
    .await;
    assert_eq!(status, 200, "{finished}");
    assert_eq!(finished["success"], true);
    video_id
}

async fn video_status(sim: &Sim, id: &str, token: &str) -> String {
    let node = sim
        .get_json(&format!(
            "/graph/v24.0/{id}?fields=status&access_token={token}"
        ))
        .await;
    node["status"]["video_status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_page_video_uploads_in_chunks_then_processes_and_is_listed_as_video_mp4() {
    let sim = Sim::start_with(chunked_config()).await;
    let (page_id, token) = connected(&sim).await;
    let bytes = video("landscape-1280x720-4s.mp4");
    let id = upload(&sim, &page_id, &token, &bytes, "Our new video").await;

    assert_eq!(video_status(&sim, &id, &token).await, "processing");
    sim.advance(1.0).await;
    assert_eq!(video_status(&sim, &id, &token).await, "ready");

    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], id.as_str());
    assert_eq!(posts[0]["text"], "Our new video");
    assert_eq!(posts[0]["media_types"], serde_json::json!(["video/mp4"]));
    assert_eq!(
        posts[0]["url"],
        format!("https://www.facebook.com/{page_id}/videos/{id}").as_str()
    );

    let listed = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/videos?fields=id,description,created_time,permalink_url&access_token={token}"
        ))
        .await;
    assert_eq!(listed["data"][0]["id"], id.as_str());
    assert_eq!(listed["data"][0]["description"], "Our new video");
}

#[tokio::test]
async fn a_transfer_at_the_wrong_offset_is_refused_with_where_to_resume() {
    let sim = Sim::start_with(chunked_config()).await;
    let (page_id, token) = connected(&sim).await;
    let bytes = video("landscape-1280x720-4s.mp4");
    let (_, started) = start(&sim, "graph", &page_id, &token, bytes.len()).await;
    let session = started["upload_session_id"].as_str().unwrap();
    let (from, to) = offsets(&started);
    let chunk = &bytes[from as usize..to as usize];
    let (status, _) = transfer(&sim, &page_id, &token, session, from, chunk).await;
    assert_eq!(status, 200);

    // The same chunk again, as a client does whose answer was lost.
    let (status, refused) = transfer(&sim, &page_id, &token, session, from, chunk).await;
    assert_eq!(status, 400);
    assert_eq!(refused["error"]["code"], 6000);
    assert_eq!(refused["error"]["error_subcode"], 1_363_037);
    let data = &refused["error"]["error_data"];
    assert_eq!(offsets(data), (to, (2 * to).min(bytes.len() as u64)));
}

#[tokio::test]
async fn videos_too_large_or_too_small_are_refused_at_start() {
    let mut config = chunked_config();
    config.facebook.video_max_bytes = 50_000;
    let sim = Sim::start_with(config).await;
    let (page_id, token) = connected(&sim).await;

    let (status, large) = start(&sim, "graph", &page_id, &token, 94_091).await;
    assert_eq!(status, 400);
    assert_eq!(large["error"]["error_subcode"], 1_363_023);
    assert!(
        large["error"]["message"]
            .as_str()
            .unwrap()
            .contains("50000")
    );
    let (status, small) = start(&sim, "graph", &page_id, &token, 512).await;
    assert_eq!(status, 400);
    assert_eq!(small["error"]["error_subcode"], 1_363_022);
    assert!(sim.posts("facebook").await.is_empty());
}

#[tokio::test]
async fn an_upload_session_left_too_long_has_expired() {
    let sim = Sim::start_with(chunked_config()).await;
    let (page_id, token) = connected(&sim).await;
    let bytes = video("short-640x360-1s.mp4");
    let (_, started) = start(&sim, "graph", &page_id, &token, bytes.len()).await;
    let session = started["upload_session_id"].as_str().unwrap();
    let (from, to) = offsets(&started);
    sim.advance(3_601.0).await;
    let (status, expired) = transfer(
        &sim,
        &page_id,
        &token,
        session,
        from,
        &bytes[from as usize..to as usize],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(expired["error"]["error_subcode"], 1_363_030);
}

#[tokio::test]
async fn a_webm_sent_as_a_video_fails_processing_and_is_never_published() {
    let sim = Sim::start_with(chunked_config()).await;
    let (page_id, token) = connected(&sim).await;
    let bytes = video("clip-640x360-3s.webm");
    let id = upload(&sim, &page_id, &token, &bytes, "Unreadable").await;
    assert_eq!(video_status(&sim, &id, &token).await, "processing");
    sim.advance(1.0).await;
    assert_eq!(video_status(&sim, &id, &token).await, "error");
    assert!(sim.posts("facebook").await.is_empty());
    let listed = sim
        .get_json(&format!(
            "/graph/v24.0/{page_id}/videos?access_token={token}"
        ))
        .await;
    assert_eq!(listed["data"], serde_json::json!([]));
}

async fn unpublished_photo(sim: &Sim, page_id: &str, token: &str, png: bool) -> String {
    let (bytes, mime) = if png {
        (herald_sim::png(800, 600), "image/png")
    } else {
        (herald_sim::jpeg(800, 600), "image/jpeg")
    };
    let form = Form::new().text("published", "false").part(
        "source",
        Part::bytes(bytes)
            .file_name("photo")
            .mime_str(mime)
            .unwrap(),
    );
    let answer: Value = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/photos")))
        .query(&[("access_token", token)])
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"].as_str().expect("photo id").to_owned()
}

#[tokio::test]
async fn several_photos_make_one_post_up_to_the_configured_count() {
    let mut config = fast_config();
    config.facebook.max_attached_photos = 3;
    let sim = Sim::start_with(config).await;
    let (page_id, token) = connected(&sim).await;
    let mut photos = Vec::new();
    for png in [false, true, false, false] {
        photos.push(unpublished_photo(&sim, &page_id, &token, png).await);
    }
    let attach = |ids: &[String]| -> Vec<(String, String)> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                (
                    format!("attached_media[{i}]"),
                    format!("{{\"media_fbid\":\"{id}\"}}"),
                )
            })
            .collect()
    };
    let mut too_many = attach(&photos);
    too_many.push(("message".into(), "Four".into()));
    too_many.push(("access_token".into(), token.clone()));
    let refused: Value = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
        .form(&too_many)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], 100);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 3")
    );

    let mut three = attach(&photos[..3]);
    three.push(("message".into(), "Three photos".into()));
    three.push(("access_token".into(), token.clone()));
    let posted = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/feed")))
        .form(&three)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media"].as_array().unwrap().len(), 3);
    assert_eq!(
        posts[0]["media_types"],
        serde_json::json!(["image/jpeg", "image/png", "image/jpeg"])
    );
}

#[tokio::test]
async fn the_page_comments_on_its_own_post_with_its_page_token() {
    let sim = Sim::start().await;
    let user_token = login(&sim).await;
    let (page_id, token, _) = page(&sim, &user_token).await;
    let (_, post) = post_form(
        &sim,
        &format!("/graph/v24.0/{page_id}/feed"),
        &[("message", "The post"), ("access_token", &token)],
    )
    .await;
    let post_id = post["id"].as_str().unwrap().to_owned();
    let comments = format!("/graph/v24.0/{post_id}/comments");

    let (status, refused) = post_form(
        &sim,
        &comments,
        &[("message", "As the user"), ("access_token", &user_token)],
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(refused["error"]["code"], 200);

    let (status, comment) = post_form(
        &sim,
        &comments,
        &[("message", "First!"), ("access_token", &token)],
    )
    .await;
    assert_eq!(status, 200, "{comment}");
    let comment_id = comment["id"].as_str().unwrap();
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["id"], comment_id);
    assert_eq!(posts[1]["text"], "First!");
    assert_eq!(posts[1]["reply_to"], post_id.as_str());

    sim.patch_config(serde_json::json!({"facebook": {"comment_requires_engagement_scope": true}}))
        .await;
    let (status, refused) = post_form(
        &sim,
        &comments,
        &[("message", "Again"), ("access_token", &token)],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pages_manage_engagement")
    );
}

#[tokio::test]
async fn the_token_endpoint_takes_the_app_credentials_by_basic_and_refuses_wrong_ones() {
    let sim = Sim::start().await;
    let long = login(&sim).await;
    let exchange = |id: &str, secret: &str| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        sim.http
            .get(sim.url("/graph/v24.0/oauth/access_token"))
            .query(&[
                ("grant_type", "fb_exchange_token"),
                ("fb_exchange_token", long.as_str()),
            ])
            .header("authorization", format!("Basic {basic}"))
            .send()
    };
    let good = exchange(APP.0, APP.1).await.unwrap();
    assert_eq!(good.status(), 200);
    let good: Value = good.json().await.unwrap();
    let fresh = good["access_token"].as_str().unwrap();
    let me = sim
        .get_json(&format!("/graph/v24.0/me?access_token={fresh}"))
        .await;
    assert_eq!(me["name"], "Herald Dev");

    let wrong_secret: Value = exchange(APP.0, "not-the-secret")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong_secret["error"]["code"], 1);
    let wrong_app: Value = exchange("not-an-app", APP.1)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wrong_app["error"]["code"], 101);
}
