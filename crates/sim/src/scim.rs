//! Identity Directory SCIM 2.0: `/scim/Users[/{id}]` and `/scim/Groups[/{id}]` (docs/sap-facts.md:
//! IAS SCIM) — list with filters, index and cursor paging, read, create, replace, PATCH and
//! delete, `attributes`/`excludedAttributes` — with SAP's user extension and the custom group
//! extension. The resource shapes follow real IAS responses recorded by SAP's Terraform provider;
//! what a client writes is kept as a document (`scim_doc.rs`) over the typed fields the
//! simulator's other endpoints use.

use crate::api::{ApiError, Ctx, SCIM_LIST, Style, authenticate, require, scim};
use crate::discovery::Resource;
use crate::filter::{Filter, FilterError, Val};
use crate::scenario::{GroupSpec, Permission, UserSpec};
use crate::scim_doc::{self, Doc, DocError};
use crate::shared::Shared;
use crate::state::{HostKind, TenantData, read, write};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) use crate::discovery::SAP_USER;
use crate::discovery::{GROUP as GROUP_SCHEMA, GROUP_EXT, USER as USER_SCHEMA};

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

/// Lays what a client wrote over a rendered resource: core attributes replace, extension
/// attributes replace inside the extension object, other extensions are added.
fn overlay(v: &mut Value, doc: &Doc, r: Resource) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    for (k, x) in doc {
        if k.eq_ignore_ascii_case(r.extension()) {
            if let (Some(Value::Object(ext)), Value::Object(src)) = (
                Some(
                    o.entry(r.extension().to_string())
                        .or_insert_with(|| json!({})),
                ),
                x,
            ) {
                for (ek, ev) in src {
                    ext.insert(ek.clone(), ev.clone());
                }
            }
        } else {
            if k.to_ascii_lowercase().starts_with("urn:")
                && let Some(Value::Array(schemas)) = o.get_mut("schemas")
                && !schemas.iter().any(|s| s == k)
            {
                schemas.push(Value::from(k.clone()));
            }
            o.insert(k.clone(), x.clone());
        }
    }
}

/// A user as IAS returns it (the recorded list response in docs/sap-facts.md, IAS SCIM), with
/// what a SCIM client wrote over it. `groups`: the number of groups the user is in, which IAS
/// shows as `meta."groups.cnt"` in list answers only (single reads and writes, as recorded, do
/// not have it).
pub(crate) fn user_json(u: &UserSpec, host: &str, groups: Option<usize>) -> Value {
    let mut core = json!({
        "id": u.id,
        "meta": {
            "created": ts(&u.created),
            "lastModified": ts(&u.last_modified),
            "location": format!("https://{host}/scim/Users/{}", u.id),
            "resourceType": "User",
        },
        "schemas": [USER_SCHEMA, SAP_USER],
        "userName": u.user_name,
        "displayName": u.display_name.clone().unwrap_or_else(|| "None".to_string()),
        "active": u.active,
    });
    if let Some(n) = groups {
        core["meta"]["groups.cnt"] = n.into();
    }
    if !u.user_type.is_empty() {
        core["userType"] = u.user_type.to_lowercase().into();
    }
    if let Some(x) = &u.external_id {
        core["externalId"] = x.clone().into();
    }
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
    overlay(&mut core, &u.attributes, Resource::User);
    scim_doc::strip_unreturned(&mut core, Resource::User);
    core
}

