//! A first comment for a Telegram channel: its comments live in the channel's linked
//! discussion group, recorded when the channel is connected, so a post asking for one on a
//! channel without a group is refused at enqueue.

use reqwest::StatusCode;
use serde_json::{Value, json};

use support::app::{TestApp, problem};

async fn connect(app: &TestApp, chat: &str, user: &str) -> String {
    let response = app
        .post_json(
            "/v1/connections/telegram",
            &app.keys.admin,
            &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": chat, "user": user}),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body:#}");
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_first_comment_for_a_channel_without_a_discussion_group_is_refused_at_enqueue() {
    let app = TestApp::spawn().await;
    let unlinked = connect(&app, "@herald_unlinked_channel", "u-unlinked").await;
    let linked = connect(&app, "@herald_dev_channel", "u-linked").await;

    let (status, body) = problem(
        app.create_post(&json!({
            "text": "Launch day",
            "first_comment": "Details in the thread",
            "targets": [linked, unlinked],
        }))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(
        errors.len(),
        1,
        "only the channel without a group: {body:#}"
    );
    assert_eq!(errors[0]["field"], "first_comment");
    assert_eq!(errors[0]["code"], "first_comment.unsupported");
    assert_eq!(errors[0]["target"], 1);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("no linked discussion group"),
        "{body:#}"
    );

    // Without the comment, or with the channel that has a group, the post is taken.
    app.post_ok(&json!({"text": "Launch day", "targets": [unlinked]}))
        .await;
    app.post_ok(&json!({
        "text": "Launch day, again",
        "first_comment": "Details in the thread",
        "targets": [linked],
    }))
    .await;
}
