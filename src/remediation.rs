//! Remediation text: what the tenant's owner does about a finding, step by step, for the
//! tenant's IPS type (docs/spec.md §1: NEO imports the certificate in IPS *and* on the IAS admin
//! record; converged only on the IAS admin record).

use crate::findings::{Code, Target};
use crate::inventory::IpsType;
use crate::sap::admin_record;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::sync::Arc;

/// The tenant facts remediation text is written from, shared by all of a tenant's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantContext {
    /// The tenant ID, which names its IAS admin record `SAP LMS – <tenant>`.
    pub tenant_id: String,
    /// Which import steps apply: NEO imports in IPS and IAS, converged in IAS only.
    pub ips_type: IpsType,
    /// The IPS source system ID, named in the IPS import step when known.
    pub ips_source_system_id: Option<String>,
    /// The IPS job ID, named in the step for a failed job when known.
    pub job_id: Option<String>,
    /// The credential's name in the credentials file, named in the step for a refused
    /// credential when known.
    pub credential: Option<String>,
    /// The converged IPS the tenant has or will have after leaving NEO (`https://host[:port]`:
    /// the IPS URL of a converged tenant, the IAS URL of a NEO one), filled into the LMS
    /// settings to set; `None` when the inventory gives no URL.
    pub converged_ips: Option<String>,
}

impl TenantContext {
    pub(crate) fn context(&self) -> Context<'_> {
        Context {
            tenant_id: &self.tenant_id,
            ips_type: self.ips_type,
            ips_source_system_id: self.ips_source_system_id.as_deref(),
            job_id: self.job_id.as_deref(),
            credential: self.credential.as_deref(),
            converged_ips: self.converged_ips.as_deref(),
        }
    }
}

/// A finding's remediation. Audits render it on demand from the code, the target and the
/// tenant, so a 100,000-tenant run does not hold 100,000 near-identical copies of the steps;
/// reports read back from a file hold the text as written.
#[derive(Debug, Clone)]
pub enum Remediation {
    /// Steps as written: read back from an `audit.json`, or made up front (empty by default).
    Text(String),
    /// Steps written on demand for a finding of `code` about `target` on `tenant`.
    For {
        /// The finding's code: which procedure.
        code: Code,
        /// The finding's target: which certificate or endpoint the steps are about.
        target: Target,
        /// The tenant the steps are written for, shared by all its findings.
        tenant: Arc<TenantContext>,
    },
}

impl Remediation {
    pub(crate) fn text(&self) -> Cow<'_, str> {
        match self {
            Remediation::Text(t) => Cow::Borrowed(t),
            Remediation::For {
                code,
                target,
                tenant,
            } => Cow::Owned(for_code(*code, *target, &tenant.context())),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Remediation::Text(t) if t.is_empty())
    }
}

impl Default for Remediation {
    fn default() -> Self {
        Remediation::Text(String::new())
    }
}

impl PartialEq for Remediation {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Remediation {}

impl std::fmt::Display for Remediation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

impl Serialize for Remediation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Remediation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Remediation::Text)
    }
}

/// What the text needs to know about the tenant.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// As [`TenantContext::tenant_id`].
    pub tenant_id: &'a str,
    /// As [`TenantContext::ips_type`].
    pub ips_type: IpsType,
    /// As [`TenantContext::ips_source_system_id`].
    pub ips_source_system_id: Option<&'a str>,
    /// As [`TenantContext::job_id`].
    pub job_id: Option<&'a str>,
    /// As [`TenantContext::credential`].
    pub credential: Option<&'a str>,
    /// As [`TenantContext::converged_ips`].
    pub converged_ips: Option<&'a str>,
}

const GET_CERT: &str = "Download the new LMS certificate (cer.zip attached to SAP KBA 3247849) and unzip it; rename the .cer file to .crt if the console refuses it.";

fn ias_import(ctx: &Context<'_>) -> String {
    match ctx.ips_type {
        IpsType::Converged => format!(
            "In the IAS admin console open Users & Authorization → Administrators → '{}' → Configure System Authentication → Certificate → Browse, select the new certificate and Save.",
            admin_record(ctx.tenant_id)
        ),
        IpsType::Neo => format!(
            "In the IAS admin console open Users & Authorizations → Administrators → '{}' → Configure System Authentication → Certificate, import the new certificate and Save.",
            admin_record(ctx.tenant_id)
        ),
    }
}

