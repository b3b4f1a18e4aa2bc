//! Gaps a third-party SCIM suite (scim2-tester) found, each pinned by a regression test:
//! the discovery endpoints (`/scim/Schemas`, `/scim/ResourceTypes`,
//! `/scim/ServiceProviderConfig`), `externalId` kept and filterable, 405 answered after
//! authentication with a SCIM error and an `Allow` header, and an export that keeps its secrets
//! to its owner.

use crate::harness::{TestDir, as_of};
use mtls_audit_sim::generate;

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `--export` writes the secrets of the scenario (client secrets) and every private key for the
/// owner only, even over files that were there before, in a folder it creates 0700.
#[cfg(unix)]
#[test]
fn the_export_keeps_secrets_and_keys_to_its_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let t = TestDir::new();
    let g = generate(40, 3, as_of()).unwrap();
    let fresh = t.path().join("new").join("fleet");
    g.write(&fresh, "ca", None).unwrap();
    assert_eq!(mode(&fresh), 0o700, "the export folder");
    assert_eq!(mode(&fresh.join("keys")), 0o700, "keys/");

    // A folder that already exists, with world-readable files from an earlier export.
    let old = t.path().join("old");
    std::fs::create_dir(&old).unwrap();
    for f in ["scenario.toml", "secrets.env", "lms.key"] {
        let p = old.join(f);
        std::fs::write(&p, "stale").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    g.write(&old, "ca", None).unwrap();
    for dir in [&fresh, &old] {
        for f in ["scenario.toml", "secrets.env", "lms.key"] {
            assert_eq!(mode(&dir.join(f)), 0o600, "{f} in {}", dir.display());
        }
        let scenario = std::fs::read_to_string(dir.join("scenario.toml")).unwrap();
        assert!(
            scenario.contains("secrets = ["),
            "the scenario holds secrets"
        );
        for f in &g.files {
            let text = String::from_utf8_lossy(&f.contents);
            if text.contains("PRIVATE KEY") {
                assert_eq!(mode(&dir.join(&f.path)), 0o600, "{}", f.path);
            }
        }
    }
}

/// `sim --export DIR` writes `DIR/ca.pem` when it starts, before the export: the folder it
/// creates for it is the export's, so 0700 too.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_made_for_the_ca_is_private() {
    let t = TestDir::new();
    let ca_out = t.path().join("fleet").join("ca.pem");
    let sim = mtls_audit_sim::Server::start(
        mtls_audit_sim::Scenario::default(),
        mtls_audit_sim::SimOptions {
            ca_out: Some(ca_out.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(mode(ca_out.parent().unwrap()), 0o700);
    assert!(
        std::fs::read_to_string(&ca_out)
            .unwrap()
            .contains("CERTIFICATE")
    );
    sim.shutdown().await;
}
