//! Helpers shared by the wire tests: a `Platforms` pointed at a mock server (or the
//! simulator) the way Herald points at one in development, through
//! `HERALD_PLATFORM_BASE_URL`, so every platform lives under its simulator prefix (`/x`,
//! `/linkedin`, `/facebook`, `/graph`, `/threads`, `/telegram`).

#![allow(dead_code, unreachable_pub)]

pub mod sim;

use std::time::Duration;

use herald_config::Config;
use herald_domain::PlatformFailure;
use herald_domain::{MediaRef, Platform, PostContent};
use herald_platforms::{
    Account, HttpSettings, MediaInput, Platforms, PriorResults, PublishOptions, StepContext,
    StepOutcome,
};
use secrecy::SecretString;

pub const TELEGRAM_TOKEN: &str = "7000000001:AAHeraldDevBotToken0000000000000000000";

pub fn config(base: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![("HERALD_PLATFORM_BASE_URL".to_owned(), base.to_owned())];
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Config::load_from(None, vars).expect("test configuration is valid")
}

pub fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
        container_wait: Duration::from_secs(3),
        ..HttpSettings::default()
    }
}

pub fn platforms(base: &str) -> Platforms {
    platforms_with(base, &[], &settings())
}

pub fn platforms_with(base: &str, extra: &[(&str, &str)], settings: &HttpSettings) -> Platforms {
    Platforms::new(&config(base, extra).platforms, settings).expect("client builds")
}

pub fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

pub fn account(platform: Platform, id: &str, token: &str) -> Account {
    Account::new(platform, id, secret(token))
}

pub fn text(text: &str) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        ..PostContent::default()
    }
}

pub fn with_image(text: &str) -> PostContent {
    PostContent {
        text: Some(text.to_owned()),
        media: vec![MediaRef::Url {
            url: "https://media.example/cat.png".into(),
        }],
        ..PostContent::default()
    }
}

/// A tiny PNG header: enough bytes for a multipart upload.
pub fn png() -> MediaInput {
    MediaInput::from_bytes(
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x58\0\0\x02\x58\x08\x02\0\0\0".to_vec(),
        "image/png",
    )
    .with_public_url("https://media.example/cat.png")
}

/// Plans and runs every step in order, like the worker does (minus the journal), returning
/// the outcome of each step by key.
pub async fn publish(
    platforms: &Platforms,
    account: &Account,
    content: &PostContent,
    media: &[MediaInput],
    options: PublishOptions,
) -> Result<Vec<(String, StepOutcome)>, PlatformFailure> {
    match run(platforms, account, content, media, options).await {
        (outcomes, None) => Ok(outcomes),
        (_, Some((_, failure))) => Err(failure),
    }
}

/// Runs every step like [`publish`], keeping the outcomes of the steps that ran when one
/// fails (a failed first comment leaves the post published), with the key of the step that
/// failed (`plan` when no plan was made).
pub async fn run(
    platforms: &Platforms,
    account: &Account,
    content: &PostContent,
    media: &[MediaInput],
    options: PublishOptions,
) -> (
    Vec<(String, StepOutcome)>,
    Option<(String, PlatformFailure)>,
) {
    let steps = match platforms.plan(account, content) {
        Ok(steps) => steps,
        Err(failure) => return (Vec::new(), Some(("plan".to_owned(), failure))),
    };
    let mut prior = PriorResults::new();
    let mut outcomes = Vec::new();
    for step in &steps {
        let ctx = StepContext {
            account,
            content,
            media,
            prior: &prior,
            options,
        };
        match platforms.execute(step, &ctx).await {
            Ok(outcome) => {
                prior.insert(step.key.clone(), outcome.remote_id.clone());
                outcomes.push((step.key.to_string(), outcome));
            }
            Err(failure) => return (outcomes, Some((step.key.to_string(), failure))),
        }
    }
    (outcomes, None)
}

/// The outcome of the `publish` step.
pub fn published(outcomes: &[(String, StepOutcome)]) -> &StepOutcome {
    &outcomes
        .iter()
        .find(|(key, _)| key == "publish")
        .expect("a publish step ran")
        .1
}

/// A matcher for a multipart body that holds every one of `needles` (the body is not UTF-8:
/// it carries image bytes).
pub fn multipart_with(needles: &[&str]) -> impl Fn(&wiremock::Request) -> bool + use<> {
    let needles: Vec<Vec<u8>> = needles.iter().map(|n| n.as_bytes().to_vec()).collect();
    move |request: &wiremock::Request| {
        let is_multipart = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        is_multipart
            && needles
                .iter()
                .all(|n| request.body.windows(n.len()).any(|w| w == n.as_slice()))
    }
}
