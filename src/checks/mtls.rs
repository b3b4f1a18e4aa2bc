//! mTLS acceptance (`tech_user`): what the tenant answered when the LMS certificate was presented
//! as LMS presents it. Classified by HTTP status (or a typed TLS alert), never by error text.

use super::failure::ApiFailure;
use crate::findings::{Code, Finding, Target};

/// The answer to one probe: an HTTP status, a TLS-level refusal of the client certificate, or
/// a failure to get any answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Status(u16),
    /// A status whose body explained it (an error's `scimType: detail`, already sanitised):
    /// judged like [`Answer::Status`], the explanation added to an unexpected answer's message.
    Explained(u16, String),
    /// The server refused the client certificate during or right after the handshake (a TLS
    /// alert such as bad_certificate, unknown_ca, certificate_required).
    CertificateRefused(String),
    Failed(ApiFailure),
}

#[derive(Debug, Clone)]
pub(crate) struct MtlsProbes {
    /// `GET <ias_url>/scim/Users?count=1`
    pub scim_read: Answer,
    /// `POST {}` to the real-time provisioning endpoint; `None` without `ips_source_system_id`.
    pub realtime: Option<Answer>,
    /// The URLs probed, for messages.
    pub scim_url: String,
    pub realtime_url: String,
}

pub(crate) fn check(ev: &MtlsProbes) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    let mut probe = |answer: &Answer,
                     url: &str,
                     what: &str,
                     ok: &[u16],
                     permission: &str,
                     out: &mut Vec<Finding>| {
        let (answer, detail) = match answer {
            Answer::Explained(s, d) => (&Answer::Status(*s), format!(": {d}")),
            a => (a, String::new()),
        };
        match answer {
            Answer::Status(401) => rejected.push(format!("{what} answered 401")),
            Answer::CertificateRefused(alert) => rejected.push(format!("{what}: the TLS handshake refused it ({alert})")),
            Answer::Status(403) => out.push(Finding::new(
                Code::TechUserMissingPermission,
                Target::TechUser,
                format!("{what} with the LMS certificate answered 403: the admin record lacks '{permission}' ({url})"),
            )),
            Answer::Status(s) if ok.contains(s) || (200..300).contains(s) => {}
            // (An explained answer was made a plain status above.)
            Answer::Status(s) | Answer::Explained(s, _) => out.push(Finding::new(
                Code::ApiError,
                Target::TechUser,
                format!("{what} with the LMS certificate answered HTTP {s} ({url}){detail}"),
            )),
            Answer::Failed(f) => {
                let new = f.finding(Target::TechUser, what);
                // The same failure on both probes (a throttled or unreachable tenant) is one
                // finding naming both.
                match out.iter_mut().find(|o| o.code == new.code && o.code != Code::TechUserMissingPermission) {
                    Some(o) => o.message = format!("{}; {}", o.message, new.message).into(),
                    None => out.push(new),
                }
            }
        }
    };
    probe(
        &ev.scim_read,
        &ev.scim_url,
        "SCIM read",
        &[],
        "Read Users",
        &mut out,
    );
    if let Some(rt) = &ev.realtime {
        // An empty object is refused with 400 by an endpoint that accepted and authorised us.
        probe(
            rt,
            &ev.realtime_url,
            "real-time provisioning",
            &[400],
            "Access Real-Time Provisioning API",
            &mut out,
        );
    }
    if !rejected.is_empty() {
        out.insert(
            0,
            Finding::new(
                Code::MtlsRejected,
                Target::TechUser,
                format!(
                    "the tenant does not accept the LMS certificate: {}",
                    rejected.join("; ")
                ),
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(scim: Answer, rt: Option<Answer>) -> MtlsProbes {
        MtlsProbes {
            scim_read: scim,
            realtime: rt,
            scim_url: "https://t/scim/Users?count=1".into(),
            realtime_url: "https://t/ipsproxy/service/api/v1/systems/s/entities/user".into(),
        }
    }

    fn codes(e: &MtlsProbes) -> Vec<Code> {
        check(e).iter().map(|f| f.code).collect()
    }

    #[test]
    fn statuses_map_to_codes() {
        assert!(codes(&ev(Answer::Status(200), Some(Answer::Status(400)))).is_empty());
        assert_eq!(
            codes(&ev(Answer::Status(401), Some(Answer::Status(401)))),
            [Code::MtlsRejected]
        );
        let f = check(&ev(Answer::Status(403), Some(Answer::Status(400))));
        assert_eq!(f[0].code, Code::TechUserMissingPermission);
        assert!(f[0].message.contains("'Read Users'"));
        let f = check(&ev(Answer::Status(200), Some(Answer::Status(403))));
        assert!(f[0].message.contains("'Access Real-Time Provisioning API'"));
        assert_eq!(
            codes(&ev(Answer::CertificateRefused("unknown_ca".into()), None)),
            [Code::MtlsRejected]
        );
        assert_eq!(
            codes(&ev(Answer::Status(200), Some(Answer::Status(500)))),
            [Code::ApiError]
        );
    }

    #[test]
    fn an_explained_answer_is_judged_by_its_status_and_says_why() {
        let explained = |s: u16| Answer::Explained(s, "invalidValue: System 42 not found".into());
        assert!(codes(&ev(explained(200), Some(explained(400)))).is_empty());
        assert_eq!(
            codes(&ev(explained(401), Some(explained(401)))),
            [Code::MtlsRejected]
        );
        let f = check(&ev(Answer::Status(200), Some(explained(404))));
        assert_eq!(f[0].code, Code::ApiError);
        assert!(
            f[0].message
                .ends_with(": invalidValue: System 42 not found"),
            "{}",
            f[0].message
        );
    }
}
