//! What every SAP endpoint of the simulator shares: error bodies in SAP's shapes, response
//! headers, the request context (tenant, host, connection) and authentication as IAS does it.

use crate::ids::random_hex;
use crate::scenario::Permission;
use crate::shared::Shared;
use crate::state::{AdminKey, AdminRt, HostKind, TenantRt, Token, lock, read};
use crate::tls::Conn;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) const SCIM_JSON: &str = "application/scim+json";
pub(crate) const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub(crate) const SCIM_LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Failed secrets before a client ID locks, and for how long (docs/sap-facts.md: IAS
/// authentication).
const LOCK_AFTER: u32 = 5;
const LOCK_FOR: Duration = Duration::from_secs(60 * 60);

/// The error body shape an endpoint family uses (docs/sap-facts.md: errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `{"schemas":[…Error],"status":"404","detail":"…"}` as `application/scim+json`.
    Scim,
    /// `{"error":{"code":404,"message":"…"}}` (Applications API; also used for IPS).
    Json,
    /// RFC 6749 `{"error":"invalid_client","error_description":"…"}` (token endpoint).
    OAuth,
}

/// An error answer.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) style: Style,
    pub(crate) detail: String,
    pub(crate) scim_type: Option<&'static str>,
    pub(crate) message_code: Option<&'static str>,
    pub(crate) oauth_error: &'static str,
    pub(crate) retry_after: Option<u64>,
    /// The `Allow` header of a 405.
    pub(crate) allow: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, style: Style, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            style,
            detail: detail.into(),
            scim_type: None,
            message_code: None,
            oauth_error: "invalid_request",
            retry_after: None,
            allow: None,
        }
    }

    pub(crate) fn not_found(style: Style, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, style, detail)
    }

    pub(crate) fn bad_request(style: Style, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, style, detail)
    }

    pub(crate) fn unauthorized(style: Style, detail: impl Into<String>) -> ApiError {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, style, detail);
        e.oauth_error = "invalid_client";
        e
    }

    pub(crate) fn scim_type(mut self, t: &'static str) -> ApiError {
        self.scim_type = Some(t);
        self
    }

    pub(crate) fn oauth(mut self, e: &'static str) -> ApiError {
        self.oauth_error = e;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (ctype, body) = match self.style {
            Style::Scim => {
                let mut v = serde_json::json!({
                    "schemas": [SCIM_ERROR],
                    "status": self.status.as_u16().to_string(),
                    "detail": self.detail,
                });
                if let Some(t) = self.scim_type {
                    v["scimType"] = t.into();
                }
                (SCIM_JSON, v)
            }
            Style::Json => (
                "application/json",
                serde_json::json!({"error": {"code": self.status.as_u16(), "message": self.detail}}),
            ),
            Style::OAuth => (
                "application/json",
                serde_json::json!({"error": self.oauth_error, "error_description": self.detail}),
            ),
        };
        let mut resp = (self.status, body.to_string()).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
        sap_headers(h);
        if let Some(code) = self.message_code {
            h.insert("x-message-code", HeaderValue::from_static(code));
        }
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(a) = self.allow {
            h.insert(header::ALLOW, HeaderValue::from_static(a));
        }
        resp
    }
}

/// Headers real IAS responses carry (docs/sap-facts.md: IAS SCIM, from recorded responses).
pub(crate) fn sap_headers(h: &mut HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private,no-cache,no-store"),
    );
    h.insert(header::SERVER, HeaderValue::from_static("SAP"));
    h.insert("x-ids-namespace", HeaderValue::from_static("ias"));
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains; preload;"),
    );
}

/// A JSON answer with the given content type and SAP's headers.
pub(crate) fn json_response(
    status: StatusCode,
    ctype: &'static str,
    body: &serde_json::Value,
) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    sap_headers(h);
    resp
}

pub(crate) fn scim(status: StatusCode, body: &serde_json::Value) -> Response {
    json_response(status, SCIM_JSON, body)
}

/// The tenant a request is for, put into the request by the tenant middleware.
#[derive(Debug, Clone)]
pub(crate) struct TenantCtx {
    pub(crate) tenant: Arc<TenantRt>,
    pub(crate) kind: HostKind,
    pub(crate) host: String,
}

/// What a handler needs about its request.
pub(crate) struct Ctx {
    pub(crate) tenant: Arc<TenantRt>,
    pub(crate) kind: HostKind,
    pub(crate) host: String,
    pub(crate) conn: Conn,
    pub(crate) authorization: Option<String>,
    pub(crate) content_type: Option<String>,
}

