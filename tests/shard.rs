//! `audit --shard I/N` and `merge` (docs/spec.md §11): the shards of random inventories are
//! disjoint and cover them, and merging them gives the unsharded run (a property test through
//! the library); the real binary's shards merge into the unsharded report set, and `merge`
//! refuses what cannot be one run; the Kubernetes manifests' commands, run as the pods would.

use crate::harness::{AS_OF, TestDir, as_of, ca, client_cert};
use mtls_audit::audit::{Options, StopFlag, load_references, run_offline};
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::Level;
use mtls_audit::inventory;
use mtls_audit::merge::{self, Part};
use mtls_audit::result::AuditReport;
use mtls_audit::shard::{self, Shard};
use mtls_audit_cert::Limits;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Evidence files shared by every generated inventory: one reference certificate, one other
/// certificate, one unreadable file.
fn evidence() -> &'static Path {
    static DIR: OnceLock<TestDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TestDir::new();
        let ca = ca();
        let reference = client_cert(&ca, "LMS next", -10, 355);
        let other = client_cert(&ca, "LMS old", -300, 20);
        dir.write("reference.pem", &reference.cert_pem);
        dir.write("other.pem", &other.cert_pem);
        dir.write("broken.pem", "not a certificate");
        dir
    })
    .path()
}

fn options(dir: &Path) -> Options {
    let limits = Limits::default();
    Options {
        policy: Policy {
            as_of: as_of(),
            deadline: Some(as_of() + chrono::Duration::days(30)),
            cutover: Some(as_of() + chrono::Duration::days(20)),
            warn_days: 30,
            critical_days: 14,
            references: load_references(&[dir.join("reference.pem")], &limits).unwrap(),
        },
        sync_stale_days: 7,
        fail_on: Some(Level::AtRisk),
        allow_unknown: false,
        offline: true,
        limits,
    }
}

/// One inventory row: an ID from a small alphabet (so case-insensitive duplicates happen),
/// a valid or invalid IPS type, evidence or none; or an empty row.
fn row() -> impl Strategy<Value = String> {
    let id = "[aAbBcC]{1,3}[0-9]{0,2}";
    let ips = prop_oneof![
        4 => Just("neo"),
        4 => Just("converged"),
        1 => Just("bogus"),
    ];
    let cert = prop_oneof![
        Just(""),
        Just("reference.pem"),
        Just("other.pem"),
        Just("broken.pem")
    ];
    let perms = prop_oneof![Just(""), Just("Read Users;Manage Users")];
    prop_oneof![
        12 => (id, ips, cert.clone(), cert, perms).prop_map(|(id, ips, a, b, p)| {
            format!("{id},{ips},production,{a},{b},{p},owner of {id}")
        }),
        1 => Just(",,,,,,".to_string()),
    ]
}

fn parse(csv: &str, dir: &Path) -> inventory::Inventory {
    let mut inv = inventory::parse(csv.as_bytes(), b',', dir).unwrap();
    inv.path = dir.join("inventory.csv");
    inv.sha256 = shard::sha256_hex(csv.as_bytes());
    inv
}

/// A report as `merge` gets it: written to JSON and read back.
fn round_trip(r: &AuditReport) -> AuditReport {
    let mut v = Vec::new();
    mtls_audit::report::json::write(r, &mut v).unwrap();
    mtls_audit::report::json::read(&v).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn shards_are_disjoint_cover_the_inventory_and_merge_to_the_unsharded_run(
        rows in proptest::collection::vec(row(), 0..30),
        n in 1u32..6,
    ) {
        let dir = evidence();
        let csv = format!(
            "tenant_id,ips_type,environment,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n{}\n",
            rows.join("\n")
        );
        let full = parse(&csv, dir);
        let opts = options(dir);
        let stop = StopFlag::default();
        let unsharded = round_trip(&run_offline(&full, &opts, &stop));

        let mut seen: BTreeSet<u64> = BTreeSet::new();
        let mut parts = Vec::new();
        for i in 1..=n {
            let s = Shard::new(i, n).unwrap();
            let mut inv = parse(&csv, dir);
            let total = shard::select(&mut inv, s);
            prop_assert_eq!(total, full.rows);
            for t in &inv.tenants {
                prop_assert_eq!(shard::shard_of(&t.tenant_id, n), i);
                prop_assert!(seen.insert(t.line), "tenant on line {} in two shards", t.line);
            }
            if i != 1 {
                prop_assert!(inv.errors.is_empty() && inv.skipped == 0);
            }
            let mut report = run_offline(&inv, &opts, &stop);
            report.shard = Some(shard::info(s, &inv.sha256, total, &report));
            parts.push(Part { path: PathBuf::from(format!("shard-{i}")), report: round_trip(&report) });
        }
        let all: BTreeSet<u64> = full.tenants.iter().map(|t| t.line).collect();
        prop_assert_eq!(seen, all, "the shards' union is the inventory");
        // Any order of the shards merges to the same report.
        parts.reverse();
        let merged = round_trip(&merge::merge(parts).unwrap());
        prop_assert_eq!(merged, unsharded);
    }
}

