//! Whose request is it: the key a request is counted under.
//!
//! The client IP is the socket's peer unless the peer is a trusted proxy. Then
//! `X-Forwarded-For` is read from the right, where the proxies nearest to us appended
//! what they saw, skipping trusted proxies: the first address that is not one is the
//! client. Addresses further left were written by the client itself and prove nothing.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use cello_http::Request;
use http::HeaderName;

use super::config::RateLimitKey;
use crate::chain::Exchange;
use crate::error::{header_name, ConfigError};

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");

/// How the layer keys requests, validated.
#[derive(Debug)]
pub(crate) struct Keying {
    by: By,
    proxies: Box<[Network]>,
    real_ip: bool,
}

#[derive(Debug)]
enum By {
    ClientIp,
    Header(HeaderName),
    Route,
}

/// An address or a CIDR network of trusted proxies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Keying {
    pub(crate) fn new(
        key: &RateLimitKey,
        trusted_proxies: &[String],
        real_ip: bool,
    ) -> Result<Self, ConfigError> {
        let by = match key {
            RateLimitKey::ClientIp => By::ClientIp,
            RateLimitKey::Header(name) => By::Header(header_name("rate limit key header", name)?),
            RateLimitKey::Route => By::Route,
        };
        let proxies = trusted_proxies
            .iter()
            .map(|text| Network::parse(text))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            by,
            proxies,
            real_ip,
        })
    }

    /// The store key of `request`, under the algorithm's `tag`.
    pub(crate) fn key(&self, tag: &str, request: &Request, exchange: &Exchange) -> String {
        let mut key = String::with_capacity(48);
        key.push_str("rl:");
        key.push_str(tag);
        match &self.by {
            By::Header(name) => {
                if let Some(value) = request.headers().get(name) {
                    key.push_str(":h:");
                    key.push_str(&String::from_utf8_lossy(value.as_bytes()));
                    return key;
                }
            }
            By::Route => {
                key.push_str(":route:");
                key.push_str(exchange.route.as_deref().unwrap_or(request.uri().path()));
                return key;
            }
            By::ClientIp => {}
        }
        key.push_str(":ip:");
        match self.client_ip(request, exchange) {
            Some(ip) => {
                let _ = write!(key, "{ip}");
            }
            // No socket (an in-process test client): all such requests are one client.
            None => key.push_str("unknown"),
        }
        key
    }

    /// The client's address, `X-Forwarded-For` believed only from trusted proxies.
    pub(crate) fn client_ip(&self, request: &Request, exchange: &Exchange) -> Option<IpAddr> {
        let peer = exchange.peer?.ip().to_canonical();
        if !self.trusted(peer) {
            return Some(peer);
        }
        if self.real_ip {
            if let Some(address) = request
                .headers()
                .get(X_REAL_IP)
                .and_then(|v| parse_hop(v.as_bytes()))
            {
                return Some(address);
            }
        }
        let mut nearest = peer;
        let hops = request
            .headers()
            .get_all(X_FORWARDED_FOR)
            .iter()
            .rev()
            .flat_map(|value| value.as_bytes().rsplit(|&byte| byte == b','));
        for hop in hops {
            let Some(address) = parse_hop(hop) else {
                // A trusted proxy would not have written that: stop at the last one.
                return Some(nearest);
            };
            if !self.trusted(address) {
                return Some(address);
            }
            nearest = address;
        }
        // Every hop is a trusted proxy (an internal call): the farthest is the client.
        Some(nearest)
    }

    fn trusted(&self, address: IpAddr) -> bool {
        self.proxies.iter().any(|network| network.contains(address))
    }
}

fn parse_hop(hop: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(hop).ok()?.trim();
    let address = text
        .parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(address.to_canonical())
}

impl Network {
    fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::invalid(format!(
                "rate limit trusted proxy {text:?} is not an IP address or a network: write \
                 an address like \"10.0.0.7\" or \"::1\", or a network like \"10.0.0.0/8\" \
                 or \"fd00::/8\""
            ))
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address = address.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= bits)
                .ok_or_else(bad)?,
        };
        Ok(Self {
            address: mask(address, prefix),
            prefix,
        })
    }

    fn contains(&self, address: IpAddr) -> bool {
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix) == self.address
    }
}

/// `address` with all but its first `prefix` bits cleared.
fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(bits.into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(bits.into())
        }
    }
}