fn ips_import(ctx: &Context<'_>) -> String {
    let system = match ctx.ips_source_system_id {
        Some(id) => format!("the SuccessFactors Learning source system ({id})"),
        None => "the SuccessFactors Learning source system".to_string(),
    };
    format!(
        "In the NEO IPS admin console open Source Systems → {system} → Inbound Certificates → Import and import the new certificate."
    )
}

fn permissions_step(ctx: &Context<'_>) -> String {
    format!(
        "Make sure 'Read Users' and 'Access Real-Time Provisioning API' are toggled on for '{}' (Users & Authorizations → Administrators).",
        admin_record(ctx.tenant_id)
    )
}

/// The import procedure for one certificate target, in order.
fn import_steps(target: Target, ctx: &Context<'_>) -> Vec<String> {
    let mut steps = vec![GET_CERT.to_string()];
    match (ctx.ips_type, target) {
        (IpsType::Neo, Target::IpsInboundCert) => steps.push(ips_import(ctx)),
        (IpsType::Neo, _) => {
            // Both places must hold it on NEO; the IAS record is the one named by the target.
            steps.push(ias_import(ctx));
        }
        (IpsType::Converged, _) => steps.push(ias_import(ctx)),
    }
    steps.push(permissions_step(ctx));
    steps.push("Delete the old certificate only after Real Time User Sync works with the new one, then audit again.".to_string());
    steps
}

/// Full rollover for the tenant (used where the failing part is not one file).
fn full_rollover(ctx: &Context<'_>) -> Vec<String> {
    let mut steps = vec![GET_CERT.to_string()];
    if ctx.ips_type == IpsType::Neo {
        steps.push(ips_import(ctx));
    }
    steps.push(ias_import(ctx));
    steps.push(permissions_step(ctx));
    steps
}

fn numbered(steps: Vec<String>) -> String {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

fn column_of(target: Target) -> &'static str {
    match target {
        Target::IpsInboundCert => "ips_inbound_cert",
        _ => "ias_admin_cert",
    }
}