/// What a client could have written to produce `u`'s typed fields: the document a PATCH of a
/// user no SCIM client wrote starts from.
fn typed_user_doc(u: &UserSpec) -> Doc {
    let mut d = Doc::new();
    d.insert("userName".into(), u.user_name.clone().into());
    if let Some(x) = &u.display_name {
        d.insert("displayName".into(), x.clone().into());
    }
    if !u.user_type.is_empty() {
        d.insert("userType".into(), u.user_type.to_lowercase().into());
    }
    d.insert("active".into(), u.active.into());
    if let Some(x) = &u.external_id {
        d.insert("externalId".into(), x.clone().into());
    }
    if u.given_name.is_some() || u.family_name.is_some() {
        let mut n = serde_json::Map::new();
        if let Some(g) = &u.given_name {
            n.insert("givenName".into(), g.clone().into());
        }
        if let Some(f) = &u.family_name {
            n.insert("familyName".into(), f.clone().into());
        }
        d.insert("name".into(), Value::Object(n));
    }
    if !u.emails.is_empty() {
        d.insert(
            "emails".into(),
            u.emails
                .iter()
                .enumerate()
                .map(|(i, e)| json!({"value": e, "primary": i == 0}))
                .collect(),
        );
    }
    let mut ext = serde_json::Map::new();
    if let Some(s) = u.source_system {
        ext.insert("sourceSystem".into(), s.into());
    }
    if let Some(s) = &u.source_system_id {
        ext.insert("sourceSystemId".into(), s.clone().into());
    }
    if !ext.is_empty() {
        d.insert(SAP_USER.into(), Value::Object(ext));
    }
    d
}

/// The document a write starts from: what a client wrote, or the typed fields.
fn user_doc(u: &UserSpec) -> Doc {
    if u.attributes.is_empty() {
        typed_user_doc(u)
    } else {
        u.attributes.clone()
    }
}

/// A user from what a SCIM client wrote (`doc`, already stripped of read-only attributes).
/// `userName` is required; a user created without `active` is inactive, as IAS answers
/// (docs/simulator.md, SCIM writes).
fn user_from_doc(
    doc: Doc,
    id: String,
    created: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    user_id: Option<String>,
) -> Result<UserSpec, PayloadError> {
    let v = Value::Object(doc);
    let mut u = user_from_payload(&v, id, now)?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    u.user_type = text("userType").unwrap_or_default();
    u.active = v.get("active").and_then(Value::as_bool).unwrap_or(false);
    u.external_id = text("externalId");
    u.created = created;
    u.user_id = user_id;
    if let Value::Object(doc) = v {
        u.attributes = doc;
    }
    Ok(u)
}

