//! OAuth client credentials: the token cache and the token response. The request itself is
//! sent by the client (`POST <ias>/oauth2/token`, form `grant_type=client_credentials`, Basic
//! client auth); tokens are kept per (token endpoint, credential) until shortly before they
//! expire, and fetched anew once when an API answers 401.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use super::credentials::Secret;

/// The form body of a client-credentials token request.
pub(crate) const TOKEN_REQUEST_BODY: &[u8] = b"grant_type=client_credentials";

/// Lifetime assumed when a token response has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// A token in the cache. `serial` tells one fetch from the next, so a 401 invalidates only the
/// token that was refused and not a newer one another task already fetched.
#[derive(Clone)]
pub(crate) struct Cached {
    pub(crate) token: Secret,
    pub(crate) fresh_until: Instant,
    pub(crate) serial: u64,
}

/// One cache entry; its async lock makes concurrent callers wait for one fetch.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) token: Option<Cached>,
}

/// Slots by (token endpoint, credential name).
type Slots = HashMap<(String, String), Arc<tokio::sync::Mutex<Slot>>>;

#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<Slots>,
    serial: AtomicU64,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache { <redacted> }")
    }
}

impl TokenCache {
    /// The slot of (`token_url`, `credential`).
    pub(crate) fn slot(&self, token_url: &str, credential: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((token_url.to_string(), credential.to_string()))
            .or_default()
            .clone()
    }

    pub(crate) fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// When a token fetched at `now` that lives `expires_in` seconds must be replaced: `margin`
/// before it expires, or halfway through a life shorter than twice the margin.
pub(crate) fn fresh_until(now: Instant, expires_in: Option<u64>, margin: Duration) -> Instant {
    let life = expires_in.map_or(DEFAULT_LIFETIME, Duration::from_secs);
    let margin = margin.min(life / 2);
    now + (life - margin)
}

/// Reads `{"access_token": "...", "token_type": "Bearer", "expires_in": 3600}`. The error is a
/// fixed phrase: a parser's message could quote the token.
pub(crate) fn parse_token(body: &[u8]) -> Result<(Secret, Option<u64>), &'static str> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    let token = v
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or("no access_token")?;
    if let Some(tt) = v.get("token_type").and_then(|t| t.as_str())
        && !tt.eq_ignore_ascii_case("bearer")
    {
        return Err("token_type is not Bearer");
    }
    let expires_in = match v.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok((Secret::new(token), expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_response() {
        let (t, e) =
            parse_token(br#"{"access_token":"abc","token_type":"Bearer","expires_in":3600}"#)
                .unwrap();
        assert_eq!(t.expose(), "abc");
        assert_eq!(e, Some(3600));
        let (_, e) = parse_token(br#"{"access_token":"abc","expires_in":"60"}"#).unwrap();
        assert_eq!(e, Some(60));
    }

    #[test]
    fn refuses_unusable_responses_without_quoting_them() {
        assert_eq!(parse_token(b"not json"), Err("the body is not JSON"));
        assert_eq!(
            parse_token(br#"{"access_token":12345}"#),
            Err("no access_token")
        );
        assert_eq!(
            parse_token(br#"{"access_token":"x","token_type":"mac"}"#),
            Err("token_type is not Bearer")
        );
    }

    #[test]
    fn tokens_are_replaced_before_they_expire() {
        let now = Instant::now();
        let m = Duration::from_secs(60);
        assert_eq!(
            fresh_until(now, Some(3600), m),
            now + Duration::from_secs(3540)
        );
        assert_eq!(fresh_until(now, Some(60), m), now + Duration::from_secs(30));
        assert_eq!(fresh_until(now, Some(0), m), now);
        assert_eq!(fresh_until(now, None, m), now + Duration::from_secs(240));
    }
}