/// The remediation for a finding of `code` about `target`, as numbered lines.
pub fn for_code(code: Code, target: Target, ctx: &Context<'_>) -> String {
    let steps: Vec<String> = match code {
        Code::CertExpired
        | Code::CertExpiresBeforeDeadline
        | Code::CertExpiresCritical
        | Code::CertExpiresSoon
        | Code::CertNotReference
        | Code::CertNoClientAuth
        | Code::CertWeakKey
        | Code::CertWeakSignature => import_steps(target, ctx),
        Code::CertValidityInverted => {
            let mut s = vec!["The certificate's validity is inverted (notBefore after notAfter): no client will accept it. Check that the file is the certificate SAP ships, not a damaged or hand-made one.".to_string()];
            s.extend(import_steps(target, ctx));
            s
        }
        Code::CertNotYetValid => {
            let mut s = vec!["Check that the file is the certificate LMS presents today (a not-yet-valid certificate is usually next year's, imported instead of this year's) and that --as-of is right.".to_string()];
            s.extend(import_steps(target, ctx));
            s
        }
        Code::CertUnreadable => {
            let where_ = match (ctx.ips_type, target) {
                (IpsType::Neo, Target::IpsInboundCert) => "the NEO IPS admin console (LMS source system → Inbound Certificates)".to_string(),
                _ => format!("the IAS admin console (Administrators → '{}' → Configure System Authentication → Certificate)", admin_record(ctx.tenant_id)),
            };
            vec![
                format!("Export the certificate again from {where_} as PEM or DER (.crt/.cer), or as the zip SAP ships."),
                format!("Point the inventory column {} at that file (paths are relative to the inventory's folder) and audit again.", column_of(target)),
            ]
        }
        Code::ServerCertExpired | Code::ServerCertExpiring => vec![
            "The server certificate of an SAP-hosted tenant is renewed by SAP: open an incident on component BC-IAM-IDS quoting the host and its expiry.".to_string(),
            "If the tenant uses a custom domain, renew that domain's certificate in the IAS admin console (Applications & Resources → Tenant Settings → Custom Domain).".to_string(),
        ],
        Code::ServerChainUntrusted => vec![
            "Compare the chain the server presents (see the report's certificates) with what LMS trusts; IPS proxy and real-time calls need DigiCert Global Root G2 (DigiCert Global Root CA is deprecated).".to_string(),
            "If the tenant uses a custom domain, install its full certificate chain.".to_string(),
            "If the audit runs behind a TLS-inspecting proxy, pass that proxy's CA with --ca-cert and audit again.".to_string(),
        ],
        Code::EndpointUnreachable => vec![
            "Check the tenant's URL in the inventory (typo, decommissioned or migrated tenant).".to_string(),
            "Check DNS, firewall and proxy from where the audit runs, then audit again.".to_string(),
        ],
        Code::SyncStale => {
            let mut s = vec!["If Learning users were created or changed in that period, Real Time User Sync is not reaching IAS: look at the IPS real-time logs for the Learning source system.".to_string()];
            s.push(match ctx.ips_type {
                IpsType::Converged => "In Learning (System Administration → Configuration → System Configuration → SAP CLOUD IDENTITY SERVICES) check enableRealtimeUserSync=true, ipsURL, ipsAPIUrl = <ipsURL>/ipsproxy/service/api and ipsSourceSystemID.".to_string(),
                IpsType::Neo => "In Learning (System Administration → Configuration → System Configuration → SAP CLOUD IDENTITY SERVICES) check enableRealtimeUserSync=true, ipsURL, ipsAPIUrl and ipsSourceSystemID.".to_string(),
            });
            s.extend(full_rollover(ctx).into_iter().skip(1).map(|x| format!("If the certificate was not rolled over yet: {x}")));
            s
        }
        Code::SyncTestUserLeftover => vec![
            "In the IAS admin console delete the user ias_test_user_27F5AAEA (Users & Authorizations → User Management); it is left over from a failed activation and blocks retries (SAP KBA 3248892).".to_string(),
            "In Learning activate Real Time User Sync again and create a test user to confirm it reaches IAS.".to_string(),
        ],
        Code::SyncJobFailed => {
            let job = ctx.job_id.map(|j| format!(" {j}")).unwrap_or_default();
            vec![
                format!("Open the IPS job log of job{job} (Monitoring → Provisioning Jobs) and read the failed entities."),
                "A common cause is a technical-user password that differs between LMS, IAS and IPS: make it the same in all three (SAP KBA 3248892).".to_string(),
                "Fix the failed entities and run the job again.".to_string(),
            ]
        }
        Code::ApiAuthFailed => {
            let cred = ctx.credential.map(|c| format!(" '{c}'")).unwrap_or_default();
            vec![
                format!("The audit's own credential{cred} was refused: check its client ID and secret in the credentials file and the environment variable or file it reads."),
                "Check that this System administrator has 'Read Users' (and 'Access Identity Provisioning Tenant Admin API' for job logs) and that its client ID is not locked (5 failed logons lock it for 60 minutes).".to_string(),
            ]
        }
        Code::ApiThrottled => vec![
            "IAS answered 429 Too Many Requests after every retry: audit this tenant again later, or with a lower --concurrency.".to_string(),
        ],
        Code::ApiError => vec![
            "The tenant's API answered with a server error or an answer the audit could not read, after every retry: audit this tenant again later.".to_string(),
            "If it persists, check the tenant's status on the SAP Trust Center and open an incident on component BC-IAM-IDS with the message of this finding.".to_string(),
        ],
        Code::MtlsRejected => full_rollover(ctx),
        Code::TechUserMissingPermission => vec![
            format!(
                "In the IAS admin console open Users & Authorizations → Administrators → '{}', toggle on the permission named in the finding and Save.",
                admin_record(ctx.tenant_id)
            ),
            "Then create a Learning-only test user and check it reaches IAS.".to_string(),
        ],
        Code::InventoryNothingToCheck => vec![
            format!(
                "Add evidence to the tenant's inventory row: ias_admin_cert{} exported from the console, tech_user_permissions, or ias_url with a credential for the live checks.",
                if ctx.ips_type == IpsType::Neo { " and ips_inbound_cert" } else { "" }
            ),
        ],
        Code::IpsNeoRetiring => {
            let ips_url = ctx
                .converged_ips
                .unwrap_or("https://<IAS tenant host>")
                .to_string();
            vec![
                "Migrate the tenant from NEO IPS to the converged IPS (SAP Cloud Identity infrastructure): SAP KBA 3718271 and the SAP Cloud Identity Services migration guide. Learning-only users lose real-time sync on NEO after 2026-07-09; NEO IPS is retired on 2028-12-31.".to_string(),
                "In the converged IPS, recreate the SuccessFactors Learning source system and note its ID (the end of its URL, after sourceSystems/).".to_string(),
                format!("In Learning (System Administration → Configuration → System Configuration → SAP CLOUD IDENTITY SERVICES) set ipsSourceSystemID to the new source system's ID, ipsURL to {ips_url} and ipsAPIUrl to {ips_url}{} (not the old form ending in /ips), as SAP KBA 3394484 describes.", crate::sap::CONVERGED_API_PATH),
                format!(
                    "In the IAS admin console open Users & Authorizations → Administrators → '{}', import the LMS certificate under Configure System Authentication → Certificate, and toggle on 'Read Users' and 'Access Real-Time Provisioning API'.",
                    admin_record(ctx.tenant_id)
                ),
                "Update the inventory (ips_type converged, ips_source_system_id, the lms_ips_* columns) and audit again.".to_string(),
            ]
        }
        Code::LmsConfigMismatch => {
            let (ips_url, api) = match ctx.converged_ips {
                Some(origin) => (
                    origin.to_string(),
                    format!("{origin}{}", crate::sap::CONVERGED_API_PATH),
                ),
                None => (
                    "the tenant's IPS URL".to_string(),
                    format!("the tenant's IPS URL + {}", crate::sap::CONVERGED_API_PATH),
                ),
            };
            let sid = ctx
                .ips_source_system_id
                .map(|s| format!("'{s}'"))
                .unwrap_or_else(|| "the ID of the LMS source system in IPS (the end of its URL, after sourceSystems/)".to_string());
            vec![
                format!("In Learning open System Administration → Configuration → System Configuration → SAP CLOUD IDENTITY SERVICES and set the value the finding names: ipsSourceSystemID = {sid}, ipsURL = {ips_url}, ipsAPIUrl = {api} (SAP KBA 3394484)."),
                "Save, create a Learning-only test user and check it reaches IAS (IPS real-time logs), then update the lms_ips_* columns of the inventory and audit again.".to_string(),
            ]
        }
        Code::CheckNotFinished => vec![
            "The audit was interrupted (Ctrl-C, SIGTERM or a stop) before the checks named in the finding finished: this tenant's result is incomplete, not OK.".to_string(),
            "Audit again and let the run finish; with many tenants, --tenant-deadline and --concurrency bound how long it takes.".to_string(),
        ],
        Code::InventoryDuplicateTenant | Code::InventoryInvalidRow => vec![
            "Correct the inventory row as the message says and audit again.".to_string(),
        ],
    };
    numbered(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(ips_type: IpsType) -> Context<'static> {
        Context {
            tenant_id: "ACME01",
            ips_type,
            ips_source_system_id: Some("sys-1"),
            job_id: None,
            credential: None,
            converged_ips: Some("https://acme.accounts.ondemand.com"),
        }
    }

    #[test]
    fn neo_and_converged_steps_differ() {
        let neo = for_code(
            Code::CertNotReference,
            Target::IpsInboundCert,
            &ctx(IpsType::Neo),
        );
        assert!(neo.contains("Inbound Certificates"), "{neo}");
        assert!(neo.contains("sys-1"));
        let conv = for_code(
            Code::CertNotReference,
            Target::IasAdminCert,
            &ctx(IpsType::Converged),
        );
        assert!(conv.contains("'SAP LMS – ACME01'"), "{conv}");
        assert!(conv.contains("Browse"));
        assert!(!conv.contains("Inbound Certificates"));
        assert!(conv.starts_with("1. "));
    }

    #[test]
    fn every_code_has_text() {
        for &code in Code::ALL {
            for t in [IpsType::Neo, IpsType::Converged] {
                assert!(
                    !for_code(code, Target::IasAdminCert, &ctx(t)).is_empty(),
                    "{code}"
                );
            }
        }
    }
}
