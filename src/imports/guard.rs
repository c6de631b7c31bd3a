//! The one way out for requests the server makes on a user's behalf. http and https only, on the allowed
//! ports (80 and 443 unless `IMPORT_ALLOWED_PORTS` says otherwise); the name is resolved once, every address it resolves to is checked against the ranges below, and
//! the connection goes to an address that was checked (ureq connects to what this resolver returns: there
//! is no second lookup to rebind); every redirect (at most 5) goes through the same check; 8 s in all;
//! a size cap (5 MiB for pages, the upload limit for images); only the content types of the kind asked for.

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::ResponseExt as _;

/// Largest page read.
pub const MAX_PAGE_BYTES: u64 = 5 * 1024 * 1024;
/// Shorter than an operation may run (`EXECUTION_TIMEOUT`, 10 s), so that a slow page is `IMPORT_TIMEOUT`.
pub const DEADLINE: Duration = Duration::from_secs(8);
pub const MAX_REDIRECTS: u32 = 5;

/// Why a fetch gave up.
#[derive(Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The address (or one the name resolves to) is not on the public internet, or the scheme or port is
    /// not allowed. Holds the refused host.
    Blocked(String),
    Timeout,
    TooLarge,
    /// The server answered with this status (after redirects).
    Status(u16),
    /// The answer is not of the kind asked for (its content type).
    WrongType(String),
    /// Anything else: no such host, connection refused, broken TLS, too many redirects.
    Failed(String),
}

/// Where requests may go: public addresses on `ports`. `test_addresses` are loopback sockets a test server
/// listens on: settable only from Rust (tests), never from the environment.
#[derive(Clone, Debug)]
pub struct Guard {
    pub test_addresses: Vec<SocketAddr>,
    pub ports: Vec<u16>,
}

/// What the import resolvers need from the configuration, in the schema's data.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    pub guard: Guard,
    /// Imports by address per user and calendar month.
    pub monthly_limit: i32,
}

impl ImportSettings {
    pub fn new(config: &crate::config::AppConfig) -> Self {
        Self {
            guard: Guard {
                test_addresses: config.import_test_addresses.clone(),
                ports: config.import_allowed_ports.clone(),
            },
            monthly_limit: config.import_monthly_limit,
        }
    }
}

/// Whether an address is off limits: loopback, private, link-local, CGNAT, multicast, unspecified,
/// documentation, benchmarking and reserved ranges, in IPv4 and IPv6 (IPv4-mapped, NAT64 and 6to4
/// addresses are judged by the IPv4 address they carry).
pub fn blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => blocked_v4(v4),
        IpAddr::V6(v6) => blocked_v6(v6),
    }
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments 192.0.0/24
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240 // reserved 240/4
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    let embedded = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF protocol assignments 2001::/23 (Teredo included)
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard 100::/64
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and 64:ff9b:1::/48: judged as IPv4 too
            && (s[1..6] == [0xff9b, 0, 0, 0, 0] && blocked_v4(embedded(s[6], s[7])) || s[2] == 1)
        || (s[0] == 0x2002 && blocked_v4(embedded(s[1], s[2]))) // 6to4 of a blocked IPv4
        || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d (deprecated)
}

/// An IPv4 address in any spelling `inet_aton` accepts (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`),
/// so that a host name that is really a number is judged as the address it is, with or without a trailing
/// dot.
pub fn ipv4_spelling(host: &str) -> Option<Ipv4Addr> {
    let host = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let number = |part: &str| -> Option<u64> {
        let lower = part.to_ascii_lowercase();
        if let Some(hex) = lower.strip_prefix("0x") {
            return if hex.is_empty() {
                Some(0)
            } else {
                u64::from_str_radix(hex, 16).ok()
            };
        }
        if part.len() > 1 && part.starts_with('0') {
            return u64::from_str_radix(&part[1..], 8).ok();
        }
        part.parse().ok()
    };
    let values: Vec<u64> = parts.iter().map(|p| number(p)).collect::<Option<_>>()?;
    let (last, head) = values.split_last()?;
    if head.iter().any(|v| *v > 255) || *last >= 1u64 << (8 * (4 - head.len())) {
        return None;
    }
    let value = head
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, v)| acc | (v << (8 * (3 - i))));
    Some(Ipv4Addr::from(u32::try_from(value).ok()?))
}

/// Why an address cannot be fetched, before anything is looked up.
#[derive(Debug, PartialEq, Eq)]
pub enum AddressError {
    /// Another scheme than http or https (`gopher:`, `dict:`, `ldap:`, `ftp:`, `file:`): what request
    /// forgery tries. Holds the scheme.
    Scheme(String),
    /// An IPv6 literal with a zone (`[fe80::1%25eth0]`): an interface of the server's own. Holds the host.
    Zone(String),
    /// A port that is not 1–65535.
    Port,
    /// Not an absolute address of at most 2 048 characters in the characters addresses are written in, or
    /// with credentials in it.
    Malformed,
}

