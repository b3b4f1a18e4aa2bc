//! Gaps a third-party SCIM suite (scim2-tester) found, each pinned by a regression test:
//! the discovery endpoints (`/scim/Schemas`, `/scim/ResourceTypes`,
//! `/scim/ServiceProviderConfig`), `externalId` kept and filterable, 405 answered after
//! authentication with a SCIM error and an `Allow` header, and an export that keeps its secrets
//! to its owner.

use crate::fixture::{ACME, Fx, READER};
use crate::harness::{TestDir, as_of, body, ctype, scim_error};
use mtls_audit_sim::{SimOptions, generate};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

fn attr<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no attribute {name} in {}", schema["id"]))
}

/// SAP's Terraform provider reads `scim/Schemas/`; RFC 7644 §4 asks for the three discovery
/// endpoints. Schemas follow RFC 7643 §7 and what IAS publishes for the resources served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_endpoints_describe_users_and_groups() {
    let fx = Fx::start(SimOptions::default()).await;
    for path in ["/scim/Schemas", "/scim/Schemas/"] {
        let (s, h, v) = body(fx.get(ACME, path, READER).await).await;
        assert_eq!(s, 200, "{path}: {v}");
        assert_eq!(ctype(&h), "application/scim+json");
        assert_eq!(
            v["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        let ids: Vec<&str> = v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        for id in [USER, GROUP, SAP_USER, SCHEMA, RESOURCE_TYPE, SPC] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        assert_eq!(v["totalResults"].as_u64(), Some(ids.len() as u64));
    }
    // One schema by its URN, raw or percent-encoded as IAS writes meta.location.
    let (s, _, user) = body(fx.get(ACME, &format!("/scim/Schemas/{USER}"), READER).await).await;
    assert_eq!(s, 200, "{user}");
    assert_eq!(
        (user["id"].as_str(), user["name"].as_str()),
        (Some(USER), Some("User"))
    );
    assert_eq!(user["schemas"], json!([SCHEMA]));
    assert_eq!(user["meta"]["resourceType"], "Schema");
    let user_name = attr(&user, "userName");
    assert_eq!(
        (user_name["type"].as_str(), user_name["required"].as_bool()),
        (Some("string"), Some(true))
    );
    let external_id = attr(&user, "externalId");
    assert_eq!(external_id["caseExact"], true);
    let emails = attr(&user, "emails");
    assert_eq!(emails["multiValued"], true);
    assert!(
        emails["subAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "value")
    );
    let encoded = USER.replace(':', "%3A");
    let (s, _, again) = body(
        fx.get(ACME, &format!("/scim/Schemas/{encoded}"), READER)
            .await,
    )
    .await;
    assert_eq!((s.as_u16(), &again["id"]), (200, &user["id"]));
    // Every attribute carries the RFC 7643 §7 characteristics.
    for a in user["attributes"].as_array().unwrap() {
        for k in [
            "name",
            "type",
            "multiValued",
            "required",
            "caseExact",
            "mutability",
            "returned",
            "uniqueness",
        ] {
            assert!(a.get(k).is_some(), "{k} missing on {a}");
        }
    }
    let (_, _, sap) = body(
        fx.get(ACME, &format!("/scim/Schemas/{SAP_USER}"), READER)
            .await,
    )
    .await;
    for a in [
        "sourceSystem",
        "sourceSystemId",
        "userUuid",
        "userId",
        "status",
    ] {
        attr(&sap, a);
    }
    assert_eq!(attr(&sap, "sourceSystem")["type"], "integer");
    let (s, _, v) = body(fx.get(ACME, "/scim/Schemas/urn:nothing:here", READER).await).await;
    assert_eq!(s, 404);
    scim_error(&v, "404");

    // Resource types: Users and Groups, with the extensions their resources carry.
    let (s, _, v) = body(fx.get(ACME, "/scim/ResourceTypes", READER).await).await;
    assert_eq!(s, 200, "{v}");
    let types = v["Resources"].as_array().unwrap();
    let user_type = types.iter().find(|t| t["id"] == "User").expect("User");
    assert_eq!(user_type["endpoint"], "/Users");
    assert_eq!(user_type["schema"], USER);
    assert_eq!(user_type["schemas"], json!([RESOURCE_TYPE]));
    assert!(
        user_type["schemaExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["schema"] == SAP_USER)
    );
    let group_type = types.iter().find(|t| t["id"] == "Group").expect("Group");
    assert_eq!(
        (&group_type["endpoint"], &group_type["schema"]),
        (&json!("/Groups"), &json!(GROUP))
    );
    let (s, _, v) = body(fx.get(ACME, "/scim/ResourceTypes/User", READER).await).await;
    assert_eq!((s.as_u16(), &v["id"]), (200, &json!("User")));
    let (s, _, v) = body(fx.get(ACME, "/scim/ResourceTypes/Nope", READER).await).await;
    assert_eq!(s, 404);
    scim_error(&v, "404");

    // The service provider configuration says what the simulator does.
    let (s, _, v) = body(fx.get(ACME, "/scim/ServiceProviderConfig", READER).await).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["schemas"], json!([SPC]));
    assert_eq!(v["patch"]["supported"], true);
    assert_eq!(v["filter"]["supported"], true);
    assert_eq!(v["filter"]["maxResults"], 100);
    for k in ["bulk", "changePassword", "sort", "etag"] {
        assert_eq!(v[k]["supported"], false, "{k}: {v}");
    }
    assert!(!v["authenticationSchemes"].as_array().unwrap().is_empty());

    // Like every IAS API, discovery needs a credential.
    let r = fx
        .client()
        .get(fx.url(ACME, "/scim/Schemas"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    fx.stop().await;
}

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
        SimOptions {
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
