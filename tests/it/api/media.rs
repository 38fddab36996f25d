//! POST /v1/media, GET /v1/media/{id}, and the signed URLs under /media/{id}.

use futures::StreamExt;
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
    // JSON is the URL form: a body without `url` names it.
    let response = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .json(&json!({"file": "base64?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(problem(response).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .body("plain text")
        .header("content-type", "text/plain")
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

fn video_fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/video/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("a test video")
}

#[tokio::test]
async fn an_uploaded_video_reports_its_facts_and_is_served_by_its_signed_url_with_ranges() {
    let app = TestApp::spawn().await;
    let mp4 = video_fixture("portrait-720x1280-4s.mp4");
    let response = upload(&app, &app.keys.producer, mp4.clone(), "reel.mp4").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["kind"], "video");
    assert_eq!(media["content_type"], "video/mp4");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(720), Some(1280))
    );
    assert_eq!(media["bytes"], mp4.len());
    let duration = media["duration_ms"].as_i64().unwrap();
    assert!((3900..=4100).contains(&duration), "{media:#}");
    assert!(
        (29.0..=31.0).contains(&media["frame_rate"].as_f64().unwrap()),
        "{media:#}"
    );
    assert_eq!(media["video_codec"], "avc1");
    assert_eq!(media["audio_codec"], "mp4a");

    let url = media["url"].as_str().unwrap();
    let served = reqwest::get(url).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "video/mp4");
    assert_eq!(
        served.headers()["content-length"],
        mp4.len().to_string().as_str()
    );
    assert_eq!(served.bytes().await.unwrap().to_vec(), mp4);
    let part = reqwest::Client::new()
        .get(url)
        .header("range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 4-11/{}", mp4.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &mp4[4..12]);

    let mov = video_fixture("clip-640x360-3s.mov");
    let media: Value = upload(&app, &app.keys.producer, mov, "clip.mov")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(media["content_type"], "video/quicktime", "{media:#}");
}

#[tokio::test]
async fn a_webm_upload_is_refused_naming_the_rule() {
    let app = TestApp::spawn().await;
    let webm = video_fixture("clip-640x360-3s.webm");
    let (status, body) = problem(upload(&app, &app.keys.producer, webm, "clip.webm").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "file", "{body:#}");
    assert_eq!(body["errors"][0]["code"], "video.container", "{body:#}");
}

#[tokio::test]
async fn an_over_limit_video_is_refused_while_it_streams_in() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let app = TestApp::spawn_with(&[("HERALD_MEDIA__MAX_VIDEO_BYTES", "1000000")]).await;
    // A video's first bytes, then 64 MB more, counted as the server pulls them.
    let head = video_fixture("portrait-720x1280-4s.mp4")[..4096].to_vec();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let chunks = futures::stream::iter(
        std::iter::once(head).chain(std::iter::repeat_n(vec![0u8; 64 * 1024], 1024)),
    )
    .map(move |chunk| {
        counter.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk)
    });
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(chunks)).file_name("big.mp4"),
    );
    let answer = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .multipart(form)
        .send()
        .await;
    if let Ok(response) = answer {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Otherwise the server closed the connection after its answer, mid-upload: also a stop.
    let pulled = sent.load(Ordering::SeqCst);
    assert!(
        pulled < 16 * 1024 * 1024,
        "the server read {pulled} bytes of 64 MB past a 1 MB limit"
    );
}

