//! The SSRF guard: addresses a webhook delivery may never reach unless the
//! operator allows private ones (development and tests). It is applied when
//! an endpoint is registered and again to every address a delivery
//! connects to (a name may resolve elsewhere later: DNS rebinding).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is loopback, private, link-local (cloud metadata lives at
/// 169.254.169.254), shared (CGNAT), unspecified, broadcast, multicast,
/// reserved, or an IPv6 form of one of them (mapped, NAT64, unique-local).
pub fn forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // 100.64.0.0/10, shared address space
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24, protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // 198.18.0.0/15, benchmarking
        || a >= 240 // reserved
}

fn forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    // 64:ff9b::/96: NAT64, an IPv4 address in the last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0) {
        let [_, _, _, _, _, _, hi, lo] = s;
        return forbidden_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // fc00::/7, unique local (AWS metadata: fd00:ec2::254)
        || (s[0] & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10, site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6].iter().all(|x| *x == 0) // ::/96, IPv4-compatible
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbids_internal_addresses_and_allows_public_ones() {
        let cases = [
            ("127.0.0.1", true),
            ("10.1.2.3", true),
            ("172.16.0.1", true),
            ("192.168.1.1", true),
            ("169.254.169.254", true),
            ("100.100.100.200", true),
            ("0.0.0.0", true),
            ("255.255.255.255", true),
            ("::1", true),
            ("::", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.0.0.1", true),
            ("64:ff9b::a9fe:a9fe", true),
            ("fd00:ec2::254", true),
            ("fe80::1", true),
            ("93.184.215.14", false),
            ("1.1.1.1", false),
            ("2606:4700:4700::1111", false),
            ("::ffff:1.1.1.1", false),
        ];
        for (ip, expected) in cases {
            assert_eq!(forbidden(ip.parse().unwrap()), expected, "{ip}");
        }
    }
}
