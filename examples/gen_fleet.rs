//! Generates a synthetic fleet for benchmarks: a pool of certificate files and an inventory of
//! N tenants that point into it (many tenants share a file, as in real fleets where the same
//! LMS certificate is imported everywhere).
//!
//! `cargo run --release --example gen_fleet -- DIR --certs 3000 --tenants 100000`

use chrono::{Duration, Utc};
use mtls_audit_sim::pki::{Ca, LeafSpec};
use std::fmt::Write as _;
use std::path::PathBuf;

// The inventory's path on stdout is the example's output.
#[allow(clippy::print_stdout)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: gen_fleet DIR [--certs N] [--tenants N]")?,
    );
    let (mut certs, mut tenants) = (3000usize, 100_000usize);
    while let Some(a) = args.next() {
        let v: usize = args.next().ok_or("missing value")?.parse()?;
        match a.as_str() {
            "--certs" => certs = v,
            "--tenants" => tenants = v,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let pool = dir.join("pool");
    std::fs::create_dir_all(&pool)?;
    let today = Utc::now();
    let ca = Ca::new(
        "Bench CA",
        today - Duration::days(3650),
        today + Duration::days(3650),
    )?;
    // Reuse an existing pool of the same size: generating certificates is not what is measured.
    let existing = std::fs::read_dir(&pool)?.count();
    if existing != certs {
        for entry in std::fs::read_dir(&pool)? {
            std::fs::remove_file(entry?.path())?;
        }
        for i in 0..certs {
            let spec = LeafSpec::client(
                &format!("lms-{i}"),
                today - Duration::days(300),
                today + Duration::days((i % 400) as i64 - 30),
            );
            let c = ca.issue(&spec)?;
            std::fs::write(pool.join(format!("{i}.pem")), c.cert_pem)?;
        }
    }
    let mut inv = String::with_capacity(tenants * 120);
    inv.push_str(
        "tenant_id,ips_type,ias_admin_cert,ips_inbound_cert,tech_user_permissions,owner\n",
    );
    for t in 0..tenants {
        // A deterministic scatter so neighbouring tenants use different files.
        let a = (t * 7919) % certs;
        let b = (t * 104_729 + 13) % certs;
        // About 50 tenants per owner, as in a fleet run by a few hundred teams.
        let o = t / 50;
        if t % 2 == 0 {
            let _ = writeln!(
                inv,
                "T{t:06},neo,pool/{a}.pem,pool/{b}.pem,Read Users;Access Real-Time Provisioning API,owner {o}"
            );
        } else {
            let _ = writeln!(inv, "T{t:06},converged,pool/{a}.pem,,Read Users,owner {o}");
        }
    }
    let path = dir.join(format!("inventory-{tenants}.csv"));
    std::fs::write(&path, inv)?;
    println!("{}", path.display());
    Ok(())
}
