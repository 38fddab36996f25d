//! GET /v1/connections, GET/DELETE /v1/connections/{id}, POST /v1/connections/telegram.
//! Pages and OAuth are in `oauth.rs`.

use herald_domain::Platform;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

#[tokio::test]
async fn a_telegram_channel_connects_with_its_bot_token_which_is_never_shown() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/v1/connections/telegram",
            &app.keys.admin,
            &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "@herald_dev_channel", "user": "u-1"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(herald_sim::DEV_BOT_TOKEN),
        "no token in answers: {text}"
    );
    let connection: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(connection["platform"], "telegram");
    assert_eq!(connection["status"], "active");
    assert_eq!(connection["user"], "u-1");
    assert_eq!(connection["account"]["handle"], "herald_dev_channel");

    let list = app
        .get("/v1/connections", &app.keys.read)
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(herald_sim::DEV_BOT_TOKEN));
    let list: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(list["data"][0]["id"], connection["id"]);
    assert!(list["next_cursor"].is_null());
    let mine: Value = app
        .get("/v1/connections?user=u-2", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["data"], json!([]));
}

#[tokio::test]
async fn a_telegram_connection_is_refused_with_the_specs_hint_when_it_cannot_post() {
    let app = TestApp::spawn().await;
    let app = &app;
    let connect = |body: Value| async move {
        app.post_json("/v1/connections/telegram", &app.keys.admin, &body)
            .await
    };

    let (status, body) = problem(
        connect(json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "herald"})).await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["hint"].as_str().unwrap().contains("@channelname"),
        "{body:#}"
    );

    let (status, body) =
        problem(connect(json!({"bot_token": "123:wrong", "chat_id": "@herald_dev_channel"})).await)
            .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "platform_error");
    assert!(
        body["platform_code"].is_string(),
        "Telegram's own code: {body:#}"
    );
    assert!(body["hint"].is_string(), "{body:#}");
    assert!(
        !body.to_string().contains("123:wrong"),
        "the token is not echoed"
    );

    let (status, body) = problem(connect(json!({"chat_id": "@herald_dev_channel"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bot_token")
    );

    let (status, _) = problem(
        app.post_json(
            "/v1/connections/telegram",
            &app.keys.producer,
            &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "@herald_dev_channel"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "connecting needs admin");
}

#[tokio::test]
async fn a_connection_reads_back_by_id_only_for_its_own_tenant() {
    let app = TestApp::spawn().await;
    let id = app.connect_telegram().await;
    let path = format!("/v1/connections/{id}");
    let connection: Value = app.get(&path, &app.keys.read).await.json().await.unwrap();
    assert_eq!(connection["id"], id.as_str());
    let other = app.other_tenant().await;
    let (status, _) = problem(app.get(&path, &other.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = problem(app.get(&path, &app.keys.publish).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn x_connections_show_their_rate_budget() {
    let app = TestApp::spawn().await;
    let id = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    let connection: Value = app
        .get(&format!("/v1/connections/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        connection["rate_budget"],
        json!({"used": 0, "limit": 17, "window_secs": 86400})
    );
}

#[tokio::test]
async fn deleting_removes_an_unused_connection_and_disables_one_with_history() {
    let app = TestApp::spawn().await;
    let unused = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    let used = app.connect_telegram().await;
    app.post_ok(&json!({"targets": [used], "text": "history"}))
        .await;

    let delete = |id: String, key: String| {
        let request = app.request(Method::DELETE, &format!("/v1/connections/{id}"), &key);
        async move { request.send().await.unwrap() }
    };
    let (status, _) = problem(delete(unused.to_string(), app.keys.producer.clone()).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.other_tenant().await;
    let (status, _) = problem(delete(unused.to_string(), other.admin.clone()).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(
        delete(unused.to_string(), app.keys.admin.clone())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (status, _) = problem(
        app.get(&format!("/v1/connections/{unused}"), &app.keys.read)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let response = delete(used.clone(), app.keys.admin.clone()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let connection: Value = response.json().await.unwrap();
    assert_eq!(connection["status"], "disabled");
    let (_, body) = problem(
        app.create_post(&json!({"targets": [used], "text": "more"}))
            .await,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "connection.disabled");
}

#[tokio::test]
async fn a_telegram_chat_id_may_be_a_number_or_a_string() {
    let app = TestApp::spawn().await;
    let connect = |chat_id: Value| {
        let app = &app;
        async move {
            app.post_json(
                "/v1/connections/telegram",
                &app.keys.admin,
                &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": chat_id, "user": null}),
            )
            .await
        }
    };

    // As Telegram gives it out: a JSON number.
    let response = connect(json!(herald_sim::DEV_CHANNEL_ID)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let by_number: Value = response.json().await.unwrap();
    assert_eq!(by_number["account"]["handle"], "herald_dev_channel");

    // The same channel by its id as a string, and by its name: the same connection.
    for chat_id in [
        json!(herald_sim::DEV_CHANNEL_ID.to_string()),
        json!("@herald_dev_channel"),
    ] {
        let response = connect(chat_id.clone()).await;
        assert_eq!(response.status(), StatusCode::OK, "{chat_id}");
        let again: Value = response.json().await.unwrap();
        assert_eq!(again["id"], by_number["id"], "{chat_id}");
    }

    let (status, body) = problem(connect(json!(true)).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "chat_id", "{body:#}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("Telegram chat id"), "{message}");
}

#[tokio::test]
async fn a_telegram_connection_is_never_moved_to_another_chat_by_connecting_again() {
    const SECOND_CHANNEL: i64 = -1_001_000_000_777;
    let mut sim = herald_sim::SimConfig::default();
    sim.fixtures.telegram.chats.push(herald_sim::TelegramChat {
        id: SECOND_CHANNEL,
        username: Some("herald_second_channel".to_owned()),
        title: "Herald Second Channel".to_owned(),
        kind: "channel".to_owned(),
        members: vec![herald_sim::TelegramMember {
            user_id: 7_000_000_001,
            status: "administrator".to_owned(),
            can_post_messages: true,
        }],
        ..herald_sim::TelegramChat::default()
    });
    let app = TestApp::spawn_with_sim(sim, &[]).await;
    let connect = |chat_id: &'static str, user: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/v1/connections/telegram",
                &app.keys.admin,
                &json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": chat_id, "user": user}),
            )
            .await
        }
    };

    let first = connect("@herald_dev_channel", "customer-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    // The same end user, another chat: refused, and the connection still posts where it did.
    let (status, body) = problem(connect("@herald_second_channel", "customer-1").await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body:#}");
    assert_eq!(body["code"], "account_mismatch", "{body:#}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("@herald_dev_channel") && detail.contains("@herald_second_channel"),
        "names both chats: {detail}"
    );
    let id = first["id"].as_str().unwrap();
    let now: Value = app
        .get(&format!("/v1/connections/{id}"), &app.keys.admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["account"]["handle"], "herald_dev_channel");

    // The same chat again renews the connection; the other chat is its own connection.
    assert_eq!(
        connect("@herald_dev_channel", "customer-1").await.status(),
        StatusCode::OK
    );
    let second = connect("@herald_second_channel", "customer-2").await;
    assert_eq!(second.status(), StatusCode::CREATED);
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["account"]["handle"], "herald_second_channel");
}
