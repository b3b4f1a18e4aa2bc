//! Identity Directory SCIM 2.0: `/scim/Users`, `/scim/Users/{id}`, `/scim/Groups`,
//! `/scim/Groups/{id}` (docs/sap-facts.md: IAS SCIM), with filters, index and cursor paging and
//! SAP's user extension. The resource shapes follow real IAS responses recorded by SAP's Terraform
//! provider.

use crate::api::{ApiError, Ctx, SCIM_LIST, Style, authenticate, require, scim};
use crate::filter::{Filter, FilterError, Val};
use crate::scenario::{GroupSpec, Permission, UserSpec};
use crate::shared::Shared;
use crate::state::{HostKind, read, write};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const GROUP_EXT: &str = "urn:sap:cloud:scim:schemas:extension:custom:2.0:Group";

const READ: &[Permission] = &[Permission::ReadUsers, Permission::ManageUsers];
const READ_GROUPS: &[Permission] = &[
    Permission::ReadUsers,
    Permission::ManageUsers,
    Permission::ManageGroups,
];

/// How a list is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Paging {
    /// `startIndex` (1-based) and `count`.
    Index { start: usize, count: usize },
    /// IdDS cursor paging: `startId=initial`, then `startId=<nextId>`.
    Cursor { start_id: String, count: usize },
}

/// Reads `startIndex`, `count` and `startId`. `count` above `max` gives `max` and a negative
/// one gives 0 (as IAS does); a value that is not a number is a 400.
pub(crate) fn paging(
    q: &HashMap<String, String>,
    default: usize,
    max: usize,
    style: Style,
) -> Result<Paging, ApiError> {
    let num = |k: &str| -> Result<Option<i64>, ApiError> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(style, format!("{k} must be an integer, got '{v}'"))
                    .scim_type("invalidValue")
            }),
        }
    };
    let count = match num("count")? {
        None => default,
        Some(n) if n < 0 => 0,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX).min(max),
    };
    if let Some(id) = q.get("startId") {
        return Ok(Paging::Cursor {
            start_id: id.clone(),
            count,
        });
    }
    let start = match num("startIndex")? {
        None => 1,
        Some(n) if n < 1 => 1,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    Ok(Paging::Index { start, count })
}

/// A list response over `items` (already filtered), paged. `id_of` orders cursor pages.
pub(crate) fn list_response<T>(
    items: Vec<&T>,
    paging: &Paging,
    id_of: impl Fn(&T) -> &str,
    render: impl Fn(&T) -> Value,
    style: Style,
) -> Result<Value, ApiError> {
    let total = items.len();
    match paging {
        Paging::Index { start, count } => {
            let page: Vec<Value> = items
                .iter()
                .skip(start - 1)
                .take(*count)
                .map(|t| render(t))
                .collect();
            // Real IAS reports the page size asked for (100 by default), not the number of
            // resources returned (docs/sap-facts.md, IAS SCIM: 8 users, "itemsPerPage":100).
            Ok(json!({
                "schemas": [SCIM_LIST],
                "totalResults": total,
                "itemsPerPage": count,
                "startIndex": start,
                "Resources": page,
            }))
        }
        Paging::Cursor { start_id, count } => {
            let mut sorted = items;
            sorted.sort_by(|a, b| id_of(a).cmp(id_of(b)));
            let from = if start_id.eq_ignore_ascii_case("initial") {
                0
            } else {
                sorted
                    .iter()
                    .position(|t| id_of(t) == start_id)
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            style,
                            format!("startId '{start_id}' is not a valid cursor"),
                        )
                        .scim_type("invalidValue")
                    })?
            };
            let page: Vec<Value> = sorted
                .iter()
                .skip(from)
                .take(*count)
                .map(|t| render(t))
                .collect();
            let mut v = json!({
                "schemas": [SCIM_LIST],
                "totalResults": total,
                "itemsPerPage": count,
                "startId": start_id,
                "Resources": page,
            });
            if let Some(next) = sorted.get(from + count) {
                v["nextId"] = id_of(next).into();
            }
            Ok(v)
        }
    }
}

