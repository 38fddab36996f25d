//! Facebook Pages beyond one photo, Herald's client against `herald-sim`: a video by the
//! chunked upload (and an upload resumed after a lost answer, a lost finish found by lookup,
//! a video Facebook cannot process), several photos on one post, the refusal to mix them,
//! the first comment, and a token exchange with the app's credentials sent by HTTP Basic.

// Helpers outside `#[test]` functions unwrap too: a test that cannot talk to the simulator
// should fail on the spot, with the panic pointing at the call.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{TimeDelta, Utc};
use common::secret;
use common::sim::{Sim, fixture, media_post, settings, video};
use herald_domain::{ErrorClass, Platform, PostContent, VideoInfo};
use herald_platforms::steps::MediaBody;
use herald_platforms::{
    Account, HttpSettings, Lookup, MediaInput, PriorResults, PublishOptions, StepContext, StepKey,
};
use herald_sim::SimConfig;
use serde_json::{Value, json};

const APP: (&str, &str) = ("herald-dev-facebook", "herald-dev-facebook-secret");

/// A simulator whose video windows are 32 KiB (so a test video takes several transfers) and
/// whose processing takes 150 ms, and a client that polls every 50 ms.
async fn start() -> Sim {
    let mut config = SimConfig::default();
    config.facebook.video_chunk_bytes = 32 * 1024;
    config.facebook.video_processing_ms = 150;
    let settings = HttpSettings {
        container_wait: Duration::from_secs(5),
        ..settings()
    };
    Sim::start(config, &[], &settings).await
}

/// What a step runs with, with the default options, for the tests that run steps one by one.
fn ctx<'a>(
    account: &'a Account,
    content: &'a PostContent,
    media: &'a [MediaInput],
    prior: &'a PriorResults,
) -> StepContext<'a> {
    StepContext {
        account,
        content,
        media,
        prior,
        options: PublishOptions::default(),
    }
}

/// Requests the simulator counted on Facebook endpoints containing `part`.
async fn requests_to(sim: &Sim, part: &str) -> u64 {
    sim.count("facebook", |e| e.contains(part)).await
}

/// The authorize URL opened like a browser: the code and the redirect URI it came with.
async fn code(sim: &Sim) -> (String, String) {
    let (auth, code) = sim.authorize(Platform::Facebook, None).await;
    let redirect_uri = url::Url::parse(&auth.url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned())
        .expect("redirect_uri");
    (code, redirect_uri)
}

#[tokio::test]
async fn a_page_video_goes_up_in_chunks_is_listed_as_video_mp4_and_takes_a_first_comment() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let mut post = media_post("Our launch video", 1);
    post.first_comment = Some("Tickets in the link".into());
    let outcomes = sim
        .publish(&account, &post, &[video("landscape-1280x720-4s.mp4")])
        .await
        .expect("the video is published");

    let published = common::published(&outcomes);
    let page = account.page_id.clone().unwrap();
    assert_eq!(
        published.url.as_deref(),
        Some(
            format!(
                "https://www.facebook.com/{page}/videos/{}",
                published.remote_id
            )
            .as_str()
        )
    );
    // start, three 32 KiB windows of the 94,091-byte file, finish.
    assert_eq!(requests_to(&sim, "/videos").await, 5);

    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(posts[0]["id"], published.remote_id.as_str());
    assert_eq!(posts[0]["text"], "Our launch video");
    assert_eq!(posts[0]["media_types"], json!(["video/mp4"]));
    let comment = &outcomes.iter().find(|(k, _)| k == "comment").unwrap().1;
    assert_eq!(posts[1]["id"], comment.remote_id.as_str());
    assert_eq!(posts[1]["text"], "Tickets in the link");
    assert_eq!(posts[1]["reply_to"], published.remote_id.as_str());
}

#[tokio::test]
async fn a_transfer_whose_answer_is_lost_resumes_from_the_offsets_facebook_names() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    // start and the first transfer answer; the second is taken, then its answer is lost.
    sim.fault(json!({"platform": "facebook", "endpoint": "POST /{id}/videos", "script": ["ok", "ok", "drop"]}))
        .await;
    let outcomes = sim
        .publish(
            &account,
            &media_post("Resumed", 1),
            &[video("landscape-1280x720-4s.mp4")],
        )
        .await
        .expect("the upload resumes and the video is published");

    // The lost window sent again (refused with 1363037 and where to resume), then the last.
    assert_eq!(requests_to(&sim, "/videos").await, 6);
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["id"],
        common::published(&outcomes).remote_id.as_str()
    );
    // Listed only because the simulator could read the reassembled bytes as an MP4.
    assert_eq!(posts[0]["media_types"], json!(["video/mp4"]));
}

#[tokio::test]
async fn a_video_finish_whose_answer_is_lost_is_found_by_the_lookup() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let post = media_post("Did it go out?", 1);
    let media = [video("short-640x360-1s.mp4")];
    let steps = sim.platforms.plan(&account, &post).unwrap();
    let mut prior = PriorResults::new();
    let since = Utc::now() - TimeDelta::seconds(1);
    let uploaded = sim
        .platforms
        .execute(&steps[0], &ctx(&account, &post, &media, &prior))
        .await
        .unwrap();
    prior.insert(StepKey::media(0), uploaded.remote_id);
    sim.fault(json!({"platform": "facebook", "endpoint": "POST /{id}/videos", "script": ["drop"]}))
        .await;
    let lost = sim
        .platforms
        .execute(&steps[1], &ctx(&account, &post, &media, &prior))
        .await
        .expect_err("the answer is lost");
    assert_eq!(lost.class, ErrorClass::UnknownOutcome);

    let video_id = sim.posts("facebook").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    match sim
        .platforms
        .lookup(&account, "Did it go out?", since)
        .await
        .unwrap()
    {
        Lookup::Found { remote_id, url } => {
            assert_eq!(remote_id, video_id);
            assert!(url.unwrap().ends_with(&format!("/videos/{video_id}")));
        }
        other => panic!("the lost video is found, not {other:?}"),
    }
}

