//! How many simple posts per second the simulator serves on this machine.
//!
//! Starts the simulator in-process on 127.0.0.1 (or uses `--base-url` of a running
//! `herald sim`), then sends a fixed number of simple posts over a fixed number of concurrent
//! keep-alive connections and stops by itself. Rate limits are off (they would be what is
//! measured); everything else (auth, validation, state, `/_sim/posts`) runs as usual.
//!
//! ```text
//! cargo run --release -p herald-sim --example sim_load -- \
//!     --requests 100000 --concurrency 64 --platform telegram
//! ```
//!
//! `--platform telegram` posts `sendMessage` with the development bot; `--platform x` logs in
//! through OAuth once and posts `POST /2/tweets` with distinct texts.

// The report is the program's output.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use herald_sim::{DEV_BOT_TOKEN, DEV_CHANNEL_ID, SimConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
struct Options {
    requests: usize,
    concurrency: usize,
    platform: String,
    base_url: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        requests: 50_000,
        concurrency: 32,
        platform: "telegram".to_owned(),
        base_url: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--requests" => {
                options.requests = value.parse().map_err(|e| format!("--requests: {e}"))?
            }
            "--concurrency" => {
                options.concurrency = value.parse().map_err(|e| format!("--concurrency: {e}"))?;
            }
            "--platform" => options.platform = value,
            "--base-url" => options.base_url = Some(value.trim_end_matches('/').to_owned()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.requests == 0 || options.concurrency == 0 {
        return Err("--requests and --concurrency must be positive".to_owned());
    }
    Ok(options)
}

/// Logs the default X user in (PKCE, Basic auth) and returns an access token.
async fn x_token(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let verifier = "sim-load-verifier-0123456789-abcdefghijklmnopqrstuv";
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
    let redirect = "https://herald.test/api/social/twitter/callback";
    let authorize = format!(
        "{base}/x/i/oauth2/authorize?response_type=code&client_id=herald-dev-twitter&redirect_uri={redirect}&scope=tweet.read%20tweet.write%20users.read&state=s&code_challenge={challenge}&code_challenge_method=S256"
    );
    let response = http
        .get(authorize)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let location = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or("authorize did not redirect")?;
    let code = url::Url::parse(location)
        .map_err(|e| e.to_string())?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or("no code")?;
    let token: Value = http
        .post(format!("{base}/x/2/oauth2/token"))
        .basic_auth("herald-dev-twitter", Some("herald-dev-twitter-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    token["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no access token: {token}"))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = options()?;
    let server = match &options.base_url {
        Some(_) => None,
        None => Some(
            herald_sim::spawn(SimConfig::unlimited())
                .await
                .map_err(|e| e.to_string())?,
        ),
    };
    let base = match (&options.base_url, &server) {
        (Some(url), _) => url.clone(),
        (None, Some(server)) => server.base_url(),
        (None, None) => return Err("no simulator".to_owned()),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let x_token = match options.platform.as_str() {
        "x" | "twitter" => Some(x_token(&http, &base).await?),
        "telegram" => None,
        other => return Err(format!("unknown platform {other} (telegram or x)")),
    };

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..options.concurrency {
        let (http, base, next, token) = (http.clone(), base.clone(), next.clone(), x_token.clone());
        let total = options.requests;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let request = match &token {
                    Some(token) => http
                        .post(format!("{base}/x/2/tweets"))
                        .bearer_auth(token)
                        .json(&json!({"text": format!("load test post {n}")})),
                    None => http
                        .post(format!("{base}/telegram/bot{DEV_BOT_TOKEN}/sendMessage"))
                        .json(&json!({"chat_id": DEV_CHANNEL_ID, "text": format!("load test post {n}")})),
                };
                let sent = Instant::now();
                match request.send().await {
                    Ok(response) if response.status().is_success() => {
                        // Read the body, as a client would.
                        let _ = response.bytes().await;
                        latencies.push(sent.elapsed());
                    }
                    _ => failures += 1,
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (l, f) = worker.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        failures += f;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let platform = if x_token.is_some() {
        "twitter"
    } else {
        "telegram"
    };
    let posts: Value = http
        .get(format!("{base}/_sim/posts?platform={platform}"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let stored = posts["data"].as_array().map_or(0, Vec::len);
    println!(
        "{} posts ({platform}) over {} connections in {:.2} s: {:.0} requests/s; latency p50 {:.2} ms, p99 {:.2} ms; {} failed; {} stored",
        latencies.len(),
        options.concurrency,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        failures,
        stored,
    );
    if let Some(server) = server {
        server.shutdown().await.map_err(|e| e.to_string())?;
    }
    if failures > 0 {
        eprintln!("some requests failed");
    }
    Ok(())
}
