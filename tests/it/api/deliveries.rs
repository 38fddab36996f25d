//! GET /v1/deliveries, GET /v1/deliveries/{id}, POST .../retry, POST .../resolve.

use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, ErrorClass, Platform};
use herald_store::{DeliveryError, Transition};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{TestApp, problem};

/// Posts to Telegram and returns the delivery id.
async fn one_delivery(app: &TestApp, connection: &str, text: &str) -> DeliveryId {
    let answer = app
        .post_ok(&json!({"targets": [connection], "text": text}))
        .await;
    answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Claims the delivery as a worker would and moves it on to `to`.
async fn finish_as(app: &TestApp, id: DeliveryId, to: DeliveryState) {
    app.store
        .deliveries()
        .claim(id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let moved = app
        .store
        .deliveries()
        .transition(
            Transition::new(id, &[DeliveryState::Running], to).error(DeliveryError {
                class: if to == DeliveryState::Unknown {
                    ErrorClass::UnknownOutcome
                } else {
                    ErrorClass::Permanent
                },
                code: None,
                message: "it went wrong".into(),
                hint: None,
            }),
        )
        .await
        .unwrap();
    assert!(moved);
}

#[tokio::test]
async fn deliveries_list_newest_first_with_filters_and_cursor_pages() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(one_delivery(&app, &telegram, &format!("post {i}")).await);
    }
    let on_x = one_delivery(&app, &x, "on x").await;
    finish_as(&app, ids[0], DeliveryState::Failed).await;

    let page: Value = app
        .get("/v1/deliveries?limit=2", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(page["data"][0]["id"], on_x.to_string(), "newest first");
    let mut seen = vec![page["data"][0]["id"].clone(), page["data"][1]["id"].clone()];
    let mut cursor = page["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page: Value = app
            .get(
                &format!("/v1/deliveries?limit=2&cursor={cursor}"),
                &app.keys.read,
            )
            .await
            .json()
            .await
            .unwrap();
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "every delivery once across the pages");

    let by_platform: Value = app
        .get("/v1/deliveries?platform=x", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_platform["data"].as_array().unwrap().len(), 1);
    let by_state: Value = app
        .get("/v1/deliveries?state=failed", &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_state["data"][0]["id"], ids[0].to_string());
    assert!(by_state["next_cursor"].is_null());
    let by_connection: Value = app
        .get(
            &format!("/v1/deliveries?connection={telegram}"),
            &app.keys.read,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_connection["data"].as_array().unwrap().len(), 5);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let none: Value = app
        .request(Method::GET, "/v1/deliveries", &app.keys.read)
        .query(&[("since", future.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["data"], json!([]));
}

#[tokio::test]
async fn bad_filters_are_refused_and_lists_are_scoped_to_the_tenant() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    one_delivery(&app, &telegram, "mine").await;
    let (status, body) = problem(
        app.get("/v1/deliveries?state=lost&limit=0", &app.keys.read)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    let (status, _) = problem(app.get("/v1/deliveries?colour=blue", &app.keys.read).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = problem(
        app.get("/v1/deliveries?since=tomorrow", &app.keys.read)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["field"], "since", "{body:#}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("an RFC 3339 time"),
        "{body:#}"
    );

    let other = app.other_tenant().await;
    let theirs: Value = app
        .get("/v1/deliveries", &other.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"], json!([]));
    let (status, _) = problem(app.get("/v1/deliveries", &app.keys.publish).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_delivery_reads_back_with_its_journal_and_events() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let id = one_delivery(&app, &telegram, "hello").await;
    app.store
        .deliveries()
        .claim(id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    app.store
        .journal()
        .begin(id, "publish", None)
        .await
        .unwrap();

    let detail: Value = app
        .get(&format!("/v1/deliveries/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["id"], id.to_string());
    assert_eq!(detail["state"], "running");
    assert_eq!(detail["steps"][0]["step"], "publish");
    assert_eq!(detail["steps"][0]["state"], "sending");
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["delivery.queued", "delivery.running"]);

    let other = app.other_tenant().await;
    let (status, _) = problem(app.get(&format!("/v1/deliveries/{id}"), &other.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = problem(
        app.get(&format!("/v1/deliveries/{id}"), &app.keys.publish)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_failed_delivery_can_be_retried_once_and_only_when_failed_or_dead() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let id = one_delivery(&app, &telegram, "again").await;
    let path = format!("/v1/deliveries/{id}/retry");

    let (status, body) = problem(
        app.request(Method::POST, &path, &app.keys.producer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a queued delivery is not retried"
    );
    assert_eq!(body["code"], "invalid_state");

    finish_as(&app, id, DeliveryState::Failed).await;
    let (status, _) = problem(
        app.request(Method::POST, &path, &app.keys.read)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let other = app.other_tenant().await;
    let (status, _) = problem(
        app.request(Method::POST, &path, &other.publish)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let response = app
        .request(Method::POST, &path, &app.keys.producer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(detail["state"], "queued");
    assert_eq!(detail["attempts"], 0, "attempts start afresh");
    assert_eq!(app.queued_jobs().await, 2, "the post's job and the retry's");
}

#[tokio::test]
async fn an_unknown_outcome_is_resolved_as_published_with_its_url_or_sent_again() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let published = one_delivery(&app, &telegram, "did it go out?").await;
    let again = one_delivery(&app, &telegram, "did this one?").await;
    finish_as(&app, published, DeliveryState::Unknown).await;
    finish_as(&app, again, DeliveryState::Unknown).await;

    let resolve = |id: DeliveryId, body: Value, key: String| {
        let request = app
            .request(Method::POST, &format!("/v1/deliveries/{id}/resolve"), &key)
            .json(&body);
        async move { request.send().await.unwrap() }
    };
    let (status, body) = problem(
        resolve(
            published,
            json!({"outcome": "published"}),
            app.keys.producer.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "published needs its URL"
    );
    assert_eq!(body["errors"][0]["field"], "url");
    let (status, _) = problem(
        resolve(
            published,
            json!({"outcome": "maybe"}),
            app.keys.producer.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = problem(
        resolve(
            published,
            json!({"outcome": "retry", "why": 1}),
            app.keys.producer.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = problem(
        resolve(
            published,
            json!({"outcome": "retry"}),
            app.keys.read.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let url = "https://t.me/herald_dev_channel/42";
    let response = resolve(
        published,
        json!({"outcome": "published", "url": url, "remote_id": "42"}),
        app.keys.producer.clone(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let detail: Value = response.json().await.unwrap();
    assert_eq!(detail["state"], "published");
    assert_eq!(detail["url"], url);
    assert!(detail["error"].is_null());

    let (status, _) = problem(
        resolve(
            published,
            json!({"outcome": "retry"}),
            app.keys.producer.clone(),
        )
        .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only unknown deliveries resolve"
    );

    let detail: Value = resolve(
        again,
        json!({"outcome": "retry"}),
        app.keys.producer.clone(),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(detail["state"], "queued");
}
