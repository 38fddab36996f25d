//! Telegram: the bot validates itself and the channel, sends messages (JSON and form) and
//! photos (upload and URL); the Bot API's errors and its 429 with retry_after.

use herald_sim::{CLOSED_CHANNEL_ID, DEV_BOT_TOKEN, DEV_CHANNEL_ID, Limit};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{Sim, answer, fast_config};

pub(crate) fn method(sim: &Sim, name: &str) -> String {
    sim.url(&format!("/telegram/bot{DEV_BOT_TOKEN}/{name}"))
}

/// Limits loose enough for a conversation of several messages.
pub(crate) fn roomy() -> herald_sim::SimConfig {
    let mut config = fast_config();
    config.telegram.per_chat = Limit::new(100, 1.0);
    config
}

#[tokio::test]
async fn a_bot_checks_its_channel_and_sends_text_and_photos() {
    let sim = Sim::start_with(roomy()).await;
    let fixtures = sim.get_json("/_sim/fixtures").await;
    assert_eq!(fixtures["telegram"]["bot_token"], DEV_BOT_TOKEN);
    assert_eq!(fixtures["telegram"]["chat_id"], DEV_CHANNEL_ID);

    let me: Value = sim
        .http
        .get(method(&sim, "getMe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["result"]["username"], "herald_dev_bot");
    let bot_id = me["result"]["id"].as_i64().unwrap();

    let chat: Value = sim
        .http
        .post(method(&sim, "getChat"))
        .json(&json!({"chat_id": "@herald_dev_channel"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(chat["result"]["id"], DEV_CHANNEL_ID);
    assert_eq!(chat["result"]["type"], "channel");
    let member: Value = sim
        .http
        .post(method(&sim, "getChatMember"))
        .json(&json!({"chat_id": DEV_CHANNEL_ID, "user_id": bot_id}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(member["result"]["status"], "administrator");
    assert_eq!(member["result"]["can_post_messages"], true);

    let sent: Value = sim
        .http
        .post(method(&sim, "sendMessage"))
        .json(&json!({"chat_id": DEV_CHANNEL_ID, "text": "Hello *channel*", "parse_mode": "MarkdownV2", "link_preview_options": {"is_disabled": true}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["ok"], true);
    assert_eq!(sent["result"]["message_id"], 1);
    assert_eq!(sent["result"]["text"], "Hello channel");
    assert_eq!(sent["result"]["sender_chat"]["id"], DEV_CHANNEL_ID);

    let form = sim
        .http
        .post(method(&sim, "sendMessage"))
        .form(&[("chat_id", "@herald_dev_channel"), ("text", "form encoded")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);

    let upload = Form::new()
        .text("chat_id", DEV_CHANNEL_ID.to_string())
        .text("caption", "uploaded")
        .part(
            "photo",
            Part::bytes(herald_sim::jpeg(1280, 720))
                .file_name("p.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let photo: Value = sim
        .http
        .post(method(&sim, "sendPhoto"))
        .multipart(upload)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(photo["result"]["caption"], "uploaded");
    assert_eq!(photo["result"]["photo"][1]["width"], 1280);

    let by_url: Value = sim
        .http
        .post(method(&sim, "sendPhoto"))
        .json(&json!({"chat_id": DEV_CHANNEL_ID, "photo": sim.image_url(800, 800), "caption": "from a URL"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_url["ok"], true, "{by_url}");

    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 4);
    assert_eq!(posts[0]["account"], DEV_CHANNEL_ID.to_string());
    assert_eq!(posts[0]["url"], "https://t.me/herald_dev_channel/1");
    assert_eq!(posts[3]["text"], "from a URL");
}

/// Posts `body` as JSON to a Bot API `url`: the status and the JSON answer.
pub(crate) async fn call(sim: &Sim, url: String, body: Value) -> (u16, Value) {
    answer(sim.http.post(url).json(&body)).await
}

#[tokio::test]
async fn the_bot_api_refuses_what_telegram_refuses() {
    let sim = Sim::start_with(roomy()).await;
    let wrong = sim.url("/telegram/bot7000000001:AAWrongTokenWrongTokenWrongToken0000/getMe");
    let (status, body) = call(&sim, wrong, json!({})).await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (401, "Unauthorized")
    );
    let (status, _) = call(&sim, sim.url("/telegram/botnonsense/getMe"), json!({})).await;
    assert_eq!(status, 404);

    let (status, body) = call(
        &sim,
        method(&sim, "sendMessage"),
        json!({"chat_id": CLOSED_CHANNEL_ID, "text": "hi"}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error_code"], 403);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("Forbidden: bot is not a member")
    );

    let (status, body) = call(
        &sim,
        method(&sim, "sendMessage"),
        json!({"chat_id": "@nowhere", "text": "hi"}),
    )
    .await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: chat not found")
    );

    let (status, body) = call(
        &sim,
        method(&sim, "sendMessage"),
        json!({"chat_id": DEV_CHANNEL_ID, "text": "x".repeat(4_097)}),
    )
    .await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: message is too long")
    );
    let (status, _) = call(
        &sim,
        method(&sim, "sendMessage"),
        json!({"chat_id": DEV_CHANNEL_ID, "text": "x".repeat(4_096)}),
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = call(
        &sim,
        method(&sim, "sendPhoto"),
        json!({"chat_id": DEV_CHANNEL_ID, "photo": sim.image_url(600, 600), "caption": "c".repeat(1_025)}),
    )
    .await;
    assert_eq!(
        (status, body["description"].as_str().unwrap()),
        (400, "Bad Request: message caption is too long")
    );

    let (status, body) = call(&sim, method(&sim, "sendMessage"), json!({"chat_id": DEV_CHANNEL_ID, "text": "Version 1.0 is out!", "parse_mode": "MarkdownV2"})).await;
    assert_eq!(status, 400);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .starts_with("Bad Request: can't parse entities")
    );

    let (status, _) = call(
        &sim,
        method(&sim, "sendPhoto"),
        json!({"chat_id": DEV_CHANNEL_ID, "photo": sim.url("/_sim/images/a.jpg?status=404")}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(sim.posts("telegram").await.len(), 1);
}

#[tokio::test]
async fn about_one_message_per_second_per_chat_then_429_with_retry_after() {
    let sim = Sim::start().await;
    let send = || {
        call(
            &sim,
            method(&sim, "sendMessage"),
            json!({"chat_id": DEV_CHANNEL_ID, "text": "tick"}),
        )
    };
    assert_eq!(send().await.0, 200);
    let (status, body) = send().await;
    assert_eq!(status, 429);
    assert_eq!(body["error_code"], 429);
    assert_eq!(body["parameters"]["retry_after"], 1);
    assert_eq!(body["description"], "Too Many Requests: retry after 1");
    sim.advance(1.0).await;
    assert_eq!(send().await.0, 200);
    assert_eq!(sim.posts("telegram").await.len(), 2);
}
