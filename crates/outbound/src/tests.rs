use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a URL")
}

fn production(allow: &[&str]) -> Guard {
    Guard::new(Policy::new(
        AllowList::parse(allow).expect("valid entries"),
        false,
    ))
}

fn development(allow: &[&str]) -> Guard {
    Guard::new(Policy::new(
        AllowList::parse(allow).expect("valid entries"),
        true,
    ))
}

#[test]
fn every_inward_family_is_classified_and_public_addresses_pass() {
    let table = [
        ("127.0.0.1", Inward::Loopback),
        ("127.255.0.9", Inward::Loopback),
        ("::1", Inward::Loopback),
        ("10.1.2.3", Inward::Private),
        ("172.16.0.1", Inward::Private),
        ("172.31.255.254", Inward::Private),
        ("192.168.1.1", Inward::Private),
        ("fc00::1", Inward::Private),
        ("fd12:3456::1", Inward::Private),
        ("169.254.1.1", Inward::LinkLocal),
        ("fe80::1", Inward::LinkLocal),
        ("100.64.0.1", Inward::SharedCgnat),
        ("100.127.255.254", Inward::SharedCgnat),
        ("169.254.169.254", Inward::CloudMetadata),
        ("fd00:ec2::254", Inward::CloudMetadata),
        ("168.63.129.16", Inward::CloudMetadata),
        ("100.100.100.200", Inward::CloudMetadata),
        ("224.0.0.1", Inward::Multicast),
        ("239.255.255.250", Inward::Multicast),
        ("255.255.255.255", Inward::Multicast),
        ("ff02::1", Inward::Multicast),
        ("0.0.0.0", Inward::Unspecified),
        ("0.1.2.3", Inward::Unspecified),
        ("::", Inward::Unspecified),
        ("192.0.2.1", Inward::Reserved),
        ("198.51.100.1", Inward::Reserved),
        ("203.0.113.1", Inward::Reserved),
        ("198.18.0.1", Inward::Reserved),
        ("192.0.0.8", Inward::Reserved),
        ("240.0.0.1", Inward::Reserved),
        ("2001:db8::1", Inward::Reserved),
        ("fec0::1", Inward::Reserved),
        ("2001:0:4136:e378::1", Inward::Reserved),
        // IPv6 forms embedding an IPv4 address are judged by it.
        ("::ffff:127.0.0.1", Inward::Loopback),
        ("::ffff:10.0.0.1", Inward::Private),
        ("::ffff:169.254.169.254", Inward::CloudMetadata),
        ("::127.0.0.1", Inward::Loopback),
        ("::10.0.0.1", Inward::Private),
        ("64:ff9b::127.0.0.1", Inward::Loopback),
        ("64:ff9b::a9fe:101", Inward::LinkLocal),
        ("64:ff9b::a9fe:a9fe", Inward::CloudMetadata),
        ("64:ff9b:1::1", Inward::Private),
        ("2002:7f00:1::1", Inward::Loopback),
        ("2002:c0a8:101::1", Inward::Private),
    ];
    for (address, kind) in table {
        assert_eq!(classify(ip(address)), Some(kind), "{address}");
    }
    for address in [
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "100.128.0.1",
        "172.32.0.1",
        "2606:2800:220:1:248:1893:25c8:1946",
        "::ffff:93.184.216.34",
        "64:ff9b::5db8:d822",
        "2002:5db8:d822::1",
    ] {
        assert!(is_public(ip(address)), "{address}");
    }
}

