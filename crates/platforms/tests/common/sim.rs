//! `herald-sim` driven by Herald's own clients, shared by the tests against the simulator:
//! each test starts its own simulator on a free port and points a `Platforms` at it through
//! `HERALD_PLATFORM_BASE_URL`, as `herald demo` does, and connects accounts the way a user
//! would (the authorize URL is opened, the simulator approves for its test user and redirects
//! to the callback, and the callback's code is exchanged).
//!
//! One copy of the set-up, the OAuth dance, the control API reads and the media inputs, so a
//! change to how the simulator is reached is made once for every test file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use herald_domain::{AppType, MediaRef, Platform, PlatformFailure, PostContent, VideoInfo};
use herald_platforms::{
    Account, AuthorizeRequest, AuthorizeUrl, ChatId, CodeExchange, HttpSettings, MediaBody,
    MediaInput, Platforms, PublishOptions, StepOutcome, TargetKind, TokenSet,
};
use herald_sim::{SimConfig, SimServer};
use secrecy::SecretString;
use serde_json::Value;

use super::secret;

/// The outcome of each step of a plan, by key, in the order they ran.
pub type Outcomes = Vec<(String, StepOutcome)>;

/// A running simulator, Herald's clients pointed at it, and a client for the control API
/// that does not follow redirects (authorize answers are read, not followed).
pub struct Sim {
    pub server: SimServer,
    pub platforms: Platforms,
    pub http: reqwest::Client,
}

impl Sim {
    /// A simulator with `config`, and Herald's clients with `extra` configuration
    /// (`HERALD_…` variables) and `settings`.
    pub async fn start(config: SimConfig, extra: &[(&str, &str)], settings: &HttpSettings) -> Sim {
        let server = herald_sim::spawn(config).await.expect("simulator starts");
        let platforms = super::platforms_with(&server.base_url(), extra, settings);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Sim {
            server,
            platforms,
            http,
        }
    }

