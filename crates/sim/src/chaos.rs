//! Random faults (`[chaos]` in a scenario): which request gets which fault. A draw depends only
//! on the seed, the tenant, the endpoint and how many requests the tenant made to it before, so
//! a run can be repeated even though tenants are served concurrently.

use crate::scenario::{Chaos, ChaosKind, Family, Faults};

/// What a request drew: the kind of fault and the faults that inject it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawn {
    pub(crate) kind: ChaosKind,
    pub(crate) faults: Faults,
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a, for names.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The fault the `n`-th request (1-based) of `tenant` to `endpoint` (method and route
/// template) gets, if any.
pub(crate) fn draw(
    c: &Chaos,
    tenant: &str,
    endpoint: &str,
    n: u64,
    family: Family,
) -> Option<Drawn> {
    if c.rate <= 0.0 || c.kinds.is_empty() {
        return None;
    }
    if !c.families.is_empty() && !c.families.contains(&family) {
        return None;
    }
    let h = mix(c.seed ^ mix(fnv(tenant)) ^ mix(fnv(endpoint) ^ mix(n)));
    let u = (h >> 11) as f64 / (1u64 << 53) as f64;
    if u >= c.rate {
        return None;
    }
    let h2 = mix(h);
    let kind = c.kinds[(h2 % c.kinds.len() as u64) as usize];
    let faults = match kind {
        ChaosKind::Latency => Faults {
            latency_ms: c.latency_ms,
            ..Faults::default()
        },
        ChaosKind::Reset => Faults {
            reset: true,
            ..Faults::default()
        },
        ChaosKind::ThrottledRetryAfter => Faults {
            status: Some(429),
            retry_after_secs: Some(c.retry_after_secs),
            ..Faults::default()
        },
        ChaosKind::Throttled => Faults {
            status: Some(429),
            ..Faults::default()
        },
        ChaosKind::ServerError => Faults {
            status: Some([500, 502, 503][(mix(h2) % 3) as usize]),
            ..Faults::default()
        },
        ChaosKind::MalformedJson => Faults {
            malformed_json: true,
            ..Faults::default()
        },
        ChaosKind::Stall => Faults {
            stall: true,
            stall_ms: c.stall_ms,
            ..Faults::default()
        },
    };
    Some(Drawn { kind, faults })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn draws_are_seeded_and_about_the_rate() {
        let c = Chaos::new(0.2, 7);
        let run = |c: &Chaos| -> Vec<Option<ChaosKind>> {
            (1..=5_000)
                .map(|n| {
                    draw(
                        c,
                        &format!("T{}", n % 97),
                        "GET /scim/Users",
                        n,
                        Family::Scim,
                    )
                    .map(|d| d.kind)
                })
                .collect()
        };
        let a = run(&c);
        assert_eq!(a, run(&c), "the same seed gives the same faults");
        assert_ne!(a, run(&Chaos::new(0.2, 8)), "another seed gives others");
        let hit = a.iter().flatten().count();
        assert!((900..1100).contains(&hit), "{hit} of 5000 at 0.2");
        let mut by_kind: BTreeMap<ChaosKind, usize> = BTreeMap::new();
        for k in a.iter().flatten() {
            *by_kind.entry(*k).or_default() += 1;
        }
        assert_eq!(by_kind.len(), 7, "every kind is drawn: {by_kind:?}");
        assert!(run(&Chaos::new(0.0, 7)).iter().all(Option::is_none));
        let only = Chaos {
            families: vec![Family::Oauth],
            ..Chaos::new(1.0, 7)
        };
        assert!(draw(&only, "T", "GET /scim/Users", 1, Family::Scim).is_none());
        assert!(draw(&only, "T", "POST /oauth2/token", 1, Family::Oauth).is_some());
    }
}
