//! What a server says, made fit for a report: [`scrub`] is the one function every text received
//! from a server (a SCIM `detail`, an `X-message-code`, a job log's `errorMessage`, an error's
//! text) goes through before it enters a finding (docs/spec.md §12).
//!
//! It removes control and bidirectional-formatting characters, redacts anything that looks like
//! a credential — `Authorization` values (`Basic …`, `Bearer …`), JWT-looking `xxx.yyy.zzz`
//! tokens, long base64/hex runs, `access_token`/`client_secret`/`password`-like key-value pairs,
//! and the caller's own secrets verbatim — and cuts the result short.

/// The most characters of a server's text kept (an ellipsis marks a cut).
pub const MAX_CHARS: usize = 200;

/// What a redacted value is replaced with.
const REDACTED: &str = "[redacted]";

/// The most characters of the input looked at: enough for [`MAX_CHARS`] after redaction, and
/// a bound on the work whatever the server sent.
const MAX_INPUT_CHARS: usize = 4096;

/// Known secrets shorter than this are not replaced verbatim: they would mangle ordinary words
/// (the pattern rules still apply to them).
const MIN_KNOWN_LEN: usize = 4;

/// Keys whose values are credentials, compared case-insensitively as whole words.
const SECRET_KEYS: [&str; 20] = [
    "authorization",
    "proxy-authorization",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "x-api-key",
    "private_key",
    "cookie",
    "set-cookie",
    "session",
];

/// HTTP authentication schemes whose next word is a credential.
const SCHEMES: [&str; 5] = ["basic", "bearer", "digest", "negotiate", "ntlm"];

/// `text` from a server, safe to put in a report: no control characters, nothing that looks
/// like a credential, none of `known` (the caller's own secrets and client IDs, matched
/// ASCII-case-insensitively), at most [`MAX_CHARS`] characters (plus `…` when cut), whitespace
/// collapsed and trimmed.
pub fn scrub(text: &str, known: &[&str]) -> String {
    let mut s = visible(text);
    cut_partial_secret(&mut s, text.chars().count() > MAX_INPUT_CHARS, known);
    let s = replace_known(&s, known);
    let s = redact_key_values(&s);
    let s = redact_schemes(&s);
    let s = redact_tokens(&s);
    shorten(&collapse(&s))
}

/// The first [`MAX_INPUT_CHARS`] characters without control or formatting characters
/// (whitespace controls become spaces).
fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_INPUT_CHARS));
    for c in text.chars().take(MAX_INPUT_CHARS) {
        if matches!(
            c,
            '\t' | '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{2028}' | '\u{2029}'
        ) {
            out.push(' ');
        } else if !is_invisible(c) {
            out.push(c);
        }
    }
    out
}

/// Control characters (C0, DEL, C1) and the formatting characters that reorder or hide text
/// (bidirectional overrides and isolates, zero-width characters, the BOM).
pub(crate) fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{61c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// When the input was cut to [`MAX_INPUT_CHARS`], the word at the cut may be the start of a
/// secret: drop it, and any tail that begins one of `known`.
fn cut_partial_secret(s: &mut String, was_cut: bool, known: &[&str]) {
    if !was_cut {
        return;
    }
    while s.chars().next_back().is_some_and(is_token_char) {
        s.pop();
    }
    let lower = s.to_ascii_lowercase();
    let mut cut = s.len();
    for k in known.iter().filter(|k| k.len() >= MIN_KNOWN_LEN) {
        let k = k.to_ascii_lowercase();
        for n in (1..k.len()).rev() {
            if k.is_char_boundary(n) && lower.ends_with(&k[..n]) {
                cut = cut.min(s.len() - n);
                break;
            }
        }
    }
    s.truncate(cut);
}

/// Every occurrence of each known secret, ASCII-case-insensitively.
fn replace_known(s: &str, known: &[&str]) -> String {
    let mut s = s.to_string();
    // Longest first, so a secret that contains a shorter known value goes whole.
    let mut known: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| k.len() >= MIN_KNOWN_LEN && !REDACTED.contains(&k.to_ascii_lowercase()))
        .collect();
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    for k in known {
        let needle = k.to_ascii_lowercase();
        let mut out = String::with_capacity(s.len());
        let lower = s.to_ascii_lowercase();
        let mut at = 0;
        // ASCII lowercasing keeps byte offsets, so positions found in `lower` are valid in `s`.
        while let Some(i) = lower[at..].find(&needle) {
            out.push_str(&s[at..at + i]);
            out.push_str(REDACTED);
            at += i + needle.len();
        }
        out.push_str(&s[at..]);
        s = out;
    }
    s
}

