//! A live audit of a few hundred generated tenants while the simulator fails a fifth of all
//! requests at random (`[chaos]`: latency past the timeout, resets, 429 with and without
//! `Retry-After`, 5xx, malformed JSON, stalls). No tenant may be lost, and each comes out either
//! as the generator built it or degraded by a finding that names a fault the simulator's
//! counters say hit it — never with a verdict the faults made up — and no tenant's requests
//! exceed the auditor's rate budget. `scripts/chaos-soak` does the same at 5,000 tenants with
//! the release binaries.

use crate::harness::*;
use mtls_audit::audit::{Options, load_references};
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::Level;
use mtls_audit::inputs::InputLimits;
use mtls_audit::inventory;
use mtls_audit::live::{self, Live, StopFlag};
use mtls_audit::net::{ClientIdentity, ConnectTo, Credentials, NetClient, NetConfig, RateBudgets};
use mtls_audit::result::TenantResult;
use mtls_audit_cert::Limits;
use mtls_audit_sim::{
    self as sim, Chaos, ChaosKind, Family, GeneratedTenant, Server, SimOptions, TenantCounters,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TENANTS: usize = 300;
const RATE: f64 = 0.2;

/// The finding codes that name a kind of fault (what the auditor reports when it hits).
fn codes_for(kind: ChaosKind) -> &'static [&'static str] {
    match kind {
        ChaosKind::Latency | ChaosKind::Stall => &["ENDPOINT_UNREACHABLE"],
        ChaosKind::Reset => &["ENDPOINT_UNREACHABLE", "API_ERROR"],
        ChaosKind::Throttled | ChaosKind::ThrottledRetryAfter => &["API_THROTTLED"],
        ChaosKind::ServerError | ChaosKind::MalformedJson => &["API_ERROR"],
    }
}

/// How one tenant came out.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Exactly what the generator built it for.
    Right,
    /// Findings missing or added, every difference explained by a finding that names a fault
    /// that hit the tenant; never a false `OK`.
    FaultNamed,
    /// Anything else: a finding no fault explains, or a verdict better than the truth.
    Wrong(String),
}

fn judge(t: &TenantResult, g: &GeneratedTenant, hit: &BTreeMap<ChaosKind, u64>) -> Outcome {
    let got: BTreeSet<String> = t
        .findings
        .iter()
        .map(|f| format!("{}@{}", f.code, f.target))
        .collect();
    let want: BTreeSet<String> = g.expected_findings.iter().cloned().collect();
    let code = |f: &str| f.split('@').next().unwrap_or("").to_string();
    let fault_codes: BTreeSet<&str> = hit
        .iter()
        .filter(|(_, n)| **n > 0)
        .flat_map(|(k, _)| codes_for(*k).iter().copied())
        .collect();
    let missing: Vec<&String> = want.difference(&got).collect();
    let extra: Vec<&String> = got
        .difference(&want)
        .filter(|f| !g.tolerated.contains(&code(f)))
        .collect();
    let healthy_ok = g.profile != "healthy" || t.risk == Level::Ok;
    if missing.is_empty() && extra.is_empty() && healthy_ok {
        return Outcome::Right;
    }
    let unexplained: Vec<&&String> = extra
        .iter()
        .filter(|f| !fault_codes.contains(code(f).as_str()))
        .collect();
    let named = got.iter().any(|f| fault_codes.contains(code(f).as_str()));
    let describe = || {
        format!(
            "{} ({}): risk {:?}, missing {missing:?}, unexplained {unexplained:?}, faults {hit:?}, findings {:?}",
            g.tenant_id, g.profile, t.risk, got
        )
    };
    if !unexplained.is_empty() {
        return Outcome::Wrong(describe());
    }
    // Something expected is missing or something else was added: a fault must be named, and a
    // tenant whose expected findings went missing must not look healthier than UNKNOWN.
    if !named {
        return Outcome::Wrong(describe());
    }
    if !missing.is_empty() && t.risk < Level::Unknown {
        return Outcome::Wrong(describe());
    }
    if g.profile == "healthy" && t.risk != Level::Unknown {
        return Outcome::Wrong(describe());
    }
    Outcome::FaultNamed
}

