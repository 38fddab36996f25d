//! `herald work` as an operator runs it: a SIGTERM ends it within its grace period whatever
//! it holds, and several run side by side on one host.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use herald_domain::{AppType, DeliveryState, Platform};
use reqwest::Method;
use serde_json::{Value, json};
use support::eventually;
use support::harness::{Harness, fast_sim, text};
use support::process::{KillOnDrop, free_port};

/// `herald work` against the harness' services, with short leases and sweeps.
fn herald_work(h: &Harness, env: &[(&str, String)], stderr: Stdio) -> KillOnDrop {
    let mut command = h.herald_command("work");
    command
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(stderr);
    KillOnDrop(command.spawn().expect("herald work starts"))
}

async fn healthy(addr: &str) -> bool {
    reqwest::get(format!("http://{addr}/healthz"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// `publish` journal rows still `sending` (calls in flight, or whose answer was lost).
async fn publishes_in_flight(h: &Harness) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM delivery_steps WHERE state = 'sending'")
        .fetch_one(h.store.pool())
        .await
        .expect("the journal")
}

/// Lookups LinkedIn has been asked for so far.
async fn lookups(h: &Harness) -> u64 {
    h.sim_requests().await["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["platform"] == "linkedin" && r["endpoint"] == "GET /rest/posts")
        .filter_map(|r| r["count"].as_u64())
        .sum()
}

#[tokio::test]
async fn a_worker_with_hundreds_of_slow_publishes_and_lookups_in_flight_exits_within_its_grace_period_after_sigterm()
 {
    let _serial = support::serial().await;
    // Two hundred posts on one member are more than LinkedIn's daily 150.
    let mut sim = fast_sim();
    sim.rate_limits = false;
    let h = Harness::start(sim).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    // Every publish takes far longer than the grace period.
    h.fault(json!({"platform": "linkedin", "endpoint": "POST /rest/posts", "latency_ms": 8000}))
        .await;
    // And the sweeper is busy looking up publishes a dead worker left unresolved (of posts
    // due later), on a platform whose search takes longer than the whole grace period.
    h.fault(json!({"platform": "linkedin", "endpoint": "GET /rest/posts", "latency_ms": 20000}))
        .await;
    let later = Utc::now() + TimeDelta::hours(1);
    let lost: Vec<_> = (0..10)
        .map(|n| (connection, text(&format!("lost before the stop {n}"))))
        .collect();
    for id in h.insert_posts(&lost, Some(later)).await {
        h.store
            .journal()
            .begin(id, "publish", None)
            .await
            .expect("the journal");
    }
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let texts: Vec<String> = (0..200)
        .map(|n| format!("in flight at the stop {n}"))
        .collect();
    let posts: Vec<_> = texts.iter().map(|t| (connection, text(t))).collect();
    let ids = h.posts(&posts, None).await;

    let grace = Duration::from_secs(2);
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut first = herald_work(
        &h,
        &[
            (
                "HERALD_WORKER__SHUTDOWN_GRACE_SECS",
                grace.as_secs().to_string(),
            ),
            ("HERALD_WORKER__CONCURRENCY", "256".to_owned()),
            ("HERALD_WORKER__PER_PLATFORM_CONCURRENCY", "256".to_owned()),
            ("HERALD_WORKER__PER_ACCOUNT_PER_SECOND", "1000".to_owned()),
            ("HERALD_WORKER__METRICS_ADDR", metrics.clone()),
        ],
        Stdio::inherit(),
    );
    let busy = eventually(Duration::from_secs(30), || async {
        (publishes_in_flight(&h).await >= 150 && lookups(&h).await > 0).then_some(())
    })
    .await;
    assert!(
        busy.is_some(),
        "the worker has most publishes and some lookups in flight"
    );

    let pid = first.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", pid.as_str()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let signalled = Instant::now();
    let limit = grace + Duration::from_secs(5);
    while matches!(first.0.try_wait(), Ok(None)) && signalled.elapsed() < limit * 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = signalled.elapsed();
    assert!(
        !matches!(first.0.try_wait(), Ok(None)),
        "herald work did not exit at all"
    );
    assert!(
        took <= limit,
        "herald work took {took:?} to exit, more than its grace period + 5 s"
    );
    assert!(
        std::net::TcpListener::bind(&metrics).is_ok(),
        "its metrics port is free again"
    );

    // Another worker finishes them, each exactly once.
    h.control(Method::DELETE, "/_sim/faults", None).await;
    let second = h.spawn_worker();
    let done = h.until_final(&ids, Duration::from_secs(60)).await;
    assert!(
        done.iter().all(|d| d.state == DeliveryState::Published),
        "{:?}",
        done.iter().find(|d| d.state != DeliveryState::Published)
    );
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    second.stop().await;
}

#[tokio::test]
async fn two_herald_work_processes_on_one_host_both_run_and_both_publish() {
    let _serial = support::serial().await;
    let h = Harness::start(fast_sim()).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    let configured = format!("127.0.0.1:{}", free_port());
    let env = [
        ("HERALD_WORKER__METRICS_ADDR", configured.clone()),
        ("HERALD_LOG_FORMAT", "json".to_owned()),
    ];
    let mut first = herald_work(&h, &env, Stdio::inherit());
    let up = eventually(Duration::from_secs(20), || async {
        healthy(&configured).await.then_some(())
    })
    .await;
    assert!(
        up.is_some(),
        "the first worker serves metrics on {configured}"
    );

    // The second finds the port taken, serves on another and says where.
    let mut second = herald_work(&h, &env, Stdio::piped());
    let stderr = second.0.stderr.take().expect("piped");
    let (said, where_) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let fields = serde_json::from_str::<Value>(&line).unwrap_or_default()["fields"].clone();
            if let Some(addr) = fields["metrics_addr"].as_str() {
                let _ = said.send(addr.to_owned());
            }
        }
    });
    let fallback = where_
        .recv_timeout(Duration::from_secs(20))
        .expect("the second worker logs where it serves metrics");
    assert_ne!(fallback, configured);
    assert!(healthy(&fallback).await, "it serves metrics on {fallback}");
    assert!(
        healthy(&configured).await,
        "and the first still on {configured}"
    );

    // One post at a time, so each goes to whichever worker looks first (either would take
    // a whole batch pushed at once); which one that is is up to Redis, so post until both
    // have published, within a bound.
    let mut texts = Vec::new();
    let mut ids = Vec::new();
    let mut workers = std::collections::BTreeSet::new();
    for n in 0..100 {
        let t = format!("two workers {n}");
        ids.push(h.post(connection, text(&t), None).await);
        texts.push(t);
        tokio::time::sleep(Duration::from_millis(150)).await;
        if n % 10 == 9 {
            let done = h.until_final(&ids, Duration::from_secs(40)).await;
            assert!(done.iter().all(|d| d.state == DeliveryState::Published));
            workers = running_workers(&h, &ids).await;
            if workers.len() == 2 {
                break;
            }
        }
    }
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "`{t}` exactly once");
    }
    assert_eq!(workers.len(), 2, "both workers published: {workers:?}");
    assert!(matches!(first.0.try_wait(), Ok(None)), "the first runs on");
    assert!(
        matches!(second.0.try_wait(), Ok(None)),
        "the second runs on"
    );
}

/// The workers that ran these deliveries, by the name each claim records.
async fn running_workers(
    h: &Harness,
    ids: &[herald_domain::DeliveryId],
) -> std::collections::BTreeSet<String> {
    let mut workers = std::collections::BTreeSet::new();
    for id in ids {
        for event in h.store.deliveries().events(*id).await.expect("events") {
            if event.to == DeliveryState::Running
                && let Some(worker) = event.detail["worker"].as_str()
            {
                workers.insert(worker.to_owned());
            }
        }
    }
    workers
}
