//! Fetching media by URL, as Instagram, Threads, Facebook and Telegram do.
//!
//! The platforms download `image_url` themselves, so a URL Herald hands them must really be
//! reachable. The simulator does the same download (with a timeout and a size cap) and each
//! platform module turns the failure into its own error: Instagram 2207052 (could not fetch)
//! or 2207003 (too slow), Telegram "wrong file identifier/HTTP URL specified", and so on.
//! Nothing is held locked while the download runs.

use std::time::Duration;

use axum::body::Bytes;

/// Why a download failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// Not an absolute http(s) URL.
    BadUrl,
    /// Nothing answered, or the connection broke.
    Unreachable,
    /// The server answered with an error status.
    Status(u16),
    /// The download did not finish in time.
    Timeout,
    /// More than the allowed bytes.
    TooLarge,
}

/// A downloaded body.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub(crate) bytes: Bytes,
}

pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &str,
    max_bytes: u64,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(FetchError::BadUrl);
    }
    match tokio::time::timeout(timeout, download(client, parsed, max_bytes)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout),
    }
}

async fn download(
    client: &reqwest::Client,
    url: url::Url,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|_| FetchError::Unreachable)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|_| FetchError::Unreachable)?
    {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > max_bytes {
            return Err(FetchError::TooLarge);
        }
    }
    Ok(Fetched {
        bytes: Bytes::from(body),
    })
}
