//! POST /v1/media, GET /v1/media/{id}, and the signed URLs under /media/{id}.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

async fn upload(app: &TestApp, key: &str, bytes: Vec<u8>, name: &str) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("note", "ignored")
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
    app.request(Method::POST, "/v1/media", key)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_uploaded_image_is_recognised_by_its_bytes_and_served_under_a_signed_url() {
    let app = TestApp::spawn().await;
    let png = herald_sim::png(800, 600);
    let response = upload(&app, &app.keys.producer, png.clone(), "holiday.jpg").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(
        media["content_type"], "image/png",
        "the bytes say PNG, whatever the name"
    );
    assert_eq!(media["width"], 800);
    assert_eq!(media["height"], 600);
    assert_eq!(media["bytes"], png.len());
    let url = media["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/media/", app.base)), "{url}");

    let served = reqwest::get(url).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

    let again: Value = app
        .get(
            &format!("/v1/media/{}", media["id"].as_str().unwrap()),
            &app.keys.read,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["id"], media["id"]);
    let other = app.other_tenant().await;
    let (status, _) = problem(
        app.get(
            &format!("/v1/media/{}", media["id"].as_str().unwrap()),
            &other.read,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tampered_and_expired_media_urls_serve_nothing() {
    let app = TestApp::spawn().await;
    let media: Value = upload(
        &app,
        &app.keys.producer,
        herald_sim::jpeg(600, 600),
        "a.jpg",
    )
    .await
    .json()
    .await
    .unwrap();
    let url = media["url"].as_str().unwrap().to_owned();
    let sig = url.split("sig=").nth(1).unwrap();
    let flipped = if sig.starts_with('0') { "1" } else { "0" };
    let tampered = url.replace(
        &format!("sig={sig}"),
        &format!("sig={flipped}{}", &sig[1..]),
    );
    assert_eq!(
        reqwest::get(tampered).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let expires: i64 = url
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let extended = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 3600),
    );
    assert_eq!(
        reqwest::get(extended).await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "a URL cannot be extended"
    );
    let unsigned = url.split('?').next().unwrap().to_owned();
    assert_eq!(
        reqwest::get(unsigned).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    let past = app
        .store
        .media()
        .signed_url(
            media["id"].as_str().unwrap().parse().unwrap(),
            &app.base,
            std::time::Duration::ZERO,
            std::time::Duration::from_secs(3600),
        )
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        reqwest::get(past.url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn uploads_that_are_not_images_or_too_large_or_unscoped_are_refused() {
    let app = TestApp::spawn_with(&[("HERALD_MEDIA__MAX_BYTES", "20000")]).await;
    let truncated = b"\x89PNG\r\n\x1a\n".to_vec();
    let (status, body) = problem(upload(&app, &app.keys.producer, truncated, "x.png").await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        body["detail"].as_str().unwrap().contains("malformed PNG"),
        "{body:#}"
    );
    let (status, _) =
        problem(upload(&app, &app.keys.producer, b"hello".to_vec(), "x.txt").await).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = problem(
        upload(
            &app,
            &app.keys.producer,
            herald_sim::jpeg_of_size(100, 100, 50_000),
            "big.jpg",
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) =
        problem(upload(&app, &app.keys.read, herald_sim::jpeg(10, 10), "a.jpg").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .json(&json!({"file": "base64?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(response).await.0,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn an_uploaded_image_is_checked_against_each_targets_image_rules() {
    let app = TestApp::spawn().await;
    let instagram = app
        .insert_connection(app.keys.tenant, herald_domain::Platform::Instagram)
        .await
        .to_string();
    let telegram = app.connect_telegram().await;
    let small: Value = upload(
        &app,
        &app.keys.producer,
        herald_sim::jpeg(300, 300),
        "s.jpg",
    )
    .await
    .json()
    .await
    .unwrap();
    let (status, body) = problem(
        app.create_post(&json!({
            "targets": [telegram, instagram],
            "text": "pic",
            "media": [{"media_id": small["id"]}],
        }))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "Telegram takes it, Instagram does not: {body:#}"
    );
    assert_eq!(errors[0]["target"], 1);
    assert_eq!(errors[0]["field"], "media[0]");
    assert_eq!(errors[0]["code"], "image.too_small");

    let other = app.other_tenant().await;
    let theirs = {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(herald_sim::jpeg(700, 700)).file_name("t.jpg"),
        );
        let v: Value = app
            .request(Method::POST, "/v1/media", &other.publish)
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["id"].clone()
    };
    let (_, body) = problem(
        app.create_post(
            &json!({"targets": [telegram], "text": "t", "media": [{"media_id": theirs}]}),
        )
        .await,
    )
    .await;
    assert_eq!(
        body["errors"][0]["code"], "media.unknown",
        "another tenant's media is unknown"
    );
}
