//! The fleet HTTP client: one [`NetClient`] for the whole audit, shared by every tenant.
//!
//! Each request waits for its tenant's rate budget and for a connection slot (global and per
//! host), runs under the per-request timeout cut to the tenant's [`Deadline`], and is retried
//! on connection errors, 429 and transient 5xx with full-jitter backoff or the server's
//! `Retry-After`, never sleeping past the deadline. Non-2xx answers are not errors: checks
//! classify them by status. Requests are logged at debug level, one line each, without
//! headers, query strings or bodies.

use chrono::{DateTime, Utc};
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER,
};
use reqwest::{Method, Url};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::NetConfig;
use super::connect_to::{AddressBook, Resolver};
use super::credentials::{Credential, CredentialKind, Secret};
use super::failure::{Phase, Unreachable, classify};
use super::identity::ClientIdentity;
use super::limits::{ApiFamily, Deadline, Limiter, Refusal};
use super::oauth::{Cached, TOKEN_REQUEST_BODY, TokenCache, fresh_until, parse_token};
use super::retry::{parse_retry_after, retryable_status};
use super::tls_probe::{self, ProbeOptions, ProbeResult};
use super::trust::{ChainRecorder, TrustError, TrustStore, rest_tls_config};

/// How a request authenticates.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A credential of the credentials file (basic, OAuth or mTLS).
    Credential(Arc<Credential>),
    /// A client certificate only (the LMS identity of the mTLS acceptance probes).
    Identity(Arc<ClientIdentity>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Credential(c) => write!(f, "Credential({:?}, {})", c.name(), c.mode().as_str()),
            Auth::Identity(i) => write!(f, "Identity({:?})", i.label()),
        }
    }
}

/// One request to make.
#[derive(Clone)]
pub struct Call {
    method: Method,
    url: Url,
    auth: Auth,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Option<(&'static str, Vec<u8>)>,
    deadline: Deadline,
    family: Option<ApiFamily>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("method", &self.method)
            .field("url", &safe_url(&self.url))
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// A URL as text for an error, whether it parses or not: without anything up to its last `@`
/// (user information, whose password may hold `/`, `?` or `#`; at worst a query's `@` hides
/// the host too), and without its query and fragment (a filter may name users).
fn url_for_errors(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}{rest}")
}

/// `scheme://host[:port]/path`: no user info, no query (a filter may name users).
fn safe_url(url: &Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(p) = url.port() {
        s.push_str(&format!(":{p}"));
    }
    s.push_str(url.path());
    s
}

impl Call {
    /// A request with `method` to `url` (http or https, with a host, without user
    /// information). Errors name the URL without its user information, query and fragment.
    pub(crate) fn new(method: Method, url: &str) -> Result<Call, NetError> {
        let invalid = |reason: String| NetError::InvalidUrl {
            url: url_for_errors(url),
            reason,
        };
        let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "user information (user:password@) in a URL is refused: give credentials in the credentials file"
                    .to_string(),
            ));
        }
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(invalid("the scheme must be https".to_string()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host".to_string()));
        }
        Ok(Call {
            method,
            url: parsed,
            auth: Auth::None,
            headers: Vec::new(),
            body: None,
            deadline: Deadline::none(),
            family: None,
        })
    }

    /// A GET.
    pub fn get(url: &str) -> Result<Call, NetError> {
        Call::new(Method::GET, url)
    }

    /// A POST.
    pub fn post(url: &str) -> Result<Call, NetError> {
        Call::new(Method::POST, url)
    }

    /// Authenticates with `auth`.
    pub fn auth(mut self, auth: Auth) -> Call {
        self.auth = auth;
        self
    }

    /// The tenant's deadline: no wait of this request goes past it.
    pub fn deadline(mut self, deadline: Deadline) -> Call {
        self.deadline = deadline;
        self
    }

    /// Adds a header (not for credentials: use [`Call::auth`], whose values are never logged).
    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Call {
        self.headers.push((name, value));
        self
    }

    /// `Accept: <media type>`.
    pub(crate) fn accept(self, media_type: &'static str) -> Call {
        self.header(ACCEPT, HeaderValue::from_static(media_type))
    }

    /// A body with its content type.
    pub(crate) fn body(mut self, content_type: &'static str, body: Vec<u8>) -> Call {
        self.body = Some((content_type, body));
        self
    }

    /// A JSON body (`application/json`).
    pub(crate) fn json(self, value: &serde_json::Value) -> Call {
        self.body("application/json", value.to_string().into_bytes())
    }

    /// The URL's host.
    pub(crate) fn host(&self) -> &str {
        self.url.host_str().unwrap_or("")
    }

    fn family_or_default(&self) -> ApiFamily {
        self.family
            .unwrap_or_else(|| ApiFamily::of_path(self.url.path()))
    }

    fn default_token_url(&self) -> Url {
        let mut u = self.url.clone();
        u.set_path("/oauth2/token");
        u.set_query(None);
        u.set_fragment(None);
        u
    }
}

