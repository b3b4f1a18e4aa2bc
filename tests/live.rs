//! The live audit end to end against the simulator over real TLS on 127.0.0.1: every verdict of
//! a generated fleet (through the exported command, verbatim), injected faults, the rate
//! budget proven by the simulator's counters, an interrupted run, and no secret in any output.

use crate::harness::*;
use mtls_audit::audit::{Options, load_references};
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::{Code, Level};
use mtls_audit::inventory::{self, Inventory};
use mtls_audit::live::{self, Live, StopFlag};
use mtls_audit::net::{
    ClientIdentity, ConnectTo, Credentials, NetClient, NetConfig, RateBudgets, RateLimit,
    RetryPolicy,
};
use mtls_audit::result::{AuditReport, TenantResult};
use mtls_audit_cert::Limits;
use mtls_audit_sim::{self as sim, Faults, Generated, Server, SimHandle, SimOptions};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A generated fleet served in-process, its export written to a temp dir.
struct Fx {
    dir: TestDir,
    fleet: Generated,
    sim: SimHandle,
}

impl Fx {
    async fn start(tenants: usize, seed: u64, time_scale: f64) -> Fx {
        let dir = TestDir::new();
        let today = chrono::Utc::now();
        let fleet = sim::generate(tenants, seed, today).expect("generate");
        let sim = Server::start(
            fleet.scenario.clone(),
            SimOptions {
                time_scale,
                today: Some(today),
                ..SimOptions::default()
            },
        )
        .await
        .expect("start simulator");
        fleet
            .write(dir.path(), sim.ca_pem(), Some(sim.addr()))
            .expect("export");
        Fx { dir, fleet, sim }
    }

    fn live(&self, tweak: impl FnOnce(&mut NetConfig, &mut Duration)) -> Live {
        let secrets = self.fleet.secrets.clone();
        let credentials = Credentials::load_with_env(
            &self.dir.join("credentials.toml"),
            &mtls_audit::inputs::InputLimits::default(),
            |n| secrets.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()),
        )
        .expect("credentials");
        let lms = Arc::new(
            ClientIdentity::from_files(
                "LMS",
                &self.dir.join("lms.pem"),
                &self.dir.join("lms.key"),
                &mtls_audit::inputs::InputLimits::default(),
            )
            .expect("LMS identity"),
        );
        // The identity LMS presents from the cutover: every probe runs with it too (readiness).
        let next_lms = Arc::new(
            ClientIdentity::from_files(
                "next LMS",
                &self.dir.join("next-lms.pem"),
                &self.dir.join("next-lms.key"),
                &mtls_audit::inputs::InputLimits::default(),
            )
            .expect("next LMS identity"),
        );
        let mut cfg = NetConfig {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy {
                retries: 2,
                base: Duration::from_millis(20),
                cap: Duration::from_millis(200),
                ..RetryPolicy::default()
            },
            connect_to: Some(ConnectTo::parse(&self.sim.addr().to_string()).unwrap()),
            extra_ca: mtls_audit::net::trust::read_ca_file(
                &self.dir.join("ca.pem"),
                &mtls_audit::inputs::InputLimits::default(),
            )
            .unwrap(),
            system_roots: false,
            lms_identity: Some(lms.clone()),
            ..NetConfig::default()
        };
        let mut deadline = Duration::from_secs(20);
        tweak(&mut cfg, &mut deadline);
        Live {
            next_lms: Some(next_lms),
            client: NetClient::new(cfg).expect("client"),
            credentials: Some(credentials),
            lms: Some(lms),
            tenant_deadline: deadline,
            concurrency: 16,
        }
    }

    /// The exported inventory, restricted to some tenants (all when `ids` is empty).
    fn inventory(&self, ids: &[&str]) -> Inventory {
        let mut inv = inventory::read_file(
            &self.dir.join("inventory.csv"),
            b',',
            &mtls_audit::inputs::InputLimits::default().inventory(),
        )
        .unwrap();
        if !ids.is_empty() {
            inv.tenants.retain(|t| ids.contains(&t.tenant_id.as_str()));
            inv.rows = inv.tenants.len() as u64;
        }
        inv
    }

    fn options(&self) -> Options {
        let limits = Limits::default();
        Options {
            policy: Policy {
                as_of: chrono::Utc::now(),
                deadline: Some(self.fleet.deadline),
                cutover: Some(self.fleet.cutover),
                warn_days: 30,
                critical_days: 14,
                references: load_references(&[self.dir.join("reference.pem")], &limits).unwrap(),
            },
            sync_stale_days: 7,
            fail_on: Some(Level::AtRisk),
            allow_unknown: false,
            offline: false,
            limits,
        }
    }

    async fn audit(&self, inv: &Inventory, live: Live) -> AuditReport {
        live::run(
            inv,
            &self.options(),
            Arc::new(live),
            &(),
            &StopFlag::default(),
        )
        .await
    }

    /// A healthy converged tenant with a credential and a job ID: the one faults are put on.
    fn healthy_converged(&self) -> String {
        self.fleet
            .inventory
            .iter()
            .find(|r| {
                r.ips_type == "converged"
                    && !r.credential.is_empty()
                    && !r.job_id.is_empty()
                    && self
                        .fleet
                        .tenants
                        .iter()
                        .any(|t| t.tenant_id == r.tenant_id && t.profile == "healthy")
            })
            .map(|r| r.tenant_id.clone())
            .expect("a healthy converged tenant with credential and job")
    }
}

