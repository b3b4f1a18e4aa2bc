//! Fleet discipline: per-tenant deadlines, rate budgets below the documented IAS/IPS limits,
//! and concurrency caps (global, per host name, and per resolved address: with `--connect-to`
//! or behind one front end, many host names are one address).
//!
//! Documented limits (docs/sap-facts.md §1.6, §2.6): IAS SCIM serves 200 requests per minute per tenant
//! and blocks for 60 s above 280; IPS real-time/proxy slows above 150 per minute and rejects
//! above 200; `/oauth2/*` allows 1000 per minute; IAS takes at most 50 concurrent requests per
//! second from one IP. The default budgets stay well below each, so an audit never triggers the
//! 60-second block.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// The latest moment a tenant's work may go on. Every wait in the network layer (rate budget,
/// connection slot, backoff, request) ends by it, so one slow tenant never holds up the rest
/// beyond its own deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    /// No deadline.
    pub fn none() -> Deadline {
        Deadline { at: None }
    }

    /// `d` from now.
    pub fn after(d: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(d),
        }
    }

    /// The instant, if any.
    pub(crate) fn instant(&self) -> Option<Instant> {
        self.at
    }

    /// Time left; `None` when there is no deadline.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Whether the deadline has passed.
    #[cfg(test)]
    fn expired(&self) -> bool {
        self.remaining() == Some(Duration::ZERO)
    }

    /// `d`, shortened to the time left.
    pub(crate) fn cap(&self, d: Duration) -> Duration {
        self.remaining().map_or(d, |r| r.min(d))
    }

    /// Whether waiting `d` would still end before the deadline.
    pub(crate) fn allows(&self, d: Duration) -> bool {
        self.remaining().is_none_or(|r| d < r)
    }
}

/// At most `requests` per `per`, with up to `burst` of them at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window, spread evenly (one every `per / requests`).
    pub requests: u32,
    /// The window.
    pub per: Duration,
    /// Requests that may go at once before the spacing applies.
    pub burst: u32,
}

impl RateLimit {
    /// `requests` per minute with the given burst.
    pub(crate) const fn per_minute(requests: u32, burst: u32) -> RateLimit {
        RateLimit {
            requests,
            per: Duration::from_secs(60),
            burst,
        }
    }

    /// The most requests this limit lets through in any window of length `per`: the bound a
    /// budget must keep below the documented limit.
    #[cfg(test)]
    fn worst_case_per_window(&self) -> u32 {
        self.requests.saturating_add(self.burst)
    }

    fn interval(&self) -> Duration {
        self.per / self.requests.max(1)
    }
}

/// The API families with their own documented limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ApiFamily {
    /// IAS SCIM (`/scim/…`, `/service/scim/…`): 200/min served.
    IasScim,
    /// IPS real-time and proxy (`/ipsproxy/…`): 150/min slowed, 200/min rejected.
    IpsRealtime,
    /// IPS tenant admin API (`/ips/…`: jobs, job logs): no documented limit.
    IpsAdmin,
    /// `/oauth2/…`: 1000/min.
    OAuthToken,
    /// Anything else (applications API, server probes).
    Other,
}

impl ApiFamily {
    /// The family a request path belongs to.
    pub(crate) fn of_path(path: &str) -> ApiFamily {
        let p = path.to_ascii_lowercase();
        if p.starts_with("/scim/") || p == "/scim" || p.starts_with("/service/scim/") {
            ApiFamily::IasScim
        } else if p.starts_with("/ipsproxy/") {
            ApiFamily::IpsRealtime
        } else if p.starts_with("/ips/") {
            ApiFamily::IpsAdmin
        } else if p.starts_with("/oauth2/") {
            ApiFamily::OAuthToken
        } else {
            ApiFamily::Other
        }
    }
}

/// The request budgets: per tenant host and API family, and per host overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudgets {
    /// IAS SCIM (`/scim/…`, `/service/scim/…`); IAS serves 200/min. Default 120/min.
    pub ias_scim: RateLimit,
    /// IPS real-time and proxy (`/ipsproxy/…`); IPS slows above 150/min. Default 100/min.
    pub ips_realtime: RateLimit,
    /// IPS admin API (`/ips/…`: jobs, job logs); no documented limit. Default 60/min.
    pub ips_admin: RateLimit,
    /// OAuth token requests (`/oauth2/…`); 1000/min allowed. Default 300/min.
    pub oauth_token: RateLimit,
    /// Anything else (the applications API, server TLS probes). Default 120/min.
    pub other: RateLimit,
    /// All families together, per host: IAS takes 50 concurrent requests per second per IP.
    pub per_host: RateLimit,
}

