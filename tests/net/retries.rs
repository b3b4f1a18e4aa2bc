//! Retries: a dropped connection, 5xx and 429 retried with backoff, other statuses answered as
//! they are, and `Retry-After` honoured (seconds or a date) unless it is beyond the tenant's
//! deadline or the cap.

use super::{Http, Raw, config, fixture, http_server, raw_server, reply, url};
use chrono::{Duration as Days, Utc};
use mtls_audit::net::{Call, ConnectTo, Deadline, NetClient, NetConfig, RetryPolicy, Unreachable};
use mtls_audit_sim::pki::Ca;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let f = fixture();
    let (port, count) = raw_server(&f.tls, |n| if n == 1 { Raw::Close } else { Raw::Ok }).await;
    let client = NetClient::new(config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    ))
    .unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
    assert_eq!(count.load(Ordering::SeqCst), 2);

    // Always dropped: reported as closed after the retries.
    let (port, _) = raw_server(&f.tls, |_| Raw::Close).await;
    let client = NetClient::new(config(
        &f.ca,
        Some(ConnectTo::parse(&format!("127.0.0.1:{port}")).unwrap()),
    ))
    .unwrap();
    let e = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.unreachable(), Some(&Unreachable::Closed), "{e}");
}

#[tokio::test]
async fn a_503_then_200_is_retried() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| if n == 1 { reply(503) } else { reply(200) }),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));
}

#[tokio::test]
async fn always_429_returns_the_last_status_and_the_attempts() {
    let f = fixture();
    let http = http_server(&f.tls, Box::new(|_, _| reply(429))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert!(r.is_throttled());
    assert_eq!((r.attempts, r.retries()), (3, 2));
    assert_eq!(http.count("/scim/Users"), 3);
    // 4xx other than 429 are answers, not retried.
    let http = http_server(&f.tls, Box::new(|_, _| reply(403))).await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (403, 1));
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_and_succeeds() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| if n <= 2 { reply(429) } else { reply(200) }),
    )
    .await;
    let client = NetClient::new(config(&f.ca, Some(http.connect_to()))).unwrap();
    let r = client
        .send(Call::get(&url("/scim/Users")).unwrap())
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 3));
}

/// A config whose own backoff is so long that only an honoured `Retry-After` lets a retry
/// happen within the deadline.
fn retry_after_config(ca: &Ca, http: &Http) -> NetConfig {
    let mut cfg = config(ca, Some(http.connect_to()));
    cfg.retry = RetryPolicy {
        retries: 3,
        base: Duration::from_secs(3600),
        cap: Duration::from_secs(3600),
        max_retry_after: Duration::from_secs(30),
    };
    cfg
}

#[tokio::test]
async fn retry_after_is_honoured_in_seconds_and_as_a_date() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, n| match n {
            1 => reply(429).header("retry-after", "0"),
            2 => reply(503).header(
                "retry-after",
                (Utc::now() - Days::seconds(5))
                    .format("%a, %d %b %Y %H:%M:%S GMT")
                    .to_string(),
            ),
            _ => reply(200),
        }),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 3));
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_or_the_cap_is_not_waited_for() {
    let f = fixture();
    let http = http_server(
        &f.tls,
        Box::new(|_, _| reply(429).header("retry-after", "20")),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    // 20 s is within the cap but beyond this tenant's deadline.
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(5))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (429, 1));
    // 60 s is beyond the cap of what is honoured at all.
    let http = http_server(
        &f.tls,
        Box::new(|_, _| reply(429).header("retry-after", "60")),
    )
    .await;
    let client = NetClient::new(retry_after_config(&f.ca, &http)).unwrap();
    let r = client
        .send(
            Call::get(&url("/scim/Users"))
                .unwrap()
                .deadline(Deadline::after(Duration::from_secs(60))),
        )
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (429, 1));
}
