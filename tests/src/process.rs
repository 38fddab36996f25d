//! The `herald` binary, run as a child process the way an operator runs it.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::OnceLock;

/// The `herald` binary of this build, built on first use (cargo does not hold its lock while
/// tests run, so this is a quick no-op when it is up to date); later calls reuse that path.
pub fn herald_binary() -> PathBuf {
    static HERALD: OnceLock<PathBuf> = OnceLock::new();
    HERALD
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--quiet", "-p", "herald", "--bin", "herald"])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "the herald binary builds");
            let exe = std::env::current_exe().expect("the test binary's path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target/<profile>/deps/<test>");
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