impl Default for RateBudgets {
    fn default() -> RateBudgets {
        RateBudgets {
            ias_scim: RateLimit::per_minute(120, 5),
            ips_realtime: RateLimit::per_minute(100, 5),
            ips_admin: RateLimit::per_minute(60, 3),
            oauth_token: RateLimit::per_minute(300, 5),
            other: RateLimit::per_minute(120, 5),
            per_host: RateLimit {
                requests: 20,
                per: Duration::from_secs(1),
                burst: 5,
            },
        }
    }
}

impl RateBudgets {
    /// The same limit for every family and per host (tests, a very polite audit).
    pub fn uniform(limit: RateLimit) -> RateBudgets {
        RateBudgets {
            ias_scim: limit,
            ips_realtime: limit,
            ips_admin: limit,
            oauth_token: limit,
            other: limit,
            per_host: limit,
        }
    }

    /// The limit of a family.
    pub(crate) fn of(&self, family: ApiFamily) -> RateLimit {
        match family {
            ApiFamily::IasScim => self.ias_scim,
            ApiFamily::IpsRealtime => self.ips_realtime,
            ApiFamily::IpsAdmin => self.ips_admin,
            ApiFamily::OAuthToken => self.oauth_token,
            ApiFamily::Other => self.other,
        }
    }
}

/// A token bucket in the GCRA form: each request reserves the next slot, so callers are served
/// in order and in any window of length `per` at most `burst + requests` slots are handed out.
/// Time is a `Duration` since an origin so the logic is testable without a clock.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    interval: Duration,
    tolerance: Duration,
    /// Theoretical arrival time of the next request.
    tat: Duration,
}

impl Bucket {
    pub(crate) fn new(limit: RateLimit) -> Bucket {
        let interval = limit.interval();
        Bucket {
            interval,
            tolerance: interval * limit.burst.saturating_sub(1),
            tat: Duration::ZERO,
        }
    }

    /// Reserves a slot for a request arriving at `now`; returns when it may be sent. A slot
    /// later than `latest` is not reserved (`None`): the caller's deadline would pass first.
    pub(crate) fn reserve(&mut self, now: Duration, latest: Option<Duration>) -> Option<Duration> {
        let start = self.tat.max(now);
        let send_at = start.saturating_sub(self.tolerance).max(now);
        if latest.is_some_and(|l| send_at > l) {
            return None;
        }
        self.tat = start + self.interval;
        Some(send_at)
    }
}

/// Why a request could not be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The rate budget has no slot before the deadline.
    RateBudget,
    /// No connection slot freed up before the deadline.
    ConnectionSlot,
}

/// A request's right to run: held for the request's duration.
#[derive(Debug)]
pub(crate) struct Admission {
    _global: OwnedSemaphorePermit,
    _host: OwnedSemaphorePermit,
    _address: Option<OwnedSemaphorePermit>,
}

type BucketMap<K> = Mutex<HashMap<K, Arc<Mutex<Bucket>>>>;

/// The shared limits of one [`super::NetClient`].
#[derive(Debug)]
pub(crate) struct Limiter {
    origin: Instant,
    budgets: RateBudgets,
    global: Arc<Semaphore>,
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_address: usize,
    addresses: Mutex<HashMap<SocketAddr, Arc<Semaphore>>>,
    family_buckets: BucketMap<(String, ApiFamily)>,
    host_buckets: BucketMap<String>,
}

