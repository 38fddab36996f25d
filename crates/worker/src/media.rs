//! Fetching a post's images, without letting a URL reach inside the network.
//!
//! A producer names images by URL and the worker downloads them, which makes every URL a
//! request Herald sends from inside its own network (server-side request forgery). The guard:
//!
//! - **https only**; plain http and local addresses only for hosts on the explicit
//!   allow-list (`worker.media.allow_hosts`: how the demo and the tests reach the simulator).
//! - **Addresses are checked after resolution, on the addresses actually connected to**: the
//!   HTTP client's DNS resolver drops loopback, private, link-local, CGNAT, multicast,
//!   unspecified and cloud-metadata addresses (IPv4 and IPv6, IPv4-mapped included) and fails
//!   when nothing is left. Checking a name and connecting to a fresh resolution of it would
//!   let DNS rebinding through; here the check and the connection use one answer.
//! - **Literal IP URLs** (which skip DNS) are checked by the same rule.
//! - **Every redirect** is checked again (scheme, host, literal address) and at most five are
//!   followed.
//! - **Size is capped while streaming** (and up front by `Content-Length`), and the whole
//!   fetch has a **timeout**.
//!
//! A fetched image is decoded once under `media.max_pixels` and its memory bound
//! (`ImageInfo::verify`), so a header that lies about its size, a decompression bomb or
//! truncated data fails the delivery (`media_invalid`) instead of reaching a platform; then
//! it is validated against the platform's rules (`herald_domain::rules::inspect_image`)
//! before anything is uploaded. Uploaded images were decoded the same way when they were
//! stored. Images in Herald's
//! own media store are read from it, and get a signed URL for platforms that fetch images
//! themselves (Instagram, Threads).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use herald_domain::rules::{ContentRules, FieldPath, inspect_image};
use herald_domain::{
    Code, ErrorClass, ImageInfo, MediaRef, Platform, PlatformFailure, PostContent, TenantId,
};
use herald_platforms::MediaInput;
use herald_store::{MediaStoreError, Store};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::settings::MediaSettings;

/// The fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the media HTTP client: {0}")]
pub struct MediaError(#[source] reqwest::Error);

/// Fetches images by URL under the SSRF guard.
#[derive(Debug, Clone)]
pub struct MediaFetcher {
    client: reqwest::Client,
    settings: MediaSettings,
    allow: Arc<AllowList>,
}

#[derive(Debug)]
struct AllowList(Vec<String>);

impl AllowList {
    /// Whether `host` (and `port`, when the entry names one) is explicitly allowed.
    fn allows(&self, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.0.iter().any(|entry| match entry.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => {
                h.eq_ignore_ascii_case(host) && port.is_some_and(|port| p == port.to_string())
            }
            _ => entry.eq_ignore_ascii_case(host),
        })
    }

    fn allows_host(&self, host: &str) -> bool {
        self.0.iter().any(|entry| {
            let h = match entry.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => h,
                _ => entry,
            };
            h.eq_ignore_ascii_case(host)
        })
    }

    /// Whether `url` may be requested: https (or an allowed host), and a literal address
    /// only if public (or allowed).
    fn check(&self, url: &Url) -> Result<(), String> {
        let host = url.host_str().ok_or("the URL has no host")?;
        let allowed = self.allows(host, url.port_or_known_default());
        match url.scheme() {
            "https" => {}
            "http" if allowed => {}
            other => return Err(format!("`{other}` URLs are not fetched (https only)")),
        }
        if let Some(ip) = literal_ip(url)
            && !allowed
            && !is_public(ip)
        {
            return Err(format!("{ip} is not a public address"));
        }
        Ok(())
    }
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// multicast, documentation, unspecified or a cloud metadata endpoint).
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7 (incl. fd00:ec2::254)
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || first == 0x0064) // NAT64 64:ff9b::/96 may wrap a private v4
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the metadata endpoint included
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// A resolver that only hands out public addresses (all of them for allowed hosts).
#[derive(Debug)]
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allowed = self.allow.allows_host(&host);
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| allowed || is_public(addr.ip()))
                .collect();
            if usable.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

