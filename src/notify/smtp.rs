//! Sending over SMTP with lettre (rustls with ring, no OpenSSL): STARTTLS when the server
//! offers it (required when a password is sent, or with `--require-tls`), implicit TLS for
//! `smtps://`; the system roots plus `--ca-cert`; a pace of at most N messages a minute; and
//! retries with a doubling wait for 4xx answers. Every message ends in one [`Outcome`]; what the
//! server said is cut short and stripped of control characters before anyone sees it.

use crate::net::Secret;
use crate::report::text;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls_pki_types::CertificateDer;
use std::time::Duration;
use tokio::time::Instant;

/// Where to send: `smtp://HOST[:PORT]` (STARTTLS, default port 25) or `smtps://HOST[:PORT]`
/// (TLS from the start, default port 465).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// The server's host name or IP address (also the name its certificate must carry).
    pub host: String,
    /// The port.
    pub port: u16,
    /// `smtps://`: TLS from the first byte.
    pub implicit_tls: bool,
}

impl SmtpUrl {
    /// Parses `smtp://HOST[:PORT]` or `smtps://HOST[:PORT]`. User information is refused (the
    /// password comes from `SMTP_PASSWORD`, never from a command line), as are paths and
    /// queries.
    pub fn parse(s: &str) -> Result<SmtpUrl, String> {
        let (rest, implicit_tls, default_port) = if let Some(r) = s.strip_prefix("smtp://") {
            (r, false, 25)
        } else if let Some(r) = s.strip_prefix("smtps://") {
            (r, true, 465)
        } else {
            return Err(format!(
                "'{}' is not smtp://HOST:PORT or smtps://HOST:PORT",
                text::terminal_cut(s, 100)
            ));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('@') {
            return Err("the SMTP URL must not hold a user or password: use --smtp-user and the SMTP_PASSWORD environment variable".into());
        }
        if rest.contains(['/', '?', '#']) || rest.is_empty() {
            return Err(format!(
                "'{}' must be smtp://HOST[:PORT] with nothing after the port",
                text::terminal_cut(s, 100)
            ));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| "an IPv6 address needs its closing ]".to_string())?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("'{p}' is not a port"))?,
                None if after.is_empty() => default_port,
                None => return Err(format!("unexpected '{after}' after the address")),
            };
            (h.to_string(), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    p.parse().map_err(|_| format!("'{p}' is not a port"))?,
                ),
                None => (rest.to_string(), default_port),
            }
        };
        if host.is_empty() || port == 0 {
            return Err("the SMTP URL needs a host and a port above 0".into());
        }
        Ok(SmtpUrl {
            host,
            port,
            implicit_tls,
        })
    }
}

/// How to reach the server and how fast to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// The server.
    pub url: SmtpUrl,
    /// `--smtp-user`, with the password from `SMTP_PASSWORD`.
    pub login: Option<(String, Secret)>,
    /// Refuse a server that does not offer STARTTLS, even without a login.
    pub require_tls: bool,
    /// Trust anchors besides the system's (`--ca-cert`).
    pub extra_ca: Vec<CertificateDer<'static>>,
    /// Per SMTP command.
    pub timeout: Duration,
    /// Retries of a message answered with 4xx.
    pub retries: u32,
    /// The first wait before a retry; it doubles each time.
    pub retry_delay: Duration,
    /// At least this long between two attempts (`--rate`).
    pub interval: Duration,
}

/// The transport could not be set up (a CA certificate lettre does not take).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up TLS for the SMTP server {host}")]
pub struct SetupError {
    /// The server's host.
    pub host: String,
    /// lettre's error, printed as the cause.
    #[source]
    pub source: lettre::transport::smtp::Error,
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took it: its reply.
    Sent {
        /// `250 …`, cut short.
        reply: String,
    },
    /// The server refused it: 5xx, or 4xx still after the retries.
    Refused {
        /// The reply code (`550`).
        code: String,
        /// The server's text, cut short.
        reply: String,
    },
    /// No answer: the connection failed, dropped or timed out, or TLS failed.
    Failed {
        /// What happened, cut short.
        reason: String,
    },
}

/// A connection pool to one server, paced and retrying.
pub struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    cfg: SmtpConfig,
    next: Option<Instant>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("url", &self.cfg.url)
            .finish()
    }
}

