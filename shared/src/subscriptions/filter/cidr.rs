//! `cidr` operands: an IPv4 or IPv6 network; an event value matches when it is
//! an address inside it (a string that is no address matches nothing).

use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    mask_bits: u32,
}

impl Network {
    pub fn parse(operand: &str) -> Result<Self, String> {
        let (address, bits) = operand
            .split_once('/')
            .ok_or_else(|| "malformed CIDR: one '/' required".to_owned())?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IP address"))?;
        let most = if address.is_ipv4() { 32 } else { 128 };
        let mask_bits: u32 = bits
            .parse()
            .ok()
            .filter(|bits| *bits <= most)
            .ok_or_else(|| format!("mask bits must be a whole number from 0 to {most}"))?;
        Ok(Self { address, mask_bits })
    }

    pub fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.address, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => same_prefix(
                u128::from(network.to_bits()) << 96,
                u128::from(address.to_bits()) << 96,
                self.mask_bits,
            ),
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(network.to_bits(), address.to_bits(), self.mask_bits)
            }
            _ => false,
        }
    }
}

/// Whether `a` and `b` agree in their first `bits` bits.
fn same_prefix(a: u128, b: u128, bits: u32) -> bool {
    bits == 0 || (a ^ b) >> (128 - bits) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_inside_the_network_match() {
        let v4 = Network::parse("10.0.0.0/24").expect("valid");
        assert!(v4.contains("10.0.0.255"));
        assert!(!v4.contains("10.0.1.1"));
        assert!(!v4.contains("10.0.0.256"));
        assert!(!v4.contains("::1"));
        let v6 = Network::parse("2001:db8:1234:1a00::/64").expect("valid");
        assert!(v6.contains("2001:0db8:1234:1a00:0000:0000:0000:0000"));
        assert!(!v6.contains("2001:db8:1234:1a01::"));
        assert!(Network::parse("0.0.0.0/0").expect("valid").contains("8.8.8.8"));
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in ["bad-filter", "xx.11.xx/8", "10.0.0.0/33", "10.0.0.0/x", "::/129"] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }
}
