//! Why the simulator could not start, or why a change of its fleet was refused.

use crate::scenario::ScenarioError;
use crate::tls::TlsSetupError;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start or a change was refused. Each variant's text says what
/// failed; the cause, where there is one, is its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The scenario (or a tenant given at run time) is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The CA or a server certificate could not be made, or rustls refused the configuration.
    #[error("TLS setup failed")]
    Tls(#[from] TlsSetupError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        #[source]
        source: std::io::Error,
    },
    /// [`SimOptions::ca_out`](crate::SimOptions::ca_out) could not be written.
    #[error("cannot write the CA certificate to {path}")]
    CaOut {
        /// Where the CA was to be written.
        path: PathBuf,
        /// Why writing failed.
        #[source]
        source: std::io::Error,
    },
    /// No tenant has this ID.
    #[error("no tenant '{0}'")]
    NoTenant(String),
    /// [`SimOptions::time_scale`](crate::SimOptions::time_scale) is not a positive number.
    #[error("time_scale must be a positive number, got {0}")]
    TimeScale(f64),
}

/// An error and its causes joined by ": ", as `{:#}` prints an `anyhow` chain: for answers of
/// the `/_sim/` endpoints, which have no other way to show the cause.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::generate::GenerateError;
    use crate::pki::PkiError;
    use crate::scenario::{PemError, Scenario};
    use rustls_pki_types::pem::PemObject as _;
    use std::error::Error;

    fn io(text: &str) -> std::io::Error {
        std::io::Error::other(text.to_string())
    }

    fn pem_error() -> rustls_pki_types::pem::Error {
        rustls_pki_types::PrivateKeyDer::from_pem_slice(b"no key in here").unwrap_err()
    }

    fn x509_error() -> PemError {
        // A well-formed PEM block whose bytes are not a certificate.
        crate::scenario::pem_certs(
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .unwrap_err()
    }

    fn file_error(path: &str, why: &str) -> mtls_audit_input::FileError {
        mtls_audit_input::FileError {
            path: path.into(),
            limit: mtls_audit_input::FileLimit {
                bytes: 1,
                what: "scenario",
                option: "--max-scenario-size",
            },
            problem: mtls_audit_input::FileProblem::Io(why.into()),
        }
    }

    fn scenario_errors() -> Vec<ScenarioError> {
        vec![
            ScenarioError::Toml {
                path: "s.toml".into(),
                source: toml::from_str::<Scenario>("[[tenant]]\nid = 1").unwrap_err(),
            },
            ScenarioError::Json {
                path: "s.json".into(),
                source: serde_json::from_str::<Scenario>("{").unwrap_err(),
            },
            ScenarioError::Certificate {
                tenant: "ACME".into(),
                owner: "admin 'x'".into(),
                source: PemError::Pem(pem_error()),
            },
            ScenarioError::Certificate {
                tenant: "ACME".into(),
                owner: "system 'y'".into(),
                source: x509_error(),
            },
            ScenarioError::CertificateFile {
                tenant: "ACME".into(),
                source: file_error("cert.pem", "certificate file unreadable"),
            },
            ScenarioError::Serialize(toml::to_string(&5_u8).unwrap_err()),
        ]
    }

    fn pki_error() -> PkiError {
        PkiError::Rcgen(rcgen::Error::CouldNotParseKeyPair)
    }

    fn tls_errors() -> Vec<TlsSetupError> {
        vec![
            TlsSetupError::Pki(pki_error()),
            TlsSetupError::Rustls(rustls::Error::General("rustls said no".into())),
            TlsSetupError::Key(pem_error()),
        ]
    }

    /// Every variant with a cause, and the innermost cause.
    fn errors_with_a_cause() -> Vec<Box<dyn Error>> {
        let mut out: Vec<Box<dyn Error>> = Vec::new();
        for e in scenario_errors() {
            out.push(Box::new(SimError::Scenario(e)));
        }
        for e in scenario_errors() {
            out.push(Box::new(GenerateError::Scenario(e)));
        }
        for e in scenario_errors() {
            out.push(Box::new(e));
        }
        for e in tls_errors() {
            out.push(Box::new(SimError::Tls(e)));
        }
        for e in tls_errors() {
            out.push(Box::new(e));
        }
        out.push(Box::new(SimError::Listen {
            addr: "127.0.0.1:1".parse().unwrap(),
            source: io("address in use, really"),
        }));
        out.push(Box::new(SimError::CaOut {
            path: "ca.pem".into(),
            source: io("read-only file system, really"),
        }));
        out.push(Box::new(GenerateError::Pki(pki_error())));
        out.push(Box::new(GenerateError::Write {
            path: "out/x".into(),
            source: io("export disk full"),
        }));
        out.push(Box::new(GenerateError::Csv(csv::Error::from(io(
            "csv writer broke",
        )))));
        out.push(Box::new(pki_error()));
        out.push(Box::new(PemError::Pem(pem_error())));
        out.push(Box::new(x509_error()));
        out
    }

    /// A scenario file that could not be read is a leaf: its text is the whole story.
    #[test]
    fn an_unreadable_scenario_names_the_file_and_why_once() {
        let e = ScenarioError::Read(file_error("s.toml", "scenario disk on fire"));
        assert!(e.source().is_none());
        assert_eq!(e.to_string().matches("s.toml").count(), 1, "{e}");
        assert!(e.to_string().contains("scenario disk on fire"), "{e}");
    }

    #[test]
    fn every_cause_is_printed_once() {
        let all = errors_with_a_cause();
        assert!(all.len() >= 30, "{}", all.len());
        for e in all {
            let mut root: &dyn Error = e.as_ref();
            while let Some(next) = root.source() {
                root = next;
            }
            let cause = root.to_string();
            let chain = error_chain(e.as_ref());
            assert!(e.source().is_some(), "{e:?} has no source: {chain}");
            assert_eq!(
                chain.matches(cause.as_str()).count(),
                1,
                "the cause {cause:?} must appear once in {chain:?}"
            );
        }
    }

    #[test]
    fn the_chain_reads_outside_in() {
        let e = SimError::CaOut {
            path: "ca.pem".into(),
            source: io("read-only"),
        };
        assert_eq!(
            error_chain(&e),
            "cannot write the CA certificate to ca.pem: read-only"
        );
    }
}