/// An answer, whatever its status.
pub struct Response {
    /// The HTTP status of the last attempt (a 429 or 5xx when the retries ran out).
    pub status: u16,
    /// The response headers of the last attempt.
    pub headers: HeaderMap,
    /// The whole body, at most [`NetConfig::max_body_bytes`] long.
    pub body: Vec<u8>,
    /// Attempts made (1 when the first one was answered).
    pub attempts: u32,
    /// The host asked.
    pub host: String,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .field("host", &self.host)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Still 429 after the retries (`API_THROTTLED`).
    pub fn is_throttled(&self) -> bool {
        self.status == 429
    }

    /// The retries made after the first attempt.
    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// What a deadline cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waiting {
    /// The tenant's or host's rate budget had no slot free in time.
    RateBudget,
    /// All connection slots (global or to the host) stayed taken.
    ConnectionSlot,
    /// A request or TLS probe was under way, or no time was left to start the next attempt.
    Response,
    /// Another call of the same credential was fetching the OAuth token.
    Token,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Waiting::RateBudget => "waiting for a slot in the rate budget",
            Waiting::ConnectionSlot => "waiting for a connection slot",
            Waiting::Response => "waiting for the response",
            Waiting::Token => "waiting for an OAuth token",
        })
    }
}

impl From<Refusal> for Waiting {
    fn from(r: Refusal) -> Waiting {
        match r {
            Refusal::RateBudget => Waiting::RateBudget,
            Refusal::ConnectionSlot => Waiting::ConnectionSlot,
        }
    }
}

/// Why a call gave no answer. Display names hosts, credentials and causes, never a secret,
/// a query string or a body.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The client was built with `offline` set; nothing was sent.
    #[error("network access is disabled (--offline)")]
    Offline,
    /// The URL cannot be called: not http(s), no host, or credentials in it.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL without its query and fragment (which may name users).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No HTTP answer: DNS, refused, timeout, reset, closed or TLS (`ENDPOINT_UNREACHABLE`).
    #[error("{host}: {failure} (after {attempts} attempt(s))")]
    Unreachable {
        /// The host of the URL (not a `--connect-to` address).
        host: String,
        /// The cause of the last attempt.
        failure: Unreachable,
        /// Attempts made, the first included.
        attempts: u32,
    },
    /// The tenant's deadline passed before an answer came.
    #[error("{host}: the tenant's deadline passed {waiting} (after {attempts} attempt(s){})",
        last.as_ref().map(|l| format!("; last: {l}")).unwrap_or_default())]
    Deadline {
        /// The host of the URL.
        host: String,
        /// What the call was waiting for when the deadline passed.
        waiting: Waiting,
        /// Attempts started before the deadline passed (0 when none could start).
        attempts: u32,
        /// Why the previous attempt was retried (`HTTP 503`, a connection failure), if any.
        last: Option<String>,
    },
    /// The token endpoint answered the OAuth client-credentials request with a non-2xx status
    /// (400, 401 and 403 are `API_AUTH_FAILED`).
    #[error(
        "{host}: the OAuth token request of credential '{credential}' was answered with HTTP {status}"
    )]
    TokenRejected {
        /// The token endpoint's host.
        host: String,
        /// The credential's name in the credentials file.
        credential: String,
        /// The HTTP status of the token response.
        status: u16,
        /// Attempts made at the token request.
        attempts: u32,
    },
    /// The token endpoint answered 2xx with a body holding no usable token.
    #[error("{host}: the OAuth token response for credential '{credential}' is unusable: {reason}")]
    TokenUnusable {
        /// The token endpoint's host.
        host: String,
        /// The credential's name in the credentials file.
        credential: String,
        /// What is wrong with the body, in fixed words (the body itself may hold a token).
        reason: &'static str,
    },
    /// The body was larger than [`NetConfig::max_body_bytes`]; reading stopped there.
    #[error("{host}: the response body is larger than {limit} bytes")]
    BodyTooLarge {
        /// The host of the URL.
        host: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not the JSON a check expected.
    #[error("{host}: the response is not the expected JSON: {reason}")]
    Decode {
        /// The host of the URL.
        host: String,
        /// The JSON parser's message.
        reason: String,
    },
    /// The trust anchors or the TLS configuration could not be set up.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// reqwest could not build an HTTP client (its message, without URL).
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

impl NetError {
    /// The connection-level cause, when that is what failed (`ENDPOINT_UNREACHABLE`).
    pub fn unreachable(&self) -> Option<&Unreachable> {
        match self {
            NetError::Unreachable { failure, .. } => Some(failure),
            _ => None,
        }
    }

    /// Whether the credential itself was refused (`API_AUTH_FAILED`).
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            NetError::TokenRejected {
                status: 400 | 401 | 403,
                ..
            }
        )
    }
}

