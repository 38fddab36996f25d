//! The operator's allow-list (`outbound.allow`): hosts Herald may reach although they are
//! inward, each on exactly the ports listed.

use std::fmt;

use serde::{Serialize, Serializer};
use url::{Host, Url};

/// One `host`, `host:port`, `[v6]` or `[v6]:port` entry. Without a port it allows only the
/// scheme's default port (80 for http, 443 for https).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// As written, for showing the configuration back.
    text: String,
    host: Host<String>,
    port: Option<u16>,
}

/// Why an allow-list entry cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{entry}` is not a host or host:port ({reason}); write IPv6 addresses as [::1]:8080")]
pub struct InvalidEntry {
    entry: String,
    reason: String,
}

impl AllowEntry {
    /// Reads an entry. Hosts are normalised as in URLs (`127.1` is `127.0.0.1`, names are
    /// lowercased), so an entry matches however a URL spells the same host.
    pub fn parse(entry: &str) -> Result<Self, InvalidEntry> {
        let invalid = |reason: &str| InvalidEntry {
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        };
        let text = entry.trim();
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (inner, after) = rest
                .split_once(']')
                .ok_or_else(|| invalid("no closing ]"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| invalid("junk after ]"))?,
                ),
            };
            (format!("[{inner}]"), port)
        } else {
            match text.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => {
                    return Err(invalid("an IPv6 address needs brackets"));
                }
                Some((host, port)) => (host.to_owned(), Some(port)),
                None => (text.to_owned(), None),
            }
        };
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .map_err(|_| invalid("the port is not a number"))
            })
            .transpose()?;
        if host.is_empty() || host.contains(['/', '?', '#', '@']) {
            return Err(invalid("expected a bare host name or address"));
        }
        let host = Host::parse(&host).map_err(|e| invalid(&e.to_string()))?;
        Ok(Self {
            text: text.to_owned(),
            host,
            port,
        })
    }

    fn same_host(&self, host: &Host<&str>) -> bool {
        match (&self.host, host) {
            (Host::Domain(a), Host::Domain(b)) => {
                a.trim_end_matches('.') == b.trim_end_matches('.')
            }
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }

    /// Whether this entry allows `url`'s host on `url`'s port.
    fn allows(&self, url: &Url) -> bool {
        let Some(host) = url.host() else {
            return false;
        };
        self.same_host(&host)
            && match self.port {
                Some(port) => url.port_or_known_default() == Some(port),
                // The url crate drops a port equal to the scheme's default.
                None => url.port().is_none(),
            }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The hosts (and ports) that may be reached although they are inward.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList(Vec<AllowEntry>);

impl AllowList {
    pub fn new(entries: Vec<AllowEntry>) -> Self {
        Self(entries)
    }

    /// Reads every entry; the first unreadable one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidEntry> {
        entries
            .iter()
            .map(|e| AllowEntry::parse(e.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `url`'s host and port are listed together.
    pub fn allows(&self, url: &Url) -> bool {
        self.0.iter().any(|entry| entry.allows(url))
    }

    /// Whether `url`'s host is listed at all, for some port.
    pub(crate) fn names_host(&self, url: &Url) -> bool {
        url.host()
            .is_some_and(|host| self.0.iter().any(|entry| entry.same_host(&host)))
    }

    /// Whether the domain `name` is listed, for some port: the resolver hands out every
    /// address of such a name (the URL check has already matched the port).
    pub(crate) fn names_domain(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        self.0.iter().any(|entry| {
            matches!(&entry.host, Host::Domain(d) if d.trim_end_matches('.').eq_ignore_ascii_case(name))
        })
    }
}

impl Serialize for AllowList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|entry| entry.text.as_str()))
    }
}
