//! The `herald` binary as an operator uses it, against the real Postgres.

use std::process::{Command, Output};

use sqlx::{Connection, PgConnection};

const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

fn server_url() -> String {
    std::env::var("HERALD_TEST_DATABASE_URL").unwrap_or_else(|_| SERVER.to_owned())
}

/// A database name nobody has used, dropped (if it was created) when the test ends.
struct FreshDatabase {
    name: String,
}

impl FreshDatabase {
    fn new() -> Self {
        Self {
            name: format!("herald_test_cli_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    fn url(&self) -> String {
        format!("{}/{}", server_url(), self.name)
    }

    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url())
            .await
            .expect("the test database accepts connections")
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the cleanup thread");
            runtime.block_on(async {
                if let Ok(mut admin) =
                    PgConnection::connect(&format!("{}/postgres", server_url())).await
                {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                }
            });
        })
        .join();
    }
}

/// Runs `herald` with a clean environment: only what the test gives it.
fn herald(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("herald runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn test_keys() -> String {
    let output = herald(&["keys", "gen-encryption"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output).trim().to_owned()
}

async fn schema_fingerprint(conn: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar::<_, String>(
        "SELECT table_name || '.' || column_name || ':' || data_type
         FROM information_schema.columns WHERE table_schema = 'public'
         UNION ALL
         SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = 'public'
         UNION ALL
         SELECT 'constraint ' || conname FROM pg_constraint
           WHERE connamespace = 'public'::regnamespace
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await
    .expect("the schema can be read")
}

#[tokio::test]
async fn migrate_creates_the_database_and_schema_and_a_second_run_changes_nothing() {
    let db = FreshDatabase::new();
    let url = db.url();
    let env = [("DATABASE_URL", url.as_str())];

    let first = herald(&["migrate"], &env);
    assert!(
        first.status.success(),
        "first migrate failed: {}",
        stderr(&first)
    );
    assert!(
        stderr(&first).contains("created database"),
        "{}",
        stderr(&first)
    );

    let mut conn = db.connect().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for table in [
        "api_keys",
        "connections",
        "deliveries",
        "delivery_events",
        "delivery_steps",
        "oauth_states",
        "platform_requests",
        "posts",
        "tenants",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    let before = schema_fingerprint(&mut conn).await;
    let migrations_before: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();

    let second = herald(&["migrate"], &env);
    assert!(
        second.status.success(),
        "second migrate failed: {}",
        stderr(&second)
    );
    assert!(!stderr(&second).contains("created database"));
    assert!(stderr(&second).contains("0 applied"), "{}", stderr(&second));
    assert_eq!(schema_fingerprint(&mut conn).await, before);
    let migrations_after: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(migrations_after, migrations_before);
}

#[tokio::test]
async fn tenants_create_prints_the_key_once_and_stores_only_its_hash() {
    let db = FreshDatabase::new();
    let url = db.url();
    let keys = test_keys();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("HERALD_ENCRYPTION_KEYS", keys.as_str()),
    ];
    assert!(herald(&["migrate"], &env).status.success());

    let output = herald(&["tenants", "create", "acme", "--json"], &env);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(stdout(&output).trim())
        .unwrap_or_else(|e| panic!("stdout is one JSON object ({e}): {}", stdout(&output)));
    let tenant_id = printed["tenant_id"].as_str().unwrap().to_owned();
    let api_key = printed["api_key"].as_str().unwrap().to_owned();
    let admin_key = printed["admin_key"].as_str().unwrap().to_owned();
    assert!(api_key.len() >= 40, "a long random key: {api_key}");
    assert_ne!(api_key, admin_key);
    assert!(
        !stderr(&output).contains(&api_key) && !stderr(&output).contains(&admin_key),
        "the keys are printed once, on stdout"
    );

    let mut conn = db.connect().await;
    let name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1::uuid")
        .bind(&tenant_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(name, "acme");
    let rows: Vec<String> = sqlx::query_scalar("SELECT t::text FROM api_keys t")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for key in [&api_key, &admin_key] {
        let secret_part = key.rsplit('_').next().unwrap();
        for row in &rows {
            assert!(!row.contains(key.as_str()), "plaintext key stored: {row}");
            assert!(!row.contains(secret_part), "secret part stored: {row}");
        }
    }
    let scopes_of = |id: &serde_json::Value| {
        sqlx::query_scalar::<_, String>(
            "SELECT array_to_string(scopes, ',') FROM api_keys WHERE id = $1::uuid",
        )
        .bind(id.as_str().unwrap().to_owned())
    };
    let api_scopes = scopes_of(&printed["api_key_id"])
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(api_scopes, "publish,read");
    let admin_scopes = scopes_of(&printed["admin_key_id"])
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(admin_scopes, "publish,read,admin");

    // Another key with more scopes, same output shape.
    let output = herald(
        &[
            "keys",
            "create",
            "--tenant",
            &tenant_id,
            "--scopes",
            "publish,read,admin",
            "--json",
        ],
        &env,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(printed["tenant_id"], tenant_id.as_str());
    assert_ne!(printed["api_key"].as_str().unwrap(), api_key);
    assert_eq!(
        printed["scopes"],
        serde_json::json!(["publish", "read", "admin"])
    );

    // The same name again is refused with a clear message.
    let again = herald(&["tenants", "create", "acme"], &env);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("acme"), "{}", stderr(&again));
}

#[tokio::test]
async fn keys_create_refuses_unknown_scopes_and_tenants() {
    let db = FreshDatabase::new();
    let url = db.url();
    let keys = test_keys();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("HERALD_ENCRYPTION_KEYS", keys.as_str()),
    ];
    assert!(herald(&["migrate"], &env).status.success());
    let bad_scope = herald(
        &[
            "keys",
            "create",
            "--tenant",
            &uuid::Uuid::new_v4().to_string(),
            "--scopes",
            "publish,write",
        ],
        &env,
    );
    assert!(!bad_scope.status.success());
    assert!(
        stderr(&bad_scope).contains("write"),
        "{}",
        stderr(&bad_scope)
    );

    let no_tenant = herald(
        &[
            "keys",
            "create",
            "--tenant",
            &uuid::Uuid::new_v4().to_string(),
        ],
        &env,
    );
    assert!(!no_tenant.status.success());
    assert!(
        stderr(&no_tenant).contains("tenant"),
        "{}",
        stderr(&no_tenant)
    );
}

#[tokio::test]
async fn keys_get_names_that_keys_list_shows_and_a_bad_name_is_refused() {
    let db = FreshDatabase::new();
    let url = db.url();
    let keys = test_keys();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("HERALD_ENCRYPTION_KEYS", keys.as_str()),
    ];
    assert!(herald(&["migrate"], &env).status.success());
    let created = herald(&["tenants", "create", "acme", "--json"], &env);
    assert!(created.status.success(), "{}", stderr(&created));
    let printed: serde_json::Value = serde_json::from_str(stdout(&created).trim()).unwrap();
    let tenant_id = printed["tenant_id"].as_str().unwrap().to_owned();

    let named = herald(
        &[
            "keys",
            "create",
            "--tenant",
            &tenant_id,
            "--scopes",
            "admin",
            "--name",
            "  ops-alice ",
            "--json",
        ],
        &env,
    );
    assert!(named.status.success(), "{}", stderr(&named));
    let printed: serde_json::Value = serde_json::from_str(stdout(&named).trim()).unwrap();
    assert_eq!(printed["name"], "ops-alice", "trimmed");

    let listed = herald(&["keys", "list", "--tenant", &tenant_id], &env);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let table = stdout(&listed);
    assert!(
        table.contains("NAME") && table.contains("ops-alice"),
        "{table}"
    );

    for bad in ["   ", &"x".repeat(201)] {
        let refused = herald(
            &["keys", "create", "--tenant", &tenant_id, "--name", bad],
            &env,
        );
        assert!(!refused.status.success());
        let message = stderr(&refused);
        assert!(
            message.contains("--name") && message.contains("1 to 200 characters"),
            "{message}"
        );
    }
}

#[test]
fn config_check_redacts_secrets_and_fails_on_an_invalid_configuration() {
    let ok = herald(
        &["config", "check"],
        &[
            ("DATABASE_URL", "postgres://app:pg-secret-1@db/herald"),
            ("TWITTER_CLIENT_ID", "tw-id"),
            ("TWITTER_CLIENT_SECRET", "tw-secret-2"),
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let shown = stdout(&ok);
    assert!(shown.contains("client_id = \"tw-id\""), "{shown}");
    assert!(
        !shown.contains("pg-secret-1") && !shown.contains("tw-secret-2"),
        "{shown}"
    );

    let bad = herald(
        &["config", "check"],
        &[
            ("HERALD_PUBLIC_URL", "ftp://nope"),
            ("HERALD_WORKER__CONCURRENCY", "0"),
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let message = stderr(&bad);
    assert!(
        message.contains("HERALD_PUBLIC_URL") && message.contains("HERALD_WORKER__CONCURRENCY"),
        "{message}"
    );

    let bad_keys = herald(
        &["config", "check"],
        &[("HERALD_ENCRYPTION_KEYS", "k1:tooshort")],
    );
    assert_eq!(bad_keys.status.code(), Some(2));
    assert!(
        !stderr(&bad_keys).contains("tooshort"),
        "key material is never echoed"
    );
}

#[test]
fn production_refuses_to_start_without_encryption_keys() {
    let output = herald(&["migrate"], &[("HERALD_ENV", "production")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("HERALD_ENCRYPTION_KEYS"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn development_generates_one_key_file_and_reuses_it() {
    let db = FreshDatabase::new();
    let url = db.url();
    let data_dir = std::env::temp_dir().join(format!("herald-cli-{}", uuid::Uuid::new_v4()));
    let data = data_dir.to_str().unwrap();
    let env = [("DATABASE_URL", url.as_str()), ("HERALD_DATA_DIR", data)];
    assert!(herald(&["migrate"], &env).status.success());
    let first = herald(&["tenants", "create", "one"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("WARNING"),
        "a loud warning: {}",
        stderr(&first)
    );
    let key_file = data_dir.join("encryption.keys");
    let key = std::fs::read_to_string(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "only the owner may read the key file");
    }
    assert!(herald(&["tenants", "create", "two"], &env).status.success());
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key,
        "generated once"
    );
    std::fs::remove_dir_all(&data_dir).unwrap();
}

/// The commands of the README's first code block, without their comments.
fn readme_set_up_commands(readme: &str) -> Vec<String> {
    let mut lines = readme.lines().skip_while(|l| !l.starts_with("```"));
    lines.next(); // the opening fence
    lines
        .take_while(|l| !l.starts_with("```"))
        .map(|line| {
            let command = line.find(" #").map_or(line, |at| &line[..at]);
            command.trim().to_owned()
        })
        .filter(|command| !command.is_empty() && !command.starts_with('#'))
        .collect()
}

#[test]
fn the_readmes_two_commands_are_the_documented_demo_and_what_ci_runs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    };
    let readme = read("README.md");
    let commands = readme_set_up_commands(&readme);
    let [demo, test] = commands.as_slice() else {
        panic!("the README's first code block holds exactly two commands: {commands:?}");
    };

    // The first runs `herald ... demo`, a command the binary has and the README documents.
    let words: Vec<&str> = demo.split_whitespace().collect();
    let herald_at = words
        .iter()
        .position(|w| *w == "herald")
        .unwrap_or_else(|| panic!("the first command names no `herald`: {demo}"));
    assert!(
        words[herald_at + 1..].contains(&"demo"),
        "the first command runs no `herald ... demo`: {demo}"
    );
    assert!(
        herald(&["demo", "--help"], &[]).status.success(),
        "`herald demo` is a command of the binary"
    );
    assert!(
        readme.contains("| `herald demo"),
        "the README's command table documents `herald demo`"
    );

    // The second is what CI runs, verbatim, and the script it names runs the whole suite.
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|line| line.trim() == test.as_str()),
        ".ci/run does not run the README's test command `{test}` verbatim:\n{ci}"
    );
    let script = test
        .strip_prefix("bash ")
        .unwrap_or_else(|| panic!("the test command runs a script with bash: {test}"));
    assert!(
        read(script).contains("cargo test --workspace --locked"),
        "{script} runs the workspace's tests"
    );
}

fn json_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(stdout(output).trim())
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", stdout(output)))
}

#[tokio::test]
async fn tenants_and_keys_are_listed_without_secrets_and_a_key_is_revoked() {
    let db = FreshDatabase::new();
    let url = db.url();
    let keys = test_keys();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("HERALD_ENCRYPTION_KEYS", keys.as_str()),
    ];
    assert!(herald(&["migrate"], &env).status.success());
    let acme = json_of(&herald(&["tenants", "create", "acme", "--json"], &env));
    let tenant = acme["tenant_id"].as_str().unwrap();

    // Without --json: lines for a person, the keys among them.
    let beta = herald(&["tenants", "create", "beta"], &env);
    assert!(beta.status.success(), "{}", stderr(&beta));
    let shown = stdout(&beta);
    assert!(
        shown.contains("admin key") && shown.contains("hrld_") && shown.contains("only this once"),
        "{shown}"
    );

    let tenants = json_of(&herald(&["tenants", "list", "--json"], &env));
    let mut names: Vec<&str> = tenants["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["acme", "beta"]);
    let table = stdout(&herald(&["tenants", "list"], &env));
    assert!(
        table.starts_with("ID") && table.contains(tenant) && table.contains("beta"),
        "{table}"
    );

    let listed = herald(&["keys", "list", "--tenant", tenant, "--json"], &env);
    let listed_json = json_of(&listed);
    let listed_keys = listed_json["data"].as_array().unwrap();
    assert_eq!(listed_keys.len(), 2);
    for secret in [&acme["api_key"], &acme["admin_key"]] {
        let secret_part = secret.as_str().unwrap().rsplit('_').next().unwrap();
        assert!(
            !stdout(&listed).contains(secret_part),
            "{}",
            stdout(&listed)
        );
    }
    assert!(listed_keys.iter().all(|k| k["revoked_at"].is_null()));
    assert!(
        listed_keys
            .iter()
            .any(|k| k["scopes"] == serde_json::json!(["publish", "read", "admin"]))
    );

    let key_id = acme["api_key_id"].as_str().unwrap();
    let revoked = json_of(&herald(&["keys", "revoke", key_id, "--json"], &env));
    assert_eq!(revoked["tenant_id"], tenant);
    let after = json_of(&herald(
        &["keys", "list", "--tenant", tenant, "--json"],
        &env,
    ));
    let revoked_at = |id: &str| {
        after["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| !k["revoked_at"].is_null())
            .unwrap()
    };
    assert!(revoked_at(key_id));
    assert!(!revoked_at(acme["admin_key_id"].as_str().unwrap()));
    let table = stdout(&herald(&["keys", "list", "--tenant", tenant], &env));
    assert!(
        table.contains("REVOKED") && table.contains(key_id),
        "{table}"
    );

    let again = herald(&["keys", "revoke", key_id], &env);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already revoked"),
        "{}",
        stderr(&again)
    );
    let nobody = herald(
        &[
            "keys",
            "list",
            "--tenant",
            &uuid::Uuid::new_v4().to_string(),
        ],
        &env,
    );
    assert!(!nobody.status.success());
    assert!(stderr(&nobody).contains("no tenant"), "{}", stderr(&nobody));
}

/// A configuration file in a directory of its own, removed when the test ends.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("herald-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("the file is written");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn config_check_prints_a_file_that_loads_back() {
    let dir = TempDir::new();
    let source = dir.file(
        "source.toml",
        "[worker]\nlease_secs = 45\n[platforms.twitter.tiers]\npro = 300\n",
    );
    let secrets = [
        ("TWITTER_CLIENT_ID", "tw-id"),
        ("TWITTER_CLIENT_SECRET", "tw-secret-2"),
    ];
    // --config after the command, as with every command.
    let first = herald(&["config", "check", "--config", &source], &secrets);
    assert!(first.status.success(), "{}", stderr(&first));
    let printed = stdout(&first);
    assert!(printed.contains("lease_secs = 45"), "{printed}");
    assert!(
        printed.contains("platforms.twitter.client_secret (TWITTER_CLIENT_SECRET)")
            && !printed.contains("tw-secret-2"),
        "{printed}"
    );

    let pinned = dir.file("pinned.toml", &printed);
    let again = herald(&["--config", &pinned, "config", "check"], &secrets);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), printed);
}

#[test]
fn unknown_keys_are_refused_with_the_closest_known_one() {
    let dir = TempDir::new();
    let file = dir.file("herald.toml", "[worker]\nconcurency = 3\nlease = 5\n");
    let output = herald(&["config", "check", "--config", &file], &[]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("worker.concurency")
            && message.contains("did you mean worker.concurrency?")
            && message.contains("did you mean worker.lease_secs?"),
        "{message}"
    );

    let output = herald(&["config", "check"], &[("HERALD_WORKER__CONCURENCY", "3")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did you mean HERALD_WORKER__CONCURRENCY"),
        "{}",
        stderr(&output)
    );

    // Variables read by the client and the tests are no configuration keys, and not refused.
    let output = herald(
        &["config", "check"],
        &[
            ("HERALD_API_URL", "http://127.0.0.1:8080"),
            ("HERALD_API_KEY", "hrld_abc_def"),
            (
                "HERALD_TEST_DATABASE_URL",
                "postgres://postgres@127.0.0.1:5432",
            ),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("hrld_abc_def"));
}

#[test]
fn config_is_accepted_after_the_command_and_the_simulator_has_its_own() {
    let missing = "/nonexistent/herald-cli-test.toml";
    let output = herald(&["serve", "--config", missing], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(missing), "{}", stderr(&output));

    let output = herald(&["sim", "--config", missing], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--sim-config"),
        "{}",
        stderr(&output)
    );
    let output = herald(
        &["sim", "--addr", "127.0.0.1:0", "--sim-config", missing],
        &[],
    );
    assert!(!output.status.success());
    assert!(stderr(&output).contains(missing), "{}", stderr(&output));
}
