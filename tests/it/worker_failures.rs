//! When platforms misbehave, posts still go out exactly once: server errors are retried,
//! rate limits are waited out without using attempts, lost answers are looked up, and a
//! token is refreshed once however many workers need it.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use herald_domain::{AppType, DeliveryState, Platform, StepState};
use herald_store::Tokens;
use serde_json::json;
use support::harness::{Harness, fast_sim, sim_with_member_lookups, text};

#[tokio::test]
async fn transient_server_errors_are_retried_and_the_post_is_published_once_with_its_attempts() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(
        json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["500", "503"]}),
    )
    .await;
    let id = h.post(connection, text("third time lucky"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(
        delivery.attempts, 3,
        "two failed attempts and the one that worked"
    );
    assert_eq!(h.sim_count("linkedin", "third time lucky").await, 1);
    let events = h.store.deliveries().events(id).await.unwrap();
    let retries = events
        .iter()
        .filter(|e| e.to == DeliveryState::Retrying)
        .count();
    assert_eq!(retries, 2, "each failure is an event: {events:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_429_with_a_reset_reschedules_to_the_reset_without_using_an_attempt() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    h.fault(json!({"platform": "twitter", "endpoint": "POST /2/tweets", "retry_after_secs": 2, "script": ["429"]}))
        .await;
    let before = Utc::now();
    let id = h.post(connection, text("after the reset"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(
        delivery.attempts, 1,
        "waiting for the window used no attempt"
    );
    assert_eq!(h.sim_count("twitter", "after the reset").await, 1);
    let events = h.store.deliveries().events(id).await.unwrap();
    let limited = events
        .iter()
        .find(|e| e.to == DeliveryState::RateLimited)
        .expect("it waited as rate_limited");
    let run_at: chrono::DateTime<Utc> = limited.detail["run_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("the event says until when");
    assert!(
        run_at >= before + TimeDelta::milliseconds(1_500),
        "rescheduled to the reset, about 2 s later: {run_at} vs {before}"
    );
    assert!(
        delivery.finished_at.unwrap() >= run_at,
        "published after the reset"
    );
    worker.stop().await;
}

#[tokio::test]
async fn an_accepted_then_dropped_publish_is_resolved_by_lookup_and_posted_once() {
    let (sim, vars) = sim_with_member_lookups();
    let h = Harness::start_with(sim, &vars).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "script": ["drop"]}))
        .await;
    let id = h.post(connection, text("did it go out?"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(
        h.sim_count("linkedin", "did it go out?").await,
        1,
        "exactly one post"
    );
    let posted = h.sim_posts("linkedin").await;
    assert_eq!(
        delivery.remote_id.as_deref(),
        posted[0]["id"].as_str(),
        "the id found by lookup"
    );
    let steps = h.store.journal().steps(id).await.unwrap();
    let publish = steps.iter().find(|s| s.step == "publish").unwrap();
    assert_eq!(publish.state, StepState::Done);
    assert_eq!(publish.detail.as_ref().unwrap()["resolved_by"], "lookup");
    worker.stop().await;
}

#[tokio::test]
async fn a_telegram_publish_with_an_unknown_outcome_becomes_unknown_and_is_never_posted_twice() {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Telegram, None).await;
    h.fault(json!({"platform": "telegram", "endpoint": "sendMessage", "script": ["drop"]}))
        .await;
    let id = h.post(connection, text("schrodinger's post"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Unknown, Duration::from_secs(20))
        .await;
    let error = delivery.error.expect("it says why");
    assert_eq!(error.class, herald_domain::ErrorClass::UnknownOutcome);
    assert!(error.hint.is_some());
    assert_eq!(delivery.attempts, 1);
    // The sweeper keeps running; a final state is not touched again.
    let again = h.delivery(id).await;
    assert_eq!(again.state, DeliveryState::Unknown);
    assert_eq!(
        h.sim_count("telegram", "schrodinger's post").await,
        1,
        "processed once, never resent"
    );
    worker.stop().await;
}

#[tokio::test]
async fn two_workers_needing_a_refresh_of_one_x_connection_refresh_it_once() {
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Twitter, None).await;
    // The token expires within the refresh margin: every delivery on it wants a refresh.
    let stored = h
        .store
        .connections()
        .get_with_tokens(connection)
        .await
        .unwrap()
        .unwrap();
    h.store
        .connections()
        .update_tokens(
            connection,
            &Tokens {
                access_token: stored.access_token.clone(),
                refresh_token: stored.refresh_token.clone(),
                expires_at: Some(Utc::now() + TimeDelta::seconds(30)),
            },
        )
        .await
        .unwrap();
    let refreshes_before = h.sim_requests().await["token_refreshes"]["twitter"]
        .as_u64()
        .unwrap_or(0);
    let mut settings = h.settings();
    settings.consumer.batch_size = 1;
    let first = h.spawn_worker_with(settings.clone());
    settings.name = herald_worker::unique_name();
    let second = h.spawn_worker_with(settings);
    let ids = h
        .posts(
            &[
                (connection, text("refresh race one")),
                (connection, text("refresh race two")),
                (connection, text("refresh race three")),
                (connection, text("refresh race four")),
            ],
            None,
        )
        .await;

    let done = h.until_final(&ids, Duration::from_secs(20)).await;
    assert!(
        done.iter().all(|d| d.state == DeliveryState::Published),
        "{done:?}"
    );
    let refreshes = h.sim_requests().await["token_refreshes"]["twitter"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(refreshes - refreshes_before, 1, "exactly one refresh call");
    let after = h
        .store
        .connections()
        .get(connection)
        .await
        .unwrap()
        .unwrap();
    assert!(after.token_expires_at.unwrap() > Utc::now() + TimeDelta::minutes(10));
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_refused_refresh_marks_the_connection_for_reconnect_and_fails_the_delivery_with_that_reason()
 {
    let h = Harness::start(fast_sim()).await;
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Twitter, None).await;
    let stored = h
        .store
        .connections()
        .get_with_tokens(connection)
        .await
        .unwrap()
        .unwrap();
    h.store
        .connections()
        .update_tokens(
            connection,
            &Tokens {
                access_token: stored.access_token.clone(),
                refresh_token: Some("a-refresh-token-x-never-issued".to_owned().into()),
                expires_at: Some(Utc::now() + TimeDelta::seconds(30)),
            },
        )
        .await
        .unwrap();
    let id = h.post(connection, text("needs a fresh token"), None).await;

    let delivery = h
        .until_state(id, DeliveryState::Failed, Duration::from_secs(20))
        .await;
    let error = delivery.error.unwrap();
    assert_eq!(
        error.class,
        herald_domain::ErrorClass::ReconnectRequired,
        "{error:?}"
    );
    let after = h
        .store
        .connections()
        .get(connection)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.status,
        herald_domain::ConnectionStatus::NeedsReconnect
    );
    assert_eq!(h.sim_count("twitter", "needs a fresh token").await, 0);
    worker.stop().await;
}

#[tokio::test]
async fn a_tenant_that_chose_republish_gets_the_unknown_outcome_sent_again() {
    let h = Harness::start(fast_sim()).await;
    h.store
        .tenants()
        .set_unknown_outcome_policy(h.tenant, Some("republish"))
        .await
        .unwrap();
    let worker = h.spawn_worker();
    let connection = h.connect(Platform::Telegram, None).await;
    h.fault(json!({"platform": "telegram", "endpoint": "sendMessage", "script": ["drop"]}))
        .await;
    let id = h
        .post(connection, text("sent twice on purpose"), None)
        .await;

    let delivery = h
        .until_state(id, DeliveryState::Published, Duration::from_secs(20))
        .await;
    assert_eq!(delivery.attempts, 2, "the lost attempt and the republish");
    assert_eq!(
        h.sim_count("telegram", "sent twice on purpose").await,
        2,
        "the policy accepts the duplicate"
    );
    worker.stop().await;
}
