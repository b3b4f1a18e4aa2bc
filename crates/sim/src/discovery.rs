//! SCIM discovery (RFC 7644 §4): `/scim/Schemas[/{id}]`, `/scim/ResourceTypes[/{id}]` and
//! `/scim/ServiceProviderConfig` on IAS hosts. The schemas are the ones IAS publishes for the
//! resources the simulator serves (core User and Group, SAP's user extension, the custom group
//! extension) plus the three RFC 7643 meta-schemas, written in `schemas.json` with every left-out
//! characteristic taking its RFC 7643 §7 default. SAP's Terraform provider reads `scim/Schemas/`
//! (docs/sap-facts.md, public code). The resource types and the service provider configuration
//! are the simulator's own description of itself (docs/simulator.md, Discovery). Custom schemas
//! can be created and deleted as with IAS (`POST /scim/Schemas`, `DELETE /scim/Schemas/{id}`,
//! recorded by SAP's Terraform provider); they are kept with the tenant.

use crate::api::{ApiError, Ctx, SCIM_LIST, Style, authenticate, require, scim};
use crate::scenario::Permission;
use crate::shared::Shared;
use crate::state::{HostKind, read, write};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::sync::{Arc, OnceLock};

pub(crate) const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub(crate) const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub(crate) const SAP_USER: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";
pub(crate) const GROUP_EXT: &str = "urn:sap:cloud:scim:schemas:extension:custom:2.0:Group";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The most resources one list answer holds (the service provider configuration's
/// `filter.maxResults`, and the `count` cap of `/scim/Users`).
pub(crate) const MAX_RESULTS: usize = 100;

/// The `itemsPerPage` of IAS's `/scim/Schemas` answer, as recorded (docs/simulator.md).
const SCHEMAS_PAGE: usize = 1000;

/// A SCIM resource type the simulator serves: its core schema and its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    User,
    Group,
}

impl Resource {
    pub(crate) fn core(self) -> &'static str {
        match self {
            Resource::User => USER,
            Resource::Group => GROUP,
        }
    }

    pub(crate) fn extension(self) -> &'static str {
        match self {
            Resource::User => SAP_USER,
            Resource::Group => GROUP_EXT,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Resource::User => "User",
            Resource::Group => "Group",
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Resource::User => "/Users",
            Resource::Group => "/Groups",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Resource::User => "User Account",
            Resource::Group => "Group",
        }
    }
}

/// Fills in the RFC 7643 §7 defaults of an attribute definition, and of its sub-attributes.
pub(crate) fn expand(attr: &Value) -> Value {
    let mut out = Map::new();
    let src = attr.as_object().cloned().unwrap_or_default();
    let get = |k: &str, d: Value| src.get(k).cloned().unwrap_or(d);
    out.insert("name".into(), get("name", Value::from("")));
    out.insert("type".into(), get("type", Value::from("string")));
    out.insert("multiValued".into(), get("multiValued", Value::from(false)));
    if let Some(d) = src.get("description") {
        out.insert("description".into(), d.clone());
    }
    out.insert("required".into(), get("required", Value::from(false)));
    if let Some(c) = src.get("canonicalValues") {
        out.insert("canonicalValues".into(), c.clone());
    }
    out.insert("caseExact".into(), get("caseExact", Value::from(false)));
    out.insert(
        "mutability".into(),
        get("mutability", Value::from("readWrite")),
    );
    out.insert("returned".into(), get("returned", Value::from("default")));
    out.insert("uniqueness".into(), get("uniqueness", Value::from("none")));
    if let Some(r) = src.get("referenceTypes") {
        out.insert("referenceTypes".into(), r.clone());
    }
    if let Some(Value::Array(subs)) = src.get("subAttributes") {
        out.insert(
            "subAttributes".into(),
            Value::Array(subs.iter().map(expand).collect()),
        );
    }
    Value::Object(out)
}

