//! The API's probes tell a load balancer the truth about Postgres and Redis.

use std::net::SocketAddr;

use std::sync::Arc;

use herald_api::AppState;
use herald_config::Config;
use herald_platforms::{HttpSettings, Platforms};
use herald_queue::{RedisTimeouts, connect};
use herald_store::Store;
use herald_testkit::{TestDb, TestRedis, test_keyring};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The API's state over `pool` and `redis`, configured with the defaults.
fn state(pool: PgPool, redis: redis::aio::ConnectionManager) -> AppState {
    let config =
        Config::load_from(None, Vec::<(String, String)>::new()).expect("the defaults load");
    let platforms =
        Platforms::new(&config.platforms, &HttpSettings::default()).expect("platform clients");
    let store = Store::new(pool, Arc::new(test_keyring()));
    AppState::new(config, store, redis, platforms).expect("the API state builds")
}

async fn spawn_api(state: AppState) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let addr = listener.local_addr().expect("bound");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(herald_api::serve(state, listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn readyz_is_ok_while_postgres_and_redis_answer() {
    let db = TestDb::new().await;
    let redis = TestRedis::new().await;
    let state = state(
        db.pool().clone(),
        connect(redis.url(), RedisTimeouts::default())
            .await
            .unwrap(),
    );
    let (addr, _stop) = spawn_api(state).await;

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"postgres": "ok", "redis": "ok"}));
}

#[tokio::test]
async fn readyz_is_unavailable_and_says_why_when_postgres_is_down() {
    let redis = TestRedis::new().await;
    // Nothing listens on port 1: every query fails to connect.
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect_lazy("postgres://postgres@127.0.0.1:1/herald")
        .unwrap();
    let state = state(
        pool,
        connect(redis.url(), RedisTimeouts::default())
            .await
            .unwrap(),
    );
    let (addr, _stop) = spawn_api(state).await;

    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the process itself is alive");
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert!(body["postgres"]["error"].is_string(), "{body}");
    assert_eq!(body["redis"], "ok");
}
