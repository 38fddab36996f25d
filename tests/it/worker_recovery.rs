//! Nothing is lost and nothing is posted twice when the machinery fails: a worker process
//! killed mid-publish, and Redis emptied in the middle of a run.

use std::time::Duration;

use herald_domain::{AppType, DeliveryState, Platform, StepState};
use serde_json::json;
use support::eventually;
use support::harness::{Harness, fast_sim, sim_with_member_lookups, text};
use support::process::KillOnDrop;

/// `herald work` as a child process against the harness' services.
fn spawn_herald_work(h: &Harness) -> KillOnDrop {
    KillOnDrop(
        h.herald_command("work")
            .spawn()
            .expect("herald work starts"),
    )
}

#[tokio::test]
async fn deliveries_are_published_exactly_once_when_the_worker_process_is_killed_mid_publish() {
    let _serial = support::serial().await;
    let (sim, vars) = sim_with_member_lookups();
    let h = Harness::start_with(sim, &vars).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // Every publish takes a while: the kill lands while some are in flight.
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "latency_ms": 1500}))
        .await;
    let texts: Vec<String> = (0..12).map(|n| format!("survives the kill {n}")).collect();
    let posts: Vec<_> = texts.iter().map(|t| (connection, text(t))).collect();
    let ids = h.posts(&posts, None).await;

    let child = spawn_herald_work(&h);
    let in_flight = eventually(Duration::from_secs(30), || async {
        for id in &ids {
            let steps = h.store.journal().steps(*id).await.unwrap();
            if steps
                .iter()
                .any(|s| s.step == "publish" && s.state == StepState::Sending)
            {
                return Some(*id);
            }
        }
        None
    })
    .await;
    assert!(
        in_flight.is_some(),
        "a publish was in flight before the kill"
    );
    drop(child); // SIGKILL: no shutdown, no lease released, calls cut mid-flight

    // Another worker takes over: expired leases, orphaned jobs, calls of unknown outcome.
    let worker = h.spawn_worker();
    let done = h.until_final(&ids, Duration::from_secs(60)).await;
    assert!(
        done.iter().all(|d| d.state == DeliveryState::Published),
        "{:?}",
        done.iter()
            .map(|d| (d.state, d.error.clone()))
            .collect::<Vec<_>>()
    );
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    worker.stop().await;
}

#[tokio::test]
async fn every_delivery_is_still_published_once_when_redis_is_flushed_mid_run() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "latency_ms": 200}))
        .await;
    let mut settings = h.settings();
    settings.per_platform_concurrency = 2;
    settings.consumer.batch_size = 2;
    let worker = h.spawn_worker_with(settings);
    let texts: Vec<String> = (0..20).map(|n| format!("outlives redis {n}")).collect();
    let posts: Vec<_> = texts.iter().map(|t| (connection, text(t))).collect();
    let ids = h.posts(&posts, None).await;

    let some_published = eventually(Duration::from_secs(20), || async {
        let n = h.sim_posts("linkedin").await.len();
        (n >= 3).then_some(n)
    })
    .await;
    assert!(some_published.is_some_and(|n| n < 20), "flushed mid-run");
    h.flush_redis().await;

    let done = h.until_final(&ids, Duration::from_secs(40)).await;
    assert!(done.iter().all(|d| d.state == DeliveryState::Published));
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    worker.stop().await;
}
