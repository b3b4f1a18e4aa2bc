//! The offline audit end to end through the binary: every certificate, permission and inventory
//! code fires on the case made for it and stays quiet on a clean tenant; rows in = tenants out +
//! errors; exit codes follow --fail-on.

use crate::harness::*;
use mtls_audit_sim::pki::{Eku, Issued};
use serde_json::Value;

const PERMS: &str = "Read Users;Access Real-Time Provisioning API";

/// A small fleet in a temp dir: certificate files plus an inventory, audited offline.
struct Fleet {
    dir: TestDir,
    rows: Vec<String>,
    as_of: String,
}

impl Fleet {
    fn new() -> Fleet {
        Fleet {
            dir: TestDir::new(),
            rows: Vec::new(),
            as_of: AS_OF.to_string(),
        }
    }

    fn cert(&self, name: &str, issued: &Issued) -> String {
        let rel = format!("certs/{name}.pem");
        self.dir.write(&rel, &issued.cert_pem);
        rel
    }

    /// A NEO tenant with the same certificate file on both targets.
    fn neo(&mut self, id: &str, cert: &str, perms: &str) {
        self.rows
            .push(format!("{id},neo,{cert},{cert},\"{perms}\",owner-{id}"));
    }

    fn converged(&mut self, id: &str, cert: &str, perms: &str) {
        self.rows
            .push(format!("{id},converged,{cert},,\"{perms}\",owner-{id}"));
    }

    fn raw(&mut self, row: &str) {
        self.rows.push(row.to_string());
    }

    fn audit(&self, extra: &[&str]) -> (Run, Value) {
        let mut inv = String::from(
            "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n",
        );
        for r in &self.rows {
            inv.push_str(r);
            inv.push('\n');
        }
        self.dir.write("inventory.csv", inv);
        let mut args = vec![
            "audit",
            "inventory.csv",
            "--offline",
            "--as-of",
            &self.as_of,
            "--out",
            "out",
        ];
        args.extend_from_slice(extra);
        let run = self.dir.run(&args);
        let json = serde_json::from_str(&self.dir.read("out/audit.json"))
            .unwrap_or_else(|e| panic!("audit.json: {e}\n{}", run.describe()));
        (run, json)
    }
}

fn tenant<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["tenants"]
        .as_array()
        .expect("tenants array")
        .iter()
        .find(|t| t["tenant_id"] == id)
        .unwrap_or_else(|| panic!("tenant {id} missing in {json:#}"))
}

