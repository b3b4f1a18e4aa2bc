//! Builds one generated tenant from its profile, aspect by aspect, in the fixed order of the
//! seeded draws: identity, IPS systems, audit credential, users, groups, applications, last
//! job, certificates, admin records, faults, inventory row. Changing the order changes every
//! fleet; `crates/sim/tests/contract/fleets.rs` pins one.

use super::certs::{self, FleetPki};
use super::profiles::{self, Profile};
use super::{GenerateError, Generated, GeneratedTenant, admins, credentials, directory};
use super::{faults, identity, inventory, jobs, systems};
use crate::scenario::{IpsType, TenantSpec};
use std::collections::BTreeMap;

/// Adds the `i`-th tenant, with `profile` (`None`: healthy), to `out`, and its audit credential
/// to `credentials`.
pub(crate) fn build_tenant(
    i: usize,
    profile: Option<&'static Profile>,
    pki: &FleetPki,
    rng: &mut fastrand::Rng,
    out: &mut Generated,
    credentials: &mut BTreeMap<String, toml::Table>,
) -> Result<(), GenerateError> {
    let today = pki.today;
    let name = profile.map_or("healthy", |p| p.name);
    let who = identity::identity(i, profile, rng);
    let mut systems = systems::ips_systems(rng);
    let lms_system_id = systems[0].id.clone();
    let reader = credentials::reader(name, rng);
    let directory::Users { users, lms_users } =
        directory::users(&who, name == "stale_with_leftover", today, rng);
    let groups = directory::groups(&users, rng);
    let applications = directory::applications(&who.tenant_id, rng);
    let job = jobs::last_job(name, &lms_system_id, lms_users, today, rng);
    let certificates = certs::certificates(name, who.ips_type, pki)?;
    if who.ips_type == IpsType::Neo {
        systems[0].inbound_certificates = certificates.inbound_certs.clone();
    }
    let lms_permissions = admins::lms_permissions(name);
    let (admins, reader_cert) = admins::admin_records(
        &who,
        &lms_permissions,
        certificates.admin_certs.clone(),
        &reader,
        pki,
        rng,
    )?;

    let row = inventory::row(
        &inventory::RowFacts {
            name,
            who: &who,
            lms_system_id: &lms_system_id,
            lms_permissions: &lms_permissions,
            job_id: &job.id,
            certificates: &certificates,
            reader: &reader,
            reader_cert: reader_cert.as_ref(),
        },
        rng,
    );
    let spec = TenantSpec {
        id: who.tenant_id.clone(),
        ips_type: who.ips_type,
        environment: who.environment,
        ias_host: who.ias_host.clone(),
        ips_host: who.ips_host.clone(),
        ips_cert_host: who.ips_cert_host.clone(),
        token_lifetime_secs: 3600,
        admins,
        systems,
        users,
        groups,
        applications,
        // Only converged tenants expose job logs.
        jobs: if who.ips_type == IpsType::Converged {
            vec![job]
        } else {
            Vec::new()
        },
        schemas: Vec::new(),
        faults: faults::faults(name),
    };

    out.files.extend(row.files);
    out.secrets.extend(row.secret);
    if let Some((cred, table)) = row.credential {
        credentials.insert(cred, table);
    }
    out.tenants
        .push(expectations(who.tenant_id, profile, who.ips_type));
    out.inventory.push(row.row);
    out.scenario.tenants.push(spec);
    Ok(())
}

/// The profile name of a tenant built healthy on NEO: NEO IPS itself is a finding
/// (`IPS_NEO_RETIRING`, KBA 3718271), so such a tenant is not `healthy`.
pub(crate) const NEO_RETIRING: &str = "neo_retiring";

/// The finding every NEO tenant gets, whatever else is wrong with it: NEO IPS is being retired
/// (docs/sap-facts.md §8, KBA 3718271).
const NEO_FINDING: &str = "IPS_NEO_RETIRING@inventory";

/// What the audit must say about a tenant with `profile` on `ips_type`.
fn expectations(
    tenant_id: String,
    profile: Option<&Profile>,
    ips_type: IpsType,
) -> GeneratedTenant {
    let strings = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let neo = ips_type == IpsType::Neo;
    let (mut expected_findings, tolerated, description) = match profile {
        Some(p) => (
            strings(p.expected),
            strings(p.tolerated),
            p.description.to_string(),
        ),
        None if neo => (
            Vec::new(),
            Vec::new(),
            "on NEO IPS, otherwise healthy: every other check passes, ready for the cutover"
                .to_string(),
        ),
        None => (
            Vec::new(),
            Vec::new(),
            "healthy: every check passes, ready for the cutover".to_string(),
        ),
    };
    if neo {
        expected_findings.push(NEO_FINDING.to_string());
    }
    let mut expected: Vec<String> = expected_findings
        .iter()
        .map(|f| f.split('@').next().unwrap_or(f).to_string())
        .collect();
    expected.sort();
    expected.dedup();
    GeneratedTenant {
        tenant_id,
        profile: match profile {
            Some(p) => p.name,
            None if neo => NEO_RETIRING,
            None => "healthy",
        }
        .to_string(),
        description,
        expected,
        expected_findings,
        tolerated,
        readiness: profile.map_or(profiles::READY, |p| p.readiness).to_string(),
    }
}
