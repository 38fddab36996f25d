//! A real browser for the dashboard's tests: headless Chromium driven by chromedriver over
//! the W3C WebDriver protocol (a few JSON requests, spoken here with reqwest).
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `chromium`,
//! `chromium-driver`); without them a test fails and says so. `tests/run` installs them.
//! Tests that use it take [`crate::serial`] first: Chromium is the heaviest process of the
//! suite.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::app::TestApp;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page has to show what the test waits for.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free local port, killed (with its process group) when dropped.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    base: String,
    profile: std::path::PathBuf,
}

impl Driver {
    pub async fn start() -> Driver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: this test needs a real browser; install it with \
                 `apt-get install -y chromium chromium-driver` (the Debian package `{package}`)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browsers it starts go down with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}"));
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            profile: std::env::temp_dir().join(format!("herald-chromium-{}", uuid::Uuid::new_v4())),
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ready = match http.get(format!("{}/status", driver.base)).send().await {
                Ok(r) => r
                    .json::<Value>()
                    .await
                    .ok()
                    .map(|v| v["value"]["ready"] == true),
                Err(_) => None,
            };
            if ready == Some(true) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer on {} within 10 s",
                driver.base
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }

    /// A new headless Chromium session.
    pub async fn session(&self) -> Session {
        let http = reqwest::Client::new();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ]
        .iter()
        .map(|a| (*a).to_owned())
        .chain([format!("--user-data-dir={}", self.profile.display())])
        .collect::<Vec<_>>();
        let answer: Value = http
            .post(format!("{}/session", self.base))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
            }}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver opened no session: {answer}"))
            .to_owned();
        Session {
            http,
            url: format!("{}/session/{id}", self.base),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One browser window, through chromedriver.
#[derive(Debug)]
pub struct Session {
    http: reqwest::Client,
    url: String,
}

impl Session {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        answer["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element for `{css}`: {found}"))
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs a script in the page; returns what it returns.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The text of the first element matching `css`, or `None`.
    pub async fn text_of(&self, css: &str) -> Option<String> {
        let text = self
            .eval(
                "var e=document.querySelector(arguments[0]);return e?e.textContent:null;",
                json!([css]),
            )
            .await;
        text.as_str().map(str::to_owned)
    }

    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Polls (bounded) until the window shows `want` (a form's navigation may still run when
    /// the click returns).
    pub async fn wait_for_url(&self, want: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let url = self.current_url().await;
            if url == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the browser never got to {want} (it shows {url})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls (bounded) until `css`'s text is `want`; panics with the page otherwise.
    pub async fn wait_for_text(&self, css: &str, want: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.text_of(css).await;
            if text.as_deref() == Some(want) {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                let page = self
                    .eval("return document.documentElement.outerHTML;", json!([]))
                    .await;
                panic!("`{css}` never read {want:?} (last {text:?}); the page: {page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in through the form with `key`; waits for the overview.
    pub async fn sign_in(&self, app: &TestApp, key: &str) {
        self.go(&app.url("/dashboard/login")).await;
        self.type_into("input[name=\"key\"]", key).await;
        self.click("form[action=\"/dashboard/login\"] button").await;
        self.wait_for_url(&app.url("/dashboard")).await;
    }

    /// The page's whole HTML, for a failing assertion's message.
    pub async fn page(&self) -> String {
        self.eval("return document.documentElement.outerHTML;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the window as it is now.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap_or_default())
            .unwrap()
    }

    /// With `HERALD_SCREENSHOTS` set to a directory, saves the window there as `NAME.png`
    /// (how `docs/dashboard/` is made: `HERALD_SCREENSHOTS=docs/dashboard cargo test -p
    /// herald-e2e --test it dashboard_browser::`); without it, does nothing.
    pub async fn screenshot_for_docs(&self, name: &str) {
        let Some(dir) = std::env::var_os("HERALD_SCREENSHOTS") else {
            return;
        };
        let mut path = std::path::PathBuf::from(dir);
        if path.is_relative() {
            // Relative to the workspace, not to the test's working directory (tests/).
            path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
        }
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join(format!("{name}.png")), self.screenshot().await).unwrap();
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}
