//! Threads videos and carousels: a VIDEO container fetched from `video_url` and processed,
//! the documented `error_message` of one that fails, mixed carousels of 2 to 20 items with
//! their media types, and replies that need `threads_manage_replies`.

use herald_sim::SimConfig;
use serde_json::json;

use crate::common::{Sim, fast_config, id};
use crate::threads::{create, publish, settled, short_login};

fn config() -> SimConfig {
    let mut config = fast_config();
    config.threads.video.processing_ms = 300;
    config
}

#[tokio::test]
async fn a_video_is_downloaded_processed_and_published() {
    let sim = Sim::start_with(config()).await;
    let (token, user) = short_login(&sim, "threads_basic,threads_content_publish").await;
    let url = sim.host_video("clip-640x360-3s.mov").await;
    let video = id(&create(
        &sim,
        &token,
        &[
            ("media_type", "VIDEO"),
            ("video_url", &url),
            ("text", "A clip"),
        ],
    )
    .await);
    assert_eq!(settled(&sim, &token, &video).await["status"], "FINISHED");
    let post = id(&publish(&sim, &token, &user, &video).await);
    let read = sim
        .get_json(&format!(
            "/threads/v1.0/{post}?fields=media_type,text&access_token={token}"
        ))
        .await;
    assert_eq!(read["media_type"], "VIDEO");
    let posts = sim.posts("threads").await;
    assert_eq!(posts[0]["media_types"], json!(["video/quicktime"]));
}

#[tokio::test]
async fn a_video_threads_cannot_take_ends_in_error_with_the_documented_message() {
    let sim = Sim::start_with(config()).await;
    let (token, user) = short_login(&sim, "threads_basic,threads_content_publish").await;
    let long = sim.host_video("long-320x240-320s.mp4").await;
    let webm = sim.host_video("clip-640x360-3s.webm").await;
    for (url, message) in [
        (long.as_str(), "INVALID_DURATION"),
        (webm.as_str(), "FAILED_PROCESSING_VIDEO"),
        ("http://127.0.0.1:9/gone.mp4", "FAILED_DOWNLOADING_VIDEO"),
    ] {
        let video = id(&create(&sim, &token, &[("media_type", "VIDEO"), ("video_url", url)]).await);
        let status = settled(&sim, &token, &video).await;
        assert_eq!(status["status"], "ERROR", "{url}");
        assert_eq!(status["error_message"], message, "{url}");
        assert!(publish(&sim, &token, &user, &video).await["error"].is_object());
    }
    assert!(sim.posts("threads").await.is_empty());
}

#[tokio::test]
async fn a_carousel_mixes_an_image_and_a_video() {
    let sim = Sim::start_with(config()).await;
    let (token, user) = short_login(&sim, "threads_basic,threads_content_publish").await;
    let video = sim.host_video("portrait-720x1280-4s.mp4").await;
    let image = sim.image_url(1080, 1350);
    let items = [
        id(&create(
            &sim,
            &token,
            &[
                ("media_type", "IMAGE"),
                ("image_url", &image),
                ("is_carousel_item", "true"),
            ],
        )
        .await),
        id(&create(
            &sim,
            &token,
            &[
                ("media_type", "VIDEO"),
                ("video_url", &video),
                ("is_carousel_item", "true"),
            ],
        )
        .await),
    ];
    let lone = create(
        &sim,
        &token,
        &[("media_type", "CAROUSEL"), ("children", &items[0])],
    )
    .await;
    assert_eq!(lone["error"]["code"], 100, "one child is not a carousel");
    let list = items.join(",");
    let carousel = id(&create(
        &sim,
        &token,
        &[
            ("media_type", "CAROUSEL"),
            ("children", &list),
            ("text", "Two"),
        ],
    )
    .await);
    assert_eq!(settled(&sim, &token, &carousel).await["status"], "FINISHED");
    id(&publish(&sim, &token, &user, &carousel).await);
    let posts = sim.posts("threads").await;
    assert_eq!(posts[0]["media_types"], json!(["image/jpeg", "video/mp4"]));
    assert_eq!(posts[0]["media"][1], video.as_str());
    let again = create(
        &sim,
        &token,
        &[("media_type", "CAROUSEL"), ("children", &list)],
    )
    .await;
    assert_eq!(
        again["error"]["code"], 100,
        "published children are used up"
    );
}

#[tokio::test]
async fn a_reply_needs_threads_manage_replies() {
    let sim = Sim::start_with(config()).await;
    let (token, user) = short_login(
        &sim,
        "threads_basic,threads_content_publish,threads_manage_replies",
    )
    .await;
    let root = id(&create(&sim, &token, &[("media_type", "TEXT"), ("text", "Root")]).await);
    settled(&sim, &token, &root).await;
    let root = id(&publish(&sim, &token, &user, &root).await);
    let reply = [
        ("media_type", "TEXT"),
        ("text", "First comment"),
        ("reply_to_id", root.as_str()),
    ];
    let container = id(&create(&sim, &token, &reply).await);
    settled(&sim, &token, &container).await;
    let answer = id(&publish(&sim, &token, &user, &container).await);
    let posts = sim.posts("threads").await;
    assert_eq!(posts[1]["id"], answer.as_str());
    assert_eq!(posts[1]["reply_to"], root.as_str());

    let (without, _) = short_login(&sim, "threads_basic,threads_content_publish").await;
    let refused = create(&sim, &without, &reply).await;
    assert_eq!(refused["error"]["code"], 10, "{refused}");
}
