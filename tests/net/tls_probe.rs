//! The server TLS probe: the chain a server presents is recorded (valid, expired, untrusted,
//! for another name, or cut short by a refused handshake) and validated apart, and the client
//! probes each host once however many tenants ask.

use super::{
    ClientAuth, HOST, config, fixture, http_server, probe_options, reply, server_leaf, tls_server,
    tls_server_with,
};
use crate::harness;
use chrono::{Duration as Days, Utc};
use mtls_audit::net::tls_probe::probe;
use mtls_audit::net::{ChainProblem, Deadline, NetClient, UnreachableKind};
use mtls_audit_sim::pki::Ca;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn probe_records_a_valid_chain_with_the_host_as_sni() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&f.ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("probe");
    assert_eq!(p.validation, Ok(()));
    assert!(p.name_matches);
    assert_eq!(p.chain.len(), 2, "leaf and CA as served");
    assert_eq!(p.chain[1].as_ref(), &f.ca.cert.cert_der[..]);
    assert_eq!(p.peer.port(), http.port);
    assert_eq!(p.protocol.as_deref(), Some("TLSv1.3"));
    assert!(!p.client_cert_requested);
    assert!(p.handshake_error.is_none());
    assert_eq!(
        f.tls.sni.lock().unwrap().as_slice(),
        &[Some(HOST.to_string())]
    );
}

#[tokio::test]
async fn probe_records_an_expired_chain_and_names_the_problem() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -400, -3);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("an expired chain is still recorded");
    assert_eq!(p.chain[0].as_ref(), &leaf.cert_der[..]);
    match p.validation {
        Err(ChainProblem::Expired { not_after: Some(t) }) => assert!(t < Utc::now()),
        other => panic!("expected Expired, got {other:?}"),
    }
}

#[tokio::test]
async fn probe_records_an_untrusted_chain() {
    let stranger = Ca::new(
        "Stranger CA",
        Utc::now() - Days::days(10),
        Utc::now() + Days::days(100),
    )
    .unwrap();
    let leaf = server_leaf(&stranger, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[&stranger.cert], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let trusted = harness::ca();
    let p = probe(
        HOST,
        443,
        &probe_options(&trusted, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("an untrusted chain is still recorded");
    assert_eq!(p.validation, Err(ChainProblem::UnknownIssuer));
    assert_eq!(p.chain.len(), 2);
    assert!(p.name_matches, "the name is judged apart from trust");
}

#[tokio::test]
async fn probe_names_a_host_name_mismatch() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &["other.example.com"], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert_eq!(p.validation, Err(ChainProblem::NameMismatch));
    assert!(!p.name_matches);
}

#[tokio::test]
async fn probe_notes_a_request_for_a_client_certificate() {
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server(&leaf, &[], Some(&ca), ClientAuth::Optional);
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .unwrap();
    assert!(p.client_cert_requested);
    assert_eq!(p.validation, Ok(()));
}

#[tokio::test]
async fn probe_keeps_the_chain_when_the_handshake_fails_afterwards() {
    // TLS 1.2: the server sends its chain, asks for a client certificate, and refuses the
    // empty answer before the handshake ends. The chain is still evidence.
    let ca = harness::ca();
    let leaf = server_leaf(&ca, &[HOST], -1, 60);
    let tls = tls_server_with(
        &leaf,
        &[],
        Some(&ca),
        ClientAuth::Required,
        &[&rustls::version::TLS12],
    );
    let http = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let p = probe(
        HOST,
        443,
        &probe_options(&ca, http.port, Duration::from_secs(10)),
    )
    .await
    .expect("the chain was recorded");
    assert_eq!(p.chain[0].as_ref(), &leaf.cert_der[..]);
    assert_eq!(p.validation, Ok(()));
    assert!(p.client_cert_requested);
    let err = p.handshake_error.expect("the handshake failed");
    assert!(
        matches!(
            err.kind(),
            UnreachableKind::Tls | UnreachableKind::Reset | UnreachableKind::Closed
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_client_probes_each_host_once() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let as_of = Utc::now();
    let (a, b) = tokio::join!(
        client.probe_tls(HOST, 443, as_of, Deadline::after(Duration::from_secs(20))),
        client.probe_tls(HOST, 443, as_of, Deadline::after(Duration::from_secs(20))),
    );
    let c = client
        .probe_tls("ACME.accounts.ondemand.com", 443, as_of, Deadline::none())
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
    assert_eq!(c.validation, Ok(()));
    assert_eq!(f.tls.handshakes(), 1, "one connection for three callers");
    // Another host is probed on its own.
    client
        .probe_tls("globex.accounts.ondemand.com", 443, as_of, Deadline::none())
        .await
        .unwrap();
    assert_eq!(f.tls.handshakes(), 2);
}
