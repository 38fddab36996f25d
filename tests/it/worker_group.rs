//! The worker's group commit (`herald_worker::group`): many deliveries' journal rows in one
//! transaction, each answered only once it is durable; a group Postgres is cut off from
//! fails every write in it and leaves none of them written; a bad write fails alone.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use herald_domain::{AppType, DeliveryId, Platform, StepState};
use herald_store::{StepStart, Store, StoreError};
use herald_worker::group::{GroupSettings, Writer};
use sqlx::postgres::PgPoolOptions;
use support::harness::{Harness, fast_sim, text};
use support::proxy::TcpProxy;

/// `count` deliveries claimed by `worker-a`, ready for their journal rows.
async fn claimed(h: &Harness, count: usize) -> Vec<DeliveryId> {
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    let posts: Vec<_> = (0..count)
        .map(|n| (connection, text(&format!("grouped {n}"))))
        .collect();
    let ids = h.insert_posts(&posts, None).await;
    let claimed = h
        .store
        .deliveries()
        .claim_many(&ids, "worker-a", Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), count);
    ids
}

/// Begins `publish` of every delivery at once through `writer`; each answer in order.
async fn begin_all(writer: &Writer, ids: &[DeliveryId]) -> Vec<Result<StepStart, StoreError>> {
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let writer = writer.clone();
            let id = *id;
            tokio::spawn(async move { writer.begin(id, "publish", None).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn written(store: &Store, id: DeliveryId) -> bool {
    store
        .journal()
        .steps(id)
        .await
        .unwrap()
        .iter()
        .any(|s| s.step == "publish" && s.state == StepState::Sending)
}

#[tokio::test]
async fn many_concurrent_journal_writes_share_commits_and_each_is_durable_when_answered() {
    let h = Harness::start(fast_sim()).await;
    let ids = claimed(&h, 400).await;
    let (writer, _task) = Writer::start(h.store.clone(), GroupSettings::default());

    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let writer = writer.clone();
            let store = h.store.clone();
            let id = *id;
            tokio::spawn(async move {
                let answer = writer.begin(id, "publish", None).await.unwrap();
                // Answered: another connection sees the row, so it is committed.
                (answer, written(&store, id).await)
            })
        })
        .collect();
    for task in tasks {
        let (answer, durable) = task.await.unwrap();
        assert!(matches!(answer, StepStart::Started(_)), "{answer:?}");
        assert!(durable, "a write is answered only once it is committed");
    }
    assert!(
        writer.groups() < 400,
        "400 writes at once share commits ({} groups)",
        writer.groups()
    );

    // A second begin of each finds the first: the journal's guard holds across groups.
    for answer in begin_all(&writer, &ids[..20]).await {
        assert!(matches!(answer.unwrap(), StepStart::OutcomeUnknown(_)));
    }
}

#[tokio::test]
async fn a_group_cut_off_from_postgres_fails_every_write_and_writes_none_of_them() {
    let h = Harness::start(fast_sim()).await;
    let ids = claimed(&h, 60).await;
    let (proxy, url) = TcpProxy::in_front_of(h.db.url()).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_millis(1500))
        .connect(&url)
        .await
        .unwrap();
    let through_proxy = Store::new(pool, Arc::new(herald_testkit::test_keyring()));
    let (writer, _task) = Writer::start(through_proxy, GroupSettings::default());

    let before = begin_all(&writer, &ids[..10]).await;
    assert!(
        before
            .iter()
            .all(|a| matches!(a, Ok(StepStart::Started(_))))
    );

    proxy.cut();
    let cut = begin_all(&writer, &ids[10..]).await;
    for answer in &cut {
        let err = answer
            .as_ref()
            .expect_err("no write is answered as done while Postgres is cut off");
        assert!(err.is_unavailable(), "{err}");
    }
    proxy.restore().await;

    for id in &ids[..10] {
        assert!(written(&h.store, *id).await, "written before the cut");
    }
    for id in &ids[10..] {
        assert!(
            !written(&h.store, *id).await,
            "a failed group wrote nothing"
        );
    }
    // Postgres is back: the same writes go through.
    let again = begin_all(&writer, &ids[10..]).await;
    assert!(again.iter().all(|a| matches!(a, Ok(StepStart::Started(_)))));
}

#[tokio::test]
async fn a_bad_write_fails_alone_and_the_writes_grouped_with_it_are_written() {
    let h = Harness::start(fast_sim()).await;
    let ids = claimed(&h, 20).await;
    // A long linger gathers everything below into one group.
    let settings = GroupSettings {
        linger: Duration::from_millis(300),
        ..GroupSettings::default()
    };
    let (writer, _task) = Writer::start(h.store.clone(), settings);
    let mut all = ids.clone();
    // A delivery that does not exist: its journal row breaks a foreign key.
    let missing = DeliveryId::new();
    all.insert(7, missing);

    let answers = begin_all(&writer, &all).await;
    for (id, answer) in all.iter().zip(&answers) {
        if *id == missing {
            assert!(answer.is_err(), "the bad write fails");
        } else {
            assert!(matches!(answer, Ok(StepStart::Started(_))), "{answer:?}");
            assert!(written(&h.store, *id).await);
        }
    }
}
