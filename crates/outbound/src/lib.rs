//! The outbound guard: every request Herald sends to a URL a tenant supplied (images fetched
//! by the worker, webhooks, whatever comes later) goes through a [`Guard`], so no tenant can
//! steer Herald at an address inside its own network (server-side request forgery).
//!
//! The rule, one for every caller:
//!
//! - **http and https only** (a caller may demand https, except for listed hosts).
//! - **Inward addresses are refused** (see [`classify`]): loopback, private, link-local,
//!   CGNAT, multicast, unspecified, broadcast, documentation and benchmarking ranges, cloud
//!   metadata endpoints, and IPv6 forms embedding one of those (IPv4-mapped,
//!   IPv4-compatible, NAT64, 6to4). Literal addresses in URLs are checked directly (the url
//!   crate has already normalised `2130706433`, `0x7f.1` and `127.1` to `127.0.0.1`);
//!   names are checked **inside the HTTP client's resolver**, on the very answer it then
//!   connects to, so DNS rebinding between a check and the connection cannot pass.
//!   `localhost` and `*.localhost` are loopback by name.
//! - **The operator's allow-list** (`outbound.allow`) lifts the rule for a host on exactly
//!   the listed port: `host:port`, or `host` for the scheme's default port only. A listed
//!   host is reachable on its listed ports only.
//! - **In development**, loopback may be allowed wholesale ([`Policy::new`]), so the
//!   simulator and local receivers work without listing; private ranges still need listing.
//! - **Every redirect is checked again** by the same rule, and at most
//!   [`MAX_REDIRECTS`] are followed. Proxies from the environment are not used: a proxy
//!   would resolve names itself, past the guard.

mod address;
mod allow;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

pub use address::{Inward, classify, is_public};
pub use allow::{AllowEntry, AllowList, InvalidEntry};

/// Redirects a guarded client follows at most.
pub const MAX_REDIRECTS: usize = 5;

/// How long [`Guard::check_resolving`] waits for a name to resolve, so a registration is
/// not held up by a slow resolver (each send is checked again anyway).
pub const REGISTRATION_LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What may be reached: the allow-list, and whether loopback is allowed without listing
/// (development only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow: AllowList,
    loopback: bool,
}

impl Policy {
    /// `loopback`: whether loopback addresses and `localhost` are allowed without listing.
    pub fn new(allow: AllowList, loopback: bool) -> Self {
        Self { allow, loopback }
    }

    /// Whether an inward address of this kind is allowed without listing.
    fn allows_kind(&self, kind: Inward) -> bool {
        self.loopback && kind == Inward::Loopback
    }
}

/// Why a URL or an address is refused. The messages name hosts and addresses, never whole
/// URLs (they may carry credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("`{0}` URLs are not allowed: use http or https")]
    Scheme(String),
    #[error("plain http is allowed only to hosts listed in outbound.allow: use https")]
    PlainHttp,
    #[error("the URL has no host")]
    NoHost,
    #[error(
        "{host} is listed in outbound.allow for other ports only: list {host}:{port} to allow this one"
    )]
    Port { host: String, port: u16 },
    #[error(
        "{address} is a {kind} address, inside Herald's network: list the host and port in outbound.allow to allow it"
    )]
    InwardAddress { address: String, kind: Inward },
    #[error(
        "{host} resolves to {address}, a {kind} address inside Herald's network: list the host and port in outbound.allow to allow it"
    )]
    InwardName {
        host: String,
        address: IpAddr,
        kind: Inward,
    },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

impl Refusal {
    /// A stable code for the rule broken (`url.scheme`, `url.inward_address`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Scheme(_) | Refusal::PlainHttp => "url.scheme",
            Refusal::NoHost => "url.invalid",
            Refusal::Port { .. } => "url.port",
            Refusal::InwardAddress { .. } | Refusal::InwardName { .. } => "url.inward_address",
            Refusal::TooManyRedirects => "url.redirects",
        }
    }
}

/// The refusal behind a failed request of a guarded client, if the guard refused it (in
/// the resolver or on a redirect).
pub fn refusal(err: &reqwest::Error) -> Option<Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(inner) = source {
        if let Some(refusal) = inner.downcast_ref::<Refusal>() {
            return Some(refusal.clone());
        }
        source = inner.source();
    }
    None
}

/// An answer of a name lookup.
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution, injectable so tests can play a rebinding DNS server.
pub trait Lookup: Send + Sync + fmt::Debug {
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The system resolver (through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(found.map(|addr| addr.ip()).collect())
        })
    }
}

/// Whether a guarded client follows redirects (each checked again) or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    Follow,
    None,
}

/// Checks URLs and builds HTTP clients that cannot reach what the [`Policy`] refuses.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Guard {
    policy: Arc<Policy>,
    lookup: Arc<dyn Lookup>,
    https_only: bool,
}