#[test]
fn the_shard_hash_is_case_insensitive_and_spreads_tenants() {
    assert_eq!(shard::shard_of("Acme", 7), shard::shard_of("ACME", 7));
    let mut counts = [0u32; 4];
    for i in 0..10_000 {
        counts[(shard::shard_of(&format!("TENANT{i:05}"), 4) - 1) as usize] += 1;
    }
    for c in counts {
        assert!((2_300..2_700).contains(&c), "{counts:?}");
    }
}

/// A generated fleet of 40 tenants written to `dir/fleet`, with two extra rows that are not
/// audited (an invalid one and an empty one), so row errors and skipped rows are merged too.
fn fleet(dir: &TestDir) {
    let g = mtls_audit_sim::generate(40, 5, as_of()).unwrap();
    g.write(&dir.join("fleet"), "", None).unwrap();
    let inv = dir.join("fleet/inventory.csv");
    let mut csv = std::fs::read_to_string(&inv).unwrap();
    let columns = csv.lines().next().unwrap().split(',').count();
    csv.push_str(&format!("BROKEN,mainframe{}\n", ",".repeat(columns - 2)));
    csv.push_str(&format!("{}\n", ",".repeat(columns - 1)));
    std::fs::write(&inv, csv).unwrap();
}

const JUDGING: [&str; 12] = [
    "--offline",
    "--as-of",
    AS_OF,
    "--reference-cert",
    "fleet/reference.pem",
    "--deadline",
    "2025-08-06",
    "--cutover",
    "2025-07-29",
    "--fail-on",
    "never",
    "-q",
];

fn audit(dir: &TestDir, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["audit", "fleet/inventory.csv"];
    args.extend(JUDGING);
    args.extend(extra);
    dir.run(&args)
}

fn report(dir: &TestDir, rel: &str) -> AuditReport {
    mtls_audit::report::json::read(dir.read(rel).as_bytes()).unwrap()
}

#[test]
fn merged_shards_equal_the_unsharded_run() {
    let dir = TestDir::new();
    fleet(&dir);
    audit(&dir, &["--out", "full", "--format", "json,csv,md,html"]).expect_code(0);
    for i in 1..=3 {
        let s = format!("{i}/3");
        let out = format!("shards/{i}");
        audit(&dir, &["--shard", &s, "--out", &out, "--format", "json"]).expect_code(0);
        let r = report(&dir, &format!("{out}/audit.json"));
        let info = r.shard.as_ref().unwrap();
        assert_eq!(
            (info.index, info.count, info.hash.as_str()),
            (i, 3, shard::HASH)
        );
        assert_eq!(info.inventory_rows, 42);
        // Row errors and the skipped row are shard 1's.
        assert_eq!(r.inventory_errors.is_empty(), i != 1, "shard {i}");
        assert_eq!(r.summary.skipped_rows, u64::from(i == 1), "shard {i}");
    }
    dir.run(&[
        "merge",
        "shards/3",
        "shards/1",
        "shards/2/audit.json",
        "--out",
        "merged",
        "--format",
        "json,csv,md,html",
        "-q",
    ])
    .expect_code(0);
    let full = report(&dir, "full/audit.json");
    assert_eq!(full.summary.rows, 42);
    assert_eq!(full.inventory_errors.len(), 1);
    assert_eq!(report(&dir, "merged/audit.json"), full);
    for f in ["audit.csv", "report.md", "report.html"] {
        assert!(
            dir.read(&format!("merged/{f}")) == dir.read(&format!("full/{f}")),
            "merged/{f} differs from the unsharded run's"
        );
    }
}