/// Every published schema, expanded (no `meta`: that depends on the host).
pub(crate) fn schemas() -> &'static [Value] {
    static SCHEMAS: OnceLock<Vec<Value>> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let raw: Value = serde_json::from_str(include_str!("schemas.json")).unwrap_or(Value::Null);
        raw["schemas"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|s| {
                        let mut s = s.clone();
                        if let Some(attrs) = s.get("attributes").and_then(Value::as_array) {
                            s["attributes"] = Value::Array(attrs.iter().map(expand).collect());
                        }
                        s
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// The schema with this ID (URNs compare case-insensitively, RFC 7643 §10.3.1).
pub(crate) fn schema(id: &str) -> Option<&'static Value> {
    schemas()
        .iter()
        .find(|s| s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
}

/// The definition of attribute `name` (case-insensitive) of schema `schema_id`.
pub(crate) fn attribute(schema_id: &str, name: &str) -> Option<&'static Value> {
    schema(schema_id)?["attributes"]
        .as_array()?
        .iter()
        .find(|a| {
            a["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
}

/// The sub-attribute `name` (case-insensitive) of an attribute definition.
pub(crate) fn sub_attribute<'a>(attr: &'a Value, name: &str) -> Option<&'a Value> {
    attr["subAttributes"].as_array()?.iter().find(|a| {
        a["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

fn location(host: &str, path: &str, id: &str) -> String {
    format!("https://{host}/scim/{path}/{}", id.replace(':', "%3A"))
}

fn schema_resource(s: &Value, host: &str) -> Value {
    let mut v = s.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("_comment");
        o.insert("schemas".into(), json!([SCHEMA]));
        let id = o
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        o.insert(
            "meta".into(),
            json!({"resourceType": "Schema", "location": location(host, "Schemas", &id)}),
        );
    }
    v
}

fn resource_type(r: Resource, host: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": r.name(),
        "name": r.name(),
        "description": r.description(),
        "endpoint": r.endpoint(),
        "schema": r.core(),
        "schemaExtensions": [{"schema": r.extension(), "required": false}],
        "meta": {"resourceType": "ResourceType", "location": location(host, "ResourceTypes", r.name())},
    })
}

/// What the simulator supports, said the RFC 7643 §5 way.
fn service_provider_config(host: &str) -> Value {
    json!({
        "schemas": [SPC],
        "documentationUri": "https://help.sap.com/docs/cloud-identity-services",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [
            {
                "type": "httpbasic",
                "name": "HTTP Basic",
                "description": "The client ID and a secret of a system administrator",
                "primary": true,
            },
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A token from POST /oauth2/token (client credentials)",
            },
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("https://{host}/scim/ServiceProviderConfig")},
    })
}

/// Discovery needs a credential like every IAS API (the recorded calls carry one); any
/// administrator may read it.
fn admit(sh: &Shared, ctx: &Ctx) -> Result<(), ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    authenticate(sh, ctx, Style::Scim).map(|_| ())
}

fn list(resources: Vec<Value>, per_page: usize) -> Value {
    json!({
        "schemas": [SCIM_LIST],
        "totalResults": resources.len(),
        "itemsPerPage": per_page,
        "startIndex": 1,
        "Resources": resources,
    })
}

pub(crate) async fn list_schemas(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    admit(&sh, &ctx)?;
    let data = read(&ctx.tenant.data);
    let all = schemas()
        .iter()
        .chain(data.spec.schemas.iter())
        .map(|s| schema_resource(s, &ctx.host))
        .collect();
    Ok(scim(StatusCode::OK, &list(all, SCHEMAS_PAGE)))
}

fn same_id(s: &Value, id: &str) -> bool {
    s["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))
}

pub(crate) async fn get_schema(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admit(&sh, &ctx)?;
    let data = read(&ctx.tenant.data);
    let s = schema(&id)
        .or_else(|| data.spec.schemas.iter().find(|s| same_id(s, &id)))
        .ok_or_else(|| ApiError::not_found(Style::Scim, format!("Schema {id} not found")))?;
    Ok(scim(StatusCode::OK, &schema_resource(s, &ctx.host)))
}

/// Creating and deleting custom schemas changes the tenant's user model: Manage Users
/// (**[INFERRED]**: the permission is not documented).
fn admit_schema_write(sh: &Shared, ctx: &Ctx) -> Result<(), ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Scim)?;
    let admin = authenticate(sh, ctx, Style::Scim)?;
    require(&admin, &[Permission::ManageUsers], Style::Scim)
}

