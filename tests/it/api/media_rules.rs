//! POST /v1/posts against each platform's media rules: stored videos checked from the facts
//! recorded with them, stored images accepted when a prepared copy fixes them, and the
//! media list's counts and mixing.

use herald_domain::{MediaId, Platform, VideoInfo};
use herald_store::{NewMedia, VideoFacts};
use reqwest::StatusCode;
use serde_json::{Value, json};

use support::app::{TestApp, problem};

/// A stored media row with these facts (the checks at enqueue read the row, not the bytes).
async fn stored(
    app: &TestApp,
    content_type: &str,
    width: i32,
    height: i32,
    video: Option<&VideoInfo>,
) -> String {
    let id = MediaId::new();
    app.store
        .media()
        .insert(&NewMedia {
            id,
            tenant_id: app.keys.tenant,
            content_type: content_type.to_owned(),
            bytes: video.map_or(200_000, |v| v.bytes as i64),
            width,
            height,
            sha256: [1; 32],
            storage_key: format!("{}/{id}.bin", app.keys.tenant),
            filename: None,
            video: video.map(|v| VideoFacts {
                duration_ms: v.duration_ms as i64,
                frame_rate: v.frame_rate,
                video_codec: v.video_codec.clone(),
                audio_codec: v.audio_codec.clone(),
                moov_first: v.moov_first,
            }),
            derived: None,
            expires_at: None,
        })
        .await
        .unwrap();
    id.to_string()
}

/// A test video from `tests/fixtures/video`, stored with the facts read from it.
async fn stored_video(app: &TestApp, name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/video")
        .join(name);
    let info = VideoInfo::read(std::fs::File::open(path).unwrap()).unwrap();
    let (w, h) = (info.width as i32, info.height as i32);
    stored(app, info.container.mime_type(), w, h, Some(&info)).await
}

async fn refused(app: &TestApp, body: &Value) -> Vec<Value> {
    let (status, problem) = problem(app.create_post(body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem:#}");
    problem["errors"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_stored_video_too_long_for_x_names_the_item_the_rule_and_the_limit() {
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let telegram = app.connect_telegram().await;
    let long = stored_video(&app, "long-320x240-320s.mp4").await;
    let errors = refused(
        &app,
        &json!({"targets": [x, telegram], "text": "a long one", "media": [{"media_id": long}]}),
    )
    .await;
    assert_eq!(
        errors.len(),
        1,
        "Telegram has no duration limit: {errors:#?}"
    );
    let error = &errors[0];
    assert_eq!(error["target"], 0);
    assert_eq!(error["platform"], "twitter");
    assert_eq!(error["field"], "media[0]");
    assert_eq!(error["code"], "video.too_long");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("140 s") && message.contains("320"),
        "{message}"
    );
    assert_eq!(app.queued_jobs().await, 0);
}

#[tokio::test]
async fn a_png_for_instagram_is_accepted_for_the_worker_to_convert() {
    let app = TestApp::spawn().await;
    let instagram = app
        .insert_connection(app.keys.tenant, Platform::Instagram)
        .await
        .to_string();
    let png = stored(&app, "image/png", 1080, 1080, None).await;
    app.post_ok(&json!({"targets": [instagram], "text": "png", "media": [{"media_id": png}]}))
        .await;
}

#[tokio::test]
async fn a_4_to_1_image_for_instagram_is_refused_unless_the_post_asks_for_padding() {
    let app = TestApp::spawn().await;
    let instagram = app
        .insert_connection(app.keys.tenant, Platform::Instagram)
        .await
        .to_string();
    let banner = stored(&app, "image/jpeg", 2400, 600, None).await;
    let body = json!({"targets": [instagram], "text": "wide", "media": [{"media_id": banner}]});
    let errors = refused(&app, &body).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["field"], "media[0]");
    assert_eq!(errors[0]["code"], "image.aspect_ratio");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"fit\": \"pad\""),
        "says how to opt in: {message}"
    );

    let mut padded = body.clone();
    padded["fit"] = json!("pad");
    app.post_ok(&padded).await;
}

