//! How the REST client reaches a host: `--connect-to` keeps the host name for SNI and Host,
//! server certificates are verified unless `--insecure`, and `--offline` makes no connection.

use super::{ClientAuth, HOST, config, fixture, http_server, reply, server_leaf, tls_server, url};
use crate::harness;
use chrono::{Duration as Days, Utc};
use mtls_audit::net::{Call, ChainProblem, Deadline, NetClient, NetError, TlsFailure, Unreachable};
use mtls_audit_sim::pki::Ca;

#[tokio::test]
async fn offline_makes_no_connection() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&f.ca, Some(http.connect_to()));
    cfg.offline = true;
    let client = NetClient::new(cfg).unwrap();
    let e = client.send(Call::get(&url("/scim/Users")).unwrap()).await;
    assert!(matches!(e, Err(NetError::Offline)), "{e:?}");
    let e = client
        .probe_tls(HOST, 443, Utc::now(), Deadline::none())
        .await;
    assert!(matches!(e, Err(NetError::Offline)), "{e:?}");
    assert_eq!(f.tls.handshakes(), 0);
    assert!(http.seen().is_empty());
}

#[tokio::test]
async fn connect_to_keeps_the_host_for_sni_and_host_header() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200).body("ok"))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users?filter=userName%20eq%20%22x%22")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        (r.status, r.body.as_slice(), r.attempts),
        (200, &b"ok"[..], 1)
    );
    // A port in the URL must not override the connect-to port: it goes to the Host header.
    let r = client
        .send(Call::get("https://globex.accounts.ondemand.com:8443/scim/Users").unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let seen = http.seen();
    assert_eq!(seen[0].host.as_deref(), Some(HOST));
    assert_eq!(seen[0].sni.as_deref(), Some(HOST));
    assert_eq!(seen[0].path, "/scim/Users");
    assert_eq!(
        seen[1].host.as_deref(),
        Some("globex.accounts.ondemand.com:8443")
    );
    assert_eq!(seen[1].sni.as_deref(), Some("globex.accounts.ondemand.com"));
}

#[tokio::test]
async fn the_rest_client_verifies_unless_told_not_to() {
    let stranger = Ca::new(
        "Stranger CA",
        Utc::now() - Days::days(10),
        Utc::now() + Days::days(100),
    )
    .unwrap();
    let leaf = server_leaf(&stranger, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let trusted = harness::ca();
    let client = NetClient::new(config(&trusted, Some(http.connect_to()))).unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.unreachable(),
        Some(&Unreachable::Tls(TlsFailure::Certificate(
            ChainProblem::UnknownIssuer
        ))),
        "{e}"
    );
    if let NetError::Unreachable { attempts, .. } = e {
        assert_eq!(attempts, 1, "a refused certificate is not retried");
    }
    assert!(http.seen().is_empty());

    let mut cfg = config(&trusted, Some(http.connect_to()));
    cfg.insecure = true;
    let client = NetClient::new(cfg).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
}

/// docs/spec.md §12: a URL with user information is refused before anything is sent, with an
/// error that says why and never quotes the password (nor the user name).
#[tokio::test]
async fn urls_with_user_information_are_refused_without_quoting_it() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    for u in [
        format!("https://admin:hunter2-pw@{HOST}/scim/Users"),
        format!("https://admin:hunter2-pw@{HOST}/scim/Users?filter=x#frag"),
        format!("https://hunter2-pw@{HOST}/scim/Users"),
        format!("https://admin:hunter2-pw@{HOST}:99999/scim/Users"),
        "https://admin:hunter2-pw@[::1/scim/Users".to_string(),
        format!("ftp://admin:hunter2-pw@{HOST}/scim/Users"),
    ] {
        let e = match Call::get(&u) {
            Err(e) => e,
            Ok(call) => client.send(call).await.unwrap_err(),
        };
        let text = format!("{e} {e:?}");
        assert!(matches!(e, NetError::InvalidUrl { .. }), "{u}: {text}");
        assert!(
            !text.contains("hunter2"),
            "{u}: the password leaked: {text}"
        );
        assert!(!text.contains("admin"), "{u}: the user leaked: {text}");
    }
    let e = Call::get(&format!("https://admin:hunter2-pw@{HOST}/scim/Users")).unwrap_err();
    assert!(e.to_string().contains("user information"), "{e}");
    assert!(e.to_string().contains(HOST), "the host is still named: {e}");
    assert!(http.seen().is_empty());
}
