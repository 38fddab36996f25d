//! Helpers for driving the simulator over plain HTTP, as a platform client would.

use std::time::Duration;

use base64::Engine;
use herald_sim::{SimConfig, SimServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) const REDIRECT: &str = "https://herald.test/api/social/callback";

/// A running simulator and a client that does not follow redirects (authorize answers are
/// read, not followed).
pub(crate) struct Sim {
    pub(crate) server: SimServer,
    pub(crate) http: reqwest::Client,
}

/// Defaults with processing delays short enough for tests.
pub(crate) fn fast_config() -> SimConfig {
    let mut config = SimConfig::default();
    config.linkedin.image_processing_ms = 150;
    config.instagram.container_processing_ms = 150;
    config.threads.container_processing_ms = 150;
    config.x.media_processing_ms = 150;
    config.fetch.timeout_ms = 2_000;
    config
}

impl Sim {
    pub(crate) async fn start() -> Sim {
        Sim::start_with(fast_config()).await
    }

    pub(crate) async fn start_with(config: SimConfig) -> Sim {
        let server = herald_sim::spawn(config).await.expect("simulator starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Sim { server, http }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub(crate) async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json")
    }

    /// `/_sim/posts` for one platform.
    pub(crate) async fn posts(&self, platform: &str) -> Vec<Value> {
        let body = self
            .get_json(&format!("/_sim/posts?platform={platform}"))
            .await;
        body["data"].as_array().cloned().unwrap_or_default()
    }

    pub(crate) async fn set_faults(&self, rules: Value) {
        let response = self
            .http
            .put(self.url("/_sim/faults"))
            .json(&rules)
            .send()
            .await
            .expect("faults");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    pub(crate) async fn patch_config(&self, patch: Value) {
        let response = self
            .http
            .patch(self.url("/_sim/config"))
            .json(&patch)
            .send()
            .await
            .expect("config");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    pub(crate) async fn advance(&self, seconds: f64) {
        let response = self
            .http
            .post(self.url("/_sim/clock/advance"))
            .json(&json!({"seconds": seconds}))
            .send()
            .await
            .expect("advance");
        assert_eq!(response.status(), 200);
    }

    /// Calls an authorize URL and returns the redirect's query parameters.
    pub(crate) async fn authorize(&self, path: &str) -> Redirect {
        let response = self
            .http
            .get(self.url(path))
            .send()
            .await
            .expect("authorize");
        assert_eq!(
            response.status(),
            302,
            "authorize should redirect: {}",
            response.text().await.unwrap_or_default()
        );
        let location = response
            .headers()
            .get("location")
            .expect("location")
            .to_str()
            .expect("ascii")
            .to_owned();
        let url = url::Url::parse(&location).expect("absolute redirect");
        Redirect {
            params: url.query_pairs().into_owned().collect(),
            fragment: url.fragment().map(str::to_owned),
            location,
        }
    }

    /// A URL of a generated JPEG the simulator serves (and can fetch).
    pub(crate) fn image_url(&self, width: u32, height: u32) -> String {
        self.url(&format!("/_sim/images/{width}x{height}.jpg"))
    }

    /// Hosts a file from `tests/fixtures/video` on the simulator (`POST /_sim/media`), the
    /// way a platform's `video_url` is served to it; returns its URL.
    pub(crate) async fn host_video(&self, name: &str) -> String {
        let kind = if name.ends_with(".mov") {
            "video/quicktime"
        } else if name.ends_with(".webm") {
            "video/webm"
        } else {
            "video/mp4"
        };
        let hosted: Value = self
            .http
            .post(self.url("/_sim/media"))
            .header("content-type", kind)
            .body(video(name))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        hosted["url"].as_str().unwrap().to_owned()
    }

    /// The total count of one endpoint in `/_sim/requests`.
    pub(crate) async fn request_count(&self, platform: &str, endpoint: &str) -> u64 {
        let body = self.get_json("/_sim/requests").await;
        body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| row["platform"] == platform && row["endpoint"] == endpoint)
            .filter_map(|row| row["count"].as_u64())
            .sum()
    }
}

#[derive(Debug)]
pub(crate) struct Redirect {
    pub(crate) location: String,
    pub(crate) params: std::collections::HashMap<String, String>,
    pub(crate) fragment: Option<String>,
}

impl Redirect {
    pub(crate) fn code(&self) -> String {
        self.params
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in {}", self.location))
    }
}

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = "herald-test-verifier-0123456789-abcdefghijklmnop".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Polls `check` every 25 ms until it yields a value, for at most five seconds.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

pub(crate) fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Sends `request` and returns the answer's status and JSON body.
pub(crate) async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// [`answer`] for endpoints whose body may be empty (it reads as `null`).
pub(crate) async fn answer_or_null(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The bytes of a file from `tests/fixtures/video`.
pub(crate) fn video(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../tests/fixtures/video/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `id` of a created object (a container, an upload), or a panic showing the answer.
pub(crate) fn id(created: &Value) -> String {
    created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {created}"))
        .to_owned()
}
