//! The simulator's own endpoints under `/_sim/` and the bare address.

use crate::fixture::{ACME, Fx, GLOBEX, GLOBEX_CERT, GLOBEX_IPS, POWER, READER, admin, tenant};
use mtls_audit_sim::{IpsType, SimOptions};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_the_ca_on_the_bare_address() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/health", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["status"].as_str(), v["tenants"].as_u64()),
        (Some("ok"), Some(3))
    );
    let pem = fx
        .client()
        .get(fx.admin_url("/_sim/ca.pem"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(pem, fx.sim.ca_pem());
    let line: Value = serde_json::from_str(&fx.sim.listening_line()).unwrap();
    assert_eq!(line["listening"], fx.sim.url());
    // A host no tenant has is misdirected, not served.
    let r = fx
        .client()
        .get(fx.admin_url("/scim/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_endpoints_change_state_at_run_time() {
    let fx = Fx::start(SimOptions::default()).await;
    let (s, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants", None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[1]["hosts"], json!([GLOBEX, GLOBEX_IPS, GLOBEX_CERT]));

    // Take Read Users away from the reader: SCIM answers 403 at once.
    let (s, mut t) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/ACME", None)
        .await;
    assert_eq!(s, 200);
    t["admin"][1]["permissions"] = json!(["Access Identity Provisioning Tenant Admin API"]);
    let (s, _) = fx
        .sim_json(reqwest::Method::PUT, "/_sim/tenants/ACME", Some(t.clone()))
        .await;
    assert_eq!(s, 200);
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 403);
    t["admin"][1]["permissions"] = json!(["Read Everything"]);
    let (s, v) = fx
        .sim_json(reqwest::Method::PUT, "/_sim/tenants/ACME", Some(t))
        .await;
    assert_eq!(s, 400, "{v}");

    // Faults through /_sim/.
    let (s, _) = fx
        .sim_json(
            reqwest::Method::PUT,
            "/_sim/tenants/ACME/faults",
            Some(json!({"status": 503})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 503);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/ACME/faults", None)
        .await;
    assert_eq!(v["status"], 503);
    fx.sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/faults", None)
        .await;
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 200);

    // A new tenant on a new domain is reachable by its name with a valid certificate.
    let mut newco = tenant("NEWCO", IpsType::Converged, "newco.example.org");
    newco.admins = vec![admin(
        "reader",
        Some(("newco-client", "newco-secret")),
        &["Read Users"],
        &[],
    )];
    let (s, v) = fx
        .sim_json(
            reqwest::Method::POST,
            "/_sim/tenants",
            Some(serde_json::to_value(&newco).unwrap()),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = fx
        .sim_json(
            reqwest::Method::POST,
            "/_sim/tenants",
            Some(serde_json::to_value(&newco).unwrap()),
        )
        .await;
    assert_eq!(s, 409);
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(fx.sim.ca_pem().as_bytes()).unwrap()])
        .resolve("newco.example.org", fx.sim.addr())
        .build()
        .unwrap();
    let r = c
        .get(fx.url("newco.example.org", "/scim/Users"))
        .basic_auth("newco-client", Some("newco-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Counters per tenant and endpoint, and their reset.
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters/ACME", None)
        .await;
    assert_eq!(v["endpoints"]["GET /scim/Users"], 3);
    assert_eq!(v["families"]["scim"]["statuses"]["503"], 1);
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/counters", None)
        .await;
    assert_eq!(s, 204);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters/ACME", None)
        .await;
    assert_eq!(v["endpoints"], json!({}));
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/tenants/NEWCO", None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = fx
        .sim_json(reqwest::Method::GET, "/_sim/tenants/NEWCO", None)
        .await;
    assert_eq!(s, 404);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/scenario", None)
        .await;
    assert_eq!(v["tenant"].as_array().unwrap().len(), 3);
    fx.stop().await;
}
