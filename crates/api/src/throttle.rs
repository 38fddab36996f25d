//! Throttles on failed authentications, fleet-wide.
//!
//! Guessing keys is cheap for an attacker and each guess costs Herald a lookup, so failures
//! are counted in Redis (the GCRA limiter of `herald-queue`, shared by every API instance):
//! per client address (`api.auth_failures_per_address_per_minute`) and in total
//! (`api.auth_failures_per_minute`). Only failures are counted, and only after a key has
//! failed: a valid key is never refused by these throttles, whoever floods the API with bad
//! ones. A failure over either limit is answered 429 with `Retry-After` instead of 401.
//!
//! **The client address** is the connection's peer address. `X-Forwarded-For` is believed
//! only when the peer is one of `api.trusted_proxies`; then the client is the right-most hop
//! that is not itself a trusted proxy (hops further left were written by the client and can
//! say anything). IPv6 clients are counted per /64, the block one host usually gets, so
//! hopping through addresses of one block does not escape the limit.
//!
//! **Redis down.** The throttles fail open: a failure is answered 401 as if under the
//! limit, and a warning is logged (at most every [`WARN_EVERY`]). A slow Redis is given
//! [`REDIS_BUDGET`] before the answer goes out without it.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use chrono::Utc;
use herald_config::{ApiConfig, IpNet};
use herald_queue::{GcraDecision, RateLimiter, Throttle};

use crate::metrics::Metrics;

/// How long a throttle check may wait for Redis before the request goes on without it.
const REDIS_BUDGET: Duration = Duration::from_millis(300);
/// At most one "throttles are not enforced" warning this often.
const WARN_EVERY: Duration = Duration::from_secs(10);
const MINUTE: Duration = Duration::from_secs(60);

/// Where a failed authentication happened, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// A `/v1` request with no, a malformed, an unknown or a revoked key.
    Api,
    /// A dashboard sign-in with a wrong key.
    Dashboard,
}

impl Surface {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Surface::Api => "api",
            Surface::Dashboard => "dashboard",
        }
    }
}

/// Which limit refused a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Address,
    Total,
}

impl Limit {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Limit::Address => "address",
            Limit::Total => "total",
        }
    }
}

/// A failure over a limit: answer 429 and say when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Throttled {
    pub(crate) retry_after_secs: u64,
}

/// The failed-authentication throttles of one API instance (their counts live in Redis).
pub(crate) struct FailureThrottle {
    limiter: RateLimiter,
    per_address: u32,
    total: u32,
    trusted_proxies: Vec<IpNet>,
    /// Seconds since the epoch of the last "not enforced" warning.
    last_warned: AtomicU64,
}

impl std::fmt::Debug for FailureThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FailureThrottle")
            .field("per_address", &self.per_address)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

impl FailureThrottle {
    pub(crate) fn new(limiter: RateLimiter, config: &ApiConfig) -> Self {
        Self {
            limiter,
            per_address: config.auth_failures_per_address_per_minute,
            total: config.auth_failures_per_minute,
            trusted_proxies: config.trusted_proxies.clone(),
            last_warned: AtomicU64::new(0),
        }
    }

    /// The client a request comes from (see the module documentation).
    pub(crate) fn client(&self, peer: Option<SocketAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        client_addr(peer, headers, &self.trusted_proxies)
    }

    /// Counts one failed authentication from `client`. `Err` when it is over a limit: the
    /// per-address one first, so a refused address does not use up everyone's budget.
    pub(crate) async fn failed(
        &self,
        client: Option<IpAddr>,
        surface: Surface,
        metrics: &Metrics,
    ) -> Result<(), Throttled> {
        let address = client.map_or_else(|| "unknown".to_owned(), bucket_of);
        let per_address = format!("auth-failures:addr:{address}");
        let checks = [
            (Limit::Address, per_address.as_str(), self.per_address),
            (Limit::Total, "auth-failures:all", self.total),
        ];
        for (limit, scope, per_minute) in checks {
            if let Err(throttled) = self.check(scope, per_minute).await {
                metrics.auth_throttled(surface, limit);
                return Err(throttled);
            }
        }
        Ok(())
    }

