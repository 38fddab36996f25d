//! POST /v1/posts, GET /v1/posts, GET /v1/posts/{id}, POST /v1/posts/{id}/cancel.

use chrono::{Duration as TimeDelta, Utc};
use herald_domain::{DeliveryState, Platform};
use herald_store::Transition;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use support::app::{RedisProxy, TestApp, problem};

#[tokio::test]
async fn a_post_is_accepted_with_one_queued_delivery_per_target_and_dispatched() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();

    let answer = app
        .post_ok(&json!({"targets": [telegram, x], "text": "Hello from Herald"}))
        .await;

    let deliveries = answer["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(answer["id"].is_string());
    for (delivery, (platform, connection)) in deliveries
        .iter()
        .zip([("telegram", &telegram), ("twitter", &x)])
    {
        assert_eq!(delivery["platform"], platform);
        assert_eq!(delivery["connection_id"], connection.as_str());
        assert_eq!(delivery["state"], "queued");
        assert!(delivery["run_at"].is_string() && delivery["id"].is_string());
    }
    assert_eq!(answer["state"], "queued");
    assert_eq!(
        app.queued_jobs().await,
        2,
        "each delivery was pushed to Redis"
    );
}

#[tokio::test]
async fn a_target_can_carry_its_own_text() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let answer = app
        .post_ok(&json!({
            "targets": [{"connection_id": telegram, "text": "Telegram's own words"}],
            "text": "Everyone else's words",
        }))
        .await;
    let id = answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = app.store.deliveries().get(id).await.unwrap().unwrap();
    assert_eq!(
        stored.content.unwrap().text.as_deref(),
        Some("Telegram's own words")
    );
}

#[tokio::test]
async fn every_broken_rule_is_listed_with_its_target_and_field() {
    let app = TestApp::spawn().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let instagram = app
        .insert_connection(app.keys.tenant, Platform::Instagram)
        .await
        .to_string();
    let unknown = uuid::Uuid::now_v7().to_string();

    let response = app
        .create_post(&json!({
            "targets": [x, instagram, unknown, "not-an-id", 42],
            "text": "x".repeat(300),
            "thread": ["", "fine"],
        }))
        .await;

    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "validation_failed");
    let errors = body["errors"].as_array().unwrap();
    let has = |target: usize, field: &str, code: &str| {
        errors
            .iter()
            .any(|e| e["target"] == target && e["field"] == field && e["code"] == code)
    };
    assert!(has(0, "text", "text.too_long"), "{body:#}");
    assert!(has(0, "thread[0]", "text.required"), "{body:#}");
    assert!(has(1, "media", "media.required"), "{body:#}");
    assert!(has(1, "thread", "thread.unsupported"), "{body:#}");
    assert!(has(2, "targets[2]", "connection.unknown"), "{body:#}");
    assert!(has(3, "targets[3]", "connection.invalid_id"), "{body:#}");
    assert!(has(4, "targets[4]", "target.invalid"), "{body:#}");
    let x_error = errors.iter().find(|e| e["target"] == 0).unwrap();
    assert_eq!(x_error["platform"], "twitter");
    assert_eq!(x_error["connection_id"], x.as_str());
    assert_eq!(
        app.queued_jobs().await,
        0,
        "nothing was written or dispatched"
    );
}

