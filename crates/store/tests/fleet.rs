//! The fleet's counts behind `/metrics`: which connections count as expiring or needing a
//! reconnect, and which deliveries are due and waiting for a worker.

#![allow(clippy::unwrap_used)]

mod common;

use chrono::{TimeDelta, Utc};
use herald_domain::{ConnectionStatus, Platform};
use herald_store::{HealthCount, Store, TokenHealth};
use herald_testkit::TestDb;

use common::{connection, created, new_connection, new_post, scheduled, tenant, tokens};

/// A connection of `platform` for end user `user`, with a refresh token or not, its access
/// token expiring `expires_in` from now.
async fn connected(
    store: &Store,
    platform: Platform,
    user: &str,
    refresh: bool,
    expires_in: TimeDelta,
) -> herald_domain::ConnectionId {
    let tenant_id = tenant(store).await;
    let mut new = new_connection(tenant_id, platform, Some(user));
    new.tokens = tokens("access", refresh.then_some("refresh"));
    new.tokens.expires_at = Some(Utc::now() + expires_in);
    store.connections().upsert(&new).await.unwrap().0.id
}

fn count(counts: &[HealthCount], platform: Platform, health: TokenHealth) -> i64 {
    counts
        .iter()
        .find(|c| c.platform == platform && c.health == health)
        .map_or(0, |c| c.count)
}

#[tokio::test]
async fn a_token_herald_cannot_refresh_is_expiring_a_day_ahead_and_a_refused_one_needs_reconnect() {
    let db = TestDb::new().await;
    let store = db.store();
    let hour = TimeDelta::hours(1);
    // X without a refresh token: expiring within the day, or already expired.
    connected(&store, Platform::Twitter, "soon", false, hour * 2).await;
    connected(&store, Platform::Twitter, "expired", false, -hour).await;
    // ...but not when the expiry is days away, or when Herald can refresh it.
    connected(&store, Platform::Twitter, "later", false, hour * 72).await;
    connected(&store, Platform::Twitter, "refreshable", true, hour).await;
    // Meta tokens Herald extends itself: never expiring here.
    connected(&store, Platform::Facebook, "meta", false, hour).await;
    // Refused for good, and disabled (not counted at all).
    let refused = connected(&store, Platform::Linkedin, "refused", true, hour * 72).await;
    store
        .connections()
        .mark_needs_reconnect(refused, "revoked")
        .await
        .unwrap();
    let disabled = connected(&store, Platform::Linkedin, "disabled", true, hour * 72).await;
    store
        .connections()
        .set_status(disabled, ConnectionStatus::Disabled)
        .await
        .unwrap();

    let counts = store.fleet().connection_health().await.unwrap();
    assert_eq!(count(&counts, Platform::Twitter, TokenHealth::Expiring), 2);
    assert_eq!(count(&counts, Platform::Twitter, TokenHealth::Ok), 2);
    assert_eq!(count(&counts, Platform::Facebook, TokenHealth::Ok), 1);
    assert_eq!(count(&counts, Platform::Facebook, TokenHealth::Expiring), 0);
    assert_eq!(
        count(&counts, Platform::Linkedin, TokenHealth::NeedsReconnect),
        1
    );
    assert_eq!(count(&counts, Platform::Linkedin, TokenHealth::Ok), 0);
    assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 6);
}

#[tokio::test]
async fn only_deliveries_whose_time_has_come_are_due_and_the_oldest_is_named() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "user-1").await;
    let started = Utc::now();
    let mut ids = Vec::new();
    for post in [
        new_post(tenant_id, &[x.id]),
        new_post(tenant_id, &[x.id]),
        scheduled(new_post(tenant_id, &[x.id]), started + TimeDelta::hours(1)),
    ] {
        let post = created(store.posts().insert_post(&post).await.unwrap());
        ids.push(post.deliveries[0].id);
    }

    let due = store.fleet().due_deliveries().await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].platform, Platform::Twitter);
    assert_eq!(due[0].count, 2, "the scheduled one is not due yet");
    assert!(
        due[0].oldest_run_at <= Utc::now()
            && due[0].oldest_run_at >= started - TimeDelta::seconds(5),
        "{due:?}"
    );

    // A running delivery is not waiting for a worker.
    let claimed = store
        .deliveries()
        .claim(ids[0], "worker-1", std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(claimed.is_some());
    let due = store.fleet().due_deliveries().await.unwrap();
    assert_eq!(due[0].count, 1);
}