pub(crate) fn user_attr(u: &UserSpec, attr: &str) -> Result<Vec<Val>, FilterError> {
    let s = |v: &str| vec![Val::Str(v.to_string())];
    let opt = |v: &Option<String>| v.iter().map(|x| Val::Str(x.clone())).collect::<Vec<_>>();
    Ok(match attr {
        "id" | "useruuid" => s(&u.id),
        "username" => s(&u.user_name),
        "externalid" => opt(&u.external_id),
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

/// The read-only `additionalId` IAS gives a group in the custom extension (24 hexadecimal
/// digits in the recorded answers), derived from the group's ID so that it stays the same.
fn additional_id(id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, id.as_bytes());
    digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A group as IAS returns it; `is_user` tells user members from group members.
fn group_json(g: &GroupSpec, host: &str, is_user: &dyn Fn(&str) -> bool) -> Value {
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|m| {
            let (path, kind) = if is_user(m) {
                ("Users", "User")
            } else {
                ("Groups", "Group")
            };
            json!({"value": m, "$ref": format!("https://{host}/scim/{path}/{m}"), "type": kind})
        })
        .collect();
    let mut v = json!({
        "id": g.id,
        "meta": {
            "location": format!("https://{host}/scim/Groups/{}", g.id),
            "resourceType": "Group",
        },
        "schemas": [GROUP_SCHEMA, GROUP_EXT],
        "displayName": g.display_name,
        "members": members,
        GROUP_EXT: {"name": g.display_name, "additionalId": additional_id(&g.id)},
    });
    if let Some(x) = &g.external_id {
        v["externalId"] = x.clone().into();
    }
    overlay(&mut v, &g.attributes, Resource::Group);
    // IAS fills in each member's `$ref` and `type` (recorded), whatever the client sent.
    if let Some(Value::Array(list)) = v.get_mut("members") {
        for m in list.iter_mut() {
            let Some(o) = m.as_object_mut() else { continue };
            let Some(id) = o.get("value").and_then(Value::as_str).map(str::to_string) else {
                continue;
            };
            let (path, kind) = if is_user(&id) {
                ("Users", "User")
            } else {
                ("Groups", "Group")
            };
            o.entry("$ref")
                .or_insert_with(|| format!("https://{host}/scim/{path}/{id}").into());
            o.entry("type").or_insert_with(|| kind.into());
        }
    }
    scim_doc::strip_unreturned(&mut v, Resource::Group);
    v
}

fn group_doc(g: &GroupSpec) -> Doc {
    if !g.attributes.is_empty() {
        return g.attributes.clone();
    }
    let mut d = Doc::new();
    d.insert("displayName".into(), g.display_name.clone().into());
    if !g.members.is_empty() {
        d.insert(
            "members".into(),
            g.members.iter().map(|m| json!({"value": m})).collect(),
        );
    }
    if let Some(x) = &g.external_id {
        d.insert("externalId".into(), x.clone().into());
    }
    d
}

/// A group from what a SCIM client wrote: `displayName` is required; every member must be a
/// user or a group of the tenant.
fn group_from_doc(doc: Doc, id: String, data: &TenantData) -> Result<GroupSpec, ApiError> {
    let invalid = |m: String| ApiError::bad_request(Style::Scim, m).scim_type("invalidValue");
    let display_name = doc
        .get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid("displayName is missing or empty".into()))?
        .to_string();
    let mut members = Vec::new();
    if let Some(list) = doc.get("members") {
        let Some(list) = list.as_array() else {
            return Err(invalid("members must be an array".into()));
        };
        for m in list {
            let value = m
                .get("value")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("members[].value is missing".into()))?;
            let known = data.spec.users.iter().any(|u| u.id == value)
                || (data.spec.groups.iter().any(|g| g.id == value) && value != id);
            if !known {
                return Err(invalid(format!(
                    "member {value} is not a user or group of this tenant"
                )));
            }
            if !members.iter().any(|x| x == value) {
                members.push(value.to_string());
            }
        }
    }
    let external_id = doc
        .get("externalId")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(GroupSpec {
        id,
        display_name,
        members,
        external_id,
        attributes: doc,
    })
}

fn group_attr(g: &GroupSpec, attr: &str) -> Result<Vec<Val>, FilterError> {
    Ok(match attr {
        "id" => vec![Val::Str(g.id.clone())],
        "externalid" => g.external_id.iter().map(|x| Val::Str(x.clone())).collect(),
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

/// `attributes` / `excludedAttributes` of a request, applied to one rendered resource.
fn projected(mut v: Value, q: &HashMap<String, String>, r: Resource) -> Value {
    scim_doc::project(
        &mut v,
        q.get("attributes").map(String::as_str),
        q.get("excludedAttributes").map(String::as_str),
        r,
    );
    v
}

fn doc_error(e: DocError) -> ApiError {
    let t = e.scim_type();
    ApiError::bad_request(Style::Scim, e.to_string()).scim_type(t)
}

/// The JSON body of a SCIM write (the media type must say JSON).
fn json_body(ctx: &Ctx, body: &Bytes) -> Result<Value, ApiError> {
    ctx.require_json(Style::Scim)?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(Style::Scim, format!("The request body is not JSON: {e}"))
            .scim_type("invalidSyntax")
    })
}

fn with_location(mut resp: Response, body: &Value) -> Response {
    if let Some(loc) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

fn no_content() -> Response {
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    crate::api::sap_headers(resp.headers_mut());
    resp
}

fn taken(data: &TenantData, user_name: &str, except: &str) -> Result<(), ApiError> {
    if data
        .spec
        .users
        .iter()
        .any(|u| u.id != except && u.user_name.eq_ignore_ascii_case(user_name))
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Style::Scim,
            format!("User with userName '{user_name}' already exists"),
        )
        .scim_type("uniqueness"));
    }
    Ok(())
}

fn user_not_found(id: &str) -> ApiError {
    ApiError::not_found(Style::Scim, format!("User {id} not found"))
}