impl Guard {
    /// A guard resolving names with the system resolver.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: Arc::new(policy),
            lookup: Arc::new(SystemLookup),
            https_only: false,
        }
    }

    /// The same guard resolving names with `lookup`.
    pub fn with_lookup(mut self, lookup: Arc<dyn Lookup>) -> Self {
        self.lookup = lookup;
        self
    }

    /// The same guard refusing plain http, except to listed hosts and (when allowed)
    /// loopback.
    pub fn https_only(mut self) -> Self {
        self.https_only = true;
        self
    }

    /// Checks what can be checked without resolving: scheme, host, port, and the address of
    /// a literal IP host or a `localhost` name.
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        let host = url.host().ok_or(Refusal::NoHost)?;
        if self.policy.allow.allows(url) {
            return Ok(());
        }
        if self.policy.allow.names_host(url) {
            return Err(Refusal::Port {
                host: host.to_string(),
                port: url.port_or_known_default().unwrap_or_default(),
            });
        }
        let inward = match &host {
            Host::Ipv4(ip) => classify(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => classify(IpAddr::V6(*ip)),
            Host::Domain(name) => is_localhost(name).then_some(Inward::Loopback),
        };
        let loopback_allowed = inward.is_some_and(|kind| self.policy.allows_kind(kind));
        if let Some(kind) = inward
            && !loopback_allowed
        {
            return Err(Refusal::InwardAddress {
                address: host.to_string(),
                kind,
            });
        }
        if self.https_only && url.scheme() == "http" && !loopback_allowed {
            return Err(Refusal::PlainHttp);
        }
        Ok(())
    }

    /// [`Guard::check_url`], then a resolution of the host: refused if any address it
    /// resolves to is inward and not allowed. For registering a URL that is used later; each
    /// use is checked again (the answer may change). A name that does not resolve now
    /// (within [`REGISTRATION_LOOKUP_TIMEOUT`]) is not refused here.
    pub async fn check_resolving(&self, url: &Url) -> Result<(), Refusal> {
        self.check_url(url)?;
        let Some(Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        if self.policy.allow.allows(url) {
            return Ok(());
        }
        let lookup = tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, self.lookup.lookup(name));
        let Ok(Ok(addresses)) = lookup.await else {
            return Ok(());
        };
        match addresses.into_iter().find_map(|ip| self.refused(ip)) {
            Some((address, kind)) => Err(Refusal::InwardName {
                host: name.to_owned(),
                address,
                kind,
            }),
            None => Ok(()),
        }
    }

    /// The address and its kind if `ip` is inward and not allowed.
    fn refused(&self, ip: IpAddr) -> Option<(IpAddr, Inward)> {
        classify(ip)
            .filter(|kind| !self.policy.allows_kind(*kind))
            .map(|kind| (ip, kind))
    }

    /// `builder` made into a guarded client: its resolver drops refused addresses, its
    /// redirects are checked (or not followed), and it uses no proxy. Send only URLs that
    /// passed [`Guard::check_url`]; a request the guard stops fails with an error that
    /// [`refusal`] recognises.
    pub fn client(
        &self,
        builder: reqwest::ClientBuilder,
        redirects: Redirects,
    ) -> Result<reqwest::Client, reqwest::Error> {
        let policy = match redirects {
            Redirects::None => reqwest::redirect::Policy::none(),
            Redirects::Follow => {
                let guard = self.clone();
                reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() >= MAX_REDIRECTS {
                        return attempt.error(Refusal::TooManyRedirects);
                    }
                    match guard.check_url(attempt.url()) {
                        Ok(()) => attempt.follow(),
                        Err(refusal) => attempt.error(refusal),
                    }
                })
            }
        };
        builder
            .no_proxy()
            .redirect(policy)
            .dns_resolver(Arc::new(GuardedResolver {
                guard: self.clone(),
            }))
            .build()
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Resolves names for a guarded client and hands out only the addresses allowed: all of
/// them for a listed name, otherwise the public ones (and loopback when allowed). The
/// client connects to exactly what this returns.
#[derive(Debug)]
struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let listed = guard.policy.allow.names_domain(&host);
            let localhost = is_localhost(&host);
            let found = guard.lookup.lookup(&host).await?;
            let mut first_refused = None;
            let usable: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| {
                    // `localhost` is loopback whatever a resolver says.
                    let refused = if localhost {
                        (!guard.policy.allows_kind(Inward::Loopback))
                            .then_some((*ip, Inward::Loopback))
                    } else {
                        guard.refused(*ip)
                    };
                    match refused {
                        Some(refused) if !listed => {
                            first_refused.get_or_insert(refused);
                            false
                        }
                        _ => true,
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            match (usable.is_empty(), first_refused) {
                (true, Some((address, kind))) => Err(Box::new(Refusal::InwardName {
                    host,
                    address,
                    kind,
                })
                    as Box<dyn std::error::Error + Send + Sync>),
                (true, None) => Err(format!("{host} resolves to no address").into()),
                (false, _) => Ok(Box::new(usable.into_iter()) as Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests;
