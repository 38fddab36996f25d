//! The Postgres and Redis the demo runs against.
//!
//! When the configured servers answer, the demo uses them. When one does not but its server
//! binaries are installed, the demo starts a private, throwaway instance of its own under
//! `.herald/demo/` (a fresh data directory, a free port on loopback, nothing saved) and
//! removes it when the demo ends, however it ends. So `herald demo` works on a machine where
//! nothing runs yet, and never touches a server it did not start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use herald_config::Config;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where Debian installs each major version of the Postgres server (outside `PATH`).
const DEBIAN_POSTGRES: &str = "/usr/lib/postgresql";
/// What a machine without either server needs (Debian, Ubuntu).
const INSTALL_HINT: &str = "apt-get install postgresql redis-server";
/// How long a configured server gets to answer before the demo starts its own.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a private server gets to come up.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a private server gets to stop after it was asked to, before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Accounts a private Postgres runs as when the demo runs as root, which Postgres refuses.
const UNPRIVILEGED_ACCOUNTS: &[&str] = &["postgres", "nobody"];

/// What the demo runs against: the configured servers, or private ones it started (stopped
/// and removed by [`Services::stop`], or on drop).
#[derive(Debug, Default)]
pub(super) struct Services {
    postgres: Option<Private>,
    redis: Option<Private>,
    /// Replaces `DATABASE_URL` while a private Postgres runs.
    database_url: Option<String>,
    /// Replaces `REDIS_URL` while a private Redis runs.
    redis_url: Option<String>,
}

impl Services {
    /// Checks the configured servers and starts a private one in place of each that does not
    /// answer. A private server is recorded in `self` as soon as it exists, so whatever
    /// happens next (a failure, Ctrl-C dropping this future) it is stopped and removed.
    pub(super) async fn ensure(&mut self, config: &Config, demo_dir: &Path) -> anyhow::Result<()> {
        let postgres = Endpoint::parse(config.database_url.expose_secret(), 5432);
        let redis = Endpoint::parse(config.redis_url.expose_secret(), 6379);
        let need_postgres = match &postgres {
            Some(at) => !at.answers(Probe::Postgres).await,
            None => false,
        };
        let need_redis = match &redis {
            Some(at) => !at.answers(Probe::Redis).await,
            None => false,
        };
        let postgres_bin = need_postgres.then(find_postgres);
        let redis_bin = need_redis.then(find_redis);
        let missing = Missing {
            postgres: match (&postgres, &postgres_bin) {
                (Some(at), Some(None)) => Some(at.to_string()),
                _ => None,
            },
            redis: match (&redis, &redis_bin) {
                (Some(at), Some(None)) => Some(at.to_string()),
                _ => None,
            },
        };
        if let Some(message) = missing.message() {
            bail!("{message}");
        }
        let demo_dir = std::path::absolute(demo_dir)
            .with_context(|| format!("cannot resolve {}", demo_dir.display()))?;

        if let (Some(at), Some(Some(bin))) = (&postgres, postgres_bin) {
            super::detail(&format!(
                "Postgres does not answer at {at}: starting a private one (Postgres {})",
                bin.version
            ));
            let port = super::free_port()?;
            let database = database_name(config.database_url.expose_secret());
            self.start_postgres(&bin, &demo_dir, port).await?;
            self.database_url = Some(format!("postgres://postgres@127.0.0.1:{port}/{database}"));
            super::detail(&format!("private Postgres at 127.0.0.1:{port}"));
        } else if let Some(at) = &postgres {
            super::detail(&format!("Postgres at {at}"));
        }
        if let (Some(at), Some(Some(bin))) = (&redis, redis_bin) {
            super::detail(&format!(
                "Redis does not answer at {at}: starting a private one"
            ));
            let port = super::free_port()?;
            self.start_redis(&bin, &demo_dir, port).await?;
            self.redis_url = Some(format!("redis://127.0.0.1:{port}"));
            super::detail(&format!("private Redis at 127.0.0.1:{port}"));
        } else if let Some(at) = &redis {
            super::detail(&format!("Redis at {at}"));
        }
        Ok(())
    }

    /// The configuration with the private servers' URLs in place of the configured ones.
    pub(super) fn apply(&self, config: &Config) -> Config {
        let mut config = config.clone();
        if let Some(url) = &self.database_url {
            config.database_url = SecretString::from(url.clone());
        }
        if let Some(url) = &self.redis_url {
            config.redis_url = SecretString::from(url.clone());
        }
        config
    }