/// `CODE@target:LEVEL` of every finding of a tenant.
/// The tenant's findings as `CODE@target:LEVEL`, without `IPS_NEO_RETIRING`: every NEO tenant
/// gets that one from its IPS type (tests/neo.rs covers it), whatever its certificates.
fn findings(json: &Value, id: &str) -> Vec<String> {
    tenant(json, id)["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["code"] != "IPS_NEO_RETIRING")
        .map(|f| {
            format!(
                "{}@{}:{}",
                f["code"].as_str().unwrap_or("?"),
                f["target"].as_str().unwrap_or("?"),
                f["level"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

fn codes(json: &Value, id: &str) -> Vec<String> {
    let mut v: Vec<String> = findings(json, id)
        .into_iter()
        .map(|f| f.split('@').next().unwrap_or("").to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn every_certificate_code_fires_on_its_case_and_not_on_a_clean_tenant() {
    let ca = ca();
    let mut f = Fleet::new();
    let clean = f.cert("clean", &client_cert(&ca, "LMS", -30, 335));
    let expired = f.cert("expired", &client_cert(&ca, "LMS", -400, -1));
    let future = f.cert("future", &client_cert(&ca, "LMS", 5, 400));
    let deadline = f.cert("deadline", &client_cert(&ca, "LMS", -300, 45));
    let critical = f.cert("critical", &client_cert(&ca, "LMS", -300, 10));
    let soon = f.cert("soon", &client_cert(&ca, "LMS", -300, 20));
    let server_only = f.cert(
        "server-only",
        &leaf_with(&ca, |s| s.ekus = Some(vec![Eku::ServerAuth])),
    );
    let no_eku = f.cert("no-eku", &leaf_with(&ca, |s| s.ekus = None));
    f.neo("CLEAN", &clean, PERMS);
    f.converged("CLEANC", &clean, PERMS);
    f.neo("EXPIRED", &expired, PERMS);
    f.neo("FUTURE", &future, PERMS);
    f.neo("DEADLINE", &deadline, PERMS);
    f.neo("CRITICAL", &critical, PERMS);
    f.neo("SOON", &soon, PERMS);
    f.neo("SERVERONLY", &server_only, PERMS);
    f.neo("NOEKU", &no_eku, PERMS);
    f.neo("MISSING", "certs/does-not-exist.pem", PERMS);
    let (run, json) = f.audit(&["--deadline", "2025-09-10"]);
    run.expect_code(1);

    assert!(
        findings(&json, "CLEAN").is_empty(),
        "{:?}",
        findings(&json, "CLEAN")
    );
    // A clean NEO tenant is still on NEO IPS, which is being retired (a warning, tests/neo.rs).
    assert_eq!(tenant(&json, "CLEAN")["risk"], "WARN");
    assert_eq!(tenant(&json, "CLEANC")["risk"], "OK");
    assert_eq!(
        findings(&json, "EXPIRED"),
        [
            "CERT_EXPIRED@ias_admin_cert:FAILING",
            "CERT_EXPIRED@ips_inbound_cert:FAILING"
        ]
    );
    assert_eq!(tenant(&json, "EXPIRED")["risk"], "FAILING");
    assert_eq!(codes(&json, "FUTURE"), ["CERT_NOT_YET_VALID"]);
    assert_eq!(codes(&json, "DEADLINE"), ["CERT_EXPIRES_BEFORE_DEADLINE"]);
    assert_eq!(
        codes(&json, "CRITICAL"),
        ["CERT_EXPIRES_BEFORE_DEADLINE", "CERT_EXPIRES_CRITICAL"]
    );
    assert_eq!(
        codes(&json, "SOON"),
        ["CERT_EXPIRES_BEFORE_DEADLINE", "CERT_EXPIRES_SOON"]
    );
    assert!(findings(&json, "SOON").contains(&"CERT_EXPIRES_SOON@ias_admin_cert:WARN".to_string()));
    assert_eq!(codes(&json, "SERVERONLY"), ["CERT_NO_CLIENT_AUTH"]);
    assert!(
        findings(&json, "NOEKU").is_empty(),
        "no EKU extension allows any use"
    );
    assert_eq!(
        findings(&json, "MISSING"),
        [
            "CERT_UNREADABLE@ias_admin_cert:UNKNOWN",
            "CERT_UNREADABLE@ips_inbound_cert:UNKNOWN"
        ]
    );
    let msg = tenant(&json, "MISSING")["findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        msg.contains("does-not-exist.pem") && msg.contains("does not exist"),
        "{msg}"
    );
}

#[test]
fn warning_windows_have_exact_boundaries() {
    let ca = ca();
    let mut f = Fleet::new();
    for d in [14, 15, 30, 31] {
        // Valid until exactly d days after the as-of instant: days_left = d.
        let c = f.cert(&format!("d{d}"), &client_cert(&ca, "LMS", -100, d));
        f.converged(&format!("D{d}"), &c, PERMS);
    }
    let (_, json) = f.audit(&[]);
    assert_eq!(codes(&json, "D14"), ["CERT_EXPIRES_CRITICAL"]);
    assert_eq!(codes(&json, "D15"), ["CERT_EXPIRES_SOON"]);
    assert_eq!(codes(&json, "D30"), ["CERT_EXPIRES_SOON"]);
    assert!(codes(&json, "D31").is_empty());
    assert_eq!(tenant(&json, "D14")["certificates"][0]["days_left"], 14);
    // The thresholds are options.
    let (_, json) = f.audit(&["--warn-days", "10", "--critical-days", "3"]);
    assert!(codes(&json, "D14").is_empty(), "{:?}", codes(&json, "D14"));
}

#[test]
fn weak_keys_and_signatures_from_openssl() {
    let mut f = Fleet::new();
    // openssl 3.0 cannot backdate, so these certificates are judged as of today.
    f.as_of = (chrono::Utc::now() + chrono::Duration::minutes(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let dir = f.dir.path().to_path_buf();
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    let make = |name: &str, key: &str, md: &str| {
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                key,
                md,
                "-nodes",
                "-keyout",
                "/dev/null",
                "-out",
                &format!("certs/{name}.pem"),
                "-days",
                "3650",
                "-subj",
                "/CN=weak test",
            ],
            &dir,
        );
        format!("certs/{name}.pem")
    };
    let rsa1024 = make("rsa1024", "rsa:1024", "-sha256");
    let sha1 = make("sha1", "rsa:2048", "-sha1");
    let strong = make("strong", "rsa:2048", "-sha256");
    f.converged("RSA1024", &rsa1024, PERMS);
    f.converged("SHA1", &sha1, PERMS);
    f.converged("STRONG", &strong, PERMS);
    let (_, json) = f.audit(&[]);
    assert_eq!(
        findings(&json, "RSA1024"),
        ["CERT_WEAK_KEY@ias_admin_cert:WARN"]
    );
    assert_eq!(
        findings(&json, "SHA1"),
        ["CERT_WEAK_SIGNATURE@ias_admin_cert:WARN"]
    );
    assert!(
        findings(&json, "STRONG").is_empty(),
        "{:?}",
        findings(&json, "STRONG")
    );
    assert_eq!(tenant(&json, "RSA1024")["risk"], "WARN");
    let key = &tenant(&json, "RSA1024")["certificates"][0]["key"];
    assert_eq!(
        (key["type"].as_str(), key["bits"].as_u64()),
        (Some("RSA"), Some(1024))
    );
}

/// A fleet folder holding this year's LMS certificate (also written as `reference.pem`) and
/// last year's; returns it with their paths for inventory rows (new, old).
fn new_and_old() -> (Fleet, String, String) {
    let ca = ca();
    let f = Fleet::new();
    let new = client_cert(&ca, "LMS 2025", -10, 355);
    let old = client_cert(&ca, "LMS 2024", -300, 60);
    let new_rel = f.cert("new", &new);
    let old_rel = f.cert("old", &old);
    f.dir.write("reference.pem", &new.cert_pem);
    (f, new_rel, old_rel)
}

#[test]
fn reference_certificate_and_cutover() {
    let (mut f, new_rel, old_rel) = new_and_old();
    f.neo("UPDATED", &new_rel, PERMS);
    f.raw(&format!("HALF,neo,{new_rel},{old_rel},\"{PERMS}\",x"));
    f.converged("STALE", &old_rel, PERMS);

    // Without --reference-cert the comparison does not run.
    let (_, json) = f.audit(&[]);
    assert!(codes(&json, "STALE").is_empty());
    assert!(tenant(&json, "STALE")["certificates"][0]["reference_match"].is_null());
    let not_run = tenant(&json, "STALE")["checks_not_run"]
        .as_array()
        .unwrap()
        .clone();
    assert!(not_run.contains(&Value::from("reference")), "{not_run:?}");

    let (run, json) = f.audit(&["--reference-cert", "reference.pem"]);
    run.expect_code(1);
    assert!(findings(&json, "UPDATED").is_empty());
    assert_eq!(
        tenant(&json, "UPDATED")["certificates"][0]["reference_match"],
        true
    );
    assert_eq!(
        findings(&json, "HALF"),
        ["CERT_NOT_REFERENCE@ips_inbound_cert:AT_RISK"]
    );
    assert_eq!(
        findings(&json, "STALE"),
        ["CERT_NOT_REFERENCE@ias_admin_cert:AT_RISK"]
    );
    let csv = f.dir.read("out/audit.csv");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("2,UPDATED,") && l.contains(",yes,")),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("3,HALF,") && l.contains(",no,")),
        "{csv}"
    );

    // From the cutover on, a tenant without the new certificate is already failing.
    let (_, json) = f.audit(&[
        "--reference-cert",
        "reference.pem",
        "--cutover",
        "2025-07-01",
    ]);
    assert_eq!(
        findings(&json, "STALE"),
        ["CERT_NOT_REFERENCE@ias_admin_cert:FAILING"]
    );
    assert!(findings(&json, "UPDATED").is_empty());
    let (_, json) = f.audit(&[
        "--reference-cert",
        "reference.pem",
        "--cutover",
        "2025-07-31",
    ]);
    assert_eq!(
        findings(&json, "STALE"),
        ["CERT_NOT_REFERENCE@ias_admin_cert:AT_RISK"]
    );
}

#[test]
fn declared_permissions_and_nothing_to_check() {
    let ca = ca();
    let mut f = Fleet::new();
    let clean = f.cert("clean", &client_cert(&ca, "LMS", -30, 335));
    f.converged(
        "BOTH",
        &clean,
        "read users; ACCESS REAL-TIME PROVISIONING API",
    );
    f.converged("ONE", &clean, "Read Users;Manage Users");
    f.converged("NONE", &clean, "none");
    f.converged("UNDECLARED", &clean, "");
    f.raw("EMPTY,neo,,,,nobody");
    f.raw("PERMSONLY,neo,,,Read Users,x");
    let (_, json) = f.audit(&[]);
    assert!(findings(&json, "BOTH").is_empty());
    let one = findings(&json, "ONE");
    assert_eq!(one, ["TECH_USER_MISSING_PERMISSION@tech_user:AT_RISK"]);
    let msg = tenant(&json, "ONE")["findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(msg.contains("Access Real-Time Provisioning API"), "{msg}");
    assert_eq!(findings(&json, "NONE").len(), 2);
    assert!(findings(&json, "UNDECLARED").is_empty());
    let not_run = &tenant(&json, "UNDECLARED")["checks_not_run"];
    assert!(
        not_run
            .as_array()
            .unwrap()
            .contains(&Value::from("declared_permissions"))
    );
    assert_eq!(
        findings(&json, "EMPTY"),
        ["INVENTORY_NOTHING_TO_CHECK@inventory:UNKNOWN"]
    );
    assert_eq!(tenant(&json, "EMPTY")["risk"], "UNKNOWN");
    assert!(!codes(&json, "PERMSONLY").contains(&"INVENTORY_NOTHING_TO_CHECK".to_string()));
    // Remediation is written for the tenant's IPS type and names its admin record.
    let rem = tenant(&json, "ONE")["findings"][0]["remediation"]
        .as_str()
        .unwrap();
    assert!(rem.contains("named like 'SAP LMS – ONE'"), "{rem}");
}

#[test]
fn neo_checks_both_targets_converged_only_the_ias_record() {
    let ca = ca();
    let mut f = Fleet::new();
    let good = f.cert("good", &client_cert(&ca, "LMS", -30, 335));
    let bad = f.cert("bad", &client_cert(&ca, "LMS", -400, -2));
    f.raw(&format!("NEO,neo,{good},{bad},\"{PERMS}\",x"));
    f.raw(&format!("CONV,converged,{good},{bad},\"{PERMS}\",x"));
    let (_, json) = f.audit(&[]);
    assert_eq!(
        findings(&json, "NEO"),
        ["CERT_EXPIRED@ips_inbound_cert:FAILING"]
    );
    assert!(
        findings(&json, "CONV").is_empty(),
        "converged has no IPS inbound certificate"
    );
    let conv = tenant(&json, "CONV");
    assert_eq!(conv["certificates"].as_array().unwrap().len(), 1);
    let neo_rem = tenant(&json, "NEO")["findings"][0]["remediation"]
        .as_str()
        .unwrap();
    assert!(neo_rem.contains("Inbound Certificates"), "{neo_rem}");
}

#[test]
fn exit_codes_follow_fail_on_and_allow_unknown() {
    let ca = ca();
    let mut f = Fleet::new();
    let good = f.cert("good", &client_cert(&ca, "LMS", -30, 335));
    f.converged("OK1", &good, PERMS);
    let (run, _) = f.audit(&[]);
    run.expect_code(0);

    let soon = f.cert("soon", &client_cert(&ca, "LMS", -300, 20));
    f.converged("WARN1", &soon, PERMS);
    f.audit(&[]).0.expect_code(0);
    f.audit(&["--fail-on", "warn"]).0.expect_code(1);

    f.raw("UNK,converged,certs/missing.pem,,,x");
    f.audit(&[]).0.expect_code(1);
    f.audit(&["--allow-unknown"]).0.expect_code(0);
    f.audit(&["--fail-on", "never"]).0.expect_code(0);

    let expired = f.cert("expired", &client_cert(&ca, "LMS", -300, -1));
    f.converged("FAIL1", &expired, PERMS);
    f.audit(&["--allow-unknown", "--fail-on", "failing"])
        .0
        .expect_code(1);
    f.audit(&["--allow-unknown"]).0.expect_code(1);
}

#[test]
fn rows_in_equal_tenants_out_plus_errors() {
    let t = TestDir::new();
    let ca = ca();
    let good = client_cert(&ca, "LMS", -30, 335);
    t.write("certs/good.pem", &good.cert_pem);
    t.write(
        "inv.csv",
        "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert\nA,neo,certs/good.pem,certs/good.pem\nB,converged,certs/good.pem,\n,neo,,\nA,neo,,\nC,cloud,,\n",
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--out",
        "out",
    ]);
    r.expect_code(1);
    let json: Value = serde_json::from_str(&t.read("out/audit.json")).unwrap();
    let tenants = json["tenants"].as_array().unwrap().len();
    let errors = json["inventory_errors"].as_array().unwrap();
    assert_eq!(json["summary"]["rows"], 5);
    assert_eq!(tenants + errors.len(), 5, "{json:#}");
    assert_eq!(tenants, 2);
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [4, 5, 6]);
    assert_eq!(errors[1]["code"], "INVENTORY_DUPLICATE_TENANT");
    // The CSV has one row per tenant, in inventory order, and the table names the bad rows.
    let csv = t.read("out/audit.csv");
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        r.stdout().contains("INVENTORY_INVALID_ROW line 4"),
        "{}",
        r.describe()
    );
}

#[test]
fn a_large_fleet_sharing_files_keeps_every_row() {
    let t = TestDir::new();
    let ca = ca();
    let certs: Vec<String> = (0..20)
        .map(|i| {
            let c = client_cert(&ca, &format!("LMS {i}"), -30, 10 + i * 20);
            t.write(&format!("pool/{i}.pem"), &c.cert_pem);
            format!("pool/{i}.pem")
        })
        .collect();
    let mut inv = String::from("tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,owner\n");
    let mut expected_rows = 0;
    for i in 0..3000 {
        expected_rows += 1;
        match i % 500 {
            7 => inv.push_str(",neo,,,broken\n"),
            13 => inv.push_str("T0,neo,,,dup\n"),
            _ => {
                let c = &certs[i % certs.len()];
                let kind = if i % 3 == 0 { "converged" } else { "neo" };
                inv.push_str(&format!("T{i},{kind},{c},{c},\"Owner, {i}\"\n"));
            }
        }
    }
    t.write("inv.csv", inv);
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--out",
        "out",
        "--format",
        "json,csv",
    ]);
    r.expect_code(1);
    let json: Value = serde_json::from_str(&t.read("out/audit.json")).unwrap();
    let tenants = json["tenants"].as_array().unwrap();
    let errors = json["inventory_errors"].as_array().unwrap();
    assert_eq!(tenants.len() + errors.len(), expected_rows);
    assert_eq!(errors.len(), 12);
    // Inventory order is kept.
    let lines: Vec<u64> = tenants
        .iter()
        .map(|t| t["line"].as_u64().unwrap())
        .collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]));
    let by_risk = &json["summary"]["by_risk"];
    let total: u64 = ["OK", "WARN", "UNKNOWN", "AT_RISK", "FAILING"]
        .iter()
        .map(|l| by_risk[l].as_u64().unwrap())
        .sum();
    assert_eq!(total, tenants.len() as u64);
}

