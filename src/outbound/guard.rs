//! Which addresses a tenant-given URL may reach: every address that is not public is
//! refused (loopback, private, shared, link-local, unique-local, multicast, unspecified,
//! reserved), unless the operator's allow-list opens it. Cloud metadata addresses are
//! refused even then.

use ipnet::IpNet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Instance metadata services (AWS, GCP, Azure, OCI: 169.254.169.254; AWS ECS and EKS
/// pod identity; Alibaba; Oracle), which hand out cloud credentials.
const METADATA: &[IpAddr] = &[
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 2)),
    IpAddr::V4(Ipv4Addr::new(169, 254, 170, 23)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)),
];

/// The rule an address breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fec0::/10.
    Private,
    /// 100.64.0.0/10 (carrier-grade NAT).
    SharedAddressSpace,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 0.0.0.0/8, ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// Documentation, benchmarking, IETF and future-use ranges; Teredo.
    Reserved,
    /// A cloud instance metadata service (never allowed).
    Metadata,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::Loopback => "a loopback address",
            Rule::Private => "a private-network address",
            Rule::SharedAddressSpace => "a shared (carrier-grade NAT) address",
            Rule::LinkLocal => "a link-local address",
            Rule::UniqueLocal => "a unique-local address",
            Rule::Multicast => "a multicast address",
            Rule::Unspecified => "an unspecified address",
            Rule::Broadcast => "a broadcast address",
            Rule::Reserved => "a reserved address",
            Rule::Metadata => "a cloud metadata address",
        })
    }
}

/// The address rules plus the operator's allow-list.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    nets: Vec<IpNet>,
    hosts: Vec<String>,
}

impl Guard {
    /// A guard with an allow-list of CIDRs (`10.0.0.0/8`), addresses (`127.0.0.1`), host
    /// names (`tools.internal`) and host suffixes (`*.corp.example`).
    pub fn new(allow: &[String]) -> Result<Self, String> {
        let mut guard = Self::default();
        for entry in allow {
            let entry = entry.trim();
            if let Ok(net) = entry.parse::<IpNet>() {
                guard.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                guard.nets.push(IpNet::from(ip));
            } else if is_host_pattern(entry) {
                guard.hosts.push(normal_host(entry));
            } else {
                return Err(format!(
                    "`{entry}` is not a CIDR, an IP address or a host name"
                ));
            }
        }
        Ok(guard)
    }

    /// True when the operator allowed this host name, which then may resolve to any
    /// address but a metadata one.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = normal_host(host);
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(suffix) => host
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('.')),
            None => *h == host,
        })
    }

    /// True when the operator's allow-list names this address (a listed address or a
    /// range holding it). Metadata addresses are still refused by [`check`](Self::check).
    pub fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Checks one address; `host_allowed` says the host name was allow-listed.
    pub fn check(&self, ip: IpAddr, host_allowed: bool) -> Result<(), Rule> {
        let ip = ip.to_canonical();
        if METADATA.contains(&ip) {
            return Err(Rule::Metadata);
        }
        if host_allowed || self.nets.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        match rule(ip) {
            Some(rule) => Err(rule),
            None => Ok(()),
        }
    }
}

