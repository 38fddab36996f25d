//! Fault injection: what a flaky platform does to a client, on demand and reproducibly.
//!
//! Every platform request passes through [`layer`], which names it (platform and endpoint,
//! e.g. `twitter` / `POST /2/tweets`, `telegram` / `sendMessage`), counts it for
//! `/_sim/requests`, and asks the [`FaultTable`] what to do. A rule matches a platform (or
//! `graph` for Facebook and Instagram, or `*`) and optionally one endpoint, and can:
//!
//! - add latency (fixed plus seeded jitter);
//! - fail a fraction of requests (`error_rate`, answered with `error_status` in the
//!   platform's own error shape) or accept-then-drop a fraction (`drop_rate`);
//! - play a script of the next N responses: a status (`500`, `503`, ...), `429` (the
//!   platform's own rate-limit signal with its headers), `hang` (hold the request until the
//!   client gives up), `reset` (TCP reset, no response), `drop` (accept-then-drop: the
//!   request takes effect, then the connection closes before any response byte), or `ok`.
//!
//! Scripts run first, in rule order; then rates roll on one seeded RNG, so the same seed and
//! the same request sequence inject the same faults. Closing a connection without a response
//! needs the transport: the server's connection wrapper ([`crate::server::ConnHandle`])
//! turns the connection's writes into errors, so hyper drops it before a byte leaves.

use std::fmt;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::server::{ConnHandle, KillMode};
use crate::state::{Platform, SharedSim};
use crate::{graph, linkedin, telegram, threads, twitter};

/// One scripted response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Serve the request normally.
    Ok,
    /// Answer with this status in the platform's error shape.
    Status(u16),
    /// The platform's rate-limit answer (429 and its headers, or Graph's code 4).
    RateLimited,
    /// Hold the request until the client times out (bounded by the rule's `hang_ms`).
    Hang,
    /// Reset the connection without answering.
    Reset,
    /// Accept-then-drop: process the request, then close the connection unanswered.
    Drop,
}

impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultAction::Ok => f.write_str("ok"),
            FaultAction::Status(code) => write!(f, "{code}"),
            FaultAction::RateLimited => f.write_str("429"),
            FaultAction::Hang => f.write_str("hang"),
            FaultAction::Reset => f.write_str("reset"),
            FaultAction::Drop => f.write_str("drop"),
        }
    }
}

impl FaultAction {
    fn parse(text: &str) -> Result<FaultAction, String> {
        let lower = text.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "ok" | "pass" => FaultAction::Ok,
            "429" | "rate_limited" | "rate-limited" => FaultAction::RateLimited,
            "hang" | "timeout" => FaultAction::Hang,
            "reset" | "connection_reset" => FaultAction::Reset,
            "drop" | "accept_then_drop" | "accept-then-drop" => FaultAction::Drop,
            other => match other.parse::<u16>() {
                Ok(code) if (400..600).contains(&code) => FaultAction::Status(code),
                _ => return Err(format!("unknown fault action `{text}`")),
            },
        })
    }
}