fn ts(d: &chrono::DateTime<chrono::Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A user as IAS returns it (the recorded list response in docs/sap-facts.md, IAS SCIM).
pub(crate) fn user_json(u: &UserSpec, host: &str, groups: usize) -> Value {
    let mut core = json!({
        "id": u.id,
        "meta": {
            "created": ts(&u.created),
            "lastModified": ts(&u.last_modified),
            "location": format!("https://{host}/scim/Users/{}", u.id),
            "resourceType": "User",
            "groups.cnt": groups,
        },
        "schemas": [USER_SCHEMA, SAP_USER],
        "userName": u.user_name,
        "displayName": u.display_name.clone().unwrap_or_else(|| "None".to_string()),
        "userType": u.user_type.to_lowercase(),
        "active": u.active,
    });
    if u.given_name.is_some() || u.family_name.is_some() {
        core["name"] = json!({
            "familyName": u.family_name.clone().unwrap_or_default(),
            "givenName": u.given_name.clone().unwrap_or_default(),
        });
    }
    let emails: Vec<Value> = u
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"value": e, "primary": i == 0}))
        .collect();
    let sap_emails: Vec<Value> = u
        .emails
        .iter()
        .enumerate()
        .map(|(i, e)| json!({"verified": true, "value": e, "verifiedTime": ts(&u.created), "primary": i == 0}))
        .collect();
    if !emails.is_empty() {
        core["emails"] = emails.into();
    }
    let mut ext = json!({
        "emails": sap_emails,
        "userUuid": u.id,
        "mailVerified": !u.emails.is_empty(),
        "status": if u.active { "active" } else { "inactive" },
    });
    if let Some(s) = u.source_system {
        ext["sourceSystem"] = s.into();
    }
    if let Some(s) = &u.source_system_id {
        ext["sourceSystemId"] = s.clone().into();
    }
    if let Some(s) = &u.user_id {
        ext["userId"] = s.clone().into();
    }
    core[SAP_USER] = ext;
    core
}

/// Attribute values of a user for filters (names lowercase, schema URN stripped).
pub(crate) fn user_attr(u: &UserSpec, attr: &str) -> Result<Vec<Val>, FilterError> {
    let s = |v: &str| vec![Val::Str(v.to_string())];
    let opt = |v: &Option<String>| v.iter().map(|x| Val::Str(x.clone())).collect::<Vec<_>>();
    Ok(match attr {
        "id" | "useruuid" => s(&u.id),
        "username" => s(&u.user_name),
        "displayname" => opt(&u.display_name),
        "name.givenname" => opt(&u.given_name),
        "name.familyname" => opt(&u.family_name),
        "emails" | "emails.value" => u.emails.iter().map(|e| Val::Str(e.clone())).collect(),
        "active" => vec![Val::Bool(u.active)],
        "usertype" => s(&u.user_type),
        "meta.created" => vec![Val::Date(u.created)],
        "meta.lastmodified" => vec![Val::Date(u.last_modified)],
        "sourcesystem" => u
            .source_system
            .iter()
            .map(|n| Val::Num(f64::from(*n)))
            .collect(),
        "sourcesystemid" => opt(&u.source_system_id),
        "userid" => opt(&u.user_id),
        "status" => s(if u.active { "active" } else { "inactive" }),
        other => {
            return Err(FilterError::UnsupportedAttribute(other.to_string()));
        }
    })
}

fn group_json(g: &GroupSpec, host: &str) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| json!({"value": m, "$ref": format!("https://{host}/scim/Users/{m}"), "type": "User"}))
        .collect();
    json!({
        "id": g.id,
        "meta": {
            "location": format!("https://{host}/scim/Groups/{}", g.id),
            "resourceType": "Group",
        },
        "schemas": [GROUP_SCHEMA, GROUP_EXT],
        "displayName": g.display_name,
        "members": members,
        GROUP_EXT: {"name": g.display_name},
    })
}

fn group_attr(g: &GroupSpec, attr: &str) -> Result<Vec<Val>, FilterError> {
    Ok(match attr {
        "id" => vec![Val::Str(g.id.clone())],
        "displayname" | "name" => vec![Val::Str(g.display_name.clone())],
        "members" | "members.value" => g.members.iter().map(|m| Val::Str(m.clone())).collect(),
        other => {
            return Err(FilterError::UnsupportedAttribute(other.to_string()));
        }
    })
}

pub(crate) fn parse_filter(
    q: &HashMap<String, String>,
    style: Style,
) -> Result<Option<Filter>, ApiError> {
    match q.get("filter") {
        None => Ok(None),
        Some(f) if f.trim().is_empty() => Ok(None),
        Some(f) => Filter::parse(f).map(Some).map_err(|e| {
            ApiError::bad_request(style, format!("Invalid filter '{f}': {e}"))
                .scim_type("invalidFilter")
        }),
    }
}