/// Server text for a terminal or a log: one line, at most 200 characters.
fn clean(s: &str) -> String {
    text::terminal_cut(&s.replace(['\r', '\n'], " "), 200)
}

impl Sender {
    /// The transport for `cfg`; nothing is connected yet.
    pub fn new(cfg: SmtpConfig) -> Result<Sender, SetupError> {
        let setup = |source| SetupError {
            host: cfg.url.host.clone(),
            source,
        };
        let mut params = TlsParameters::builder(cfg.url.host.clone());
        for der in &cfg.extra_ca {
            params =
                params.add_root_certificate(Certificate::from_der(der.to_vec()).map_err(setup)?);
        }
        let params = params.build_rustls().map_err(setup)?;
        let tls = if cfg.url.implicit_tls {
            Tls::Wrapper(params)
        } else if cfg.login.is_some() || cfg.require_tls {
            // A password never crosses the network in the clear.
            Tls::Required(params)
        } else {
            Tls::Opportunistic(params)
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.url.host.clone())
            .port(cfg.url.port)
            .tls(tls)
            .timeout(Some(cfg.timeout));
        if let Some((user, password)) = &cfg.login {
            b = b.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(Sender {
            transport: b.build(),
            cfg,
            next: None,
        })
    }

    /// Waits for the pace, then one attempt.
    async fn attempt(&mut self, msg: &Message) -> Result<String, lettre::transport::smtp::Error> {
        if let Some(at) = self.next {
            tokio::time::sleep_until(at).await;
        }
        self.next = Some(Instant::now() + self.cfg.interval);
        let r = self.transport.send(msg.clone()).await?;
        Ok(format!(
            "{} {}",
            r.code(),
            r.message().collect::<Vec<_>>().join(" ")
        ))
    }

    /// Sends one message: paced, retried on 4xx with a doubling wait.
    pub async fn send(&mut self, msg: &Message) -> Outcome {
        let mut wait = self.cfg.retry_delay;
        let mut tries = 0;
        loop {
            match self.attempt(msg).await {
                Ok(reply) => {
                    return Outcome::Sent {
                        reply: clean(&reply),
                    };
                }
                Err(e) if e.is_transient() && tries < self.cfg.retries => {
                    tries += 1;
                    // Up to half again as long, so parallel senders do not retry in step.
                    let jitter = wait.mul_f64(fastrand::f64() * 0.5);
                    tokio::time::sleep(wait + jitter).await;
                    wait = (wait * 2).min(Duration::from_secs(300));
                }
                Err(e) => return outcome_of(&e),
            }
        }
    }

    /// Closes the pooled connections.
    pub async fn close(self) {
        self.transport.shutdown().await;
    }
}

fn outcome_of(e: &lettre::transport::smtp::Error) -> Outcome {
    match e.status() {
        Some(code) if e.is_permanent() || e.is_transient() => Outcome::Refused {
            code: code.to_string(),
            reply: clean(
                &std::error::Error::source(e)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            ),
        },
        _ => {
            // The chain, each cause once: lettre's kind ("network error"), then the I/O error.
            let mut reason = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                let s_text = s.to_string();
                if !reason.contains(&s_text) {
                    reason.push_str(": ");
                    reason.push_str(&s_text);
                }
                src = s.source();
            }
            Outcome::Failed {
                reason: clean(&reason),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn smtp_urls() {
        assert_eq!(
            SmtpUrl::parse("smtp://mail.example:2525").unwrap(),
            SmtpUrl {
                host: "mail.example".into(),
                port: 2525,
                implicit_tls: false
            }
        );
        assert_eq!(SmtpUrl::parse("smtps://mail.example").unwrap().port, 465);
        assert_eq!(SmtpUrl::parse("smtp://mail.example/").unwrap().port, 25);
        assert_eq!(SmtpUrl::parse("smtp://[::1]:25").unwrap().host, "::1");
        for bad in [
            "mail.example:25",
            "smtp://user:pw@mail.example",
            "smtp://mail.example:25/x",
            "smtp://mail.example:x",
            "smtp://",
            "http://mail.example",
        ] {
            assert!(SmtpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
