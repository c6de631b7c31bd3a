//! Network address helpers: CIDR blocks for `TRUSTED_PROXIES`, and the client address behind them.

use std::net::IpAddr;

/// An address block such as `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text
            .trim()
            .split_once('/')
            .map_or((text.trim(), None), |(a, p)| (a, Some(p)));
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}` has a bad prefix length"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client address: the socket peer, unless the peer is a trusted proxy, in which case
/// `X-Forwarded-For` is walked from the right, skipping trusted hops; the first untrusted hop is the client.
/// Anything unparsable stops the walk at the last trusted hop, so a client cannot inject an address.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    let peer = canonical(peer);
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')).map(str::trim) {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter()
            .map(|c| Cidr::parse(c).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    #[test]
    fn cidr_membership() {
        let net = Cidr::parse("10.1.0.0/16").unwrap_or_else(|e| panic!("{e}"));
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")));
        assert!(Cidr::parse("0.0.0.0/0").is_ok_and(|c| c.contains(ip("8.8.8.8"))));
        assert!(Cidr::parse("fd00::/8").is_ok_and(|c| c.contains(ip("fd12::1")) && !c.contains(ip("fe80::1"))));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("example.com").is_err());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_peers() {
        let trusted = cidrs(&["10.0.0.0/8"]);
        // Untrusted peer: its header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["1.2.3.4"], &trusted),
            ip("203.0.113.9")
        );
        // Trusted proxy: the right-most untrusted hop is the client; left-most spoofed values are ignored.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7, 10.0.0.5"], &trusted),
            ip("198.51.100.7")
        );
        // Several headers are one list.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["6.6.6.6", "198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
        // Garbage stops the walk.
        assert_eq!(
            client_address(ip("10.0.0.2"), &["198.51.100.7, junk"], &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(client_address(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
    }
}
