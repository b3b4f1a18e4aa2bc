//! Why a host could not be reached, told apart from typed errors only: our resolver's
//! [`ResolveError`], `io::ErrorKind`, `rustls::Error` variants and `hyper::Error` predicates.
//! Error *text* is carried along for the message but never matched (ARCHITECTURE.md, pitfalls).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::connect_to::ResolveError;
use super::trust::ChainProblem;

/// The stage a timeout hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The TCP connection was not established in time.
    Connect,
    /// TCP connected, but the TLS handshake did not finish in time.
    TlsHandshake,
    /// The connection (TCP connect and TLS handshake together) was not established in time:
    /// the REST client's connect timeout covers both and cannot tell which stage hung.
    Connection,
    /// The request was sent (or being sent) and no complete answer came in time.
    Response,
}

/// A TLS-level failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsFailure {
    /// The peer sent a fatal alert (`certificate_required`, `bad_certificate`,
    /// `handshake_failure`, …). With TLS 1.3 a rejected client certificate shows up this way
    /// only on the first read after the handshake.
    AlertReceived(rustls::AlertDescription),
    /// Our verifier refused the server's certificate (REST client only; the TLS probe records
    /// any chain and validates it separately).
    Certificate(ChainProblem),
    /// Any other TLS error (protocol violation, no common version or cipher suite, …).
    Protocol(String),
}

impl TlsFailure {
    /// Maps a rustls error.
    pub(crate) fn from_rustls(e: &rustls::Error) -> TlsFailure {
        match e {
            rustls::Error::AlertReceived(a) => TlsFailure::AlertReceived(*a),
            rustls::Error::InvalidCertificate(_) => {
                TlsFailure::Certificate(ChainProblem::from_rustls(e))
            }
            other => TlsFailure::Protocol(super::scrub::scrub(&other.to_string(), &[])),
        }
    }
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsFailure::AlertReceived(a) => write!(f, "the server sent TLS alert {a:?}"),
            TlsFailure::Certificate(p) => write!(f, "server certificate refused: {p}"),
            TlsFailure::Protocol(s) => f.write_str(s),
        }
    }
}

/// Why an endpoint could not be reached. Display gives a message that says which of DNS,
/// refused, timeout, reset or TLS it was (the `ENDPOINT_UNREACHABLE` message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// The host name did not resolve.
    Dns {
        /// The name looked up: the tenant's host, or the `--connect-to` host.
        host: String,
        /// The resolver's message, or `no address` when the name has none.
        detail: String,
    },
    /// Nothing listens at the address.
    Refused {
        /// The address refused, when known (the TLS probe knows it; the REST client does not).
        addr: Option<SocketAddr>,
    },
    /// No progress within the timeout.
    Timeout {
        /// The stage that did not finish.
        phase: Phase,
        /// The time allowed: the timeout, or less when the tenant's deadline was nearer.
        after: Duration,
    },
    /// The peer reset the connection.
    Reset,
    /// The peer closed the connection before answering.
    Closed,
    /// The TLS layer failed.
    Tls(TlsFailure),
    /// Anything else (the text of the error, which holds no secret).
    Other(String),
}

/// [`Unreachable`] without its details, for matching in checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnreachableKind {
    /// [`Unreachable::Dns`].
    Dns,
    /// [`Unreachable::Refused`].
    Refused,
    /// [`Unreachable::Timeout`].
    Timeout,
    /// [`Unreachable::Reset`].
    Reset,
    /// [`Unreachable::Closed`].
    Closed,
    /// [`Unreachable::Tls`].
    Tls,
    /// [`Unreachable::Other`].
    Other,
}

impl Unreachable {
    /// Which kind of failure.
    pub fn kind(&self) -> UnreachableKind {
        match self {
            Unreachable::Dns { .. } => UnreachableKind::Dns,
            Unreachable::Refused { .. } => UnreachableKind::Refused,
            Unreachable::Timeout { .. } => UnreachableKind::Timeout,
            Unreachable::Reset => UnreachableKind::Reset,
            Unreachable::Closed => UnreachableKind::Closed,
            Unreachable::Tls(_) => UnreachableKind::Tls,
            Unreachable::Other(_) => UnreachableKind::Other,
        }
    }

