//! Auth modes: an mTLS identity (accepted, missing, foreign), Basic credentials, and OAuth
//! client credentials (tokens cached per tenant host, renewed before expiry, refreshed once on a
//! 401, a refused token request an auth failure).

use super::{
    ClientAuth, HOST, basic_of, client_leaf, config, fixture, http_server, identity, oauth_cred,
    oauth_server, reply, server_leaf, tls_server, url,
};
use crate::harness;
use chrono::{Duration as Days, Utc};
use mtls_audit::net::{
    Auth, Call, Credential, CredentialKind, NetClient, NetError, Secret, Unreachable,
    UnreachableKind,
};
use mtls_audit_sim::pki::Ca;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[tokio::test]
async fn an_mtls_identity_is_accepted_and_a_missing_or_foreign_one_rejected() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], Some(&ca), ClientAuth::Required);
    let http = http_server(
        &tls,
        Box::new(|s, _| reply(if s.client_certs > 0 { 200 } else { 401 })),
    )
    .await;
    let mut cfg = config(&ca, Some(http.connect_to()));
    cfg.retry.retries = 0;
    let client = NetClient::new(cfg).unwrap();

    let lms = identity(&client_leaf(&ca, "LMS"), "LMS");
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Identity(lms.clone())),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(http.seen()[0].client_certs, 1);
    assert_eq!(
        http.seen()[0].authorization,
        None,
        "mTLS sends no Authorization header"
    );

    // The same through an mTLS credential.
    let cred = Arc::new(Credential::new("m", CredentialKind::Mtls { identity: lms }));
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);

    // TLS 1.3 shows the rejection only after the handshake (ARCHITECTURE.md, pitfalls): it must still
    // come back as a TLS-level failure, never as an answer.
    let stranger = Ca::new(
        "Stranger",
        Utc::now() - Days::days(1),
        Utc::now() + Days::days(9),
    )
    .unwrap();
    let foreign = identity(&client_leaf(&stranger, "LMS"), "foreign");
    for auth in [Auth::None, Auth::Identity(foreign)] {
        let e = client
            .send(Call::get(&url("/scim/Users")).unwrap().auth(auth.clone()))
            .await
            .unwrap_err();
        let kind = e.unreachable().map(Unreachable::kind);
        assert!(
            matches!(
                kind,
                Some(UnreachableKind::Tls | UnreachableKind::Reset | UnreachableKind::Closed)
            ),
            "{auth:?}: {e}"
        );
    }
    assert_eq!(
        http.count("/scim/Users"),
        2,
        "rejected clients never reached HTTP"
    );
}

#[tokio::test]
async fn basic_credentials_send_basic_auth() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = Arc::new(Credential::new(
        "acme",
        CredentialKind::Basic {
            client_id: "8f7d".into(),
            secret: Secret::new("basic-secret"),
        },
    ));
    client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(
        http.seen()[0].authorization.as_deref(),
        Some(basic_of("8f7d", "basic-secret").as_str())
    );
}

#[tokio::test]
async fn oauth_tokens_are_cached_per_tenant() {
    let f = fixture();
    let (respond, issued) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    for _ in 0..3 {
        let r = client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(cred.clone())),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    assert_eq!(
        issued.load(Ordering::SeqCst),
        1,
        "one token for three calls"
    );
    assert_eq!(http.count("/oauth2/token"), 1);
    // Another tenant host gets its own token.
    client
        .send(
            Call::get("https://globex.accounts.ondemand.com/scim/Users")
                .unwrap()
                .auth(Auth::Credential(cred.clone())),
        )
        .await
        .unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    let token_req = http
        .seen()
        .into_iter()
        .find(|s| s.path == "/oauth2/token")
        .unwrap();
    assert_eq!(token_req.host.as_deref(), Some(HOST));
}

#[tokio::test]
async fn a_token_about_to_expire_is_not_reused() {
    let f = fixture();
    let (respond, issued) = oauth_server(0, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    for _ in 0..3 {
        client
            .send(
                Call::get(&url("/scim/Users"))
                    .unwrap()
                    .auth(Auth::Credential(cred.clone())),
            )
            .await
            .unwrap();
    }
    assert_eq!(issued.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once() {
    let f = fixture();
    // Only the newest token is good: the first one gets revoked as soon as a second exists,
    // and here the API refuses tok-1 outright.
    let (respond, issued) = oauth_server(3600, |n, _| n >= 2);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let cred = oauth_cred("oauth-secret");
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred.clone())),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
    assert_eq!(issued.load(Ordering::SeqCst), 2);
    // The refreshed token is cached.
    client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(cred)),
        )
        .await
        .unwrap();
    assert_eq!(issued.load(Ordering::SeqCst), 2);

    // An API that refuses every token: one refresh, then the 401 is the answer.
    let (respond, issued) = oauth_server(3600, |_, _| false);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(oauth_cred("oauth-secret"))),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(
        issued.load(Ordering::SeqCst),
        2,
        "refreshed once, not in a loop"
    );
}

#[tokio::test]
async fn a_refused_token_request_is_an_auth_failure() {
    let f = fixture();
    let (respond, _) = oauth_server(3600, |_, _| true);
    let http = http_server(&f.tls, respond).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let e = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .auth(Auth::Credential(oauth_cred("wrong-secret"))),
        )
        .await
        .unwrap_err();
    assert!(e.is_auth_failure(), "{e}");
    assert!(
        matches!(e, NetError::TokenRejected { status: 401, .. }),
        "{e}"
    );
    assert_eq!(http.count("/scim/Users"), 0);
}
