//! Failures told apart from typed errors: refused, DNS, a silent server (handshake timeout) and
//! a reset, for the probe and the REST client, and retried only when trying again can help.

use super::{HOST, Raw, closed_port, config, fixture, probe_options, raw_server, url};
use crate::harness;
use chrono::Utc;
use mtls_audit::net::tls_probe::probe;
use mtls_audit::net::{
    Call, ConnectTo, Deadline, NetClient, NetError, Phase, Unreachable, UnreachableKind,
};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[tokio::test]
async fn probe_tells_refused_apart() {
    let ca = harness::ca();
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, closed_port(), Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), UnreachableKind::Refused, "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
}

#[tokio::test]
async fn probe_tells_dns_failure_apart() {
    let ca = harness::ca();
    let mut opts = probe_options(&ca, 1, Duration::from_secs(10));
    opts.connect_to = None;
    let e = probe("no-such-tenant.invalid", 443, &opts)
        .await
        .unwrap_err();
    match &e {
        Unreachable::Dns { host, .. } => assert_eq!(host, "no-such-tenant.invalid"),
        other => panic!("expected DNS, got {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("DNS lookup of no-such-tenant.invalid failed")
    );
}

#[tokio::test]
async fn probe_tells_a_silent_server_apart_as_a_handshake_timeout() {
    let ca = harness::ca();
    // The kernel completes the TCP handshake for a listener that never accepts.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, port, Duration::from_millis(300)),
    )
    .await
    .unwrap_err();
    assert_eq!(
        e,
        Unreachable::Timeout {
            phase: Phase::TlsHandshake,
            after: Duration::from_millis(300)
        }
    );
    drop(silent);
}

#[tokio::test]
async fn probe_tells_a_reset_apart() {
    let ca = harness::ca();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            // Read the ClientHello so the client is waiting for an answer, then reset.
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            s.set_zero_linger().unwrap();
            drop(s);
        }
    });
    let e = probe(
        HOST,
        443,
        &probe_options(&ca, port, Duration::from_secs(10)),
    )
    .await
    .unwrap_err();
    assert_eq!(e, Unreachable::Reset, "{e}");
}

#[tokio::test]
async fn the_client_retries_a_refused_probe_but_not_a_dns_failure() {
    let ca = harness::ca();
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&ca, Some(refused))).unwrap();
    match client
        .probe_tls(HOST, 443, Utc::now(), Deadline::none())
        .await
    {
        Err(NetError::Unreachable {
            failure: Unreachable::Refused { .. },
            attempts: 3,
            ..
        }) => {}
        other => panic!("expected refused after 3 attempts, got {other:?}"),
    }
    let client = NetClient::new(config(&ca, None)).unwrap();
    match client
        .probe_tls("no-such-tenant.invalid", 443, Utc::now(), Deadline::none())
        .await
    {
        Err(NetError::Unreachable {
            failure: Unreachable::Dns { .. },
            attempts: 1,
            ..
        }) => {}
        other => panic!("expected one DNS failure, got {other:?}"),
    }
}

#[tokio::test]
async fn rest_failures_are_classified_and_retried_only_when_useful() {
    let f = fixture();
    // Refused: retried (connection trouble), then reported with the count.
    let refused = ConnectTo::parse(&format!("127.0.0.1:{}", closed_port())).unwrap();
    let client = NetClient::new(config(&f.ca, Some(refused))).unwrap();
    match client.send(Call::get(&url("/scim/Users")).unwrap()).await {
        Err(NetError::Unreachable {
            failure: Unreachable::Refused { .. },
            attempts,
            ..
        }) => assert_eq!(attempts, 3),
        other => panic!("expected refused, got {other:?}"),
    }
    // DNS: not retried.
    let client = NetClient::new(config(&f.ca, None)).unwrap();
    match client
        .send(Call::get("https://no-such-tenant.invalid/scim/Users").unwrap())
        .await
    {
        Err(e @ NetError::Unreachable { .. }) => {
            assert_eq!(e.unreachable().unwrap().kind(), UnreachableKind::Dns, "{e}");
            assert!(matches!(e, NetError::Unreachable { attempts: 1, .. }));
        }
        other => panic!("expected DNS failure, got {other:?}"),
    }
}

/// docs/spec.md §12: a TLS handshake that does not finish within the connect timeout is retried
/// like any other connection trouble (it used to end the call after one attempt).
#[tokio::test]
async fn a_handshake_timeout_is_retried() {
    let f = fixture();
    let (port, count) =
        raw_server(&f.tls, |n| if n == 1 { Raw::NoHandshake } else { Raw::Ok }).await;
    let mut cfg = config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    );
    cfg.connect_timeout = Some(Duration::from_millis(300));
    let client = NetClient::new(cfg).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_or_else(|e| panic!("the handshake timeout was not retried: {e}"));
    assert_eq!((r.status, r.attempts), (200, 2));
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // Never handshaking: a timeout, after every attempt, that says it happened connecting.
    let (port, count) = raw_server(&f.tls, |_| Raw::NoHandshake).await;
    let mut cfg = config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    );
    cfg.connect_timeout = Some(Duration::from_millis(200));
    let client = NetClient::new(cfg).unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    match &e {
        NetError::Unreachable {
            failure: Unreachable::Timeout { phase, after },
            attempts: 3,
            ..
        } => {
            assert_ne!(*phase, Phase::Response, "{e}");
            assert_eq!(*after, Duration::from_millis(200), "{e}");
        }
        other => panic!("expected a connect timeout after 3 attempts, got {other:?}"),
    }
    assert!(e.to_string().contains("while connecting"), "{e}");
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

/// A TCP connect that times out (the listen queue is full, so the kernel drops our SYN) is
/// retried too, and succeeds once the front end catches up.
#[tokio::test]
async fn a_tcp_connect_timeout_is_retried() {
    let f = fixture();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    // Fill the accept queue: these connections complete in the kernel and are never accepted
    // until the front end wakes up.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let acceptor = tokio_rustls::TlsAcceptor::from(f.tls.config.clone());
    tokio::spawn(async move {
        // Busy for a while, then drain the queue and serve.
        tokio::time::sleep(Duration::from_millis(700)).await;
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = s.shutdown().await;
            });
        }
    });
    let mut cfg = config(&f.ca, Some(ConnectTo::parse(&addr.to_string()).unwrap()));
    cfg.connect_timeout = Some(Duration::from_millis(300));
    cfg.retry.retries = 4;
    let client = NetClient::new(cfg).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_or_else(|e| panic!("the connect timeout was not retried: {e}"));
    assert_eq!(r.status, 200);
    assert!(r.attempts >= 2, "{r:?}");
    drop(fillers);
}
