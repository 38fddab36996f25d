//! Reads on behalf of a tenant: by id, counts and cursors only ever see that tenant's rows.

mod common;

use std::time::Duration;

use herald_domain::{DeliveryState, Platform, Scope};
use herald_store::{DeliveryCount, Outcome, Reservation, ReserveRequest, Store, Transition};
use herald_testkit::TestDb;

use common::{connection, queued_delivery, tenant};

#[tokio::test]
async fn another_tenants_delivery_or_connection_is_not_found_by_id() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let other = tenant(&store).await;

    let deliveries = store.deliveries();
    let own = deliveries
        .get_for_tenant(delivery.tenant_id, delivery.id)
        .await
        .unwrap();
    assert_eq!(own.as_ref().map(|d| d.id), Some(delivery.id));
    assert_eq!(
        deliveries.get_for_tenant(other, delivery.id).await.unwrap(),
        None
    );

    let connections = store.connections();
    let own = connections
        .get_for_tenant(delivery.tenant_id, delivery.connection_id)
        .await
        .unwrap();
    assert_eq!(own.map(|c| c.id), Some(delivery.connection_id));
    assert!(
        connections
            .get_for_tenant(other, delivery.connection_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn counts_and_the_event_cursor_are_per_tenant() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let tenant_id = delivery.tenant_id;
    let other = tenant(&store).await;
    let deliveries = store.deliveries();

    let queued = DeliveryCount {
        platform: Platform::Twitter,
        state: DeliveryState::Queued,
        count: 1,
    };
    assert_eq!(
        deliveries.count_by_state(tenant_id).await.unwrap(),
        vec![queued]
    );
    assert_eq!(deliveries.count_by_state(other).await.unwrap(), vec![]);
    assert_eq!(
        deliveries.count_by_state_all_tenants().await.unwrap(),
        vec![queued]
    );
    let cursor = deliveries.last_event_id(tenant_id).await.unwrap();
    assert!(cursor > 0, "the delivery's creation is an event");
    assert_eq!(deliveries.last_event_id(other).await.unwrap(), 0);

    let hour = Duration::from_secs(3600);
    assert_eq!(
        deliveries.published_within(tenant_id, hour).await.unwrap(),
        0
    );
    publish(&store, &delivery).await;
    assert_eq!(
        deliveries.published_within(tenant_id, hour).await.unwrap(),
        1
    );
    assert_eq!(deliveries.published_within(other, hour).await.unwrap(), 0);
    assert!(deliveries.last_event_id(tenant_id).await.unwrap() > cursor);
    assert_eq!(
        deliveries.count_by_state(tenant_id).await.unwrap(),
        vec![DeliveryCount {
            state: DeliveryState::Published,
            ..queued
        }]
    );
}

async fn publish(store: &Store, delivery: &herald_store::Delivery) {
    store
        .deliveries()
        .claim(delivery.id, "worker-a", Duration::from_secs(60))
        .await
        .expect("the claim runs")
        .expect("claimed");
    let published = Transition::new(
        delivery.id,
        &[DeliveryState::Running],
        DeliveryState::Published,
    )
    .by_lease_owner("worker-a")
    .outcome(Outcome {
        remote_id: Some("1790".to_owned()),
        ..Outcome::default()
    });
    assert!(
        store
            .deliveries()
            .transition(published)
            .await
            .expect("the transition runs")
    );
}

#[tokio::test]
async fn a_key_is_live_for_its_own_tenant_until_revoked() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let other = tenant(&store).await;
    let key = store
        .api_keys()
        .create(tenant_id, &[Scope::Read], None)
        .await
        .unwrap();
    let keys = store.api_keys();
    assert!(keys.is_live(tenant_id, key.id).await.unwrap());
    assert!(!keys.is_live(other, key.id).await.unwrap());
    assert!(keys.revoke(tenant_id, key.id).await.unwrap());
    assert!(!keys.is_live(tenant_id, key.id).await.unwrap());
}

#[tokio::test]
async fn a_connections_used_window_counts_every_bucket_and_only_its_own() {
    let db = TestDb::new().await;
    let store = db.store();
    store.ping().await.expect("Postgres answers");
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "user-x").await;
    let y = connection(&store, tenant_id, "user-y").await;
    for (bucket, connection_id) in [
        ("posts_24h", x.id),
        ("posts_15m", x.id),
        ("posts_24h", y.id),
    ] {
        let answer = store
            .windows()
            .reserve(&ReserveRequest {
                connection_id,
                bucket,
                endpoint: "POST /2/tweets",
                delivery_id: None,
                limit: 10,
                window: Duration::from_secs(3600),
            })
            .await
            .unwrap();
        assert!(matches!(answer, Reservation::Reserved { .. }), "{answer:?}");
    }
    let windows = store.windows();
    let hour = Duration::from_secs(3600);
    assert_eq!(windows.used_in_window(x.id, hour).await.unwrap(), 2);
    assert_eq!(windows.used_in_window(y.id, hour).await.unwrap(), 1);
}
