//! `herald posts|deliveries|connections` as a producer uses them: against a running
//! `herald serve`, with a key, on a fresh database and Redis prefix.

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use herald_domain::{Platform, PostTargetType, TenantId};
use herald_store::{NewConnection, Tokens};
use herald_testkit::{TEST_KEYRING, TestDb, TestRedis};
use secrecy::SecretString;
use serde_json::Value;

/// A `herald serve` of its own, killed when the test ends.
struct Api {
    child: Child,
    url: String,
    env: Vec<(String, String)>,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Api {
    async fn start(db: &TestDb, redis: &TestRedis) -> Api {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", db.url()),
            ("REDIS_URL", redis.url()),
            ("HERALD_REDIS_PREFIX", redis.prefix()),
            ("HERALD_ENCRYPTION_KEYS", TEST_KEYRING),
            // The producer commands default to the public URL.
            ("HERALD_PUBLIC_URL", url.as_str()),
            ("HERALD_API__ADDR", &format!("127.0.0.1:{port}")),
            // A revoked key is refused at once.
            ("HERALD_API__KEY_CACHE_TTL_MS", "0"),
            ("HERALD_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("serve")
            .env_clear()
            .envs(env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("herald serve starts");
        let api = Api { child, url, env };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = http.get(format!("{}/healthz", api.url)).send().await
                && response.status().is_success()
            {
                return api;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("herald serve did not answer /healthz at {}", api.url);
    }

    /// Runs `herald` with the API's environment plus `extra`.
    fn herald(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command
            .args(args)
            .env_clear()
            .envs(self.env.iter().cloned());
        if let Ok(path) = std::env::var("PATH") {
            command.env("PATH", path);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        command.output().expect("herald runs")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_of(output: &Output) -> Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(stdout(output).trim())
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", stdout(output)))
}

/// An X account of `tenant`, as if connected through OAuth.
async fn connect_x(db: &TestDb, tenant: TenantId) -> String {
    let (connection, _) = db
        .store()
        .connections()
        .upsert(&NewConnection {
            tenant_id: tenant,
            external_user_id: None,
            platform: Platform::Twitter,
            app_type: None,
            post_target_type: PostTargetType::Personal,
            selected_page_id: None,
            account_id: "x-account-1".into(),
            account_name: Some("Acme".into()),
            account_handle: Some("acme".into()),
            scopes: vec!["tweet.write".into()],
            rate_tier: None,
            tokens: Tokens {
                access_token: SecretString::from("access-token"),
                refresh_token: None,
                expires_at: None,
            },
        })
        .await
        .expect("the connection is stored");
    connection.id.to_string()
}

/// A tenant through the CLI: its id, producer key and admin key.
fn create_tenant(api: &Api, name: &str) -> (TenantId, String, String) {
    let created = json_of(&api.herald(&["tenants", "create", name, "--json"], &[]));
    let field = |name: &str| {
        created[name]
            .as_str()
            .unwrap_or_else(|| panic!("tenants create prints {name}: {created}"))
            .to_owned()
    };
    let tenant = field("tenant_id").parse().expect("a tenant id");
    (tenant, field("api_key"), field("admin_key"))
}

#[tokio::test]
async fn a_post_is_enqueued_and_read_back_through_the_api() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let api = Api::start(&db, &redis).await;
    let (tenant, key, _) = create_tenant(&api, "acme");
    let connection = connect_x(&db, tenant).await;
    let with_key = [("HERALD_API_KEY", key.as_str())];

    let created = api.herald(
        &[
            "posts",
            "create",
            "--text",
            "hello from the CLI",
            "--target",
            &connection,
            "--json",
        ],
        &with_key,
    );
    let post = json_of(&created);
    let post_id = post["id"].as_str().unwrap().to_owned();
    assert_eq!(post["deliveries"][0]["connection_id"], connection.as_str());
    assert_eq!(post["deliveries"][0]["state"], "queued");
    assert!(!stdout(&created).contains(&key) && !stderr(&created).contains(&key));

    let got = json_of(&api.herald(&["posts", "get", &post_id, "--json"], &with_key));
    assert_eq!(got["id"], post_id.as_str());
    let shown = stdout(&api.herald(&["posts", "get", &post_id], &with_key));
    assert!(
        shown.contains(&post_id) && shown.contains("twitter") && shown.contains(&connection),
        "{shown}"
    );

    // --json-body from stdin, --target added to it; the same key and URL as flags.
    let body = r#"{"text": "from a body", "metadata": {"campaign": "launch"}}"#;
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args([
            "posts",
            "create",
            "--json-body",
            "-",
            "--target",
            &connection,
            "--json",
        ])
        .args(["--api-url", &api.url, "--key", &key])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
    }
    let from_body = json_of(&child.wait_with_output().unwrap());
    assert_eq!(from_body["metadata"]["campaign"], "launch");

    let deliveries = json_of(&api.herald(
        &["deliveries", "list", "--post", &post_id, "--json"],
        &with_key,
    ));
    let data = deliveries["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{deliveries}");
    assert_eq!(data[0]["post_id"], post_id.as_str());
    let all = stdout(&api.herald(&["deliveries", "list", "--state", "queued"], &with_key));
    assert_eq!(
        all.lines().count(),
        3,
        "a header and two deliveries:\n{all}"
    );

    let connections = json_of(&api.herald(&["connections", "list", "--json"], &with_key));
    assert_eq!(connections["data"][0]["id"], connection.as_str());
    let table = stdout(&api.herald(&["connections", "list"], &with_key));
    assert!(
        table.contains("acme") && table.contains(&connection),
        "{table}"
    );

    // Another tenant's key sees none of it.
    let (_, other_key, _) = create_tenant(&api, "other");
    let other = api.herald(
        &["posts", "get", &post_id],
        &[("HERALD_API_KEY", &other_key)],
    );
    assert!(!other.status.success());
    assert!(stderr(&other).contains("(404)"), "{}", stderr(&other));
    let none = json_of(&api.herald(
        &["deliveries", "list", "--json"],
        &[("HERALD_API_KEY", &other_key)],
    ));
    assert_eq!(none["data"], serde_json::json!([]));
}

#[tokio::test]
async fn api_errors_are_shown_with_each_field_and_a_failing_exit() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let api = Api::start(&db, &redis).await;
    let (tenant, key, admin_key) = create_tenant(&api, "acme");
    let connection = connect_x(&db, tenant).await;
    let with_key = [("HERALD_API_KEY", key.as_str())];

    let too_long = "x".repeat(400);
    let refused = api.herald(
        &[
            "posts",
            "create",
            "--text",
            &too_long,
            "--target",
            &connection,
        ],
        &with_key,
    );
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(message.contains("(422)"), "{message}");
    assert!(
        message.contains("\n  - "),
        "each field error on a line: {message}"
    );
    assert!(message.contains("text"), "{message}");
    assert!(!message.contains(&key), "{message}");
    assert_eq!(stdout(&refused), "");

    let unreadable = api.herald(
        &[
            "posts",
            "create",
            "--text",
            "hi",
            "--target",
            &connection,
            "--publish-at",
            "tomorrow",
        ],
        &with_key,
    );
    assert!(!unreadable.status.success());
    assert!(
        stderr(&unreadable).contains("--publish-at"),
        "{}",
        stderr(&unreadable)
    );

    // A revoked key is refused from then on, and said so.
    let keys = json_of(&api.herald(
        &["keys", "list", "--tenant", &tenant.to_string(), "--json"],
        &[],
    ));
    let producer = keys["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["scopes"] == serde_json::json!(["publish", "read"]))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        api.herald(&["keys", "revoke", &producer], &[])
            .status
            .success()
    );
    let after = api.herald(&["connections", "list"], &with_key);
    assert!(!after.status.success());
    assert!(stderr(&after).contains("(401)"), "{}", stderr(&after));
    assert!(
        api.herald(&["connections", "list"], &[("HERALD_API_KEY", &admin_key)])
            .status
            .success()
    );

    // No key at all: said before any request.
    let keyless = api.herald(&["connections", "list"], &[]);
    assert!(!keyless.status.success());
    assert!(
        stderr(&keyless).contains("HERALD_API_KEY"),
        "{}",
        stderr(&keyless)
    );
}

/// Needs `GET /v1/posts` (`{"data", "next_cursor"}`, filters `state`, `since`, `until`,
/// paging `limit`, `cursor`).
#[tokio::test]
async fn posts_are_listed_a_page_at_a_time() {
    let (db, redis) = (TestDb::new().await, TestRedis::new().await);
    let api = Api::start(&db, &redis).await;
    let (tenant, key, _) = create_tenant(&api, "acme");
    let connection = connect_x(&db, tenant).await;
    let with_key = [("HERALD_API_KEY", key.as_str())];
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let post = json_of(&api.herald(
            &[
                "posts",
                "create",
                "--text",
                text,
                "--target",
                &connection,
                "--json",
            ],
            &with_key,
        ));
        ids.push(post["id"].as_str().unwrap().to_owned());
    }

    let first = json_of(&api.herald(&["posts", "list", "--limit", "2", "--json"], &with_key));
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = json_of(&api.herald(
        &[
            "posts", "list", "--limit", "2", "--cursor", &cursor, "--json",
        ],
        &with_key,
    ));
    let mut seen: Vec<String> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    let table = stdout(&api.herald(&["posts", "list", "--state", "queued"], &with_key));
    assert_eq!(table.lines().count(), 4, "{table}");
    let future = json_of(&api.herald(
        &["posts", "list", "--since", "2999-01-01T00:00:00Z", "--json"],
        &with_key,
    ));
    assert_eq!(future["data"], serde_json::json!([]));
}