#[tokio::test]
async fn a_post_needs_targets_and_each_only_once() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let (status, body) =
        problem(app.create_post(&json!({"targets": [], "text": "hi"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "targets.required");

    let (_, body) = problem(
        app.create_post(&json!({"targets": [telegram, telegram], "text": "hi"}))
            .await,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "connection.duplicate");
    assert_eq!(body["errors"][0]["target"], 1);
}

#[tokio::test]
async fn publish_at_in_the_past_means_now_and_in_the_future_schedules() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let past = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let answer = app
        .post_ok(&json!({"targets": [telegram], "text": "late", "publish_at": past}))
        .await;
    assert_eq!(answer["deliveries"][0]["state"], "queued");
    assert!(
        answer["publish_at"].is_null(),
        "the past is now: {answer:#}"
    );

    let tomorrow = Utc::now() + TimeDelta::days(1);
    let answer = app
        .post_ok(
            &json!({"targets": [telegram], "text": "soon", "publish_at": tomorrow.to_rfc3339()}),
        )
        .await;
    assert_eq!(answer["state"], "scheduled");
    assert_eq!(answer["deliveries"][0]["state"], "scheduled");
    let run_at: chrono::DateTime<Utc> = answer["deliveries"][0]["run_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((run_at - tomorrow).num_seconds().abs() <= 1);
}

#[tokio::test]
async fn publish_at_beyond_the_horizon_is_refused() {
    let app = TestApp::spawn_with(&[("HERALD_API__MAX_SCHEDULE_AHEAD_DAYS", "7")]).await;
    let telegram = app.connect_telegram().await;
    let far = (Utc::now() + TimeDelta::days(8)).to_rfc3339();
    let (status, body) = problem(
        app.create_post(&json!({"targets": [telegram], "text": "later", "publish_at": far}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "publish_at");
    assert_eq!(body["errors"][0]["code"], "publish_at.too_far");
}

#[tokio::test]
async fn unknown_fields_malformed_json_and_other_content_types_are_refused_clearly() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;

    let (status, body) = problem(
        app.create_post(&json!({"targets": [telegram], "txt": "typo"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("unknown field `txt`"), "{message}");

    let response = app
        .request(Method::POST, "/v1/posts", &app.keys.producer)
        .header("content-type", "application/json")
        .body("{\"targets\": [")
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "malformed_json");

    let (status, body) = problem(
        app.create_post(
            &json!({"targets": [telegram], "text": "a\u{0}b", "metadata": {"k\u{0}": 1}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "NUL cannot be stored"
    );
    assert!(body["detail"].as_str().unwrap().contains("NUL"));

    let response = app
        .request(Method::POST, "/v1/posts", &app.keys.producer)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    let (status, _) = problem(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn posting_needs_a_key_with_the_publish_scope() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let body = json!({"targets": [telegram], "text": "hi"});

    let response = app
        .http
        .post(app.url("/v1/posts"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, problem_body) = problem(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_body["code"], "unauthorized");

    let (status, _) = problem(app.post_json("/v1/posts", "hrld_not_a_key", &body).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, problem_body) =
        problem(app.post_json("/v1/posts", &app.keys.read, &body).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem_body["code"], "insufficient_scope");

    let response = app.post_json("/v1/posts", &app.keys.publish, &body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn another_tenants_connections_and_posts_are_not_found() {
    let app = TestApp::spawn().await;
    let other = app.other_tenant().await;
    let theirs = app.insert_connection(other.tenant, Platform::Twitter).await;
    let (status, body) = problem(
        app.create_post(&json!({"targets": [theirs.to_string()], "text": "hi"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "connection.unknown");

    let telegram = app.connect_telegram().await;
    let mine = app
        .post_ok(&json!({"targets": [telegram], "text": "mine"}))
        .await;
    let path = format!("/v1/posts/{}", mine["id"].as_str().unwrap());
    let (status, _) = problem(app.get(&path, &other.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = problem(
        app.request(Method::POST, &format!("{path}/cancel"), &other.publish)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_post_reads_back_with_its_deliveries_and_last_errors() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let answer = app
        .post_ok(&json!({"targets": [telegram], "text": "hi", "metadata": {"campaign": "launch"}}))
        .await;
    let id = answer["id"].as_str().unwrap();
    let delivery: herald_domain::DeliveryId = answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // A worker claims it and the platform refuses it for good.
    app.store
        .deliveries()
        .claim(delivery, "test-worker", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    app.store
        .deliveries()
        .transition(
            Transition::new(delivery, &[DeliveryState::Running], DeliveryState::Failed).error(
                herald_store::DeliveryError {
                    class: herald_domain::ErrorClass::Permanent,
                    code: Some("403".into()),
                    message: "bot is not a member of the channel".into(),
                    hint: Some("Add the bot as an admin".into()),
                },
            ),
        )
        .await
        .unwrap();

    let post: Value = app
        .get(&format!("/v1/posts/{id}"), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(post["id"], id);
    assert_eq!(post["state"], "failed");
    assert_eq!(post["metadata"]["campaign"], "launch");
    let d = &post["deliveries"][0];
    assert_eq!(d["state"], "failed");
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["error"]["class"], "permanent");
    assert_eq!(d["error"]["code"], "403");
    assert_eq!(d["error"]["hint"], "Add the bot as an admin");
    assert_eq!(d["degraded"], json!([]));

    let (status, _) = problem(app.get(&format!("/v1/posts/{id}"), &app.keys.publish).await).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "reading needs the read scope"
    );
    let (status, _) = problem(app.get("/v1/posts/nope", &app.keys.read).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cancelling_stops_what_has_not_started_and_says_what_could_not_be_cancelled() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await
        .to_string();
    let answer = app
        .post_ok(&json!({"targets": [telegram, x], "text": "oops"}))
        .await;
    let started: herald_domain::DeliveryId = answer["deliveries"][1]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    app.store
        .deliveries()
        .claim(started, "test-worker", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();

    let path = format!("/v1/posts/{}/cancel", answer["id"].as_str().unwrap());
    let (status, _) = problem(
        app.request(Method::POST, &path, &app.keys.read)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let response = app
        .request(Method::POST, &path, &app.keys.producer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["cancelled"], json!([answer["deliveries"][0]["id"]]));
    assert_eq!(
        body["not_cancelled"][0]["id"],
        answer["deliveries"][1]["id"]
    );
    assert_eq!(body["not_cancelled"][0]["state"], "running");
    assert_eq!(body["post"]["deliveries"][0]["state"], "cancelled");
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_answer_the_original_post() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let body = json!({"targets": [telegram], "text": "once"});
    let send = |body: Value| {
        app.request(Method::POST, "/v1/posts", &app.keys.producer)
            .header("idempotency-key", "order-42")
            .json(&body)
            .send()
    };
    let first: Value = send(body.clone()).await.unwrap().json().await.unwrap();
    let again = send(json!({"text": "once", "targets": [telegram]}))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["deliveries"][0]["id"], first["deliveries"][0]["id"]);

    // Unset fields sent as nulls, the way a generated client sends them: the same request.
    let with_nulls = send(json!({
        "targets": [telegram],
        "text": "once",
        "thread": null,
        "media": null,
        "publish_at": null,
        "metadata": null,
    }))
    .await
    .unwrap();
    assert_eq!(with_nulls.status(), StatusCode::ACCEPTED);
    assert_eq!(with_nulls.headers()["idempotent-replayed"], "true");

    let (status, problem_body) = problem(
        send(json!({"targets": [telegram], "text": "twice"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem_body["code"], "idempotency_conflict");
    assert_eq!(app.queued_jobs().await, 1, "one post, dispatched once");
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_create_one_post() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let body = json!({"targets": [telegram], "text": "racing"});
    let requests = (0..12).map(|_| {
        app.request(Method::POST, "/v1/posts", &app.keys.producer)
            .header("idempotency-key", "race-1")
            .json(&body)
            .send()
    });
    let answers = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), StatusCode::ACCEPTED);
        let body: Value = answer.json().await.unwrap();
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every request got the one post: {ids:?}");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(app.queued_jobs().await, 1);
}

#[tokio::test]
async fn a_bad_idempotency_key_is_refused() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let response = app
        .request(Method::POST, "/v1/posts", &app.keys.producer)
        .header("idempotency-key", "x".repeat(300))
        .json(&json!({"targets": [telegram], "text": "hi"}))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_idempotency_key");
}

#[tokio::test]
async fn a_connection_that_posts_as_a_page_needs_its_page_selected_first() {
    let app = TestApp::spawn().await;
    let (connection, _) = app
        .store
        .connections()
        .upsert(&herald_store::NewConnection {
            tenant_id: app.keys.tenant,
            external_user_id: None,
            platform: Platform::Facebook,
            app_type: None,
            post_target_type: herald_domain::PostTargetType::Personal,
            selected_page_id: None,
            account_id: "100000000000001".into(),
            account_name: None,
            account_handle: None,
            scopes: vec![],
            rate_tier: None,
            tokens: herald_store::Tokens {
                access_token: "a-user-token-long-enough-to-seal".to_owned().into(),
                refresh_token: None,
                expires_at: None,
            },
        })
        .await
        .unwrap();
    let (_, body) = problem(
        app.create_post(&json!({"targets": [connection.id.to_string()], "text": "hi"}))
            .await,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "connection.no_page");
}

#[tokio::test]
async fn a_post_is_still_accepted_while_redis_is_down_and_waits_in_postgres() {
    let _serial = support::serial().await;
    let redis = herald_testkit::TestRedis::new().await;
    let proxy = RedisProxy::start(redis.url()).await;
    let app = TestApp::spawn_with(&[("REDIS_URL", proxy.url.as_str())]).await;
    let telegram = app.connect_telegram().await;
    proxy.cut();

    let started = std::time::Instant::now();
    let answer = app
        .post_ok(&json!({"targets": [telegram], "text": "no Redis"}))
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "answered promptly"
    );
    assert_eq!(answer["deliveries"][0]["state"], "queued");
    let id = answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = app.store.deliveries().get(id).await.unwrap().unwrap();
    assert_eq!(
        stored.state,
        DeliveryState::Queued,
        "the sweeper will dispatch it from Postgres"
    );
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_names_the_field_and_the_expected_form() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let refused = |body: Value| {
        let app = &app;
        async move {
            let (status, body) = problem(app.create_post(&body).await).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
            let error = body["errors"][0].clone();
            (
                error["field"].as_str().unwrap().to_owned(),
                error["message"].as_str().unwrap().to_owned(),
            )
        }
    };

    let (field, message) =
        refused(json!({"targets": [telegram], "text": "hi", "publish_at": "tomorrow"})).await;
    assert_eq!(field, "publish_at");
    assert!(
        message.contains("an RFC 3339 time, e.g. 2026-12-03T09:00:00Z"),
        "{message}"
    );
    assert!(!message.contains("invalid characters"), "{message}");

    let (field, message) = refused(json!({"targets": [telegram], "thread": "one"})).await;
    assert_eq!(field, "thread");
    assert!(message.contains("expected a sequence"), "{message}");

    let (field, message) = refused(json!({
        "targets": [{"connection_id": telegram, "media": [{"url": 5}]}],
        "text": "hi",
    }))
    .await;
    assert_eq!(field, "targets[0].media[0].url");
    assert!(message.contains("expected a string"), "{message}");

    let (field, message) = refused(json!({
        "targets": [{"connection_id": telegram, "txt": "hi"}],
    }))
    .await;
    assert_eq!(field, "targets[0].txt");
    assert!(message.contains("unknown field `txt`"), "{message}");
}

#[tokio::test]
async fn null_in_an_optional_field_means_not_given() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    // The way a generated client sends a request: every unset optional field as null.
    let answer = app
        .post_ok(&json!({
            "targets": [{"connection_id": telegram, "text": null, "thread": null, "media": null}],
            "text": "The post's own words",
            "thread": null,
            "media": [{"url": "https://cdn.example.com/a.png", "media_id": null}],
            "publish_at": null,
            "metadata": null,
        }))
        .await;
    assert_eq!(answer["state"], "queued", "null publish_at: now");
    assert_eq!(answer["metadata"], json!({}));
    let id = answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let stored = app.store.deliveries().get(id).await.unwrap().unwrap();
    assert!(
        stored.content.is_none(),
        "an override of nulls inherits the post's content: {:?}",
        stored.content
    );
    let post = app
        .store
        .posts()
        .get(
            app.keys.tenant,
            answer["id"].as_str().unwrap().parse().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(post.content.text.as_deref(), Some("The post's own words"));
    assert_eq!(post.content.media.len(), 1);
}

/// Creates a post to `connection` and returns its answer.
async fn post_with(app: &TestApp, connection: &str, extra: Value) -> Value {
    let mut body = json!({"targets": [connection], "text": "listed"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    app.post_ok(&body).await
}

/// `GET /v1/posts` with these query pairs, as the read key; the page.
async fn list(app: &TestApp, query: &[(&str, &str)]) -> Value {
    let response = app
        .request(Method::GET, "/v1/posts", &app.keys.read)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn posts_list_newest_first_in_cursor_pages_without_gaps_or_duplicates() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let mut created = Vec::new();
    for _ in 0..7 {
        let post = post_with(&app, &telegram, json!({})).await;
        created.push(post["id"].as_str().unwrap().to_owned());
    }
    created.reverse();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "3")];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor));
        }
        let page = list(&app, &query).await;
        pages += 1;
        seen.extend(ids(&page));
        let first = &page["data"][0];
        assert_eq!(first["state"], "queued");
        assert_eq!(first["deliveries"][0]["connection_id"], telegram.as_str());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created, "every post once, newest first");

    let all = list(&app, &[]).await;
    assert_eq!(ids(&all), created, "the default page holds them all");
    assert!(all["next_cursor"].is_null());

    // Each item is what GET /v1/posts/{id} answers.
    let one: Value = app
        .get(&format!("/v1/posts/{}", created[0]), &app.keys.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["data"][0], one);

    // Another tenant sees none of them.
    let other = app.other_tenant().await;
    let theirs: Value = app
        .get("/v1/posts", &other.read)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["data"], json!([]));
    assert!(theirs["next_cursor"].is_null());
}

#[tokio::test]
async fn posts_filter_by_state_creation_time_and_metadata() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let tomorrow = (Utc::now() + TimeDelta::days(1)).to_rfc3339();
    let scheduled = post_with(
        &app,
        &telegram,
        json!({"publish_at": tomorrow, "metadata": {"campaign": "spring", "team": "growth"}}),
    )
    .await;
    let queued = post_with(&app, &telegram, json!({"metadata": {"campaign": "autumn"}})).await;
    let cancelled = post_with(
        &app,
        &telegram,
        json!({"publish_at": tomorrow, "metadata": {"campaign": "spring", "n": 1}}),
    )
    .await;
    let id = |post: &Value| post["id"].as_str().unwrap().to_owned();
    let response = app
        .request(
            Method::POST,
            &format!("/v1/posts/{}/cancel", id(&cancelled)),
            &app.keys.producer,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let by = |query: &'static [(&'static str, &'static str)]| list(&app, query);
    assert_eq!(ids(&by(&[("state", "scheduled")]).await), [id(&scheduled)]);
    assert_eq!(ids(&by(&[("state", "queued")]).await), [id(&queued)]);
    assert_eq!(ids(&by(&[("state", "cancelled")]).await), [id(&cancelled)]);
    assert!(ids(&by(&[("state", "published")]).await).is_empty());
    // The state filter applies before the page is cut: the oldest post, on a page of one.
    let first = by(&[("state", "scheduled"), ("limit", "1")]).await;
    assert_eq!(ids(&first), [id(&scheduled)]);
    assert!(first["next_cursor"].is_null(), "{first:#}");

    assert_eq!(
        ids(&by(&[("metadata[campaign]", "spring")]).await),
        [id(&cancelled), id(&scheduled)]
    );
    assert_eq!(
        ids(&by(&[
            ("metadata[campaign]", "spring"),
            ("metadata[team]", "growth")
        ])
        .await),
        [id(&scheduled)]
    );
    assert!(ids(&by(&[("metadata[campaign]", "winter")]).await).is_empty());

    let at = |post: &Value| post["created_at"].as_str().unwrap().to_owned();
    let since = list(&app, &[("since", &at(&queued))]).await;
    assert_eq!(ids(&since), [id(&cancelled), id(&queued)]);
    let until = list(&app, &[("until", &at(&queued))]).await;
    assert_eq!(ids(&until), [id(&scheduled)]);
    let window = list(
        &app,
        &[("since", &at(&scheduled)), ("until", &at(&cancelled))],
    )
    .await;
    assert_eq!(ids(&window), [id(&queued), id(&scheduled)]);
}

#[tokio::test]
async fn a_bad_posts_filter_is_refused_naming_the_parameter() {
    let app = TestApp::spawn().await;
    let refused = |query: &'static str| {
        let app = &app;
        async move {
            let (status, body) =
                problem(app.get(&format!("/v1/posts?{query}"), &app.keys.read).await).await;
            let error = &body["errors"][0];
            (
                status,
                error["field"].as_str().unwrap_or_default().to_owned(),
                error["message"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };

    let (status, field, message) = refused("state=sent").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field, "state");
    assert!(
        message.contains("scheduled, queued, in_progress, published"),
        "{message}"
    );

    for (query, name) in [("since=tomorrow", "since"), ("until=2026-13-01", "until")] {
        let (status, field, message) = refused(query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(field, name);
        assert!(message.contains("RFC 3339"), "{message}");
    }
    for (query, name) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=nope", "cursor"),
    ] {
        let (status, field, _) = refused(query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(field, name, "{query}");
    }
    for (query, name) in [
        ("colour=red", "colour"),
        ("state=queued&state=failed", "state"),
        ("metadata[]=x", "metadata[]"),
    ] {
        let (status, field, _) = refused(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(field, name, "{query}");
    }

    let response = app.get("/v1/posts", &app.keys.publish).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "listing needs `read`"
    );
}
