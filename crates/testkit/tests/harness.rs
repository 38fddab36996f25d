//! The harness cleans up after itself.

use herald_testkit::{TestDb, TestRedis, test_keyring};
use redis::AsyncCommands as _;

#[tokio::test]
async fn a_test_database_is_migrated_and_gone_after_drop() {
    let db = TestDb::new().await;
    let name = db.name().to_owned();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'deliveries'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(tables, 1);
    let other = TestDb::new().await;
    drop(db);

    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(other.pool())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn test_redis_keys_are_deleted_on_drop_and_others_are_kept() {
    let neighbour = TestRedis::new().await;
    let mut conn = neighbour.connection().await;
    let _: () = conn.set(neighbour.key("stays"), 1).await.unwrap();

    let redis = TestRedis::new().await;
    assert_ne!(redis.prefix(), neighbour.prefix());
    for i in 0..3 {
        let _: () = conn.set(redis.key(&format!("k{i}")), i).await.unwrap();
    }
    let pattern = format!("{}*", redis.prefix());
    drop(redis);

    let left: Vec<String> = conn.keys(pattern).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
    let kept: Option<i64> = conn.get(neighbour.key("stays")).await.unwrap();
    assert_eq!(kept, Some(1));
}

#[test]
fn the_test_keyring_seals_and_opens() {
    let ring = test_keyring();
    let place = herald_store::SealedField::new("connections", uuid::Uuid::nil(), "access_token");
    let sealed = ring.seal("t", place).unwrap();
    assert!(ring.open(&sealed, place).is_ok());
}