/// What goes into the Authorization header of one run.
#[derive(Clone, Copy)]
enum AuthHeader<'a> {
    None,
    Basic(&'a str, &'a Secret),
    Bearer(&'a Secret),
}

struct Raw {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

enum ExchangeError {
    Http(reqwest::Error),
    TooLarge,
}

impl From<reqwest::Error> for ExchangeError {
    fn from(e: reqwest::Error) -> ExchangeError {
        ExchangeError::Http(e)
    }
}

/// A probe's result, or why no chain was recorded and after how many attempts.
type ProbeOutcome = Result<Arc<ProbeResult>, (Unreachable, u32)>;
type ProbeKey = (String, u16, i64);

/// The shared network client of an audit. Cheap to clone.
#[derive(Clone, Debug)]
pub struct NetClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: NetConfig,
    trust: TrustStore,
    limiter: Limiter,
    /// Where connections go (`--connect-to`, DNS), shared by the REST clients, the TLS probe
    /// and the per-address caps.
    book: Arc<AddressBook>,
    /// One reqwest client per client identity (`None`: no identity), each with its pool.
    clients: Mutex<HashMap<Option<String>, reqwest::Client>>,
    tokens: TokenCache,
    probes: Mutex<HashMap<ProbeKey, Arc<OnceCell<ProbeOutcome>>>>,
    /// Chains the REST clients were shown, for [`NetClient::recorded_chain`].
    recorder: Arc<ChainRecorder>,
}

