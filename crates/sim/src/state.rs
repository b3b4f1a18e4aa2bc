//! The simulator's run-time state: the tenants (compiled from the scenario for fast lookups),
//! the host index, the simulated clock, rate-limit windows and request counters.

use crate::scenario::{
    Chaos, ChaosKind, Family, Faults, Permission, Scenario, ScenarioError, TenantSpec, pem_certs,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Locks ignore poisoning: a panicking handler must not take the whole simulator down, and the
/// state behind every lock stays consistent between statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn sha256(der: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Which of a tenant's hosts a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HostKind {
    /// `<tenant>.accounts.ondemand.com`: IAS, and IPS on converged tenants.
    Ias,
    /// NEO `ipsproxy<p>-<c>.<region>`: OAuth paths `/ipsproxy/api/v1/…`.
    NeoIps,
    /// NEO `ipsproxy<p>-<c>.cert.<region>`: certificate paths `/ipsproxy/certapi/v1/…`.
    NeoIpsCert,
}

/// The simulated clock: a start date (the scenario's "today") that advances in real time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    start_utc: DateTime<Utc>,
}

impl Clock {
    pub(crate) fn new(today: DateTime<Utc>) -> Clock {
        Clock {
            start: Instant::now(),
            start_utc: today,
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        let elapsed = chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default();
        self.start_utc + elapsed
    }
}

/// A certificate on an admin record or in inbound certificates, reduced to what matching needs.
#[derive(Debug, Clone)]
pub(crate) struct KnownCert {
    pub sha256: [u8; 32],
}

/// An admin record with its permissions as a set and its certificates fingerprinted.
#[derive(Debug, Clone)]
pub(crate) struct AdminRt {
    pub(crate) name: String,
    pub(crate) client_id: Option<String>,
    pub(crate) secrets: Vec<String>,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) certs: Vec<KnownCert>,
    pub(crate) client_id_lock: bool,
}

impl AdminRt {
    pub(crate) fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// A tenant's data, compiled from its [`TenantSpec`]. The spec stays the source of truth (users
/// created at run time are added to it); the rest are indexes over it.
#[derive(Debug, Clone)]
pub(crate) struct TenantData {
    pub(crate) spec: TenantSpec,
    pub(crate) admins: Vec<AdminRt>,
    /// Per system of `spec.systems`, the fingerprints of its inbound certificates.
    pub(crate) inbound: Vec<Vec<KnownCert>>,
    /// Jobs started through the API at run time (they finish by themselves).
    pub(crate) started_jobs: Vec<String>,
}

/// The fingerprints of `pems`, the certificates of `owner` (`admin '…'`, `system '…'`).
fn known(pems: &[String], tenant: &str, owner: &str) -> Result<Vec<KnownCert>, ScenarioError> {
    let mut out = Vec::new();
    for pem in pems {
        let certs = pem_certs(pem).map_err(|source| ScenarioError::Certificate {
            tenant: tenant.to_string(),
            owner: owner.to_string(),
            source,
        })?;
        // The first certificate of a PEM text is the one configured; the rest is its chain.
        if let Some(c) = certs.first() {
            out.push(KnownCert {
                sha256: sha256(c.as_ref()),
            });
        }
    }
    Ok(out)
}

impl TenantData {
    pub(crate) fn compile(mut spec: TenantSpec) -> Result<TenantData, ScenarioError> {
        spec.validate()?;
        let mut admins = Vec::new();
        for a in &spec.admins {
            admins.push(AdminRt {
                name: a.name.clone(),
                client_id: a.client_id.clone(),
                secrets: a.secrets.clone(),
                permissions: a
                    .permissions
                    .iter()
                    .filter_map(|p| Permission::parse(p))
                    .collect(),
                certs: known(&a.certificates, &spec.id, &format!("admin '{}'", a.name))?,
                client_id_lock: a.client_id_lock,
            });
        }
        let mut inbound = Vec::new();
        for s in &spec.systems {
            inbound.push(known(
                &s.inbound_certificates,
                &spec.id,
                &format!("system '{}'", s.name),
            )?);
        }
        // Faults live in the tenant's fault cell, not in its data.
        spec.faults = Faults::default();
        Ok(TenantData {
            spec,
            admins,
            inbound,
            started_jobs: Vec::new(),
        })
    }