/// Locks a mutex whose data stays consistent even if a holder panicked (plain maps and
/// buckets, updated in one step).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Limiter {
    pub(crate) fn new(
        concurrency: usize,
        per_host: usize,
        per_address: usize,
        budgets: RateBudgets,
    ) -> Limiter {
        Limiter {
            origin: Instant::now(),
            budgets,
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
            per_address: per_address.max(1),
            addresses: Mutex::new(HashMap::new()),
            family_buckets: Mutex::new(HashMap::new()),
            host_buckets: Mutex::new(HashMap::new()),
        }
    }

    fn bucket<K: std::hash::Hash + Eq>(
        map: &BucketMap<K>,
        key: K,
        limit: RateLimit,
    ) -> Arc<Mutex<Bucket>> {
        lock(map)
            .entry(key)
            .or_insert_with(|| Arc::new(Mutex::new(Bucket::new(limit))))
            .clone()
    }

    /// Waits for a slot in the rate budgets of (`host`, `family`) and of `host`, then for a
    /// connection slot (per host, per `address` when it is known, and global), never past
    /// `deadline`. `address` is the socket address the connection goes to (after
    /// `--connect-to` and DNS); `None` when it could not be resolved (the request then fails
    /// on its own lookup).
    pub(crate) async fn admit(
        &self,
        host: &str,
        family: ApiFamily,
        deadline: Deadline,
        address: Option<SocketAddr>,
    ) -> Result<Admission, Refusal> {
        let fam = Self::bucket(
            &self.family_buckets,
            (host.to_string(), family),
            self.budgets.of(family),
        );
        let per_host = Self::bucket(&self.host_buckets, host.to_string(), self.budgets.per_host);
        self.wait_for_slot(&fam, deadline).await?;
        self.wait_for_slot(&per_host, deadline).await?;

        let host_sem = lock(&self.hosts)
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
            .clone();
        // Host, then address, then global (always in this order, so no two requests wait for
        // each other): a request waiting for a busy host or address must not hold a global
        // slot.
        let host_permit = acquire(host_sem, deadline).await?;
        let address_permit = match address {
            Some(a) => {
                let sem = lock(&self.addresses)
                    .entry(a)
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_address)))
                    .clone();
                Some(acquire(sem, deadline).await?)
            }
            None => None,
        };
        let global_permit = acquire(self.global.clone(), deadline).await?;
        Ok(Admission {
            _global: global_permit,
            _host: host_permit,
            _address: address_permit,
        })
    }

    async fn wait_for_slot(
        &self,
        bucket: &Mutex<Bucket>,
        deadline: Deadline,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        let since = |i: Instant| i.saturating_duration_since(self.origin);
        let latest = deadline.instant().map(since);
        let send_at = lock(bucket)
            .reserve(since(now), latest)
            .ok_or(Refusal::RateBudget)?;
        tokio::time::sleep_until(self.origin + send_at).await;
        Ok(())
    }
}

