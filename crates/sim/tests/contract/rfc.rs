//! Gaps a third-party SCIM suite (scim2-tester) found, each pinned by a regression test:
//! the discovery endpoints (`/scim/Schemas`, `/scim/ResourceTypes`,
//! `/scim/ServiceProviderConfig`), `externalId` kept and filterable, 405 answered after
//! authentication with a SCIM error and an `Allow` header, and an export that keeps its secrets
//! to its owner.

use crate::fixture::{ACME, Fx, GROUPS, POWER, READER};
use crate::harness::{TestDir, as_of, body, ctype, filter_q, scim_error};
use mtls_audit_sim::{SimOptions, generate};
use reqwest::Method;
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

/// `externalId` survives create and replace, and `filter=externalid eq "…"` (SAP's spelling;
/// attribute names are case-insensitive, RFC 7644 §3.4.2.2) finds the user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_id_is_kept_and_filterable() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let new = json!({
        "schemas": [USER],
        "userName": "ext.user",
        "externalId": "HR-4711",
        "emails": [{"value": "ext.user@acme.example"}],
    });
    let r = c
        .post(fx.url(ACME, "/scim/Users"))
        .basic_auth(POWER.0, Some(POWER.1))
        .header("content-type", "application/scim+json")
        .body(new.to_string())
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["externalId"], "HR-4711");
    let id = v["id"].as_str().unwrap().to_string();
    let (_, _, v) = body(fx.get(ACME, &format!("/scim/Users/{id}"), READER).await).await;
    assert_eq!(v["externalId"], "HR-4711");

    for f in [
        r#"externalId eq "HR-4711""#,
        r#"externalid eq "HR-4711""#,
        r#"EXTERNALID eq "HR-4711" and userName eq "ext.user""#,
    ] {
        let (s, _, v) = body(
            fx.get(ACME, &format!("/scim/Users?filter={}", filter_q(f)), READER)
                .await,
        )
        .await;
        assert_eq!(s, 200, "{f}: {v}");
        assert_eq!(v["totalResults"], 1, "{f}: {v}");
        assert_eq!(v["Resources"][0]["id"], id.as_str());
    }
    // externalId is caseExact (RFC 7643 §3.1).
    let (_, _, v) = body(
        fx.get(
            ACME,
            &format!(
                "/scim/Users?filter={}",
                filter_q(r#"externalId eq "hr-4711""#)
            ),
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(v["totalResults"], 0, "{v}");

    // Replace keeps what the client sends, externalId included.
    let replaced = json!({
        "schemas": [USER],
        "userName": "ext.user",
        "externalId": "HR-4712",
        "emails": [{"value": "ext.user@acme.example"}],
    });
    let r = c
        .put(fx.url(ACME, &format!("/scim/Users/{id}")))
        .basic_auth(POWER.0, Some(POWER.1))
        .header("content-type", "application/scim+json")
        .body(replaced.to_string())
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["externalId"], "HR-4712");
    let (_, _, v) = body(
        fx.get(
            ACME,
            &format!(
                "/scim/Users?filter={}",
                filter_q(r#"externalId eq "HR-4712""#)
            ),
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(v["totalResults"], 1, "{v}");
    fx.stop().await;
}

/// A method a path does not serve: 401 first for an unauthenticated caller, whatever the
/// method; then 405 with a SCIM error (status as a string, like IAS) and an `Allow` header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_not_allowed_comes_after_authentication_with_a_scim_error() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    for (method, path) in [
        (Method::PUT, "/scim/Users"),
        (Method::DELETE, "/scim/Groups"),
        (Method::POST, "/scim/Users/some-id"),
        (Method::PATCH, "/scim/ResourceTypes"),
        (Method::PUT, "/scim/ServiceProviderConfig"),
    ] {
        let r = c
            .request(method.clone(), fx.url(ACME, path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without credentials");
        let r = c
            .request(method.clone(), fx.url(ACME, path))
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap();
        let allow = r
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let (s, h, v) = body(r).await;
        assert_eq!(s, 405, "{method} {path}: {v}");
        assert_eq!(ctype(&h), "application/scim+json");
        scim_error(&v, "405");
        assert!(allow.contains("GET"), "{method} {path}: Allow is '{allow}'");
        assert!(
            !allow.contains(method.as_str()),
            "{method} {path}: Allow is '{allow}'"
        );
    }
    // The Applications API answers in its own error shape.
    let r = c
        .delete(fx.url(ACME, "/Applications/v1"))
        .basic_auth(POWER.0, Some(POWER.1))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("allow").is_some());
    let (s, _, v) = body(r).await;
    assert_eq!((s.as_u16(), &v["error"]["code"]), (405, &json!(405)), "{v}");
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
    for f in ["scenario.toml", "secrets.env", "lms.key", "next-lms.key"] {
        let p = old.join(f);
        std::fs::write(&p, "stale").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    g.write(&old, "ca", None).unwrap();
    for dir in [&fresh, &old] {
        for f in ["scenario.toml", "secrets.env", "lms.key", "next-lms.key"] {
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

/// The writes SAP's Terraform provider makes, answered as IAS answered them in its recordings:
/// PATCH of users and groups (204, no body), groups created with members and removed by a
/// value filter, custom schemas created and deleted; and `attributes` projection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_writes_follow_the_recorded_ias_answers() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let send = |m: Method, path: &str, body: Value| {
        c.request(m, fx.url(ACME, path))
            .basic_auth(POWER.0, Some(POWER.1))
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let (s, _, v) = body(
        send(
            Method::POST,
            "/scim/Users/",
            json!({"schemas": [USER, SAP_USER], "userName": "jdoe", "name": {"givenName": "Joe", "familyName": "Doe", "honorificPrefix": "Mr."},
                   "emails": [{"value": "joe.doe@test.com", "type": "work", "primary": true}], SAP_USER: {"status": "new"}}),
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        v["active"], false,
        "IAS creates users inactive unless told: {v}"
    );
    assert_eq!(v["name"]["honorificPrefix"], "Mr.");
    assert!(v[SAP_USER]["userId"].as_str().unwrap().starts_with('P'));
    assert!(
        v["meta"].get("groups.cnt").is_none(),
        "only lists carry groups.cnt"
    );
    let id = v["id"].as_str().unwrap().to_string();
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "replace", "path": "userName", "value": "jdoe_s"},
        {"op": "replace", "path": "emails", "value": [{"value": "joe.doe.s@test.com", "type": "home"}, {"value": "joe.doe@test.com", "type": "work", "primary": true}]},
        {"op": "replace", "path": "active", "value": true},
        {"op": "replace", "path": format!("{SAP_USER}:status"), "value": "active"},
    ]});
    let r = send(Method::PATCH, &format!("/scim/Users/{id}"), patch)
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.text().await.unwrap().is_empty());
    let (_, _, v) = body(fx.get(ACME, &format!("/scim/Users/{id}"), READER).await).await;
    assert_eq!(
        (&v["userName"], &v["active"]),
        (&json!("jdoe_s"), &json!(true))
    );
    assert_eq!(v["emails"].as_array().unwrap().len(), 2);
    assert_eq!(v[SAP_USER]["status"], "active");
    // The new userName is what filters see.
    let (_, _, l) = body(
        fx.get(
            ACME,
            &format!("/scim/Users?filter={}", filter_q(r#"userName eq "jdoe_s""#)),
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(l["totalResults"], 1);
    // A bad operation changes nothing: 400 with the RFC's scimType.
    let r = send(
        Method::PATCH,
        &format!("/scim/Users/{id}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": "userName"}, {"op": "remove", "path": "emails[type eq \"fax\"]"}]}),
    )
    .await
    .unwrap();
    let (s, _, e) = body(r).await;
    assert_eq!(
        (s.as_u16(), e["scimType"].as_str()),
        (400, Some("noTarget")),
        "{e}"
    );
    // attributes / excludedAttributes.
    let (_, _, v) = body(
        fx.get(
            ACME,
            &format!("/scim/Users/{id}?attributes=userName"),
            READER,
        )
        .await,
    )
    .await;
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "schemas", "userName"], "{v}");
    let (_, _, v) = body(
        fx.get(
            ACME,
            &format!("/scim/Users/{id}?excludedAttributes=emails,name"),
            READER,
        )
        .await,
    )
    .await;
    assert!(v.get("emails").is_none() && v.get("name").is_none() && v.get("userName").is_some());

    // Groups: Manage Groups writes them; members are users (or groups) of the tenant.
    let send_g = |m: Method, path: &str, body: Value, cred: (&'static str, &'static str)| {
        c.request(m, fx.url(ACME, path))
            .basic_auth(cred.0, Some(cred.1))
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
    };
    let group = json!({"schemas": [GROUP, "urn:sap:cloud:scim:schemas:extension:custom:2.0:Group"], "displayName": "Test Group",
        "members": [{"value": id, "type": "User"}],
        "urn:sap:cloud:scim:schemas:extension:custom:2.0:Group": {"name": "Test-Group", "description": "For testing purposes"}});
    let r = send_g(Method::POST, "/scim/Groups/", group.clone(), POWER)
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "POWER lacks Manage Groups");
    let r = send_g(Method::POST, "/scim/Groups/", group, GROUPS)
        .await
        .unwrap();
    let (s, _, g) = body(r).await;
    assert_eq!(s, 201, "{g}");
    let ext = &g["urn:sap:cloud:scim:schemas:extension:custom:2.0:Group"];
    assert_eq!(ext["name"], "Test-Group");
    assert_eq!(ext["additionalId"].as_str().unwrap().len(), 24);
    assert_eq!(
        g["members"][0]["$ref"],
        format!("https://{ACME}/scim/Users/{id}")
    );
    let gid = g["id"].as_str().unwrap().to_string();
    let r = send_g(
        Method::PATCH,
        &format!("/scim/Groups/{gid}"),
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "remove", "path": format!("members[value eq \"{id}\"]"), "value": null},
            {"op": "replace", "path": "urn:sap:cloud:scim:schemas:extension:custom:2.0:Group:description", "value": "For production purposes"}]}),
        GROUPS,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let (_, _, g) = body(fx.get(ACME, &format!("/scim/Groups/{gid}"), READER).await).await;
    assert!(
        g.get("members")
            .is_none_or(|m| m.as_array().unwrap().is_empty()),
        "{g}"
    );
    assert_eq!(
        g["urn:sap:cloud:scim:schemas:extension:custom:2.0:Group"]["description"],
        "For production purposes"
    );
    let r = send_g(
        Method::POST,
        "/scim/Groups",
        json!({"displayName": "x", "members": [{"value": "nobody"}]}),
        GROUPS,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = send_g(
        Method::DELETE,
        &format!("/scim/Groups/{gid}"),
        json!({}),
        GROUPS,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);

    // Custom schemas, as SAP's Terraform provider creates and deletes them.
    let custom = json!({"id": "urn:ietf:scim:schemas:Terraform", "name": "Terraform", "description": "Test Schema",
        "schemas": [SCHEMA], "attributes": [{"name": "test_attribute", "type": "string", "multiValued": true,
        "required": true, "canonicalValues": ["test", "attr"], "mutability": "readWrite", "returned": "never", "uniqueness": "none"}]});
    let (s, h, v) = body(
        send(Method::POST, "/scim/Schemas/", custom.clone())
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["attributes"][0]["caseExact"], false, "defaults filled in");
    assert!(
        h.get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .ends_with("urn%3Aietf%3Ascim%3Aschemas%3ATerraform")
    );
    assert_eq!(
        send(Method::POST, "/scim/Schemas", custom)
            .await
            .unwrap()
            .status(),
        409
    );
    let (s, _, _) = body(
        fx.get(
            ACME,
            "/scim/Schemas/urn:ietf:scim:schemas:Terraform",
            READER,
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, e) = body(
        send(Method::POST, "/scim/Schemas", json!({"name": "x"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 400);
    scim_error(&e, "400");
    let r = send(
        Method::DELETE,
        "/scim/Schemas/urn:ietf:scim:schemas:Terraform",
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = send(Method::DELETE, &format!("/scim/Schemas/{USER}"), json!({}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "built-in schemas stay");
    fx.stop().await;
}