impl FromRequestParts<Arc<Shared>> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        let t = parts
            .extensions
            .get::<TenantCtx>()
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::MISDIRECTED_REQUEST,
                    Style::Json,
                    "no tenant for this host",
                )
                .into_response()
            })?;
        let conn = parts
            .extensions
            .get::<ConnectInfo<Conn>>()
            .map(|c| c.0.clone())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Style::Json,
                    "no connection info",
                )
                .into_response()
            })?;
        let text = |name: header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Ctx {
            tenant: t.tenant,
            kind: t.kind,
            host: t.host,
            conn,
            authorization: text(header::AUTHORIZATION),
            content_type: text(header::CONTENT_TYPE),
        })
    }
}

impl Ctx {
    /// 404 unless the request came to one of `kinds` on a tenant of the right IPS type.
    pub(crate) fn only_on(&self, kinds: &[HostKind], style: Style) -> Result<(), ApiError> {
        if kinds.contains(&self.kind) {
            Ok(())
        } else {
            Err(ApiError::not_found(style, "Not Found"))
        }
    }

    /// A JSON request body must be declared as JSON (SCIM: 415 otherwise; docs/sap-facts.md: IAS
    /// SCIM).
    pub(crate) fn require_json(&self, style: Style) -> Result<(), ApiError> {
        let ok = self.content_type.as_deref().is_some_and(|ct| {
            let base = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            base == "application/json" || base == SCIM_JSON
        });
        if ok {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                style,
                "Unsupported Media Type: use application/scim+json or application/json",
            ))
        }
    }
}

