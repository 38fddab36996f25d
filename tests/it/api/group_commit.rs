//! `POST /v1/posts` under concurrency: the posts of concurrent requests share transactions
//! (group commit), and connections are remembered for a moment. What a producer sees must be
//! what it would see one request at a time: every 202 is a stored, dispatched post; a post
//! the store refuses is refused alone; one Idempotency-Key makes one post however many
//! requests race with it; a Postgres cut answers 503 and loses nothing answered 202; and a
//! connection changed in the store is seen within the cache's bound.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use herald_api::AppState;
use herald_config::Config;
use herald_domain::{ConnectionStatus, Platform, Scope};
use herald_platforms::{HttpSettings, Platforms};
use herald_store::{PoolSettings, Store};
use herald_testkit::{TestDb, TestRedis, test_keyring};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use support::app::{TestApp, problem};
use support::eventually;
use support::proxy::TcpProxy;

/// Sends `bodies` at once, each with its Idempotency-Key when it has one; the answers in
/// order, as (status, replayed, body).
async fn post_all(
    app: &TestApp,
    bodies: Vec<(Option<String>, Value)>,
) -> Vec<(StatusCode, bool, Value)> {
    let mut requests = Vec::new();
    for (key, body) in bodies {
        let mut request = app
            .request(reqwest::Method::POST, "/v1/posts", &app.keys.producer)
            .json(&body);
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        requests.push(tokio::spawn(async move {
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let replayed = answer.headers().contains_key("idempotent-replayed");
            (status, replayed, answer.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    answers
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn many_concurrent_posts_are_all_accepted_stored_and_dispatched() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let bodies = (0..80)
        .map(|n| {
            (
                None,
                json!({"targets": [telegram], "text": format!("at once {n}")}),
            )
        })
        .collect();

    let answers = post_all(&app, bodies).await;

    let mut ids = HashSet::new();
    for (n, (status, replayed, body)) in answers.iter().enumerate() {
        assert_eq!(*status, StatusCode::ACCEPTED, "{body:#}");
        assert!(!replayed);
        assert!(ids.insert(body["id"].as_str().unwrap().to_owned()));
        let stored = app
            .get(
                &format!("/v1/posts/{}", body["id"].as_str().unwrap()),
                &app.keys.read,
            )
            .await
            .json::<Value>()
            .await
            .unwrap();
        assert_eq!(
            stored["deliveries"].as_array().unwrap().len(),
            1,
            "{stored:#}"
        );
        assert_eq!(stored["deliveries"][0]["state"], "queued");
        assert_eq!(
            stored["deliveries"][0]["id"], body["deliveries"][0]["id"],
            "post {n} answers what is stored"
        );
    }
    assert_eq!(count(&app, "SELECT count(*) FROM posts").await, 80);
    assert_eq!(count(&app, "SELECT count(*) FROM deliveries").await, 80);
    assert_eq!(
        count(&app, "SELECT count(*) FROM delivery_events").await,
        80,
        "each delivery has its creation event"
    );
    assert_eq!(
        app.queued_jobs().await,
        80,
        "every delivery was pushed to Redis"
    );
}

#[tokio::test]
async fn a_post_the_store_refuses_is_refused_alone_among_concurrent_posts() {
    // Long enough that the deleted connection is surely still remembered when the posts
    // naming it arrive: they pass the check and are refused by the store, in a batch.
    let app = TestApp::spawn_with(&[("HERALD_API__KEY_CACHE_TTL_MS", "5000")]).await;
    let telegram = app.connect_telegram().await;
    let gone = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    // A post without content is refused (422), but the connection was read, and is now
    // remembered.
    let (status, _) = problem(
        app.create_post(&json!({"targets": [gone.to_string()]}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        app.store
            .connections()
            .delete(app.keys.tenant, gone)
            .await
            .unwrap()
    );

    let bodies = (0..60)
        .map(|n| {
            let target = if n % 10 == 3 {
                gone.to_string()
            } else {
                telegram.clone()
            };
            (
                None,
                json!({"targets": [target], "text": format!("mixed {n}")}),
            )
        })
        .collect();
    let answers = post_all(&app, bodies).await;

    for (n, (status, _, body)) in answers.iter().enumerate() {
        if n % 10 == 3 {
            assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
            assert_eq!(body["errors"][0]["code"], "connection.unknown", "{body:#}");
            assert_eq!(body["errors"][0]["field"], "targets[0]", "{body:#}");
            assert_eq!(
                body["errors"][0]["connection_id"],
                gone.to_string(),
                "{body:#}"
            );
        } else {
            assert_eq!(*status, StatusCode::ACCEPTED, "post {n}: {body:#}");
        }
    }
    assert_eq!(count(&app, "SELECT count(*) FROM posts").await, 54);
    assert_eq!(count(&app, "SELECT count(*) FROM deliveries").await, 54);
    assert_eq!(app.queued_jobs().await, 54);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_make_one_post() {
    let app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    let same = json!({"targets": [telegram], "text": "only once"});
    let bodies = (0..30)
        .map(|_| (Some("order-7".to_owned()), same.clone()))
        .collect();

    let answers = post_all(&app, bodies).await;

    let ids: HashSet<&str> = answers
        .iter()
        .map(|(_, _, b)| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one post: {ids:?}");
    for (status, _, body) in &answers {
        assert_eq!(*status, StatusCode::ACCEPTED, "{body:#}");
    }
    let created = answers.iter().filter(|(_, replayed, _)| !replayed).count();
    assert_eq!(created, 1, "one request created it, the others replayed it");
    assert_eq!(count(&app, "SELECT count(*) FROM posts").await, 1);
    assert_eq!(app.queued_jobs().await, 1, "its job was pushed once");

    // Two bodies racing for one key: one of them wins; the other is a conflict.
    let bodies = (0..30)
        .map(|n| {
            let text = if n % 2 == 0 { "even" } else { "odd" };
            (
                Some("order-8".to_owned()),
                json!({"targets": [telegram], "text": text}),
            )
        })
        .collect();
    let answers = post_all(&app, bodies).await;
    let mut winners = HashMap::new();
    for (n, (status, _, body)) in answers.iter().enumerate() {
        match *status {
            StatusCode::ACCEPTED => {
                winners.insert(body["id"].as_str().unwrap().to_owned(), n % 2);
            }
            StatusCode::CONFLICT => assert_eq!(body["code"], "idempotency_conflict", "{body:#}"),
            other => panic!("{other}: {body:#}"),
        }
    }
    assert_eq!(winners.len(), 1, "one post for the key: {winners:?}");
    let parity = winners.values().next().copied().unwrap();
    for (n, (status, _, _)) in answers.iter().enumerate() {
        let expected = if n % 2 == parity {
            StatusCode::ACCEPTED
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(*status, expected, "request {n}");
    }
    assert_eq!(count(&app, "SELECT count(*) FROM posts").await, 2);
}

#[tokio::test]
async fn a_postgres_cut_under_concurrent_posts_answers_503_and_loses_no_post_answered_202() {
    let db = TestDb::new().await;
    let redis = TestRedis::new().await;
    let sim = herald_sim::spawn(herald_sim::SimConfig::default())
        .await
        .unwrap();
    let (proxy, database_url) = TcpProxy::in_front_of(db.url()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config::load_from(
        None,
        [
            ("DATABASE_URL", database_url.as_str()),
            ("REDIS_URL", redis.url()),
            ("HERALD_REDIS_PREFIX", redis.prefix()),
            ("HERALD_PUBLIC_URL", base.as_str()),
            ("HERALD_PLATFORM_BASE_URL", sim.base_url().as_str()),
            ("HERALD_API__RATE_LIMIT_PER_SECOND", "100000"),
            ("HERALD_API__RATE_LIMIT_BURST", "100000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .unwrap();
    // The pool `herald serve` builds: a query waits database_acquire_timeout_ms at most.
    let pool = herald_store::connect_with(
        &database_url,
        PoolSettings {
            acquire_timeout: config.database_acquire_timeout,
            ..PoolSettings::default()
        },
    )
    .await
    .unwrap();
    let store = Store::new(pool, Arc::new(test_keyring()));
    let redis_conn = herald_queue::connect(config.redis_url.expose_secret(), Default::default())
        .await
        .unwrap();
    let platforms = Platforms::new(&config.platforms, &HttpSettings::default()).unwrap();
    let state = AppState::new(config, store, redis_conn, platforms).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(herald_api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    let direct = db.store();
    let (tenant, producer) = direct
        .tenants()
        .create_with_key("acme", &[Scope::Publish, Scope::Read], None)
        .await
        .unwrap();
    let admin = direct
        .api_keys()
        .create(tenant.id, &[Scope::Admin], None)
        .await
        .unwrap();
    let producer = producer.key.expose_secret().to_owned();
    let http = reqwest::Client::new();
    let connected: Value = http
        .post(format!("{base}/v1/connections/telegram"))
        .bearer_auth(admin.key.expose_secret())
        .json(&json!({"bot_token": herald_sim::DEV_BOT_TOKEN, "chat_id": "@herald_dev_channel"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let telegram = connected["id"].as_str().unwrap().to_owned();

    // Twenty producers post back to back, each post with a key of its own, until one is
    // refused; the cut comes once some posts were accepted, while others are in flight.
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut producers = Vec::new();
    for p in 0..20 {
        let (http, base, producer, telegram) = (
            http.clone(),
            base.clone(),
            producer.clone(),
            telegram.clone(),
        );
        let accepted = accepted.clone();
        producers.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for n in 0.. {
                let key = format!("p{p}-{n}");
                let answer = http
                    .post(format!("{base}/v1/posts"))
                    .bearer_auth(&producer)
                    .header("idempotency-key", &key)
                    .json(&json!({"targets": [telegram], "text": format!("post {key}")}))
                    .send()
                    .await
                    .unwrap();
                let status = answer.status();
                let retry_after = answer.headers().contains_key("retry-after");
                let body: Value = answer.json().await.unwrap();
                if status == StatusCode::ACCEPTED {
                    accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    answered.push((key, Some(body["id"].as_str().unwrap().to_owned())));
                    continue;
                }
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body:#}");
                assert_eq!(body["code"], "unavailable", "{body:#}");
                assert!(retry_after, "a 503 says when to try again");
                answered.push((key, None));
                return answered;
            }
            answered
        }));
    }
    let some = eventually(Duration::from_secs(30), || async {
        (accepted.load(std::sync::atomic::Ordering::SeqCst) >= 100).then_some(())
    })
    .await;
    assert!(some.is_some(), "posts are accepted before the cut");
    proxy.cut();
    let mut answered = Vec::new();
    for producer in producers {
        answered.extend(producer.await.unwrap());
    }
    proxy.restore().await;

    // Every 202 is a stored post; every 503, sent again with its key once Postgres is back,
    // is accepted; and each key made exactly one post.
    let refused = answered.iter().filter(|(_, id)| id.is_none()).count();
    assert_eq!(refused, 20, "each producer stopped at its first 503");
    for (key, id) in &answered {
        let stored =
            sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM posts WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(db.pool())
                .await
                .unwrap();
        match id {
            Some(id) => assert_eq!(stored.map(|s| s.to_string()).as_ref(), Some(id), "{key}"),
            None => {
                let again = eventually(Duration::from_secs(10), || async {
                    let answer = http
                        .post(format!("{base}/v1/posts"))
                        .bearer_auth(&producer)
                        .header("idempotency-key", key)
                        .json(&json!({"targets": [telegram], "text": format!("post {key}")}))
                        .send()
                        .await
                        .ok()?;
                    (answer.status() == StatusCode::ACCEPTED).then_some(())
                })
                .await;
                assert!(again.is_some(), "{key} is accepted once Postgres is back");
            }
        }
    }
    let posts: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        posts,
        i64::try_from(answered.len()).unwrap(),
        "one post per key"
    );
    let orphans: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM posts p WHERE NOT EXISTS
             (SELECT 1 FROM deliveries d WHERE d.post_id = p.id)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(orphans, 0, "no post was stored without its delivery");
    let _ = stop.send(());
}

#[tokio::test]
async fn a_connection_disabled_deleted_or_left_without_a_page_is_refused_within_the_cache_bound() {
    let app = TestApp::spawn_with(&[("HERALD_API__KEY_CACHE_TTL_MS", "5000")]).await;
    let telegram = app.connect_telegram().await;
    let x = app
        .insert_connection(app.keys.tenant, Platform::Twitter)
        .await;
    let facebook = app
        .insert_connection(app.keys.tenant, Platform::Facebook)
        .await;
    for target in [telegram.clone(), x.to_string(), facebook.to_string()] {
        app.post_ok(&json!({"targets": [target], "text": "remembered"}))
            .await;
    }
    // Accepted while the connection is still remembered; refused, with the usual 422, once
    // the change is seen.
    let post_to = |target: String| {
        let app = &app;
        async move {
            let answer = app
                .create_post(&json!({"targets": [target], "text": "now?"}))
                .await;
            if answer.status() == StatusCode::ACCEPTED {
                return None;
            }
            let (status, body) = problem(answer).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:#}");
            Some(body["errors"][0]["code"].clone())
        }
    };

    let telegram_id = telegram.parse().unwrap();
    assert!(
        app.store
            .connections()
            .set_status(telegram_id, ConnectionStatus::Disabled)
            .await
            .unwrap()
    );
    let refused = eventually(Duration::from_secs(6), || post_to(telegram.clone())).await;
    assert_eq!(refused, Some(json!("connection.disabled")));

    // A connection with deliveries cannot be deleted: take its posts away first, as a
    // tenant's data is removed.
    sqlx::query(
        "DELETE FROM posts WHERE id IN (SELECT post_id FROM deliveries WHERE connection_id = $1)",
    )
    .bind(x.into_uuid())
    .execute(app.store.pool())
    .await
    .unwrap();
    assert!(
        app.store
            .connections()
            .delete(app.keys.tenant, x)
            .await
            .unwrap()
    );
    let refused = eventually(Duration::from_secs(6), || post_to(x.to_string())).await;
    assert_eq!(refused, Some(json!("connection.unknown")));

    sqlx::query(
        "UPDATE connections SET post_target_type = 'personal', selected_page_id = NULL
         WHERE id = $1",
    )
    .bind(facebook.into_uuid())
    .execute(app.store.pool())
    .await
    .unwrap();
    let refused = eventually(Duration::from_secs(6), || post_to(facebook.to_string())).await;
    assert_eq!(refused, Some(json!("connection.no_page")));
}