impl Serialize for FaultAction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FaultAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u16),
            Text(String),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Number(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        FaultAction::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A fault rule for one platform (and optionally one endpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// `twitter` (or `x`), `linkedin`, `facebook`, `instagram`, `graph` (both), `threads`,
    /// `telegram`, or `*`.
    pub platform: String,
    /// `POST /2/tweets`, `/2/tweets` (any method), `GET /{id}` (ids are written `{id}`),
    /// `sendMessage`, a prefix ending in `*`, or nothing for every endpoint.
    pub endpoint: Option<String>,
    /// Fraction of requests answered with `error_status`.
    pub error_rate: f64,
    pub error_status: u16,
    /// Fraction of requests accepted, then dropped unanswered.
    pub drop_rate: f64,
    pub latency_ms: u64,
    /// Up to this much more latency, drawn from the seeded RNG.
    pub latency_jitter_ms: u64,
    /// How long `hang` holds a request at most.
    pub hang_ms: u64,
    /// The wait a scripted `429` announces.
    pub retry_after_secs: u64,
    /// The next responses, consumed in order.
    pub script: Vec<FaultAction>,
}

impl Default for FaultRule {
    fn default() -> Self {
        Self {
            platform: "*".to_owned(),
            endpoint: None,
            error_rate: 0.0,
            error_status: 500,
            drop_rate: 0.0,
            latency_ms: 0,
            latency_jitter_ms: 0,
            hang_ms: 300_000,
            retry_after_secs: 60,
            script: Vec::new(),
        }
    }
}

impl FaultRule {
    fn matches(&self, platform: Platform, method: &Method, endpoint: &str) -> bool {
        let p = self.platform.trim().to_ascii_lowercase();
        let platform_ok = match p.as_str() {
            "*" | "" | "all" => true,
            "graph" | "meta" => matches!(platform, Platform::Facebook | Platform::Instagram),
            other => Platform::parse(other) == Some(platform),
        };
        if !platform_ok {
            return false;
        }
        let Some(pattern) = self.endpoint.as_deref().map(str::trim) else {
            return true;
        };
        let full = format!("{method} {endpoint}");
        let matches_one = |candidate: &str| match pattern.strip_suffix('*') {
            Some(prefix) => candidate.starts_with(prefix),
            None => candidate.eq_ignore_ascii_case(pattern),
        };
        pattern == "*" || matches_one(&full) || matches_one(endpoint)
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decision {
    pub(crate) action: FaultAction,
    pub(crate) latency: Duration,
    pub(crate) hang: Duration,
    pub(crate) retry_after_secs: u64,
}

/// The active rules and the seeded RNG.
#[derive(Debug)]
pub(crate) struct FaultTable {
    rng: StdRng,
    rules: Vec<FaultRule>,
}

impl FaultTable {
    pub(crate) fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            rules,
        }
    }

    pub(crate) fn rules(&self) -> &[FaultRule] {
        &self.rules
    }

    pub(crate) fn replace(&mut self, rules: Vec<FaultRule>) {
        self.rules = rules;
    }

    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    /// Decides one request's fate, consuming a script step or rolling the dice.
    pub(crate) fn decide(
        &mut self,
        platform: Platform,
        method: &Method,
        endpoint: &str,
    ) -> Decision {
        let mut decision = Decision {
            action: FaultAction::Ok,
            latency: Duration::ZERO,
            hang: Duration::from_secs(300),
            retry_after_secs: 60,
        };
        if self.rules.is_empty() {
            return decision;
        }
        let mut decided = false;
        for rule in self
            .rules
            .iter_mut()
            .filter(|r| r.matches(platform, method, endpoint))
        {
            let jitter = if rule.latency_jitter_ms > 0 {
                self.rng.random_range(0..=rule.latency_jitter_ms)
            } else {
                0
            };
            decision.latency = decision
                .latency
                .max(Duration::from_millis(rule.latency_ms + jitter));
            if decided {
                continue;
            }
            decision.hang = Duration::from_millis(rule.hang_ms);
            decision.retry_after_secs = rule.retry_after_secs;
            if !rule.script.is_empty() {
                decision.action = rule.script.remove(0);
                decided = true;
            } else if rule.error_rate > 0.0 && self.rng.random::<f64>() < rule.error_rate {
                decision.action = match rule.error_status {
                    429 => FaultAction::RateLimited,
                    status => FaultAction::Status(status),
                };
                decided = true;
            } else if rule.drop_rate > 0.0 && self.rng.random::<f64>() < rule.drop_rate {
                decision.action = FaultAction::Drop;
                decided = true;
            }
        }
        decision
    }
}

/// Names a request: its platform and endpoint, with ids written `{id}`. `None` for the
/// control API and unknown prefixes.
pub(crate) fn classify(sim: &SharedSim, path: &str) -> Option<(Platform, String)> {
    let mut segments = path.trim_start_matches('/').split('/');
    let prefix = segments.next()?;
    let rest: Vec<&str> = segments.collect();
    let platform = match prefix {
        "x" => Platform::Twitter,
        "linkedin" => Platform::Linkedin,
        "facebook" => Platform::Facebook,
        "graph" | "graph-video" => Platform::Facebook,
        "threads" => Platform::Threads,
        "telegram" => {
            let method = rest.get(1).copied().unwrap_or("");
            return Some((Platform::Telegram, telegram::canonical_method(method)));
        }
        _ => return None,
    };
    let rest: Vec<&str> = match (prefix, rest.first()) {
        ("graph" | "graph-video" | "facebook" | "threads", Some(first)) if is_version(first) => {
            rest[1..].to_vec()
        }
        _ => rest,
    };
    let platform = if prefix == "graph" && graph::is_instagram_request(sim, &rest) {
        Platform::Instagram
    } else {
        platform
    };
    // X's and LinkedIn's first segment is an API version or a fixed path (`2`, `v2`, `rest`),
    // never an id; Graph and Threads versions were stripped above.
    let keep_first = matches!(prefix, "x" | "linkedin");
    let normalized: Vec<&str> = rest
        .iter()
        .enumerate()
        .map(|(i, segment)| {
            if is_id(segment) && !(keep_first && i == 0) {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    Some((platform, format!("/{}", normalized.join("/"))))
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

fn is_id(segment: &str) -> bool {
    let lower = segment.to_ascii_lowercase();
    lower.starts_with("urn:")
        || lower.starts_with("urn%3a")
        || (segment.bytes().any(|b| b.is_ascii_digit())
            && segment.bytes().all(|b| b.is_ascii_digit() || b == b'_'))
}

/// The middleware every platform route passes through.
pub(crate) async fn layer(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    let Some((platform, endpoint)) = classify(&sim, req.uri().path()) else {
        return next.run(req).await;
    };
    let method = req.method().clone();
    sim.counters().hit(platform, &method, &endpoint);
    let decision = sim.faults().decide(platform, &method, &endpoint);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnHandle>>()
        .map(|info| info.0.clone());
    match decision.action {
        FaultAction::Ok => next.run(req).await,
        FaultAction::Status(status) => injected_error(platform, status),
        FaultAction::RateLimited => {
            injected_rate_limit(platform, sim.now_ms(), decision.retry_after_secs)
        }
        FaultAction::Hang => {
            tokio::select! {
                () = tokio::time::sleep(decision.hang) => {}
                () = sim.cancel.cancelled() => {}
            }
            kill(conn, KillMode::Reset)
        }
        FaultAction::Reset => kill(conn, KillMode::Reset),
        FaultAction::Drop => {
            // The request takes effect; only the answer is lost.
            let response = next.run(req).await;
            drop(response);
            kill(conn, KillMode::Close)
        }
    }
}

fn kill(conn: Option<ConnHandle>, mode: KillMode) -> Response {
    match conn {
        Some(conn) => {
            conn.kill(mode);
            // Never written: the connection refuses it and closes.
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        // Served without the simulator's listener: the nearest thing is an empty 502.
        None => StatusCode::BAD_GATEWAY.into_response(),
    }
}

fn injected_error(platform: Platform, status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match platform {
        Platform::Twitter => twitter::fault_response(status),
        Platform::Linkedin => linkedin::fault_response(status),
        Platform::Facebook | Platform::Instagram => graph::fault_response(status),
        Platform::Threads => threads::fault_response(status),
        Platform::Telegram => telegram::fault_response(status),
    }
}

fn injected_rate_limit(platform: Platform, now_ms: u64, retry_after_secs: u64) -> Response {
    match platform {
        Platform::Twitter => twitter::fault_rate_limited(now_ms, retry_after_secs),
        Platform::Linkedin => linkedin::fault_rate_limited(),
        Platform::Facebook | Platform::Instagram => graph::fault_rate_limited(),
        Platform::Threads => threads::fault_rate_limited(),
        Platform::Telegram => telegram::fault_rate_limited(retry_after_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_read_from_numbers_and_names() {
        let actions: Vec<FaultAction> =
            serde_json::from_str(r#"[500, "503", "429", "hang", "reset", "drop", "ok"]"#).unwrap();
        assert_eq!(
            actions,
            vec![
                FaultAction::Status(500),
                FaultAction::Status(503),
                FaultAction::RateLimited,
                FaultAction::Hang,
                FaultAction::Reset,
                FaultAction::Drop,
                FaultAction::Ok,
            ]
        );
        assert!(serde_json::from_str::<FaultAction>("\"explode\"").is_err());
    }

    #[test]
    fn the_same_seed_injects_the_same_faults() {
        let rule = FaultRule {
            platform: "x".to_owned(),
            error_rate: 0.5,
            ..FaultRule::default()
        };
        let run = || {
            let mut table = FaultTable::new(7, vec![rule.clone()]);
            (0..64)
                .map(|_| {
                    table
                        .decide(Platform::Twitter, &Method::POST, "/2/tweets")
                        .action
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&FaultAction::Ok));
        assert!(first.contains(&FaultAction::Status(500)));
    }

    #[test]
    fn endpoints_match_with_or_without_the_method() {
        let rule = FaultRule {
            platform: "graph".to_owned(),
            endpoint: Some("/{id}/feed".to_owned()),
            ..FaultRule::default()
        };
        assert!(rule.matches(Platform::Facebook, &Method::POST, "/{id}/feed"));
        assert!(!rule.matches(Platform::Telegram, &Method::POST, "/{id}/feed"));
        assert!(!rule.matches(Platform::Facebook, &Method::POST, "/{id}/photos"));
    }
}