    /// The environment that points `herald serve` and `herald work` at the private servers.
    pub(super) fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = Vec::new();
        if let Some(url) = &self.database_url {
            env.push(("DATABASE_URL", url.clone()));
        }
        if let Some(url) = &self.redis_url {
            env.push(("REDIS_URL", url.clone()));
        }
        env
    }

    /// Whether the demo started a server of its own.
    pub(super) fn any_private(&self) -> bool {
        self.postgres.is_some() || self.redis.is_some()
    }

    /// Stops the private servers and removes their files.
    pub(super) fn stop(&mut self) {
        for private in [self.postgres.take(), self.redis.take()]
            .into_iter()
            .flatten()
        {
            private.stop();
        }
    }

    async fn start_postgres(
        &mut self,
        bin: &PostgresBin,
        demo_dir: &Path,
        port: u16,
    ) -> anyhow::Result<()> {
        let owner = Owner::for_postgres()?;
        let data = postgres_data_dir(demo_dir, &owner)?;
        let log = fresh_log(&demo_dir.join("postgres.log"))?;
        let private = self.postgres.insert(Private {
            what: "Postgres",
            child: None,
            dir: data.clone(),
            pid_file: Some(data.join("postmaster.pid")),
            // SIGINT is Postgres' fast shutdown: sessions are ended, nothing waits for them.
            stop_signal: "-INT",
            log,
        });
        owner.take(&data)?;

        let mut initdb = owner.command(&bin.initdb);
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg("--no-sync")
            .current_dir(&data);
        private.run_to_end(initdb, "initdb").await?;

        let mut postgres = owner.command(&bin.postgres);
        postgres
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            // TCP only: the default socket directory may not be writable by the account.
            .args(["-c", "unix_socket_directories="])
            // Throwaway data: no need to make it survive a crash.
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .current_dir(&data);
        private.spawn(postgres)?;
        let admin = format!("postgres://postgres@127.0.0.1:{port}/postgres");
        private
            .wait_until(|| async {
                let settings = herald_store::PoolSettings {
                    max_connections: 1,
                    acquire_timeout: Duration::from_secs(1),
                    startup_patience: Duration::ZERO,
                };
                match herald_store::connect_with(&admin, settings).await {
                    Ok(pool) => {
                        pool.close().await;
                        true
                    }
                    Err(_) => false,
                }
            })
            .await
    }

    async fn start_redis(&mut self, bin: &Path, demo_dir: &Path, port: u16) -> anyhow::Result<()> {
        let dir = demo_dir.join(format!("redis-{}", std::process::id()));
        let log = fresh_log(&demo_dir.join("redis.log"))?;
        let private = self.redis.insert(Private {
            what: "Redis",
            child: None,
            dir: dir.clone(),
            pid_file: None,
            stop_signal: "-TERM",
            log,
        });
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let mut redis = Command::new(bin);
        redis
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", ""])
            .arg("--dir")
            .arg(&dir)
            .current_dir(&dir);
        private.spawn(redis)?;
        let at = Endpoint {
            host: "127.0.0.1".to_owned(),
            port,
        };
        private
            .wait_until(|| async { at.answers(Probe::Redis).await })
            .await
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A server the demo started: stopped, and its directory removed, when the demo ends.
#[derive(Debug)]
struct Private {
    what: &'static str,
    child: Option<Child>,
    /// Everything it stored; removed once it stopped.
    dir: PathBuf,
    /// Where the server writes its own process id, when the child may be a wrapper that
    /// started it as another user.
    pid_file: Option<PathBuf>,
    /// The signal (a `kill` option) that asks it to stop.
    stop_signal: &'static str,
    log: PathBuf,
}

impl Private {
    /// Starts the server (or a step of its setup), its output appended to its log.
    fn spawn(&mut self, mut command: Command) -> anyhow::Result<()> {
        use std::os::unix::process::CommandExt as _;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot write {}", self.log.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // A group of its own: Ctrl-C reaches the demo, which stops it after the API and
            // worker that use it.
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start the private {}", self.what))?;
        self.child = Some(child);
        Ok(())
    }

    /// Runs a setup step (`initdb`) to its end; it is stopped like the server if the demo
    /// ends meanwhile.
    async fn run_to_end(&mut self, command: Command, step: &str) -> anyhow::Result<()> {
        self.spawn(command)?;
        loop {
            let status = match &mut self.child {
                Some(child) => child.try_wait()?,
                None => bail!("{step} was not started"),
            };
            if let Some(status) = status {
                self.child = None;
                if status.success() {
                    return Ok(());
                }
                bail!(
                    "{step} failed ({status}) setting up the private {}; the end of {}:\n{}",
                    self.what,
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `ready` until it answers true; fails, with the end of the server's log, when the
    /// server stops or does not become ready in time.
    async fn wait_until<F, Fut>(&mut self, mut ready: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let until = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "the private {} stopped ({status}); the end of {}:\n{}",
                    self.what,
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            if ready().await {
                return Ok(());
            }
            if Instant::now() > until {
                bail!(
                    "the private {} did not answer within {} s; the end of {}:\n{}",
                    self.what,
                    START_TIMEOUT.as_secs(),
                    self.log.display(),
                    log_tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Asks the server to stop, kills it if it does not within [`STOP_TIMEOUT`], and removes
    /// its directory.
    fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = self
                .pid_file
                .as_deref()
                .and_then(read_pid)
                .unwrap_or_else(|| child.id());
            let _ = send_signal(self.stop_signal, pid);
            let until = Instant::now() + STOP_TIMEOUT;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                if pid != child.id() {
                    let _ = send_signal("-KILL", pid);
                }
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Empties a server's log from an earlier demo; the server's output is appended to it.
fn fresh_log(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(path.to_owned())
}

fn send_signal(signal: &str, pid: u32) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
}

/// The first line of a pid file (Postgres' `postmaster.pid` starts with the process id).
fn read_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().next()?.trim().parse().ok()
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

/// A server's TCP address, taken from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    host: String,
    port: u16,
}

impl Endpoint {
    /// The host and port of a `postgres://` or `redis://` URL; `None` for one the demo cannot
    /// probe (a Unix socket, TLS, an unreadable URL), which is then used as configured.
    fn parse(url: &str, default_port: u16) -> Option<Self> {
        let url = url::Url::parse(url).ok()?;
        if !matches!(url.scheme(), "postgres" | "postgresql" | "redis") {
            return None;
        }
        // A `host` query parameter names a socket directory (Postgres).
        if url.query_pairs().any(|(key, _)| key == "host") {
            return None;
        }
        let host = url.host_str().filter(|h| !h.is_empty())?;
        Some(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: url.port().unwrap_or(default_port),
        })
    }

    /// Whether a server of the kind answers here within [`PROBE_TIMEOUT`].
    async fn answers(&self, probe: Probe) -> bool {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .ok()?;
            stream.write_all(probe.request()).await.ok()?;
            let mut first = [0_u8; 1];
            stream.read_exact(&mut first).await.ok()?;
            Some(probe.accepts(first[0]))
        };
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, exchange).await,
            Ok(Some(true))
        )
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// How to tell that a Postgres or a Redis answers, without credentials.
#[derive(Debug, Clone, Copy)]
enum Probe {
    Postgres,
    Redis,
}

impl Probe {
    fn request(self) -> &'static [u8] {
        match self {
            // An SSLRequest (length 8, code 80877103): Postgres answers one byte, S or N.
            Self::Postgres => &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f],
            Self::Redis => b"PING\r\n",
        }
    }

    fn accepts(self, first: u8) -> bool {
        match self {
            Self::Postgres => matches!(first, b'S' | b'N'),
            // +PONG, or an error such as -NOAUTH: a Redis answered either way.
            Self::Redis => matches!(first, b'+' | b'-'),
        }
    }
}

/// The database the configured URL names (`herald` by default), for the private server.
fn database_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .map(|url| url.path().trim_start_matches('/').to_owned())
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .unwrap_or_else(|| "herald".to_owned())
}

/// The servers that do not answer and cannot be started here, by their configured address.
#[derive(Debug, Default, PartialEq, Eq)]
struct Missing {
    postgres: Option<String>,
    redis: Option<String>,
}

impl Missing {
    /// What to install, and what the demo looked for; `None` when nothing is missing.
    fn message(&self) -> Option<String> {
        let mut lines = Vec::new();
        let mut packages = Vec::new();
        if let Some(at) = &self.postgres {
            lines.push(format!(
                "Postgres does not answer at {at}, and no Postgres server is installed to start \
                 a private one (looked for initdb and postgres in {DEBIAN_POSTGRES}/*/bin/ and \
                 on PATH)."
            ));
            packages.push("postgresql");
        }
        if let Some(at) = &self.redis {
            lines.push(format!(
                "Redis does not answer at {at}, and no Redis server is installed to start a \
                 private one (looked for redis-server on PATH)."
            ));
            packages.push("redis-server");
        }
        if packages.is_empty() {
            return None;
        }
        let (install, them) = if packages.len() == 2 {
            (INSTALL_HINT.to_owned(), "them")
        } else {
            (format!("apt-get install {}", packages.join(" ")), "it")
        };
        lines.push(format!(
            "Install {them} (Debian, Ubuntu): {install}\nOr start the servers yourself and \
             point DATABASE_URL and REDIS_URL at them."
        ));
        Some(lines.join("\n"))
    }
}

/// A Postgres server installation: `initdb` and `postgres` side by side.
#[derive(Debug)]
struct PostgresBin {
    initdb: PathBuf,
    postgres: PathBuf,
    /// The major version for Debian's layout, else the directory.
    version: String,
}

/// Debian's versioned directories, highest version first, then `PATH`.
fn find_postgres() -> Option<PostgresBin> {
    let mut versions: Vec<(Vec<u32>, String)> = std::fs::read_dir(DEBIAN_POSTGRES)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            Some((version_key(&name)?, name))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    let debian = versions.into_iter().map(|(_, name)| {
        let dir = Path::new(DEBIAN_POSTGRES).join(&name).join("bin");
        (dir, name)
    });
    let on_path = path_dirs().map(|dir| {
        let label = dir.display().to_string();
        (dir, label)
    });
    debian.chain(on_path).find_map(|(dir, version)| {
        let initdb = dir.join("initdb");
        let postgres = dir.join("postgres");
        (is_executable(&initdb) && is_executable(&postgres)).then_some(PostgresBin {
            initdb,
            postgres,
            version,
        })
    })
}

/// `15` -> `[15]`, `9.6` -> `[9, 6]`; `None` for a name that is not a version.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn find_redis() -> Option<PathBuf> {
    path_dirs()
        .map(|dir| dir.join("redis-server"))
        .find(|path| is_executable(path))
}

fn path_dirs() -> impl Iterator<Item = PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The account a private Postgres runs as: this process' own, or, when this is root (which
/// Postgres refuses to run as), an existing unprivileged account, switched to with
/// `setpriv`, `runuser` or `su`.
#[derive(Debug)]
enum Owner {
    Me,
    Account {
        name: String,
        uid: u32,
        gid: u32,
        switch: Switch,
    },
}

#[derive(Debug, Clone)]
enum Switch {
    /// Executes the server in place, so the child is the server itself.
    Setpriv(PathBuf),
    Runuser(PathBuf),
    Su(PathBuf),
}

impl Owner {
    fn for_postgres() -> anyhow::Result<Self> {
        if !running_as_root() {
            return Ok(Self::Me);
        }
        let Some((name, uid, gid)) = UNPRIVILEGED_ACCOUNTS.iter().find_map(|name| account(name))
        else {
            bail!(
                "Postgres refuses to run as root, and none of the accounts {} exists to run \
                 the private one as; run the demo as another user",
                UNPRIVILEGED_ACCOUNTS.join(", ")
            );
        };
        let switch = [
            ("setpriv", Switch::Setpriv as fn(PathBuf) -> Switch),
            ("runuser", Switch::Runuser),
            ("su", Switch::Su),
        ]
        .into_iter()
        .find_map(|(tool, make)| {
            path_dirs()
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                .map(|dir| dir.join(tool))
                .find(|path| is_executable(path))
                .map(make)
        })
        .context(
            "Postgres refuses to run as root, and none of setpriv, runuser or su is installed \
             to run the private one as another user",
        )?;
        Ok(Self::Account {
            name,
            uid,
            gid,
            switch,
        })
    }

    /// A command that runs `program` as this owner.
    fn command(&self, program: &Path) -> Command {
        match self {
            Self::Me => Command::new(program),
            Self::Account {
                name,
                uid,
                gid,
                switch,
            } => {
                let mut command;
                match switch {
                    Switch::Setpriv(tool) => {
                        command = Command::new(tool);
                        command
                            .arg(format!("--reuid={uid}"))
                            .arg(format!("--regid={gid}"))
                            .args(["--clear-groups", "--"]);
                    }
                    Switch::Runuser(tool) => {
                        command = Command::new(tool);
                        command.args(["-u", name, "--"]);
                    }
                    Switch::Su(tool) => {
                        command = Command::new(tool);
                        // su hands the arguments after the account to the shell: $0 and $@.
                        command.args(["-s", "/bin/sh", "-c", "exec \"$0\" \"$@\"", name]);
                    }
                }
                command.arg(program);
                command
            }
        }
    }

    /// Makes `dir` the owner's own, private to it (initdb insists).
    fn take(&self, dir: &Path) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        if let Self::Account { uid, gid, .. } = self {
            std::os::unix::fs::chown(dir, Some(*uid), Some(*gid)).with_context(|| {
                format!("cannot hand {} to the Postgres account", dir.display())
            })?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))
    }

    /// Whether the owner can reach `dir` (search permission on each directory above it).
    fn can_reach(&self, dir: &Path) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        let Self::Account { uid, gid, .. } = self else {
            return true;
        };
        dir.ancestors().skip(1).all(|above| {
            std::fs::metadata(above).is_ok_and(|m| {
                let bit = if m.uid() == *uid {
                    0o100
                } else if m.gid() == *gid {
                    0o010
                } else {
                    0o001
                };
                m.mode() & bit != 0
            })
        })
    }
}