    pub(crate) fn admin_by_client_id(&self, id: &str) -> Option<&AdminRt> {
        self.admins
            .iter()
            .find(|a| a.client_id.as_deref() == Some(id))
    }

    pub(crate) fn admin_by_cert(&self, fp: &[u8; 32]) -> Option<&AdminRt> {
        self.admins
            .iter()
            .find(|a| a.certs.iter().any(|c| &c.sha256 == fp))
    }

    pub(crate) fn admin_by_key(&self, key: &AdminKey) -> Option<&AdminRt> {
        match key {
            AdminKey::ClientId(id) => self.admin_by_client_id(id),
            AdminKey::Name(n) => self.admins.iter().find(|a| &a.name == n),
        }
    }
}

/// How a token remembers its admin (client ID when it has one, else the record's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AdminKey {
    ClientId(String),
    Name(String),
}

impl AdminKey {
    pub(crate) fn of(a: &AdminRt) -> AdminKey {
        match &a.client_id {
            Some(id) => AdminKey::ClientId(id.clone()),
            None => AdminKey::Name(a.name.clone()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) admin: AdminKey,
    pub(crate) expires: Instant,
}

/// Failed-secret counts and locks per client ID, and issued tokens.
#[derive(Debug, Default)]
pub(crate) struct AuthState {
    pub(crate) failures: HashMap<String, (u32, Option<Instant>)>,
    pub(crate) tokens: HashMap<String, Token>,
}

/// A sliding window of request times: how many requests fell in the last `span`.
#[derive(Debug, Default)]
pub(crate) struct Window {
    times: VecDeque<Instant>,
}

impl Window {
    /// Records a request at `now` and returns the count in the window ending at `now`.
    pub(crate) fn hit(&mut self, now: Instant, span: Duration) -> usize {
        self.expire(now, span);
        self.times.push_back(now);
        self.times.len()
    }

    fn expire(&mut self, now: Instant, span: Duration) {
        while let Some(&front) = self.times.front() {
            if now.duration_since(front) >= span {
                self.times.pop_front();
            } else {
                break;
            }
        }
    }

    fn clear(&mut self) {
        self.times.clear();
    }
}

/// Rate-limit state of one tenant: SCIM, real-time + proxy together, and OAuth.
#[derive(Debug, Default)]
pub(crate) struct LimitState {
    pub(crate) scim: Window,
    pub(crate) scim_blocked_until: Option<Instant>,
    pub(crate) ipsproxy: Window,
    pub(crate) oauth: Window,
}

impl LimitState {
    pub(crate) fn reset(&mut self) {
        self.scim.clear();
        self.scim_blocked_until = None;
        self.ipsproxy.clear();
        self.oauth.clear();
    }
}

/// What the rate limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Serve,
    Delay(Duration),
    Reject { retry_after: Duration },
}

/// The documented limits (docs/sap-facts.md: IAS rate limits, real-time provisioning), on a clock
/// where a minute lasts `minute` of real time.
pub(crate) fn rate_limit(
    state: &mut LimitState,
    family: Family,
    now: Instant,
    minute: Duration,
) -> Limit {
    let second = minute / 60;
    match family {
        // IAS SCIM: up to 200 per minute served, 201–280 delayed by one second each, from the
        // 281st a 429 for 60 seconds. Every request counts, also those answered 429.
        Family::Scim => {
            let n = state.scim.hit(now, minute);
            if let Some(until) = state.scim_blocked_until {
                if now < until {
                    return Limit::Reject {
                        retry_after: until - now,
                    };
                }
                state.scim_blocked_until = None;
            }
            match n {
                0..=200 => Limit::Serve,
                201..=280 => Limit::Delay(second),
                _ => {
                    state.scim_blocked_until = Some(now + minute);
                    Limit::Reject {
                        retry_after: minute,
                    }
                }
            }
        }
        // IPS real-time and proxy calls count together: slowed from 150 per minute, rejected
        // beyond 200. How much "slowed" is, is not documented: one second, like IAS.
        Family::Realtime | Family::Proxy => {
            let n = state.ipsproxy.hit(now, minute);
            match n {
                0..=150 => Limit::Serve,
                151..=200 => Limit::Delay(second),
                _ => Limit::Reject {
                    retry_after: second * 60,
                },
            }
        }
        // /oauth2/*: 1000 per minute per tenant.
        Family::Oauth => {
            if state.oauth.hit(now, minute) > 1000 {
                Limit::Reject {
                    retry_after: second * 60,
                }
            } else {
                Limit::Serve
            }
        }
        Family::Applications | Family::IpsAdmin | Family::Other => Limit::Serve,
    }
}

/// Counters of one API family of one tenant.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FamilyCounters {
    /// Requests seen (whatever the answer).
    pub requests: u64,
    /// 429 answers sent by the rate limiter.
    pub throttled: u64,
    /// Requests the rate limiter delayed.
    pub delayed: u64,
    /// Answers replaced by an injected fault (status, reset, stall, malformed JSON).
    pub faulted: u64,
    /// The most requests seen in any one (scaled) minute window.
    pub max_per_minute: u64,
    /// Answers by HTTP status.
    pub statuses: BTreeMap<u16, u64>,
}