    /// Opens the authorize URL like a browser and takes the code from the callback redirect;
    /// returns the URL Herald made (its state, verifier and app) with the code.
    pub async fn authorize(
        &self,
        platform: Platform,
        app_type: Option<AppType>,
    ) -> (AuthorizeUrl, String) {
        let auth = self
            .platforms
            .authorize_url(&AuthorizeRequest {
                platform,
                app_type,
                state: None,
            })
            .expect("authorize URL");
        let answer = self
            .http
            .get(&auth.url)
            .send()
            .await
            .expect("authorize answers");
        let location = answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| {
                panic!(
                    "{platform}: authorize did not redirect ({})",
                    answer.status()
                )
            })
            .to_owned();
        let callback = url::Url::parse(&location).expect("callback URL");
        let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
        assert_eq!(
            query.get("state"),
            Some(&auth.state),
            "{platform}: the state comes back"
        );
        let code = query
            .get("code")
            .unwrap_or_else(|| panic!("{platform}: no code in {location}"))
            .clone();
        (auth, code)
    }

    /// The authorize dance and the code exchange: the tokens Herald would receive.
    pub async fn connect(&self, platform: Platform, app_type: Option<AppType>) -> TokenSet {
        let (auth, code) = self.authorize(platform, app_type).await;
        self.platforms
            .exchange_code(&CodeExchange {
                platform,
                app_type: auth.app_type,
                code: secret(&code),
                pkce_verifier: auth.pkce_verifier,
            })
            .await
            .unwrap_or_else(|f| panic!("{platform}: exchange failed: {f}"))
    }

    /// A connected account for `platform`, as the API would store it (LinkedIn through the
    /// app `app_type`, the personal one unless given; the development Telegram channel).
    pub async fn account(&self, platform: Platform, app_type: Option<AppType>) -> Account {
        match platform {
            Platform::Telegram => self.telegram(None).await,
            Platform::Linkedin => {
                let app_type = app_type.unwrap_or(AppType::Personal);
                let tokens = self.connect(platform, Some(app_type)).await;
                self.account_with(platform, tokens.access_token, tokens.user_id)
                    .await
                    .with_app_type(app_type)
            }
            _ => {
                let tokens = self.connect(platform, app_type).await;
                self.account_with(platform, tokens.access_token, tokens.user_id)
                    .await
            }
        }
    }

    /// The account a user token gives on `platform`: the user itself, or for Meta the first
    /// Page (with its Page token) or Instagram account it manages. `user_id` is what the
    /// exchange named, checked against the identity where the platform names one (Threads).
    pub async fn account_with(
        &self,
        platform: Platform,
        token: SecretString,
        user_id: Option<String>,
    ) -> Account {
        match platform {
            Platform::Instagram => {
                let accounts = self
                    .platforms
                    .targets(platform, None, &token)
                    .await
                    .expect("IG accounts");
                let ig = &accounts[0];
                assert_eq!(ig.kind, TargetKind::InstagramAccount);
                let mut account = Account::new(platform, ig.id.clone(), token);
                account.page_id = ig.page_id.clone();
                account.username = ig.username.clone();
                account
            }
            Platform::Facebook => {
                let me = self
                    .platforms
                    .identity(platform, &token)
                    .await
                    .expect("identity");
                let pages = self
                    .platforms
                    .targets(platform, None, &token)
                    .await
                    .expect("pages");
                let page = &pages[0];
                Account::new(
                    platform,
                    me.account_id,
                    page.access_token.clone().expect("page token"),
                )
                .on_page(page.id.clone())
            }
            _ => {
                let me = self
                    .platforms
                    .identity(platform, &token)
                    .await
                    .expect("identity");
                if platform == Platform::Threads {
                    assert_eq!(user_id.as_deref().unwrap_or(&me.account_id), me.account_id);
                }
                let mut account = Account::new(platform, me.account_id, token);
                if platform == Platform::Twitter {
                    account.username = me.username;
                }
                account
            }
        }
    }

    /// The development bot on `chat`, or on the development channel (by its `@username` when
    /// it has one) unless given.
    pub async fn telegram(&self, chat: Option<i64>) -> Account {
        let fixtures = self.get("/_sim/fixtures").await;
        let token = secret(
            fixtures["telegram"]["bot_token"]
                .as_str()
                .expect("bot token"),
        );
        let chat = match chat {
            Some(chat) => chat.to_string(),
            None => fixtures["telegram"]["channel"].as_str().map_or_else(
                || fixtures["telegram"]["chat_id"].to_string(),
                str::to_owned,
            ),
        };
        let channel = self
            .platforms
            .connect_telegram(&token, &ChatId::parse(&chat).expect("chat id"))
            .await
            .expect("the development bot may post in its channel");
        let mut account = Account::new(Platform::Telegram, channel.chat_id.to_string(), token);
        account.username = channel.username;
        account
    }

    /// A control API call that must succeed, and its JSON answer.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, self.server.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("control API answers");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        answer.json().await.expect("control API JSON")
    }

    /// A control API read.
    pub async fn get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, None).await
    }

    /// `/_sim/posts` for one platform.
    pub async fn posts(&self, platform: &str) -> Vec<Value> {
        let posts = self.get(&format!("/_sim/posts?platform={platform}")).await;
        posts["data"].as_array().cloned().unwrap_or_default()
    }

    /// Adds a fault rule.
    pub async fn fault(&self, rule: Value) {
        self.control(reqwest::Method::POST, "/_sim/faults", Some(rule))
            .await;
    }

    /// Changes the simulator's configuration while it runs.
    pub async fn patch_config(&self, patch: Value) {
        self.control(reqwest::Method::PATCH, "/_sim/config", Some(patch))
            .await;
    }

    /// Moves the simulator's clock forward.
    pub async fn advance(&self, seconds: u64) {
        self.control(
            reqwest::Method::POST,
            "/_sim/clock/advance",
            Some(serde_json::json!({ "seconds": seconds })),
        )
        .await;
    }

    /// How many requests the simulator counted on `platform`'s endpoints that `which` picks
    /// (endpoints read `METHOD /path` with ids as `{id}`).
    pub async fn count(&self, platform: &str, which: impl Fn(&str) -> bool) -> u64 {
        let body = self.get("/_sim/requests").await;
        body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|row| row["platform"] == platform)
            .filter(|row| which(row["endpoint"].as_str().unwrap_or_default()))
            .filter_map(|row| row["count"].as_u64())
            .sum()
    }

    /// A generated JPEG of `size` (`WIDTHxHEIGHT`) the simulator serves, with its URL.
    pub async fn image(&self, size: &str) -> MediaInput {
        let url = self.server.url(&format!("/_sim/images/{size}.jpg"));
        let bytes = self
            .http
            .get(&url)
            .send()
            .await
            .expect("image")
            .bytes()
            .await
            .expect("bytes");
        MediaInput::from_bytes(bytes, "image/jpeg").with_public_url(url)
    }

    /// Hosts `bytes` on the simulator (`POST /_sim/media`) and returns the URL it serves
    /// them at, the one the platforms fetch.
    pub async fn host(&self, bytes: &[u8], content_type: &str) -> String {
        let hosted: Value = self
            .http
            .post(self.server.url("/_sim/media"))
            .header("content-type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("hosted")
            .json()
            .await
            .expect("JSON");
        hosted["url"].as_str().expect("url").to_owned()
    }

    /// A test video in memory, hosted on the simulator, as the worker hands it to a step
    /// whose platform fetches the video from `video_url`.
    pub async fn hosted_video(&self, name: &str) -> MediaInput {
        let bytes = std::fs::read(fixture(name)).expect("fixture");
        let info = VideoInfo::read(std::io::Cursor::new(&bytes)).expect("a readable video");
        let url = self.host(&bytes, info.container.mime_type()).await;
        let len = bytes.len() as u64;
        MediaInput::video(MediaBody::Memory(bytes.into()), len, info).with_public_url(url)
    }

    /// Plans and runs every step in order with the default options.
    pub async fn publish(
        &self,
        account: &Account,
        content: &PostContent,
        media: &[MediaInput],
    ) -> Result<Outcomes, PlatformFailure> {
        super::publish(
            &self.platforms,
            account,
            content,
            media,
            PublishOptions::default(),
        )
        .await
    }
}

