//! Where webhooks may go: `http(s)` URLs whose host resolves only to public addresses. Loopback,
//! private, link-local (cloud metadata at 169.254.169.254 included), carrier-grade NAT, unique
//! local, multicast and reserved addresses are refused unless the operator sets
//! `webhook_allow_private_targets`. The check runs when an endpoint is saved and again at every
//! delivery, inside the HTTP client's resolver, so the connection goes only to addresses that
//! passed (a name that re-resolves to a private address later is refused then).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a target is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Whether an address is one a webhook must not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return private_v4(Ipv4Addr::new(a, b, c, d));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 metadata too)
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
                || s[0..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible (deprecated)
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT (Alibaba metadata too)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Checks a URL's form: `http` or `https`, a host, no credentials; a literal address must be
/// public unless `allow_private`. Returns the parsed URL.
pub fn check_url(url: &str, allow_private: bool) -> Result<reqwest::Url, Refused> {
    let u = reqwest::Url::parse(url).map_err(|e| Refused(format!("not a URL: {e}")))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(Refused("the URL must be http or https".into()));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Refused("the URL must not carry credentials".into()));
    }
    if url.len() > 2048 {
        return Err(Refused("the URL is longer than 2048 bytes".into()));
    }
    let literal = match u.host() {
        None => return Err(Refused("the URL has no host".into())),
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = literal {
        if !allow_private && is_private(ip) {
            return Err(refused_address(ip));
        }
    }
    Ok(u)
}

fn refused_address(ip: IpAddr) -> Refused {
    Refused(format!(
        "the target {ip} is a loopback, private, link-local or metadata address \
         (set webhook_allow_private_targets to allow it)"
    ))
}

/// The addresses of `host` a delivery may connect to: all of them when `allow_private`, else
/// the public ones; refused when none is left.
pub async fn resolve(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, Refused> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| Refused(format!("cannot resolve {host}: {e}")))?
        .collect();
    let first = addrs.first().map(SocketAddr::ip);
    let ok: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| allow_private || !is_private(a.ip()))
        .collect();
    match (ok.is_empty(), first) {
        (false, _) => Ok(ok),
        (true, Some(ip)) => Err(refused_address(ip)),
        (true, None) => Err(Refused(format!("{host} has no address"))),
    }
}

/// When an endpoint is saved: refuses a name that resolves only to refused addresses (a name
/// that does not resolve now is accepted: deliveries check again).
pub async fn check_name(url: &reqwest::Url, allow_private: bool) -> Result<(), Refused> {
    let Some(url::Host::Domain(host)) = url.host() else {
        return Ok(());
    };
    if allow_private {
        return Ok(());
    }
    match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            match addrs.iter().find(|a| !is_private(a.ip())) {
                Some(_) => Ok(()),
                None => match addrs.first() {
                    Some(a) => Err(refused_address(a.ip())),
                    None => Ok(()),
                },
            }
        }
        Err(_) => Ok(()),
    }
}

/// The HTTP client's resolver: [`resolve`].
#[derive(Clone)]
pub struct Resolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), allow)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_private_range_is_refused() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_private(ip), "{ip}");
            let url = match ip {
                IpAddr::V4(_) => format!("http://{ip}/hook"),
                IpAddr::V6(_) => format!("http://[{ip}]/hook"),
            };
            assert!(check_url(&url, false).is_err(), "{url}");
            assert!(check_url(&url, true).is_ok(), "{url}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
        assert!(check_url("ftp://example.com/", false).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("https://example.com/hook", false).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        assert!(resolve("localhost", false).await.is_err());
        assert!(resolve("localhost", true).await.is_ok());
    }
}
