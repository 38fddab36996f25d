//! Which addresses are inward: anything that is not a unicast address on the public internet.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not on the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inward {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, and IPv6 unique-local fc00::/7.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Shared address space 100.64/10 (carrier-grade NAT).
    SharedCgnat,
    /// A cloud provider's instance metadata or platform endpoint.
    CloudMetadata,
    /// 224/4, ff00::/8, and the broadcast address.
    Multicast,
    /// 0.0.0.0/8, `::`.
    Unspecified,
    /// Documentation and benchmarking ranges, IETF assignments, 240/4, deprecated
    /// site-local fec0::/10, discard-only 100::/64 and Teredo: never a legitimate receiver.
    Reserved,
}

impl Inward {
    fn describe(self) -> &'static str {
        match self {
            Inward::Loopback => "loopback",
            Inward::Private => "private",
            Inward::LinkLocal => "link-local",
            Inward::SharedCgnat => "shared (CGNAT)",
            Inward::CloudMetadata => "cloud metadata",
            Inward::Multicast => "multicast or broadcast",
            Inward::Unspecified => "unspecified",
            Inward::Reserved => "reserved",
        }
    }
}

impl fmt::Display for Inward {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Instance metadata endpoints reachable from inside clouds. Most fall in an inward range
/// already; Azure's wire server (168.63.129.16) is a public address, so it is named here.
const METADATA: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
];

/// What kind of inward address `ip` is, or `None` for a public one. IPv6 forms that embed an
/// IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the embedded address.
pub fn classify(ip: IpAddr) -> Option<Inward> {
    if METADATA.contains(&ip) {
        return Some(Inward::CloudMetadata);
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Whether `ip` is on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    classify(ip).is_none()
}

fn classify_v4(ip: Ipv4Addr) -> Option<Inward> {
    if METADATA.contains(&IpAddr::V4(ip)) {
        return Some(Inward::CloudMetadata);
    }
    let [a, b, c, _] = ip.octets();
    let kind = if ip.is_loopback() {
        Inward::Loopback
    } else if ip.is_private() {
        Inward::Private
    } else if ip.is_link_local() {
        Inward::LinkLocal
    } else if a == 100 && (64..128).contains(&b) {
        Inward::SharedCgnat
    } else if a == 0 {
        Inward::Unspecified
    } else if ip.is_multicast() || ip.is_broadcast() {
        Inward::Multicast
    } else if ip.is_documentation()
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240
    {
        Inward::Reserved
    } else {
        return None;
    };
    Some(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Inward> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    if ip.is_unspecified() {
        return Some(Inward::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Inward::Loopback);
    }
    // IPv4-compatible ::a.b.c.d (deprecated): no public host is reached this way.
    if s[..6].iter().all(|&seg| seg == 0) {
        return Some(classify_v4(embedded_low(ip)).unwrap_or(Inward::Reserved));
    }
    // NAT64 64:ff9b::/96 reaches the embedded IPv4 address through a translator.
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6].iter().all(|&seg| seg == 0) {
        return classify_v4(embedded_low(ip));
    }
    // Local-use NAT64 64:ff9b:1::/48 translates into the operator's own network.
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1 {
        return Some(Inward::Private);
    }
    // 6to4 2002:a.b.c.d::/48 tunnels to the embedded IPv4 address.
    if s[0] == 0x2002 {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return classify_v4(Ipv4Addr::new(a, b, c, d));
    }
    let kind = if (s[0] & 0xfe00) == 0xfc00 {
        Inward::Private // unique local fc00::/7
    } else if (s[0] & 0xffc0) == 0xfe80 {
        Inward::LinkLocal
    } else if ip.is_multicast() {
        Inward::Multicast
    } else if (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to an obscured IPv4 address
        || (s[0] == 0x2001 && s[1] == 2 && s[2] == 0) // benchmarking
        || (s[0] == 0x0100 && s[1..4].iter().all(|&seg| seg == 0))
    // discard-only
    {
        Inward::Reserved
    } else {
        return None;
    };
    Some(kind)
}

/// The IPv4 address in the low 32 bits of `ip`.
fn embedded_low(ip: Ipv6Addr) -> Ipv4Addr {
    let o = ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}