/// The history counts whole runs: a shard is refused with `--history` (and pointed to merge),
/// and `merge --history` records the merged run as the unsharded `audit --history` would,
/// with the burndown in report.html and the owner folders.
#[test]
fn a_sharded_run_goes_into_the_history_through_merge() {
    let dir = TestDir::new();
    fleet(&dir);
    let r = audit(
        &dir,
        &["--shard", "1/2", "--out", "s", "--history", "h.sqlite"],
    );
    r.expect_code(2);
    assert!(
        r.stderr().contains("--shard 1/2 with --history h.sqlite")
            && r.stderr().contains("mtls-audit merge"),
        "{}",
        r.describe()
    );
    assert!(
        !dir.join("h.sqlite").exists(),
        "the refused shard made a history"
    );

    audit(
        &dir,
        &[
            "--out",
            "full",
            "--format",
            "json",
            "--history",
            "full.sqlite",
        ],
    )
    .expect_code(0);
    for i in 1..=2 {
        let (s, out) = (format!("{i}/2"), format!("shards/{i}"));
        audit(&dir, &["--shard", &s, "--out", &out, "--format", "json"]).expect_code(0);
    }
    // A refused merge leaves no history behind.
    let r = dir.run(&["merge", "shards/1", "--out", "m", "--history", "h.sqlite"]);
    r.expect_code(2);
    assert!(!dir.join("h.sqlite").exists());
    let r = dir.run(&[
        "merge",
        "shards/1",
        "shards/2",
        "--out",
        "merged",
        "--format",
        "json,html",
        "--history",
        "h.sqlite",
        "--split-by",
        "owner",
    ]);
    r.expect_code(0);
    assert!(
        r.stderr().contains("history: run 1 appended to h.sqlite"),
        "{}",
        r.describe()
    );
    assert!(
        dir.read("merged/report.html")
            .contains("id=\"burndown-svg\"")
    );
    assert!(dir.join("merged/owners/index.csv").exists());
    // The same run as the unsharded audit's, counts and tenants.
    let listed = |file: &str| {
        let r = dir.run(&["history", file, "--format", "json"]);
        r.expect_code(0);
        let mut run = r.json()["runs"][0].clone();
        for k in ["started_at", "finished_at", "inventory"] {
            run.as_object_mut().unwrap().remove(k);
        }
        run
    };
    assert_eq!(listed("h.sqlite"), listed("full.sqlite"));
    assert_eq!(listed("h.sqlite")["tenants"], 40);
}

#[test]
fn merge_refuses_what_is_not_one_sharded_run() {
    let dir = TestDir::new();
    fleet(&dir);
    for i in 1..=3 {
        audit(
            &dir,
            &[
                "--shard",
                &format!("{i}/3"),
                "--out",
                &format!("s/{i}"),
                "--format",
                "json",
            ],
        )
        .expect_code(0);
    }
    audit(
        &dir,
        &[
            "--shard",
            "2/3",
            "--out",
            "warn20",
            "--format",
            "json",
            "--warn-days",
            "20",
        ],
    )
    .expect_code(0);
    audit(
        &dir,
        &["--shard", "2/2", "--out", "of2", "--format", "json"],
    )
    .expect_code(0);
    audit(&dir, &["--out", "full", "--format", "json"]).expect_code(0);
    let edited = dir.read("fleet/inventory.csv") + "\n";
    dir.write("fleet/inventory.csv", edited);
    audit(
        &dir,
        &["--shard", "2/3", "--out", "edited", "--format", "json"],
    )
    .expect_code(0);

    let cases: [(&[&str], &str); 6] = [
        (&["s/1", "s/3"], "shard 2 of 3 is missing"),
        (&["s/1", "s/2", "s/2", "s/3"], "shard 2 is given twice"),
        (&["s/1", "warn20", "s/3"], "shards of different settings"),
        (&["s/1", "edited", "s/3"], "shards of different inventories"),
        (&["s/1", "of2", "s/3"], "shards of different shard counts"),
        (&["s/1", "full", "s/3"], "is not a shard"),
    ];
    for (shards, reason) in cases {
        let mut args = vec!["merge"];
        args.extend(shards);
        args.extend(["--out", "merged", "--format", "json"]);
        let run = dir.run(&args);
        run.expect_code(2);
        assert!(
            run.stderr().contains(reason),
            "{reason}\n{}",
            run.describe()
        );
        assert!(
            !dir.join("merged/audit.json").exists(),
            "nothing is written"
        );
    }
}

#[test]
fn the_argument_parser_refuses_impossible_shards() {
    let dir = TestDir::new();
    dir.write("inv.csv", "tenant_id,ips_type\nA,neo\n");
    for bad in ["0/4", "5/4", "1/0", "1", "x/4"] {
        let run = dir.run(&["audit", "inv.csv", "--offline", "--shard", bad]);
        run.expect_code(2);
        assert!(
            run.stderr().contains("--shard") && run.stderr().contains("1 <= I <= N"),
            "{}",
            run.describe()
        );
        assert!(dir.listing() == ["inv.csv"], "{:?}", dir.listing());
    }
}

