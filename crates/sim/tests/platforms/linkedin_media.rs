//! LinkedIn media: videos uploaded in parts (initialize, PUT each part, finalize, processing
//! to AVAILABLE or PROCESSING_FAILED) and each way an upload goes wrong, posts with several
//! images (`multiImage`), and first comments under a post.

use herald_sim::SimConfig;
use serde_json::{Value, json};

use crate::common::{Sim, answer_or_null, enc, eventually, fast_config, video};
use crate::linkedin::{
    COMPANY, COMPANY_SCOPES, PERSONAL, PERSONAL_SCOPES, login, post_body, rest, upload_image,
};

const MEMBER: &str = "urn:li:person:hrldDev01";
const ORGANIZATION: &str = "urn:li:organization:100000001";
/// A small part size, so a fixture of about 94 KB goes up in three parts.
const PART: u64 = 32 * 1024;

fn video_config() -> SimConfig {
    let mut config = fast_config();
    config.linkedin.video_processing_ms = 150;
    config.linkedin.video_part_bytes = PART;
    config
}

async fn member(sim: &Sim) -> String {
    let token = login(sim, PERSONAL, PERSONAL_SCOPES).await;
    token["access_token"].as_str().unwrap().to_owned()
}

async fn initialize(sim: &Sim, token: &str, owner: &str, size: u64) -> reqwest::Response {
    rest(
        sim,
        reqwest::Method::POST,
        "/linkedin/rest/videos?action=initializeUpload",
        token,
    )
    .json(&json!({"initializeUploadRequest": {
        "owner": owner,
        "fileSizeBytes": size,
        "uploadCaptions": false,
        "uploadThumbnail": false,
    }}))
    .send()
    .await
    .unwrap()
}

/// An initialized upload: the video URN, its token, and each part's (first, last, URL).
struct Upload {
    video: String,
    token: String,
    parts: Vec<(u64, u64, String)>,
}