/// An absolute http(s) address as both the fetcher and a browser read it: ASCII in RFC 3986's characters
/// (other characters are written percent-encoded), no credentials, a host, a port in range.
pub fn address(url: &str) -> Result<(), AddressError> {
    let (scheme, rest) = url.split_once(':').ok_or(AddressError::Malformed)?;
    let scheme_ok = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(AddressError::Malformed);
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(AddressError::Scheme(scheme));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c);
    if url.len() > 2_048 || !url.chars().all(allowed) {
        return Err(AddressError::Malformed);
    }
    let authority = rest.strip_prefix("//").ok_or(AddressError::Malformed)?;
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(AddressError::Malformed);
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(literal) => {
            let (host, after) = literal.split_once(']').ok_or(AddressError::Malformed)?;
            if host.contains('%') {
                return Err(AddressError::Zone(host.to_owned()));
            }
            (host, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err(AddressError::Malformed);
    }
    match port.filter(|p| !p.is_empty()) {
        Some(port) if !port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_ok_and(|p| p == 0) => {
            Err(AddressError::Port)
        }
        Some(port) if port.parse::<u16>().is_err() => Err(AddressError::Port),
        _ => Ok(()),
    }
}

/// Names that are loopback by definition (RFC 6761), refused before any lookup: `localhost`, `x.localhost`,
/// with or without the trailing dot, in any case.
pub fn loopback_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Resolves through the system, then refuses the name if any of its addresses is off limits (a name that
/// resolves to both public and private addresses is refused: which one is used must not matter).
#[derive(Debug)]
struct GuardedResolver {
    guard: Guard,
    refused: Arc<Mutex<Option<String>>>,
}

impl GuardedResolver {
    fn refuse(&self, host: &str) -> ureq::Error {
        if let Ok(mut refused) = self.refused.lock() {
            *refused = Some(host.to_owned());
        }
        ureq::Error::BadUri(format!("refused address: {host}"))
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']).to_owned();
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        if !scheme_ok || loopback_name(&host) {
            return Err(self.refuse(&host));
        }
        if let Some(v4) = ipv4_spelling(&host).filter(|v4| blocked_v4(*v4)) {
            if !self
                .guard
                .test_addresses
                .contains(&SocketAddr::new(IpAddr::V4(v4), port))
            {
                return Err(self.refuse(&host));
            }
        }
        let resolved = DefaultResolver::default().resolve(uri, config, timeout)?;
        let allowed = |addr: &SocketAddr| {
            self.guard.test_addresses.contains(addr) || (!blocked(addr.ip()) && self.guard.ports.contains(&addr.port()))
        };
        if resolved.iter().all(allowed) {
            Ok(resolved)
        } else {
            Err(self.refuse(&host))
        }
    }
}

/// What a fetch is for: the content types it accepts and the `Accept` header it sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// A web page: HTML, JSON (JSON-LD) or plain text.
    Page,
    /// A picture in a format the upload pipeline reads: JPEG, PNG or WebP.
    Image,
}

impl Want {
    fn accepts(self, content_type: &str) -> bool {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let types: &[&str] = match self {
            Self::Page => &[
                "text/html",
                "application/xhtml+xml",
                "application/json",
                "application/ld+json",
                "text/plain",
            ],
            Self::Image => &["image/jpeg", "image/png", "image/webp"],
        };
        types.contains(&mime.as_str())
    }

    fn accept_header(self) -> &'static str {
        match self {
            Self::Page => "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            Self::Image => "image/webp,image/png,image/jpeg;q=0.9",
        }
    }
}