/// Users matching an optional filter, in directory order.
pub(crate) fn matching_users<'a>(
    users: &'a [UserSpec],
    filter: Option<&Filter>,
    style: Style,
) -> Result<Vec<&'a UserSpec>, ApiError> {
    let mut out = Vec::new();
    for u in users {
        let keep = match filter {
            None => true,
            Some(f) => f.matches(&|a| user_attr(u, a)).map_err(|e| {
                ApiError::bad_request(style, e.to_string()).scim_type("invalidFilter")
            })?,
        };
        if keep {
            out.push(u);
        }
    }
    Ok(out)
}

fn group_counts(groups: &[GroupSpec]) -> HashMap<&str, usize> {
    let mut m: HashMap<&str, usize> = HashMap::new();
    for g in groups {
        for u in &g.members {
            *m.entry(u.as_str()).or_default() += 1;
        }
    }
    m
}

pub(crate) async fn list_users(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, READ, Style::Scim)?;
    let filter = parse_filter(&q, Style::Scim)?;
    let paging = paging(&q, 100, 100, Style::Scim)?;
    let data = read(&ctx.tenant.data);
    let users = matching_users(&data.spec.users, filter.as_ref(), Style::Scim)?;
    let counts = group_counts(&data.spec.groups);
    let body = list_response(
        users,
        &paging,
        |u| u.id.as_str(),
        |u| {
            user_json(
                u,
                &ctx.host,
                counts.get(u.id.as_str()).copied().unwrap_or(0),
            )
        },
        Style::Scim,
    )?;
    Ok(scim(StatusCode::OK, &body))
}

pub(crate) async fn get_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, READ, Style::Scim)?;
    let data = read(&ctx.tenant.data);
    let u = data
        .spec
        .users
        .iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::not_found(Style::Scim, format!("User {id} not found")))?;
    let groups = data
        .spec
        .groups
        .iter()
        .filter(|g| g.members.contains(&u.id))
        .count();
    Ok(scim(StatusCode::OK, &user_json(u, &ctx.host, groups)))
}

/// Why a SCIM or real-time payload is not a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PayloadError {
    #[error("the payload is not a JSON object")]
    NotAnObject,
    #[error("userName is missing or empty")]
    NoUserName,
    #[error("emails must be an array")]
    EmailsNotAnArray,
    #[error("emails[].value must be an e-mail address")]
    NotAnEmail,
}

/// A user from a SCIM (or real-time) payload: `userName` is required, the rest optional.
pub(crate) fn user_from_payload(
    v: &Value,
    id: String,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<UserSpec, PayloadError> {
    let obj = v.as_object().ok_or(PayloadError::NotAnObject)?;
    let user_name = obj
        .get("userName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(PayloadError::NoUserName)?;
    let emails = match obj.get("emails") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|e| {
                e.get("value")
                    .and_then(Value::as_str)
                    .filter(|s| s.contains('@'))
                    .map(str::to_string)
                    .ok_or(PayloadError::NotAnEmail)
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(PayloadError::EmailsNotAnArray),
    };
    let name = obj.get("name");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let ext = obj.get(SAP_USER);
    Ok(UserSpec {
        id,
        user_name: user_name.to_string(),
        emails,
        given_name: text(name.and_then(|n| n.get("givenName"))),
        family_name: text(name.and_then(|n| n.get("familyName"))),
        display_name: text(obj.get("displayName")),
        user_type: text(obj.get("userType")).unwrap_or_else(|| "public".to_string()),
        active: obj.get("active").and_then(Value::as_bool).unwrap_or(true),
        source_system: ext
            .and_then(|e| e.get("sourceSystem"))
            .and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|x| x.parse().ok()))
            })
            .and_then(|n| u32::try_from(n).ok()),
        source_system_id: text(ext.and_then(|e| e.get("sourceSystemId"))),
        user_id: None,
        created: now,
        last_modified: now,
    })
}

pub(crate) async fn create_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    body: Bytes,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)?;
    ctx.require_json(Style::Scim)?;
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(Style::Scim, format!("The request body is not JSON: {e}"))
            .scim_type("invalidSyntax")
    })?;
    let user = user_from_payload(&v, crate::ids::random_uuid(), sh.clock.now())
        .map_err(|e| ApiError::bad_request(Style::Scim, e.to_string()).scim_type("invalidValue"))?;
    let mut data = write(&ctx.tenant.data);
    if data
        .spec
        .users
        .iter()
        .any(|u| u.user_name.eq_ignore_ascii_case(&user.user_name))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Style::Scim,
            format!("User with userName '{}' already exists", user.user_name),
        )
        .scim_type("uniqueness"));
    }
    let body = user_json(&user, &ctx.host, 0);
    data.spec.users.push(user);
    let mut resp = scim(StatusCode::CREATED, &body);
    if let Some(loc) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