/// A fresh, empty directory for a private Postgres' data: under the demo's directory when the
/// owner can reach it there, else under the system's temporary directory.
fn postgres_data_dir(demo_dir: &Path, owner: &Owner) -> anyhow::Result<PathBuf> {
    let name = format!("postgres-{}", std::process::id());
    let mut dir = demo_dir.join(&name);
    if !owner.can_reach(&dir) {
        dir = std::env::temp_dir().join(format!("herald-demo-{name}"));
        if !owner.can_reach(&dir) {
            bail!(
                "the account that runs the private Postgres cannot reach {} nor {}",
                demo_dir.display(),
                std::env::temp_dir().display()
            );
        }
    }
    // A leftover of an earlier demo with this process id holds nothing worth keeping.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .is_some_and(|uid| uid.trim() == "0")
}

/// An account's name, uid and gid from `/etc/passwd`, if it exists and is not root.
fn account(name: &str) -> Option<(String, u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid: u32 = fields.nth(1)?.parse().ok()?;
        let gid: u32 = fields.next()?.parse().ok()?;
        (uid != 0).then(|| (name.to_owned(), uid, gid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_come_from_the_urls_and_sockets_are_left_alone() {
        let at = |host: &str, port| {
            Some(Endpoint {
                host: host.to_owned(),
                port,
            })
        };
        assert_eq!(
            Endpoint::parse("postgres://postgres@127.0.0.1:5432/herald", 5432),
            at("127.0.0.1", 5432)
        );
        assert_eq!(
            Endpoint::parse("postgres://u:secret@db.local/herald", 5432),
            at("db.local", 5432)
        );
        assert_eq!(Endpoint::parse("redis://[::1]:6380", 6379), at("::1", 6380));
        assert_eq!(
            Endpoint::parse("postgres:///herald?host=/run/postgresql", 5432),
            None
        );
        assert_eq!(Endpoint::parse("rediss://cache.local:6380", 6379), None);
        assert_eq!(Endpoint::parse("not a url", 6379), None);
        assert_eq!(
            at("::1", 6380).map(|e| e.to_string()),
            Some("[::1]:6380".to_owned())
        );
    }

    #[test]
    fn the_private_database_keeps_the_configured_name() {
        assert_eq!(database_name("postgres://p@h:1/herald_x"), "herald_x");
        assert_eq!(database_name("postgres://p@h:1"), "herald");
    }

    #[test]
    fn postgres_versions_sort_numerically() {
        let mut versions = vec![version_key("9.6"), version_key("15"), version_key("16")];
        versions.sort();
        versions.reverse();
        assert_eq!(versions, [Some(vec![16]), Some(vec![15]), Some(vec![9, 6])]);
        assert_eq!(version_key("main"), None);
    }

    #[test]
    fn a_missing_server_names_what_to_install_and_where_the_demo_looked() {
        assert_eq!(Missing::default().message(), None);
        let both = Missing {
            postgres: Some("127.0.0.1:5432".to_owned()),
            redis: Some("127.0.0.1:6379".to_owned()),
        }
        .message()
        .unwrap_or_default();
        assert!(
            both.contains("apt-get install postgresql redis-server"),
            "{both}"
        );
        assert!(both.contains("/usr/lib/postgresql/*/bin/"), "{both}");
        assert!(both.contains("looked for redis-server on PATH"), "{both}");
        let redis = Missing {
            postgres: None,
            redis: Some("127.0.0.1:6379".to_owned()),
        }
        .message()
        .unwrap_or_default();
        assert!(redis.contains("apt-get install redis-server"), "{redis}");
        assert!(!redis.contains("postgresql"), "{redis}");
    }

    #[test]
    fn the_account_switch_runs_the_program_as_the_account() {
        let owner = Owner::Account {
            name: "postgres".to_owned(),
            uid: 101,
            gid: 104,
            switch: Switch::Setpriv(PathBuf::from("/usr/bin/setpriv")),
        };
        let command = owner.command(Path::new("/usr/lib/postgresql/15/bin/initdb"));
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(
            args,
            [
                "--reuid=101",
                "--regid=104",
                "--clear-groups",
                "--",
                "/usr/lib/postgresql/15/bin/initdb"
            ]
        );
    }
}