#[tokio::test]
async fn a_video_with_an_image_is_refused_for_x_and_taken_by_an_instagram_carousel() {
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let instagram = app
        .insert_connection(app.keys.tenant, Platform::Instagram)
        .await
        .to_string();
    let video = stored_video(&app, "portrait-720x1280-4s.mp4").await;
    let first = stored(&app, "image/jpeg", 1080, 1350, None).await;
    let last = stored(&app, "image/png", 1080, 1080, None).await;
    let media = json!([{"media_id": first}, {"media_id": video}, {"media_id": last}]);

    let errors = refused(
        &app,
        &json!({"targets": [x, instagram.clone()], "text": "mixed", "media": media}),
    )
    .await;
    assert_eq!(errors.len(), 1, "only X refuses: {errors:#?}");
    assert_eq!(errors[0]["target"], 0);
    assert_eq!(errors[0]["field"], "media");
    assert_eq!(errors[0]["code"], "media.mixed");

    let post = app
        .post_ok(&json!({"targets": [instagram], "text": "a carousel", "media": media}))
        .await;
    assert_eq!(
        post["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{post:#}"
    );
}

#[tokio::test]
async fn a_first_comment_is_checked_against_each_target_s_limit() {
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let telegram = app.connect_telegram().await;
    let errors = refused(
        &app,
        &json!({"targets": [x, telegram], "text": "hi", "first_comment": "a".repeat(300)}),
    )
    .await;
    assert_eq!(errors.len(), 1, "Telegram takes 4,096: {errors:#?}");
    assert_eq!(errors[0]["target"], 0);
    assert_eq!(errors[0]["field"], "first_comment");
    assert_eq!(errors[0]["code"], "first_comment.too_long");
}

#[tokio::test]
async fn a_png_sent_to_instagram_is_published_from_a_jpeg_copy_made_once() {
    use super::oauth::{RETURN_TO, connect, select_page, spawn};
    let mut app = spawn().await;
    app.start_worker().await;
    let instagram = connect(&app, "instagram", json!({"return_to": RETURN_TO})).await;
    select_page(&app, &instagram).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(herald_sim::png(1080, 1080)).file_name("square.png"),
    );
    let uploaded: Value = app
        .request(reqwest::Method::POST, "/v1/media", &app.keys.producer)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(uploaded["content_type"], "image/png", "{uploaded:#}");
    let source: MediaId = uploaded["id"].as_str().unwrap().parse().unwrap();

    let post = app
        .post_ok(&json!({"targets": [instagram], "text": "a png", "media": [{"media_id": source.to_string()}]}))
        .await;
    let done = app
        .wait_for_post(post["id"].as_str().unwrap(), "published")
        .await;
    assert_eq!(done["deliveries"][0]["state"], "published", "{done:#}");

    let copy = app
        .store
        .media()
        .derived(source, Platform::Instagram, "jpeg")
        .await
        .unwrap()
        .expect("a JPEG copy recorded for Instagram");
    assert_eq!(copy.content_type, "image/jpeg");
    assert_eq!((copy.width, copy.height), (1080, 1080));
    assert!(copy.expires_at.is_some(), "a prepared copy expires");
    let posted = app.sim_posts().await;
    let published = posted
        .iter()
        .find(|p| p["platform"] == "instagram")
        .expect("the post reached the simulator");
    assert_eq!(
        published["media_types"],
        json!(["image/jpeg"]),
        "Instagram fetched a JPEG: {published}"
    );

    // A second post reuses the copy instead of making another.
    let again = app
        .post_ok(&json!({"targets": [instagram], "text": "the png again", "media": [{"media_id": source.to_string()}]}))
        .await;
    app.wait_for_post(again["id"].as_str().unwrap(), "published")
        .await;
    let reused = app
        .store
        .media()
        .derived(source, Platform::Instagram, "jpeg")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reused.id, copy.id);
}

#[tokio::test]
async fn a_video_by_url_is_fetched_and_checked_before_any_platform_call() {
    let mut app = TestApp::spawn().await;
    app.start_worker().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    // The long fixture, served by Herald's own signed URL: a URL like any other to the worker.
    let long = stored_video(&app, "long-320x240-320s.mp4").await;
    let id: MediaId = long.parse().unwrap();
    let file = app
        .store
        .media()
        .get(app.keys.tenant, id)
        .await
        .unwrap()
        .unwrap();
    let path = app.config.media.dir.join(&file.storage_key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/video/long-320x240-320s.mp4"),
        &path,
    )
    .unwrap();
    let url = app
        .store
        .media()
        .signed_url(
            id,
            &app.base,
            std::time::Duration::from_secs(600),
            app.config.media.url_max_ttl,
        )
        .await
        .unwrap()
        .unwrap()
        .url;

    let post = app
        .post_ok(&json!({"targets": [x], "text": "too long for X", "media": [{"url": url}]}))
        .await;
    let done = app
        .wait_for_post(post["id"].as_str().unwrap(), "failed")
        .await;
    let error = &done["deliveries"][0]["error"];
    assert_eq!(error["class"], "permanent", "{done:#}");
    assert_eq!(error["code"], "media_invalid", "{done:#}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("video.too_long") && message.contains("140 s"),
        "{message}"
    );
    assert!(
        app.sim_posts()
            .await
            .iter()
            .all(|p| p["platform"] != "twitter"),
        "nothing reached X"
    );
}
