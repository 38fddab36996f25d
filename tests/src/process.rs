//! The `herald` binary, run as a child process the way an operator runs it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;

/// The `herald` binary of this build, built on first use (cargo does not hold its lock while
/// tests run, so this is a quick no-op when it is up to date); later calls reuse that path.
/// It is built into the test binary's own target directory and profile, whatever the
/// environment of the test says (`CARGO_TARGET_DIR` may not be set when the binary is run
/// by hand).
pub fn herald_binary() -> PathBuf {
    static HERALD: OnceLock<PathBuf> = OnceLock::new();
    HERALD
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test binary's path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target/<profile>/deps/<test>");
            let target_dir = profile_dir.parent().expect("target/<profile>");
            let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
                Some("debug") | None => "dev",
                Some(other) => other,
            };
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "herald", "--bin", "herald"])
                .arg("--profile")
                .arg(profile)
                .arg("--target-dir")
                .arg(target_dir)
                .status()
                .expect("cargo runs");
            assert!(status.success(), "the herald binary builds");
            profile_dir.join("herald")
        })
        .clone()
}

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
#[derive(Debug)]
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now, for a child process to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// Set in a process [`run_alone`] started, to the one test it runs.
const ALONE: &str = "HERALD_E2E_ALONE";

/// Whether this process is one [`run_alone`] started for a single test.
pub fn is_alone() -> bool {
    std::env::var_os(ALONE).is_some()
}

/// Runs one test of this binary (`module` is its `module_path!()`, `test` its function name)
/// in a new process of the binary, with nothing else in it; panics with that process' output
/// unless the test ran there and passed. For a test that needs the process to itself, such as
/// one that installs the global tracing subscriber: it starts with
/// `if !is_alone() { return run_alone(module_path!(), "its_name"); }`.
pub fn run_alone(module: &str, test: &str) {
    // `module_path!()` starts with the binary's crate name; libtest names tests without it.
    let path = module.split_once("::").map_or("", |(_, rest)| rest);
    let name = format!("{path}::{test}");
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(exe)
        .args([name.as_str(), "--exact", "--test-threads=1"])
        .env(ALONE, &name)
        .output()
        .expect("the test binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{name}, run alone, did not pass ({}):\n{stdout}\n{stderr}",
        output.status
    );
}