/// A custom schema from a client: an object with a URN `id`, a `name` and `attributes`, each
/// with a `name` and a `type`. Returned with the RFC 7643 defaults filled in.
fn custom_schema(body: &[u8]) -> Result<Value, ApiError> {
    let bad = |m: &str| ApiError::bad_request(Style::Scim, m.to_string()).scim_type("invalidValue");
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(Style::Scim, format!("The request body is not JSON: {e}"))
            .scim_type("invalidSyntax")
    })?;
    let o = v
        .as_object()
        .ok_or_else(|| bad("a schema is a JSON object"))?;
    let id = o
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| {
            id.to_ascii_lowercase().starts_with("urn:") && !id.contains(char::is_whitespace)
        })
        .ok_or_else(|| bad("id must be a URN"))?;
    let name = o
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("name is missing"))?;
    let attrs = o
        .get("attributes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("attributes must be an array"))?;
    for a in attrs {
        if a.get("name").and_then(Value::as_str).is_none()
            || a.get("type").and_then(Value::as_str).is_none()
        {
            return Err(bad("every attribute needs a name and a type"));
        }
    }
    let mut out = Map::new();
    out.insert("id".into(), id.into());
    out.insert("name".into(), name.into());
    if let Some(d) = o.get("description").and_then(Value::as_str) {
        out.insert("description".into(), d.into());
    }
    out.insert(
        "attributes".into(),
        Value::Array(attrs.iter().map(expand).collect()),
    );
    Ok(Value::Object(out))
}

pub(crate) async fn create_schema(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    body: Bytes,
) -> Result<Response, ApiError> {
    admit_schema_write(&sh, &ctx)?;
    ctx.require_json(Style::Scim)?;
    let s = custom_schema(&body)?;
    let id = s["id"].as_str().unwrap_or_default().to_string();
    let mut data = write(&ctx.tenant.data);
    if schema(&id).is_some() || data.spec.schemas.iter().any(|x| same_id(x, &id)) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Style::Scim,
            format!("Schema {id} already exists"),
        )
        .scim_type("uniqueness"));
    }
    let shown = schema_resource(&s, &ctx.host);
    data.spec.schemas.push(s);
    let mut resp = scim(StatusCode::CREATED, &shown);
    if let Some(loc) = shown["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

pub(crate) async fn delete_schema(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admit_schema_write(&sh, &ctx)?;
    if schema(&id).is_some() {
        return Err(ApiError::bad_request(
            Style::Scim,
            format!("Schema {id} is built in and cannot be deleted"),
        )
        .scim_type("mutability"));
    }
    let mut data = write(&ctx.tenant.data);
    let before = data.spec.schemas.len();
    data.spec.schemas.retain(|x| !same_id(x, &id));
    if data.spec.schemas.len() == before {
        return Err(ApiError::not_found(
            Style::Scim,
            format!("Schema {id} not found"),
        ));
    }
    let mut resp = Response::new(axum::body::Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    crate::api::sap_headers(resp.headers_mut());
    Ok(resp)
}

pub(crate) async fn list_resource_types(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    admit(&sh, &ctx)?;
    let all = [Resource::User, Resource::Group]
        .into_iter()
        .map(|r| resource_type(r, &ctx.host))
        .collect::<Vec<_>>();
    let n = all.len();
    Ok(scim(StatusCode::OK, &list(all, n)))
}

pub(crate) async fn get_resource_type(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    admit(&sh, &ctx)?;
    let r = [Resource::User, Resource::Group]
        .into_iter()
        .find(|r| r.name().eq_ignore_ascii_case(&id))
        .ok_or_else(|| ApiError::not_found(Style::Scim, format!("ResourceType {id} not found")))?;
    Ok(scim(StatusCode::OK, &resource_type(r, &ctx.host)))
}

pub(crate) async fn get_service_provider_config(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    admit(&sh, &ctx)?;
    Ok(scim(StatusCode::OK, &service_provider_config(&ctx.host)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_schemas_parse_and_take_the_rfc_defaults() {
        let ids: Vec<&str> = schemas().iter().filter_map(|s| s["id"].as_str()).collect();
        for id in [USER, GROUP, SAP_USER, GROUP_EXT, SCHEMA, RESOURCE_TYPE, SPC] {
            assert!(ids.contains(&id), "{id}");
        }
        let user_name = attribute(USER, "USERNAME").unwrap();
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["mutability"], "readWrite");
        assert_eq!(user_name["uniqueness"], "none");
        let emails = attribute(USER, "emails").unwrap();
        assert_eq!(sub_attribute(emails, "TYPE").unwrap()["caseExact"], true);
        assert_eq!(
            attribute(SAP_USER, "userId").unwrap()["mutability"],
            "readOnly"
        );
        assert_eq!(attribute(USER, "password").unwrap()["returned"], "never");
    }
}
