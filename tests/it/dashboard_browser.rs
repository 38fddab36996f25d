//! The ops dashboard in a real browser: headless Chromium driven by chromedriver over the
//! W3C WebDriver protocol (a few JSON requests, spoken here with reqwest). An operator signs
//! in with an admin key, watches a delivery get published without reloading the page (the
//! live-update script and its event stream), and retries a dead delivery from its page.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `chromium`,
//! `chromium-driver`); without them the test fails and says so. `.ci/run` installs them.

// Helpers fail the test by panicking, as the tests do.
#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald_domain::{DeliveryId, DeliveryState, ErrorClass};
use herald_store::{DeliveryError, Transition};
use serde_json::{Value, json};
use support::app::TestApp;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page has to show what the test waits for.
const PATIENCE: Duration = Duration::from_secs(20);
/// The W3C key for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver on a free local port, killed (with its process group) when dropped.
struct Driver {
    child: Child,
    base: String,
    profile: std::path::PathBuf,
}

impl Driver {
    async fn start() -> Driver {
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
    async fn session(&self) -> Session {
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
struct Session {
    http: reqwest::Client,
    url: String,
}

impl Session {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn find(&self, css: &str) -> String {
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

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs a script in the page; returns what it returns.
    async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The text of the first element matching `css`, or `None`.
    async fn text_of(&self, css: &str) -> Option<String> {
        let text = self
            .eval(
                "var e=document.querySelector(arguments[0]);return e?e.textContent:null;",
                json!([css]),
            )
            .await;
        text.as_str().map(str::to_owned)
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Polls (bounded) until the window shows `want` (a form's navigation may still run when
    /// the click returns).
    async fn wait_for_url(&self, want: &str) {
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
    async fn wait_for_text(&self, css: &str, want: &str) {
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

    async fn close(self) {
        let _ = self.http.delete(&self.url).send().await;
    }
}

/// Posts to Telegram; returns the delivery id.
async fn one_delivery(app: &TestApp, connection: &str) -> DeliveryId {
    let answer = app
        .post_ok(&json!({"targets": [connection], "text": "hello from the browser test"}))
        .await;
    answer["deliveries"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Claims the delivery as a worker would and lets it die with a permanent error.
async fn make_dead(app: &TestApp, id: DeliveryId) {
    app.store
        .deliveries()
        .claim(id, "test-worker", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let moved = app
        .store
        .deliveries()
        .transition(
            Transition::new(id, &[DeliveryState::Running], DeliveryState::Dead).error(
                DeliveryError {
                    class: ErrorClass::Permanent,
                    code: Some("400".into()),
                    message: "chat not found".into(),
                    hint: Some("Check the bot's rights".into()),
                },
            ),
        )
        .await
        .unwrap();
    assert!(moved);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_in_a_browser_watches_a_delivery_go_live_and_retries_a_dead_one() {
    let _serial = support::serial().await;
    let driver = Driver::start().await;
    let mut app = TestApp::spawn().await;
    let telegram = app.connect_telegram().await;
    // Both exist before the worker runs: one will die, one waits in the queue.
    let dead = one_delivery(&app, &telegram).await;
    make_dead(&app, dead).await;
    let live = one_delivery(&app, &telegram).await;

    let browser = driver.session().await;

    // Sign in with the admin key, through the form.
    browser.go(&app.url("/dashboard/login")).await;
    browser
        .type_into("input[name=\"key\"]", &app.keys.admin.clone())
        .await;
    browser
        .click("form[action=\"/dashboard/login\"] button")
        .await;
    browser.wait_for_url(&app.url("/dashboard")).await;
    browser.wait_for_text("h1", "Overview").await;

    // The deliveries list shows the queued delivery; the page subscribes to its events.
    browser.go(&app.url("/dashboard/deliveries")).await;
    let row_badge = format!("tr[data-delivery=\"{live}\"] .badge");
    assert_eq!(browser.text_of(&row_badge).await.as_deref(), Some("queued"));
    browser.wait_for_text("#live", "live").await;
    // A mark on this very document: a reload would lose it.
    browser
        .eval("window.heraldMark = 'still here'; return null;", json!([]))
        .await;

    app.start_worker().await;
    browser.wait_for_text(&row_badge, "published").await;
    assert_eq!(
        browser
            .eval("return window.heraldMark || null;", json!([]))
            .await,
        json!("still here"),
        "the badge changed without a reload"
    );
    assert_eq!(
        browser
            .eval(
                "return document.querySelector(arguments[0]).className;",
                json!([row_badge])
            )
            .await,
        json!("badge s-published")
    );

    // The dead delivery: open its page and press Retry.
    browser
        .go(&app.url(&format!("/dashboard/deliveries/{dead}")))
        .await;
    assert_eq!(
        browser.text_of("#delivery .badge").await.as_deref(),
        Some("dead")
    );
    assert_eq!(
        browser.text_of("#error-class").await.as_deref(),
        Some("permanent")
    );
    browser
        .click(&format!(
            "form[action=\"/dashboard/deliveries/{dead}/retry\"] button"
        ))
        .await;
    browser
        .wait_for_url(&app.url(&format!("/dashboard/deliveries/{dead}?done=retried")))
        .await;
    browser
        .wait_for_text(".notice", "Sent back to the queue.")
        .await;
    browser.wait_for_text("#delivery .badge", "published").await;
    let stored = app.store.deliveries().get(dead).await.unwrap().unwrap();
    assert_eq!(stored.state, DeliveryState::Published);

    browser.close().await;
}
