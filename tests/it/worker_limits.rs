//! Limits hold across every worker, and waiting never holds a worker: the X window over
//! three workers, and hundreds of slow LinkedIn image posts in flight at once.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use herald_domain::{AppType, DeliveryState, Platform};
use herald_sim::SimConfig;
use support::harness::{Harness, fast_sim, text, with_image};

#[tokio::test]
async fn the_x_window_holds_across_three_workers_and_the_rest_wait_for_the_next_window() {
    let _serial = support::serial().await;
    const LIMIT: usize = 17;
    const WINDOW_SECS: i64 = 4;
    let mut sim = fast_sim();
    sim.x.user_daily_limit = Some(LIMIT as u32);
    sim.x.daily_window_secs = WINDOW_SECS as f64;
    let h = Harness::start_with(
        sim,
        &[(
            "HERALD_PLATFORMS__TWITTER__WINDOW_SECS",
            &WINDOW_SECS.to_string(),
        )],
    )
    .await;
    let connection = h.connect(Platform::Twitter, None).await;
    let mut workers = Vec::new();
    for _ in 0..3 {
        let mut settings = h.settings();
        settings.name = herald_worker::unique_name();
        settings.consumer.batch_size = 4;
        workers.push(h.spawn_worker_with(settings));
    }
    let posts: Vec<_> = (0..30)
        .map(|n| (connection, text(&format!("window post {n}"))))
        .collect();
    let ids = h.posts(&posts, None).await;

    let done = h.until_final(&ids, Duration::from_secs(40)).await;
    assert!(
        done.iter().all(|d| d.state == DeliveryState::Published),
        "{:?}",
        done.iter()
            .map(|d| (d.state, d.error.clone()))
            .collect::<Vec<_>>()
    );
    let mut waited = 0;
    for delivery in &done {
        let events = h.store.deliveries().events(delivery.id).await.unwrap();
        if events.iter().any(|e| e.to == DeliveryState::RateLimited) {
            waited += 1;
        }
        assert_eq!(delivery.attempts, 1, "waiting used no attempt");
    }
    assert!(
        waited >= 30 - LIMIT,
        "the rest waited as rate_limited ({waited})"
    );

    let mut at: Vec<DateTime<Utc>> = h
        .sim_posts("twitter")
        .await
        .iter()
        .map(|p| p["created_at"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(at.len(), 30, "each post exactly once");
    at.sort();
    let window = TimeDelta::seconds(WINDOW_SECS);
    for (i, start) in at.iter().enumerate() {
        let within = at[i..].iter().take_while(|t| **t - *start < window).count();
        assert!(
            within <= LIMIT,
            "{within} posts within {WINDOW_SECS} s from {start}"
        );
    }
    assert!(
        at[LIMIT] - at[0] >= window,
        "the 18th went out in the next window"
    );
    for worker in workers {
        worker.stop().await;
    }
}

#[tokio::test]
async fn two_hundred_linkedin_image_posts_wait_for_their_slow_processing_side_by_side() {
    let _serial = support::serial().await;
    let mut sim = SimConfig::unlimited();
    sim.linkedin.image_processing_ms = 2_000;
    let h = Harness::start(sim).await;
    let connection = h.connect(Platform::Linkedin, Some(AppType::Personal)).await;
    let worker = h.spawn_worker();
    let posts: Vec<_> = (0..200)
        .map(|n| {
            (
                connection,
                with_image(&format!("slow image {n}"), h.image_url("1200x627")),
            )
        })
        .collect();

    let started = Instant::now();
    let ids = h.posts(&posts, None).await;
    let done = h.until_final(&ids, Duration::from_secs(120)).await;
    let elapsed = started.elapsed();

    assert!(done.iter().all(|d| d.state == DeliveryState::Published));
    // Not a speed figure (bench/ has those): waits taken one after another would need 400 s,
    // so anything under a quarter of that shows they overlap, on a busy machine too.
    assert!(
        elapsed < Duration::from_secs(100),
        "200 posts took {elapsed:?}; one after another would take 400 s"
    );
    assert_eq!(h.sim_posts("linkedin").await.len(), 200);
    worker.stop().await;
}