/// The auditor's budget for a simulator family (requests per minute plus burst).
fn budget(b: &RateBudgets, f: Family) -> u64 {
    let l = match f {
        Family::Scim => b.ias_scim,
        Family::Realtime | Family::Proxy => b.ips_realtime,
        Family::IpsAdmin => b.ips_admin,
        Family::Oauth => b.oauth_token,
        Family::Applications | Family::Other => b.other,
    };
    let per_minute = f64::from(l.requests) * 60.0 / l.per.as_secs_f64();
    per_minute.ceil() as u64 + u64::from(l.burst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_of_requests_failing_loses_no_tenant_and_invents_no_verdict() {
    let started = Instant::now();
    let dir = TestDir::new();
    let today = chrono::Utc::now();
    let fleet = sim::generate(TENANTS, 17, today).expect("generate");
    let mut scenario = fleet.scenario.clone();
    // Latency past the request timeout below; stalls last until the client gives up.
    scenario.chaos = Some(Chaos {
        latency_ms: 2_500,
        ..Chaos::new(RATE, 17)
    });
    let server = Server::start(
        scenario,
        SimOptions {
            today: Some(today),
            ..SimOptions::default()
        },
    )
    .await
    .expect("start simulator");
    fleet
        .write(dir.path(), server.ca_pem(), Some(server.addr()))
        .expect("export");

    let input = InputLimits::default();
    let secrets = fleet.secrets.clone();
    let credentials = Credentials::load_with_env(&dir.join("credentials.toml"), &input, |n| {
        secrets.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
    })
    .expect("credentials");
    let lms = Arc::new(
        ClientIdentity::from_files("LMS", &dir.join("lms.pem"), &dir.join("lms.key"), &input)
            .expect("LMS identity"),
    );
    // The next identity too: the generator's expectations include readiness refusals.
    let next_lms = Arc::new(
        ClientIdentity::from_files(
            "next LMS",
            &dir.join("next-lms.pem"),
            &dir.join("next-lms.key"),
            &input,
        )
        .expect("next LMS identity"),
    );
    let budgets = RateBudgets::default();
    let cfg = NetConfig {
        timeout: Duration::from_millis(1_500),
        connect_to: Some(ConnectTo::parse(&server.addr().to_string()).unwrap()),
        extra_ca: mtls_audit::net::trust::read_ca_file(&dir.join("ca.pem"), &input).unwrap(),
        system_roots: false,
        lms_identity: Some(lms.clone()),
        budgets,
        ..NetConfig::default()
    };
    let live = Live {
        client: NetClient::new(cfg).expect("client"),
        credentials: Some(credentials),
        lms: Some(lms),
        next_lms: Some(next_lms),
        tenant_deadline: Duration::from_secs(40),
        concurrency: 64,
    };
    let inv = inventory::read_file(&dir.join("inventory.csv"), b',', &input.inventory()).unwrap();
    let limits = Limits::default();
    let opts = Options {
        policy: Policy {
            as_of: today,
            deadline: Some(fleet.deadline),
            cutover: Some(fleet.cutover),
            warn_days: 30,
            critical_days: 14,
            references: load_references(&[dir.join("reference.pem")], &limits).unwrap(),
        },
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: false,
        limits,
    };
    let report = live::run(&inv, &opts, Arc::new(live), &(), &StopFlag::default()).await;
    let counters: BTreeMap<String, TenantCounters> = server.counters();
    server.shutdown().await;

    // No tenant lost.
    assert!(report.complete);
    assert_eq!(
        inv.rows,
        (report.tenants.len() + report.inventory_errors.len()) as u64,
        "rows in = tenants out + inventory errors"
    );
    let by_id: BTreeMap<&str, &TenantResult> = report
        .tenants
        .iter()
        .map(|t| (t.tenant_id.as_str(), t))
        .collect();
    assert_eq!(by_id.len(), fleet.tenants.len(), "every tenant once");

    // Every verdict right, or degraded by a fault that hit the tenant and is named.
    let mut injected: BTreeMap<ChaosKind, u64> = BTreeMap::new();
    let (mut right, mut named, mut wrong) = (0, 0, Vec::new());
    for g in &fleet.tenants {
        let t = by_id[g.tenant_id.as_str()];
        let hit = counters
            .get(&g.tenant_id)
            .map(|c| c.chaos.clone())
            .unwrap_or_default();
        for (k, n) in &hit {
            *injected.entry(*k).or_default() += n;
        }
        match judge(t, g, &hit) {
            Outcome::Right => right += 1,
            Outcome::FaultNamed => named += 1,
            Outcome::Wrong(w) => wrong.push(w),
        }
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "chaos at {RATE}: {} tenants, faults injected {injected:?}; {right} right, {named} degraded with the fault named, {} wrong; {:?}",
            fleet.tenants.len(),
            wrong.len(),
            started.elapsed()
        );
    }
    // The chaos did happen, of every kind, and some tenants were degraded by it.
    for k in ChaosKind::all() {
        assert!(
            injected.get(&k).copied().unwrap_or(0) > 0,
            "no {k:?} injected: {injected:?}"
        );
    }
    assert!(named > 0, "no tenant was degraded: {injected:?}");
    assert!(
        wrong.is_empty(),
        "{} tenants wrong ({right} right, {named} degraded with the fault named):\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // No tenant's requests went past the auditor's budget (real-time minutes: time scale 1).
    let mut over = Vec::new();
    for (id, c) in &counters {
        for (f, fc) in &c.families {
            if fc.max_per_minute > budget(&budgets, *f) {
                over.push(format!(
                    "{id} {f:?}: {} in a minute, budget {}",
                    fc.max_per_minute,
                    budget(&budgets, *f)
                ));
            }
        }
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
}