/// Counters of one tenant.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TenantCounters {
    /// Counters per API family.
    pub families: BTreeMap<Family, FamilyCounters>,
    /// Requests per endpoint, e.g. `GET /scim/Users`.
    pub endpoints: BTreeMap<String, u64>,
    /// Faults [`Chaos`](crate::Chaos) injected, by kind (absent: none).
    pub chaos: BTreeMap<ChaosKind, u64>,
}

impl TenantCounters {
    /// One family's counters (all zero if it saw no request).
    pub fn family(&self, f: Family) -> FamilyCounters {
        self.families.get(&f).cloned().unwrap_or_default()
    }
}

#[derive(Debug, Default)]
pub(crate) struct CounterState {
    pub(crate) counters: TenantCounters,
    windows: HashMap<Family, Window>,
}

impl CounterState {
    /// Counts a request; returns how many requests the tenant has made to `endpoint`, this
    /// one included.
    pub(crate) fn begin(
        &mut self,
        family: Family,
        endpoint: &str,
        now: Instant,
        minute: Duration,
    ) -> u64 {
        let n = self.windows.entry(family).or_default().hit(now, minute) as u64;
        let c = self.counters.families.entry(family).or_default();
        c.requests += 1;
        c.max_per_minute = c.max_per_minute.max(n);
        if let Some(e) = self.counters.endpoints.get_mut(endpoint) {
            *e += 1;
            *e
        } else {
            self.counters.endpoints.insert(endpoint.to_string(), 1);
            1
        }
    }

    /// Counts a fault chaos injected.
    pub(crate) fn injected(&mut self, kind: ChaosKind) {
        *self.counters.chaos.entry(kind).or_default() += 1;
    }

    pub(crate) fn end(
        &mut self,
        family: Family,
        status: u16,
        throttled: bool,
        delayed: bool,
        faulted: bool,
    ) {
        let c = self.counters.families.entry(family).or_default();
        *c.statuses.entry(status).or_default() += 1;
        c.throttled += u64::from(throttled);
        c.delayed += u64::from(delayed);
        c.faulted += u64::from(faulted);
    }

    pub(crate) fn reset(&mut self) {
        self.counters = TenantCounters::default();
        self.windows.clear();
    }
}

/// One tenant at run time.
#[derive(Debug)]
pub(crate) struct TenantRt {
    pub(crate) id: String,
    pub(crate) data: RwLock<TenantData>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) limits: Mutex<LimitState>,
    pub(crate) counters: Mutex<CounterState>,
}

