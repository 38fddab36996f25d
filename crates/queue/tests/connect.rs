//! Connections reach the real Redis and keys stay under their prefix.

use herald_domain::Platform;
use herald_queue::{QueueError, RedisKeys, RedisTimeouts, connect};
use herald_testkit::TestRedis;
use redis::AsyncCommands;

#[tokio::test]
async fn a_connection_reads_back_what_it_wrote_under_its_prefix() {
    let redis = TestRedis::new().await;
    let keys = RedisKeys::new(redis.prefix());
    let mut conn = connect(redis.url(), RedisTimeouts::default())
        .await
        .unwrap();
    let key = keys.blocked_until(Platform::Twitter, "account:1");
    let _: () = conn.set(&key, "1700000000").await.unwrap();
    let back: String = conn.get(&key).await.unwrap();
    assert_eq!(back, "1700000000");
    let found: Vec<String> = conn.keys(keys.all_pattern()).await.unwrap();
    assert_eq!(found, vec![key]);
}

#[tokio::test]
async fn a_bad_url_is_refused_without_echoing_it() {
    let err = connect("http://user:hunter2@localhost", RedisTimeouts::default())
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::InvalidUrl(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