/// A fetched answer.
#[derive(Debug)]
pub struct Fetched {
    /// The address it was finally read from (after redirects).
    pub url: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Fetches `url` through the guard: at most `max_bytes` of a content type `want` accepts. Blocking: run it
/// off the async workers.
pub fn fetch(guard: &Guard, url: &str, want: Want, max_bytes: u64) -> Result<Fetched, FetchError> {
    let started = Instant::now();
    let refused = Arc::new(Mutex::new(None));
    let resolver = GuardedResolver {
        guard: guard.clone(),
        refused: Arc::clone(&refused),
    };
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(DEADLINE))
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(false)
        .user_agent("homechef-import/1 (+recipe import)")
        .build();
    let agent = ureq::Agent::with_parts(config, DefaultConnector::new(), resolver);
    let failed = |e: ureq::Error| {
        if let Some(host) = refused.lock().ok().and_then(|r| r.clone()) {
            return FetchError::Blocked(host);
        }
        match e {
            ureq::Error::Timeout(_) => FetchError::Timeout,
            ureq::Error::BodyExceedsLimit(_) => FetchError::TooLarge,
            other => FetchError::Failed(other.to_string()),
        }
    };
    let response = agent
        .get(url)
        .header("Accept", want.accept_header())
        .call()
        .map_err(failed)?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(FetchError::Status(status));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !want.accepts(&content_type) {
        return Err(FetchError::WrongType(content_type));
    }
    let final_url = response.get_uri().to_string();
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            // A body trickling past the deadline ends in an I/O error that wraps ureq's timeout.
            let wrapped = e.get_ref().and_then(|inner| inner.downcast_ref::<ureq::Error>());
            if e.kind() == std::io::ErrorKind::TimedOut
                || matches!(wrapped, Some(ureq::Error::Timeout(_)))
                || started.elapsed() >= DEADLINE
            {
                FetchError::Timeout
            } else {
                FetchError::Failed(e.to_string())
            }
        })?;
    if bytes.len() as u64 > max_bytes {
        return Err(FetchError::TooLarge);
    }
    Ok(Fetched {
        url: final_url,
        content_type,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> bool {
        blocked(text.parse().unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    #[test]
    fn addresses_are_checked_before_anything_is_looked_up() {
        assert_eq!(address("https://cook.example/a/b.jpg?x=1#y"), Ok(()));
        assert_eq!(address("HTTP://cook.example:8080/"), Ok(()));
        assert_eq!(address("http://[2001:db8::1]:443/x"), Ok(()));
        assert_eq!(
            address("http://[::1%25lo]:80/"),
            Err(AddressError::Zone("::1%25lo".into()))
        );
        assert_eq!(address("http://host:65536/"), Err(AddressError::Port));
        assert_eq!(address("http://host:0/"), Err(AddressError::Port));
        assert_eq!(address("http://host:8o/"), Err(AddressError::Port));
        for scheme in ["gopher", "dict", "ldap", "ftp", "file"] {
            assert_eq!(
                address(&format!("{scheme}://127.0.0.1:25/x")),
                Err(AddressError::Scheme(scheme.into()))
            );
        }
        for bad in [
            "http://a\"onerror=\"alert(1)/x.jpg",
            "http://a/<script>",
            "http://user:pw@host/",
            "http:///path",
            "https://cook.example/käse.jpg",
            "cook.example/x",
            "http://a b/",
        ] {
            assert_eq!(address(bad), Err(AddressError::Malformed), "{bad}");
        }
    }

    #[test]
    fn every_private_and_special_range_is_blocked() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
            "2002:7f00:1::",
            "2002:a00:1::1",
            "100::1",
            "::127.0.0.1",
        ] {
            assert!(v4(ip), "{ip} must be blocked");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "198.20.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(!v4(ip), "{ip} is public");
        }
    }

    #[test]
    fn ipv4_in_every_spelling() {
        let loopback = Some(Ipv4Addr::new(127, 0, 0, 1));
        for spelling in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0177.0.0.1",
            "0x7f.1",
            "127.1",
            "127.0.1",
            "127.0.0.1.",
        ] {
            assert_eq!(ipv4_spelling(spelling), loopback, "{spelling}");
        }
        assert_eq!(
            ipv4_spelling("0xa9.0xfe.0xa9.0xfe"),
            Some(Ipv4Addr::new(169, 254, 169, 254))
        );
        assert_eq!(ipv4_spelling("017700000001"), loopback);
        for name in [
            "example.com",
            "256.1.1.1",
            "1.2.3.4.5",
            "4294967296",
            "08.1.1.1",
            "",
            "..",
            "1..1",
        ] {
            assert_eq!(ipv4_spelling(name), None, "{name}");
        }
    }

    #[test]
    fn loopback_names_are_known_without_a_lookup() {
        for name in ["localhost", "LOCALHOST.", "app.localhost", "a.b.localhost."] {
            assert!(loopback_name(name), "{name}");
        }
        for name in ["localhost.example.com", "mylocalhost", "example.com"] {
            assert!(!loopback_name(name), "{name}");
        }
    }

    /// Refused by the resolver before any connection: nothing leaves the machine.
    #[test]
    fn ports_outside_the_list_are_refused_before_connecting() {
        let guard = Guard {
            test_addresses: Vec::new(),
            ports: vec![80, 443],
        };
        for url in [
            "http://93.184.216.34:8080/",
            "https://93.184.216.34:22/",
            "http://[2606:4700::1111]:25/",
        ] {
            let refused = fetch(&guard, url, Want::Page, 1024).err();
            assert!(matches!(refused, Some(FetchError::Blocked(_))), "{url}: {refused:?}");
        }
    }

    #[test]
    fn content_types_of_each_kind() {
        assert!(Want::Page.accepts("text/html; charset=utf-8"));
        assert!(Want::Page.accepts("application/ld+json"));
        assert!(!Want::Page.accepts("image/jpeg"));
        assert!(!Want::Page.accepts(""));
        assert!(Want::Image.accepts("IMAGE/PNG"));
        assert!(Want::Image.accepts("image/webp"));
        for other in [
            "image/svg+xml",
            "image/gif",
            "text/html",
            "application/octet-stream",
            "",
        ] {
            assert!(!Want::Image.accepts(other), "{other}");
        }
    }
}
