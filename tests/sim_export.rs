//! The simulator seen from the auditor: the fleet it generates is one the auditor reads without
//! an error and that produces every finding code, and the real binary exports a fleet, serves
//! it and stops cleanly. The simulator's own contract tests, which need no auditor, are in
//! `crates/sim/tests/contract/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness::{TestDir, as_of, start_binary, terminate};
use mtls_audit::findings::Code;
use mtls_audit_sim as sim;
use serde_json::{Value, json};
use std::io::Read as _;
use std::path::Path;

/// Every finding code of the auditor is among the codes some tenant of a 40-tenant fleet is
/// built to produce; the two row errors of an inventory are not tenant findings.
#[test]
fn a_generated_fleet_is_built_to_produce_every_finding_code() {
    let g = sim::generate(40, 3, as_of()).expect("the fleet generates");
    let expected: std::collections::BTreeSet<&str> = g
        .tenants
        .iter()
        .flat_map(|t| t.expected.iter().map(String::as_str))
        .collect();
    for code in Code::ALL {
        if matches!(
            code,
            Code::InventoryDuplicateTenant | Code::InventoryInvalidRow
        ) {
            continue; // row errors, not tenant findings
        }
        if *code == Code::CheckNotFinished {
            continue; // only an interrupted run produces it (tests/live.rs, tests/reliability.rs)
        }
        assert!(
            expected.contains(code.as_str()),
            "no tenant is built to produce {code}; expected codes: {expected:?}"
        );
    }
    // And nothing the auditor does not know.
    for c in &expected {
        assert!(Code::parse(c).is_some(), "{c} is not a finding code");
    }
}

/// The generated inventory is one the auditor parses: 40 tenants, no row errors.
#[test]
fn the_generated_inventory_parses_without_errors() {
    for seed in [3, 11] {
        let g = sim::generate(40, seed, as_of()).expect("the fleet generates");
        let csv = g.inventory_csv().expect("the inventory serializes");
        let parsed = mtls_audit::inventory::parse(csv.as_bytes(), b',', Path::new("/x"))
            .unwrap_or_else(|e| panic!("seed {seed}: {e:?}\n{csv}"));
        assert_eq!(parsed.tenants.len(), 40, "seed {seed}");
        assert!(parsed.errors.is_empty(), "seed {seed}: {:?}", parsed.errors);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_a_fleet_serves_it_and_stops_cleanly() {
    let dir = TestDir::new();
    let (child, line) = start_binary(
        &[
            "sim",
            "--tenants",
            "40",
            "--seed",
            "5",
            "--export",
            "out",
            "--time-scale",
            "60",
        ],
        dir.path(),
    );
    let url = line["listening"].as_str().unwrap().to_string();
    let addr: std::net::SocketAddr = url.trim_start_matches("https://").parse().unwrap();
    let ca_path = std::path::PathBuf::from(line["ca"].as_str().unwrap());
    assert_eq!(ca_path, dir.join("out/ca.pem"));
    let ca = std::fs::read(&ca_path).unwrap();
    let cmd = dir.read("out/AUDIT_COMMAND.txt");
    assert!(
        cmd.contains(&format!("--connect-to {addr}")) && cmd.contains("--lms-key"),
        "{cmd}"
    );

    let inv = mtls_audit::inventory::read_file(
        &dir.join("out/inventory.csv"),
        b',',
        &mtls_audit::inputs::InputLimits::default().inventory(),
    )
    .unwrap();
    assert_eq!((inv.tenants.len(), inv.errors.len()), (40, 0));
    let expected: Value = serde_json::from_str(&dir.read("out/expected.json")).unwrap();
    let healthy = expected["tenants"].as_array().unwrap().iter().find(|t| {
        t["profile"] == "healthy" && {
            let id = t["tenant_id"].as_str().unwrap();
            inv.tenants.iter().any(|r| {
                r.tenant_id == id && r.ips_type == mtls_audit::inventory::IpsType::Converged
            })
        }
    });
    let healthy = healthy.expect("a healthy converged tenant");
    let row = inv
        .tenants
        .iter()
        .find(|r| r.tenant_id == healthy["tenant_id"])
        .unwrap();
    let host = row
        .ias_url
        .as_ref()
        .unwrap()
        .host_str()
        .unwrap()
        .to_string();
    let lms = format!("{}{}", dir.read("out/lms.key"), dir.read("out/lms.pem"));
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .identity(reqwest::Identity::from_pem(lms.as_bytes()).unwrap())
        .resolve(&host, addr)
        .build()
        .unwrap();
    let r = c
        .get(format!("https://{host}:{}/scim/Users?count=1", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = row.ips_source_system_id.as_deref().unwrap();
    let r = c
        .post(format!(
            "https://{host}:{}/ipsproxy/service/api/v1/systems/{sid}/entities/user",
            addr.port()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let status = tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "exit 0 after SIGTERM");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_a_scenario_file_and_logs_requests() {
    let dir = TestDir::new();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenario.example.toml");
    let example = example.display().to_string();
    let (mut child, line) = start_binary(
        &["sim", "--scenario", &example, "--ca-out", "ca.pem", "-v"],
        dir.path(),
    );
    assert_eq!(
        std::path::PathBuf::from(line["ca"].as_str().unwrap()),
        dir.join("ca.pem")
    );
    let url = line["listening"].as_str().unwrap();
    let r = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(dir.read("ca.pem").as_bytes()).unwrap()])
        .build()
        .unwrap()
        .get(format!("{url}/_sim/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let stderr = child.proc.stderr.take().unwrap();
    let status = tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut log = String::new();
    std::io::BufReader::new(stderr)
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("simulator listening"), "{log}");
    let r = TestDir::new().run(&["sim", "--scenario", "missing.toml"]);
    r.expect_code(2);
    assert!(r.stderr().contains("missing.toml"), "{}", r.describe());
}

/// SIGTERM at once after the listening line: the handlers are in place before the simulator
/// listens, so it shuts down cleanly instead of dying of the signal's default action (which
/// happened on a loaded machine when the handler was registered after the line).
#[test]
fn a_sigterm_right_after_the_listening_line_is_a_clean_shutdown() {
    let dir = TestDir::new();
    for _ in 0..5 {
        let (child, _line) = start_binary(&["sim", "--tenants", "2"], dir.path());
        assert_eq!(terminate(child).code(), Some(0));
    }
}