    async fn check(&self, scope: &str, per_minute: u32) -> Result<(), Throttled> {
        let throttle = Throttle {
            scope,
            limit: per_minute,
            period: MINUTE,
        };
        match tokio::time::timeout(REDIS_BUDGET, self.limiter.throttle(&throttle)).await {
            Ok(Ok(GcraDecision::Allowed)) => Ok(()),
            Ok(Ok(GcraDecision::Denied { retry_at })) => {
                let wait_ms = (retry_at - Utc::now()).num_milliseconds().max(0);
                let wait_ms = u64::try_from(wait_ms).unwrap_or(0);
                Err(Throttled {
                    retry_after_secs: wait_ms.div_ceil(1000).max(1),
                })
            }
            Ok(Err(error)) => {
                self.not_enforced(&error.to_string());
                Ok(())
            }
            Err(_) => {
                self.not_enforced("Redis did not answer in time");
                Ok(())
            }
        }
    }

    /// Fails open, saying so now and then (a flood would otherwise be a flood of warnings).
    fn not_enforced(&self, cause: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_warned.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= WARN_EVERY.as_secs()
            && self
                .last_warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                error = cause,
                "failed-authentication throttles are not enforced: Redis is unavailable"
            );
        }
    }
}

/// The client address: the peer, or, when the peer is a trusted proxy, the right-most hop of
/// `X-Forwarded-For` that is not a trusted proxy. A hop that is not an address ends the walk
/// at the proxy that wrote it. `None` only when the peer is unknown.
pub(crate) fn client_addr(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let mut client = peer?.ip().to_canonical();
    if !is_trusted(client, trusted) {
        return Some(client);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        let Some(addr) = parse_hop(hop) else {
            break;
        };
        client = addr;
        if !is_trusted(addr, trusted) {
            break;
        }
    }
    Some(client)
}

fn is_trusted(addr: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&addr))
}

/// One `X-Forwarded-For` hop: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// What one client's failures are counted under: its IPv4 address, or its IPv6 /64.
fn bucket_of(addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            let net = Ipv6Addr::new(
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            );
            format!("{net}/64")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("a CIDR")).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(v).expect("ascii"));
        }
        headers
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("an IP"), 50_000))
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("an IP"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = forwarded(&["198.51.100.1"]);
        assert_eq!(
            client_addr(peer("203.0.113.9"), &headers, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_addr(peer("203.0.113.9"), &headers, &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.1/32"]);
        // The client wrote the first hop itself; the proxies appended the rest.
        let headers = forwarded(&["6.6.6.6, 198.51.100.7", "192.0.2.1"]);
        assert_eq!(
            client_addr(peer("10.1.2.3"), &headers, &trusted),
            ip("198.51.100.7")
        );
        let ported = forwarded(&["[2001:db8::5]:4711, 198.51.100.8:80"]);
        assert_eq!(
            client_addr(peer("10.1.2.3"), &ported, &trusted),
            ip("198.51.100.8")
        );
    }

    #[test]
    fn a_trusted_peer_without_a_usable_header_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_addr(peer("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
        let garbage = forwarded(&["198.51.100.7, not-an-address"]);
        assert_eq!(
            client_addr(peer("10.1.2.3"), &garbage, &trusted),
            ip("10.1.2.3"),
            "the walk stops at what the proxy could not vouch for"
        );
        let all_trusted = forwarded(&["10.9.9.9"]);
        assert_eq!(
            client_addr(peer("10.1.2.3"), &all_trusted, &trusted),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn a_mapped_ipv4_peer_is_its_ipv4_address() {
        assert_eq!(
            client_addr(peer("::ffff:192.0.2.1"), &HeaderMap::new(), &[]),
            ip("192.0.2.1")
        );
        assert_eq!(client_addr(None, &HeaderMap::new(), &[]), None);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(bucket_of("192.0.2.1".parse().unwrap()), "192.0.2.1");
        assert_eq!(
            bucket_of("2001:db8:1:2:aaaa::1".parse().unwrap()),
            bucket_of("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(
            bucket_of("2001:db8:1:2:aaaa::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }
}
