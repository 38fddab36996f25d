//! Group commit and batched claims: many deliveries' writes in one transaction, each with
//! its own guard and its own answer; claims in batches that still give each delivery one
//! owner.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, StepState};
use herald_store::{Outcome, StepStart, Store, StoreError, Transition, Write, Written};
use herald_testkit::TestDb;
use serde_json::json;

use common::{connection, created, new_post, tenant};

const LEASE: Duration = Duration::from_secs(60);
const RUNNING: &[DeliveryState] = &[DeliveryState::Running];

/// `count` queued deliveries, each of its own post.
async fn queued(store: &Store, count: usize) -> Vec<DeliveryId> {
    let tenant_id = tenant(store).await;
    let connection = connection(store, tenant_id, "user-1").await;
    let posts: Vec<_> = (0..count)
        .map(|_| new_post(tenant_id, &[connection.id]))
        .collect();
    store
        .posts()
        .insert_posts(&posts)
        .await
        .unwrap()
        .into_iter()
        .map(|p| created(p).deliveries[0].id)
        .collect()
}

#[tokio::test]
async fn a_batch_claim_racing_a_second_worker_claims_each_delivery_once() {
    let db = TestDb::new().await;
    let store = db.store();
    let ids = queued(&store, 300).await;
    let mut reversed = ids.clone();
    reversed.reverse();

    // Two workers claim the same deliveries at the same moment, in opposite orders, in
    // batches of 50.
    let claim_all = |worker: &'static str, ids: Vec<DeliveryId>| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            for chunk in ids.chunks(50) {
                claimed.extend(
                    store
                        .deliveries()
                        .claim_many(chunk, worker, LEASE)
                        .await
                        .unwrap()
                        .into_iter()
                        .map(|c| c.delivery.id),
                );
            }
            claimed
        })
    };
    let a = claim_all("worker-a", ids.clone());
    let b = claim_all("worker-b", reversed);
    let (a, b) = (a.await.unwrap(), b.await.unwrap());

    let a: HashSet<_> = a.into_iter().collect();
    let b: HashSet<_> = b.into_iter().collect();
    assert!(a.is_disjoint(&b), "no delivery has two owners");
    assert_eq!(a.len() + b.len(), ids.len(), "every delivery has one owner");
    for id in &ids {
        let events = store.deliveries().events(*id).await.unwrap();
        let claims = events
            .iter()
            .filter(|e| e.to == DeliveryState::Running)
            .count();
        assert_eq!(claims, 1, "delivery {id} was claimed once");
        let owner = store
            .deliveries()
            .get(*id)
            .await
            .unwrap()
            .unwrap()
            .lease_owner;
        let expected = if a.contains(id) {
            "worker-a"
        } else {
            "worker-b"
        };
        assert_eq!(owner.as_deref(), Some(expected));
    }
}

#[tokio::test]
async fn a_group_answers_each_write_as_its_own_statement_would() {
    let db = TestDb::new().await;
    let store = db.store();
    let ids = queued(&store, 4).await;
    for id in &ids {
        store
            .deliveries()
            .claim(*id, "worker-a", LEASE)
            .await
            .unwrap()
            .unwrap();
    }
    let journal = store.journal();
    // Delivery 1 finished its upload earlier; delivery 2's publish never came back.
    journal.begin(ids[1], "media:0", None).await.unwrap();
    journal
        .complete(ids[1], "media:0", Some("urn:1"), None)
        .await
        .unwrap();
    journal.begin(ids[2], "publish", None).await.unwrap();

    let writes = vec![
        Write::Begin {
            delivery_id: ids[0],
            step: "publish".to_owned(),
            detail: Some(json!({"doubt": false})),
        },
        Write::Begin {
            delivery_id: ids[1],
            step: "media:0".to_owned(),
            detail: None,
        },
        Write::Begin {
            delivery_id: ids[2],
            step: "publish".to_owned(),
            detail: None,
        },
        // Another worker's outcome: its lease guard does not hold.
        Write::Transition(Box::new(
            Transition::new(ids[3], RUNNING, DeliveryState::Published).by_lease_owner("worker-b"),
        )),
    ];
    let written = store.write_group(&writes).await.unwrap();
    assert!(
        matches!(&written[0], Written::Begun(StepStart::Started(s)) if s.state == StepState::Sending)
    );
    assert!(
        matches!(&written[1], Written::Begun(StepStart::AlreadyDone(s)) if s.remote_id.as_deref() == Some("urn:1"))
    );
    assert!(matches!(
        &written[2],
        Written::Begun(StepStart::OutcomeUnknown(_))
    ));
    assert_eq!(written[3], Written::Moved(false));

    let writes = vec![
        Write::Complete {
            delivery_id: ids[0],
            step: "publish".to_owned(),
            remote_id: Some("urn:li:share:1".to_owned()),
            detail: None,
        },
        Write::Fail {
            delivery_id: ids[2],
            step: "publish".to_owned(),
            detail: Some(json!({"error": "refused"})),
        },
        // Never begun: nothing to complete.
        Write::Complete {
            delivery_id: ids[1],
            step: "publish".to_owned(),
            remote_id: None,
            detail: None,
        },
        Write::Transition(Box::new(
            Transition::new(ids[3], RUNNING, DeliveryState::Published)
                .by_lease_owner("worker-a")
                .outcome(Outcome {
                    remote_id: Some("urn:li:share:3".to_owned()),
                    ..Outcome::default()
                }),
        )),
    ];
    let written = store.write_group(&writes).await.unwrap();
    assert_eq!(
        written,
        [
            Written::Moved(true),
            Written::Moved(true),
            Written::Moved(false),
            Written::Moved(true)
        ]
    );
    let steps = journal.steps(ids[0]).await.unwrap();
    assert_eq!(steps[0].state, StepState::Done);
    assert_eq!(steps[0].remote_id.as_deref(), Some("urn:li:share:1"));
    assert_eq!(
        journal.steps(ids[2]).await.unwrap()[0].state,
        StepState::Failed
    );
    let published = store.deliveries().get(ids[3]).await.unwrap().unwrap();
    assert_eq!(published.state, DeliveryState::Published);
    assert_eq!(published.remote_id.as_deref(), Some("urn:li:share:3"));
}

#[tokio::test]
async fn a_group_that_fails_writes_nothing_and_two_writes_of_one_delivery_are_refused() {
    let db = TestDb::new().await;
    let store = db.store();
    let ids = queued(&store, 2).await;

    // A journal row of a delivery that does not exist fails the whole group: the good
    // write beside it is not written either.
    let writes = vec![
        Write::Begin {
            delivery_id: ids[0],
            step: "publish".to_owned(),
            detail: None,
        },
        Write::Begin {
            delivery_id: DeliveryId::new(),
            step: "publish".to_owned(),
            detail: None,
        },
    ];
    assert!(store.write_group(&writes).await.is_err());
    assert!(store.journal().steps(ids[0]).await.unwrap().is_empty());

    let twice = vec![
        Write::Begin {
            delivery_id: ids[1],
            step: "media:0".to_owned(),
            detail: None,
        },
        Write::Complete {
            delivery_id: ids[1],
            step: "media:0".to_owned(),
            remote_id: None,
            detail: None,
        },
    ];
    let refused = store.write_group(&twice).await.unwrap_err();
    assert!(matches!(refused, StoreError::InvalidInput(ref m) if m.contains("two writes")));
    assert!(store.journal().steps(ids[1]).await.unwrap().is_empty());
}