    /// Whether trying again may help: connection-level trouble yes; a name that does not
    /// resolve or a TLS refusal gives the same answer next time.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(
            self,
            Unreachable::Refused { .. }
                | Unreachable::Timeout { .. }
                | Unreachable::Reset
                | Unreachable::Closed
        )
    }
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unreachable::Dns { host, detail } => {
                write!(f, "DNS lookup of {host} failed ({detail})")
            }
            Unreachable::Refused { addr: Some(a) } => write!(f, "connection refused by {a}"),
            Unreachable::Refused { addr: None } => f.write_str("connection refused"),
            Unreachable::Timeout { phase, after } => {
                let ms = after.as_millis();
                match phase {
                    Phase::Connect => write!(f, "timed out after {ms} ms while connecting"),
                    Phase::TlsHandshake => {
                        write!(f, "timed out after {ms} ms in the TLS handshake")
                    }
                    Phase::Connection => write!(
                        f,
                        "timed out after {ms} ms while connecting (TCP connect or TLS handshake)"
                    ),
                    Phase::Response => {
                        write!(f, "timed out after {ms} ms waiting for the response")
                    }
                }
            }
            Unreachable::Reset => f.write_str("connection reset by the server"),
            Unreachable::Closed => {
                f.write_str("connection closed by the server before it answered")
            }
            Unreachable::Tls(t) => write!(f, "TLS failure: {t}"),
            Unreachable::Other(s) => f.write_str(s),
        }
    }
}

/// Classifies an error by walking its source chain (and the errors wrapped inside
/// `io::Error`s, which `source()` skips). `timeout` is reported when the cause is an OS-level
/// connect timeout.
pub(crate) fn classify(err: &(dyn StdError + 'static), timeout: Duration) -> Unreachable {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(u) = classify_one(e, timeout) {
            return u;
        }
        cur = next(e);
    }
    // The messages of our libraries, but sanitised all the same: they reach reports.
    Unreachable::Other(super::scrub::scrub(&describe(err), &[]))
}

fn next<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a (dyn StdError + 'static)> {
    if let Some(inner) = e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()) {
        return Some(inner);
    }
    e.source()
}

fn classify_one(e: &(dyn StdError + 'static), timeout: Duration) -> Option<Unreachable> {
    // reqwest's own connect timeout (which covers the TCP connect and the TLS handshake) is a
    // private type; `is_timeout`/`is_connect` tell it apart. Without this it was `Other`, and
    // not retried (docs/spec.md §12: connect and handshake timeouts are retried).
    if let Some(r) = e.downcast_ref::<reqwest::Error>()
        && r.is_timeout()
    {
        let tcp = chain_has_io_timeout(e);
        let phase = match (tcp, r.is_connect()) {
            (true, _) => Phase::Connect,
            (false, true) => Phase::Connection,
            (false, false) => Phase::Response,
        };
        return Some(Unreachable::Timeout {
            phase,
            after: timeout,
        });
    }
    if let Some(r) = e.downcast_ref::<ResolveError>() {
        let detail = match r {
            ResolveError::Lookup { cause, .. } => cause.to_string(),
            ResolveError::NoAddress { .. } => "no address".to_string(),
        };
        return Some(Unreachable::Dns {
            host: r.host().to_string(),
            detail,
        });
    }
    if let Some(t) = e.downcast_ref::<rustls::Error>() {
        return Some(Unreachable::Tls(TlsFailure::from_rustls(t)));
    }
    if let Some(io) = e.downcast_ref::<io::Error>() {
        return match io.kind() {
            io::ErrorKind::ConnectionRefused => Some(Unreachable::Refused { addr: None }),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Some(Unreachable::Reset),
            io::ErrorKind::UnexpectedEof => Some(Unreachable::Closed),
            io::ErrorKind::TimedOut => Some(Unreachable::Timeout {
                phase: Phase::Connect,
                after: timeout,
            }),
            // An io::Error wrapping another error (rustls wraps its own this way): look inside.
            _ => None,
        };
    }
    if let Some(h) = e.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return Some(Unreachable::Closed);
        }
        if h.is_timeout() {
            return Some(Unreachable::Timeout {
                phase: Phase::Response,
                after: timeout,
            });
        }
    }
    None
}