/// The Indexed Job's and the merge Job's commands from `deploy/kubernetes/indexed-job.yaml`, and
/// the CronJob's, run here as the pods would run them: `/bin/sh -c` with the command
/// Kubernetes hands over (`scripts/check-deploy.py` expands `$(VAR)` as Kubernetes does), each
/// `JOB_COMPLETION_INDEX`, `/config` and `/data` moved into a temp dir. The `mtls-audit` on
/// `PATH` is the real binary behind a wrapper that adds `--offline` (no network here) and drops
/// options this build does not have (named on stderr). The merged report must equal the
/// unsharded run.
#[test]
#[ignore = "needs /usr/bin/python3 with python3-yaml (Debian); .ci/run installs it"]
fn the_kubernetes_manifests_commands_shard_and_merge_to_the_unsharded_run() {
    let dir = TestDir::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = root.join("deploy/kubernetes/indexed-job.yaml");
    let cronjob = root.join("deploy/kubernetes/cronjob.yaml");
    // /config as the pods see it: the inventory and its evidence side by side, cer.zip being
    // the reference certificate (the loader goes by content, not by name).
    fleet(&dir);
    let config = dir.join("config");
    std::fs::rename(dir.join("fleet"), &config).unwrap();
    std::fs::copy(config.join("reference.pem"), config.join("cer.zip")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let bin = wrapper(&dir);

    let helper = |args: &[&str]| -> String {
        let out = std::process::Command::new("/usr/bin/python3")
            .arg(root.join("scripts/check-deploy.py"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let localise = |cmd: &str| {
        cmd.replace("/config/", &format!("{}/", config.display()))
            .replace("/data/", &format!("{}/data/", dir.path().display()))
    };
    let sh = |cmd: &str, env: &[(&str, String)]| {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    let shard = helper(&["shard-command", manifest.to_str().unwrap()]);
    let (n, cmd) = shard.split_once('\n').unwrap();
    let n: u32 = n.trim().parse().unwrap();
    let cmd = localise(cmd);
    for i in 0..n {
        sh(&cmd, &[("JOB_COMPLETION_INDEX", i.to_string())]);
        let r = report(&dir, &format!("data/shards/{}/audit.json", i + 1));
        assert_eq!(
            r.shard.as_ref().map(|s| (s.index, s.count)),
            Some((i + 1, n))
        );
    }

    // The merge Job: no command, so the image's entrypoint (mtls-audit) with its args.
    let merge_args = merge_job_args(&manifest);
    let merge_cmd = std::iter::once("mtls-audit".to_string())
        .chain(merge_args.iter().map(|a| localise(a)))
        .collect::<Vec<_>>()
        .join(" ");
    sh(&merge_cmd, &[]);

    // The CronJob: the same options on the whole inventory, into a dated folder.
    let cron = localise(&helper(&["cron-command", cronjob.to_str().unwrap()]));
    sh(&cron, &[]);
    let reports: Vec<PathBuf> = std::fs::read_dir(dir.join("data/reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let full: AuditReport =
        mtls_audit::report::json::read(&std::fs::read(reports[0].join("audit.json")).unwrap())
            .unwrap();
    let mut merged = report(&dir, "data/report/audit.json");
    // Timestamps aside: each run judges as of its own start.
    merged.as_of = full.as_of;
    assert_eq!(merged.tenants.len(), 40);
    assert_eq!(merged, full);
    assert!(dir.join("data/report/report.html").exists());
    assert!(reports[0].join("audit.prom").exists());
}

/// The merge Job's `args`, read with the same YAML reader check-deploy uses.
fn merge_job_args(manifest: &Path) -> Vec<String> {
    let script = r#"
import json, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
job = next(d for d in docs if d["kind"] == "Job" and d["spec"].get("completionMode") != "Indexed")
print(json.dumps(job["spec"]["template"]["spec"]["containers"][0]["args"]))
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(manifest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A folder with `mtls-audit`: the real binary, with `--offline` added to `audit` and the
/// options this build lacks (per `audit --help`) dropped with their value.
fn wrapper(dir: &TestDir) -> PathBuf {
    let real = env!("CARGO_BIN_EXE_mtls-audit");
    let help = std::process::Command::new(real)
        .args(["audit", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let mut drop = String::new();
    for (opt, takes_value) in [
        ("--history", true),
        ("--next-lms-cert", true),
        ("--next-lms-key", true),
        ("--no-progress", false),
    ] {
        if !help.contains(&format!("{opt} ")) && !help.contains(&format!("{opt}\n")) {
            drop.push_str(&format!(
                "    {opt}) echo \"wrapper: dropping {opt}\" >&2; shift{};;\n",
                if takes_value { " 2" } else { "" }
            ));
        }
    }
    let script = format!(
        r#"#!/bin/sh
# Test wrapper: the real mtls-audit, offline.
cmd=$1; shift
set -- "$@" END
while [ "$1" != END ]; do
  case "$1" in
{drop}    *) set -- "$@" "$1"; shift;;
  esac
done
shift
if [ "$cmd" = audit ]; then set -- "$@" --offline --as-of {AS_OF}; fi
exec {real} "$cmd" "$@"
"#
    );
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = bin.join("mtls-audit");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
