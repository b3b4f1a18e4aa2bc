//! Limits: a hanging tenant is cut at its deadline without holding up the others, a request
//! timeout is reported as a timeout, and the rate budget spaces requests to one tenant.

use super::{
    ClientAuth, Raw, config, fixture, http_server, raw_server, reply, server_leaf, tls_server, url,
};
use crate::harness;
use mtls_audit::net::{
    Call, ConnectTo, Deadline, NetClient, NetError, RateBudgets, RateLimit, Unreachable,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

#[tokio::test]
async fn a_hanging_tenant_is_cut_at_its_deadline_and_delays_no_one_else() {
    let ca = harness::ca();
    // Addressed by IP so two servers can be reached without --connect-to.
    let leaf = server_leaf(&ca, &["127.0.0.1"], -1, 60);
    let tls = tls_server(&leaf, &[], None, ClientAuth::None);
    let (hang_port, accepted) = raw_server(&tls, |_| Raw::Hang).await;
    let healthy = http_server(&tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&ca, None);
    // One request in flight for the whole fleet, and no per-request timeout to speak of:
    // only the hanging tenant's deadline can free the slot.
    cfg.concurrency = 1;
    cfg.timeout = Duration::from_secs(3600);
    let client = NetClient::new(cfg).unwrap();
    let hang_call = Call::get(&format!("https://127.0.0.1:{hang_port}/scim/Users"))
        .unwrap()
        .deadline(Deadline::after(Duration::from_millis(300)));
    let hanging = tokio::spawn({
        let c = client.clone();
        async move { c.send(hang_call).await }
    });
    // Wait until the hanging request holds the only slot.
    while accepted.load(Ordering::SeqCst) == 0 && !hanging.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ok = client
        .send(
            Call::get(&format!("https://127.0.0.1:{}/scim/Users", healthy.port))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(120))),
        )
        .await
        .unwrap();
    assert_eq!(ok.status, 200);
    let e = hanging.await.unwrap().unwrap_err();
    assert!(
        matches!(
            e,
            NetError::Deadline {
                waiting: mtls_audit::net::client::Waiting::Response,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_timeout_without_deadline_is_reported_as_such() {
    let f = fixture();
    let (port, count) = raw_server(&f.tls, |_| Raw::Hang).await;
    let mut cfg = config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    );
    cfg.timeout = Duration::from_millis(300);
    cfg.retry.retries = 1;
    let client = NetClient::new(cfg).unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    match e {
        NetError::Unreachable {
            failure: Unreachable::Timeout { phase, .. },
            attempts,
            ..
        } => {
            assert_eq!(phase, mtls_audit::net::Phase::Response);
            assert_eq!(attempts, 2);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_rate_budget_spaces_requests_to_one_tenant() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(200))).await;
    let mut cfg = config(&f.ca, Some(http.connect_to()));
    // A shortened window: 5 requests per 250 ms with a burst of 2, i.e. one per 50 ms.
    let limit = RateLimit {
        requests: 5,
        per: Duration::from_millis(250),
        burst: 2,
    };
    cfg.budgets = RateBudgets::uniform(limit);
    cfg.concurrency = 16;
    cfg.per_host = 16;
    let client = NetClient::new(cfg).unwrap();
    let n = 12usize;
    let t0 = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let c = client.clone();
        set.spawn(async move { c.send(Call::get(&url("/scim/Users")).unwrap()).await });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap().status, 200);
    }
    let mut arrivals: Vec<Duration> = http.seen().iter().map(|s| s.at - t0).collect();
    assert_eq!(arrivals.len(), n, "the server counted every request");
    arrivals.sort();
    // The k-th request (from 0) cannot reach the server before its slot: (k - burst + 1)
    // intervals after the first. Load only delays requests, so this bound cannot flake.
    let interval = limit.per / limit.requests;
    for (k, at) in arrivals.iter().enumerate() {
        let slot = interval * (k as u32 + 1).saturating_sub(limit.burst);
        assert!(
            *at >= slot,
            "request {k} arrived after {at:?}, before its slot {slot:?}"
        );
    }
}

/// docs/spec.md §12: with `--connect-to` every host name goes to one address, and the
/// connections open to it at once never exceed the per-address cap, however many host names
/// (each with its own per-host cap) are audited at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_to_one_address_stay_within_the_per_address_cap() {
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fixture();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let open = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let acceptor = tokio_rustls::TlsAcceptor::from(f.tls.config.clone());
    {
        let (open, most, accepted) = (open.clone(), most.clone(), accepted.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                // A connection counts from its accept until the server is done with it (it
                // answers, then closes: one request per connection, none kept idle).
                let now = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                accepted.fetch_add(1, Ordering::SeqCst);
                let (acceptor, open) = (acceptor.clone(), open.clone());
                tokio::spawn(async move {
                    let done = || open.fetch_sub(1, Ordering::SeqCst);
                    let Ok(mut s) = acceptor.accept(tcp).await else {
                        done();
                        return;
                    };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(k) => head.extend_from_slice(&buf[..k]),
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(40)).await;
                    // Counted down before the answer leaves, so the client cannot start the
                    // next connection before the count has dropped.
                    done();
                    let _ = s
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                    let _ = s.shutdown().await;
                });
            }
        });
    }
    let mut cfg = config(&f.ca, Some(ConnectTo::parse(&addr.to_string()).unwrap()));
    cfg.concurrency = 64;
    cfg.per_host = 8;
    cfg.per_address = 3;
    cfg.budgets = RateBudgets::uniform(RateLimit {
        requests: 10_000,
        per: Duration::from_secs(1),
        burst: 10_000,
    });
    let client = NetClient::new(cfg).unwrap();
    let mut set = tokio::task::JoinSet::new();
    for host in 0..8 {
        for _ in 0..4 {
            let c = client.clone();
            set.spawn(async move {
                c.send(
                    Call::get(&format!(
                        "https://tenant{host}.accounts.ondemand.com/scim/Users"
                    ))
                    .unwrap(),
                )
                .await
            });
        }
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap().status, 200);
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        32,
        "one connection per request"
    );
    let most = most.load(Ordering::SeqCst);
    assert!(
        most <= 3,
        "{most} connections were open at once to the one address (cap 3)"
    );
    assert!(most >= 2, "the requests did overlap ({most} at most)");
}
