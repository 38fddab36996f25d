//! The README's first command: `herald demo` runs Herald end to end and says so, against the
//! configured Postgres and Redis, or, where none answers, against private ones it starts and
//! removes.
//!
//! The demo tests run one at a time ([`one_demo_at_a_time`]): each runs the whole pipeline
//! (simulator, API and worker processes; one also starts a Postgres and a Redis), and two at
//! once on a small machine would time each other out.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use herald_testkit::TestDb;
use tokio::sync::{Mutex, MutexGuard};

/// How long one demo run may take, private servers included, before the test stops it.
const DEMO_TIMEOUT: Duration = Duration::from_secs(300);

static DEMO: Mutex<()> = Mutex::const_new(());

/// Waits for the other demo tests of this binary to finish; held to the test's end.
async fn one_demo_at_a_time() -> MutexGuard<'static, ()> {
    DEMO.lock().await
}

#[tokio::test]
async fn the_demo_publishes_its_whole_batch_and_exits_zero() {
    let _alone = one_demo_at_a_time().await;
    let db = TestDb::new().await;
    let data_dir = std::env::temp_dir().join(format!("herald-demo-{}", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db.url())
        .env("HERALD_DATA_DIR", &data_dir)
        .output()
        .expect("herald demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Every delivery reached the state the demo expected."),
        "{stdout}"
    );
    // One row per delivery: 28, each in its expected state (a `!` marks a miss).
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("target "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 28, "{stdout}");
    assert!(rows.iter().all(|r| !r.contains('!')), "{stdout}");
    let published = rows.iter().filter(|r| r.contains(" published ")).count();
    assert_eq!(published, 27, "{stdout}");
    // The uploaded video went out on all six platforms, the carousel on two, and the first
    // comment stands under its post on X, LinkedIn and Facebook.
    for (label, count) in [("video", 6), ("carousel", 2), ("first comment", 3)] {
        let rows = rows
            .iter()
            .filter(|r| r.contains(&format!(" {label} ")) && r.contains(" published "))
            .count();
        assert_eq!(rows, count, "{label}: {stdout}");
    }
    let comments = stdout
        .lines()
        .find_map(|l| l.strip_prefix("First comments on the simulator, each under its post: "))
        .unwrap_or_default();
    let mut comments: Vec<&str> = comments.split(", ").collect();
    comments.sort_unstable();
    assert_eq!(comments, ["facebook", "linkedin", "twitter"], "{stdout}");
    assert!(
        stdout.contains("over the window  queued -> rate_limited")
            || stdout.contains("over the window  rate_limited"),
        "the post over the Threads window waits for it: {stdout}"
    );

    // The posts really reached the database the demo was pointed at.
    let deliveries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'published'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(deliveries, 27);
}

#[tokio::test]
async fn where_no_postgres_or_redis_answers_the_demo_runs_its_own_and_leaves_nothing_behind() {
    let _alone = one_demo_at_a_time().await;
    let data_dir = std::env::temp_dir().join(format!(
        "herald-demo-fresh-{}",
        uuid::Uuid::new_v4().simple()
    ));
    // Ports nothing listens on: the configured servers do not answer.
    let (postgres_port, redis_port) = (free_port(), free_port());
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
    command
        .arg("demo")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{postgres_port}/herald"),
        )
        .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
        .env("HERALD_DATA_DIR", &data_dir);
    let (output, demo_pid) = run_bounded(command, DEMO_TIMEOUT);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let left_running = processes_of(&data_dir);
    let private_dirs = [
        data_dir.join(format!("demo/postgres-{demo_pid}")),
        data_dir.join(format!("demo/redis-{demo_pid}")),
        std::env::temp_dir().join(format!("herald-demo-postgres-{demo_pid}")),
    ];
    let dirs_left: Vec<&PathBuf> = private_dirs.iter().filter(|d| d.exists()).collect();
    let _ = std::fs::remove_dir_all(&data_dir);

    assert!(output.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("Every delivery reached the state the demo expected."),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "Postgres does not answer at 127.0.0.1:{postgres_port}: starting a private one"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "Redis does not answer at 127.0.0.1:{redis_port}: starting a private one"
        )),
        "{stdout}"
    );
    let private_postgres = port_after(&stdout, "private Postgres at 127.0.0.1:");
    let private_redis = port_after(&stdout, "private Redis at 127.0.0.1:");

    // Nothing of the demo still runs or answers, and the private servers' data is gone.
    assert!(left_running.is_empty(), "still running: {left_running:#?}");
    for port in [private_postgres, private_redis] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "something still answers on the private server's port {port}:\n{stdout}"
        );
    }
    assert!(dirs_left.is_empty(), "not removed: {dirs_left:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// The port printed right after `prefix` in the demo's output.
fn port_after(stdout: &str, prefix: &str) -> u16 {
    let rest = stdout
        .split_once(prefix)
        .unwrap_or_else(|| panic!("no `{prefix}` in the demo's output:\n{stdout}"))
        .1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|e| panic!("no port after `{prefix}` ({e}):\n{stdout}"))
}

/// Runs `command` to its end, for at most `within`: past that it gets SIGTERM (on which the
/// demo still stops what it started) and the test fails. Returns the output
/// and the process id.
fn run_bounded(mut command: Command, within: Duration) -> (Output, u32) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald demo starts");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(within) {
        Ok(output) => (output.expect("herald demo's output"), pid),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let output = rx.recv_timeout(Duration::from_secs(60));
            let (stdout, stderr) = match &output {
                Ok(Ok(out)) => (
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                ),
                _ => Default::default(),
            };
            panic!(
                "herald demo did not finish within {} s:\n{stdout}\n{stderr}",
                within.as_secs()
            );
        }
    }
}

/// Processes that belong to a demo run with `data_dir`: its children inherit its environment
/// (which names the directory), and the private servers run inside it.
fn processes_of(data_dir: &Path) -> Vec<String> {
    let marker = data_dir.to_string_lossy().into_owned();
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")
        .expect("/proc lists processes")
        .flatten()
    {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let dir = entry.path();
        let in_dir = std::fs::read_link(dir.join("cwd"))
            .is_ok_and(|cwd| cwd.to_string_lossy().starts_with(&marker));
        let with_env = std::fs::read(dir.join("environ"))
            .is_ok_and(|env| String::from_utf8_lossy(&env).contains(&marker));
        if in_dir || with_env {
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}
