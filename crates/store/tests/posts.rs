//! Posts fan out to deliveries in one transaction, and idempotency keys hold.

mod common;

use chrono::{Duration, Utc};
use herald_domain::{DeliveryState, Platform};
use herald_store::{Idempotency, PostInsert, StoreError};
use herald_testkit::TestDb;

use common::{connection, created, new_connection, new_post, scheduled, tenant, text};

fn with_key(mut post: herald_store::NewPost, key: &str, body: u8) -> herald_store::NewPost {
    post.idempotency = Some(Idempotency {
        key: key.to_owned(),
        request_hash: [body; 32],
    });
    post
}

#[tokio::test]
async fn a_post_creates_one_delivery_per_connection_on_the_connections_platform() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let (telegram, _) = store
        .connections()
        .upsert(&new_connection(tenant_id, Platform::Telegram, Some("u1")))
        .await
        .unwrap();
    let mut post = new_post(tenant_id, &[x.id, telegram.id]);
    post.deliveries[1].content = Some(text("telegram's own text"));

    let post = created(store.posts().insert_post(&post).await.unwrap());

    assert_eq!(post.deliveries.len(), 2);
    let on_telegram = post
        .deliveries
        .iter()
        .find(|d| d.connection_id == telegram.id)
        .unwrap();
    assert_eq!(on_telegram.platform, Platform::Telegram);
    assert_eq!(on_telegram.content, Some(text("telegram's own text")));
    for delivery in &post.deliveries {
        assert_eq!(delivery.state, DeliveryState::Queued);
        let events = store.deliveries().events(delivery.id).await.unwrap();
        assert_eq!(events.len(), 1, "the creation is an event");
        assert_eq!(
            (events[0].from, events[0].to),
            (None, DeliveryState::Queued)
        );
    }
    let read = store
        .posts()
        .get(tenant_id, post.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, post);
}

#[tokio::test]
async fn a_post_for_later_is_scheduled_for_its_publish_time() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let at = Utc::now() + Duration::hours(2);

    let post = created(
        store
            .posts()
            .insert_post(&scheduled(new_post(tenant_id, &[x.id]), at))
            .await
            .unwrap(),
    );

    let delivery = &post.deliveries[0];
    assert_eq!(delivery.state, DeliveryState::Scheduled);
    assert!(
        (delivery.run_at - at).num_milliseconds().abs() < 1,
        "{}",
        delivery.run_at
    );
}

#[tokio::test]
async fn the_same_key_and_body_return_the_first_post_and_another_body_conflicts() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let post = with_key(new_post(tenant_id, &[x.id]), "order-42", 1);

    let first = created(store.posts().insert_post(&post).await.unwrap());
    let replay = store.posts().insert_post(&post).await.unwrap();
    assert_eq!(replay, PostInsert::Replayed(first.clone()));

    let other_body = with_key(new_post(tenant_id, &[x.id]), "order-42", 2);
    let err = store.posts().insert_post(&other_body).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::IdempotencyConflict { key } if key == "order-42"),
        "{err:?}"
    );

    // Keys are per tenant: another tenant may use the same one.
    let other_tenant = tenant(&store).await;
    let theirs = connection(&store, other_tenant, "u1").await;
    let answer = store
        .posts()
        .insert_post(&with_key(
            new_post(other_tenant, &[theirs.id]),
            "order-42",
            2,
        ))
        .await
        .unwrap();
    assert!(matches!(answer, PostInsert::Created(_)));

    let posts: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(posts, 2);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_post() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let post = with_key(new_post(tenant_id, &[x.id]), "double-click", 7);

    let answers = futures::future::join_all((0..8).map(|_| {
        let store = store.clone();
        let post = post.clone();
        tokio::spawn(async move { store.posts().insert_post(&post).await })
    }))
    .await;

    let ids: Vec<_> = answers
        .into_iter()
        .map(|a| match a.unwrap().unwrap() {
            PostInsert::Created(p) | PostInsert::Replayed(p) => p.id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let deliveries: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(deliveries, 1);
}

#[tokio::test]
async fn a_batch_answers_each_post_and_a_conflict_does_not_fail_the_others() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let first = with_key(new_post(tenant_id, &[x.id]), "k", 1);
    store.posts().insert_post(&first).await.unwrap();

    let answers = store
        .posts()
        .insert_posts(&[
            new_post(tenant_id, &[x.id]),
            with_key(new_post(tenant_id, &[x.id]), "k", 9),
            first.clone(),
            with_key(new_post(tenant_id, &[x.id]), "fresh", 1),
            with_key(new_post(tenant_id, &[x.id]), "fresh", 1),
        ])
        .await
        .unwrap();

    assert!(matches!(answers[0], PostInsert::Created(_)));
    assert!(matches!(&answers[1], PostInsert::Conflict { key, .. } if key == "k"));
    assert!(matches!(answers[2], PostInsert::Replayed(_)));
    let (PostInsert::Created(a), PostInsert::Replayed(b)) = (&answers[3], &answers[4]) else {
        panic!("the same key twice in a batch is created once: {answers:?}");
    };
    assert_eq!(a.id, b.id);
}

#[tokio::test]
async fn a_post_to_another_tenants_connection_is_refused_and_writes_nothing() {
    let db = TestDb::new().await;
    let store = db.store();
    let mine = tenant(&store).await;
    let theirs = tenant(&store).await;
    let my_connection = connection(&store, mine, "u1").await;
    let their_connection = connection(&store, theirs, "u1").await;

    let err = store
        .posts()
        .insert_posts(&[
            new_post(mine, &[my_connection.id]),
            new_post(mine, &[my_connection.id, their_connection.id]),
        ])
        .await
        .unwrap_err();

    assert!(
        matches!(err, StoreError::ForeignConnection { connection_id, .. }
            if connection_id == their_connection.id),
        "{err:?}"
    );
    let rows: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM posts) + (SELECT count(*) FROM deliveries)",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(rows, 0);
}
