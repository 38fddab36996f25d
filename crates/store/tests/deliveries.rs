//! Guarded transitions: a delivery is owned by one worker at a time, and a move whose
//! precondition does not hold changes nothing.

mod common;

use std::time::Duration;

use chrono::Utc;
use herald_domain::{DeliveryState, ErrorClass};
use herald_store::{Attempts, DeliveryError, Outcome, StoreError, Transition};
use herald_testkit::TestDb;

use common::{connection, created, new_post, queued_delivery, scheduled, tenant};

const LEASE: Duration = Duration::from_secs(60);
const RUNNING: &[DeliveryState] = &[DeliveryState::Running];

#[tokio::test]
async fn a_second_claim_of_the_same_delivery_finds_nothing() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;

    let claimed = store
        .deliveries()
        .claim(delivery.id, "worker-a", LEASE)
        .await
        .unwrap();
    let claimed = claimed.expect("a queued, due delivery can be claimed");
    assert_eq!(claimed.from, DeliveryState::Queued);
    assert_eq!(claimed.delivery.state, DeliveryState::Running);
    assert_eq!(claimed.delivery.attempts, 1);
    assert_eq!(claimed.delivery.lease_owner.as_deref(), Some("worker-a"));
    assert_eq!(claimed.content, common::text("hello"));

    let again = store
        .deliveries()
        .claim(delivery.id, "worker-b", LEASE)
        .await
        .unwrap();
    assert!(again.is_none());
}

#[tokio::test]
async fn concurrent_claims_give_the_delivery_to_exactly_one_worker() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;

    let claims = futures::future::join_all((0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .deliveries()
                .claim(delivery.id, &format!("w{i}"), LEASE)
                .await
        })
    }))
    .await;

    let winners = claims
        .into_iter()
        .filter(|c| matches!(c, Ok(Ok(Some(_)))))
        .count();
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn a_delivery_is_not_claimed_before_its_time() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let x = connection(&store, tenant_id, "u1").await;
    let later = Utc::now() + chrono::Duration::minutes(5);
    let post = created(
        store
            .posts()
            .insert_post(&scheduled(new_post(tenant_id, &[x.id]), later))
            .await
            .unwrap(),
    );

    let claim = store
        .deliveries()
        .claim(post.deliveries[0].id, "w", LEASE)
        .await
        .unwrap();
    assert!(claim.is_none());
    let due = store.deliveries().due(Duration::ZERO, 10).await.unwrap();
    assert!(due.is_empty(), "{due:?}");
}

#[tokio::test]
async fn a_transition_from_a_wrong_state_changes_nothing_and_says_so() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;

    let publish =
        Transition::new(delivery.id, RUNNING, DeliveryState::Published).outcome(Outcome {
            remote_id: Some("1790".to_owned()),
            ..Outcome::default()
        });
    assert!(!store.deliveries().transition(publish).await.unwrap());

    let unchanged = store.deliveries().get(delivery.id).await.unwrap().unwrap();
    assert_eq!(unchanged, delivery);
    assert_eq!(
        store.deliveries().events(delivery.id).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn only_the_lease_owner_can_record_the_outcome() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    store
        .deliveries()
        .claim(delivery.id, "worker-a", LEASE)
        .await
        .unwrap()
        .unwrap();

    let by = |worker: &str| {
        Transition::new(delivery.id, RUNNING, DeliveryState::Published)
            .by_lease_owner(worker)
            .outcome(Outcome {
                remote_id: Some("1790".to_owned()),
                public_url: Some("https://x.com/i/status/1790".to_owned()),
                degraded: vec!["media_dropped".to_owned()],
            })
    };
    assert!(!store.deliveries().transition(by("worker-b")).await.unwrap());
    assert!(store.deliveries().transition(by("worker-a")).await.unwrap());

    let published = store.deliveries().get(delivery.id).await.unwrap().unwrap();
    assert_eq!(published.state, DeliveryState::Published);
    assert_eq!(published.remote_id.as_deref(), Some("1790"));
    assert_eq!(published.degraded, vec!["media_dropped"]);
    assert_eq!(published.lease_owner, None);
    assert!(published.finished_at.is_some());

    let events = store.deliveries().events(delivery.id).await.unwrap();
    let moves: Vec<_> = events.iter().map(|e| (e.from, e.to)).collect();
    assert_eq!(
        moves,
        vec![
            (None, DeliveryState::Queued),
            (Some(DeliveryState::Queued), DeliveryState::Running),
            (Some(DeliveryState::Running), DeliveryState::Published),
        ]
    );
    assert_eq!(events[2].detail["remote_id"], "1790");
}