async fn start_upload(sim: &Sim, token: &str, owner: &str, size: u64) -> Upload {
    let response = initialize(sim, token, owner, size).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let value = &body["value"];
    Upload {
        video: value["video"].as_str().unwrap().to_owned(),
        token: value["uploadToken"].as_str().unwrap().to_owned(),
        parts: value["uploadInstructions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["firstByte"].as_u64().unwrap(),
                    i["lastByte"].as_u64().unwrap(),
                    i["uploadUrl"].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
    }
}

/// PUTs each part's bytes (no `Authorization`: the URLs are pre-signed) and returns the ETags.
async fn put_parts(sim: &Sim, upload: &Upload, bytes: &[u8]) -> Vec<String> {
    let mut etags = Vec::new();
    for (first, last, url) in &upload.parts {
        let part = bytes[*first as usize..=*last as usize].to_vec();
        let response = sim
            .http
            .put(url)
            .header("Content-Type", "application/octet-stream")
            .body(part)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
    }
    etags
}

async fn finalize(sim: &Sim, token: &str, upload: &Upload, etags: &[String]) -> (u16, Value) {
    answer_or_null(
        rest(
            sim,
            reqwest::Method::POST,
            "/linkedin/rest/videos?action=finalizeUpload",
            token,
        )
        .json(&json!({"finalizeUploadRequest": {
            "video": upload.video,
            "uploadToken": upload.token,
            "uploadedPartIds": etags,
        }})),
    )
    .await
}

async fn video_status(sim: &Sim, token: &str, video: &str) -> Value {
    rest(
        sim,
        reqwest::Method::GET,
        &format!("/linkedin/rest/videos/{}", enc(video)),
        token,
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn settled(sim: &Sim, token: &str, video: &str) -> Value {
    eventually("video processed", || async {
        let status = video_status(sim, token, video).await;
        (status["status"] != "PROCESSING").then_some(status)
    })
    .await
}

/// Initialize, parts, finalize: the URN of a finalized video.
async fn upload_video(sim: &Sim, token: &str, owner: &str, bytes: &[u8]) -> String {
    let upload = start_upload(sim, token, owner, bytes.len() as u64).await;
    let etags = put_parts(sim, &upload, bytes).await;
    let (status, body) = finalize(sim, token, &upload, &etags).await;
    assert_eq!(status, 200, "{body}");
    upload.video
}

async fn create_post(sim: &Sim, token: &str, body: &Value) -> reqwest::Response {
    rest(sim, reqwest::Method::POST, "/linkedin/rest/posts", token)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn multi_image(author: &str, commentary: &str, images: &[String]) -> Value {
    let mut body = post_body(author, commentary, None);
    let images: Vec<Value> = images
        .iter()
        .map(|id| json!({"id": id, "altText": "a test picture"}))
        .collect();
    body["content"] = json!({"multiImage": {"images": images}});
    body
}

#[tokio::test]
async fn a_video_goes_up_in_parts_processes_and_is_posted() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let bytes = video("landscape-1280x720-4s.mp4");
    let upload = start_upload(&sim, &token, MEMBER, bytes.len() as u64).await;
    assert!(upload.video.starts_with("urn:li:video:"));
    // Consecutive ranges covering the file, each a full part but the last.
    assert_eq!(upload.parts.len(), bytes.len().div_ceil(PART as usize));
    let mut next = 0;
    for (i, (first, last, _)) in upload.parts.iter().enumerate() {
        assert_eq!(*first, next);
        if i + 1 < upload.parts.len() {
            assert_eq!(last - first + 1, PART);
        }
        next = last + 1;
    }
    assert_eq!(next, bytes.len() as u64);
    assert_eq!(
        video_status(&sim, &token, &upload.video).await["status"],
        "WAITING_UPLOAD"
    );

    let etags = put_parts(&sim, &upload, &bytes).await;
    assert_eq!(finalize(&sim, &token, &upload, &etags).await.0, 200);
    assert_eq!(
        video_status(&sim, &token, &upload.video).await["status"],
        "PROCESSING"
    );
    // A post may not use a video that is still processing.
    let mut body = post_body(MEMBER, "Our launch video", Some(&upload.video));
    let early = create_post(&sim, &token, &body).await;
    assert_eq!(early.status(), 422);
    let early: Value = early.json().await.unwrap();
    assert!(
        early["message"].as_str().unwrap().contains("not AVAILABLE"),
        "{early}"
    );

    let done = settled(&sim, &token, &upload.video).await;
    assert_eq!(done["status"], "AVAILABLE", "{done}");
    assert_eq!(done["aspectRatioWidth"], 1280);
    assert!(done["duration"].as_u64().unwrap() >= 3_900);

    body["content"]["media"]["title"] = json!("Launch");
    let posted = create_post(&sim, &token, &body).await;
    assert_eq!(posted.status(), 201);
    let urn = posted.headers()["x-restli-id"].to_str().unwrap().to_owned();
    let posts = sim.posts("linkedin").await;
    let post = posts.iter().find(|p| p["id"] == urn.as_str()).unwrap();
    assert_eq!(post["media"], json!([upload.video]));
    assert_eq!(post["media_types"], json!(["video/mp4"]));

    // The same commentary with the same video again is a duplicate.
    let again = create_post(&sim, &token, &body).await;
    assert_eq!(again.status(), 422);
    let again: Value = again.json().await.unwrap();
    assert_eq!(
        again["errorDetails"]["inputErrors"][0]["code"],
        "DUPLICATE_POST"
    );
}

#[tokio::test]
async fn a_wrong_part_size_a_short_list_a_missing_part_and_a_wrong_etag_are_refused() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let bytes = video("portrait-720x1280-4s.mp4");
    let upload = start_upload(&sim, &token, MEMBER, bytes.len() as u64).await;
    assert!(upload.parts.len() >= 3);

    // A part must be exactly its range.
    let wrong = sim
        .http
        .put(&upload.parts[0].2)
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains(&format!("({PART} bytes) but 10 bytes were sent"))
    );

    // Every part but the second.
    let mut etags = Vec::new();
    for (i, (first, last, url)) in upload.parts.iter().enumerate() {
        if i == 1 {
            etags.push("/ambry-video/signedId/never".to_owned());
            continue;
        }
        let response = sim
            .http
            .put(url)
            .body(bytes[*first as usize..=*last as usize].to_vec())
            .send()
            .await
            .unwrap();
        etags.push(response.headers()["etag"].to_str().unwrap().to_owned());
    }
    let (status, body) = finalize(&sim, &token, &upload, &etags[..1]).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("uploadedPartIds has 1 entries"),
        "{body}"
    );
    let (status, body) = finalize(&sim, &token, &upload, &etags).await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("Part 1 (bytes"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("never uploaded"));

    // Now upload the second part, but list another part's ETag in its place.
    let (first, last, url) = &upload.parts[1];
    let response = sim
        .http
        .put(url)
        .body(bytes[*first as usize..=*last as usize].to_vec())
        .send()
        .await
        .unwrap();
    let second = response.headers()["etag"].to_str().unwrap().to_owned();
    etags[1] = etags[0].clone();
    let (status, body) = finalize(&sim, &token, &upload, &etags).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("uploadedPartIds[1]"),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("does not match"));

    // A wrong upload token is refused; the right list is accepted.
    etags[1] = second;
    let bad_token = Upload {
        token: "not-the-token".into(),
        video: upload.video.clone(),
        parts: Vec::new(),
    };
    assert_eq!(finalize(&sim, &token, &bad_token, &etags).await.0, 400);
    assert_eq!(finalize(&sim, &token, &upload, &etags).await.0, 200);
    assert_eq!(
        settled(&sim, &token, &upload.video).await["status"],
        "AVAILABLE"
    );
}

