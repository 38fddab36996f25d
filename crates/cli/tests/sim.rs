//! `herald sim` as a developer starts it: one process serving every platform.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the simulator when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn herald_sim_serves_every_platform_and_its_fixtures() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["sim", "--addr", "127.0.0.1:0"])
        .env_clear()
        .stderr(Stdio::piped())
        .spawn()
        .expect("herald sim starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let _running = Running(child);
    // It says where it listens on its first line; keep draining the rest so its logging
    // never meets a closed pipe.
    let (first_line, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        if let Some(Ok(line)) = lines.next() {
            let _ = first_line.send(line);
        }
        lines.for_each(drop);
    });
    let first = first
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("herald sim says where it listens");
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();

    let fixtures: serde_json::Value = reqwest::get(format!("{url}/_sim/fixtures"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = fixtures["telegram"]["bot_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(fixtures["telegram"]["chat_id"].is_number(), "{fixtures}");

    // One request per platform prefix, each answered by that platform's API.
    let me = reqwest::get(format!("{url}/telegram/bot{token}/getMe"))
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["ok"], true);
    let client = reqwest::Client::new();
    for path in [
        "/x/2/users/me",
        "/linkedin/v2/userinfo",
        "/graph/v24.0/me/accounts",
        "/threads/v1.0/me",
    ] {
        let answer = client
            .get(format!("{url}{path}"))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert!(
            answer.status() == 401 || answer.status() == 400,
            "{path}: an unknown token is refused the platform's way, got {}",
            answer.status()
        );
    }
    let posts: serde_json::Value = reqwest::get(format!("{url}/_sim/posts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(posts["data"], serde_json::json!([]));
}
