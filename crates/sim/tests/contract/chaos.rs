//! Random faults (`[chaos]`): the kinds, the rate, reproducibility from the seed, the per-tenant
//! counters, the `/_sim/chaos` endpoint and the scenario setting.

use crate::fixture::{ACME, Fx, I_READER, INITECH, READER};
use mtls_audit_sim::{Chaos, ChaosKind, Faults, Scenario, SimOptions};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

fn only(kind: ChaosKind) -> Chaos {
    Chaos {
        kinds: vec![kind],
        latency_ms: 400,
        stall_ms: 400,
        ..Chaos::new(1.0, 3)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_of_chaos_is_injected_and_counted_per_tenant() {
    let fx = Fx::start(SimOptions::default()).await;
    let get = || fx.get(INITECH, "/scim/Users", I_READER);

    fx.sim.set_chaos(Some(only(ChaosKind::Throttled))).unwrap();
    let r = get().await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    fx.sim
        .set_chaos(Some(only(ChaosKind::ThrottledRetryAfter)))
        .unwrap();
    let r = get().await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers().get("retry-after").unwrap().to_str().unwrap()
        ),
        (429, "1")
    );
    fx.sim
        .set_chaos(Some(only(ChaosKind::ServerError)))
        .unwrap();
    let s = get().await.status().as_u16();
    assert!([500, 502, 503].contains(&s), "{s}");
    fx.sim
        .set_chaos(Some(only(ChaosKind::MalformedJson)))
        .unwrap();
    let text = get().await.text().await.unwrap();
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    fx.sim.set_chaos(Some(only(ChaosKind::Reset))).unwrap();
    let fresh = fx.client_with(None, Duration::from_secs(5));
    let e = fresh
        .get(fx.url(INITECH, "/scim/Users"))
        .basic_auth(I_READER.0, Some(I_READER.1))
        .send()
        .await;
    assert!(e.is_err(), "{e:?}");
    // Latency and stall: past a client timeout of 200 ms.
    for kind in [ChaosKind::Latency, ChaosKind::Stall] {
        fx.sim.set_chaos(Some(only(kind))).unwrap();
        let quick = fx.client_with(None, Duration::from_millis(200));
        let e = quick
            .get(fx.url(INITECH, "/scim/Users"))
            .basic_auth(I_READER.0, Some(I_READER.1))
            .send()
            .await
            .unwrap_err();
        assert!(e.is_timeout(), "{kind:?}: {e}");
    }
    fx.sim.set_chaos(None).unwrap();
    assert_eq!(get().await.status(), 200);
    // A tenant's own faults win over chaos.
    fx.sim.set_chaos(Some(only(ChaosKind::Throttled))).unwrap();
    fx.sim
        .set_faults(
            "INITECH",
            Faults {
                status: Some(503),
                ..Faults::default()
            },
        )
        .unwrap();
    assert_eq!(get().await.status(), 503);
    fx.sim.set_faults("INITECH", Faults::default()).unwrap();
    fx.sim.set_chaos(None).unwrap();

    let c = fx.sim.counters();
    let want: std::collections::BTreeMap<ChaosKind, u64> =
        ChaosKind::all().into_iter().map(|k| (k, 1)).collect();
    assert_eq!(
        c["INITECH"].chaos, want,
        "every kind once: {:?}",
        c["INITECH"]
    );
    assert!(c["ACME"].chaos.is_empty(), "ACME saw no chaos");
    let (_, v) = fx
        .sim_json(Method::GET, "/_sim/counters/INITECH", None)
        .await;
    assert_eq!(v["chaos"]["server_error"], 1, "{v}");
    fx.stop().await;
}

/// A rate of 0.3 faults about 30 % of requests, and the same seed faults the same requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_follows_the_rate_and_the_seed() {
    let fx = Fx::start(SimOptions {
        rate_limits: false,
        ..SimOptions::default()
    })
    .await;
    let chaos = Chaos {
        kinds: vec![ChaosKind::Throttled, ChaosKind::ServerError],
        ..Chaos::new(0.3, 11)
    };
    let run = || async {
        let mut statuses = Vec::new();
        for _ in 0..200 {
            statuses.push(
                fx.get(ACME, "/scim/Users?count=1", READER)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        statuses
    };
    let (s, v) = fx
        .sim_json(
            Method::PUT,
            "/_sim/chaos",
            Some(serde_json::to_value(&chaos).unwrap()),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, v) = fx.sim_json(Method::GET, "/_sim/chaos", None).await;
    assert_eq!(v["rate"], 0.3);
    let first = run().await;
    let faulted = first.iter().filter(|s| **s != 200).count();
    assert!((40..=80).contains(&faulted), "{faulted} of 200 at 0.3");
    let counted: u64 = fx.sim.counters()["ACME"].chaos.values().sum();
    assert_eq!(counted, faulted as u64);
    // Zeroing the counters restarts the sequence: the same seed gives the same statuses.
    fx.sim_json(Method::DELETE, "/_sim/counters", None).await;
    assert_eq!(run().await, first);
    let (s, _) = fx.sim_json(Method::DELETE, "/_sim/chaos", None).await;
    assert_eq!(s, 204);
    assert!(run().await.iter().all(|s| *s == 200));
    let (s, v) = fx
        .sim_json(Method::PUT, "/_sim/chaos", Some(json!({"rate": 1.5})))
        .await;
    assert_eq!(s, 400, "{v}");
    fx.stop().await;
}

#[test]
fn a_scenario_sets_chaos() {
    let file = std::path::Path::new("chaos.toml");
    let s = Scenario::parse(
        "[chaos]\nrate = 0.2\nseed = 9\nkinds = [\"reset\", \"stall\"]\nlatency_ms = 1500\n",
        file,
    )
    .unwrap();
    let c = s.chaos.unwrap();
    assert_eq!(
        (c.rate, c.seed, c.kinds, c.latency_ms, c.retry_after_secs),
        (0.2, 9, vec![ChaosKind::Reset, ChaosKind::Stall], 1500, 1)
    );
    assert!(
        Scenario::parse("[chaos]\nrate = 2.0\n", file)
            .and_then(|s| s.validate())
            .is_err()
    );
    let back = Scenario::parse(
        &Scenario {
            chaos: Some(Chaos::new(0.2, 1)),
            ..Scenario::default()
        }
        .to_toml()
        .unwrap(),
        file,
    )
    .unwrap();
    assert_eq!(back.chaos, Some(Chaos::new(0.2, 1)));
}