/// Serves `body` as `content_type` to every request, on a free loopback port.
async fn file_server(body: Vec<u8>, content_type: &'static str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_url_on_an_allow_listed_host_is_fetched_once_and_checked_like_an_upload() {
    let png = herald_sim::png(640, 480);
    let port = file_server(png.clone(), "image/png").await;
    let allow = format!("[\"127.0.0.1:{port}\"]");
    let app = TestApp::spawn_with(&[
        ("HERALD_OUTBOUND__ALLOW", allow.as_str()),
        ("HERALD_OUTBOUND__ALLOW_LOOPBACK_IN_DEVELOPMENT", "false"),
    ])
    .await;
    let response = app
        .request(Method::POST, "/v1/media", &app.keys.producer)
        .json(&json!({"url": format!("http://127.0.0.1:{port}/photos/cat.png")}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["kind"], "image");
    assert_eq!(media["content_type"], "image/png");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(media["filename"], "cat.png");
    let served = reqwest::get(media["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);

    // Another loopback port is not listed.
    let (status, body) = problem(
        app.request(Method::POST, "/v1/media", &app.keys.producer)
            .json(&json!({"url": format!("http://127.0.0.1:{}/x.png", port.wrapping_add(1))}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "url", "{body:#}");
}

#[tokio::test]
async fn a_url_to_an_inward_address_or_not_https_is_refused_naming_the_rule() {
    let app = TestApp::spawn().await;
    for (url, rule) in [
        ("https://10.1.2.3/photo.png", "url.inward_address"),
        (
            "https://169.254.169.254/latest/meta-data",
            "url.inward_address",
        ),
        ("http://example.com/photo.png", "url.scheme"),
        ("ftp://example.com/photo.png", "url.scheme"),
    ] {
        let (status, body) = problem(
            app.request(Method::POST, "/v1/media", &app.keys.producer)
                .json(&json!({ "url": url }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body:#}");
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body:#}");
        assert_eq!(body["errors"][0]["code"], rule, "{url}: {body:#}");
    }
}

#[tokio::test]
async fn retention_deletes_expired_copies_and_old_unreferenced_uploads_but_keeps_used_media() {
    let app = TestApp::spawn().await;
    let media_store = herald_worker::media_store(&app.config).expect("the media store");
    let upload_one = |name: &'static str| {
        let app = &app;
        async move {
            let media: Value = upload(app, &app.keys.producer, herald_sim::jpeg(64, 64), name)
                .await
                .json()
                .await
                .unwrap();
            let id: uuid::Uuid = media["id"].as_str().unwrap().parse().unwrap();
            id
        }
    };
    let used = upload_one("used.jpg").await;
    let unused = upload_one("unused.jpg").await;
    let recent = upload_one("recent.jpg").await;
    // A post (scheduled a day ahead) uses `used`.
    let connection = app.connect_telegram().await;
    app.post_ok(&json!({
        "text": "later",
        "media": [{"media_id": used}],
        "publish_at": (chrono::Utc::now() + chrono::TimeDelta::days(1)).to_rfc3339(),
        "targets": [connection],
    }))
    .await;
    // Both uploads were made long ago; a derived copy of `used` expired yesterday.
    sqlx::query("UPDATE media SET created_at = now() - interval '40 days' WHERE id = ANY($1)")
        .bind(vec![used, unused])
        .execute(app.store.pool())
        .await
        .unwrap();
    let source = app
        .store
        .media()
        .get(app.keys.tenant, used.into())
        .await
        .unwrap()
        .unwrap();
    let copy_id = herald_domain::MediaId::new();
    let copy_key = herald_store::MediaStore::key(app.keys.tenant, copy_id, "jpg");
    media_store.put(&copy_key, b"derived").await.unwrap();
    app.store
        .media()
        .insert(&herald_store::NewMedia {
            id: copy_id,
            storage_key: copy_key.clone(),
            derived: Some(herald_store::Derivation {
                source: source.id,
                platform: herald_domain::Platform::Instagram,
                recipe: "jpeg".into(),
            }),
            expires_at: Some(chrono::Utc::now() - chrono::TimeDelta::days(1)),
            tenant_id: app.keys.tenant,
            content_type: "image/jpeg".into(),
            bytes: 7,
            width: 64,
            height: 64,
            sha256: [1; 32],
            filename: None,
            video: None,
        })
        .await
        .unwrap();

    let settings = herald_worker::retention::RetentionSettings {
        retention: std::time::Duration::from_secs(30 * 86_400),
        interval: std::time::Duration::from_secs(60),
        batch: 100,
    };
    let swept = herald_worker::retention::sweep_once(&app.store, &media_store, &settings)
        .await
        .unwrap();
    assert_eq!(
        (swept.derived, swept.uploads, swept.failed),
        (1, 1, 0),
        "{swept:?}"
    );
    let exists = |id: uuid::Uuid| {
        let app = &app;
        async move {
            app.store
                .media()
                .get(app.keys.tenant, id.into())
                .await
                .unwrap()
                .is_some()
        }
    };
    assert!(
        !exists(unused).await,
        "an old upload no post uses is deleted"
    );
    assert!(
        !exists(copy_id.into_uuid()).await,
        "an expired derived copy is deleted"
    );
    assert!(exists(used).await, "the scheduled post's media stays");
    assert!(exists(recent).await, "a recent upload stays");
    assert!(
        media_store.get(&copy_key).await.unwrap_err().is_not_found(),
        "the copy's bytes are gone"
    );
    assert!(
        media_store.get(&source.storage_key).await.is_ok(),
        "the used bytes stay"
    );
    // A second sweep finds nothing more.
    let again = herald_worker::retention::sweep_once(&app.store, &media_store, &settings)
        .await
        .unwrap();
    assert_eq!((again.derived, again.uploads), (0, 0));
}

/// moto's S3 server on a free port, stopped when dropped (installed by `tests/run`).
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn moto_with_bucket(bucket: &str) -> Moto {
    let venv = std::path::PathBuf::from("/var/tmp/herald-tools/moto/bin/moto_server");
    let program = if venv.exists() {
        venv
    } else {
        std::env::var_os("PATH")
            .and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("moto_server"))
                    .find(|candidate| candidate.exists())
            })
            .expect(
                "moto_server is not installed: run `bash tests/run` once, or \
                 `python3 -m venv /var/tmp/herald-tools/moto && \
                 /var/tmp/herald-tools/moto/bin/pip install 'moto[server]'`",
            )
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if let Ok(created) = reqwest::Client::new()
            .put(format!("{}/{bucket}", moto.endpoint))
            .send()
            .await
        {
            assert!(created.status().is_success(), "{}", created.status());
            return moto;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not answer on {}", moto.endpoint);
}

#[tokio::test]
async fn with_media_in_s3_a_video_upload_is_stored_in_the_bucket_and_served_by_its_signed_url() {
    let moto = moto_with_bucket("herald-media").await;
    let app = TestApp::spawn_with(&[
        ("HERALD_MEDIA__STORE", "s3"),
        ("HERALD_MEDIA__S3__BUCKET", "herald-media"),
        ("HERALD_MEDIA__S3__ENDPOINT", moto.endpoint.as_str()),
        ("HERALD_MEDIA__S3__PREFIX", "uploads"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing-secret"),
    ])
    .await;
    let mp4 = video_fixture("landscape-1280x720-4s.mp4");
    let response = upload(&app, &app.keys.producer, mp4.clone(), "wide.mp4").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let media: Value = response.json().await.unwrap();
    assert_eq!(media["kind"], "video");
    assert_eq!(
        (media["width"].as_i64(), media["height"].as_i64()),
        (Some(1280), Some(720))
    );

    // The bytes are in the bucket, under the prefix, and nowhere on the local disk.
    let listing = reqwest::get(format!(
        "{}/herald-media?list-type=2&prefix=uploads/",
        moto.endpoint
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(
        listing.contains(&format!("{}.mp4", media["id"].as_str().unwrap())),
        "{listing}"
    );
    assert!(
        !app.config
            .media
            .dir
            .join(app.keys.tenant.to_string())
            .exists()
    );

    let served = reqwest::get(media["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(
        served.headers()["content-length"],
        mp4.len().to_string().as_str()
    );
    assert_eq!(served.bytes().await.unwrap().to_vec(), mp4);
}