async fn acquire(sem: Arc<Semaphore>, deadline: Deadline) -> Result<OwnedSemaphorePermit, Refusal> {
    let fut = sem.acquire_owned();
    let permit = match deadline.instant() {
        Some(at) => tokio::time::timeout_at(at, fut)
            .await
            .map_err(|_| Refusal::ConnectionSlot)?,
        None => fut.await,
    };
    // The semaphores are never closed, so acquiring only fails by timing out.
    permit.map_err(|_| Refusal::ConnectionSlot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn burst_then_one_per_interval() {
        let mut b = Bucket::new(RateLimit {
            requests: 10,
            per: ms(1000),
            burst: 3,
        });
        let sends: Vec<Duration> = (0..6).map(|_| b.reserve(ms(0), None).unwrap()).collect();
        assert_eq!(sends, vec![ms(0), ms(0), ms(0), ms(100), ms(200), ms(300)]);
        // After a quiet spell the burst is available again.
        let later = b.reserve(ms(5000), None).unwrap();
        assert_eq!(later, ms(5000));
    }

    #[test]
    fn a_slot_past_the_deadline_is_not_reserved() {
        let mut b = Bucket::new(RateLimit {
            requests: 1,
            per: ms(1000),
            burst: 1,
        });
        assert_eq!(b.reserve(ms(0), Some(ms(10))), Some(ms(0)));
        assert_eq!(b.reserve(ms(0), Some(ms(10))), None);
        // The refused caller did not use up the next slot.
        assert_eq!(b.reserve(ms(0), None), Some(ms(1000)));
    }

    #[test]
    fn default_budgets_stay_below_documented_limits() {
        let b = RateBudgets::default();
        let per_minute =
            |l: RateLimit| f64::from(l.worst_case_per_window()) * 60.0 / l.per.as_secs_f64();
        assert!(per_minute(b.ias_scim) <= 200.0, "IAS SCIM serves 200/min");
        assert!(
            per_minute(b.ips_realtime) <= 150.0,
            "IPS slows above 150/min"
        );
        assert!(
            per_minute(b.oauth_token) <= 1000.0,
            "oauth2 allows 1000/min"
        );
        assert!(
            f64::from(b.per_host.worst_case_per_window()) / b.per_host.per.as_secs_f64() <= 50.0,
            "IAS takes 50 requests per second per IP"
        );
    }

    #[test]
    fn families_by_path() {
        assert_eq!(ApiFamily::of_path("/scim/Users"), ApiFamily::IasScim);
        assert_eq!(
            ApiFamily::of_path("/service/scim/Users"),
            ApiFamily::IasScim
        );
        assert_eq!(
            ApiFamily::of_path("/ipsproxy/service/api/v1/systems/x/entities/user"),
            ApiFamily::IpsRealtime
        );
        assert_eq!(
            ApiFamily::of_path("/ips/service/publicapi/v1/jobLogs/1"),
            ApiFamily::IpsAdmin
        );
        assert_eq!(ApiFamily::of_path("/oauth2/token"), ApiFamily::OAuthToken);
        assert_eq!(ApiFamily::of_path("/"), ApiFamily::Other);
    }

    #[tokio::test]
    async fn the_address_cap_holds_across_host_names() {
        let unlimited = RateLimit {
            requests: 1_000_000,
            per: Duration::from_secs(1),
            burst: 1_000_000,
        };
        let l = Limiter::new(64, 8, 2, RateBudgets::uniform(unlimited));
        let addr: SocketAddr = "127.0.0.1:443".parse().unwrap();
        let soon = || Deadline::after(ms(50));
        let a = l
            .admit("a", ApiFamily::Other, soon(), Some(addr))
            .await
            .unwrap();
        let b = l
            .admit("b", ApiFamily::Other, soon(), Some(addr))
            .await
            .unwrap();
        // A third host name at the same address waits, and gives up at its deadline.
        assert_eq!(
            l.admit("c", ApiFamily::Other, soon(), Some(addr))
                .await
                .err(),
            Some(Refusal::ConnectionSlot)
        );
        // Another address, or none known, is not held up.
        let other: SocketAddr = "127.0.0.2:443".parse().unwrap();
        let _c = l
            .admit("c", ApiFamily::Other, soon(), Some(other))
            .await
            .unwrap();
        let _d = l.admit("d", ApiFamily::Other, soon(), None).await.unwrap();
        drop(a);
        let _e = l
            .admit("e", ApiFamily::Other, soon(), Some(addr))
            .await
            .unwrap();
        drop(b);
    }

    #[test]
    fn deadline_caps_and_allows() {
        assert_eq!(Deadline::none().cap(ms(50)), ms(50));
        assert!(Deadline::none().allows(Duration::from_secs(3600)));
        let d = Deadline::after(Duration::from_secs(3600));
        assert!(d.cap(Duration::from_secs(7200)) <= Duration::from_secs(3600));
        assert!(!d.allows(Duration::from_secs(7200)));
        assert!(Deadline::after(Duration::ZERO).expired());
    }

    proptest! {
        /// Whatever the arrival pattern, no window of length `per` ever sees more than
        /// `requests + burst` sends.
        #[test]
        fn no_window_exceeds_the_budget(
            requests in 1u32..50,
            burst in 1u32..8,
            per_ms in 50u64..5000,
            gaps in proptest::collection::vec(0u64..200, 1..200),
        ) {
            let limit = RateLimit { requests, per: ms(per_ms), burst };
            let mut b = Bucket::new(limit);
            let mut now = Duration::ZERO;
            let mut sends = Vec::new();
            for g in gaps {
                now += ms(g);
                let s = b.reserve(now, None).unwrap();
                prop_assert!(s >= now);
                sends.push(s);
            }
            sends.sort();
            for (i, start) in sends.iter().enumerate() {
                let in_window = sends[i..].iter().take_while(|s| **s < *start + limit.per).count();
                prop_assert!(
                    in_window as u32 <= limit.worst_case_per_window(),
                    "{in_window} sends within {:?} of {:?}", limit.per, start
                );
            }
        }
    }
}
