//! Limits: a hanging tenant is cut at its deadline without holding up the others, a request
//! timeout is reported as a timeout, and the rate budget spaces requests to one tenant.

use super::{
    ClientAuth, Raw, config, fixture, http_server, raw_server, reply, server_leaf, tls_server, url,
};
use crate::harness;
use mtls_audit::net::{
    Call, ConnectTo, Deadline, NetClient, NetError, RateBudgets, RateLimit, Unreachable,
};
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