fn codes(t: &TenantResult) -> BTreeSet<String> {
    t.findings
        .iter()
        .map(|f| format!("{}@{}", f.code, f.target))
        .collect()
}

fn messages(t: &TenantResult) -> String {
    t.findings
        .iter()
        .map(|f| format!("{} {}: {}\n", f.code, f.target, f.message))
        .collect()
}

/// `PATH` with the folder of the binary under test first, so the exported command's
/// `mtls-audit` is this build.
fn path_with_binary() -> String {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mtls-audit"))
        .parent()
        .expect("the binary is in a folder")
        .to_path_buf();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Checks an audit.json against the generator's expectations: every expected finding is there,
/// nothing else but tolerated follow-on codes, healthy tenants clean, and each tenant's cutover
/// readiness (the audit probed with the next LMS identity) the one it was built for.
fn matches_expectations(audit: &Value, expected: &Value) {
    let by_id = |id: &str| -> &Value {
        audit["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant_id"] == id)
            .unwrap_or_else(|| panic!("tenant {id} missing from the audit"))
    };
    let mut problems = Vec::new();
    for e in expected["tenants"].as_array().unwrap() {
        let id = e["tenant_id"].as_str().unwrap();
        let t = by_id(id);
        let got: BTreeSet<String> = t["findings"]
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
        let want: BTreeSet<String> = e["expected_findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let tolerated: Vec<&str> = e["tolerated"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let missing: Vec<_> = want.difference(&got).collect();
        let extra: Vec<_> = got
            .difference(&want)
            .filter(|g| !tolerated.contains(&g.split('@').next().unwrap_or("")))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            problems.push(format!(
                "{id} ({}): missing {missing:?}, unexpected {extra:?}\n{:#}",
                e["profile"], t["findings"]
            ));
        }
        if e["profile"] == "healthy" && t["risk"] != "OK" {
            problems.push(format!("{id} is healthy but {}", t["risk"]));
        }
        let readiness = &t["readiness"];
        if readiness["state"] != e["readiness"] {
            problems.push(format!(
                "{id} ({}): readiness {readiness}, expected {}",
                e["profile"], e["readiness"]
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} tenants differ:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// docs/spec.md §7: the command the simulator prints works verbatim, and the audit gives every verdict
/// the generator built each tenant for (both IPS types, every failure mode).
#[test]
fn the_exported_audit_command_gives_every_expected_verdict() {
    let t = TestDir::new();
    let (child, _line) = start_binary(
        &[
            "sim",
            "--tenants",
            "60",
            "--seed",
            "11",
            "--export",
            "fleet",
        ],
        t.path(),
    );
    let command = t.read("fleet/AUDIT_COMMAND.txt");
    let path = path_with_binary();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("{} --out out --table-limit 0", command.trim()))
        .current_dir(t.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    drop(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let audit: Value = serde_json::from_str(&t.read("out/audit.json")).unwrap();
    let expected: Value = serde_json::from_str(&t.read("fleet/expected.json")).unwrap();
    assert_eq!(audit["tenants"].as_array().unwrap().len(), 60);
    assert_eq!(audit["complete"], true);
    matches_expectations(&audit, &expected);
    // A healthy tenant with a credential ran every live check.
    let healthy = audit["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["risk"] == "OK"
                && t["ips_type"] == "converged"
                && t["checks_run"].as_array().unwrap().len() >= 6
        })
        .expect("a healthy converged tenant with every check run");
    let run: Vec<&str> = healthy["checks_run"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for c in ["ias_admin_cert", "ias_server", "sync", "sync_job", "mtls"] {
        assert!(run.contains(&c), "{c} not run on a healthy tenant: {run:?}");
    }
    // The server chain is in the JSON like an evidence file.
    let server = healthy["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == "ias_server")
        .expect("server chain");
    assert!(server["chain"].as_array().unwrap().len() == 1, "{server:#}");
    assert_eq!(server["issuer"], "CN=mtls-audit simulator CA,O=mtls-audit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_give_the_right_verdict_and_no_tenant_is_lost() {
    let fx = Fx::start(12, 5, 60.0).await;
    let id = fx.healthy_converged();
    let inv = fx.inventory(&[&id]);
    let quick = |cfg: &mut NetConfig, deadline: &mut Duration| {
        cfg.timeout = Duration::from_millis(700);
        *deadline = Duration::from_secs(8);
    };
    let run = |faults: Faults| {
        let fx = &fx;
        let inv = &inv;
        let id = id.clone();
        async move {
            fx.sim.set_faults(&id, faults).unwrap();
            let report = fx.audit(inv, fx.live(quick)).await;
            fx.sim.set_faults(&id, Faults::default()).unwrap();
            assert_eq!(report.tenants.len(), 1, "the tenant is not lost");
            report.tenants[0].clone()
        }
    };

    // No fault: clean.
    let t = run(Faults::default()).await;
    assert!(t.findings.is_empty(), "{}", messages(&t));

    // Latency past the request timeout: unreachable by timeout.
    let t = run(Faults {
        latency_ms: 2_000,
        ..Faults::default()
    })
    .await;
    assert!(
        codes(&t).contains("ENDPOINT_UNREACHABLE@sync"),
        "{}",
        messages(&t)
    );
    assert!(messages(&t).contains("timed out"), "{}", messages(&t));

    // 429 without Retry-After, every time: throttled after the retries.
    let t = run(Faults {
        status: Some(429),
        ..Faults::default()
    })
    .await;
    assert!(codes(&t).contains("API_THROTTLED@sync"), "{}", messages(&t));
    assert!(
        messages(&t).contains("after 3 attempts"),
        "{}",
        messages(&t)
    );

    // 429 with Retry-After: honoured, still throttled.
    let t = run(Faults {
        status: Some(429),
        retry_after_secs: Some(1),
        families: vec![sim::Family::Scim],
        ..Faults::default()
    })
    .await;
    assert!(codes(&t).contains("API_THROTTLED@sync"), "{}", messages(&t));

    // 5xx twice, then success: the retries absorb it.
    let t = run(Faults {
        status: Some(503),
        remaining: Some(2),
        ..Faults::default()
    })
    .await;
    assert!(t.findings.is_empty(), "{}", messages(&t));

    // 5xx every time: the API kept failing.
    let t = run(Faults {
        status: Some(500),
        families: vec![sim::Family::Scim],
        ..Faults::default()
    })
    .await;
    assert!(codes(&t).contains("API_ERROR@sync"), "{}", messages(&t));

    // Connection reset.
    let t = run(Faults {
        reset: true,
        families: vec![sim::Family::Scim],
        ..Faults::default()
    })
    .await;
    assert!(
        codes(&t).contains("ENDPOINT_UNREACHABLE@sync"),
        "{}",
        messages(&t)
    );
    assert!(
        messages(&t).to_lowercase().contains("reset") || messages(&t).contains("closed"),
        "{}",
        messages(&t)
    );

    // A stalled response.
    let t = run(Faults {
        stall: true,
        families: vec![sim::Family::Scim],
        ..Faults::default()
    })
    .await;
    assert!(
        codes(&t).contains("ENDPOINT_UNREACHABLE@sync"),
        "{}",
        messages(&t)
    );

    // Malformed JSON.
    let t = run(Faults {
        malformed_json: true,
        families: vec![sim::Family::Scim],
        ..Faults::default()
    })
    .await;
    assert!(codes(&t).contains("API_ERROR@sync"), "{}", messages(&t));
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_tenant_does_not_hold_the_others() {
    let fx = Fx::start(12, 5, 60.0).await;
    let stuck = fx.healthy_converged();
    fx.sim
        .set_faults(
            &stuck,
            Faults {
                stall: true,
                ..Faults::default()
            },
        )
        .unwrap();
    let inv = fx.inventory(&[]);
    // A long request timeout: only the tenant's own deadline can end the stall.
    let report = fx
        .audit(
            &inv,
            fx.live(|cfg, deadline| {
                cfg.timeout = Duration::from_secs(30);
                *deadline = Duration::from_secs(2);
            }),
        )
        .await;
    assert_eq!(report.tenants.len() as u64, inv.rows);
    let t = report
        .tenants
        .iter()
        .find(|t| t.tenant_id == stuck)
        .unwrap();
    assert_eq!(t.risk, Level::Unknown, "{}", messages(t));
    assert!(messages(t).contains("deadline"), "{}", messages(t));
    // Everyone else was audited normally.
    let expected: Value = serde_json::from_str(&fx.dir.read("expected.json")).unwrap();
    for e in expected["tenants"].as_array().unwrap() {
        if e["tenant_id"] != stuck.as_str() && e["profile"] == "healthy" {
            let other = report
                .tenants
                .iter()
                .find(|t| t.tenant_id == e["tenant_id"].as_str().unwrap())
                .unwrap();
            assert_eq!(other.risk, Level::Ok, "{}", messages(other));
        }
    }
    fx.sim.shutdown().await;
}

/// The per-tenant SCIM budget is kept, as the simulator's counters see it: a tenant with 30
/// pages of LMS users is read at no more than the budget per (scaled) minute. Time runs 60
/// times faster in the simulator (a minute is a second), so the budget is scaled the same way
/// and made small enough to bind; a control run without the budget exceeds it, which shows
/// the test can fail. (The default budgets' margin under SAP's documented limits is a unit test
/// of `net::limits`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_budget_is_kept_per_tenant() {
    let fx = Fx::start(12, 5, 60.0).await;
    let id = fx.healthy_converged();
    let mut scenario = fx.sim.scenario();
    let spec = scenario.tenants.iter_mut().find(|t| t.id == id).unwrap();
    let template = spec
        .users
        .iter()
        .find(|u| u.source_system == Some(101))
        .unwrap()
        .clone();
    for n in 0..3_000 {
        let mut u = template.clone();
        u.id = format!("00000000-0000-4000-8000-{n:012}");
        u.user_name = format!("learner{n}");
        u.emails = vec![format!("learner{n}@example.com")];
        spec.users.push(u);
    }
    fx.sim.upsert_tenant(spec.clone()).unwrap();
    let inv = fx.inventory(&[&id]);
    let per_scaled_minute = |requests: u32, burst: u32| RateLimit {
        requests,
        per: Duration::from_secs(1),
        burst,
    };

    let budgeted = fx
        .audit(
            &inv,
            fx.live(|cfg, deadline| {
                cfg.budgets = RateBudgets {
                    ias_scim: per_scaled_minute(10, 2),
                    ..RateBudgets::default()
                };
                *deadline = Duration::from_secs(60);
            }),
        )
        .await;
    let t = &budgeted.tenants[0];
    assert!(t.findings.is_empty(), "{}", messages(t));
    let c = fx.sim.counters()[&id].family(sim::Family::Scim);
    assert!(c.requests >= 31, "every page was read: {c:?}");
    assert_eq!(c.throttled, 0, "{c:?}");
    assert!(
        c.max_per_minute <= 12,
        "the budget of 10 (+2 burst) per window was kept: {c:?}"
    );

    // Control: the same audit without a budget goes faster than that.
    fx.sim.reset_limits(&id).unwrap();
    let _ = fx
        .audit(
            &inv,
            fx.live(|cfg, deadline| {
                cfg.budgets = RateBudgets::uniform(per_scaled_minute(1_000_000, 1_000));
                *deadline = Duration::from_secs(60);
            }),
        )
        .await;
    let c2 = fx.sim.counters()[&id].family(sim::Family::Scim);
    assert!(
        c2.max_per_minute > 12,
        "without the budget the window holds more: {c2:?}"
    );
    fx.sim.shutdown().await;
}

/// Ctrl-C (SIGINT) stops the run: exit 2, and the reports parse, are marked incomplete and
/// still hold every tenant.
#[test]
fn an_interrupted_run_leaves_valid_reports() {
    let t = TestDir::new();
    let (mut sim_child, _line) = start_binary(
        &["sim", "--tenants", "40", "--seed", "3", "--export", "fleet"],
        t.path(),
    );
    // Make every tenant hang so the run is surely in flight when interrupted.
    let ids: Vec<String> = {
        let inv = inventory::read_file(
            &t.join("fleet/inventory.csv"),
            b',',
            &mtls_audit::inputs::InputLimits::default().inventory(),
        )
        .unwrap();
        inv.tenants.iter().map(|x| x.tenant_id.clone()).collect()
    };
    let port = t
        .read("fleet/AUDIT_COMMAND.txt")
        .split("--connect-to 127.0.0.1:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // The simulator's own endpoint, over TLS with its CA.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        crypto();
        let ca = reqwest::Certificate::from_pem(t.read("fleet/ca.pem").as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .unwrap();
        for id in &ids {
            let r = client
                .put(format!("https://127.0.0.1:{port}/_sim/tenants/{id}/faults"))
                .json(&serde_json::json!({"stall": true}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "setting a fault on {id}");
        }
    });
    let command = t.read("fleet/AUDIT_COMMAND.txt");
    let path = path_with_binary();
    // `exec` so the signal reaches mtls-audit itself.
    let mut audit = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{}; exec {} --out out --timeout 60s --tenant-deadline 120s",
            command
                .trim()
                .rsplit_once("; ")
                .map(|(env, _)| env)
                .unwrap_or(""),
            command
                .trim()
                .rsplit_once("; ")
                .map(|(_, cmd)| cmd)
                .unwrap_or("")
        ))
        .current_dir(t.path())
        .env("PATH", path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let ok = std::process::Command::new("kill")
        .args(["-INT", &audit.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = audit.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the audit did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = audit.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let audit_json: Value =
        serde_json::from_str(&t.read("out/audit.json")).expect("audit.json parses");
    assert_eq!(audit_json["complete"], false);
    assert_eq!(
        audit_json["tenants"].as_array().unwrap().len(),
        ids.len(),
        "every tenant is still reported"
    );
    let stuck = audit_json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            t["checks_not_run"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "sync")
        })
        .expect("a tenant whose live checks did not finish");
    assert!(
        stuck["checks_not_run"]
            .as_array()
            .unwrap()
            .contains(&Value::from("ias_server"))
    );
    let csv = t.read("out/audit.csv");
    assert_eq!(csv.lines().count(), ids.len() + 1);
    let _ = terminate_quietly(&mut sim_child);
}

fn terminate_quietly(child: &mut Child) -> std::io::Result<()> {
    child.proc.kill()?;
    child.proc.wait().map(|_| ())
}

/// At the most verbose log level, with every kind of credential in play, no secret, token or
/// key appears on stdout, stderr or in any report file.
#[test]
fn no_secret_appears_in_any_output() {
    let t = TestDir::new();
    let (child, _line) = start_binary(
        &["sim", "--tenants", "40", "--seed", "8", "--export", "fleet"],
        t.path(),
    );
    let command = t.read("fleet/AUDIT_COMMAND.txt");
    let path = path_with_binary();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} --out out --format table,csv,json,html,md -vv",
            command.trim()
        ))
        .current_dir(t.path())
        .env("PATH", path)
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    drop(child);
    let mut haystack = String::from_utf8_lossy(&out.stdout).into_owned();
    haystack.push_str(&String::from_utf8_lossy(&out.stderr));
    for f in ["audit.csv", "audit.json", "report.html", "report.md"] {
        haystack.push_str(&t.read(&format!("out/{f}")));
    }
    assert!(
        haystack.contains("DEBUG") || haystack.contains("TRACE"),
        "verbose logging was on"
    );
    let mut secrets: Vec<String> = t
        .read("fleet/secrets.env")
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(_, v)| v.trim_matches(['"', '\'']).to_string())
        })
        .filter(|v| v.len() >= 8)
        .collect();
    assert!(!secrets.is_empty());
    // Key material: the base64 body lines of every key file of the export.
    let mut keys = vec![t.read("fleet/lms.key")];
    for e in std::fs::read_dir(t.join("fleet/keys")).unwrap() {
        keys.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    for k in keys {
        secrets.extend(
            k.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 20)
                .map(str::to_string),
        );
    }
    for s in &secrets {
        assert!(
            !haystack.contains(s.as_str()),
            "a secret or key line leaked into the output"
        );
    }
    assert!(
        !haystack.contains("PRIVATE KEY"),
        "key armour in the output"
    );
    assert!(!haystack.to_lowercase().contains("authorization: basic"));
    assert!(!haystack.contains("access_token"));
}

/// `inspect https://host` and `inspect host:port`: the chain the server presents, its
/// findings, and with the LMS identity whether the tenant accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_servers() {
    let fx = Fx::start(40, 3, 60.0).await;
    let host_of = |profile: &str| -> String {
        let id = &fx
            .fleet
            .tenants
            .iter()
            .find(|t| t.profile == profile)
            .unwrap()
            .tenant_id;
        let row = fx
            .fleet
            .inventory
            .iter()
            .find(|r| &r.tenant_id == id)
            .unwrap();
        row.ias_url
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_string()
    };
    let healthy = host_of("healthy");
    let expired = host_of("server_cert_expired");
    let untrusted = host_of("server_chain_untrusted");
    let refusing = host_of("unreachable");
    let addr = fx.sim.addr().to_string();
    let dir = fx.dir.path().to_path_buf();
    let args: Vec<String> = [
        format!("https://{healthy}"),
        format!("{expired}:443"),
        format!("https://{untrusted}/"),
        format!("{refusing}:443"),
    ]
    .into_iter()
    .chain(
        [
            "--connect-to",
            &addr,
            "--ca-cert",
            "ca.pem",
            "--lms-cert",
            "lms.pem",
            "--lms-key",
            "lms.key",
            "--timeout",
            "2s",
            "--retries",
            "0",
            "--format",
            "json",
        ]
        .iter()
        .map(|s| s.to_string()),
    )
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mtls-audit"))
            .arg("inspect")
            .args(&args)
            .current_dir(dir)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_str(&stdout).unwrap();
    let t = j["targets"].as_array().unwrap();
    let codes = |i: usize| -> Vec<String> {
        t[i]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(codes(0).is_empty(), "{:#}", t[0]);
    assert_eq!(t[0]["mtls"][0]["identity"], "current", "{:#}", t[0]);
    assert!(
        t[0]["mtls"][0]["answer"]
            .as_str()
            .unwrap()
            .starts_with("accepted"),
        "{:#}",
        t[0]
    );
    assert_eq!(
        t[0]["certificates"][0]["chain"].as_array().unwrap().len(),
        1
    );
    assert!(
        codes(1).contains(&"SERVER_CERT_EXPIRED".to_string()),
        "{:#}",
        t[1]
    );
    assert!(
        codes(2).contains(&"SERVER_CHAIN_UNTRUSTED".to_string()),
        "{:#}",
        t[2]
    );
    assert_eq!(codes(3), ["ENDPOINT_UNREACHABLE"], "{:#}", t[3]);
    assert!(
        t[3]["error"].as_str().unwrap().contains("TLS"),
        "{:#}",
        t[3]
    );
    fx.sim.shutdown().await;
}

/// A TLS front end in front of the simulator that is slow to take connections: a listen queue
/// of one, connections taken one at a time by the accepting task, and the first one held for
/// `busy` before its bytes are passed on (so its handshake, and every connection queued behind
/// it, waits). Afterwards it takes a connection every `pace`.
async fn slow_front_end(
    target: std::net::SocketAddr,
    busy: Duration,
    pace: Duration,
) -> std::net::SocketAddr {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0u32;
        while let Ok((mut inbound, _)) = listener.accept().await {
            n += 1;
            tokio::time::sleep(if n == 1 { busy } else { pace }).await;
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

/// docs/spec.md §12: connect and handshake timeouts are retried like other transient failures.
/// Behind a front end that is slow to accept, a 13-tenant fleet audited with the default
/// retries still gets every verdict the generator built it for (it used to get
/// ENDPOINT_UNREACHABLE "after 1 attempt(s)" on a fifth of its checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_end_slow_to_accept_gives_the_same_verdicts_with_the_default_retries() {
    let fx = Fx::start(13, 11, 60.0).await;
    let front = slow_front_end(
        fx.sim.addr(),
        Duration::from_millis(2_500),
        Duration::from_millis(5),
    )
    .await;
    let inv = fx.inventory(&[]);
    let report = fx
        .audit(
            &inv,
            fx.live(|cfg, deadline| {
                cfg.connect_to = Some(ConnectTo::parse(&front.to_string()).unwrap());
                cfg.timeout = Duration::from_secs(2);
                cfg.retry = RetryPolicy::default();
                *deadline = Duration::from_secs(60);
            }),
        )
        .await;
    let audit = serde_json::to_value(&report).unwrap();
    let expected: Value = serde_json::from_str(&fx.dir.read("expected.json")).unwrap();
    matches_expectations(&audit, &expected);
    fx.sim.shutdown().await;
}

/// The live cross-check of LMS's `ipsAPIUrl` (docs/spec.md §9): a converged tenant whose LMS
/// points at the NEO form gets the offline mismatch confirmed live (the simulator answers 404
/// there); one whose settings are right stays quiet, live too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_ips_api_url_is_probed_live() {
    let fx = Fx::start(40, 7, 60.0).await;
    let healthy: Vec<&sim::GeneratedTenant> = fx
        .fleet
        .tenants
        .iter()
        .filter(|t| t.profile == "healthy")
        .collect();
    let mut inv = fx.inventory(&[]);
    let convs: Vec<usize> = inv
        .tenants
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.ips_type == inventory::IpsType::Converged
                && t.ips_source_system_id.is_some()
                && healthy.iter().any(|h| h.tenant_id == t.tenant_id)
        })
        .map(|(i, _)| i)
        .take(2)
        .collect();
    assert_eq!(convs.len(), 2, "two healthy converged tenants");
    let (stale, right) = (convs[0], convs[1]);
    let origin = |i: usize| {
        let u = inv.tenants[i].ias_url.clone().unwrap();
        format!("https://{}", u.host_str().unwrap())
    };
    let stale_url = format!("{}/ips", origin(stale));
    let right_url = format!("{}/ipsproxy/service/api", origin(right));
    inv.tenants[stale].lms_config.ips_api_url = Some(stale_url.clone());
    inv.tenants[right].lms_config.ips_api_url = Some(right_url);
    let ids = [
        inv.tenants[stale].tenant_id.clone(),
        inv.tenants[right].tenant_id.clone(),
    ];
    inv.tenants.retain(|t| ids.contains(&t.tenant_id));
    inv.rows = 2;
    let report = fx.audit(&inv, fx.live(|_, _| {})).await;
    let stale_t = &report.tenants[0];
    let mismatch: Vec<&str> = stale_t
        .findings
        .iter()
        .filter(|f| f.code == Code::LmsConfigMismatch)
        .map(|f| &*f.message)
        .collect();
    assert_eq!(mismatch.len(), 1, "{mismatch:?}");
    assert!(
        mismatch[0].starts_with(&format!("lms_ips_api_url is '{stale_url}'"))
            && mismatch[0].contains("confirmed live:")
            && mismatch[0].contains("answered 404"),
        "{}",
        mismatch[0]
    );
    let right_t = &report.tenants[1];
    assert!(
        !right_t
            .findings
            .iter()
            .any(|f| f.code == Code::LmsConfigMismatch),
        "{}",
        messages(right_t)
    );
    fx.sim.shutdown().await;
}

