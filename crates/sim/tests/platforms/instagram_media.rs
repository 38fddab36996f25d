//! Instagram Reels, carousels and comments: videos fetched from `video_url` and held to the
//! Reels spec (a failing one ends in ERROR with its subcode in `status`), single VIDEO
//! containers refused, carousel parents that need FINISHED children and 2 to 10 of them, the
//! 24-hour expiry, and comments listed with `reply_to`.

use herald_sim::SimConfig;
use serde_json::Value;

use crate::common::{Sim, fast_config, id};
use crate::facebook::{login_with, page};
use crate::instagram::{publish, settled, status};

const SCOPES: &str = "pages_show_list,pages_read_engagement,instagram_basic,instagram_content_publish,instagram_manage_comments";

fn config() -> SimConfig {
    let mut config = fast_config();
    config.instagram.reels.processing_ms = 300;
    config
}

/// A long-lived user token with every Instagram scope, and the linked Instagram account.
async fn connected(sim: &Sim) -> (String, String) {
    let token = login_with(sim, SCOPES).await;
    let (_, _, ig) = page(sim, &token).await;
    (token, ig)
}

async fn create(sim: &Sim, ig: &str, token: &str, params: &[(&str, &str)]) -> Value {
    sim.http
        .post(sim.url(&format!("/graph/v24.0/{ig}/media")))
        .query(&[("access_token", token)])
        .form(params)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reel_is_downloaded_processed_and_published_as_a_reel() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let url = sim.host_video("portrait-720x1280-4s.mp4").await;
    let reel = id(&create(
        &sim,
        &ig,
        &token,
        &[
            ("media_type", "REELS"),
            ("video_url", &url),
            ("caption", "A reel"),
            ("share_to_feed", "true"),
        ],
    )
    .await);
    assert_eq!(
        status(&sim, &reel, &token).await["status_code"],
        "IN_PROGRESS"
    );
    let early = publish(&sim, &ig, &token, &reel).await;
    assert_eq!(early["error"]["error_subcode"], 2_207_027);
    assert_eq!(
        settled(&sim, &reel, &token).await["status_code"],
        "FINISHED"
    );
    let media = id(&publish(&sim, &ig, &token, &reel).await);

    let read = sim
        .get_json(&format!(
            "/graph/v24.0/{media}?fields=media_type,media_product_type,permalink&access_token={token}"
        ))
        .await;
    assert_eq!(read["media_type"], "VIDEO");
    assert_eq!(read["media_product_type"], "REELS");
    assert!(read["permalink"].as_str().unwrap().contains("/reel/"));
    let posts = sim.posts("instagram").await;
    assert_eq!(posts[0]["media"][0], url.as_str());
    assert_eq!(posts[0]["media_types"], serde_json::json!(["video/mp4"]));
}

#[tokio::test]
async fn a_single_video_container_is_refused_as_the_api_does_since_2023() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let url = sim.host_video("portrait-720x1280-4s.mp4").await;
    let refused = create(
        &sim,
        &ig,
        &token,
        &[("media_type", "VIDEO"), ("video_url", &url)],
    )
    .await;
    assert_eq!(refused["error"]["code"], 100, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("REELS")
    );
    let untyped = create(&sim, &ig, &token, &[("video_url", &url)]).await;
    assert_eq!(untyped["error"]["code"], 100, "{untyped}");
    assert!(sim.posts("instagram").await.is_empty());
}

#[tokio::test]
async fn videos_outside_the_reels_spec_end_in_error_with_their_subcode() {
    let mut config = config();
    config.fetch.timeout_ms = 300;
    let sim = Sim::start_with(config).await;
    let (token, ig) = connected(&sim).await;
    let short = sim.host_video("short-640x360-1s.mp4").await;
    let webm = sim.host_video("clip-640x360-3s.webm").await;
    let slow = format!(
        "{}?delay_ms=1500",
        sim.host_video("portrait-720x1280-4s.mp4").await
    );
    for (url, subcode) in [
        (short.as_str(), "2207026"),
        (webm.as_str(), "2207026"),
        ("http://127.0.0.1:9/gone.mp4", "2207052"),
        (slow.as_str(), "2207003"),
    ] {
        let container = id(&create(
            &sim,
            &ig,
            &token,
            &[("media_type", "REELS"), ("video_url", url)],
        )
        .await);
        let status = settled(&sim, &container, &token).await;
        assert_eq!(status["status_code"], "ERROR", "{url}");
        assert!(
            status["status"].as_str().unwrap().contains(subcode),
            "{url}: {status}"
        );
        let refused = publish(&sim, &ig, &token, &container).await;
        assert!(
            refused["error"].is_object(),
            "an ERROR container is not published"
        );
    }
    assert!(sim.posts("instagram").await.is_empty());
}

