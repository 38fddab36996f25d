//! The README's first command: `herald demo` runs Herald end to end and says so.

use std::process::Command;

use herald_testkit::TestDb;

#[tokio::test]
async fn the_demo_publishes_its_whole_batch_and_exits_zero() {
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
    // One row per delivery: 17, each in its expected state (a `!` marks a miss).
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("target "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 17, "{stdout}");
    assert!(rows.iter().all(|r| !r.contains('!')), "{stdout}");
    let published = rows.iter().filter(|r| r.contains(" published ")).count();
    assert_eq!(published, 16, "{stdout}");
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
    assert_eq!(deliveries, 16);
}