#[test]
fn allow_entries_match_host_and_port() {
    let allow = AllowList::parse(&[
        "127.0.0.1:9400",
        "hooks.internal",
        "[::1]:8080",
        "Sim.Local:7000",
    ])
    .expect("valid entries");
    let allows = |u: &str| allow.allows(&url(u));
    assert!(allows("http://127.0.0.1:9400/a"));
    assert!(!allows("http://127.0.0.1:9401/a"), "another port");
    assert!(
        !allows("http://127.0.0.1/a"),
        "the default port is not listed"
    );
    assert!(
        allows("http://127.1:9400/a"),
        "the same address spelled short"
    );
    assert!(allows("https://hooks.internal/a"), "https on 443");
    assert!(allows("http://hooks.internal/a"), "http on 80");
    assert!(allows("https://hooks.internal:443/a"));
    assert!(
        !allows("https://hooks.internal:8443/a"),
        "a host entry allows only the default port"
    );
    assert!(
        !allows("http://hooks.internal:443/a"),
        "443 is not http's default"
    );
    assert!(allows("http://[::1]:8080/a"));
    assert!(!allows("http://[::1]:8081/a"));
    assert!(!allows("http://[::1]/a"));
    assert!(
        allows("http://sim.local:7000/a"),
        "names compare without case"
    );
    assert!(!allows("http://other.local:7000/a"));

    for bad in [
        "::1:8080",
        "host:port",
        "[::1",
        "[::1]x",
        "a/b",
        "",
        "host:70000",
    ] {
        assert!(AllowEntry::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn every_spelling_of_an_inward_address_is_refused_in_production() {
    let guard = production(&[]);
    for u in [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://LOCALHOST./hook",
        "http://api.localhost/hook",
        "http://[::1]:9000/hook",
        "http://[::ffff:127.0.0.1]:9000/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://2130706433/hook",
        "http://0x7f.1/hook",
        "http://0x7f000001/hook",
        "http://017700000001/hook",
        "http://127.1/hook",
        "http://0.0.0.0/hook",
        "http://0/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/latest",
        "http://10.0.0.1/hook",
        "http://192.168.0.10:8080/hook",
        "http://100.64.1.1/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[fe80::1]/hook",
    ] {
        let refusal = guard.check_url(&url(u)).expect_err(u);
        assert_eq!(refusal.code(), "url.inward_address", "{u}: {refusal}");
        assert!(refusal.to_string().contains("outbound.allow"), "{refusal}");
    }
    for u in [
        "ftp://example.com/a",
        "file:///etc/passwd",
        "gopher://example.com/",
    ] {
        assert_eq!(
            guard.check_url(&url(u)).map_err(|r| r.code()),
            Err("url.scheme"),
            "{u}"
        );
    }
    assert_eq!(guard.check_url(&url("https://example.com/hook")), Ok(()));
    assert_eq!(
        guard.check_url(&url("http://93.184.216.34:8080/hook")),
        Ok(())
    );
}

#[test]
fn listing_allows_exactly_the_listed_port_and_development_allows_loopback_only() {
    let guard = production(&["127.0.0.1:9400", "[::1]:9400"]);
    assert_eq!(guard.check_url(&url("http://127.0.0.1:9400/hook")), Ok(()));
    assert_eq!(guard.check_url(&url("http://[::1]:9400/hook")), Ok(()));
    let other = guard
        .check_url(&url("http://127.0.0.1:9401/hook"))
        .unwrap_err();
    assert_eq!(other.code(), "url.port", "{other}");

    let dev = development(&[]);
    for u in [
        "http://127.0.0.1:9000/hook",
        "http://localhost:9000/hook",
        "http://[::1]:9000/hook",
    ] {
        assert_eq!(dev.check_url(&url(u)), Ok(()), "{u}");
    }
    for u in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/",
        "http://0.0.0.0/hook",
    ] {
        assert!(dev.check_url(&url(u)).is_err(), "{u}");
    }
}

#[test]
fn https_only_guards_allow_plain_http_to_listed_and_allowed_hosts_only() {
    let guard = production(&["sim.local:9400"]).https_only();
    assert_eq!(
        guard.check_url(&url("http://example.com/a.png")),
        Err(Refusal::PlainHttp)
    );
    assert_eq!(guard.check_url(&url("https://example.com/a.png")), Ok(()));
    assert_eq!(guard.check_url(&url("http://sim.local:9400/a.png")), Ok(()));
    let dev = development(&[]).https_only();
    assert_eq!(dev.check_url(&url("http://127.0.0.1:9400/a.png")), Ok(()));
}

/// Answers `first` to the first lookup and `then` to every later one: a rebinding DNS server.
#[derive(Debug)]
struct Rebinding {
    calls: AtomicUsize,
    first: IpAddr,
    then: IpAddr,
}

impl Lookup for Rebinding {
    fn lookup(&self, _host: &str) -> LookupFuture {
        let answer = if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
            self.first
        } else {
            self.then
        };
        Box::pin(async move { Ok(vec![answer]) })
    }
}

/// A loopback listener that must never be connected to.
fn canary() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.set_nonblocking(true).expect("non-blocking");
    listener
}

fn assert_untouched(canary: &std::net::TcpListener) {
    match canary.accept() {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("the canary was connected to: {other:?}"),
    }
}

#[tokio::test]
async fn a_name_rebound_to_loopback_after_its_check_is_not_connected_to() {
    let canary = canary();
    let port = canary.local_addr().expect("bound").port();
    let lookup = Arc::new(Rebinding {
        calls: AtomicUsize::new(0),
        first: ip("93.184.216.34"),
        then: ip("127.0.0.1"),
    });
    let guard = production(&[]).with_lookup(lookup.clone());
    let target = url(&format!("http://rebind.example:{port}/hook"));

    assert_eq!(
        guard.check_resolving(&target).await,
        Ok(()),
        "the first answer is public"
    );
    let client = guard
        .client(reqwest::Client::builder(), Redirects::None)
        .expect("a client");
    let err = client.post(target).send().await.expect_err("refused");
    let refusal = refusal(&err).expect("the guard's refusal");
    assert_eq!(refusal.code(), "url.inward_address", "{refusal}");
    assert!(refusal.to_string().contains("127.0.0.1"), "{refusal}");
    assert_eq!(
        lookup.calls.load(Ordering::SeqCst),
        2,
        "the client resolved again"
    );
    assert_untouched(&canary);
}

#[tokio::test]
async fn registration_refuses_a_name_with_any_inward_address() {
    let lookup = Arc::new(Rebinding {
        calls: AtomicUsize::new(0),
        first: ip("10.0.0.7"),
        then: ip("10.0.0.7"),
    });
    let guard = production(&[]).with_lookup(lookup);
    let refusal = guard
        .check_resolving(&url("https://intranet.example/hook"))
        .await
        .unwrap_err();
    assert_eq!(refusal.code(), "url.inward_address");
    assert!(
        refusal
            .to_string()
            .contains("intranet.example resolves to 10.0.0.7"),
        "{refusal}"
    );
}

#[tokio::test]
async fn a_redirect_to_an_inward_address_is_not_followed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let canary = canary();
    let canary_port = canary.local_addr().expect("bound").port();
    // An allowed server on loopback that redirects to the canary.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let server_port = server.local_addr().expect("bound").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = server.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let answer = format!(
                "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{canary_port}/\r\ncontent-length: 0\r\n\r\n"
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let guard = production(&[&format!("127.0.0.1:{server_port}")]);
    let client = guard
        .client(reqwest::Client::builder(), Redirects::Follow)
        .expect("a client");
    let err = client
        .get(format!("http://127.0.0.1:{server_port}/"))
        .send()
        .await
        .expect_err("refused");
    let refusal = refusal(&err).expect("the guard's refusal");
    assert_eq!(refusal.code(), "url.port", "{refusal}");
    assert_untouched(&canary);
}