/// Whether an `io::Error` of kind `TimedOut` is in the chain (hyper's TCP connect timer).
fn chain_has_io_timeout(err: &(dyn StdError + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        cur = next(e);
    }
    false
}

/// The chain's messages joined, for `Other`. Callers strip URLs from reqwest errors first.
fn describe(err: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = next(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = next(e);
    }
    parts.join(": ")
}

/// Classifies an I/O error of the TLS probe's own socket work, with the phase it happened in.
pub(crate) fn classify_io(
    err: &io::Error,
    phase: Phase,
    timeout: Duration,
    addr: Option<SocketAddr>,
) -> Unreachable {
    match classify(err, timeout) {
        Unreachable::Refused { .. } => Unreachable::Refused { addr },
        Unreachable::Timeout { after, .. } => Unreachable::Timeout { phase, after },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_to_causes() {
        let t = Duration::from_millis(300);
        let c = |k| classify(&io::Error::from(k), t);
        assert_eq!(
            c(io::ErrorKind::ConnectionRefused).kind(),
            UnreachableKind::Refused
        );
        assert_eq!(
            c(io::ErrorKind::ConnectionReset).kind(),
            UnreachableKind::Reset
        );
        assert_eq!(
            c(io::ErrorKind::UnexpectedEof).kind(),
            UnreachableKind::Closed
        );
        assert_eq!(c(io::ErrorKind::TimedOut).kind(), UnreachableKind::Timeout);
        assert_eq!(
            c(io::ErrorKind::PermissionDenied).kind(),
            UnreachableKind::Other
        );
    }

    #[test]
    fn rustls_errors_inside_io_errors_are_found() {
        let inner = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, inner);
        assert_eq!(
            classify(&wrapped, Duration::ZERO),
            Unreachable::Tls(TlsFailure::AlertReceived(
                rustls::AlertDescription::CertificateRequired
            ))
        );
        let cert = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = io::Error::other(cert);
        assert_eq!(
            classify(&wrapped, Duration::ZERO),
            Unreachable::Tls(TlsFailure::Certificate(ChainProblem::UnknownIssuer))
        );
    }

    #[test]
    fn resolve_errors_are_dns_whatever_their_text() {
        let e = ResolveError::Lookup {
            host: "x.invalid".into(),
            cause: io::Error::other("anything at all"),
        };
        let wrapped = io::Error::other(e);
        match classify(&wrapped, Duration::ZERO) {
            Unreachable::Dns { host, .. } => assert_eq!(host, "x.invalid"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retryable_is_connection_trouble_only() {
        assert!(Unreachable::Reset.is_retryable());
        for phase in [
            Phase::Connect,
            Phase::TlsHandshake,
            Phase::Connection,
            Phase::Response,
        ] {
            let t = Unreachable::Timeout {
                phase,
                after: Duration::from_millis(1),
            };
            assert!(t.is_retryable(), "{t}");
        }
        assert!(Unreachable::Refused { addr: None }.is_retryable());
        assert!(!Unreachable::Tls(TlsFailure::Protocol("x".into())).is_retryable());
        assert!(
            !Unreachable::Dns {
                host: "h".into(),
                detail: "d".into()
            }
            .is_retryable()
        );
    }

    #[test]
    fn messages_say_which_cause() {
        let t = Unreachable::Timeout {
            phase: Phase::TlsHandshake,
            after: Duration::from_millis(300),
        };
        assert_eq!(t.to_string(), "timed out after 300 ms in the TLS handshake");
        let r = Unreachable::Refused {
            addr: Some("127.0.0.1:9".parse().unwrap()),
        };
        assert_eq!(r.to_string(), "connection refused by 127.0.0.1:9");
    }
}
