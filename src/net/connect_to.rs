//! `--connect-to HOST:PORT` and name resolution.
//!
//! Every connection goes to the one address while the URL's host name stays for SNI and the
//! Host header, like curl's `--connect-to`. The same resolution serves the REST client (as a
//! `reqwest::dns::Resolve`) and the TLS probe, and its failures are a [`ResolveError`], so a
//! DNS failure is recognised by its type, never by its text.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

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

/// How long a resolved name is kept. An audit is short; a name that moves during it is rare,
/// and the next lookup after this picks the move up.
const ADDRESS_TTL: Duration = Duration::from_secs(60);

/// Where connections to a host name go: the `--connect-to` address for every name, or what the
/// system resolver says. One book serves the REST client (through [`Resolver`]), the TLS probe
/// and the per-address connection caps, so the address a request is admitted for is the
/// address it then connects to first. Answers are kept for [`ADDRESS_TTL`]; failures are not.
#[derive(Debug, Default)]
pub(crate) struct AddressBook {
    connect_to: Option<ConnectTo>,
    cache: Mutex<HashMap<String, Looked>>,
}

/// A name's addresses and when they were looked up.
type Looked = (Arc<[SocketAddr]>, Instant);

impl AddressBook {
    pub(crate) fn new(connect_to: Option<ConnectTo>) -> AddressBook {
        AddressBook {
            connect_to,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The addresses connections to `host` go to, in the order they are tried. Their port is
    /// the `--connect-to` port, or 0 (the caller's port goes in).
    pub(crate) async fn lookup(&self, host: &str) -> Result<Arc<[SocketAddr]>, ResolveError> {
        let (name, port) = match &self.connect_to {
            Some(c) => (c.host(), c.port()),
            None => (host, 0),
        };
        let key = name.to_ascii_lowercase();
        let lock = || self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((addrs, at)) = lock().get(&key)
            && at.elapsed() < ADDRESS_TTL
        {
            return Ok(addrs.clone());
        }
        let addrs: Arc<[SocketAddr]> = resolve(name, port).await?.into();
        lock().insert(key, (addrs.clone(), Instant::now()));
        Ok(addrs)
    }

    /// The addresses a connection to `host:port` tries, in order, with their ports set.
    pub(crate) async fn addresses(
        &self,
        host: &str,
        port: u16,
    ) -> Result<Vec<SocketAddr>, ResolveError> {
        let mut addrs = self.lookup(host).await?.to_vec();
        if self.connect_to.is_none() {
            for a in &mut addrs {
                a.set_port(port);
            }
        }
        Ok(addrs)
    }
}

/// The REST client's resolver: the [`AddressBook`]'s answer. Ports: with `--connect-to` the
/// returned address carries its port, which hyper keeps unless the URL names a port itself
/// (the client then moves that port into the Host header); otherwise port 0 lets hyper put the
/// URL's (or the scheme's) port in.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolver {
    book: Arc<AddressBook>,
}

impl Resolver {
    pub(crate) fn new(book: Arc<AddressBook>) -> Resolver {
        Resolver { book }
    }
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let book = self.book.clone();
        Box::pin(async move {
            let addrs = book.lookup(name.as_str()).await?;
            let addrs = (0..addrs.len()).map(move |i| addrs[i]);
            Ok(Box::new(addrs) as reqwest::dns::Addrs)
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
    async fn the_address_book_sends_every_name_to_connect_to_and_sets_ports() {
        let book = AddressBook::new(Some(ConnectTo::parse("127.0.0.1:9").unwrap()));
        let a = book.addresses("a.example", 443).await.unwrap();
        let b = book.addresses("b.example", 8443).await.unwrap();
        assert_eq!(a, vec!["127.0.0.1:9".parse().unwrap()]);
        assert_eq!(a, b);
        let book = AddressBook::new(None);
        let a = book.addresses("127.0.0.1", 443).await.unwrap();
        assert_eq!(a, vec!["127.0.0.1:443".parse().unwrap()]);
        assert!(book.addresses("no-such-host.invalid", 443).await.is_err());
    }

    #[tokio::test]
    async fn an_unresolvable_name_is_a_resolve_error() {
        // RFC 6761: `.invalid` never resolves.
        let e = resolve("no-such-host.invalid", 443).await.unwrap_err();
        assert_eq!(e.host(), "no-such-host.invalid");
    }
}
