//! Telegram: `sendVideo` (MPEG4 only, the upload limit), `sendMediaGroup` (2-10 photos and
//! videos, one post), and comments in a channel's linked discussion group.

use herald_sim::{DEV_CHANNEL_ID, DEV_DISCUSSION_ID, UNLINKED_CHANNEL_ID};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{Sim, answer, video};
use crate::telegram::{call, method, roomy};

fn file(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

async fn send(sim: &Sim, name: &str, form: Form) -> (u16, Value) {
    answer(sim.http.post(method(sim, name)).multipart(form)).await
}

async fn send_json(sim: &Sim, name: &str, body: Value) -> (u16, Value) {
    call(sim, method(sim, name), body).await
}

fn video_form(chat: i64, bytes: Vec<u8>, name: &str) -> Form {
    Form::new()
        .text("chat_id", chat.to_string())
        .text("caption", "a clip")
        .text("supports_streaming", "true")
        .text("duration", "4")
        .part("video", file(bytes, name))
}

#[tokio::test]
async fn an_mp4_is_sent_as_a_video_and_listed_with_its_type() {
    let sim = Sim::start_with(roomy()).await;
    let bytes = video("portrait-720x1280-4s.mp4");
    let size = bytes.len();
    let (status, body) = send(
        &sim,
        "sendVideo",
        video_form(DEV_CHANNEL_ID, bytes, "v.mp4"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let video = &body["result"]["video"];
    assert_eq!(
        (video["width"].clone(), video["height"].clone()),
        (json!(720), json!(1280))
    );
    assert_eq!(video["duration"], 4);
    assert_eq!(video["mime_type"], "video/mp4");
    assert_eq!(video["file_size"], size);
    assert_eq!(body["result"]["caption"], "a clip");
    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["media_types"], json!(["video/mp4"]));
    assert_eq!(posts[0]["text"], "a clip");
}

#[tokio::test]
async fn videos_clients_cannot_play_and_oversized_uploads_are_refused() {
    let mut config = roomy();
    config.telegram.file_upload_max_bytes = 60_000;
    let sim = Sim::start_with(config).await;
    for name in ["clip-640x360-3s.mov", "clip-640x360-3s.webm"] {
        let (status, body) = send(
            &sim,
            "sendVideo",
            video_form(DEV_CHANNEL_ID, video(name), name),
        )
        .await;
        assert_eq!(status, 400, "{name}");
        assert_eq!(body["ok"], false);
        let description = body["description"].as_str().unwrap();
        assert!(description.starts_with("Bad Request: "), "{description}");
        assert!(description.contains("MPEG4"), "{description}");
    }
    let big = video("landscape-1280x720-4s.mp4");
    assert!(big.len() > 60_000);
    let (status, body) = send(
        &sim,
        "sendVideo",
        video_form(DEV_CHANNEL_ID, big, "big.mp4"),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 413, "description": "Request Entity Too Large"})
    );
    let (status, body) = send(
        &sim,
        "sendVideo",
        Form::new().text("chat_id", DEV_CHANNEL_ID.to_string()),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(sim.posts("telegram").await.is_empty());
}

#[tokio::test]
async fn a_media_group_is_one_post_of_messages_sharing_a_group_id() {
    let sim = Sim::start_with(roomy()).await;
    let media = json!([
        {"type": "photo", "media": "attach://a", "caption": "the album"},
        {"type": "video", "media": "attach://b", "supports_streaming": true},
        {"type": "photo", "media": "attach://c"},
    ]);
    let form = Form::new()
        .text("chat_id", DEV_CHANNEL_ID.to_string())
        .text("media", media.to_string())
        .part("a", file(herald_sim::jpeg(800, 600), "a.jpg"))
        .part("b", file(video("landscape-1280x720-4s.mp4"), "b.mp4"))
        .part("c", file(herald_sim::png(300, 300), "c.png"));
    let (status, body) = send(&sim, "sendMediaGroup", form).await;
    assert_eq!(status, 200, "{body}");
    let messages = body["result"].as_array().unwrap();
    assert_eq!(messages.len(), 3);
    let group = &messages[0]["media_group_id"];
    assert!(group.is_string());
    assert!(messages.iter().all(|m| &m["media_group_id"] == group));
    assert_eq!(messages[0]["caption"], "the album");
    assert!(messages[1]["video"].is_object());
    assert!(messages[1].get("caption").is_none());
    let ids: Vec<i64> = messages
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3]);

    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 1, "the group is listed once");
    assert_eq!(posts[0]["id"], "1");
    assert_eq!(posts[0]["text"], "the album");
    assert_eq!(
        posts[0]["media_types"],
        json!(["image/jpeg", "video/mp4", "image/png"])
    );
}

