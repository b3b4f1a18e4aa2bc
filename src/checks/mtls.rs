//! mTLS acceptance (`tech_user`, docs/spec.md §5 and §8): what the tenant answered when an LMS
//! client certificate was presented as LMS presents it, for the identity LMS presents today
//! and, when given, the next one (the certificate LMS presents from `--cutover`). Classified by
//! HTTP status (or a typed TLS alert), never by error text.
//!
//! Each probe lands on a *place* where the tenant must have imported the certificate: the SCIM
//! read on the IAS admin record; the real-time POST on the IAS admin record of a converged
//! tenant and on the IPS Inbound Certificates of a NEO one.

use super::failure::ApiFailure;
use crate::dates::date;
use crate::findings::{Code, Finding, Level, Target};
use crate::inventory::IpsType;
use crate::result::{Place, PlaceState};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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

impl Answer {
    /// What the answer says of the certificate: refused (401 or a TLS alert), accepted (any
    /// other answer the tenant could only give after authenticating it: 2xx, 400, 403), or
    /// nothing (no answer, throttled, a server error).
    fn place_state(&self) -> PlaceState {
        match self.plain().0.as_ref() {
            Answer::Status(401) | Answer::CertificateRefused(_) => PlaceState::Rejected,
            Answer::Status(s) if (200..300).contains(s) || matches!(s, 400 | 403) => {
                PlaceState::Accepted
            }
            _ => PlaceState::Unknown,
        }
    }

    /// The answer judged by its status alone, and the explanation to add to a message.
    fn plain(&self) -> (std::borrow::Cow<'_, Answer>, String) {
        match self {
            Answer::Explained(s, d) => (
                std::borrow::Cow::Owned(Answer::Status(*s)),
                format!(": {d}"),
            ),
            a => (std::borrow::Cow::Borrowed(a), String::new()),
        }
    }
}

/// What one identity's probes got.
#[derive(Debug, Clone)]
pub(crate) struct IdentityProbes {
    /// `GET <ias_url>/scim/Users?count=1`
    pub scim_read: Answer,
    /// `POST {}` to the real-time provisioning endpoint; `None` without `ips_source_system_id`.
    pub realtime: Option<Answer>,
}

/// Everything the mTLS verdicts are made from.
#[derive(Debug, Clone)]
pub(crate) struct MtlsProbes {
    /// The identity of `--lms-cert/--lms-key` (what LMS presents before the cutover).
    pub current: Option<IdentityProbes>,
    /// The identity of `--next-lms-cert/--next-lms-key` (what LMS presents from the cutover).
    pub next: Option<IdentityProbes>,
    /// Which places the real-time probe lands on.
    pub ips_type: IpsType,
    /// The URLs probed, for messages.
    pub scim_url: String,
    pub realtime_url: String,
    /// When LMS starts presenting the next identity (`--cutover`), if known.
    pub cutover: Option<DateTime<Utc>>,
    /// The run's as-of time.
    pub as_of: DateTime<Utc>,
}

/// The verdicts: findings, and the next identity's state per place (for readiness).
#[derive(Debug, Clone, Default)]
pub(crate) struct MtlsVerdict {
    pub findings: Vec<Finding>,
    pub next_places: Option<BTreeMap<Place, PlaceState>>,
}

impl MtlsProbes {
    fn realtime_place(&self) -> Place {
        match self.ips_type {
            IpsType::Converged => Place::IasAdminRecord,
            IpsType::Neo => Place::IpsInbound,
        }
    }

    /// Each probe of an identity with its place, its name and its URL.
    fn probes<'a>(
        &'a self,
        p: &'a IdentityProbes,
    ) -> Vec<(Place, &'static str, &'a str, &'a Answer)> {
        let mut v = vec![(
            Place::IasAdminRecord,
            "SCIM read",
            self.scim_url.as_str(),
            &p.scim_read,
        )];
        if let Some(rt) = &p.realtime {
            v.push((
                self.realtime_place(),
                "real-time provisioning",
                self.realtime_url.as_str(),
                rt,
            ));
        }
        v
    }

    /// An identity's state per place: refused somewhere there → rejected; else accepted by a
    /// probe → accepted; else unknown.
    fn places(&self, p: &IdentityProbes) -> BTreeMap<Place, PlaceState> {
        let mut out: BTreeMap<Place, PlaceState> = BTreeMap::new();
        for (place, _, _, answer) in self.probes(p) {
            let s = answer.place_state();
            let e = out.entry(place).or_insert(PlaceState::Unknown);
            *e = match (*e, s) {
                (PlaceState::Rejected, _) | (_, PlaceState::Rejected) => PlaceState::Rejected,
                (PlaceState::Accepted, _) | (_, PlaceState::Accepted) => PlaceState::Accepted,
                _ => PlaceState::Unknown,
            };
        }
        out
    }

    fn cutover_passed(&self) -> bool {
        self.cutover.is_some_and(|c| self.as_of >= c)
    }
}