pub(crate) async fn delete_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)?;
    let mut data = write(&ctx.tenant.data);
    let before = data.spec.users.len();
    data.spec.users.retain(|u| u.id != id);
    if data.spec.users.len() == before {
        return Err(ApiError::not_found(
            Style::Scim,
            format!("User {id} not found"),
        ));
    }
    for g in &mut data.spec.groups {
        g.members.retain(|m| m != &id);
    }
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    crate::api::sap_headers(resp.headers_mut());
    Ok(resp)
}

pub(crate) async fn list_groups(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, READ_GROUPS, Style::Scim)?;
    let filter = parse_filter(&q, Style::Scim)?;
    let paging = paging(&q, 100, 100, Style::Scim)?;
    let data = read(&ctx.tenant.data);
    let mut groups = Vec::new();
    for g in &data.spec.groups {
        let keep = match &filter {
            None => true,
            Some(f) => f.matches(&|a| group_attr(g, a)).map_err(|e| {
                ApiError::bad_request(Style::Scim, e.to_string()).scim_type("invalidFilter")
            })?,
        };
        if keep {
            groups.push(g);
        }
    }
    let body = list_response(
        groups,
        &paging,
        |g| g.id.as_str(),
        |g| group_json(g, &ctx.host),
        Style::Scim,
    )?;
    Ok(scim(StatusCode::OK, &body))
}

pub(crate) async fn get_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, READ_GROUPS, Style::Scim)?;
    let data = read(&ctx.tenant.data);
    let g = data
        .spec
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| ApiError::not_found(Style::Scim, format!("Group {id} not found")))?;
    Ok(scim(StatusCode::OK, &group_json(g, &ctx.host)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn paging_caps_and_defaults() {
        assert_eq!(
            paging(&q(&[]), 100, 100, Style::Scim).unwrap(),
            Paging::Index {
                start: 1,
                count: 100
            }
        );
        assert_eq!(
            paging(
                &q(&[("count", "500"), ("startIndex", "0")]),
                100,
                100,
                Style::Scim
            )
            .unwrap(),
            Paging::Index {
                start: 1,
                count: 100
            }
        );
        assert_eq!(
            paging(
                &q(&[("count", "-3"), ("startIndex", "7")]),
                100,
                100,
                Style::Scim
            )
            .unwrap(),
            Paging::Index { start: 7, count: 0 }
        );
        assert!(paging(&q(&[("count", "ten")]), 100, 100, Style::Scim).is_err());
        assert_eq!(
            paging(
                &q(&[("startId", "initial"), ("count", "2")]),
                100,
                100,
                Style::Scim
            )
            .unwrap(),
            Paging::Cursor {
                start_id: "initial".into(),
                count: 2
            }
        );
    }

    #[test]
    fn cursor_pages_chain_by_next_id() {
        let items: Vec<String> = ["c", "a", "e", "b", "d"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let refs: Vec<&String> = items.iter().collect();
        let page = |start: &str| {
            list_response(
                refs.clone(),
                &Paging::Cursor {
                    start_id: start.into(),
                    count: 2,
                },
                |s| s.as_str(),
                |s| Value::from(s.clone()),
                Style::Scim,
            )
            .unwrap()
        };
        let p1 = page("initial");
        assert_eq!(p1["Resources"], json!(["a", "b"]));
        assert_eq!(p1["nextId"], "c");
        let p3 = page("e");
        assert_eq!(p3["Resources"], json!(["e"]));
        assert!(p3.get("nextId").is_none());
        assert!(
            list_response(
                refs.clone(),
                &Paging::Cursor {
                    start_id: "zz".into(),
                    count: 2
                },
                |s| s.as_str(),
                |s| Value::from(s.clone()),
                Style::Scim
            )
            .is_err()
        );
    }

    #[test]
    fn payloads_need_a_user_name() {
        let now = chrono::Utc::now();
        assert!(user_from_payload(&json!({}), "x".into(), now).is_err());
        assert!(user_from_payload(&json!([]), "x".into(), now).is_err());
        assert!(user_from_payload(&json!({"userName": " "}), "x".into(), now).is_err());
        assert!(
            user_from_payload(
                &json!({"userName": "a", "emails": [{"value": "nope"}]}),
                "x".into(),
                now
            )
            .is_err()
        );
        let u = user_from_payload(
            &json!({"userName": "jdoe", "emails": [{"value": "j@x.example"}], SAP_USER: {"sourceSystem": "101"}}),
            "x".into(),
            now,
        )
        .unwrap();
        assert_eq!((u.user_name.as_str(), u.source_system), ("jdoe", Some(101)));
    }
}
