//! Images that lie about their size, and signed media URLs with a bounded lifetime.
//!
//! Uploads are decoded under `media.max_pixels` before anything is stored, and so are images
//! the worker fetches by URL; a signed URL whose expiry is further ahead than
//! `media.url_max_ttl_secs` serves nothing, however well signed.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

async fn upload(app: &TestApp, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    app.request(Method::POST, "/v1/media", &app.keys.producer)
        .multipart(form)
        .send()
        .await
        .expect("the API answers")
}

/// 35 bytes: a JPEG frame header claiming 65535 x 65535 pixels, and no image data.
fn lying_jpeg() -> Vec<u8> {
    let mut data = vec![0xFF, 0xD8];
    data.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03]);
    data.extend_from_slice(&[0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    data.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x0A]);
    data.extend_from_slice(b"\0\0\0\0\0\0\0\0");
    data.extend_from_slice(&[0xFF, 0xD9]);
    data
}

/// A PNG whose IHDR claims a width of 2^32 - 1.
fn lying_png() -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    data.extend_from_slice(&u32::MAX.to_be_bytes());
    data.extend_from_slice(&1u32.to_be_bytes());
    data.extend_from_slice(&[8, 0, 0, 0, 0, 0, 0, 0, 0]);
    data
}

/// A black 20000 x 20000 PNG: a few hundred KB that decode to 400 million pixels.
fn png_bomb() -> Vec<u8> {
    let (width, height) = (20_000u32, 20_000u32);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Balanced);
    let mut writer = encoder.write_header().expect("a PNG header");
    let mut stream = writer.stream_writer().expect("a PNG stream");
    let row = vec![0u8; width.div_ceil(8) as usize];
    for _ in 0..height {
        std::io::Write::write_all(&mut stream, &row).expect("a row");
    }
    stream.finish().expect("the PNG ends");
    drop(writer);
    out
}

/// Every file under the media store's directory.
fn stored_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

async fn media_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM media")
        .fetch_one(app.store.pool())
        .await
        .expect("Postgres answers")
}

#[tokio::test]
async fn images_that_lie_about_their_size_and_a_bomb_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let whole = herald_sim::png(800, 600);
    let truncated = whole[..whole.len() / 2].to_vec();
    let bomb = png_bomb();
    assert!(bomb.len() < 1_000_000, "{} bytes", bomb.len());

    for (name, bytes, rule) in [
        ("lie.jpg", lying_jpeg(), "image.too_many_pixels"),
        ("lie.png", lying_png(), "image.too_many_pixels"),
        ("bomb.png", bomb, "image.too_many_pixels"),
        ("cut.png", truncated, "image.corrupt"),
    ] {
        let (status, body) = problem(upload(&app, bytes, name).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {body:#}");
        assert_eq!(body["code"], "validation_failed", "{name}: {body:#}");
        let error = &body["errors"][0];
        assert_eq!(error["field"], "file", "{name}: {body:#}");
        assert_eq!(error["code"], rule, "{name}: {body:#}");
    }
    let lie: Value = problem(upload(&app, lying_jpeg(), "lie.jpg").await).await.1;
    assert!(
        lie["detail"].as_str().unwrap().contains("65535x65535"),
        "the message says what the header claimed: {lie:#}"
    );

    assert_eq!(media_rows(&app).await, 0, "no media recorded");
    assert!(
        stored_files(&app.config.media.dir).is_empty(),
        "no file written: {:?}",
        stored_files(&app.config.media.dir)
    );

    // The same upload path stores an honest image.
    let response = upload(&app, whole, "whole.png").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(
        (media["width"].as_u64(), media["height"].as_u64()),
        (Some(800), Some(600))
    );
    assert_eq!(media_rows(&app).await, 1);
    assert_eq!(stored_files(&app.config.media.dir).len(), 1);
}

#[tokio::test]
async fn a_lying_image_fetched_by_url_fails_its_delivery_as_media_invalid() {
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let hosted: Value = reqwest::Client::new()
        .post(app.sim.url("/_sim/media"))
        .header("content-type", "image/jpeg")
        .body(lying_jpeg())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = hosted["url"].as_str().unwrap();
    app.start_worker().await;

    let answer = app
        .post_ok(&json!({"targets": [telegram], "text": "a lie", "media": [{"url": url}]}))
        .await;
    let post = app
        .wait_for_post(answer["id"].as_str().unwrap(), "failed")
        .await;
    let delivery = &post["deliveries"][0];
    assert_eq!(delivery["error"]["class"], "permanent", "{post:#}");
    assert_eq!(delivery["error"]["code"], "media_invalid", "{post:#}");
    let message = delivery["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("65535x65535") && message.contains("image.too_many_pixels"),
        "{post:#}"
    );
    assert!(
        app.sim_posts().await.is_empty(),
        "nothing reached the platform"
    );
}

#[tokio::test]
async fn signed_media_urls_live_no_longer_than_their_maximum() {
    let app = TestApp::spawn_with(&[("HERALD_MEDIA__URL_MAX_TTL_SECS", "7200")]).await;
    let media: Value = upload(&app, herald_sim::jpeg(600, 600), "a.jpg")
        .await
        .json()
        .await
        .unwrap();
    let id = media["id"].as_str().unwrap().parse().unwrap();

    // A fresh URL works.
    let fresh = media["url"].as_str().unwrap();
    assert_eq!(reqwest::get(fresh).await.unwrap().status(), StatusCode::OK);

    // Correctly signed for ten years (as by a signer without the bound): refused.
    let ten_years = Duration::from_secs(10 * 365 * 24 * 3600);
    let far = app
        .store
        .media()
        .signed_url(id, &app.base, ten_years, ten_years)
        .await
        .unwrap()
        .unwrap();
    let (status, _) = problem(reqwest::get(&far.url).await.unwrap()).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a ten-year URL serves nothing"
    );
    // Beyond the bound by one hour, correctly signed: refused too.
    let beyond = app
        .store
        .media()
        .signed_url(id, &app.base, Duration::from_secs(3 * 3600), ten_years)
        .await
        .unwrap()
        .unwrap();
    let (status, _) = problem(reqwest::get(&beyond.url).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "three hours is beyond two");

    // The signer never mints beyond the bound: asked for ten years, it gives two hours.
    let capped = app
        .store
        .media()
        .signed_url(id, &app.base, ten_years, app.config.media.url_max_ttl)
        .await
        .unwrap()
        .unwrap();
    let latest = chrono::Utc::now() + chrono::TimeDelta::hours(2);
    assert!(capped.expires_at <= latest, "{}", capped.expires_at);
    assert_eq!(
        reqwest::get(&capped.url).await.unwrap().status(),
        StatusCode::OK
    );

    // An expired URL is refused.
    let expired = app
        .store
        .media()
        .signed_url(id, &app.base, Duration::ZERO, app.config.media.url_max_ttl)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = problem(reqwest::get(&expired.url).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
