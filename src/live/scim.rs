//! SCIM list and error bodies read as RFC 7643/7644 allow, not only as SAP writes them
//! (docs/spec.md §12; docs/sap-facts.md §1.2, §1.6): attribute names case-insensitively,
//! `dateTime` with or without a zone (without one it is UTC, RFC 7643 §2.3.5), fractional
//! seconds, `Resources` absent when empty, `totalResults` as a number or a numeric string.
//! Pure functions of the bytes, so they can be fuzzed (`fuzz/fuzz_targets/scim_list.rs`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// A SCIM `ListResponse`, reduced to what the live checks use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimList {
    /// `totalResults` (REQUIRED by RFC 7644 §3.4.2, but not always sent).
    pub total_results: Option<u64>,
    /// `startIndex`.
    pub start_index: Option<u64>,
    /// `itemsPerPage`.
    pub items_per_page: Option<u64>,
    /// `Resources`, empty when absent or `null`. An entry that is not an object is kept as a
    /// resource with nothing known about it.
    pub resources: Vec<ScimResource>,
}

/// One resource of a list: its identity and the dates of `meta`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimResource {
    /// `id`.
    pub id: Option<String>,
    /// `userName` (users only).
    pub user_name: Option<String>,
    /// `meta.created`, when present and a readable `dateTime`.
    pub created: Option<DateTime<Utc>>,
    /// `meta.lastModified`, when present and a readable `dateTime`.
    pub last_modified: Option<DateTime<Utc>>,
}

impl ScimResource {
    /// The later of `created` and `lastModified`.
    pub fn latest_date(&self) -> Option<DateTime<Utc>> {
        self.created.max(self.last_modified)
    }
}

/// Why a body is not a SCIM list. The text never quotes the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// Not JSON at all (the parser's message: what and where, never the content).
    #[error("the response is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("the response is not a JSON object")]
    NotAnObject,
    /// An attribute of the wrong type.
    #[error("the attribute {name} is {found}, not {expected}")]
    Attribute {
        /// The attribute, as SCIM spells it.
        name: &'static str,
        /// What it is.
        found: &'static str,
        /// What it should be.
        expected: &'static str,
    },
}

/// A SCIM error body (RFC 7644 §3.12: `status`, `scimType`, `detail`), or the non-SCIM shape of
/// the other IAS APIs (`{"error":{"code","message"}}`, docs/sap-facts.md §1.5) or of OAuth
/// (`error`, `error_description`). Values are as received: sanitise before use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimErrorBody {
    /// `status` (a string in SCIM, a number elsewhere), or `error.code`.
    pub status: Option<String>,
    /// `scimType`, or OAuth's `error`.
    pub scim_type: Option<String>,
    /// `detail`, or `error.message`, OAuth's `error_description`, a top-level `message`.
    pub detail: Option<String>,
}

impl ScimErrorBody {
    /// `scimType: detail`, either alone, or empty.
    pub fn summary(&self) -> String {
        match (&self.scim_type, &self.detail) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (Some(t), None) => t.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Parses a SCIM `ListResponse`.
pub fn parse_list(bytes: &[u8]) -> Result<ScimList, ScimError> {
    let root = object(bytes)?;
    let number = |name: &'static str| -> Result<Option<u64>, ScimError> {
        match attribute(&root, name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => count(v).map(Some).ok_or(ScimError::Attribute {
                name,
                found: kind(v),
                expected: "a non-negative integer",
            }),
        }
    };
    let resources = match attribute(&root, "Resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(resource).collect(),
        Some(v) => {
            return Err(ScimError::Attribute {
                name: "Resources",
                found: kind(v),
                expected: "an array",
            });
        }
    };
    Ok(ScimList {
        total_results: number("totalResults")?,
        start_index: number("startIndex")?,
        items_per_page: number("itemsPerPage")?,
        resources,
    })
}

/// Reads an error body; `None` when it is not JSON or holds none of the error fields.
pub fn parse_error(bytes: &[u8]) -> Option<ScimErrorBody> {
    let root = object(bytes).ok()?;
    let mut e = ScimErrorBody {
        status: attribute(&root, "status").and_then(text),
        scim_type: attribute(&root, "scimType").and_then(text),
        detail: attribute(&root, "detail").and_then(text),
    };
    match attribute(&root, "error") {
        // `{"error":{"code":404,"message":"…","details":[{"message":"…"}]}}`
        Some(Value::Object(inner)) => {
            e.status = e.status.or_else(|| attribute(inner, "code").and_then(text));
            e.detail = e
                .detail
                .or_else(|| attribute(inner, "message").and_then(text))
                .or_else(|| match attribute(inner, "details") {
                    Some(Value::Array(d)) => d.iter().find_map(|d| match d {
                        Value::Object(d) => attribute(d, "message").and_then(text),
                        _ => None,
                    }),
                    _ => None,
                });
        }
        // OAuth: `{"error":"invalid_client","error_description":"…"}`
        Some(v @ Value::String(_)) => {
            e.scim_type = e.scim_type.or_else(|| text(v));
            e.detail = e
                .detail
                .or_else(|| attribute(&root, "error_description").and_then(text));
        }
        _ => {}
    }
    e.detail = e
        .detail
        .or_else(|| attribute(&root, "message").and_then(text));
    (e != ScimErrorBody::default()).then_some(e)
}

/// Reads an RFC 7643 `dateTime` (xsd:dateTime): with a zone (`Z`, `+hh:mm`, `+hhmm`) or
/// without one (UTC), with or without fractional seconds; `T`, `t` or a space between date
/// and time.
pub fn parse_date_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    let s: String = s
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 && matches!(c, 't' | ' ') {
                'T'
            } else {
                c
            }
        })
        .collect();
    for f in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(d) = DateTime::parse_from_str(&s, f) {
            return Some(d.with_timezone(&Utc));
        }
    }
    let naive = s.strip_suffix(['Z', 'z']).unwrap_or(&s);
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, ScimError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ScimError::NotAnObject),
        // serde_json's syntax errors say what was expected and where, never the input.
        Err(e) => Err(ScimError::NotJson(e.to_string())),
    }
}

