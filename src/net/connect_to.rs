//! `--connect-to HOST:PORT` and name resolution.
//!
//! Every connection goes to the one address while the URL's host name stays for SNI and the
//! Host header, like curl's `--connect-to`. The same resolution serves the REST client (as a
//! `reqwest::dns::Resolve`) and the TLS probe, and its failures are a [`ResolveError`], so a
//! DNS failure is recognised by its type, never by its text.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Where every connection goes instead of the URL's host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectTo {
    host: String,
    port: u16,
}

/// A `--connect-to` value that is not `HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --connect-to {value:?}: {reason}")]
pub struct ConnectToError {
    value: String,
    reason: &'static str,
}

impl ConnectTo {
    /// Parses `HOST:PORT`, `IP:PORT` or `[IPv6]:PORT`.
    pub fn parse(value: &str) -> Result<ConnectTo, ConnectToError> {
        let err = |reason| ConnectToError {
            value: value.to_string(),
            reason,
        };
        let (host, port) = value
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| err("expected HOST:PORT"))?;
        let host = match host.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .ok_or_else(|| err("unclosed '[' in an IPv6 address"))?,
            None if host.contains(':') => return Err(err("write an IPv6 address as [ADDR]:PORT")),
            None => host,
        };
        if host.is_empty() {
            return Err(err("the host is empty"));
        }
        let port: u16 = port.parse().map_err(|_| err("the port is not a number"))?;
        if port == 0 {
            return Err(err("the port must not be 0"));
        }
        Ok(ConnectTo {
            host: host.to_string(),
            port,
        })
    }

    /// The host (name or IP address, without brackets).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl FromStr for ConnectTo {
    type Err = ConnectToError;
    fn from_str(s: &str) -> Result<ConnectTo, ConnectToError> {
        ConnectTo::parse(s)
    }
}

impl fmt::Display for ConnectTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A host name that could not be turned into an address.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ResolveError {
    /// The system resolver failed (no such name, no DNS server, …).
    // The cause is in the text (findings quote it), so it is not also a `source`.
    #[error("DNS lookup of {host} failed: {cause}")]
    Lookup { host: String, cause: std::io::Error },
    /// The lookup succeeded but gave no address.
    #[error("DNS lookup of {host} returned no address")]
    NoAddress { host: String },
}

impl ResolveError {
    /// The name that was looked up.
    pub(crate) fn host(&self) -> &str {
        match self {
            ResolveError::Lookup { host, .. } | ResolveError::NoAddress { host } => host,
        }
    }
}

/// The host and port a connection to `host:port` really goes to.
pub(crate) fn destination<'a>(
    connect_to: Option<&'a ConnectTo>,
    host: &'a str,
    port: u16,
) -> (&'a str, u16) {
    match connect_to {
        Some(c) => (c.host(), c.port()),
        None => (host, port),
    }
}

/// Resolves `host` (a name, an IP address, or a bracketed IPv6 address) to socket addresses.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|cause| ResolveError::Lookup {
            host: bare.to_string(),
            cause,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(ResolveError::NoAddress {
            host: bare.to_string(),
        });
    }
    Ok(addrs)
}

/// The REST client's resolver: the `--connect-to` address for every name, or the system
/// resolver. Ports: with `--connect-to` the returned address carries its port, which hyper keeps
/// unless the URL names a port itself (the client then moves that port into the Host header).
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolver {
    connect_to: Option<ConnectTo>,
}

impl Resolver {
    pub(crate) fn new(connect_to: Option<ConnectTo>) -> Resolver {
        Resolver { connect_to }
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        // Port 0 lets hyper put the URL's (or the scheme's) port in.
        let (host, port) = match &self.connect_to {
            Some(c) => (c.host().to_string(), c.port()),
            None => (name.as_str().to_string(), 0),
        };
        Box::pin(async move {
            let addrs = resolve(&host, port).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_forms() {
        let c = ConnectTo::parse("127.0.0.1:40123").unwrap();
        assert_eq!((c.host(), c.port()), ("127.0.0.1", 40123));
        let c = ConnectTo::parse("sim.local:8443").unwrap();
        assert_eq!((c.host(), c.port()), ("sim.local", 8443));
        let c = ConnectTo::parse("[::1]:443").unwrap();
        assert_eq!((c.host(), c.port()), ("::1", 443));
        assert_eq!(c.to_string(), "[::1]:443");
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in [
            "",
            "host",
            "host:",
            ":443",
            "host:0",
            "host:99999",
            "::1:443",
            "[::1:443",
        ] {
            assert!(ConnectTo::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let e = ConnectTo::parse("host").unwrap_err().to_string();
        assert!(e.contains("HOST:PORT"), "{e}");
    }

    #[tokio::test]
    async fn ip_literals_need_no_lookup() {
        let a = resolve("127.0.0.1", 9).await.unwrap();
        assert_eq!(a, vec!["127.0.0.1:9".parse().unwrap()]);
        let a = resolve("[::1]", 9).await.unwrap();
        assert_eq!(a, vec!["[::1]:9".parse().unwrap()]);
    }

    #[tokio::test]
    async fn an_unresolvable_name_is_a_resolve_error() {
        // RFC 6761: `.invalid` never resolves.
        let e = resolve("no-such-host.invalid", 443).await.unwrap_err();
        assert_eq!(e.host(), "no-such-host.invalid");
    }
}
