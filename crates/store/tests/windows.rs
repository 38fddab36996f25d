//! Hard platform windows hold under concurrency.

mod common;

use std::time::Duration;

use herald_domain::ConnectionId;
use herald_store::{Reservation, ReserveRequest, StoreError};
use herald_testkit::TestDb;

use common::{connection, tenant};

const DAY: Duration = Duration::from_secs(24 * 3600);

fn request(connection_id: ConnectionId, limit: i64) -> ReserveRequest<'static> {
    ReserveRequest {
        connection_id,
        bucket: "posts_24h",
        endpoint: "POST /2/tweets",
        delivery_id: None,
        limit,
        window: DAY,
    }
}

#[tokio::test]
async fn twenty_concurrent_reservations_against_a_limit_of_five_reserve_exactly_five() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;

    let answers = futures::future::join_all((0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.windows().reserve(&request(x.id, 5)).await })
    }))
    .await;
    let answers: Vec<Reservation> = answers.into_iter().map(|a| a.unwrap().unwrap()).collect();

    let reserved = answers
        .iter()
        .filter(|a| matches!(a, Reservation::Reserved { .. }))
        .count();
    assert_eq!(reserved, 5);
    let windows = store.windows();
    assert_eq!(
        windows
            .count_in_window(x.id, "posts_24h", DAY)
            .await
            .unwrap(),
        5
    );
    let oldest = windows
        .oldest_in_window(x.id, "posts_24h", DAY)
        .await
        .unwrap()
        .unwrap();
    let frees_at = oldest + chrono::Duration::from_std(DAY).unwrap();
    for answer in answers {
        if let Reservation::Full { frees_at: at } = answer {
            assert_eq!(at, frees_at);
        }
    }
}

#[tokio::test]
async fn failed_requests_still_count_and_windows_are_per_connection_and_bucket() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let y = connection(&store, tenant_id, "u2").await;
    let windows = store.windows();

    let Reservation::Reserved { request_id } = windows.reserve(&request(x.id, 1)).await.unwrap()
    else {
        panic!("an empty window has room");
    };
    assert!(windows.record_status(request_id, 500).await.unwrap());
    assert!(matches!(
        windows.reserve(&request(x.id, 1)).await.unwrap(),
        Reservation::Full { .. }
    ));
    assert!(matches!(
        windows.reserve(&request(y.id, 1)).await.unwrap(),
        Reservation::Reserved { .. }
    ));
    let other_bucket = ReserveRequest {
        bucket: "media_24h",
        ..request(x.id, 1)
    };
    assert!(matches!(
        windows.reserve(&other_bucket).await.unwrap(),
        Reservation::Reserved { .. }
    ));
}

#[tokio::test]
async fn requests_older_than_the_window_no_longer_count() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let short = ReserveRequest {
        window: Duration::from_millis(200),
        ..request(x.id, 1)
    };

    assert!(matches!(
        store.windows().reserve(&short).await.unwrap(),
        Reservation::Reserved { .. }
    ));
    let Reservation::Full { frees_at } = store.windows().reserve(&short).await.unwrap() else {
        panic!("the window is full");
    };
    let wait = (frees_at - chrono::Utc::now()).to_std().unwrap_or_default();
    assert!(wait <= Duration::from_millis(200), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    assert!(matches!(
        store.windows().reserve(&short).await.unwrap(),
        Reservation::Reserved { .. }
    ));
    assert_eq!(
        store
            .windows()
            .prune(Duration::from_millis(200))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn reserving_for_an_unknown_connection_says_so() {
    let db = TestDb::new().await;
    let store = db.store();
    let nobody = ConnectionId::new();
    let err = store
        .windows()
        .reserve(&request(nobody, 5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::UnknownConnection(id) if id == nobody),
        "{err:?}"
    );
}