/// An attribute by name, case-insensitively (RFC 7643 §2.1); an exact match wins.
pub(crate) fn attribute<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn resource(v: &Value) -> ScimResource {
    let Value::Object(m) = v else {
        return ScimResource::default();
    };
    let meta = match attribute(m, "meta") {
        Some(Value::Object(meta)) => Some(meta),
        _ => None,
    };
    let date = |name: &str| {
        meta.and_then(|meta| attribute(meta, name))
            .and_then(Value::as_str)
            .and_then(parse_date_time)
    };
    ScimResource {
        id: attribute(m, "id").and_then(text),
        user_name: attribute(m, "userName").and_then(text),
        created: date("created"),
        last_modified: date("lastModified"),
    }
}

/// A count: a non-negative integer, as a number (`8`, `8.0`) or a numeric string (`"8"`).
pub(crate) fn count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= 9_007_199_254_740_992.0)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string, number or boolean as text; `None` for anything else.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn sap_s_own_shape() {
        let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults":8,"itemsPerPage":100,"startIndex":1,
            "Resources":[{"id":"417809ba-e72d-473a-b243-7862d303c434",
              "meta":{"created":"2024-05-21T07:21:59Z","lastModified":"2025-05-08T09:01:28Z",
                      "location":"https://h/scim/Users/4","resourceType":"User","groups.cnt":0},
              "userName":""}]}"#;
        let l = parse_list(body).unwrap();
        assert_eq!(
            (l.total_results, l.items_per_page, l.start_index),
            (Some(8), Some(100), Some(1))
        );
        assert_eq!(l.resources.len(), 1);
        let r = &l.resources[0];
        assert_eq!(r.created, Some(at("2024-05-21T07:21:59Z")));
        assert_eq!(r.last_modified, Some(at("2025-05-08T09:01:28Z")));
        assert_eq!(r.latest_date(), r.last_modified);
        assert_eq!(r.user_name.as_deref(), Some(""));
    }

    #[test]
    fn attribute_names_are_case_insensitive() {
        let l = parse_list(
            br#"{"totalresults":"2","ITEMSPERPAGE":2,"startindex":1,"resources":[
                {"ID":"a","UserName":"u","Meta":{"LastModified":"2025-05-08T09:01:28Z"}},
                {"id":"b","META":{"CREATED":"2024-01-01T00:00:00Z"}}]}"#,
        )
        .unwrap();
        assert_eq!(l.total_results, Some(2));
        assert_eq!(l.resources[0].id.as_deref(), Some("a"));
        assert_eq!(l.resources[0].user_name.as_deref(), Some("u"));
        assert_eq!(
            l.resources[0].last_modified,
            Some(at("2025-05-08T09:01:28Z"))
        );
        assert_eq!(l.resources[1].created, Some(at("2024-01-01T00:00:00Z")));
    }

    #[test]
    fn resources_may_be_absent_or_null() {
        for body in [
            &br#"{"totalResults":0}"#[..],
            br#"{"totalResults":0,"Resources":null}"#,
            br#"{"totalResults":0,"Resources":[]}"#,
        ] {
            let l = parse_list(body).unwrap();
            assert!(l.resources.is_empty());
            assert_eq!(l.total_results, Some(0));
        }
        assert_eq!(parse_list(b"{}").unwrap(), ScimList::default());
    }

    #[test]
    fn wrong_shapes_are_errors_that_quote_nothing() {
        assert!(matches!(parse_list(b"[1]"), Err(ScimError::NotAnObject)));
        let e = parse_list(br#"{"Resources":"secret-ish"}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the attribute Resources is a string, not an array"
        );
        let e = parse_list(br#"{"totalResults":-1}"#).unwrap_err();
        assert!(e.to_string().contains("totalResults"), "{e}");
        let e = parse_list(br#"{"totalResults":"Bearer abc"}"#).unwrap_err();
        assert!(!e.to_string().contains("Bearer"), "{e}");
        let e = parse_list(br#"{"x": "abc"#).unwrap_err();
        assert!(matches!(e, ScimError::NotJson(_)), "{e}");
        assert!(!e.to_string().contains("abc"), "{e}");
    }

    #[test]
    fn odd_entries_are_users_without_dates() {
        let l = parse_list(
            br#"{"Resources":[1,"x",null,{"meta":"no"},{"meta":{"created":"yesterday"}}]}"#,
        )
        .unwrap();
        assert_eq!(l.resources.len(), 5);
        assert!(l.resources.iter().all(|r| r.latest_date().is_none()));
    }

    #[test]
    fn date_times_with_or_without_a_zone() {
        let utc = at("2025-05-08T09:01:28Z");
        for s in [
            "2025-05-08T09:01:28Z",
            "2025-05-08T09:01:28",
            "2025-05-08t09:01:28z",
            "2025-05-08 09:01:28",
            "2025-05-08T11:01:28+02:00",
            "2025-05-08T11:01:28+0200",
            "2025-05-08T04:01:28-05:00",
            " 2025-05-08T09:01:28 ",
        ] {
            assert_eq!(parse_date_time(s), Some(utc), "{s}");
        }
        let frac = at("2025-05-08T09:01:28.123Z");
        for s in [
            "2025-05-08T09:01:28.123",
            "2025-05-08T09:01:28.123Z",
            "2025-05-08T09:01:28.123000000",
            "2025-05-08T10:01:28.123+01:00",
        ] {
            assert_eq!(parse_date_time(s), Some(frac), "{s}");
        }
        for s in [
            "",
            "2025-05-08",
            "yesterday",
            "2025-13-08T09:01:28",
            "2025-05-08T09:01",
        ] {
            assert_eq!(parse_date_time(s), None, "{s}");
        }
    }

    #[test]
    fn scim_errors() {
        let e = parse_error(
            br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"bad filter"}"#,
        )
        .unwrap();
        assert_eq!(e.status.as_deref(), Some("400"));
        assert_eq!(e.summary(), "invalidFilter: bad filter");
        let e = parse_error(br#"{"STATUS":404,"Detail":"User x not found"}"#).unwrap();
        assert_eq!(e.status.as_deref(), Some("404"));
        assert_eq!(e.summary(), "User x not found");
    }

    #[test]
    fn other_error_shapes() {
        let e = parse_error(
            br#"{"error":{"code":404,"message":"Unable to find identity providers.","details":[{"target":"x","message":"y"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.status.as_deref(), Some("404"));
        assert_eq!(e.summary(), "Unable to find identity providers.");
        let e =
            parse_error(br#"{"error":{"code":"500","details":[{"message":"inner"}]}}"#).unwrap();
        assert_eq!(e.summary(), "inner");
        let e = parse_error(br#"{"error":"invalid_client","error_description":"Bad credentials"}"#)
            .unwrap();
        assert_eq!(e.summary(), "invalid_client: Bad credentials");
        assert_eq!(parse_error(br#"{"message":"m"}"#).unwrap().summary(), "m");
        assert_eq!(parse_error(b"<html>401</html>"), None);
        assert_eq!(parse_error(br#"{"totalResults":1}"#), None);
        assert_eq!(parse_error(b"[]"), None);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_list(&bytes);
            let _ = parse_error(&bytes).map(|e| e.summary());
        }

        #[test]
        fn random_json_never_panics(
            total in prop_oneof![Just("1".to_string()), Just("\"7\"".to_string()), Just("-3".to_string()), Just("1e400".to_string()), Just("null".to_string()), Just("2.5".to_string())],
            key in "(Resources|resources|RESOURCES|res)",
            date in "[0-9T:.+Zz -]{0,40}",
        ) {
            let body = format!(
                r#"{{"totalResults":{total},"{key}":[{{"meta":{{"created":"{date}","lastModified":{total}}}}}]}}"#
            );
            let _ = parse_list(body.as_bytes());
            let _ = parse_date_time(&date);
        }
    }
}