/// The verdict table of docs/spec.md §8 over real TLS: each kind of tenant (both identities
/// accepted, the current only, the next only, neither; on NEO, one place missing) audited with
/// both identities before the cutover and after it. Before: the current identity's refusal is
/// `MTLS_REJECTED`, the next one's `MTLS_NEXT_REJECTED` at each refusing place; after: only the
/// next identity is judged, and its refusal is `MTLS_REJECTED` of the new certificate.
/// Readiness follows the next identity's probes both times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cutover_verdict_table_over_real_tls() {
    let fx = Fx::start(40, 7, 60.0).await;
    // profile → (codes before, codes after, readiness)
    let table: &[(&str, &[&str], &[&str], &str)] = &[
        // Healthy: a converged tenant, and a NEO one (labelled for its IPS_NEO_RETIRING).
        ("healthy", &[], &[], "ready"),
        ("neo_retiring", &[], &[], "ready"),
        (
            "mtls_rejected_converged",
            &["MTLS_REJECTED@tech_user"],
            &[],
            "ready",
        ),
        (
            "next_missing_ias",
            &["MTLS_NEXT_REJECTED@ias_admin_cert"],
            &["MTLS_REJECTED@tech_user"],
            "not_ready",
        ),
        (
            "next_missing_inbound",
            &["MTLS_NEXT_REJECTED@ips_inbound_cert"],
            &["MTLS_REJECTED@tech_user"],
            "not_ready",
        ),
        (
            "mtls_rejected_neo",
            &[
                "MTLS_REJECTED@tech_user",
                "MTLS_NEXT_REJECTED@ips_inbound_cert",
            ],
            &["MTLS_REJECTED@tech_user"],
            "not_ready",
        ),
        (
            "neo_critical_and_soon",
            &[
                "MTLS_REJECTED@tech_user",
                "MTLS_NEXT_REJECTED@ias_admin_cert",
                "MTLS_NEXT_REJECTED@ips_inbound_cert",
            ],
            &["MTLS_REJECTED@tech_user"],
            "not_ready",
        ),
    ];
    let wanted: Vec<&str> = table.iter().map(|r| r.0).collect();
    let ids: Vec<(String, String, String)> = fx
        .fleet
        .tenants
        .iter()
        .filter(|t| wanted.contains(&t.profile.as_str()))
        .map(|t| {
            let ips = fx
                .fleet
                .inventory
                .iter()
                .find(|r| r.tenant_id == t.tenant_id)
                .map(|r| r.ips_type.clone())
                .unwrap_or_default();
            (t.tenant_id.clone(), t.profile.clone(), ips)
        })
        .collect();
    for p in &wanted {
        assert!(ids.iter().any(|(_, q, _)| q == p), "no {p} tenant");
    }
    assert!(
        ids.iter()
            .any(|(_, p, i)| p == "neo_retiring" && i == "neo")
            && ids
                .iter()
                .any(|(_, p, i)| p == "healthy" && i == "converged"),
        "healthy tenants of both IPS types"
    );
    let id_refs: Vec<&str> = ids.iter().map(|(i, _, _)| i.as_str()).collect();
    let inv = fx.inventory(&id_refs);
    let mtls = |t: &TenantResult| -> BTreeSet<String> {
        t.findings
            .iter()
            .filter(|f| matches!(f.code, Code::MtlsRejected | Code::MtlsNextRejected))
            .map(|f| format!("{}@{}", f.code, f.target))
            .collect()
    };
    let before = fx.audit(&inv, fx.live(|_, _| {})).await;
    let mut after_opts = fx.options();
    after_opts.policy.as_of = fx.fleet.cutover + chrono::Duration::days(1);
    let after = live::run(
        &inv,
        &after_opts,
        Arc::new(fx.live(|_, _| {})),
        &(),
        &StopFlag::default(),
    )
    .await;
    let mut checked = 0;
    for (id, profile, _) in &ids {
        let row = table.iter().find(|r| r.0 == profile).unwrap();
        let b = before.tenants.iter().find(|t| &t.tenant_id == id).unwrap();
        let a = after.tenants.iter().find(|t| &t.tenant_id == id).unwrap();
        let want = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            mtls(b),
            want(row.1),
            "{id} ({profile}) before: {}",
            messages(b)
        );
        assert_eq!(
            mtls(a),
            want(row.2),
            "{id} ({profile}) after: {}",
            messages(a)
        );
        for f in a.findings.iter().filter(|f| f.code == Code::MtlsRejected) {
            assert!(
                f.message.contains("new LMS certificate"),
                "{id} after the cutover: {}",
                f.message
            );
        }
        for (when, t) in [("before", b), ("after", a)] {
            let r = serde_json::to_value(&t.readiness).unwrap();
            assert_eq!(r["state"], row.3, "{id} ({profile}) {when}: {r}");
            assert_eq!(r["source"], "probe", "{id} ({profile}) {when}: {r}");
        }
        checked += 1;
    }
    assert!(checked >= table.len(), "{checked} tenants checked");
    fx.sim.shutdown().await;
}

