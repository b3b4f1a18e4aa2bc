//! Hot paths of the offline audit: judging one certificate, finishing one tenant (risk,
//! remediation), parsing an inventory, and a whole 10,000-tenant offline audit over a shared
//! pool of certificate files, its report files and its run appended to a campaign history.

// A benchmark that cannot set up panics with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use mtls_audit::audit::{self, Options};
use mtls_audit::checks::cert::{Policy, References, check_facts};
use mtls_audit::findings::{Level, Target};
use mtls_audit::inventory;
use mtls_audit_cert::{CertFacts, Limits};
use mtls_audit_sim::pki::{Ca, LeafSpec};
use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;

fn setup(dir: &std::path::Path, certs: usize, tenants: usize) -> (Policy, std::path::PathBuf) {
    let today = Utc::now();
    let ca = Ca::new(
        "Bench CA",
        today - Duration::days(3650),
        today + Duration::days(3650),
    )
    .unwrap();
    let mut reference = None;
    for i in 0..certs {
        let spec = LeafSpec::client(
            &format!("lms-{i}"),
            today - Duration::days(300),
            today + Duration::days((i % 400) as i64 - 30),
        );
        let c = ca.issue(&spec).unwrap();
        if i == 0 {
            reference = Some(Arc::new(CertFacts::from_der(&c.cert_der).unwrap()));
        }
        std::fs::write(dir.join(format!("{i}.pem")), c.cert_pem).unwrap();
    }
    let mut inv = String::from(
        "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n",
    );
    for t in 0..tenants {
        let (a, b) = ((t * 7919) % certs, (t * 104_729 + 13) % certs);
        let _ = writeln!(inv, "T{t},neo,{a}.pem,{b}.pem,Read Users,owner {t}");
    }
    let path = dir.join("inventory.csv");
    std::fs::write(&path, inv).unwrap();
    let policy = Policy {
        as_of: today,
        deadline: Some(today + Duration::days(25)),
        cutover: Some(today + Duration::days(20)),
        warn_days: 30,
        critical_days: 14,
        references: References::new(reference.into_iter().collect()),
    };
    (policy, path)
}

fn benches(c: &mut Criterion) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (policy, inv_path) = setup(dir.path(), 300, 10_000);
    let bundle = mtls_audit_cert::load_file(&dir.path().join("5.pem"), &Limits::default()).unwrap();
    let leaf = bundle.certs[0].clone();
    c.bench_function("judge one certificate", |b| {
        b.iter(|| check_facts(Target::IasAdminCert, black_box(&leaf), black_box(&policy)))
    });
    let bytes = std::fs::read(&inv_path).unwrap();
    c.bench_function("parse a 10,000-row inventory", |b| {
        b.iter(|| inventory::parse(black_box(&bytes), b',', dir.path()).unwrap())
    });
    let inv = inventory::read_file(
        &inv_path,
        b',',
        &mtls_audit::inputs::InputLimits::default().inventory(),
    )
    .unwrap();
    let opts = Options {
        policy: policy.clone(),
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: true,
        limits: Limits::default(),
    };
    let files = audit::CertFiles::load(
        &inv.tenants,
        &policy,
        &opts.limits,
        &audit::StopFlag::default(),
    );
    c.bench_function("finish one tenant (checks, risk, remediation)", |b| {
        let t = &inv.tenants[42];
        b.iter(|| audit::finish(t, audit::offline_checks(black_box(t), &files, &policy)))
    });
    let mut g = c.benchmark_group("whole offline audit");
    g.sample_size(10);
    g.bench_function("10,000 tenants over 300 files", |b| {
        b.iter(|| audit::run_offline(&inv, &opts, &audit::StopFlag::default()))
    });
    let report = audit::run_offline(&inv, &opts, &audit::StopFlag::default());
    g.bench_function("write audit.json for 10,000 tenants", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(64 << 20);
            mtls_audit::report::json::write(&report, &mut out).unwrap();
            out.len()
        })
    });
    g.bench_function("write audit.csv for 10,000 tenants", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(16 << 20);
            mtls_audit::report::csv::write(&report, &mut out).unwrap();
            out.len()
        })
    });
    // A run appended to a campaign history that grows with each iteration, as a campaign's
    // does (one transaction, the run's counts included).
    let history_dir = tempfile::tempdir().unwrap();
    let mut history = mtls_audit::history::History::open(
        &history_dir.path().join("h.sqlite"),
        mtls_audit::history::Open::Create,
    )
    .unwrap();
    let times = mtls_audit::history::RunTimes {
        started_at: Utc::now(),
        finished_at: Utc::now(),
    };
    g.bench_function("append 10,000 tenants to a history", |b| {
        b.iter(|| history.append(black_box(&report), times).unwrap())
    });
    g.finish();
}

criterion_group!(audit_benches, benches);
criterion_main!(audit_benches);