#[tokio::test]
async fn a_media_group_refuses_a_wrong_count_a_missing_part_and_other_kinds() {
    let sim = Sim::start_with(roomy()).await;
    let group = |media: Value| {
        Form::new()
            .text("chat_id", DEV_CHANNEL_ID.to_string())
            .text("media", media.to_string())
            .part("a", file(herald_sim::jpeg(400, 400), "a.jpg"))
    };
    let one = json!([{"type": "photo", "media": "attach://a"}]);
    let eleven = json!(vec![json!({"type": "photo", "media": "attach://a"}); 11]);
    let missing = json!([{"type": "photo", "media": "attach://a"}, {"type": "photo", "media": "attach://zz"}]);
    let document = json!([{"type": "photo", "media": "attach://a"}, {"type": "document", "media": "attach://a"}]);
    let long_caption = json!([{"type": "photo", "media": "attach://a", "caption": "c".repeat(1025)}, {"type": "photo", "media": "attach://a"}]);
    for (what, media) in [
        ("one item", one),
        ("eleven items", eleven),
        ("a missing part", missing),
        ("a document", document),
        ("a long caption", long_caption),
    ] {
        let (status, body) = send(&sim, "sendMediaGroup", group(media)).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .starts_with("Bad Request: "),
            "{what}"
        );
    }
    assert!(sim.posts("telegram").await.is_empty());
}

#[tokio::test]
async fn a_channel_names_its_discussion_group_and_comments_reply_there() {
    let sim = Sim::start_with(roomy()).await;
    let (_, chat) = send_json(&sim, "getChat", json!({"chat_id": DEV_CHANNEL_ID})).await;
    assert_eq!(chat["result"]["linked_chat_id"], DEV_DISCUSSION_ID);
    let (_, group) = send_json(&sim, "getChat", json!({"chat_id": DEV_DISCUSSION_ID})).await;
    assert_eq!(group["result"]["linked_chat_id"], DEV_CHANNEL_ID);
    assert_eq!(group["result"]["type"], "supergroup");
    let (_, unlinked) = send_json(&sim, "getChat", json!({"chat_id": UNLINKED_CHANNEL_ID})).await;
    assert!(unlinked["result"].get("linked_chat_id").is_none());

    let (_, post) = send_json(
        &sim,
        "sendMessage",
        json!({"chat_id": DEV_CHANNEL_ID, "text": "the post"}),
    )
    .await;
    let post_id = post["result"]["message_id"].as_i64().unwrap();
    let (status, comment) = send_json(
        &sim,
        "sendMessage",
        json!({
            "chat_id": DEV_DISCUSSION_ID,
            "text": "the first comment",
            "reply_parameters": {"message_id": post_id, "chat_id": DEV_CHANNEL_ID},
        }),
    )
    .await;
    assert_eq!(status, 200, "{comment}");
    let result = &comment["result"];
    assert_eq!(result["chat"]["id"], DEV_DISCUSSION_ID);
    // The channel post's automatic forward took the group's first id.
    assert_eq!(result["reply_to_message"]["message_id"], 1);
    assert_eq!(result["reply_to_message"]["is_automatic_forward"], true);
    assert_eq!(result["message_thread_id"], 1);
    assert_eq!(result["message_id"], 2);
    assert_eq!(result["external_reply"]["message_id"], post_id);

    let posts = sim.posts("telegram").await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1]["account"], DEV_DISCUSSION_ID.to_string());
    assert_eq!(posts[1]["reply_to"], post_id.to_string());

    let (status, body) = send_json(
        &sim,
        "sendMessage",
        json!({
            "chat_id": DEV_DISCUSSION_ID,
            "text": "to nothing",
            "reply_parameters": {"message_id": post_id + 50, "chat_id": DEV_CHANNEL_ID},
        }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: message to be replied not found"
    );
}
