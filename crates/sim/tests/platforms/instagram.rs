//! Instagram: containers that fetch their image, IN_PROGRESS then FINISHED, media_publish
//! (too early is 9007/2207027), the publishing limit, read-back, and the download failures.

use serde_json::Value;

use crate::common::{Sim, eventually, fast_config};
use crate::facebook::{login, page};

async fn container(
    sim: &Sim,
    ig: &str,
    token: &str,
    image_url: &str,
    caption: &str,
) -> reqwest::Response {
    sim.http
        .post(sim.url(&format!("/graph/v24.0/{ig}/media")))
        .form(&[
            ("image_url", image_url),
            ("caption", caption),
            ("access_token", token),
        ])
        .send()
        .await
        .unwrap()
}

pub(crate) async fn publish(sim: &Sim, ig: &str, token: &str, creation_id: &str) -> Value {
    sim.http
        .post(sim.url(&format!("/graph/v24.0/{ig}/media_publish")))
        .form(&[("creation_id", creation_id), ("access_token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A container's `status_code` and `status`.
pub(crate) async fn status(sim: &Sim, id: &str, token: &str) -> Value {
    sim.get_json(&format!(
        "/graph/v24.0/{id}?fields=status_code,status&access_token={token}"
    ))
    .await
}

/// Polls until the container leaves IN_PROGRESS; returns its status.
pub(crate) async fn settled(sim: &Sim, id: &str, token: &str) -> Value {
    eventually("container processed", || async {
        let status = status(sim, id, token).await;
        (status["status_code"] != "IN_PROGRESS").then_some(status)
    })
    .await
}

async fn wait_finished(sim: &Sim, id: &str, token: &str) {
    let status = settled(sim, id, token).await;
    assert_eq!(status["status_code"], "FINISHED", "{status}");
}

#[tokio::test]
async fn a_business_account_publishes_an_image_and_reads_it_back() {
    let sim = Sim::start().await;
    let token = login(&sim).await;
    let (_, _, ig) = page(&sim, &token).await;
    let account = sim
        .get_json(&format!(
            "/graph/v24.0/{ig}?fields=id,username&access_token={token}"
        ))
        .await;
    assert_eq!(account["username"], "herald_dev_ig");

    let created = container(
        &sim,
        &ig,
        &token,
        &sim.image_url(1080, 1080),
        "Caption #one",
    )
    .await;
    assert_eq!(created.status(), 200);
    let id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = sim
        .get_json(&format!(
            "/graph/v24.0/{id}?fields=status_code,status&access_token={token}"
        ))
        .await;
    assert_eq!(status["status_code"], "IN_PROGRESS");

    let early = publish(&sim, &ig, &token, &id).await;
    assert_eq!(early["error"]["code"], 9007);
    assert_eq!(early["error"]["error_subcode"], 2_207_027);

    wait_finished(&sim, &id, &token).await;
    let published = publish(&sim, &ig, &token, &id).await;
    let media_id = published["id"]
        .as_str()
        .expect("published media id")
        .to_owned();
    let permalink = sim
        .get_json(&format!(
            "/graph/v24.0/{media_id}?fields=permalink&access_token={token}"
        ))
        .await;
    assert!(
        permalink["permalink"]
            .as_str()
            .unwrap()
            .starts_with("https://www.instagram.com/p/")
    );

    let limit = sim
        .get_json(&format!("/graph/v24.0/{ig}/content_publishing_limit?fields=quota_usage,config&access_token={token}"))
        .await;
    assert_eq!(limit["data"][0]["quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 50);
    assert_eq!(limit["data"][0]["config"]["quota_duration"], 86_400);

    let media = sim
        .get_json(&format!(
            "/graph/v24.0/{ig}/media?fields=id,caption,timestamp&access_token={token}"
        ))
        .await;
    assert_eq!(media["data"][0]["id"], media_id.as_str());
    assert_eq!(media["data"][0]["caption"], "Caption #one");

    let posts = sim.posts("instagram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "Caption #one");
    assert_eq!(posts[0]["account"], ig.as_str());
    assert_eq!(
        sim.get_json(&format!(
            "/graph/v24.0/{id}?fields=status_code&access_token={token}"
        ))
        .await["status_code"],
        "PUBLISHED"
    );
}

#[tokio::test]
async fn the_simulator_really_fetches_the_image_and_fails_like_instagram() {
    let mut config = fast_config();
    config.fetch.timeout_ms = 300;
    let sim = Sim::start_with(config).await;
    let token = login(&sim).await;
    let (_, _, ig) = page(&sim, &token).await;
    let subcode = |body: Value| body["error"]["error_subcode"].as_i64();

    let missing = container(
        &sim,
        &ig,
        &token,
        &sim.url("/_sim/images/1080x1080.jpg?status=404"),
        "x",
    )
    .await;
    assert_eq!(subcode(missing.json().await.unwrap()), Some(2_207_052));
    let nowhere = container(&sim, &ig, &token, "http://127.0.0.1:9/nothing.jpg", "x").await;
    assert_eq!(subcode(nowhere.json().await.unwrap()), Some(2_207_052));
    let slow = container(
        &sim,
        &ig,
        &token,
        &sim.url("/_sim/images/1080x1080.jpg?delay_ms=1500"),
        "x",
    )
    .await;
    assert_eq!(subcode(slow.json().await.unwrap()), Some(2_207_003));
    let png = container(
        &sim,
        &ig,
        &token,
        &sim.url("/_sim/images/1080x1080.png"),
        "x",
    )
    .await;
    assert_eq!(subcode(png.json().await.unwrap()), Some(2_207_005));
    let wide = container(&sim, &ig, &token, &sim.image_url(1500, 500), "x").await;
    let wide: Value = wide.json().await.unwrap();
    assert_eq!(wide["error"]["code"], 36003);
    assert_eq!(subcode(wide), Some(2_207_009));
    let long = container(
        &sim,
        &ig,
        &token,
        &sim.image_url(1080, 1080),
        &"c".repeat(2_201),
    )
    .await;
    assert_eq!(subcode(long.json().await.unwrap()), Some(2_207_010));
    assert!(sim.posts("instagram").await.is_empty());
}

#[tokio::test]
async fn publishing_beyond_the_quota_is_refused_with_2207042() {
    let mut config = fast_config();
    config.instagram.publishing_quota = herald_sim::Limit::new(1, 60.0);
    let sim = Sim::start_with(config).await;
    let token = login(&sim).await;
    let (_, _, ig) = page(&sim, &token).await;
    let mut ids = Vec::new();
    for caption in ["first", "second"] {
        let created = container(&sim, &ig, &token, &sim.image_url(1080, 1350), caption).await;
        ids.push(
            created.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for id in &ids {
        wait_finished(&sim, id, &token).await;
    }
    assert!(publish(&sim, &ig, &token, &ids[0]).await["id"].is_string());
    let refused = publish(&sim, &ig, &token, &ids[1]).await;
    assert_eq!(refused["error"]["error_subcode"], 2_207_042);
    sim.advance(61.0).await;
    assert!(
        publish(&sim, &ig, &token, &ids[1]).await["id"].is_string(),
        "the rolling window frees a slot"
    );
}

#[tokio::test]
async fn the_spec_flow_uses_a_page_photo_as_the_image_url() {
    let sim = Sim::start().await;
    let token = login(&sim).await;
    let (page_id, page_token, ig) = page(&sim, &token).await;
    let photo: Value = sim
        .http
        .post(sim.url(&format!("/graph/v24.0/{page_id}/photos")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("published", "false")
                .text("access_token", page_token.clone())
                .part(
                    "source",
                    reqwest::multipart::Part::bytes(herald_sim::jpeg(1080, 1080))
                        .file_name("a.jpg"),
                ),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let picture = sim.url(&format!(
        "/graph/v24.0/{}/picture?access_token={page_token}",
        photo["id"].as_str().unwrap()
    ));
    let created = container(&sim, &ig, &token, &picture, "via the page").await;
    assert_eq!(
        created.status(),
        200,
        "{}",
        created.text().await.unwrap_or_default()
    );
}
