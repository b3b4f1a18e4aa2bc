//! Generated fleets and scenario files.

use chrono::{DateTime, Utc};
use mtls_audit_sim::{Scenario, generate};
use std::fmt::Write as _;

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The scenario without key material (certificates are new on every call).
fn without_certificates(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    for t in &mut s.tenants {
        for a in &mut t.admins {
            a.certificates.clear();
        }
        for sy in &mut t.systems {
            sy.inbound_certificates.clear();
        }
    }
    s
}

/// `generate(60, 7, 2025-07-15T09:30:00Z)` is pinned: the inventory CSV, every tenant's
/// profile and expected codes, and digests of the scenario (certificates stripped), the
/// secrets, the credentials file and the export's file list. Only key material may change
/// between versions of the generator; anything else showing up here is a change of behaviour.
#[test]
fn a_generated_fleet_is_pinned() {
    let today: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-07-15T09:30:00Z")
        .expect("constant date")
        .with_timezone(&Utc);
    let g = generate(60, 7, today).expect("the fleet generates");
    let scenario = without_certificates(&g.scenario);

    let mut tenants = String::new();
    for (t, spec) in g.tenants.iter().zip(&scenario.tenants) {
        let json = serde_json::to_vec(spec).expect("a tenant serializes");
        let _ = writeln!(
            tenants,
            "{:<14} {:<30} {:<9} {} {}",
            t.tenant_id,
            t.profile,
            spec.ips_type.as_str(),
            &sha256_hex(&json)[..16],
            if t.expected.is_empty() {
                "-".to_string()
            } else {
                t.expected.join(",")
            },
        );
    }
    insta::assert_snapshot!("fleet_60_7_tenants", tenants);
    insta::assert_snapshot!(
        "fleet_60_7_inventory",
        g.inventory_csv().expect("the inventory serializes")
    );

    let files: Vec<String> = g
        .files
        .iter()
        .map(|f| format!("{}{}", f.path, if f.private { " (private)" } else { "" }))
        .collect();
    let secrets: Vec<String> = g.secrets.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let digests = serde_json::json!({
        "description": g.scenario.description,
        "deadline": g.deadline,
        "scenario_without_certificates": sha256_hex(&serde_json::to_vec(&scenario).expect("json")),
        "tenants": sha256_hex(&serde_json::to_vec(&g.tenants).expect("json")),
        "secrets": sha256_hex(secrets.join("\n").as_bytes()),
        "credentials_toml": sha256_hex(g.credentials_toml.as_bytes()),
        "files": sha256_hex(files.join("\n").as_bytes()),
        "file_count": files.len(),
    });
    insta::assert_json_snapshot!("fleet_60_7_digests", digests);
}