impl TenantRt {
    pub(crate) fn new(spec: TenantSpec) -> Result<TenantRt, ScenarioError> {
        let faults = spec.faults.clone();
        let id = spec.id.clone();
        Ok(TenantRt {
            id,
            data: RwLock::new(TenantData::compile(spec)?),
            faults: Mutex::new(faults),
            auth: Mutex::new(AuthState::default()),
            limits: Mutex::new(LimitState::default()),
            counters: Mutex::new(CounterState::default()),
        })
    }

    /// Clears the rate-limit windows, client-ID locks and tokens.
    pub(crate) fn reset_limits(&self) {
        lock(&self.limits).reset();
        let mut auth = lock(&self.auth);
        auth.failures.clear();
        auth.tokens.clear();
    }

    /// The tenant as a scenario entry, with its current faults.
    pub(crate) fn snapshot(&self) -> TenantSpec {
        let mut spec = read(&self.data).spec.clone();
        spec.faults = lock(&self.faults).clone();
        spec
    }
}

/// All tenants and the index from host name to tenant.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) description: String,
    pub(crate) chaos: Option<Chaos>,
    pub(crate) tenants: Vec<Arc<TenantRt>>,
    pub(crate) hosts: HashMap<String, (Arc<TenantRt>, HostKind)>,
}

impl World {
    pub(crate) fn new(scenario: &Scenario) -> Result<World, ScenarioError> {
        scenario.validate()?;
        let mut w = World {
            description: scenario.description.clone(),
            chaos: scenario.chaos.clone(),
            ..World::default()
        };
        for t in &scenario.tenants {
            w.tenants.push(Arc::new(TenantRt::new(t.clone())?));
        }
        w.reindex();
        Ok(w)
    }

    /// The whole current state as a scenario.
    pub(crate) fn scenario(&self) -> Scenario {
        Scenario {
            description: self.description.clone(),
            tenants: self.tenants.iter().map(|t| t.snapshot()).collect(),
            chaos: self.chaos.clone(),
        }
    }

    pub(crate) fn reindex(&mut self) {
        self.hosts.clear();
        for t in &self.tenants {
            let d = read(&t.data);
            let s = &d.spec;
            self.hosts
                .insert(s.ias_host.to_ascii_lowercase(), (t.clone(), HostKind::Ias));
            if let Some(h) = &s.ips_host {
                self.hosts
                    .insert(h.to_ascii_lowercase(), (t.clone(), HostKind::NeoIps));
            }
            if let Some(h) = &s.ips_cert_host {
                self.hosts
                    .insert(h.to_ascii_lowercase(), (t.clone(), HostKind::NeoIpsCert));
            }
        }
    }

    pub(crate) fn tenant(&self, id: &str) -> Option<&Arc<TenantRt>> {
        self.tenants.iter().find(|t| t.id.eq_ignore_ascii_case(id))
    }

    pub(crate) fn by_host(&self, host: &str) -> Option<(Arc<TenantRt>, HostKind)> {
        self.hosts.get(host).cloned()
    }

    /// Replaces or adds a tenant. Hosts must stay unique across tenants.
    pub(crate) fn upsert(&mut self, spec: TenantSpec) -> Result<Arc<TenantRt>, ScenarioError> {
        for h in spec.hosts() {
            if let Some((other, _)) = self.hosts.get(&h.to_ascii_lowercase())
                && !other.id.eq_ignore_ascii_case(&spec.id)
            {
                return Err(ScenarioError::Invalid {
                    tenant: spec.id.clone(),
                    message: format!("host {h} belongs to tenant '{}'", other.id),
                });
            }
        }
        let rt = match self.tenant(&spec.id) {
            Some(existing) => {
                let faults = spec.faults.clone();
                let data = TenantData::compile(spec)?;
                *write(&existing.data) = data;
                *lock(&existing.faults) = faults;
                existing.clone()
            }
            None => {
                let rt = Arc::new(TenantRt::new(spec)?);
                self.tenants.push(rt.clone());
                rt
            }
        };
        self.reindex();
        Ok(rt)
    }

