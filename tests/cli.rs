//! Command-line behaviour: exit codes, formats, help.

use crate::harness::*;

#[test]
fn missing_inventory_is_exit_2_and_names_the_file() {
    let t = TestDir::new();
    let r = t.run(&["audit", "nope.csv", "--offline"]);
    r.expect_code(2);
    assert!(r.stderr().contains("nope.csv"), "{}", r.describe());
}

#[test]
fn bad_option_values_are_exit_2() {
    let t = TestDir::new();
    t.write("inv.csv", "tenant_id,ips_type\nA,neo\n");
    for args in [
        &["audit", "inv.csv", "--as-of", "07.08.2025"][..],
        &["audit", "inv.csv", "--fail-on", "sometimes"][..],
        &["audit", "inv.csv", "--format", "pdf"][..],
        &[
            "audit",
            "inv.csv",
            "--critical-days",
            "40",
            "--warn-days",
            "30",
        ][..],
    ] {
        let r = t.run(args);
        r.expect_code(2);
    }
}

/// `--help` of every subcommand is part of the contract: a snapshot catches drift.
#[test]
fn help_snapshots() {
    let t = TestDir::new();
    for sub in ["audit", "inspect", "demo", "sim", "diff", "serve", "merge"] {
        let r = t.run(&[sub, "--help"]);
        r.expect_code(0);
        insta::assert_snapshot!(format!("help-{sub}"), r.stdout());
    }
    let r = t.run(&["--help"]);
    r.expect_code(0);
    insta::assert_snapshot!("help-top", r.stdout());
}

#[test]
fn readme_documents_every_code_and_the_ci_runs_its_test_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for &code in mtls_audit::findings::Code::ALL {
        let row = format!("| `{}` | {}", code.as_str(), code.default_level().as_str());
        assert!(readme.contains(&row), "README's findings table lacks {row}");
    }
    assert!(readme.contains("cargo run --release -- demo"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(
        readme.contains("cargo test ") && ci.contains("cargo test"),
        "README and .ci/run test commands"
    );
}

#[test]
fn table_is_plain_when_piped_and_json_inspect_has_the_spec_shape() {
    let t = TestDir::new();
    let ca = ca();
    let c = client_cert(&ca, "LMS", -30, 10);
    t.write("c.pem", &c.cert_pem);
    t.write(
        "inv.csv",
        "tenant_id,ips_type,ias_admin_cert\nA,converged,c.pem\n",
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--out",
        "o",
    ]);
    r.expect_code(1);
    assert!(
        !r.stdout().contains('\u{1b}'),
        "no ANSI escapes when piped\n{}",
        r.describe()
    );
    assert!(
        r.stdout().contains("CERT_EXPIRES_CRITICAL"),
        "{}",
        r.describe()
    );
    assert!(
        r.stderr().contains("reports: o/audit.csv, o/audit.json"),
        "{}",
        r.describe()
    );
    // --format json only: no table on stdout, the summary on stderr.
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        AS_OF,
        "--out",
        "o2",
        "--format",
        "json",
    ]);
    assert!(r.stdout().is_empty(), "{}", r.describe());
    assert!(t.join("o2/audit.json").exists() && !t.join("o2/audit.csv").exists());

    let r = t.run(&[
        "inspect",
        "c.pem",
        "missing.pem",
        "--format",
        "json",
        "--as-of",
        AS_OF,
    ]);
    r.expect_code(1);
    let j = r.json();
    let targets = j["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0]["target"], "c.pem");
    assert!(targets[0]["error"].is_null());
    assert_eq!(targets[0]["certificates"][0]["days_left"], 10);
    assert_eq!(targets[0]["findings"][0]["code"], "CERT_EXPIRES_CRITICAL");
    assert_eq!(targets[1]["target"], "missing.pem");
    assert!(
        targets[1]["error"]
            .as_str()
            .unwrap()
            .contains("does not exist")
    );
    assert_eq!(targets[1]["findings"][0]["code"], "CERT_UNREADABLE");
    assert!(targets[1]["certificates"].as_array().unwrap().is_empty());
    // --allow-unknown with only an unreadable file: exit 0.
    t.run(&["inspect", "missing.pem", "--allow-unknown"])
        .expect_code(0);
}

/// The README's first command: the demo serves a generated fleet in-process, audits it live
/// and writes every report format; the verdicts are those the generator built.
#[test]
fn demo_runs_end_to_end() {
    let t = TestDir::new();
    let r = t.run(&[
        "demo",
        "--out",
        "d",
        "--tenants",
        "40",
        "--table-limit",
        "5",
    ]);
    r.expect_code(0);
    for f in [
        "audit.csv",
        "audit.json",
        "report.html",
        "report.md",
        "fleet/cer.zip",
        "fleet/inventory.csv",
    ] {
        assert!(
            t.join(&format!("d/{f}")).exists(),
            "{f} missing\n{}",
            r.describe()
        );
    }
    assert!(
        r.stderr().contains("audited live against the simulator"),
        "{}",
        r.describe()
    );
    let audit: serde_json::Value = serde_json::from_str(&t.read("d/audit.json")).unwrap();
    assert_eq!(audit["complete"], true);
    assert_eq!(audit["tenants"].as_array().unwrap().len(), 40);
    assert_eq!(audit["inventory_errors"].as_array().unwrap().len(), 3);
    assert_eq!(audit["summary"]["rows"], 43);
    let expected: serde_json::Value =
        serde_json::from_str(&t.read("d/fleet/expected.json")).unwrap();
    for e in expected["tenants"].as_array().unwrap() {
        let id = e["tenant_id"].as_str().unwrap();
        let tenant = audit["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["tenant_id"] == id)
            .unwrap();
        let got: Vec<String> = tenant["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}@{}",
                    f["code"].as_str().unwrap(),
                    f["target"].as_str().unwrap()
                )
            })
            .collect();
        for want in e["expected_findings"].as_array().unwrap() {
            assert!(
                got.contains(&want.as_str().unwrap().to_string()),
                "{id}: {want} missing in {got:?}"
            );
        }
        if e["profile"] == "healthy" {
            assert_eq!(tenant["risk"], "OK", "{id}: {got:?}");
        }
        // The demo probes with the next LMS identity too: readiness is observed.
        assert_eq!(
            tenant["readiness"]["state"], e["readiness"],
            "{id} ({}): {}",
            e["profile"], tenant["readiness"]
        );
    }
    assert!(
        audit["summary"]["readiness"]["not_ready"].as_u64().unwrap() > 0
            && audit["summary"]["readiness"]["ready"].as_u64().unwrap() > 0,
        "{}",
        audit["summary"]
    );
    // The reference certificate went in as the zip SAP ships.
    assert_eq!(
        audit["settings"]["reference_certs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
