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
async fn concurrent_batches_sharing_keys_in_opposite_orders_both_complete() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    for round in 0..10 {
        let keys: Vec<String> = (0..6).map(|k| format!("r{round}-k{k}")).collect();
        let batch = |reversed: bool| {
            let mut posts: Vec<_> = keys
                .iter()
                .map(|k| with_key(new_post(tenant_id, &[x.id]), k, 1))
                .collect();
            if reversed {
                posts.reverse();
            }
            let store = store.clone();
            tokio::spawn(async move { store.posts().insert_posts(&posts).await })
        };
        let (a, b) = (batch(false), batch(true));
        let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
        let id = |answer: &PostInsert| match answer {
            PostInsert::Created(p) | PostInsert::Replayed(p) => p.id,
            other => panic!("{other:?}"),
        };
        for k in 0..6 {
            assert_eq!(id(&a[k]), id(&b[5 - k]), "key {k}: one post");
        }
    }
    let posts: i64 = sqlx::query_scalar("SELECT count(*) FROM posts")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(posts, 60);
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

/// Sets a delivery's state directly, keeping the table's invariants (a lease while running,
/// `finished_at` once final), so any combination of states can be listed.
async fn force_state(db: &TestDb, id: herald_domain::DeliveryId, state: DeliveryState) {
    sqlx::query(
        "UPDATE deliveries
         SET state = $2,
             lease_owner = CASE WHEN $2 = 'running' THEN 'test' END,
             lease_expires_at = CASE WHEN $2 = 'running' THEN now() + interval '1 minute' END,
             finished_at = CASE WHEN $3 THEN now() END
         WHERE id = $1",
    )
    .bind(id.into_uuid())
    .bind(state.as_str())
    .bind(state.is_final())
    .execute(db.pool())
    .await
    .expect("the delivery's state is set");
}

#[tokio::test]
async fn listing_by_state_derives_each_posts_state_as_the_domain_does() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let a = connection(&store, tenant_id, "a").await;
    let b = connection(&store, tenant_id, "b").await;
    let states = DeliveryState::ALL;
    // Every pair of delivery states (and each state alone), with the state the domain gives it.
    let mut expected = Vec::new();
    for (i, first) in states.iter().enumerate() {
        for second in std::iter::once(None).chain(states[i..].iter().map(Some)) {
            let targets: Vec<_> = match second {
                None => vec![a.id],
                Some(_) => vec![a.id, b.id],
            };
            let post = created(
                store
                    .posts()
                    .insert_post(&new_post(tenant_id, &targets))
                    .await
                    .unwrap(),
            );
            let wanted: Vec<DeliveryState> =
                std::iter::once(*first).chain(second.copied()).collect();
            for (delivery, state) in post.deliveries.iter().zip(&wanted) {
                force_state(&db, delivery.id, *state).await;
            }
            expected.push((post.id, herald_domain::PostState::of(wanted)));
        }
    }

    for state in herald_domain::PostState::ALL {
        let filter = herald_store::PostFilter {
            state: Some(*state),
            ..Default::default()
        };
        let listed = store.posts().list(tenant_id, &filter, 1000).await.unwrap();
        let mut got: Vec<_> = listed.iter().map(|p| p.id).collect();
        got.sort();
        let mut want: Vec<_> = expected
            .iter()
            .filter(|(_, s)| s == state)
            .map(|(id, _)| *id)
            .collect();
        want.sort();
        assert_eq!(got, want, "posts listed as {state}");
        for post in &listed {
            let derived = herald_domain::PostState::of(post.deliveries.iter().map(|d| d.state));
            assert_eq!(derived, *state);
        }
    }
}