/// Readiness from the evidence files alone (docs/spec.md §8, no next identity): every place
/// the IPS type requires holds a reference certificate → ready; one holds another certificate
/// → not_ready; a required place without a file, or no --reference-cert → unknown.
#[test]
fn readiness_from_evidence_alone() {
    let (mut f, new_rel, old_rel) = new_and_old();
    f.neo("NEO_READY", &new_rel, PERMS);
    f.raw(&format!("NEO_HALF,neo,{new_rel},{old_rel},\"{PERMS}\",x"));
    f.raw(&format!("NEO_NO_INBOUND,neo,{new_rel},,\"{PERMS}\",x"));
    f.converged("CONV_READY", &new_rel, PERMS);
    f.converged("CONV_STALE", &old_rel, PERMS);
    let (_, json) = f.audit(&["--reference-cert", "reference.pem"]);
    let r = |id: &str| tenant(&json, id)["readiness"].clone();
    for (id, state) in [
        ("NEO_READY", "ready"),
        ("NEO_HALF", "not_ready"),
        ("NEO_NO_INBOUND", "unknown"),
        ("CONV_READY", "ready"),
        ("CONV_STALE", "not_ready"),
    ] {
        assert_eq!(r(id)["state"], state, "{id}: {}", r(id));
        assert_eq!(r(id)["source"], "evidence", "{id}: {}", r(id));
    }
    assert_eq!(r("NEO_HALF")["places"]["ias_admin_record"], "accepted");
    assert_eq!(r("NEO_HALF")["places"]["ips_inbound"], "rejected");
    assert!(r("CONV_READY")["places"].get("ips_inbound").is_none());
    assert_eq!(json["summary"]["readiness"]["ready"], 2);
    assert_eq!(json["summary"]["readiness"]["not_ready"], 2);
    assert_eq!(json["summary"]["readiness"]["unknown"], 1);
    let csv = f.dir.read("out/audit.csv");
    assert!(
        csv.lines().any(|l| l.contains(",NEO_HALF,")
            && l.contains("not_ready,ias_admin_record=accepted;ips_inbound=rejected")),
        "{csv}"
    );
    // Without a reference there is nothing to compare with: unknown, not ready.
    let (_, json) = f.audit(&[]);
    for id in ["NEO_READY", "CONV_STALE"] {
        assert_eq!(tenant(&json, id)["readiness"]["state"], "unknown", "{id}");
    }
}