fn group_not_found(id: &str) -> ApiError {
    ApiError::not_found(Style::Scim, format!("Group {id} not found"))
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
            projected(
                user_json(
                    u,
                    &ctx.host,
                    Some(counts.get(u.id.as_str()).copied().unwrap_or(0)),
                ),
                &q,
                Resource::User,
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
    Query(q): Query<HashMap<String, String>>,
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
        .ok_or_else(|| user_not_found(&id))?;
    Ok(scim(
        StatusCode::OK,
        &projected(user_json(u, &ctx.host, None), &q, Resource::User),
    ))
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
        external_id: None,
        attributes: Doc::new(),
    })
}

/// The legacy user ID IAS gives a new user (`P` and six digits, as recorded).
fn new_user_id() -> String {
    format!("P{:06}", fastrand::u32(1..1_000_000))
}

pub(crate) async fn create_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)?;
    let v = json_body(&ctx, &body)?;
    let doc = scim_doc::writable(&v, Resource::User).map_err(doc_error)?;
    let now = sh.clock.now();
    let user = user_from_doc(
        doc,
        crate::ids::random_uuid(),
        now,
        now,
        Some(new_user_id()),
    )
    .map_err(|e| ApiError::bad_request(Style::Scim, e.to_string()).scim_type("invalidValue"))?;
    let mut data = write(&ctx.tenant.data);
    taken(&data, &user.user_name, &user.id)?;
    let body = user_json(&user, &ctx.host, None);
    data.spec.users.push(user);
    let shown = projected(body.clone(), &q, Resource::User);
    Ok(with_location(scim(StatusCode::CREATED, &shown), &body))
}

/// `PUT /scim/Users/{id}`: the user becomes what the client sends (read-only attributes and
/// `id` are the server's).
pub(crate) async fn replace_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)?;
    let v = json_body(&ctx, &body)?;
    let doc = scim_doc::writable(&v, Resource::User).map_err(doc_error)?;
    let mut data = write(&ctx.tenant.data);
    let idx = data
        .spec
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| user_not_found(&id))?;
    let old = &data.spec.users[idx];
    let user = user_from_doc(
        doc,
        id.clone(),
        old.created,
        sh.clock.now(),
        old.user_id.clone(),
    )
    .map_err(|e| ApiError::bad_request(Style::Scim, e.to_string()).scim_type("invalidValue"))?;
    taken(&data, &user.user_name, &id)?;
    let body = user_json(&user, &ctx.host, None);
    data.spec.users[idx] = user;
    Ok(scim(StatusCode::OK, &projected(body, &q, Resource::User)))
}

/// `PATCH /scim/Users/{id}`: RFC 7644 §3.5.2 operations; 204 without a body, as IAS answers.
pub(crate) async fn patch_user(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(&sh, &ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)?;
    let v = json_body(&ctx, &body)?;
    let mut data = write(&ctx.tenant.data);
    let idx = data
        .spec
        .users
        .iter()
        .position(|u| u.id == id)
        .ok_or_else(|| user_not_found(&id))?;
    let old = &data.spec.users[idx];
    let mut doc = user_doc(old);
    scim_doc::patch(&mut doc, &v, Resource::User).map_err(doc_error)?;
    let user = user_from_doc(
        doc,
        id.clone(),
        old.created,
        sh.clock.now(),
        old.user_id.clone(),
    )
    .map_err(|e| ApiError::bad_request(Style::Scim, e.to_string()).scim_type("invalidValue"))?;
    taken(&data, &user.user_name, &id)?;
    data.spec.users[idx] = user;
    Ok(no_content())
}