/// Herald's client settings for the simulator: its processing takes a fraction of a second,
/// so polling every 50 ms and waiting up to 10 s is ample.
pub fn settings() -> HttpSettings {
    HttpSettings {
        poll_interval: Duration::from_millis(50),
        container_wait: Duration::from_secs(10),
        ..super::settings()
    }
}

/// A post with `text` and `items` media references (the media themselves are handed to
/// the steps separately).
pub fn media_post(text: &str, items: usize) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        media: (0..items)
            .map(|i| MediaRef::Url {
                url: format!("https://media.example/{i}"),
            })
            .collect(),
        ..PostContent::default()
    }
}

/// `content` with a first comment.
pub fn with_comment(mut content: PostContent, comment: &str) -> PostContent {
    content.first_comment = Some(comment.to_owned());
    content
}

/// A file of `tests/fixtures/video`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/video/{name}"))
}

/// A test video as the worker hands it over: a file on disk, its size and its facts.
pub fn video(name: &str) -> MediaInput {
    video_file(fixture(name))
}

/// The video at `path` as the worker hands it over.
pub fn video_file(path: PathBuf) -> MediaInput {
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let len = file.metadata().expect("its size").len();
    let info = VideoInfo::read(std::io::BufReader::new(file)).expect("a readable video");
    MediaInput::video(MediaBody::File(Arc::new(path)), len, info)
}

/// The keys of the steps that ran, in order.
pub fn keys(outcomes: &[(String, StepOutcome)]) -> Vec<&str> {
    outcomes.iter().map(|(key, _)| key.as_str()).collect()
}

/// The outcome of the step `key`.
pub fn outcome<'a>(outcomes: &'a [(String, StepOutcome)], key: &str) -> &'a StepOutcome {
    &outcomes
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no `{key}` step ran"))
        .1
}