#[tokio::test]
async fn a_container_unpublished_for_a_day_expires() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let url = sim.host_video("portrait-720x1280-4s.mp4").await;
    let reel = id(&create(
        &sim,
        &ig,
        &token,
        &[("media_type", "REELS"), ("video_url", &url)],
    )
    .await);
    sim.advance(86_401.0).await;
    assert_eq!(status(&sim, &reel, &token).await["status_code"], "EXPIRED");
    let refused = publish(&sim, &ig, &token, &reel).await;
    assert_eq!(refused["error"]["error_subcode"], 2_207_020);
}

#[tokio::test]
async fn a_carousel_mixes_images_and_a_video_once_every_child_is_finished() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let video = sim.host_video("landscape-1280x720-4s.mp4").await;
    let mut children = Vec::new();
    for (w, h) in [(1080, 1080), (1080, 1350)] {
        let image = sim.image_url(w, h);
        children.push(id(&create(
            &sim,
            &ig,
            &token,
            &[("image_url", &image), ("is_carousel_item", "true")],
        )
        .await));
    }
    children.push(id(&create(
        &sim,
        &ig,
        &token,
        &[
            ("media_type", "VIDEO"),
            ("video_url", &video),
            ("is_carousel_item", "true"),
        ],
    )
    .await));
    let list = children.join(",");
    let parent = [
        ("media_type", "CAROUSEL"),
        ("children", list.as_str()),
        ("caption", "Three of a kind"),
    ];
    let early = create(&sim, &ig, &token, &parent).await;
    assert_eq!(
        early["error"]["error_subcode"], 2_207_027,
        "a child still IN_PROGRESS: {early}"
    );
    for child in &children {
        assert_eq!(
            settled(&sim, child, &token).await["status_code"],
            "FINISHED"
        );
    }
    let carousel = id(&create(&sim, &ig, &token, &parent).await);
    assert_eq!(
        settled(&sim, &carousel, &token).await["status_code"],
        "FINISHED"
    );
    let media = id(&publish(&sim, &ig, &token, &carousel).await);

    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], media.as_str());
    assert_eq!(
        posts[0]["media_types"],
        serde_json::json!(["image/jpeg", "image/jpeg", "video/mp4"])
    );
    let limit = sim
        .get_json(&format!(
            "/graph/v24.0/{ig}/content_publishing_limit?fields=quota_usage&access_token={token}"
        ))
        .await;
    assert_eq!(limit["data"][0]["quota_usage"], 1, "a carousel is one post");
    let again = create(&sim, &ig, &token, &parent).await;
    assert_eq!(
        again["error"]["code"], 100,
        "published children are used up: {again}"
    );
}

#[tokio::test]
async fn a_carousel_takes_two_to_ten_children() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let image = sim.image_url(1080, 1080);
    let mut children = Vec::new();
    for _ in 0..11 {
        children.push(id(&create(
            &sim,
            &ig,
            &token,
            &[("image_url", &image), ("is_carousel_item", "true")],
        )
        .await));
    }
    for child in &children {
        settled(&sim, child, &token).await;
    }
    for count in [1, 11] {
        let list = children[..count].join(",");
        let refused = create(
            &sim,
            &ig,
            &token,
            &[("media_type", "CAROUSEL"), ("children", &list)],
        )
        .await;
        assert_eq!(refused["error"]["code"], 100, "{count} children: {refused}");
    }
    let list = children[..10].join(",");
    let ten = create(
        &sim,
        &ig,
        &token,
        &[("media_type", "CAROUSEL"), ("children", &list)],
    )
    .await;
    assert!(ten["id"].is_string(), "{ten}");
}

#[tokio::test]
async fn a_container_status_has_no_error_message_field() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let image = sim.image_url(1080, 1080);
    let container = id(&create(&sim, &ig, &token, &[("image_url", &image)]).await);
    let refused = sim
        .get_json(&format!(
            "/graph/v24.0/{container}?fields=status_code,error_message&access_token={token}"
        ))
        .await;
    assert_eq!(refused["error"]["code"], 100, "{refused}");
}

#[tokio::test]
async fn a_comment_on_the_published_media_is_listed_as_its_reply() {
    let sim = Sim::start_with(config()).await;
    let (token, ig) = connected(&sim).await;
    let image = sim.image_url(1080, 1080);
    let container = id(&create(&sim, &ig, &token, &[("image_url", &image)]).await);
    settled(&sim, &container, &token).await;
    let media = id(&publish(&sim, &ig, &token, &container).await);

    let comment: Value = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{media}/comments")))
        .form(&[("message", "First!"), ("access_token", &token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let comment = id(&comment);
    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["id"], comment.as_str());
    assert_eq!(posts[1]["text"], "First!");
    assert_eq!(posts[1]["reply_to"], media.as_str());
    let read = sim
        .get_json(&format!(
            "/graph/v24.0/{media}?fields=comments_count&access_token={token}"
        ))
        .await;
    assert_eq!(read["comments_count"], 1);

    let without = login_with(
        &sim,
        "pages_show_list,instagram_basic,instagram_content_publish",
    )
    .await;
    let refused = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{media}/comments")))
        .form(&[("message", "Again"), ("access_token", &without)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["code"], 10);
}