fn is_host_pattern(s: &str) -> bool {
    let name = s.strip_prefix("*.").unwrap_or(s);
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn normal_host(h: &str) -> String {
    h.trim_end_matches('.').to_ascii_lowercase()
}

/// The rule a non-public address breaks, `None` for a public one.
fn rule(ip: IpAddr) -> Option<Rule> {
    match ip {
        IpAddr::V4(v4) => rule_v4(v4),
        IpAddr::V6(v6) => rule_v6(v6),
    }
}

fn rule_v4(ip: Ipv4Addr) -> Option<Rule> {
    let [a, b, c, _] = ip.octets();
    if METADATA.contains(&IpAddr::V4(ip)) {
        return Some(Rule::Metadata);
    }
    Some(match (a, b, c) {
        (0, ..) => Rule::Unspecified,
        (127, ..) => Rule::Loopback,
        (10, ..) | (192, 168, _) => Rule::Private,
        (172, 16..=31, _) => Rule::Private,
        (100, 64..=127, _) => Rule::SharedAddressSpace,
        (169, 254, _) => Rule::LinkLocal,
        (224..=239, ..) => Rule::Multicast,
        _ if ip == Ipv4Addr::BROADCAST => Rule::Broadcast,
        (240..=255, ..) => Rule::Reserved,
        (192, 0, 0) | (192, 0, 2) | (198, 51, 100) | (203, 0, 113) | (192, 88, 99) => {
            Rule::Reserved
        }
        (198, 18..=19, _) => Rule::Reserved,
        _ => return None,
    })
}

fn rule_v6(ip: Ipv6Addr) -> Option<Rule> {
    let s = ip.segments();
    if ip.is_unspecified() {
        return Some(Rule::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Rule::Loopback);
    }
    // Forms that carry an IPv4 address reach that address: judge it instead.
    let embedded = match s {
        // IPv4-mapped (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d).
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        // NAT64 (64:ff9b::a.b.c.d).
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some((hi, lo)),
        // 6to4 (2002:aabb:ccdd::).
        [0x2002, hi, lo, ..] => Some((hi, lo)),
        _ => None,
    };
    if let Some((hi, lo)) = embedded {
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        return rule_v4(v4);
    }
    Some(match s[0] {
        0xfe80..=0xfebf => Rule::LinkLocal,
        0xfec0..=0xfeff => Rule::Private,
        0xfc00..=0xfdff => Rule::UniqueLocal,
        0xff00..=0xffff => Rule::Multicast,
        // Documentation, Teredo (tunnels to an IPv4 address), local-use NAT64, discard.
        0x2001 if s[1] == 0x0db8 || s[1] == 0 => Rule::Reserved,
        0x0064 if s[1] == 0xff9b => Rule::Reserved,
        0x0100 if s[1..4] == [0, 0, 0] => Rule::Reserved,
        // Everything else outside 2000::/3 is unassigned.
        0x2000..=0x3fff => return None,
        _ => Rule::Reserved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(guard: &Guard, ip: &str) -> Option<Rule> {
        guard.check(ip.parse().unwrap(), false).err()
    }

    #[test]
    fn non_public_addresses_are_refused_with_their_rule() {
        let g = Guard::default();
        let cases = [
            ("127.0.0.1", Rule::Loopback),
            ("127.255.0.9", Rule::Loopback),
            ("::1", Rule::Loopback),
            ("::ffff:127.0.0.1", Rule::Loopback),
            ("::127.0.0.1", Rule::Loopback),
            ("64:ff9b::7f00:1", Rule::Loopback),
            ("2002:7f00:1::", Rule::Loopback),
            ("10.1.2.3", Rule::Private),
            ("172.16.0.1", Rule::Private),
            ("172.31.255.255", Rule::Private),
            ("192.168.1.1", Rule::Private),
            ("::ffff:10.0.0.1", Rule::Private),
            ("100.64.0.1", Rule::SharedAddressSpace),
            ("100.127.255.254", Rule::SharedAddressSpace),
            ("169.254.1.1", Rule::LinkLocal),
            ("fe80::1", Rule::LinkLocal),
            ("fc00::1", Rule::UniqueLocal),
            ("fd12:3456::1", Rule::UniqueLocal),
            ("224.0.0.1", Rule::Multicast),
            ("ff02::1", Rule::Multicast),
            ("0.0.0.0", Rule::Unspecified),
            ("0.1.2.3", Rule::Unspecified),
            ("::", Rule::Unspecified),
            ("255.255.255.255", Rule::Broadcast),
            ("240.0.0.1", Rule::Reserved),
            ("192.0.2.1", Rule::Reserved),
            ("2001:db8::1", Rule::Reserved),
            ("2001:0:4136:e378::1", Rule::Reserved),
            ("169.254.169.254", Rule::Metadata),
            ("::ffff:169.254.169.254", Rule::Metadata),
            ("100.100.100.200", Rule::Metadata),
            ("fd00:ec2::254", Rule::Metadata),
        ];
        for (ip, rule) in cases {
            assert_eq!(refused(&g, ip), Some(rule), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        let g = Guard::default();
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(&g, ip), None, "{ip}");
        }
    }

    #[test]
    fn the_allow_list_opens_ranges_and_hosts_but_never_metadata() {
        let g = Guard::new(&[
            "127.0.0.1".into(),
            "169.254.0.0/16".into(),
            "fd00::/8".into(),
            "tools.internal".into(),
            "*.corp.example".into(),
        ])
        .unwrap();
        assert_eq!(refused(&g, "127.0.0.1"), None);
        assert_eq!(refused(&g, "::ffff:127.0.0.1"), None);
        assert_eq!(refused(&g, "127.0.0.2"), Some(Rule::Loopback));
        assert_eq!(refused(&g, "169.254.1.1"), None);
        assert_eq!(refused(&g, "169.254.169.254"), Some(Rule::Metadata));
        assert_eq!(refused(&g, "fd00:ec2::254"), Some(Rule::Metadata));
        assert!(g.host_allowed("tools.internal"));
        assert!(g.host_allowed("TOOLS.internal."));
        assert!(g.host_allowed("a.corp.example"));
        assert!(!g.host_allowed("corp.example"));
        assert!(!g.host_allowed("evilcorp.example"));
        assert!(!g.host_allowed("tools.internal.evil"));
        let metadata = "169.254.169.254".parse().unwrap();
        assert_eq!(g.check(metadata, true), Err(Rule::Metadata));
        assert_eq!(g.check("10.0.0.1".parse().unwrap(), true), Ok(()));
    }

    #[test]
    fn malformed_allow_entries_are_rejected() {
        assert!(Guard::new(&["10.0.0.0/33".into()]).is_err());
        assert!(Guard::new(&["http://x".into()]).is_err());
        assert!(Guard::new(&["".into()]).is_err());
    }
}