fn place_text(place: Place) -> &'static str {
    match place {
        Place::IasAdminRecord => "the IAS admin record",
        Place::IpsInbound => "the IPS Inbound Certificates",
    }
}

/// The target a place's certificate is judged under: its remediation imports exactly there.
fn place_target(place: Place) -> Target {
    match place {
        Place::IasAdminRecord => Target::IasAdminCert,
        Place::IpsInbound => Target::IpsInboundCert,
    }
}

/// Findings for the identity LMS presents at `as-of` (docs/spec.md §5): refusals, missing
/// permissions, odd answers and failures to get one.
fn presented(probes: &MtlsProbes, p: &IdentityProbes, which: &str, out: &mut Vec<Finding>) {
    let mut rejected: Vec<String> = Vec::new();
    for (place, what, url, answer) in probes.probes(p) {
        let permission = match what {
            "SCIM read" => "Read Users",
            _ => "Access Real-Time Provisioning API",
        };
        let (answer, detail) = answer.plain();
        match answer.as_ref() {
            Answer::Status(401) => {
                rejected.push(format!("{what} answered 401 ({})", place_text(place)))
            }
            Answer::CertificateRefused(alert) => rejected.push(format!(
                "{what}: the TLS handshake refused it ({alert}; {})",
                place_text(place)
            )),
            Answer::Status(403) => out.push(Finding::new(
                Code::TechUserMissingPermission,
                Target::TechUser,
                format!(
                    "{what} with the LMS certificate answered 403: the admin record lacks '{permission}' ({url})"
                ),
            )),
            // An empty object is refused with 400 by an endpoint that accepted and authorised us.
            Answer::Status(s) if (200..300).contains(s) || (*s == 400 && what != "SCIM read") => {}
            Answer::Status(s) => out.push(Finding::new(
                Code::ApiError,
                Target::TechUser,
                format!("{what} with the LMS certificate answered HTTP {s} ({url}){detail}"),
            )),
            // (An explained answer was made a plain status above.)
            Answer::Explained(..) => {}
            Answer::Failed(f) => merge_failure(out, f.finding(Target::TechUser, what)),
        }
    }
    if !rejected.is_empty() {
        let msg = if which == "next" {
            format!(
                "the tenant does not accept the new LMS certificate, which LMS presents since the cutover on {}: {}",
                probes.cutover.map(date).unwrap_or_default(),
                rejected.join("; ")
            )
        } else {
            format!(
                "the tenant does not accept the LMS certificate: {}",
                rejected.join("; ")
            )
        };
        out.insert(0, Finding::new(Code::MtlsRejected, Target::TechUser, msg));
    }
}

/// The same failure on several probes (a throttled or unreachable tenant) is one finding
/// naming them all.
fn merge_failure(out: &mut Vec<Finding>, new: Finding) {
    match out
        .iter_mut()
        .find(|o| o.code == new.code && o.code != Code::TechUserMissingPermission)
    {
        Some(o) => o.message = format!("{}; {}", o.message, new.message).into(),
        None => out.push(new),
    }
}

