//! `POST /oauth2/token` (client credentials) and the Applications API `/Applications/v1`
//! with cursor paging (docs/sap-facts.md: IAS authentication, Applications API).

use crate::api::{
    ApiError, Ctx, Style, admin_by_certificate, authenticate, basic, check_secret, form,
    issue_token, json_response, require,
};
use crate::scenario::{ApplicationSpec, Permission};
use crate::shared::Shared;
use crate::state::{HostKind, read};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Applications per page. SAP does not document the page size; 20 keeps paging visible.
const APPS_PER_PAGE: usize = 20;

/// The token endpoint: `grant_type=client_credentials`, the client authenticated by Basic, by
/// `client_id`/`client_secret` in the form (what SAP's Terraform provider sends), or by its
/// certificate. Answers `{"access_token","token_type":"Bearer","expires_in"}`.
pub(crate) async fn token(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    body: Bytes,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::OAuth)?;
    let is_form = ctx.content_type.as_deref().is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form {
        return Err(ApiError::bad_request(
            Style::OAuth,
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let params = form(&body);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                Style::OAuth,
                format!("grant_type '{other}' is not supported"),
            )
            .oauth("unsupported_grant_type"));
        }
        None => return Err(ApiError::bad_request(Style::OAuth, "grant_type is missing")),
    }
    let admin = if let Some((id, secret)) = ctx.authorization.as_deref().and_then(basic) {
        check_secret(&sh, &ctx.tenant, &id, &secret, Style::OAuth)?
    } else if let (Some(id), Some(secret)) = (get("client_id"), get("client_secret")) {
        check_secret(&sh, &ctx.tenant, id, secret, Style::OAuth)?
    } else {
        let admin = admin_by_certificate(&sh, &ctx, Style::OAuth)?;
        if let Some(id) = get("client_id")
            && admin.client_id.as_deref() != Some(id)
        {
            return Err(ApiError::unauthorized(
                Style::OAuth,
                "the client certificate does not belong to client_id",
            ));
        }
        admin
    };
    let lifetime = read(&ctx.tenant.data).spec.token_lifetime_secs;
    let token = issue_token(&ctx.tenant, &admin, Duration::from_secs(lifetime));
    let mut resp = json_response(
        StatusCode::OK,
        "application/json",
        &json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime}),
    );
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

fn app_json(a: &ApplicationSpec) -> Value {
    let certs: Vec<Value> = a
        .api_certificates
        .iter()
        .map(|c| {
            json!({"id": c.id, "dn": c.dn, "allApisAccess": c.all_apis_access,
                   "authorizationScopes": c.authorization_scopes})
        })
        .collect();
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "multiTenantApp": false,
        "urn:sap:identity:application:schemas:extension:sci:1.0:Authentication": {
            "apiCertificates": certs,
        },
    })
}

pub(crate) async fn list(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Json)?;
    let admin = authenticate(&sh, &ctx, Style::Json)?;
    require(&admin, &[Permission::ManageApplications], Style::Json)?;
    // The cursor is opaque to clients; here it is the offset in hex.
    let offset = match q.get("cursor").map(String::as_str) {
        None | Some("") => 0,
        Some(c) => usize::from_str_radix(c, 16)
            .map_err(|_| ApiError::bad_request(Style::Json, format!("Invalid cursor '{c}'")))?,
    };
    let data = read(&ctx.tenant.data);
    let apps = &data.spec.applications;
    let page: Vec<Value> = apps
        .iter()
        .skip(offset)
        .take(APPS_PER_PAGE)
        .map(app_json)
        .collect();
    let mut body = json!({
        "totalResults": apps.len(),
        "itemsPerPage": page.len(),
        "applications": page,
    });
    if offset + APPS_PER_PAGE < apps.len() {
        body["nextCursor"] = format!("{:x}", offset + APPS_PER_PAGE).into();
    }
    Ok(json_response(
        StatusCode::OK,
        "application/json;charset=UTF-8",
        &body,
    ))
}

pub(crate) async fn get(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    ctx.only_on(&[HostKind::Ias], Style::Json)?;
    let admin = authenticate(&sh, &ctx, Style::Json)?;
    require(&admin, &[Permission::ManageApplications], Style::Json)?;
    let data = read(&ctx.tenant.data);
    let a = data
        .spec
        .applications
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| {
            ApiError::not_found(Style::Json, format!("Unable to find application {id}."))
        })?;
    Ok(json_response(
        StatusCode::OK,
        "application/json;charset=UTF-8",
        &app_json(a),
    ))
}