/// Takes member `id` out of every group (typed members and what a client wrote).
fn forget_member(groups: &mut [GroupSpec], id: &str) {
    for g in groups {
        g.members.retain(|m| m != id);
        if let Some(Value::Array(list)) = g.attributes.get_mut("members") {
            list.retain(|m| m.get("value").and_then(Value::as_str) != Some(id));
        }
    }
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
        return Err(user_not_found(&id));
    }
    forget_member(&mut data.spec.groups, &id);
    Ok(no_content())
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
    let is_user = |m: &str| data.spec.users.iter().any(|u| u.id == m);
    let body = list_response(
        groups,
        &paging,
        |g| g.id.as_str(),
        |g| projected(group_json(g, &ctx.host, &is_user), &q, Resource::Group),
        Style::Scim,
    )?;
    Ok(scim(StatusCode::OK, &body))
}

pub(crate) async fn get_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
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
        .ok_or_else(|| group_not_found(&id))?;
    let is_user = |m: &str| data.spec.users.iter().any(|u| u.id == m);
    Ok(scim(
        StatusCode::OK,
        &projected(group_json(g, &ctx.host, &is_user), &q, Resource::Group),
    ))
}

/// Group writes need Manage Groups (docs/sap-facts.md, administrator permissions).
fn admit_group_write(sh: &Shared, ctx: &Ctx) -> Result<(), ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(sh, ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageGroups], Style::Scim)
}

pub(crate) async fn create_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit_group_write(&sh, &ctx)?;
    let v = json_body(&ctx, &body)?;
    let doc = scim_doc::writable(&v, Resource::Group).map_err(doc_error)?;
    let mut data = write(&ctx.tenant.data);
    let group = group_from_doc(doc, crate::ids::random_uuid(), &data)?;
    let users = data
        .spec
        .users
        .iter()
        .map(|u| u.id.clone())
        .collect::<Vec<_>>();
    let body = group_json(&group, &ctx.host, &|m| users.iter().any(|u| u == m));
    data.spec.groups.push(group);
    let shown = projected(body.clone(), &q, Resource::Group);
    Ok(with_location(scim(StatusCode::CREATED, &shown), &body))
}

pub(crate) async fn replace_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit_group_write(&sh, &ctx)?;
    let v = json_body(&ctx, &body)?;
    let doc = scim_doc::writable(&v, Resource::Group).map_err(doc_error)?;
    let mut data = write(&ctx.tenant.data);
    let idx = data
        .spec
        .groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| group_not_found(&id))?;
    let group = group_from_doc(doc, id, &data)?;
    let users = data
        .spec
        .users
        .iter()
        .map(|u| u.id.clone())
        .collect::<Vec<_>>();
    let body = group_json(&group, &ctx.host, &|m| users.iter().any(|u| u == m));
    data.spec.groups[idx] = group;
    Ok(scim(StatusCode::OK, &projected(body, &q, Resource::Group)))
}

/// `PATCH /scim/Groups/{id}`: 204 without a body, as IAS answers.
pub(crate) async fn patch_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit_group_write(&sh, &ctx)?;
    let v = json_body(&ctx, &body)?;
    let mut data = write(&ctx.tenant.data);
    let idx = data
        .spec
        .groups
        .iter()
        .position(|g| g.id == id)
        .ok_or_else(|| group_not_found(&id))?;
    let mut doc = group_doc(&data.spec.groups[idx]);
    scim_doc::patch(&mut doc, &v, Resource::Group).map_err(doc_error)?;
    let group = group_from_doc(doc, id, &data)?;
    data.spec.groups[idx] = group;
    Ok(no_content())
}

pub(crate) async fn delete_group(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admit_group_write(&sh, &ctx)?;
    let mut data = write(&ctx.tenant.data);
    let before = data.spec.groups.len();
    data.spec.groups.retain(|g| g.id != id);
    if data.spec.groups.len() == before {
        return Err(group_not_found(&id));
    }
    forget_member(&mut data.spec.groups, &id);
    Ok(no_content())
}

/// `POST /scim/.search` and `POST /scim/{Users,Groups}/.search` (RFC 7644 §3.4.3): not
/// simulated, answered 501 as the RFC allows.
pub(crate) async fn search(State(sh): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    authenticate(&sh, &ctx, Style::Scim)?;
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        Style::Scim,
        "POST .search is not supported; query with GET and filter",
    ))
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