#[tokio::test]
async fn a_part_etag_mismatch_fault_fails_the_finalize() {
    let mut config = video_config();
    config.linkedin.video_etag_mismatch_part = Some(1);
    let sim = Sim::start_with(config).await;
    let token = member(&sim).await;
    let bytes = video("landscape-1280x720-4s.mp4");
    let upload = start_upload(&sim, &token, MEMBER, bytes.len() as u64).await;
    let etags = put_parts(&sim, &upload, &bytes).await;
    let (status, body) = finalize(&sim, &token, &upload, &etags).await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("uploadedPartIds[1]"),
        "{body}"
    );
}

#[tokio::test]
async fn an_upload_url_expires_at_upload_urls_expire_at() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let bytes = video("landscape-1280x720-4s.mp4");
    let init: Value = initialize(&sim, &token, MEMBER, bytes.len() as u64)
        .await
        .json()
        .await
        .unwrap();
    let expires = init["value"]["uploadUrlsExpireAt"].as_u64().unwrap();
    let upload = start_upload(&sim, &token, MEMBER, bytes.len() as u64).await;
    assert!(expires > 0);
    sim.advance(3_601.0).await;
    let (first, last, url) = &upload.parts[0];
    let late = sim
        .http
        .put(url)
        .body(bytes[*first as usize..=*last as usize].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 403);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["code"], "UPLOAD_URL_EXPIRED");
    assert!(body["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn videos_outside_linkedins_rules_fail_processing_with_a_reason() {
    let mut config = video_config();
    // The small fixtures are under the 75 KB minimum size; this is about what they hold.
    config.linkedin.video_min_bytes = 0;
    let sim = Sim::start_with(config).await;
    let token = member(&sim).await;
    for (name, reason) in [
        ("short-640x360-1s.mp4", "duration"),
        ("wide-1280x320-4s.mp4", "aspect ratio"),
        ("clip-640x360-3s.mov", "container video/quicktime"),
        ("clip-640x360-3s.webm", "Unsupported video format"),
    ] {
        let video = upload_video(&sim, &token, MEMBER, &video(name)).await;
        let done = settled(&sim, &token, &video).await;
        assert_eq!(done["status"], "PROCESSING_FAILED", "{name}: {done}");
        let why = done["processingFailureReason"].as_str().unwrap();
        assert!(why.contains(reason), "{name}: {why}");
        let refused = create_post(&sim, &token, &post_body(MEMBER, name, Some(&video))).await;
        assert_eq!(refused.status(), 422, "{name}");
    }
    assert!(sim.posts("linkedin").await.is_empty());
}

#[tokio::test]
async fn the_file_size_is_checked_at_initialize_against_configurable_limits() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    for size in [1_000u64, 600 * 1024 * 1024] {
        let refused = initialize(&sim, &token, MEMBER, size).await;
        assert_eq!(refused.status(), 422);
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body["errorDetails"]["inputErrors"][0]["input"]["inputPath"]["fieldPath"],
            "/initializeUploadRequest/fileSizeBytes"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&size.to_string())
        );
    }
    // The other reading of the limit: 5 GB.
    sim.patch_config(json!({"linkedin": {"video_max_bytes": 5u64 * 1024 * 1024 * 1024}}))
        .await;
    assert_eq!(
        initialize(&sim, &token, MEMBER, 600 * 1024 * 1024)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_video_belongs_to_its_member_or_to_an_organization_the_caller_administers() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let forbidden = "Accessing this video resource is forbidden. Please check your permissions for this resource";
    for owner in ["urn:li:person:someoneElse", ORGANIZATION] {
        let refused = initialize(&sim, &token, owner, 100_000).await;
        assert_eq!(refused.status(), 403, "{owner}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["message"], forbidden);
    }
    let company = login(&sim, COMPANY, COMPANY_SCOPES).await;
    let company = company["access_token"].as_str().unwrap();
    let bytes = video("portrait-720x1280-4s.mp4");
    let video = upload_video(&sim, company, ORGANIZATION, &bytes).await;
    // The member's personal token may not read the organization's video.
    let read = rest(
        &sim,
        reqwest::Method::GET,
        &format!("/linkedin/rest/videos/{}", enc(&video)),
        &token,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(read.status(), 403);
    assert_eq!(settled(&sim, company, &video).await["status"], "AVAILABLE");
    // Nor post it as the member.
    let refused = create_post(&sim, &token, &post_body(MEMBER, "not mine", Some(&video))).await;
    assert_eq!(refused.status(), 403);
    let posted = create_post(
        &sim,
        company,
        &post_body(ORGANIZATION, "company video", Some(&video)),
    )
    .await;
    assert_eq!(posted.status(), 201);
}

#[tokio::test]
async fn a_multi_image_post_takes_two_to_twenty_available_images_and_no_video() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let mut images = Vec::new();
    for _ in 0..3 {
        images.push(upload_image(&sim, &token, MEMBER).await);
    }
    let body = multi_image(MEMBER, "three pictures", &images);
    let posted = create_post(&sim, &token, &body).await;
    assert_eq!(posted.status(), 201);
    let urn = posted.headers()["x-restli-id"].to_str().unwrap().to_owned();
    let posts = sim.posts("linkedin").await;
    let post = posts.iter().find(|p| p["id"] == urn.as_str()).unwrap();
    assert_eq!(post["media"], json!(images));
    assert_eq!(
        post["media_types"],
        json!(["image/jpeg", "image/jpeg", "image/jpeg"])
    );
    let again = create_post(&sim, &token, &body).await;
    assert_eq!(again.status(), 422, "the same images and text: a duplicate");

    let field = |body: &Value| {
        body["errorDetails"]["inputErrors"][0]["input"]["inputPath"]["fieldPath"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // One image, or 21.
    for count in [1, 21] {
        let many: Vec<String> = images.iter().cycle().take(count).cloned().collect();
        let refused = create_post(&sim, &token, &multi_image(MEMBER, "count", &many)).await;
        assert_eq!(refused.status(), 422, "{count} images");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(field(&body), "/content/multiImage/images");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains(&format!("2 to 20 images, not {count}"))
        );
    }
    // A video among the images.
    let video = upload_video(&sim, &token, MEMBER, &video("landscape-1280x720-4s.mp4")).await;
    settled(&sim, &token, &video).await;
    let mixed = vec![images[0].clone(), video];
    let refused = create_post(&sim, &token, &multi_image(MEMBER, "mixed", &mixed)).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(field(&body), "/content/multiImage/images/1/id");
    // An image that never got its bytes.
    let init: Value = rest(
        &sim,
        reqwest::Method::POST,
        "/linkedin/rest/images?action=initializeUpload",
        &token,
    )
    .json(&json!({"initializeUploadRequest": {"owner": MEMBER}}))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let waiting = init["value"]["image"].as_str().unwrap().to_owned();
    let pending = vec![images[0].clone(), waiting];
    let refused = create_post(&sim, &token, &multi_image(MEMBER, "pending", &pending)).await;
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("WAITING_UPLOAD"));
}

#[tokio::test]
async fn a_first_comment_lands_under_its_post() {
    let sim = Sim::start_with(video_config()).await;
    let token = member(&sim).await;
    let posted = create_post(&sim, &token, &post_body(MEMBER, "a post", None)).await;
    let post = posted.headers()["x-restli-id"].to_str().unwrap().to_owned();
    let comment = |path_post: &str, object: &str, actor: &str, text: &str| {
        rest(
            &sim,
            reqwest::Method::POST,
            &format!("/linkedin/rest/socialActions/{}/comments", enc(path_post)),
            &token,
        )
        .json(&json!({"actor": actor, "object": object, "message": {"text": text}}))
        .send()
    };
    let made = comment(&post, &post, MEMBER, "Link in the first comment")
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let header = made.headers()["x-restli-id"].to_str().unwrap().to_owned();
    let body: Value = made.json().await.unwrap();
    assert_eq!(body["$URN"], header.as_str());
    assert!(header.starts_with(&format!("urn:li:comment:({post},")));
    assert_eq!(body["message"]["text"], "Link in the first comment");
    let posts = sim.posts("linkedin").await;
    let listed = posts.iter().find(|p| p["id"] == header.as_str()).unwrap();
    assert_eq!(listed["reply_to"], post.as_str());
    assert_eq!(listed["text"], "Link in the first comment");

    // The object must be the post in the path, the post must exist, the actor be the caller.
    let missing = "urn:li:share:1";
    assert_eq!(
        comment(&post, missing, MEMBER, "x").await.unwrap().status(),
        422
    );
    assert_eq!(
        comment(missing, missing, MEMBER, "x")
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        comment(&post, &post, ORGANIZATION, "x")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        comment(&post, &post, MEMBER, "").await.unwrap().status(),
        422
    );
    // The older path takes the same body without the version header.
    let v2 = sim
        .http
        .post(sim.url(&format!(
            "/linkedin/v2/socialActions/{}/comments",
            enc(&post)
        )))
        .bearer_auth(&token)
        .header("X-Restli-Protocol-Version", "2.0.0")
        .json(&json!({"actor": MEMBER, "object": post, "message": {"text": "second"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), 201);
}
