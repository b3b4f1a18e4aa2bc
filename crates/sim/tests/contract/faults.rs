//! Injected faults (status, Retry-After, families, remaining, malformed JSON, latency, reset,
//! stall, server certificates) and the documented rate-limit windows.

use crate::fixture::{ACME, Fx, I_READER, INITECH, POWER, READER};
use crate::harness::{MapOk as _, body, burst, count, ctype, days, presented, scim_error};
use mtls_audit_sim::{Family, Faults, ServerCertMode, SimOptions};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_faults() {
    let fx = Fx::start(SimOptions::default()).await;
    let set = |f: Faults| fx.sim.set_faults("INITECH", f).unwrap();
    let get = || fx.get(INITECH, "/scim/Users", I_READER);

    set(Faults {
        status: Some(503),
        ..Faults::default()
    });
    let (s, h, v) = body(get().await).await;
    assert_eq!(s, 503);
    assert_eq!(ctype(&h), "application/scim+json");
    scim_error(&v, "503");
    set(Faults {
        status: Some(500),
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 500);
    set(Faults {
        status: Some(429),
        retry_after_secs: Some(7),
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string())
        ),
        (429, Some("7".to_string()))
    );
    set(Faults {
        status: Some(429),
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());

    // Faults limited to a family and to a number of requests.
    set(Faults {
        status: Some(503),
        families: vec![Family::Oauth],
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 200);
    set(Faults {
        status: Some(503),
        remaining: Some(2),
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 503);
    assert_eq!(get().await.status(), 503);
    assert_eq!(get().await.status(), 200);

    set(Faults {
        malformed_json: true,
        ..Faults::default()
    });
    let r = get().await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with('{'));

    set(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(get().await.status(), 200);
    // A lower bound only: the answer cannot come before the added latency.
    assert!(t.elapsed() >= Duration::from_millis(300));

    set(Faults {
        reset: true,
        ..Faults::default()
    });
    let e = fx
        .client_with(None, Duration::from_secs(30))
        .get(fx.url(INITECH, "/scim/Users"))
        .basic_auth(I_READER.0, Some(I_READER.1))
        .send()
        .await
        .unwrap_err();
    assert!(!e.is_timeout() && e.status().is_none(), "{e:?}");

    set(Faults {
        stall: true,
        ..Faults::default()
    });
    let e = fx
        .client_with(None, Duration::from_millis(800))
        .get(fx.url(INITECH, "/scim/Users"))
        .basic_auth(I_READER.0, Some(I_READER.1))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    set(Faults {
        stall: true,
        stall_ms: 200,
        ..Faults::default()
    });
    assert_eq!(get().await.status(), 200, "a bounded stall answers late");

    let c = fx
        .sim
        .tenant_counters("INITECH")
        .unwrap()
        .family(Family::Scim);
    // 503, 500, two 429s, two of `remaining`, malformed, reset, the bounded stall; the endless
    // stall is still open, and latency alone is not a replaced answer.
    assert_eq!(c.faulted, 9, "{c:?}");
    assert_eq!(c.requests, 13);
    assert_eq!(c.statuses[&503], 3);
    // Other tenants are unaffected.
    assert_eq!(
        fx.get(ACME, "/scim/Users?count=1", READER).await.status(),
        200
    );
    // The stalled request is still open; shutdown ends it.
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_certificate_faults_per_tenant_host() {
    let fx = Fx::start(SimOptions::default()).await;
    let now = chrono::Utc::now();
    let shared = presented(fx.sim.addr(), ACME).await.unwrap();
    assert!(
        shared[0]
            .dns_names
            .contains(&"*.accounts.ondemand.com".to_string()),
        "{:?}",
        shared[0].dns_names
    );
    assert!(
        shared[0]
            .dns_names
            .contains(&"*.cert.hana.ondemand.com".to_string())
    );
    assert!(shared[0].not_after > now + days(300));

    let mode = |m: ServerCertMode| {
        fx.sim
            .set_faults(
                "INITECH",
                Faults {
                    server_cert: m,
                    ..Faults::default()
                },
            )
            .unwrap();
    };
    mode(ServerCertMode::Expired);
    let c = presented(fx.sim.addr(), INITECH).await.unwrap();
    assert!(
        c[0].not_after < now && c[0].dns_names == [INITECH],
        "{:?}",
        c[0]
    );
    assert_eq!(
        c[0].issuer, shared[0].issuer,
        "expired, but from the trusted CA"
    );
    let e = fx.get_err(INITECH).await;
    assert!(e.is_connect(), "{e:?}");
    mode(ServerCertMode::Expiring);
    let c = presented(fx.sim.addr(), INITECH).await.unwrap();
    let left = (c[0].not_after - now).num_days();
    assert!((1..=10).contains(&left), "{left}");
    assert_eq!(
        fx.get(INITECH, "/scim/Users", I_READER).await.status(),
        200,
        "still valid"
    );
    mode(ServerCertMode::Untrusted);
    let c = presented(fx.sim.addr(), INITECH).await.unwrap();
    assert!(c[0].issuer.contains("Untrusted Test CA") && c[0].not_after > now);
    assert!(fx.get_err(INITECH).await.is_connect());
    mode(ServerCertMode::Refuse);
    assert!(presented(fx.sim.addr(), INITECH).await.is_err());
    // Every other host keeps the shared certificate.
    assert_eq!(
        fx.get(ACME, "/scim/Users?count=1", READER).await.status(),
        200
    );
    mode(ServerCertMode::Valid);
    assert_eq!(fx.get(INITECH, "/scim/Users", I_READER).await.status(), 200);
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_rate_limit_windows() {
    // 3x: a rate-limit minute lasts 20 s, long enough for 300 requests on a loaded machine.
    let fx = Fx::start(SimOptions {
        time_scale: 3.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.client();
    let url = fx.url(ACME, "/scim/Users?count=1");
    let (statuses, retry) = burst(300, 20, |_| {
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .map_ok()
    })
    .await;
    assert_eq!(count(&statuses, 200), 280, "200 served and 80 delayed");
    assert_eq!(count(&statuses, 429), 20, "blocked from the 281st");
    assert!(retry.iter().all(|s| (1..=20).contains(s)), "{retry:?}");
    let f = fx.sim.tenant_counters("ACME").unwrap().family(Family::Scim);
    assert_eq!(
        (f.requests, f.delayed, f.throttled, f.max_per_minute),
        (300, 80, 20, 300),
        "{f:?}"
    );
    // Still blocked (the block lasts a scaled minute) ...
    assert_eq!(
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    // ... and other tenants are not.
    assert_eq!(fx.get(INITECH, "/scim/Users", I_READER).await.status(), 200);
    let (_, v) = fx
        .sim_json(reqwest::Method::GET, "/_sim/counters", None)
        .await;
    assert_eq!(v["tenants"]["ACME"]["families"]["scim"]["throttled"], 21);
    assert_eq!(v["tenants"]["ACME"]["endpoints"]["GET /scim/Users"], 301);
    fx.sim_json(reqwest::Method::DELETE, "/_sim/tenants/ACME/limits", None)
        .await;
    assert_eq!(
        c.get(&url)
            .basic_auth(READER.0, Some(READER.1))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    fx.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_rate_limit_windows() {
    let fx = Fx::start(SimOptions {
        time_scale: 3.0,
        ..SimOptions::default()
    })
    .await;
    let c = fx.mtls(&fx.lms);
    let url = fx.url(
        ACME,
        "/ipsproxy/service/api/v1/systems/sys-lms/entities/user",
    );
    let (statuses, _) = burst(201, 20, |_| c.post(&url).json(&json!({})).send().map_ok()).await;
    assert_eq!(count(&statuses, 400), 200);
    assert_eq!(count(&statuses, 429), 1);
    let f = fx
        .sim
        .tenant_counters("ACME")
        .unwrap()
        .family(Family::Realtime);
    assert_eq!(
        (f.delayed, f.throttled, f.max_per_minute),
        (50, 1, 201),
        "{f:?}"
    );
    // Proxy calls share the window.
    let (s, _, _) = body(
        fx.get(ACME, "/ipsproxy/service/api/v1/scim/sys-proxy/Users", POWER)
            .await,
    )
    .await;
    assert_eq!(s, 429);
    fx.stop().await;
}
