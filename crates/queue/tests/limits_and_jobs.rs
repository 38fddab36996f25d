//! The queue against a real Redis: jobs land where apalis-redis looks for them, finished jobs
//! are trimmed, the GCRA limiter is exact, and blocks only ever extend.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use herald_domain::{DeliveryId, Platform, PublishJob};
use herald_queue::{Gcra, GcraDecision, JobQueue, RateLimiter, RedisKeys, Throttle};
use herald_testkit::TestRedis;
use redis::AsyncCommands;

async fn queue(redis: &TestRedis) -> JobQueue {
    JobQueue::connect(redis.url(), RedisKeys::new(redis.prefix()))
        .await
        .expect("Redis")
}

#[tokio::test]
async fn pushed_jobs_wait_in_the_queue_and_carry_only_the_delivery_and_trace() {
    let redis = TestRedis::new().await;
    let queue = queue(&redis).await;
    let mut job = PublishJob::new(DeliveryId::new());
    job.trace
        .insert("traceparent".into(), "00-abc-def-01".into());
    let later = PublishJob::new(DeliveryId::new());
    queue
        .push_many(&[
            (job.clone(), Utc::now()),
            (later, Utc::now() + TimeDelta::hours(1)),
        ])
        .await
        .unwrap();

    let depth = queue.depth().await.unwrap();
    assert_eq!(depth.scheduled + depth.waiting, 2);
    let mut conn = redis.connection().await;
    let data: Vec<String> = conn
        .hvals(format!("{}:data", queue.keys().queue("publish")))
        .await
        .unwrap();
    let stored: Vec<PublishJob> = data
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(stored.contains(&job), "{data:?}");
    assert!(
        data.iter().all(|d| !d.contains("text")),
        "no content in Redis"
    );
}

#[tokio::test]
async fn finished_jobs_are_trimmed_from_redis() {
    let redis = TestRedis::new().await;
    let queue = queue(&redis).await;
    let name = queue.keys().queue("publish");
    let mut conn = redis.connection().await;
    let _: () = conn.sadd(format!("{name}:done"), "job-1").await.unwrap();
    let _: () = conn
        .hset(format!("{name}:data"), "job-1", "{}")
        .await
        .unwrap();
    let _: () = conn
        .hset(format!("{name}:meta:job-1"), "status", "Done")
        .await
        .unwrap();

    assert_eq!(queue.trim_completed(100).await.unwrap(), 1);
    let left: Vec<String> = conn.keys(format!("*{}*", redis.prefix())).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn the_gcra_allows_its_burst_then_says_when_the_next_cell_frees() {
    let redis = TestRedis::new().await;
    let q = queue(&redis).await;
    let limiter = RateLimiter::new(q.connection(), q.keys().clone());
    let limit = Gcra {
        platform: Platform::Telegram,
        scope: "account:@chan",
        limit: 3,
        period: Duration::from_secs(3),
    };
    for _ in 0..3 {
        assert_eq!(
            limiter.acquire(&limit).await.unwrap(),
            GcraDecision::Allowed
        );
    }
    let GcraDecision::Denied { retry_at } = limiter.acquire(&limit).await.unwrap() else {
        panic!("the fourth in the period is denied");
    };
    let wait = retry_at - Utc::now();
    assert!(
        wait > TimeDelta::milliseconds(500) && wait <= TimeDelta::milliseconds(1_100),
        "one cell frees after about a second: {wait}"
    );
    let other = Gcra {
        scope: "account:@other",
        ..limit
    };
    assert_eq!(
        limiter.acquire(&other).await.unwrap(),
        GcraDecision::Allowed,
        "limits are per key"
    );
}

#[tokio::test]
async fn a_throttle_is_a_gcra_of_its_own_beside_platform_limits() {
    let redis = TestRedis::new().await;
    let q = queue(&redis).await;
    let limiter = RateLimiter::new(q.connection(), q.keys().clone());
    let throttle = Throttle {
        scope: "auth-failures:all",
        limit: 2,
        period: Duration::from_secs(60),
    };
    for _ in 0..2 {
        assert_eq!(
            limiter.throttle(&throttle).await.unwrap(),
            GcraDecision::Allowed
        );
    }
    assert!(matches!(
        limiter.throttle(&throttle).await.unwrap(),
        GcraDecision::Denied { .. }
    ));
    let platform = Gcra {
        platform: Platform::Twitter,
        scope: "auth-failures:all",
        limit: 1,
        period: Duration::from_secs(60),
    };
    assert_eq!(
        limiter.acquire(&platform).await.unwrap(),
        GcraDecision::Allowed,
        "a platform limit of the same scope is another key"
    );
}

#[tokio::test]
async fn a_block_only_ever_extends_and_ends_by_itself() {
    let redis = TestRedis::new().await;
    let q = queue(&redis).await;
    let limiter = RateLimiter::new(q.connection(), q.keys().clone());
    let soon = Utc::now() + TimeDelta::seconds(30);
    let later = Utc::now() + TimeDelta::seconds(90);
    limiter
        .block(Platform::Twitter, "account:1", later)
        .await
        .unwrap();
    limiter
        .block(Platform::Twitter, "account:1", soon)
        .await
        .unwrap();
    let until = limiter
        .blocked_until(Platform::Twitter, &["account:1", "app"])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(until.timestamp_millis(), later.timestamp_millis());
    assert_eq!(
        limiter
            .blocked_until(Platform::Twitter, &["account:2"])
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_job_pushed_again_while_its_twin_waits_is_not_queued_twice() {
    let redis = TestRedis::new().await;
    let queue = queue(&redis).await;
    let job = PublishJob::new(DeliveryId::new());
    let at = Utc::now();
    queue.push(&job, at).await.unwrap();
    queue.push(&job, at).await.unwrap();
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        depth.waiting + depth.scheduled,
        1,
        "one job for one instant"
    );
    queue.push(&job, at + TimeDelta::seconds(30)).await.unwrap();
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        depth.waiting + depth.scheduled,
        2,
        "a retry is a job of its own"
    );
}

#[tokio::test]
async fn ten_thousand_jobs_due_in_one_second_are_promoted_a_chunk_at_a_time() {
    let redis = TestRedis::new().await;
    let queue = queue(&redis).await;
    let at = Utc::now() + TimeDelta::seconds(30);
    let jobs: Vec<_> = (0..10_000)
        .map(|_| (PublishJob::new(DeliveryId::new()), at))
        .collect();
    for chunk in jobs.chunks(500) {
        queue.push_many(chunk).await.unwrap();
    }
    let later = PublishJob::new(DeliveryId::new());
    queue.push(&later, at + TimeDelta::hours(1)).await.unwrap();
    assert_eq!(queue.depth().await.unwrap().scheduled, 10_001);

    assert_eq!(
        queue.promote_due(Utc::now(), 1_000).await.unwrap(),
        0,
        "nothing is due yet"
    );
    let mut moved = Vec::new();
    loop {
        let n = queue.promote_due(at, 1_000).await.unwrap();
        if n == 0 {
            break;
        }
        moved.push(n);
    }
    assert_eq!(moved, vec![1_000; 10], "ten calls of a thousand");
    let depth = queue.depth().await.unwrap();
    assert_eq!(
        depth.waiting, 10_000,
        "every job due then waits for a worker"
    );
    assert_eq!(depth.scheduled, 1, "the later job stays scheduled");
}