/// Characters of tokens, base64 (standard and URL-safe), hex, JWTs and percent-encoding.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-' | '.' | '~' | '%')
}

/// Characters that continue a key name (so `access_token` is not the key `token`).
fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

/// `key: value`, `key=value`, `"key":"value"` for every key of [`SECRET_KEYS`].
fn redact_key_values(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let starts_word = i == 0 || !s[..i].chars().next_back().is_some_and(is_key_char);
        let key = starts_word
            .then(|| {
                SECRET_KEYS.iter().find(|k| {
                    lower[i..].starts_with(**k)
                        && !s[i + k.len()..].chars().next().is_some_and(is_key_char)
                })
            })
            .flatten();
        let Some(key) = key else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let mut j = i + key.len();
        // An optional closing quote of the key, spaces, then `:` or `=`.
        if j < s.len() && matches!(bytes[j], b'"' | b'\'') {
            j += 1;
        }
        while j < s.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j >= s.len() || !matches!(bytes[j], b':' | b'=') {
            i += key.len();
            continue;
        }
        j += 1;
        while j < s.len() && bytes[j] == b' ' {
            j += 1;
        }
        let value_start = j;
        let value_end = match bytes.get(j) {
            Some(q @ (b'"' | b'\'')) => {
                let q = *q as char;
                match s[j + 1..].find(q) {
                    Some(k) => j + 1 + k + 1,
                    None => s.len(),
                }
            }
            _ => {
                let end = |from: usize| {
                    s[from..]
                        .find(|c: char| {
                            c.is_whitespace()
                                || matches!(
                                    c,
                                    ',' | ';' | '&' | '"' | '\'' | '}' | ']' | ')' | '<' | '>'
                                )
                        })
                        .map_or(s.len(), |k| from + k)
                };
                let first = end(j);
                // `Authorization: Basic xyz`: the scheme and its credential go together.
                let word = &lower[j..first];
                if SCHEMES.contains(&word) && first < s.len() && bytes[first] == b' ' {
                    let mut k = first;
                    while k < s.len() && bytes[k] == b' ' {
                        k += 1;
                    }
                    end(k)
                } else {
                    first
                }
            }
        };
        if value_end > value_start {
            out.push_str(&s[copied..value_start]);
            out.push_str(REDACTED);
            copied = value_end;
        }
        i = value_end.max(i + key.len());
    }
    out.push_str(&s[copied..]);
    out
}