#[tokio::test]
async fn a_batch_moves_the_deliveries_whose_precondition_holds_and_reports_which() {
    let db = TestDb::new().await;
    let store = db.store();
    let a = queued_delivery(&store).await;
    let b = queued_delivery(&store).await;
    store
        .deliveries()
        .claim(b.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();

    let moved = store
        .deliveries()
        .transition_many(&[
            Transition::new(a.id, DeliveryState::CANCELLABLE, DeliveryState::Cancelled),
            Transition::new(b.id, DeliveryState::CANCELLABLE, DeliveryState::Cancelled),
        ])
        .await
        .unwrap();

    assert_eq!(moved, vec![a.id]);
    let b_now = store.deliveries().get(b.id).await.unwrap().unwrap();
    assert_eq!(b_now.state, DeliveryState::Running);
}

#[tokio::test]
async fn a_rate_limited_wait_gives_the_attempt_back_and_keeps_the_error() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    store
        .deliveries()
        .claim(delivery.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    let frees_at = Utc::now() + chrono::Duration::hours(3);

    let wait = Transition::new(delivery.id, RUNNING, DeliveryState::RateLimited)
        .by_lease_owner("w")
        .run_at(frees_at)
        .attempts(Attempts::Refund)
        .error(DeliveryError {
            class: ErrorClass::RateLimited,
            code: Some("88".to_owned()),
            message: "Rate limit exceeded".to_owned(),
            hint: Some("Wait for the 24-hour window to free".to_owned()),
        });
    assert!(store.deliveries().transition(wait).await.unwrap());

    let waiting = store.deliveries().get(delivery.id).await.unwrap().unwrap();
    assert_eq!(waiting.attempts, 0);
    assert_eq!(
        waiting.error.as_ref().map(|e| e.class),
        Some(ErrorClass::RateLimited)
    );
    assert!((waiting.run_at - frees_at).num_milliseconds().abs() < 1);
    assert!(waiting.finished_at.is_none());
    assert!(
        store
            .deliveries()
            .claim(delivery.id, "w", LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn entering_running_other_than_by_claim_and_duplicates_in_a_batch_are_refused() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;

    let sneak = Transition::new(
        delivery.id,
        DeliveryState::CLAIMABLE,
        DeliveryState::Running,
    );
    let err = store.deliveries().transition(sneak).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput(_)), "{err:?}");

    let cancel = Transition::new(
        delivery.id,
        DeliveryState::CANCELLABLE,
        DeliveryState::Cancelled,
    );
    let err = store
        .deliveries()
        .transition_many(&[cancel.clone(), cancel])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[tokio::test]
async fn exactly_the_final_states_carry_a_finish_time() {
    let db = TestDb::new().await;
    let store = db.store();
    for state in DeliveryState::ALL
        .iter()
        .filter(|s| **s != DeliveryState::Running)
    {
        let delivery = queued_delivery(&store).await;
        let moved = store
            .deliveries()
            .transition(Transition::new(
                delivery.id,
                &[DeliveryState::Queued],
                *state,
            ))
            .await
            .unwrap();
        assert!(moved, "{state}");
        let now = store.deliveries().get(delivery.id).await.unwrap().unwrap();
        assert_eq!(now.finished_at.is_some(), state.is_final(), "{state}");
    }
}

#[tokio::test]
async fn an_expired_lease_is_released_for_another_worker_and_a_renewed_one_is_kept() {
    let db = TestDb::new().await;
    let store = db.store();
    let dead = queued_delivery(&store).await;
    let alive = queued_delivery(&store).await;
    store
        .deliveries()
        .claim(dead.id, "dead-worker", Duration::from_millis(1))
        .await
        .unwrap();
    store
        .deliveries()
        .claim(alive.id, "live-worker", Duration::from_millis(1))
        .await
        .unwrap();
    let renewed = store
        .deliveries()
        .renew_lease(alive.id, "live-worker", LEASE)
        .await
        .unwrap();
    assert!(renewed.is_some());
    tokio::time::sleep(Duration::from_millis(20)).await;

    let expired = store.deliveries().expired_leases(10).await.unwrap();
    assert_eq!(
        expired.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![dead.id]
    );
    assert_eq!(expired[0].lease_owner, "dead-worker");

    let released = store.deliveries().release_expired_leases(10).await.unwrap();
    assert_eq!(released, vec![dead.id]);
    assert!(
        store
            .deliveries()
            .renew_lease(dead.id, "dead-worker", LEASE)
            .await
            .unwrap()
            .is_none(),
        "the dead worker's lease is gone"
    );
    let reclaimed = store
        .deliveries()
        .claim(dead.id, "new-worker", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.from, DeliveryState::Retrying);
    assert_eq!(
        reclaimed.delivery.attempts, 1,
        "the dead worker's run did not end: its attempt is given back"
    );
    assert_eq!(reclaimed.interrupted, 1, "and counted as interrupted");
    let due = store.deliveries().due(Duration::ZERO, 10).await.unwrap();
    assert!(due.is_empty(), "running deliveries are not due: {due:?}");
}

#[tokio::test]
async fn cancelling_a_post_cancels_what_has_not_started() {
    let db = TestDb::new().await;
    let store = db.store();
    let tenant_id = tenant(&store).await;
    let a = connection(&store, tenant_id, "a").await;
    let b = connection(&store, tenant_id, "b").await;
    let post = created(
        store
            .posts()
            .insert_post(&new_post(tenant_id, &[a.id, b.id]))
            .await
            .unwrap(),
    );
    let started = post.deliveries[0].id;
    store
        .deliveries()
        .claim(started, "w", LEASE)
        .await
        .unwrap()
        .unwrap();

    let other_tenant = tenant(&store).await;
    assert!(
        store
            .deliveries()
            .cancel_post(other_tenant, post.id)
            .await
            .unwrap()
            .is_empty()
    );
    let cancelled = store
        .deliveries()
        .cancel_post(tenant_id, post.id)
        .await
        .unwrap();
    assert_eq!(cancelled, vec![post.deliveries[1].id]);
}

#[tokio::test]
async fn an_operator_sends_a_failed_delivery_back_with_fresh_attempts() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    store
        .deliveries()
        .claim(delivery.id, "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    let failure = DeliveryError {
        class: ErrorClass::Permanent,
        code: Some("403".to_owned()),
        message: "Forbidden".to_owned(),
        hint: None,
    };
    let fail = Transition::new(delivery.id, RUNNING, DeliveryState::Failed)
        .by_lease_owner("w")
        .error(failure.clone());
    assert!(store.deliveries().transition(fail).await.unwrap());

    let retry = Transition::new(
        delivery.id,
        DeliveryState::RETRYABLE_BY_OPERATOR,
        DeliveryState::Queued,
    )
    .attempts(Attempts::Reset)
    .due_now()
    .detail("by", "operator");
    assert!(store.deliveries().transition(retry).await.unwrap());

    let queued = store.deliveries().get(delivery.id).await.unwrap().unwrap();
    assert_eq!((queued.attempts, queued.finished_at), (0, None));
    assert_eq!(
        queued.error,
        Some(failure),
        "the last error stays visible until it publishes"
    );
    let events = store.deliveries().events(delivery.id).await.unwrap();
    assert_eq!(events.last().unwrap().detail["by"], "operator");
    let claimed = store
        .deliveries()
        .claim(delivery.id, "w2", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.from, DeliveryState::Queued);
}