/// Locks a map that stays consistent even if a holder panicked (entries are inserted whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl NetClient {
    /// A client with the trust anchors of `cfg` (system roots unless turned off, plus
    /// `extra_ca`). With `offline` nothing is loaded and every call fails with `Offline`.
    pub fn new(cfg: NetConfig) -> Result<NetClient, NetError> {
        let trust = if cfg.offline {
            TrustStore::load(false, &[])?
        } else {
            TrustStore::load(cfg.system_roots, &cfg.extra_ca)?
        };
        Ok(NetClient::with_trust(cfg, trust))
    }

    /// A client with the given anchors (loading the system roots once for many clients).
    pub(crate) fn with_trust(cfg: NetConfig, trust: TrustStore) -> NetClient {
        let limiter = Limiter::new(cfg.concurrency, cfg.per_host, cfg.per_address, cfg.budgets);
        let book = Arc::new(AddressBook::new(cfg.connect_to.clone()));
        NetClient {
            inner: Arc::new(Inner {
                cfg,
                trust,
                limiter,
                book,
                clients: Mutex::new(HashMap::new()),
                tokens: TokenCache::default(),
                probes: Mutex::new(HashMap::new()),
                recorder: Arc::new(ChainRecorder::default()),
            }),
        }
    }

    fn http_client(&self, identity: Option<&ClientIdentity>) -> Result<reqwest::Client, NetError> {
        const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(1);
        let cfg = &self.inner.cfg;
        let key = identity.map(|i| i.fingerprint().to_string());
        let mut clients = lock(&self.inner.clients);
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let tls = rest_tls_config(
            &self.inner.trust,
            identity,
            cfg.insecure,
            Some(self.inner.recorder.clone()),
        )?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Resolver::new(self.inner.book.clone()))
            .connect_timeout(cfg.connect_timeout.unwrap_or(cfg.timeout))
            .pool_max_idle_per_host(cfg.per_host)
            // Every tenant has hosts of its own, so a connection is rarely reused once its
            // tenant is done; idle ones must not pile up to thousands of open sockets.
            .pool_idle_timeout(POOL_IDLE)
            // An auditor reports the status it got; following a redirect could also carry
            // credentials to another host.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mtls-audit/", env!("CARGO_PKG_VERSION")));
        if cfg.connect_to.is_some() {
            // A proxy would defeat --connect-to.
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| NetError::Build(e.without_url().to_string()))?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Sends `call` with its auth, limits, retries and deadline. Any HTTP status is an `Ok`
    /// answer; `Err` means no usable answer (unreachable, deadline, token refused, …).
    pub async fn send(&self, call: Call) -> Result<Response, NetError> {
        if self.inner.cfg.offline {
            return Err(NetError::Offline);
        }
        match &call.auth {
            Auth::None => {
                let client = self.http_client(None)?;
                self.run(&client, &call, AuthHeader::None).await
            }
            Auth::Identity(id) => {
                let client = self.http_client(Some(id))?;
                self.run(&client, &call, AuthHeader::None).await
            }
            Auth::Credential(cred) => match cred.kind() {
                CredentialKind::Basic { client_id, secret } => {
                    let client = self.http_client(None)?;
                    self.run(&client, &call, AuthHeader::Basic(client_id, secret))
                        .await
                }
                CredentialKind::Mtls { identity } => {
                    let client = self.http_client(Some(identity))?;
                    self.run(&client, &call, AuthHeader::None).await
                }
                CredentialKind::OAuth { client_id, secret } => {
                    self.send_oauth(&call, cred, client_id, secret).await
                }
            },
        }
    }

    async fn send_oauth(
        &self,
        call: &Call,
        cred: &Credential,
        client_id: &str,
        secret: &Secret,
    ) -> Result<Response, NetError> {
        let token_url = call.default_token_url();
        let client = self.http_client(None)?;
        let first = self
            .token(&token_url, cred, client_id, secret, call.deadline, None)
            .await?;
        let resp = self
            .run(&client, call, AuthHeader::Bearer(&first.token))
            .await?;
        if resp.status != 401 {
            return Ok(resp);
        }
        // The token may have been revoked or expired early: fetch a new one, once.
        let earlier = resp.attempts;
        let second = self
            .token(
                &token_url,
                cred,
                client_id,
                secret,
                call.deadline,
                Some(first.serial),
            )
            .await?;
        let mut resp = self
            .run(&client, call, AuthHeader::Bearer(&second.token))
            .await?;
        resp.attempts += earlier;
        Ok(resp)
    }

    /// A cached token for (`token_url`, credential), fetched when missing, stale, or the one
    /// that was just refused (`refused` serial).
    async fn token(
        &self,
        token_url: &Url,
        cred: &Credential,
        client_id: &str,
        secret: &Secret,
        deadline: Deadline,
        refused: Option<u64>,
    ) -> Result<Cached, NetError> {
        let host = token_url.host_str().unwrap_or("").to_string();
        let slot = self.inner.tokens.slot(token_url.as_str(), cred.name());
        let mut guard = match deadline.instant() {
            Some(at) => tokio::time::timeout_at(at, slot.lock())
                .await
                .map_err(|_| NetError::Deadline {
                    host: host.clone(),
                    waiting: Waiting::Token,
                    attempts: 0,
                    last: None,
                })?,
            None => slot.lock().await,
        };
        if let Some(c) = &guard.token
            && refused != Some(c.serial)
            && Instant::now() < c.fresh_until
        {
            return Ok(c.clone());
        }
        guard.token = None;
        let call = Call {
            method: Method::POST,
            url: token_url.clone(),
            auth: Auth::None,
            headers: vec![(ACCEPT, HeaderValue::from_static("application/json"))],
            body: Some((
                "application/x-www-form-urlencoded",
                TOKEN_REQUEST_BODY.to_vec(),
            )),
            deadline,
            family: Some(ApiFamily::OAuthToken),
        };
        let client = self.http_client(None)?;
        let resp = self
            .run(&client, &call, AuthHeader::Basic(client_id, secret))
            .await?;
        if !resp.is_success() {
            return Err(NetError::TokenRejected {
                host,
                credential: cred.name().to_string(),
                status: resp.status,
                attempts: resp.attempts,
            });
        }
        let (token, expires_in) =
            parse_token(&resp.body).map_err(|reason| NetError::TokenUnusable {
                host,
                credential: cred.name().to_string(),
                reason,
            })?;
        let cached = Cached {
            token,
            fresh_until: fresh_until(Instant::now(), expires_in, self.inner.cfg.token_margin),
            serial: self.inner.tokens.next_serial(),
        };
        guard.token = Some(cached.clone());
        Ok(cached)
    }

    /// With `--connect-to`, a port named in the URL would override the connect-to port (hyper
    /// puts an explicit URL port on every resolved address), so it moves to the Host header.
    fn target(&self, url: &Url) -> (Url, Option<HeaderValue>) {
        match (&self.inner.cfg.connect_to, url.port()) {
            (Some(_), Some(port)) => {
                let mut u = url.clone();
                // Cannot fail: the URL has a host (checked in `Call::new`).
                let _ = u.set_port(None);
                let host =
                    HeaderValue::from_str(&format!("{}:{port}", url.host_str().unwrap_or(""))).ok();
                (u, host)
            }
            _ => (url.clone(), None),
        }
    }

    /// The socket address a connection to `host:port` goes to first (after `--connect-to` and
    /// DNS), for the per-address cap; `None` when the name does not resolve in time (the
    /// request then fails on its own lookup, with the usual DNS error).
    async fn first_address(
        &self,
        host: &str,
        port: u16,
        deadline: Deadline,
    ) -> Option<std::net::SocketAddr> {
        let wait = deadline.cap(self.inner.cfg.timeout);
        match tokio::time::timeout(wait, self.inner.book.addresses(host, port)).await {
            Ok(Ok(addrs)) => addrs.first().copied(),
            _ => None,
        }
    }

    /// The retry loop of one call.
    async fn run(
        &self,
        client: &reqwest::Client,
        call: &Call,
        auth: AuthHeader<'_>,
    ) -> Result<Response, NetError> {
        let cfg = &self.inner.cfg;
        let host = call.host().to_string();
        let family = call.family_or_default();
        let (url, host_header) = self.target(&call.url);
        let port = call.url.port_or_known_default().unwrap_or(443);
        let mut attempt = 0u32;
        let mut retries = 0u32;
        let mut last: Option<String> = None;
        loop {
            attempt += 1;
            let deadline_err =
                |waiting: Waiting, attempts: u32, last: &Option<String>| NetError::Deadline {
                    host: host.clone(),
                    waiting,
                    attempts,
                    last: last.clone(),
                };
            let address = self.first_address(&host, port, call.deadline).await;
            let admission = self
                .inner
                .limiter
                .admit(&host, family, call.deadline, address)
                .await
                .map_err(|r| deadline_err(r.into(), attempt - 1, &last))?;
            let budget = call.deadline.cap(cfg.timeout);
            if budget.is_zero() {
                return Err(deadline_err(Waiting::Response, attempt - 1, &last));
            }
            let started = Instant::now();
            let outcome = tokio::time::timeout(
                budget,
                self.exchange(client, call, &url, host_header.as_ref(), auth),
            )
            .await;
            drop(admission);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let failure = match outcome {
                Ok(Ok(raw)) => {
                    tracing::debug!(
                        method = %call.method, host = %host, path = %call.url.path(),
                        status = raw.status, attempt, elapsed_ms, "request"
                    );
                    if retryable_status(raw.status) && retries < cfg.retry.retries {
                        let retry_after = raw
                            .headers
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| parse_retry_after(v, Utc::now()));
                        if let Some(wait) = cfg.retry.wait(retries + 1, retry_after)
                            && call.deadline.allows(wait)
                        {
                            retries += 1;
                            last = Some(format!("HTTP {}", raw.status));
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                    }
                    return Ok(Response {
                        status: raw.status,
                        headers: raw.headers,
                        body: raw.body,
                        attempts: attempt,
                        host,
                    });
                }
                Ok(Err(ExchangeError::TooLarge)) => {
                    return Err(NetError::BodyTooLarge {
                        host,
                        limit: cfg.max_body_bytes,
                    });
                }
                Ok(Err(ExchangeError::Http(e))) => {
                    let e = e.without_url();
                    classify(&e, cfg.connect_timeout.unwrap_or(cfg.timeout))
                }
                Err(_) if budget < cfg.timeout => {
                    tracing::debug!(
                        method = %call.method, host = %host, path = %call.url.path(),
                        attempt, elapsed_ms, outcome = "deadline", "request"
                    );
                    return Err(deadline_err(Waiting::Response, attempt, &last));
                }
                Err(_) => Unreachable::Timeout {
                    phase: Phase::Response,
                    after: budget,
                },
            };
            tracing::debug!(
                method = %call.method, host = %host, path = %call.url.path(),
                attempt, elapsed_ms, outcome = %failure, "request"
            );
            if failure.is_retryable() && retries < cfg.retry.retries {
                let wait = cfg.retry.backoff(retries + 1);
                if call.deadline.allows(wait) {
                    retries += 1;
                    last = Some(failure.to_string());
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Err(NetError::Unreachable {
                host,
                failure,
                attempts: attempt,
            });
        }
    }

    /// One request and its whole body.
    async fn exchange(
        &self,
        client: &reqwest::Client,
        call: &Call,
        url: &Url,
        host_header: Option<&HeaderValue>,
        auth: AuthHeader<'_>,
    ) -> Result<Raw, ExchangeError> {
        let limit = self.inner.cfg.max_body_bytes;
        let mut rb = client.request(call.method.clone(), url.clone());
        for (name, value) in &call.headers {
            rb = rb.header(name, value);
        }
        if let Some(h) = host_header {
            rb = rb.header(HOST, h.clone());
        }
        // reqwest marks both Authorization values sensitive (redacted in its Debug output).
        rb = match auth {
            AuthHeader::None => rb,
            AuthHeader::Basic(id, secret) => rb.basic_auth(id, Some(secret.expose())),
            AuthHeader::Bearer(token) => rb.bearer_auth(token.expose()),
        };
        if let Some((content_type, body)) = &call.body {
            rb = rb.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        let mut resp = rb.send().await?;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(ExchangeError::TooLarge);
        }
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if body.len() + chunk.len() > limit {
                return Err(ExchangeError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Raw {
            status,
            headers,
            body,
        })
    }

    /// The server-TLS evidence of a host from the chain a REST call of this client was shown
    /// (validated at `as_of` like a probe's), without a handshake of its own; `None` when no
    /// call reached the host. Chains are recorded by server name, so use it only for the port
    /// the calls went to.
    pub(crate) fn recorded_chain(
        &self,
        host: &str,
        port: u16,
        as_of: DateTime<Utc>,
    ) -> Option<Arc<ProbeResult>> {
        let chain = self.inner.recorder.get(host)?;
        let validation = super::trust::validate_chain(&chain, host, &self.inner.trust, as_of);
        let name_matches = chain
            .first()
            .is_some_and(|leaf| super::trust::name_matches(leaf, host));
        Some(Arc::new(ProbeResult {
            host: host.to_string(),
            port,
            peer: std::net::SocketAddr::from(([0, 0, 0, 0], port)),
            chain,
            validation,
            name_matches,
            protocol: None,
            cipher_suite: None,
            client_cert_requested: false,
            handshake_error: None,
        }))
    }

    /// Probes the TLS server at `host:port` once per audit (concurrent and later callers for
    /// the same host share the result), within the limits and `deadline`; connection-level
    /// failures are retried like requests. The chain is validated at `as_of`.
    pub async fn probe_tls(
        &self,
        host: &str,
        port: u16,
        as_of: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<Arc<ProbeResult>, NetError> {
        if self.inner.cfg.offline {
            return Err(NetError::Offline);
        }
        let key = (host.to_ascii_lowercase(), port, as_of.timestamp());
        let cell = lock(&self.inner.probes).entry(key).or_default().clone();
        // Errors of the init are not cached: they were cut short by this caller's deadline,
        // and another tenant with more time left should probe again.
        let init = cell.get_or_try_init(|| self.probe_with_retries(host, port, as_of, deadline));
        let outcome = match deadline.instant() {
            Some(at) => {
                tokio::time::timeout_at(at, init)
                    .await
                    .unwrap_or(Err(NetError::Deadline {
                        host: host.to_string(),
                        waiting: Waiting::Response,
                        attempts: 0,
                        last: None,
                    }))
            }
            None => init.await,
        }?;
        match outcome {
            Ok(p) => Ok(p.clone()),
            Err((failure, attempts)) => Err(NetError::Unreachable {
                host: host.to_string(),
                failure: failure.clone(),
                attempts: *attempts,
            }),
        }
    }

    async fn probe_with_retries(
        &self,
        host: &str,
        port: u16,
        as_of: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<ProbeOutcome, NetError> {
        let cfg = &self.inner.cfg;
        let mut attempt = 0u32;
        let mut last = None;
        loop {
            attempt += 1;
            // The addresses the probe connects to, from the same book as the REST clients, so
            // it counts against the same per-address cap; when the name does not resolve, the
            // probe looks it up itself and reports the DNS failure.
            let wait = deadline.cap(cfg.timeout);
            let addrs =
                match tokio::time::timeout(wait, self.inner.book.addresses(host, port)).await {
                    Ok(Ok(a)) if !a.is_empty() => Some(a),
                    _ => None,
                };
            let admission = self
                .inner
                .limiter
                .admit(
                    host,
                    ApiFamily::Other,
                    deadline,
                    addrs.as_ref().and_then(|a| a.first().copied()),
                )
                .await
                .map_err(|r| NetError::Deadline {
                    host: host.to_string(),
                    waiting: r.into(),
                    attempts: attempt - 1,
                    last: last.clone(),
                })?;
            let budget = deadline.cap(cfg.timeout);
            let opts = ProbeOptions {
                connect_to: cfg.connect_to.clone(),
                timeout: budget,
                identity: None,
                trust: self.inner.trust.clone(),
                as_of,
            };
            let started = Instant::now();
            let result = tls_probe::probe_at(host, port, addrs.as_deref(), &opts).await;
            drop(admission);
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let failure = match result {
                Ok(p) => {
                    tracing::debug!(host = %host, port, attempt, elapsed_ms,
                        chain = p.chain.len(), "tls probe");
                    return Ok(Ok(Arc::new(p)));
                }
                Err(f) => f,
            };
            tracing::debug!(host = %host, port, attempt, elapsed_ms, outcome = %failure, "tls probe");
            if matches!(failure, Unreachable::Timeout { .. }) && budget < cfg.timeout {
                return Err(NetError::Deadline {
                    host: host.to_string(),
                    waiting: Waiting::Response,
                    attempts: attempt,
                    last: Some(failure.to_string()),
                });
            }
            if failure.is_retryable() && attempt <= cfg.retry.retries {
                let wait = cfg.retry.backoff(attempt);
                if deadline.allows(wait) {
                    last = Some(failure.to_string());
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok(Err((failure, attempt)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_urls_never_hold_user_information() {
        for (url, want) in [
            ("https://u:pw@h.example/x?q=1#f", "https://h.example/x"),
            ("https://u:p/w@h.example/x", "https://h.example/x"),
            ("https://u:p?w@h.example/x", "https://h.example/x"),
            (
                "https://u:p#w@h.example:99999/x",
                "https://h.example:99999/x",
            ),
            ("u:pw@h.example/x", "h.example/x"),
            ("https://h.example/x?filter=a", "https://h.example/x"),
        ] {
            assert_eq!(url_for_errors(url), want, "{url}");
        }
        for url in [
            "https://admin:pw-1@h.example/x",
            "https://admin:pw-1@[::1/x",
            "ftp://admin:pw-1@h.example/",
            "https://pw-1@h.example/",
        ] {
            let e = Call::get(url).unwrap_err().to_string();
            assert!(!e.contains("pw-1") && !e.contains("admin"), "{e}");
        }
    }
}