    pub(crate) fn remove(&mut self, id: &str) -> bool {
        let before = self.tenants.len();
        self.tenants.retain(|t| !t.id.eq_ignore_ascii_case(id));
        self.reindex();
        self.tenants.len() != before
    }
}

/// The facts of a presented client certificate that authentication needs, computed once per
/// connection.
#[derive(Debug, Clone)]
pub(crate) struct PeerCert {
    pub sha256: [u8; 32],
    pub(crate) subject: String,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
}

impl PeerCert {
    pub(crate) fn from_der(der: &[u8]) -> Option<PeerCert> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let validity = cert.validity();
        Some(PeerCert {
            sha256: sha256(der),
            subject: cert.subject().to_string(),
            not_before: DateTime::from_timestamp(validity.not_before.timestamp(), 0)?,
            not_after: DateTime::from_timestamp(validity.not_after.timestamp(), 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn scim_limits_follow_the_documented_steps() {
        let mut s = LimitState::default();
        let minute = Duration::from_secs(60);
        let t0 = Instant::now();
        for i in 1..=200 {
            assert_eq!(
                rate_limit(&mut s, Family::Scim, t0, minute),
                Limit::Serve,
                "#{i}"
            );
        }
        for i in 201..=280 {
            assert_eq!(
                rate_limit(&mut s, Family::Scim, t0, minute),
                Limit::Delay(Duration::from_secs(1)),
                "#{i}"
            );
        }
        assert!(matches!(
            rate_limit(&mut s, Family::Scim, t0, minute),
            Limit::Reject { .. }
        ));
        // Blocked for 60 s even though the window empties.
        let later = t0 + Duration::from_secs(59);
        assert!(matches!(
            rate_limit(&mut s, Family::Scim, later, minute),
            Limit::Reject { retry_after } if retry_after == Duration::from_secs(1)
        ));
        let after = t0 + Duration::from_secs(120);
        assert_eq!(
            rate_limit(&mut s, Family::Scim, after, minute),
            Limit::Serve
        );
    }

    #[test]
    fn realtime_and_proxy_share_a_window() {
        let mut s = LimitState::default();
        let minute = Duration::from_secs(1);
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(
                rate_limit(&mut s, Family::Realtime, t0, minute),
                Limit::Serve
            );
        }
        for _ in 0..50 {
            assert_eq!(rate_limit(&mut s, Family::Proxy, t0, minute), Limit::Serve);
        }
        assert!(matches!(
            rate_limit(&mut s, Family::Realtime, t0, minute),
            Limit::Delay(_)
        ));
        for _ in 0..49 {
            rate_limit(&mut s, Family::Proxy, t0, minute);
        }
        assert!(matches!(
            rate_limit(&mut s, Family::Proxy, t0, minute),
            Limit::Reject { .. }
        ));
        assert_eq!(
            rate_limit(&mut s, Family::Proxy, t0 + Duration::from_secs(2), minute),
            Limit::Serve
        );
    }

    #[test]
    fn counters_track_the_busiest_window() {
        let mut c = CounterState::default();
        let t0 = Instant::now();
        let minute = Duration::from_secs(60);
        for i in 0..5 {
            c.begin(
                Family::Scim,
                "GET /scim/Users",
                t0 + Duration::from_secs(i),
                minute,
            );
        }
        c.begin(
            Family::Scim,
            "GET /scim/Users",
            t0 + Duration::from_secs(200),
            minute,
        );
        c.end(Family::Scim, 200, false, false, false);
        let f = c.counters.family(Family::Scim);
        assert_eq!((f.requests, f.max_per_minute), (6, 5));
        assert_eq!(c.counters.endpoints["GET /scim/Users"], 6);
        assert_eq!(f.statuses[&200], 1);
    }
}
