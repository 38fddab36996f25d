//! Everything at once: slow platforms that lose answers after accepting posts, workers killed
//! every second, Redis emptied mid-run, and a simulator that would happily show a second post.
//! Every delivery must end `published`, each post once.

use std::time::{Duration, Instant};

use herald_domain::{AppType, DeliveryState, Platform};
use serde_json::json;
use support::harness::{Harness, fast_sim, text};
use support::process::KillOnDrop;

/// Deliveries per platform: more than one page of the platforms' read-backs (LinkedIn 50,
/// Facebook 100), so a lost post must be found by paging.
const POSTS: usize = 120;
/// The longest the kills go on; the run then settles with the workers left alive.
const CHAOS: Duration = Duration::from_secs(60);

fn worker(h: &Harness) -> KillOnDrop {
    let mut command = h.herald_command("work");
    command
        .env("HERALD_WORKER__PER_ACCOUNT_PER_SECOND", "1000")
        .env("HERALD_WORKER__CONCURRENCY", "64")
        .env("HERALD_WORKER__PER_PLATFORM_CONCURRENCY", "64");
    KillOnDrop(command.spawn().expect("herald work starts"))
}

#[tokio::test]
async fn under_kills_drops_latency_and_a_redis_flush_every_post_is_published_exactly_once() {
    let _serial = support::serial().await;
    let mut sim = fast_sim();
    // A re-send would show as a second post instead of being refused by the platform.
    sim.detect_duplicates = false;
    sim.rate_limits = false;
    let h = Harness::start(sim).await;
    let linkedin = h.connect(Platform::Linkedin, Some(AppType::Company)).await;
    let facebook = h.connect(Platform::Facebook, None).await;
    for (platform, endpoint) in [
        ("linkedin", "POST /rest/posts"),
        ("facebook", "POST /{id}/feed"),
    ] {
        h.fault(json!({
            "platform": platform,
            "endpoint": endpoint,
            "latency_ms": 1000,
            "latency_jitter_ms": 1500,
            "drop_rate": 0.05,
        }))
        .await;
    }

    let texts: Vec<String> = (0..POSTS)
        .map(|n| format!("through the storm {n}"))
        .collect();
    let posts: Vec<_> = texts
        .iter()
        .flat_map(|t| [(linkedin, text(t)), (facebook, text(t))])
        .collect();
    let ids = h.posts(&posts, None).await;

    let mut workers = [worker(&h), worker(&h), worker(&h)];
    let started = Instant::now();
    let mut kills = 0;
    let mut flushed = false;
    while started.elapsed() < CHAOS && !all_final(&h, &ids).await {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let victim = kills % workers.len();
        workers[victim] = worker(&h); // the old one is SIGKILLed as it is dropped
        kills += 1;
        if !flushed && kills == 5 {
            h.flush_redis().await;
            flushed = true;
        }
    }
    assert!(flushed && kills >= 5, "the chaos ran ({kills} kills)");

    let done = h.until_final(&ids, Duration::from_secs(180)).await;
    assert_eq!(
        done.len(),
        ids.len(),
        "every delivery reached a final state"
    );
    let not_published: Vec<_> = done
        .iter()
        .filter(|d| d.state != DeliveryState::Published)
        .map(|d| (d.platform, d.state, d.error.clone()))
        .collect();
    assert!(not_published.is_empty(), "{not_published:?}");
    for t in &texts {
        assert_eq!(h.sim_count("linkedin", t).await, 1, "LinkedIn: `{t}` once");
        assert_eq!(h.sim_count("facebook", t).await, 1, "Facebook: `{t}` once");
    }
    drop(workers);
}

async fn all_final(h: &Harness, ids: &[herald_domain::DeliveryId]) -> bool {
    for id in ids {
        if !h.delivery(*id).await.state.is_final() {
            return false;
        }
    }
    true
}