/// The verdicts of docs/spec.md §8: before the cutover the current identity is judged as LMS
/// presents it and the next one for readiness (`MTLS_NEXT_REJECTED`, AT_RISK, per place); on or
/// after the cutover the next identity is the one LMS presents (`MTLS_REJECTED` when refused)
/// and the current one is no longer judged.
pub(crate) fn check(probes: &MtlsProbes) -> MtlsVerdict {
    let mut out = Vec::new();
    let after = probes.cutover_passed();
    match (&probes.current, &probes.next, after) {
        (_, Some(next), true) => presented(probes, next, "next", &mut out),
        (Some(current), _, _) => presented(probes, current, "current", &mut out),
        // Only the next identity, before the cutover: no identity is presented yet, but the
        // tenant's answers to it still tell about permissions and reachability.
        (None, Some(next), false) => presented(probes, next, "only-next", &mut out),
        (None, None, _) => {}
    }
    // The only-next case judged refusals as MTLS_REJECTED above; before the cutover they are
    // not refusals of what LMS presents: they become MTLS_NEXT_REJECTED below.
    if probes.current.is_none() && !after {
        out.retain(|f| f.code != Code::MtlsRejected);
    }
    let next_places = probes.next.as_ref().map(|n| probes.places(n));
    if let (Some(places), false) = (&next_places, after) {
        let cutover = match probes.cutover {
            Some(c) => format!("from the cutover on {}", date(c)),
            None => "from the cutover (no --cutover date given)".to_string(),
        };
        for (place, state) in places {
            if *state != PlaceState::Rejected {
                continue;
            }
            let how: Vec<String> = probes
                .next
                .as_ref()
                .map(|n| probes.probes(n))
                .unwrap_or_default()
                .into_iter()
                .filter(|(p, _, _, a)| p == place && a.place_state() == PlaceState::Rejected)
                .map(|(_, what, _, a)| match a {
                    Answer::CertificateRefused(alert) => {
                        format!("{what}: the TLS handshake refused it ({alert})")
                    }
                    _ => format!("{what} answered 401"),
                })
                .collect();
            out.push(
                Finding::new(
                    Code::MtlsNextRejected,
                    place_target(*place),
                    format!(
                        "the next LMS certificate is not accepted at {} ({}); LMS presents it {cutover}, when Real Time User Sync and site creation will fail here",
                        place_text(*place),
                        how.join("; ")
                    ),
                )
                .with_level(Level::AtRisk),
            );
        }
    }
    MtlsVerdict {
        findings: out,
        next_places,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn id(scim: Answer, rt: Option<Answer>) -> IdentityProbes {
        IdentityProbes {
            scim_read: scim,
            realtime: rt,
        }
    }

    fn probes(
        ips_type: IpsType,
        current: Option<IdentityProbes>,
        next: Option<IdentityProbes>,
        as_of: &str,
    ) -> MtlsProbes {
        MtlsProbes {
            current,
            next,
            ips_type,
            scim_url: "https://t/scim/Users?count=1".into(),
            realtime_url: "https://t/ipsproxy/service/api/v1/systems/s/entities/user".into(),
            cutover: Some(at("2026-12-31T00:00:00Z")),
            as_of: at(as_of),
        }
    }

    fn codes(v: &MtlsVerdict) -> Vec<String> {
        v.findings
            .iter()
            .map(|f| format!("{}@{}:{}", f.code, f.target, f.level))
            .collect()
    }

    const OK: fn() -> IdentityProbes = || id(Answer::Status(200), Some(Answer::Status(400)));
    const REFUSED: fn() -> IdentityProbes = || id(Answer::Status(401), Some(Answer::Status(401)));
    const BEFORE: &str = "2026-12-01T00:00:00Z";
    const AFTER: &str = "2026-12-31T00:00:00Z";

    #[test]
    fn an_explained_answer_is_judged_by_its_status_and_says_why() {
        let explained = |s: u16| Answer::Explained(s, "invalidValue: System 42 not found".into());
        let v = |scim, rt| {
            check(&probes(
                IpsType::Converged,
                Some(id(scim, rt)),
                None,
                BEFORE,
            ))
        };
        assert!(codes(&v(explained(200), Some(explained(400)))).is_empty());
        assert_eq!(
            codes(&v(explained(401), Some(explained(401)))),
            ["MTLS_REJECTED@tech_user:FAILING"]
        );
        let f = v(Answer::Status(200), Some(explained(404))).findings;
        assert_eq!(f[0].code, Code::ApiError);
        assert!(
            f[0].message
                .ends_with(": invalidValue: System 42 not found"),
            "{}",
            f[0].message
        );
        let n = check(&probes(
            IpsType::Neo,
            Some(OK()),
            Some(id(explained(401), None)),
            BEFORE,
        ));
        assert_eq!(codes(&n), ["MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK"]);
    }

    #[test]
    fn statuses_map_to_codes_for_the_presented_identity() {
        let v = |scim, rt| {
            check(&probes(
                IpsType::Converged,
                Some(id(scim, rt)),
                None,
                BEFORE,
            ))
        };
        assert!(codes(&v(Answer::Status(200), Some(Answer::Status(400)))).is_empty());
        assert_eq!(
            codes(&v(Answer::Status(401), Some(Answer::Status(401)))),
            ["MTLS_REJECTED@tech_user:FAILING"]
        );
        let f = v(Answer::Status(403), Some(Answer::Status(400))).findings;
        assert_eq!(f[0].code, Code::TechUserMissingPermission);
        assert!(f[0].message.contains("'Read Users'"));
        let f = v(Answer::Status(200), Some(Answer::Status(403))).findings;
        assert!(f[0].message.contains("'Access Real-Time Provisioning API'"));
        assert_eq!(
            codes(&v(Answer::CertificateRefused("unknown_ca".into()), None)),
            ["MTLS_REJECTED@tech_user:FAILING"]
        );
        assert_eq!(
            codes(&v(Answer::Status(200), Some(Answer::Status(500)))),
            ["API_ERROR@tech_user:UNKNOWN"]
        );
    }

    /// Every cell of docs/spec.md §8's table: before/after the cutover × accepted/refused per
    /// place × NEO/converged.
    #[test]
    fn the_verdict_table() {
        use IpsType::*;
        let neo_partial = || id(Answer::Status(200), Some(Answer::Status(401)));
        let neo_ias_only_refused = || id(Answer::Status(401), Some(Answer::Status(400)));
        let cases: Vec<(IpsType, IdentityProbes, IdentityProbes, &str, Vec<&str>)> = vec![
            // Before the cutover: the current identity decides today, the next one readiness.
            (Converged, OK(), OK(), BEFORE, vec![]),
            (
                Converged,
                OK(),
                REFUSED(),
                BEFORE,
                vec!["MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK"],
            ),
            (
                Converged,
                REFUSED(),
                OK(),
                BEFORE,
                vec!["MTLS_REJECTED@tech_user:FAILING"],
            ),
            (
                Converged,
                REFUSED(),
                REFUSED(),
                BEFORE,
                vec![
                    "MTLS_REJECTED@tech_user:FAILING",
                    "MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK",
                ],
            ),
            (
                Neo,
                OK(),
                neo_partial(),
                BEFORE,
                vec!["MTLS_NEXT_REJECTED@ips_inbound_cert:AT_RISK"],
            ),
            (
                Neo,
                OK(),
                neo_ias_only_refused(),
                BEFORE,
                vec!["MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK"],
            ),
            (
                Neo,
                OK(),
                REFUSED(),
                BEFORE,
                vec![
                    "MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK",
                    "MTLS_NEXT_REJECTED@ips_inbound_cert:AT_RISK",
                ],
            ),
            (
                Neo,
                REFUSED(),
                OK(),
                BEFORE,
                vec!["MTLS_REJECTED@tech_user:FAILING"],
            ),
            // On or after the cutover: the next identity is what LMS presents.
            (Converged, OK(), OK(), AFTER, vec![]),
            (
                Converged,
                OK(),
                REFUSED(),
                AFTER,
                vec!["MTLS_REJECTED@tech_user:FAILING"],
            ),
            (Converged, REFUSED(), OK(), AFTER, vec![]),
            (Neo, REFUSED(), OK(), AFTER, vec![]),
            (
                Neo,
                OK(),
                neo_partial(),
                AFTER,
                vec!["MTLS_REJECTED@tech_user:FAILING"],
            ),
        ];
        for (i, (ips, current, next, as_of, want)) in cases.into_iter().enumerate() {
            let v = check(&probes(ips, Some(current), Some(next), as_of));
            assert_eq!(codes(&v), want, "case {i}");
        }
        // After the cutover the message says it is the new certificate.
        let v = check(&probes(Converged, Some(OK()), Some(REFUSED()), AFTER));
        assert!(
            v.findings[0].message.contains("new LMS certificate"),
            "{}",
            v.findings[0].message
        );
        // The next-identity finding names the place and the cutover date.
        let v = check(&probes(Neo, Some(OK()), Some(neo_partial()), BEFORE));
        let m = &v.findings[0].message;
        assert!(
            m.contains("IPS Inbound Certificates") && m.contains("2026-12-31"),
            "{m}"
        );
    }

    #[test]
    fn places_of_the_next_identity_feed_readiness() {
        let v = check(&probes(
            IpsType::Neo,
            None,
            Some(id(Answer::Status(403), Some(Answer::Status(401)))),
            BEFORE,
        ));
        let places = v.next_places.unwrap();
        assert_eq!(places[&Place::IasAdminRecord], PlaceState::Accepted);
        assert_eq!(places[&Place::IpsInbound], PlaceState::Rejected);
        // Without an answer the place is unknown, and no finding is made up.
        let v = check(&probes(
            IpsType::Converged,
            None,
            Some(id(
                Answer::Failed(ApiFailure::Unreachable("x".into())),
                None,
            )),
            BEFORE,
        ));
        assert_eq!(
            v.next_places.clone().unwrap()[&Place::IasAdminRecord],
            PlaceState::Unknown
        );
        assert!(
            !codes(&v).iter().any(|c| c.starts_with("MTLS")),
            "{:?}",
            codes(&v)
        );
        // Only the next identity, before the cutover: a refusal is not MTLS_REJECTED.
        let v = check(&probes(IpsType::Converged, None, Some(REFUSED()), BEFORE));
        assert_eq!(codes(&v), ["MTLS_NEXT_REJECTED@ias_admin_cert:AT_RISK"]);
        // Without the next identity, no readiness from probes.
        assert!(
            check(&probes(IpsType::Converged, Some(OK()), None, BEFORE))
                .next_places
                .is_none()
        );
    }
}
