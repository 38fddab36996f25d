//! What every Herald test stands on: a fresh Postgres database with the migrations applied,
//! a Redis key prefix of its own, and a fixed test keyring. Each test gets its own, so tests
//! run in parallel and leave nothing behind.
//!
//! Set `HERALD_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432`) and
//! `REDIS_URL` (default `redis://127.0.0.1:6379`) to point at other servers.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use herald_store::{Keyring, Store};
use redis::Commands as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection as _, PgConnection, PgPool};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const DB_PREFIX: &str = "herald_test_";
/// Test databases older than this are leftovers of a run that was killed: swept.
const LEFTOVER_AGE: Duration = Duration::from_secs(3600);

/// The key every test seals with. Fixed, so a value sealed in one `Store` of a test opens in
/// another.
pub const TEST_KEYRING: &str = "test-1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn test_keyring() -> Keyring {
    Keyring::parse(TEST_KEYRING).unwrap_or_else(|e| panic!("the test keyring parses: {e}"))
}

/// A database of its own for one test, dropped (connections and all) when this is dropped.
pub struct TestDb {
    name: String,
    url: String,
    admin: PgConnectOptions,
    pool: PgPool,
}

impl TestDb {
    /// Creates a randomly named database, applies the migrations and connects a small pool.
    /// Panics with the reason when Postgres is not reachable.
    pub async fn new() -> Self {
        let server = std::env::var("HERALD_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let admin = PgConnectOptions::from_str(&server)
            .unwrap_or_else(|e| panic!("HERALD_TEST_DATABASE_URL is not a Postgres URL: {e}"))
            .database("postgres");
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("cannot reach Postgres for tests (set HERALD_TEST_DATABASE_URL): {e}")
        });
        static SWEPT: AtomicBool = AtomicBool::new(false);
        if !SWEPT.swap(true, Ordering::SeqCst) {
            sweep_leftovers(&mut conn).await;
        }
        let name = format!(
            "{DB_PREFIX}{}_{}",
            unix_seconds(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = conn.close().await;

        let options = admin.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to test database {name}: {e}"));
        herald_store::migrate(&pool)
            .await
            .unwrap_or_else(|e| panic!("migrations fail on a fresh database: {e:?}"));
        let mut url = url::Url::parse(&server)
            .unwrap_or_else(|e| panic!("HERALD_TEST_DATABASE_URL is not a URL: {e}"));
        url.set_path(&name);
        Self {
            name,
            url: url.to_string(),
            admin,
            pool,
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The URL of this database, for code under test that connects on its own.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store over this database, sealing with [`test_keyring`].
    pub fn store(&self) -> Store {
        Store::new(self.pool.clone(), Arc::new(test_keyring()))
    }
}

impl std::fmt::Debug for TestDb {
    // The URLs may carry a password: show the database name only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb").field("name", &self.name).finish()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: drop the database
        // from a thread with a runtime of its own, and wait for it.
        let admin = self.admin.clone();
        let name = self.name.clone();
        // A database that cannot be dropped now is swept by a later run.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = admin.connect().await.ok()?;
                drop_database(&mut conn, &name).await;
                conn.close().await.ok()
            })
        })
        .join();
    }
}

async fn drop_database(conn: &mut PgConnection, name: &str) {
    let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    let _ = sqlx::raw_sql(AssertSqlSafe(statement)).execute(conn).await;
}

/// Drops test databases left by runs that were killed before their `Drop` ran. The creation
/// time is part of the name, so age is known without superuser rights.
async fn sweep_leftovers(conn: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        r"SELECT datname::text FROM pg_database WHERE datname LIKE 'herald\_test\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    let now = unix_seconds();
    for name in names {
        let created = name
            .strip_prefix(DB_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        let is_ours = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if is_ours && created.is_some_and(|at| now.saturating_sub(at) > LEFTOVER_AGE.as_secs()) {
            drop_database(conn, &name).await;
        }
    }
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A Redis key prefix of its own for one test; every key under it is deleted on drop.
#[derive(Debug)]
pub struct TestRedis {
    url: String,
    prefix: String,
    client: redis::Client,
}

impl TestRedis {
    /// Panics with the reason when Redis is not reachable.
    pub async fn new() -> Self {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
        let client = redis::Client::open(url.as_str())
            .unwrap_or_else(|e| panic!("REDIS_URL is not a Redis URL: {e}"));
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("cannot reach Redis for tests (set REDIS_URL): {e}"));
        let _: () = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("Redis does not answer PING: {e}"));
        Self {
            url,
            prefix: format!("herald_test_{}", uuid::Uuid::new_v4().simple()),
            client,
        }
    }

    /// This test's key prefix, usable as `HERALD_REDIS_PREFIX`: every key that contains it is
    /// this test's, whether it starts with it (`prefix:name`) or carries it in a hash tag
    /// (`{prefix:name}`), and is deleted when the test ends.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `name` under this test's prefix.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        self.client
            .get_multiplexed_async_connection()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to Redis: {e}"))
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        // A blocking connection: no runtime is needed, and drop may run inside one.
        let Ok(mut conn) = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
        else {
            return;
        };
        let pattern = format!("*{}*", self.prefix);
        let keys: Vec<String> = match conn.scan_match(&pattern) {
            Ok(iter) => iter.filter_map(Result::ok).collect(),
            Err(_) => return,
        };
        for chunk in keys.chunks(500) {
            let _: redis::RedisResult<()> = conn.del(chunk);
        }
    }
}
