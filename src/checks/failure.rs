//! How an API call of a live check can fail, as the checks see it. The network layer maps its
//! typed errors onto this; the checks map it onto finding codes.

use crate::findings::{Code, Finding, Target};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiFailure {
    /// Our own credential was refused (401) or lacks a permission (403).
    Auth { status: u16, detail: String },
    /// Still 429 after the retries.
    Throttled { attempts: u32 },
    /// No HTTP answer at all: the network layer's message (DNS, refused, timeout, reset, TLS,
    /// or the tenant's deadline).
    Unreachable(String),
    /// 5xx after the retries, an unexpected status, or a body that could not be read.
    Protocol(String),
    /// The audit's credential could not even be used (missing secret, unknown name, …).
    Credential(String),
}

impl ApiFailure {
    /// The finding for a failed call; `what` names the call ("SCIM users query").
    pub(crate) fn finding(&self, target: Target, what: &str) -> Finding {
        match self {
            ApiFailure::Auth { status, detail } => Finding::new(
                Code::ApiAuthFailed,
                target,
                format!("{what}: our credential got HTTP {status}{}", suffix(detail)),
            ),
            ApiFailure::Throttled { attempts } => Finding::new(
                Code::ApiThrottled,
                target,
                format!("{what}: still HTTP 429 after {attempts} attempts"),
            ),
            ApiFailure::Unreachable(u) => {
                Finding::new(Code::EndpointUnreachable, target, format!("{what}: {u}"))
            }
            ApiFailure::Protocol(e) => Finding::new(Code::ApiError, target, format!("{what}: {e}")),
            ApiFailure::Credential(e) => {
                Finding::new(Code::ApiAuthFailed, target, format!("{what}: {e}"))
            }
        }
    }
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}
