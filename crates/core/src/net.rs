//! IP addresses kept for anything but account security are truncated before
//! storage, as Matomo does by default: IPv4 to /16, IPv6 to /48.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The truncated form of `ip`: `a.b.0.0` or the first 48 bits of an IPv6
/// address. An IPv4-mapped IPv6 address is treated as IPv4.
pub fn ip_prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, 0, 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => ip_prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_v4_to_16_and_v6_to_48() {
        assert_eq!(ip_prefix("192.168.17.42".parse().unwrap()).to_string(), "192.168.0.0");
        assert_eq!(ip_prefix("2001:db8:abcd:12:1:2:3:4".parse().unwrap()).to_string(), "2001:db8:abcd::");
        assert_eq!(ip_prefix("::ffff:10.1.2.3".parse().unwrap()).to_string(), "10.1.0.0");
    }
}