/// The credential after an authentication scheme (`Basic <b64>`, `Bearer <token>`), unless the
/// next word is plainly an ordinary lower-case word ("basic authentication").
fn redact_schemes(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut i = 0;
    while i < s.len() {
        let starts_word = i == 0 || !s[..i].chars().next_back().is_some_and(is_key_char);
        let scheme = starts_word
            .then(|| SCHEMES.iter().find(|k| lower[i..].starts_with(**k)))
            .flatten();
        let Some(scheme) = scheme else {
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let mut j = i + scheme.len();
        let spaces = s[j..].chars().take_while(|c| *c == ' ').count();
        if spaces == 0 {
            i = j;
            continue;
        }
        j += spaces;
        let len = s[j..]
            .find(|c: char| !is_token_char(c))
            .unwrap_or(s.len() - j);
        let word = &s[j..j + len];
        let ordinary = word.len() < 16 && word.chars().all(|c| c.is_ascii_lowercase());
        if len > 0 && !ordinary && !word.starts_with(REDACTED) {
            out.push_str(&s[copied..j]);
            out.push_str(REDACTED);
            copied = j + len;
        }
        i = j + len.max(1);
        i = (i..=s.len())
            .find(|k| s.is_char_boundary(*k))
            .unwrap_or(s.len());
    }
    out.push_str(&s[copied..]);
    out
}

/// Every run of token characters that looks like a credential.
fn redact_tokens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find(is_token_char) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let len = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let run = &rest[..len];
        // Sentence punctuation is not part of the word.
        let core = run.trim_end_matches('.');
        if looks_secret(core) {
            out.push_str(REDACTED);
            out.push_str(&run[core.len()..]);
        } else {
            out.push_str(run);
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

/// A JWT, a long base64/hex-looking run, or a path with such a segment; not a UUID, a host
/// name, a version or a plain word.
fn looks_secret(w: &str) -> bool {
    if w.len() < 16 || is_uuid(w) {
        return false;
    }
    if is_jwt(w) {
        return true;
    }
    if w.contains('.')
        && w.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
    {
        // A host name or a dotted number.
        return false;
    }
    if let Some(path) = w.strip_prefix('/') {
        return path.split('/').any(looks_secret);
    }
    let has_digit = w.chars().any(|c| c.is_ascii_digit());
    let has_lower = w.chars().any(|c| c.is_ascii_lowercase());
    let has_upper = w.chars().any(|c| c.is_ascii_uppercase());
    (w.len() >= 20 && has_digit && (has_lower || has_upper))
        || (w.len() >= 32 && has_lower && has_upper)
}

fn is_uuid(w: &str) -> bool {
    let parts: Vec<&str> = w.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `header.payload.signature` in base64url, the header a JSON object (`eyJ…`), or three long
/// mixed segments.
fn is_jwt(w: &str) -> bool {
    let parts: Vec<&str> = w.split('.').collect();
    let b64url = |p: &&str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=' | '+' | '/'))
    };
    (3..=5).contains(&parts.len())
        && parts[..3].iter().all(b64url)
        && (parts[0].starts_with("eyJ") || parts[..3].iter().all(|p| p.len() >= 10))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= MAX_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_CHARS).collect();
    out.truncate(out.trim_end().len());
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_text_is_kept() {
        for t in [
            "User af2f7963-6b52-4f6a-9c4e-0e2b2c1f0b9d not found",
            "The filter is not supported on attribute sourceSystemId",
            "PASSWORD_LOCKED",
            "INVITATION_API_PARAMETER_INCORRECT",
            "acme.accounts.ondemand.com: timed out after 2000 ms while connecting",
            "urn:ietf:params:scim:api:messages:2.0:Error",
            "Basic authentication is not enabled for this client",
            "connection refused by 127.0.0.1:443",
        ] {
            assert_eq!(scrub(t, &[]), t);
        }
    }

    #[test]
    fn authorization_values_are_redacted() {
        let s = scrub(
            "Authorization: Basic OGY3ZDpiYXNpYy1zZWNyZXQ= was refused",
            &[],
        );
        assert_eq!(s, "Authorization: [redacted] was refused");
        let s = scrub("got Bearer tok-9 and BASIC Y2lkOnB3", &[]);
        assert_eq!(s, "got Bearer [redacted] and BASIC [redacted]");
        let s = scrub(r#"{"authorization":"Bearer abc.def"}"#, &[]);
        assert_eq!(s, r#"{"authorization":[redacted]}"#);
    }

    #[test]
    fn tokens_are_redacted() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(scrub(&format!("token {jwt}."), &[]), "token [redacted].");
        assert_eq!(
            scrub("key 0123456789abcdef0123456789abcdef0123", &[]),
            "key [redacted]"
        );
        assert_eq!(
            scrub("base64 c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZw==", &[]),
            "base64 [redacted]"
        );
        assert_eq!(
            scrub("at /scim/Users/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA", &[]),
            "at [redacted]"
        );
    }

    #[test]
    fn key_values_are_redacted() {
        assert_eq!(
            scrub("access_token=abc123&client_secret=s3cr3t&x=1", &[]),
            "access_token=[redacted]&client_secret=[redacted]&x=1"
        );
        assert_eq!(
            scrub(r#"{"password": "hunter 2", "user": "bob"}"#, &[]),
            r#"{"password": [redacted], "user": "bob"}"#
        );
        assert_eq!(scrub("Secret='p w'; next", &[]), "Secret=[redacted]; next");
        // Not a key-value pair: left alone.
        assert_eq!(scrub("the password policy", &[]), "the password policy");
        assert_eq!(scrub("tokens: 3", &[]), "tokens: 3");
    }

    #[test]
    fn known_secrets_go_whatever_their_case() {
        let s = scrub(
            "client cid-1234 with Sec-Ret-42 or SEC-RET-42",
            &["Sec-Ret-42", "cid-1234"],
        );
        assert_eq!(s, "client [redacted] with [redacted] or [redacted]");
        // Too short to replace verbatim without mangling words.
        assert_eq!(scrub("abc is fine", &["abc"]), "abc is fine");
    }

    #[test]
    fn control_and_formatting_characters_are_removed() {
        assert_eq!(
            scrub("a\u{7}b\u{1b}[31mc\u{202e}d\r\ne\u{0}", &[]),
            "ab[31mcd e"
        );
        assert_eq!(scrub("  many   \t spaces  ", &[]), "many spaces");
    }

    #[test]
    fn long_text_is_cut() {
        let s = scrub(&"word ".repeat(100), &[]);
        assert!(s.ends_with('…'), "{s}");
        assert!(s.chars().count() <= MAX_CHARS + 1);
    }

    #[test]
    fn a_secret_at_the_input_bound_is_not_half_kept() {
        let secret = "Q7xT9pLm2Rv8";
        // Spaces collapse to nothing, so the cut-off start of the secret would be all that is
        // left.
        let text = format!("{}{secret} tail", " ".repeat(MAX_INPUT_CHARS - 6));
        let s = scrub(&text, &[secret]);
        assert!(!s.contains("Q7xT9p"), "{s}");
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_short(text in any::<String>(), known in proptest::collection::vec(any::<String>(), 0..3)) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            let s = scrub(&text, &known);
            prop_assert!(s.chars().count() <= MAX_CHARS + 1);
            prop_assert!(!s.chars().any(is_invisible), "{:?}", s);
        }

        #[test]
        fn a_known_secret_never_survives(
            before in "[ -~\\n\\t]{0,300}",
            secret in "[A-Za-z0-9_-]{6,40}",
            after in "[ -~\\n\\t]{0,300}",
        ) {
            let s = scrub(&format!("{before}{secret}{after}"), &[&secret]);
            prop_assert!(!s.to_ascii_lowercase().contains(&secret.to_ascii_lowercase()), "{:?}", s);
        }

        #[test]
        fn basic_and_bearer_values_never_survive(
            before in "[ -~]{0,100}",
            value in "[A-Za-z0-9+/]{8,60}={0,2}",
            scheme in "(Basic|Bearer|basic|BEARER)",
            after in "( [ -~]{0,100})?",
        ) {
            prop_assume!(!(value.len() < 16 && value.chars().all(|c| c.is_ascii_lowercase())));
            let s = scrub(&format!("{before} Authorization: {scheme} {value}{after}"), &[]);
            prop_assert!(!s.contains(&value), "{:?}", s);
        }
    }
}