/// Decoded `Authorization: Basic` credentials.
pub(crate) fn basic(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn same(a: &str, b: &str) -> bool {
    // Length leaks, content does not: enough for a simulator, and the habit is right.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks a client ID and secret with IAS's lock rule: five failures lock the client ID for an
/// hour (scaled), during which even the right secret gets 401 with `X-message-code:
/// PASSWORD_LOCKED`.
pub(crate) fn check_secret(
    sh: &Shared,
    tenant: &TenantRt,
    client_id: &str,
    secret: &str,
    style: Style,
) -> Result<AdminRt, ApiError> {
    let data = read(&tenant.data);
    let Some(admin) = data.admin_by_client_id(client_id) else {
        return Err(ApiError::unauthorized(
            style,
            "Not authenticated: unknown client ID",
        ));
    };
    let now = Instant::now();
    let mut auth = lock(&tenant.auth);
    let entry = auth
        .failures
        .entry(client_id.to_string())
        .or_insert((0, None));
    if let Some(until) = entry.1 {
        if now < until {
            let mut e =
                ApiError::unauthorized(style, "Client ID is locked after too many failed logons");
            e.message_code = Some("PASSWORD_LOCKED");
            return Err(e);
        }
        *entry = (0, None);
    }
    if admin.secrets.iter().any(|s| same(s, secret)) {
        *entry = (0, None);
        return Ok(admin.clone());
    }
    entry.0 += 1;
    if admin.client_id_lock && entry.0 >= LOCK_AFTER {
        entry.1 = Some(now + sh.scaled(LOCK_FOR));
        let mut e =
            ApiError::unauthorized(style, "Client ID is locked after too many failed logons");
        e.message_code = Some("PASSWORD_LOCKED");
        return Err(e);
    }
    Err(ApiError::unauthorized(
        style,
        "Not authenticated: wrong client secret",
    ))
}

/// The admin a client certificate maps to: the whole certificate must be on the record, and it
/// must be valid now (simulated clock).
pub(crate) fn admin_by_certificate(
    sh: &Shared,
    ctx: &Ctx,
    style: Style,
) -> Result<AdminRt, ApiError> {
    let Some(peer) = &ctx.conn.0.peer else {
        return Err(ApiError::unauthorized(
            style,
            "Not authenticated: no credentials",
        ));
    };
    let now = sh.clock.now();
    if now < peer.not_before || now > peer.not_after {
        return Err(ApiError::unauthorized(
            style,
            "Not authenticated: the client certificate is expired or not yet valid",
        ));
    }
    let data = read(&ctx.tenant.data);
    data.admin_by_cert(&peer.sha256).cloned().ok_or_else(|| {
        ApiError::unauthorized(
            style,
            "Not authenticated: the client certificate is not configured for any administrator",
        )
    })
}

/// Authenticates a request as IAS does: Basic (client ID and secret), Bearer (a token from
/// `/oauth2/token`), or, with no Authorization header, the client certificate.
pub(crate) fn authenticate(sh: &Shared, ctx: &Ctx, style: Style) -> Result<AdminRt, ApiError> {
    match ctx.authorization.as_deref() {
        Some(value) => {
            if let Some((id, secret)) = basic(value) {
                return check_secret(sh, &ctx.tenant, &id, &secret, style);
            }
            if let Some(token) = bearer(value) {
                let found = lock(&ctx.tenant.auth).tokens.get(token).cloned();
                return match found {
                    Some(Token { admin, expires }) if Instant::now() < expires => {
                        read(&ctx.tenant.data)
                            .admin_by_key(&admin)
                            .cloned()
                            .ok_or_else(|| {
                                ApiError::unauthorized(
                                    style,
                                    "Not authenticated: the administrator no longer exists",
                                )
                            })
                    }
                    Some(_) => Err(ApiError::unauthorized(
                        style,
                        "Not authenticated: the token has expired",
                    )),
                    None => Err(ApiError::unauthorized(
                        style,
                        "Not authenticated: unknown token",
                    )),
                };
            }
            Err(ApiError::unauthorized(
                style,
                "Not authenticated: unsupported authorization scheme",
            ))
        }
        None => admin_by_certificate(sh, ctx, style),
    }
}

/// The answer to a method a path does not serve: authentication first, as for any call (an
/// unauthenticated caller gets 401 whatever the method), then 405 with the family's error body
/// (a SCIM error on SCIM paths, `status` a string like IAS) and an `Allow` header.
pub(crate) fn method_not_allowed(
    sh: &Shared,
    ctx: &Ctx,
    method: &axum::http::Method,
    style: Style,
    allow: &'static str,
) -> Response {
    let authenticated = if ctx.kind == HostKind::NeoIpsCert {
        // The `.cert.` host knows callers by the systems' inbound certificates only.
        let data = read(&ctx.tenant.data);
        let now = sh.clock.now();
        match &ctx.conn.0.peer {
            Some(p)
                if now >= p.not_before
                    && now <= p.not_after
                    && data.inbound.iter().flatten().any(|c| c.sha256 == p.sha256) =>
            {
                Ok(())
            }
            _ => Err(ApiError::unauthorized(
                style,
                "Not authenticated: the client certificate is not among the inbound certificates",
            )),
        }
    } else {
        authenticate(sh, ctx, style).map(|_| ())
    };
    if let Err(e) = authenticated {
        return e.into_response();
    }
    let mut e = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        style,
        format!("Method {method} is not allowed here; allowed: {allow}"),
    );
    e.allow = Some(allow);
    e.into_response()
}

/// 403 unless the admin has one of `any` (the permission table of docs/simulator.md).
pub(crate) fn require(admin: &AdminRt, any: &[Permission], style: Style) -> Result<(), ApiError> {
    if any.iter().any(|p| admin.has(*p)) {
        return Ok(());
    }
    let names: Vec<&str> = any.iter().map(|p| p.label()).collect();
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        style,
        format!(
            "Access to the resource is denied: administrator '{}' lacks the permission {}",
            admin.name,
            names.join(" or ")
        ),
    ))
}

/// Issues a bearer token for `admin` that expires after `lifetime` (real time).
pub(crate) fn issue_token(tenant: &TenantRt, admin: &AdminRt, lifetime: Duration) -> String {
    let token = random_hex(24);
    let mut auth = lock(&tenant.auth);
    if auth.tokens.len() > 10_000 {
        let now = Instant::now();
        auth.tokens.retain(|_, t| t.expires > now);
    }
    auth.tokens.insert(
        token.clone(),
        Token {
            admin: AdminKey::of(admin),
            expires: Instant::now() + lifetime,
        },
    );
    token
}

/// Parses an `application/x-www-form-urlencoded` body.
pub(crate) fn form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn basic_and_forms_decode() {
        let v = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("id-1:s3:cr%t")
        );
        assert_eq!(basic(&v), Some(("id-1".into(), "s3:cr%t".into())));
        assert_eq!(basic("Bearer x"), None);
        assert_eq!(
            form(b"grant_type=client_credentials&client_id=a%2Bb&x=1+2&bad=%zz&t=%4"),
            vec![
                ("grant_type".into(), "client_credentials".into()),
                ("client_id".into(), "a+b".into()),
                ("x".into(), "1 2".into()),
                ("bad".into(), "%zz".into()),
                ("t".into(), "%4".into()),
            ]
        );
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
