//! Authentication as IAS does it: Basic with the client-ID lock, OAuth client credentials and
//! token lifetimes, client certificates mapped to admin records.

use crate::fixture::{ACME, Fx, GLOBEX, I_READER, INITECH, POWER, READER, WEAK};
use crate::harness::{self, body, ctype, scim_error};
use mtls_audit_sim::SimOptions;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_failures_403s_and_the_client_id_lock() {
    // 720x: the 60-minute lock lasts five seconds.
    let fx = Fx::start(SimOptions {
        time_scale: 720.0,
        ..SimOptions::default()
    })
    .await;
    let r = fx
        .client()
        .get(fx.url(ACME, "/scim/Users"))
        .send()
        .await
        .unwrap();
    let (s, h, v) = body(r).await;
    assert_eq!(s, 401);
    assert_eq!(ctype(&h), "application/scim+json");
    scim_error(&v, "401");
    let (s, _, _) = body(fx.get(ACME, "/scim/Users", ("unknown-client", "x")).await).await;
    assert_eq!(s, 401);
    let (s, _, v) = body(fx.get(ACME, "/scim/Users", WEAK).await).await;
    assert_eq!(s, 403);
    scim_error(&v, "403");
    assert!(v["detail"].as_str().unwrap().contains("Read Users"), "{v}");
    // Credentials of one tenant mean nothing on another.
    let (s, _, _) = body(fx.get(GLOBEX, "/scim/Users", READER).await).await;
    assert_eq!(s, 401);

    for i in 1..=5 {
        let r = fx.get(ACME, "/scim/Users", (READER.0, "wrong")).await;
        assert_eq!(r.status(), 401);
        let code = r
            .headers()
            .get("x-message-code")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            code.as_deref(),
            (i == 5).then_some("PASSWORD_LOCKED"),
            "attempt {i}"
        );
    }
    let r = fx.get(ACME, "/scim/Users", READER).await;
    assert_eq!(r.status(), 401, "locked even with the right secret");
    assert_eq!(
        r.headers().get("x-message-code").unwrap(),
        "PASSWORD_LOCKED"
    );
    // Other client IDs are not affected.
    assert_eq!(fx.get(ACME, "/scim/Users", POWER).await.status(), 200);
    // The lock expires (one scaled hour).
    tokio::time::sleep(Duration::from_millis(6000)).await;
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 200);
    // And /_sim/ can clear it at once.
    for _ in 0..5 {
        fx.get(ACME, "/scim/Users", (READER.0, "wrong")).await;
    }
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 401);
    let (s, _) = fx
        .sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/limits", None)
        .await;
    assert_eq!(s, 204);
    assert_eq!(fx.get(ACME, "/scim/Users", READER).await.status(), 200);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_client_credentials_tokens_and_their_lifetime() {
    let fx = Fx::start(SimOptions::default()).await;
    let c = fx.client();
    let token_url = fx.url(ACME, "/oauth2/token");
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (s, h, v) = body(r).await;
    assert_eq!(s, 200);
    assert!(ctype(&h).starts_with("application/json"));
    assert_eq!(
        (v["token_type"].as_str(), v["expires_in"].as_u64()),
        (Some("Bearer"), Some(3600))
    );
    let token = v["access_token"].as_str().unwrap().to_string();
    let r = c
        .get(fx.url(ACME, "/scim/Users?count=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The token is ACME's only.
    let r = c
        .get(fx.url(INITECH, "/scim/Users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(fx.url(ACME, "/scim/Users"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Credentials in the form (what SAP's Terraform provider sends).
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        I_READER.0, I_READER.1
    );
    let r = c
        .post(fx.url(INITECH, "/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!((s.as_u16(), v["expires_in"].as_u64()), (200, Some(2)));
    let short = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        c.get(fx.url(INITECH, "/scim/Users"))
            .bearer_auth(&short)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let r = c
        .get(fx.url(INITECH, "/scim/Users"))
        .bearer_auth(&short)
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(s, 401, "expires_in is honoured");
    assert!(v["detail"].as_str().unwrap().contains("expired"));

    // Errors of the token endpoint.
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some("bad"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    let (s, _, v) = body(r).await;
    assert_eq!(
        (s.as_u16(), v["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = c
        .post(&token_url)
        .basic_auth(READER.0, Some(READER.1))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A token by client certificate.
    let r = fx
        .mtls(&fx.lms)
        .post(&token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_map_to_admin_records() {
    let fx = Fx::start(SimOptions::default()).await;
    let probe = |c: reqwest::Client| {
        let url = fx.url(ACME, "/scim/Users?count=1");
        async move { c.get(url).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(probe(fx.mtls(&fx.lms)).await, 200);
    // Unknown certificates get through the handshake and are answered 401, as IAS does.
    let stranger = harness::client_cert(&fx.ca, "Stranger", -1, 100);
    assert_eq!(probe(fx.mtls(&stranger)).await, 401);
    assert_eq!(
        probe(fx.mtls(&harness::self_signed("Self", -1, 100))).await,
        401
    );
    assert_eq!(probe(fx.mtls(&fx.noread)).await, 403);
    assert_eq!(probe(fx.mtls(&fx.expired)).await, 401);
    assert_eq!(probe(fx.client()).await, 401);
    // The same certificate means nothing on a tenant whose records do not hold it.
    let r = fx
        .mtls(&fx.lms)
        .get(fx.url(INITECH, "/scim/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    fx.stop().await;
}
