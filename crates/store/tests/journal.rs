//! The journal lets a retry resume: done steps are reused, unknown ones are not re-sent.

mod common;

use herald_domain::StepState;
use herald_store::StepStart;
use herald_testkit::TestDb;
use serde_json::json;

use common::queued_delivery;

#[tokio::test]
async fn a_retry_reuses_done_steps_and_does_not_resend_an_unanswered_one() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let journal = store.journal();

    // First attempt: the media upload goes through, the publish call gets no answer.
    let upload = journal
        .begin(delivery.id, "media:0", Some(&json!({"bytes": 2048})))
        .await
        .unwrap();
    assert!(matches!(upload, StepStart::Started(_)), "{upload:?}");
    assert!(
        journal
            .complete(delivery.id, "media:0", Some("media-77"), None)
            .await
            .unwrap()
    );
    assert!(matches!(
        journal.begin(delivery.id, "publish", None).await.unwrap(),
        StepStart::Started(_)
    ));

    // The retry walks the same steps.
    match journal.begin(delivery.id, "media:0", None).await.unwrap() {
        StepStart::AlreadyDone(step) => {
            assert_eq!(step.remote_id.as_deref(), Some("media-77"));
            assert_eq!(step.detail, Some(json!({"bytes": 2048})));
        }
        other => panic!("the upload is reused, not repeated: {other:?}"),
    }
    match journal.begin(delivery.id, "publish", None).await.unwrap() {
        StepStart::OutcomeUnknown(step) => assert_eq!(step.state, StepState::Sending),
        other => panic!("an unanswered publish is resolved by lookup: {other:?}"),
    }

    let steps = journal.steps(delivery.id).await.unwrap();
    let names: Vec<_> = steps.iter().map(|s| (s.step.as_str(), s.state)).collect();
    assert_eq!(
        names,
        vec![
            ("media:0", StepState::Done),
            ("publish", StepState::Sending)
        ]
    );
    let unresolved = journal.unresolved(10).await.unwrap();
    assert_eq!(
        unresolved.len(),
        1,
        "the delivery is not running, so the sweeper resolves it"
    );
}

#[tokio::test]
async fn a_refused_step_may_be_sent_again_and_outcomes_are_recorded_once() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let journal = store.journal();

    journal.begin(delivery.id, "part:1", None).await.unwrap();
    assert!(
        journal
            .fail(delivery.id, "part:1", Some(&json!({"status": 503})))
            .await
            .unwrap()
    );
    assert!(
        !journal
            .complete(delivery.id, "part:1", Some("late"), None)
            .await
            .unwrap()
    );

    let retry = journal.begin(delivery.id, "part:1", None).await.unwrap();
    let StepStart::Started(step) = retry else {
        panic!("a refused step starts again: {retry:?}");
    };
    assert_eq!(
        (step.state, step.remote_id, step.finished_at),
        (StepState::Sending, None, None)
    );
    assert!(
        journal
            .complete(delivery.id, "part:1", Some("1801"), None)
            .await
            .unwrap()
    );
    assert!(
        !journal.fail(delivery.id, "part:1", None).await.unwrap(),
        "done stays done"
    );
}

#[tokio::test]
async fn a_malformed_step_name_is_refused_with_the_expected_shape() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let err = store
        .journal()
        .begin(delivery.id, "Media 0", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("media:0"), "{err}");
}

#[tokio::test]
async fn a_lookup_settles_only_the_sending_row_it_read() {
    let db = TestDb::new().await;
    let store = db.store();
    let delivery = queued_delivery(&store).await;
    let journal = store.journal();
    let StepStart::Started(first) = journal.begin(delivery.id, "publish", None).await.unwrap()
    else {
        panic!("a new step starts");
    };

    // Meanwhile an attempt resolved the row itself and began the step again.
    assert!(journal.fail(delivery.id, "publish", None).await.unwrap());
    let StepStart::Started(second) = journal.begin(delivery.id, "publish", None).await.unwrap()
    else {
        panic!("a failed step may start again");
    };
    assert_ne!(first.started_at, second.started_at);

    // The lookup of the first row comes back late: it changes nothing.
    assert!(
        !journal
            .settle(&first, None, Some(&json!({"found": false})))
            .await
            .unwrap()
    );
    let steps = journal.steps(delivery.id).await.unwrap();
    assert_eq!(
        steps[0].state,
        StepState::Sending,
        "the new send is untouched"
    );

    // A lookup of the current row settles it: found means done, with the remote id.
    assert!(
        journal
            .settle(&second, Some("remote-9"), Some(&json!({"found": true})))
            .await
            .unwrap()
    );
    let steps = journal.steps(delivery.id).await.unwrap();
    assert_eq!(steps[0].state, StepState::Done);
    assert_eq!(steps[0].remote_id.as_deref(), Some("remote-9"));
    assert!(
        !journal.settle(&second, None, None).await.unwrap(),
        "a settled row stays settled"
    );
}