/// Evidence and probe disagree (docs/spec.md §8): the file exported from the admin record shows
/// the new certificate, the tenant refuses it. The probe decides (not ready) and the finding
/// says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_evidence_and_probe_disagree_the_probe_decides_and_says_so() {
    let fx = Fx::start(40, 7, 60.0).await;
    let id = fx
        .fleet
        .tenants
        .iter()
        .find(|t| t.profile == "next_missing_ias")
        .map(|t| t.tenant_id.clone())
        .expect("a next_missing_ias tenant");
    let mut inv = fx.inventory(&[id.as_str()]);
    // The evidence now claims the new certificate was imported.
    inv.tenants[0].ias_admin_cert = Some(fx.dir.join("reference.pem"));
    let report = fx.audit(&inv, fx.live(|_, _| {})).await;
    let t = &report.tenants[0];
    let r = serde_json::to_value(&t.readiness).unwrap();
    assert_eq!(r["state"], "not_ready", "{r}");
    assert_eq!(r["source"], "probe", "{r}");
    let f = t
        .findings
        .iter()
        .find(|f| f.code == Code::MtlsNextRejected)
        .unwrap_or_else(|| panic!("no MTLS_NEXT_REJECTED: {}", messages(t)));
    assert!(
        f.message
            .contains("the file shows the certificate imported, the tenant refuses it"),
        "{}",
        f.message
    );
    // The evidence itself is the reference: no CERT_NOT_REFERENCE.
    assert!(
        !t.findings.iter().any(|f| f.code == Code::CertNotReference),
        "{}",
        messages(t)
    );
    fx.sim.shutdown().await;
}