/// Why a fetch failed.
#[derive(Debug)]
enum FetchFailure {
    Refused(String),
    TooLarge,
    Status(u16),
    Transport(String),
}

impl MediaFetcher {
    pub fn new(settings: MediaSettings) -> Result<Self, MediaError> {
        let allow = Arc::new(AllowList(settings.allow_hosts.clone()));
        let redirect_allow = Arc::clone(&allow);
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            .dns_resolver(Arc::new(GuardedResolver {
                allow: Arc::clone(&allow),
            }))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    return attempt.error("more than 5 redirects");
                }
                match redirect_allow.check(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => attempt.error(format!("redirect refused: {reason}")),
                }
            }))
            .build()
            .map_err(MediaError)?;
        Ok(Self {
            client,
            settings,
            allow,
        })
    }

    /// Fetches and validates every image of `content` for `platform`, in order.
    pub(crate) async fn load(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        content: &PostContent,
        rules: &ContentRules,
    ) -> Result<Vec<MediaInput>, PlatformFailure> {
        let mut inputs = Vec::with_capacity(content.media.len());
        for (index, media) in content.media.iter().enumerate() {
            let (bytes, public_url) = match media {
                MediaRef::Url { url } => {
                    let bytes = self.fetch_url(platform, url).await?;
                    (self.verify(platform, index, bytes).await?, url.clone())
                }
                MediaRef::Stored { media_id } => {
                    self.read_stored(store, tenant, platform, *media_id).await?
                }
            };
            let info = inspect_image(platform, &bytes, rules, FieldPath::MediaItem(index))
                .map_err(|violations| {
                    PlatformFailure::new(ErrorClass::Permanent, platform, violations.to_string())
                        .with_herald_code(Code::MediaInvalid)
                        .with_hint("Use an image the platform accepts (format, size, dimensions)")
                })?;
            inputs.push(
                MediaInput::from_bytes(bytes, info.format.mime_type()).with_public_url(public_url),
            );
        }
        Ok(inputs)
    }

    /// Decodes a fetched image under the limits, off the async threads: what a lying header,
    /// a bomb or corrupt data is refused by.
    async fn verify(
        &self,
        platform: Platform,
        index: usize,
        bytes: Bytes,
    ) -> Result<Bytes, PlatformFailure> {
        let limits = self.settings.decode;
        let (bytes, verified) = tokio::task::spawn_blocking(move || {
            let verified = ImageInfo::verify(&bytes, limits);
            (bytes, verified)
        })
        .await
        .map_err(|e| {
            // A decoder that fails this way on some bytes fails the same way on a retry.
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("the image could not be decoded: {e}"),
            )
            .with_herald_code(Code::MediaInvalid)
        })?;
        verified.map_err(|error| {
            PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("media[{index}]: {error} ({})", error.rule()),
            )
            .with_herald_code(Code::MediaInvalid)
            .with_hint("Use an image whose data is complete and within media.max_pixels")
        })?;
        Ok(bytes)
    }

    /// Downloads `url` under the guard.
    pub(crate) async fn fetch_url(
        &self,
        platform: Platform,
        url: &str,
    ) -> Result<Bytes, PlatformFailure> {
        self.fetch(url).await.map_err(|failure| match failure {
            FetchFailure::Refused(reason) => {
                PlatformFailure::new(ErrorClass::Permanent, platform, format!("media URL refused: {reason}"))
                    .with_herald_code(Code::MediaUrlRefused)
                    .with_hint("Media URLs must be public https URLs (or upload the image to Herald's media store)")
            }
            FetchFailure::TooLarge => PlatformFailure::new(
                ErrorClass::Permanent,
                platform,
                format!("the image is larger than {} bytes", self.settings.max_bytes),
            )
            .with_herald_code(Code::MediaTooLarge)
            .with_hint("Use a smaller image"),
            FetchFailure::Status(status) if (400..500).contains(&status) && status != 429 => {
                PlatformFailure::new(
                    ErrorClass::Permanent,
                    platform,
                    format!("the media URL answered {status}"),
                )
                .with_herald_code(Code::MediaUnavailable)
                .with_hint("Check that the media URL is public and still valid")
            }
            FetchFailure::Status(status) => PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!("the media URL answered {status}"),
            )
            .with_herald_code(Code::MediaFetch),
            FetchFailure::Transport(reason) => PlatformFailure::new(
                ErrorClass::Retryable,
                platform,
                format!("the image could not be downloaded: {reason}"),
            )
            .with_herald_code(Code::MediaFetch),
        })
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, FetchFailure> {
        let parsed = Url::parse(url).map_err(|e| FetchFailure::Refused(e.to_string()))?;
        self.allow.check(&parsed).map_err(FetchFailure::Refused)?;
        let mut response = self.client.get(parsed).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchFailure::Status(status));
        }
        let max = self.settings.max_bytes;
        if response.content_length().is_some_and(|len| len > max) {
            return Err(FetchFailure::TooLarge);
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(FetchFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }

    /// An image from Herald's media store: its bytes, and a signed URL for platforms that
    /// fetch images themselves.
    async fn read_stored(
        &self,
        store: &Store,
        tenant: TenantId,
        platform: Platform,
        id: herald_domain::MediaId,
    ) -> Result<(Bytes, String), PlatformFailure> {
        let permanent = |message: String| {
            PlatformFailure::new(ErrorClass::Permanent, platform, message)
                .with_herald_code(Code::MediaStore)
        };
        let retry = |err: herald_store::StoreError| crate::tokens::store_failure(platform, &err);
        let file = store
            .media()
            .get(tenant, id)
            .await
            .map_err(retry)?
            .ok_or_else(|| permanent(format!("media {id} does not exist")))?;
        let Some(media_store) = &self.settings.store else {
            return Err(permanent(
                "the worker reads stored media from the local media store only (media.store = \"local\")"
                    .to_owned(),
            ));
        };
        let bytes = media_store
            .get(&file.storage_key)
            .await
            .map_err(|e| match e {
                MediaStoreError::InvalidKey => {
                    permanent(format!("media {id} has an invalid storage key"))
                }
                MediaStoreError::Io(e) => {
                    permanent(format!("media {id} cannot be read from the store: {e}"))
                }
            })?;
        let signed = store
            .media()
            .signed_url(
                id,
                &self.settings.public_url,
                self.settings.url_ttl,
                self.settings.url_max_ttl,
            )
            .await
            .map_err(retry)?
            .ok_or_else(|| permanent(format!("media {id} does not exist")))?;
        Ok((Bytes::from(bytes), signed.url))
    }
}

fn transport(err: reqwest::Error) -> FetchFailure {
    // Refusals by the resolver or the redirect policy surface as transport errors: keep the
    // reason, never the URL (it may carry credentials).
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(inner) = source {
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    if reason.contains("no public address") || reason.contains("refused:") {
        FetchFailure::Refused(reason)
    } else {
        FetchFailure::Transport(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_https_and_allowed_hosts_pass_the_url_check() {
        let allow = AllowList(vec!["127.0.0.1:9400".into(), "sim.local".into()]);
        let ok = |u: &str| allow.check(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("https://example.com/a.png"));
        assert!(!ok("http://example.com/a.png"));
        assert!(!ok("ftp://example.com/a.png"));
        assert!(!ok("https://127.0.0.1/a.png"));
        assert!(!ok("https://[::1]/a.png"));
        assert!(!ok("https://169.254.169.254/latest/meta-data"));
        assert!(ok("http://127.0.0.1:9400/a.png"));
        assert!(!ok("http://127.0.0.1:9401/a.png"));
        assert!(ok("http://sim.local:1234/a.png"));
    }
}