#[tokio::test]
async fn a_video_facebook_cannot_process_fails_the_delivery_and_never_shows() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    // WebM bytes handed over as an MP4 (the facts of another file).
    let webm = fixture("clip-640x360-3s.webm");
    let len = std::fs::metadata(&webm).unwrap().len();
    let info =
        VideoInfo::read(std::fs::File::open(fixture("short-640x360-1s.mp4")).unwrap()).unwrap();
    let media = MediaInput::video(MediaBody::File(Arc::new(webm)), len, info);
    let failure = sim
        .publish(&account, &media_post("Unreadable", 1), &[media])
        .await
        .expect_err("processing fails");
    assert_eq!(failure.class, ErrorClass::Permanent);
    assert!(
        failure.message.starts_with("video.processing_failed"),
        "{failure}"
    );
    assert!(sim.posts("facebook").await.is_empty());
}

#[tokio::test]
async fn three_photos_make_one_post_with_their_types() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let media = [
        sim.image("1200x900").await,
        sim.image("1200x900").await,
        sim.image("1200x900").await,
    ];
    let outcomes = sim
        .publish(&account, &media_post("Three photos", 3), &media)
        .await
        .expect("published");
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0]["id"],
        common::published(&outcomes).remote_id.as_str()
    );
    let photo_ids: Vec<&str> = outcomes
        .iter()
        .filter(|(k, _)| k.starts_with("media:"))
        .map(|(_, o)| o.remote_id.as_str())
        .collect();
    assert_eq!(posts[0]["media"], json!(photo_ids));
    assert_eq!(
        posts[0]["media_types"],
        json!(["image/jpeg", "image/jpeg", "image/jpeg"])
    );
}

#[tokio::test]
async fn a_video_with_photos_or_eleven_photos_are_refused_before_any_upload() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let mixed = sim
        .publish(
            &account,
            &media_post("Mixed", 2),
            &[video("short-640x360-1s.mp4"), sim.image("1200x900").await],
        )
        .await
        .expect_err("a video and a photo do not mix");
    assert_eq!(mixed.class, ErrorClass::Permanent);
    assert!(mixed.message.starts_with("media.mixed"), "{mixed}");

    let eleven = sim
        .platforms
        .plan(&account, &media_post("Eleven", 11))
        .expect_err("Herald posts at most 10 photos");
    assert!(eleven.message.starts_with("media.too_many"), "{eleven}");
    assert!(eleven.message.contains("10") && eleven.message.contains("11"));

    assert_eq!(requests_to(&sim, "/videos").await, 0);
    assert_eq!(requests_to(&sim, "/photos").await, 0);
    assert!(sim.posts("facebook").await.is_empty());
}

#[tokio::test]
async fn a_first_comment_goes_under_a_text_post() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let mut post = media_post("Hello Page", 0);
    post.first_comment = Some("More in the comments".into());
    let outcomes = sim
        .publish(&account, &post, &[])
        .await
        .expect("published with its comment");
    let keys: Vec<&str> = outcomes.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["publish", "comment"]);
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["reply_to"], posts[0]["id"]);
    assert_eq!(posts[1]["text"], "More in the comments");
}

#[tokio::test]
async fn a_code_exchanged_with_basic_credentials_gives_a_token_herald_can_use() {
    let sim = start().await;
    let (code, redirect_uri) = code(&sim).await;
    let exchange = |secret: &str| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", APP.0));
        sim.http
            .get(sim.server.url("/graph/v24.0/oauth/access_token"))
            .query(&[
                ("redirect_uri", redirect_uri.as_str()),
                ("code", code.as_str()),
            ])
            .header("authorization", format!("Basic {basic}"))
            .send()
    };
    let refused: Value = exchange("not-the-secret")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["error"]["code"], 1, "{refused}");

    // The refusal did not spend the code.
    let answer = exchange(APP.1).await.unwrap();
    assert_eq!(answer.status(), 200);
    let tokens: Value = answer.json().await.unwrap();
    let token = secret(tokens["access_token"].as_str().unwrap());
    let account = sim.account_with(Platform::Facebook, token, None).await;
    assert_eq!(account.page_id.as_deref(), Some("200000000000001"));
}

#[tokio::test]
async fn a_finish_retried_after_its_upload_session_expired_uploads_the_video_again() {
    let sim = start().await;
    let account = sim.account(Platform::Facebook, None).await;
    let post = media_post("Finished late", 1);
    let media = [video("short-640x360-1s.mp4")];
    let steps = sim.platforms.plan(&account, &post).unwrap();
    let mut prior = PriorResults::new();
    let uploaded = sim
        .platforms
        .execute(&steps[0], &ctx(&account, &post, &media, &prior))
        .await
        .unwrap();
    let first_video = uploaded.remote_id.split_once(':').unwrap().0.to_owned();
    prior.insert(StepKey::media(0), uploaded.remote_id);
    // The next attempt comes after the session's hour is over.
    sim.advance(3_601).await;
    let published = sim
        .platforms
        .execute(&steps[1], &ctx(&account, &post, &media, &prior))
        .await
        .expect("published from a new upload");
    assert_ne!(published.remote_id, first_video);
    let posts = sim.posts("facebook").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published.remote_id.as_str());
}
