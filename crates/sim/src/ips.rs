//! Identity Provisioning: the tenant admin API (start a job, export job logs; converged only),
//! the real-time provisioning endpoint LMS calls, and the proxy-system SCIM API
//! (docs/sap-facts.md: IPS jobs, job logs, real-time provisioning, proxy systems).
//!
//! Converged tenants serve IPS on their IAS host under `/ips/…` and `/ipsproxy/service/api/v1/…`.
//! NEO tenants have no tenant admin API (404) and serve the proxy and real-time paths on their own
//! hosts: `/ipsproxy/api/v1/…` on `ipsproxy<p>-<c>.<region>` (OAuth clients of the Neo cockpit,
//! simulated by the tenant's IAS administrators) and `/ipsproxy/certapi/v1/…` on the `.cert.` host,
//! where the client certificate must be among the LMS source system's inbound certificates.

use crate::api::{ApiError, Ctx, Style, authenticate, json_response, require, scim};
use crate::ids::{random_hex, random_uuid};
use crate::invented;
use crate::scenario::IpsType;
use crate::scenario::{JobSpec, JobStatus, JobType, Permission, ReadMode, SystemKind, TriggerType};
use crate::scim::{
    list_response, matching_users, paging, parse_filter, user_from_payload, user_json,
};
use crate::shared::Shared;
use crate::state::{HostKind, TenantData, read, write};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

fn converged_only(ctx: &Ctx, style: Style) -> Result<(), ApiError> {
    ctx.only_on(&[HostKind::Ias], style)?;
    if read(&ctx.tenant.data).spec.ips_type == IpsType::Neo {
        // NEO IPS has no tenant admin API and does not live on the IAS host.
        return Err(ApiError::not_found(style, "Not Found"));
    }
    Ok(())
}

pub(crate) async fn start_job(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path((sid, job_type)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    converged_only(&ctx, Style::Json)?;
    let admin = authenticate(&sh, &ctx, Style::Json)?;
    require(
        &admin,
        &[Permission::AccessIdentityProvisioningTenantAdminApi],
        Style::Json,
    )?;
    let job_type = match job_type.as_str() {
        "READ" => JobType::Read,
        "RESYNC" => JobType::Resync,
        other => {
            return Err(ApiError::bad_request(
                Style::Json,
                format!("Job type '{other}' is not supported; use READ or RESYNC"),
            ));
        }
    };
    let mut data = write(&ctx.tenant.data);
    let system = data
        .spec
        .systems
        .iter()
        .find(|s| s.id == sid)
        .ok_or_else(|| ApiError::not_found(Style::Json, format!("System {sid} not found")))?;
    if system.kind != SystemKind::Source {
        return Err(ApiError::bad_request(
            Style::Json,
            format!("System {sid} is not a source system"),
        ));
    }
    let job = JobSpec {
        id: random_hex(10),
        source_system_id: sid,
        job_type,
        trigger_type: TriggerType::Immediate,
        read_mode: if job_type == JobType::Resync {
            ReadMode::Full
        } else {
            ReadMode::Delta
        },
        status: JobStatus::Running,
        start: sh.clock.now(),
        end: None,
        triggered_by: invented::triggered_by_api(admin.client_id.as_deref().unwrap_or(&admin.name)),
        error_message: None,
        statistics: Vec::new(),
        failed_entities: Vec::new(),
        skipped_entities: Vec::new(),
        restarted_as: None,
    };
    let body = invented::start_job_response(&job);
    data.started_jobs.push(job.id.clone());
    data.spec.jobs.push(job);
    let status = StatusCode::from_u16(invented::START_JOB_STATUS).unwrap_or(StatusCode::ACCEPTED);
    Ok(json_response(status, "application/json", &body))
}

pub(crate) async fn job_logs(
    State(sh): State<Arc<Shared>>,
    ctx: Ctx,
    Path(job_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    converged_only(&ctx, Style::Json)?;
    let admin = authenticate(&sh, &ctx, Style::Json)?;
    require(
        &admin,
        &[Permission::AccessIdentityProvisioningTenantAdminApi],
        Style::Json,
    )?;
    match q.get("action").map(String::as_str) {
        Some("export") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                Style::Json,
                format!("action '{other}' is not supported; the only action is export"),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                Style::Json,
                "action is missing (action=export)",
            ));
        }
    }
    let log_type = q.get("logType").map(String::as_str).unwrap_or("");
    if !invented::LOG_TYPES.contains(&log_type) {
        return Err(ApiError::bad_request(
            Style::Json,
            format!(
                "logType '{log_type}' is not one of {}",
                invented::LOG_TYPES.join(", ")
            ),
        ));
    }
    let now = sh.clock.now();
    let job = {
        let mut data = write(&ctx.tenant.data);
        let started = data.started_jobs.contains(&job_id);
        let job = data
            .spec
            .jobs
            .iter_mut()
            .find(|j| j.id == job_id)
            .ok_or_else(|| ApiError::not_found(Style::Json, format!("Job {job_id} not found")))?;
        if started {
            invented::finish_started_job(job, now, sh.scaled(invented::JOB_RUN_TIME));
        }
        job.clone()
    };
    let bytes = invented::job_log_zip(&job, log_type, now).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Style::Json,
            format!("zip: {e}"),
        )
    })?;
    let mut resp = Response::new(axum::body::Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"ips_jobLogs_{job_id}_{log_type}.zip\""
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    crate::api::sap_headers(h);
    Ok(resp)
}

/// Which door a real-time or proxy call came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// `/ipsproxy/service/api/v1/…` on a converged tenant's IAS host.
    Converged,
    /// `/ipsproxy/api/v1/…` on a NEO IPS host.
    NeoOAuth,
    /// `/ipsproxy/certapi/v1/…` on a NEO `.cert.` host.
    NeoCert,
}

/// Authenticates a call to system `sid` and returns the index of the system.
fn admit(
    sh: &Shared,
    ctx: &Ctx,
    door: Door,
    sid: &str,
    permission: Permission,
    style: Style,
) -> Result<usize, ApiError> {
    match door {
        Door::Converged => converged_only(ctx, style)?,
        Door::NeoOAuth => ctx.only_on(&[HostKind::NeoIps], style)?,
        Door::NeoCert => ctx.only_on(&[HostKind::NeoIpsCert], style)?,
    }
    if door != Door::NeoCert {
        let admin = authenticate(sh, ctx, style)?;
        require(&admin, &[permission], style)?;
    }
    let data = read(&ctx.tenant.data);
    let idx = data
        .spec
        .systems
        .iter()
        .position(|s| s.id == sid)
        .ok_or_else(|| ApiError::not_found(style, format!("System {sid} not found")))?;
    if door == Door::NeoCert {
        // On NEO the LMS certificate must be imported in this system's Inbound Certificates.
        let Some(peer) = &ctx.conn.0.peer else {
            return Err(ApiError::unauthorized(
                style,
                "Not authenticated: no client certificate",
            ));
        };
        let now = sh.clock.now();
        let known = data.inbound[idx].iter().any(|c| c.sha256 == peer.sha256);
        if !known || now < peer.not_before || now > peer.not_after {
            return Err(ApiError::unauthorized(
                style,
                "Not authenticated: the client certificate is not among the system's valid inbound certificates",
            ));
        }
    }
    Ok(idx)
}

async fn realtime(
    sh: Arc<Shared>,
    ctx: Ctx,
    method: Method,
    door: Door,
    sid: String,
    entity: String,
    body: Bytes,
) -> Result<Response, ApiError> {
    let style = Style::Json;
    let idx = admit(
        &sh,
        &ctx,
        door,
        &sid,
        Permission::AccessRealTimeProvisioningApi,
        style,
    )?;
    {
        let data = read(&ctx.tenant.data);
        let system = &data.spec.systems[idx];
        if system.kind != SystemKind::Source {
            return Err(ApiError::bad_request(
                style,
                format!("System {sid} is not a source system"),
            ));
        }
        match entity.as_str() {
            "user" => {}
            "group" => {
                return Err(ApiError::bad_request(
                    style,
                    format!(
                        "Entity type group is not supported by source system {}",
                        system.name
                    ),
                ));
            }
            other => {
                return Err(ApiError::not_found(
                    style,
                    format!("Unknown entity type '{other}'"),
                ));
            }
        }
    }
    ctx.require_json(style)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(style, "The request body is empty"));
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(style, format!("The request body is not JSON: {e}")))?;
    let now = sh.clock.now();
    let mut data = write(&ctx.tenant.data);
    let tenant_id = data.spec.id.clone();
    if method == Method::DELETE {
        let key = v
            .get("userName")
            .or_else(|| v.get("id"))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                ApiError::bad_request(style, "The request body names no user (userName or id)")
            })?
            .to_string();
        let pos = data
            .spec
            .users
            .iter()
            .position(|u| u.user_name.eq_ignore_ascii_case(&key) || u.id == key)
            .ok_or_else(|| ApiError::not_found(style, format!("Entity Not Provisioned: {key}")))?;
        let u = data.spec.users.remove(pos);
        return Ok(json_response(
            StatusCode::OK,
            "application/json",
            &invented::realtime_response("DELETE", "Entity Deleted", &u.user_name, Some(&u.id)),
        ));
    }
    let mut user = user_from_payload(&v, random_uuid(), now).map_err(|e| {
        ApiError::bad_request(
            style,
            format!("The request body is not a valid user entity: {e}"),
        )
    })?;
    Ok(upsert_lms_user(&mut data, &mut user, &tenant_id, now))
}

/// What IPS does with a real-time user: read it from LMS and write it to IAS as an
/// LMS-provisioned user (sourceSystem 101, sourceSystemId = the LMS tenant).
fn upsert_lms_user(
    data: &mut TenantData,
    user: &mut crate::scenario::UserSpec,
    tenant_id: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Response {
    user.source_system = Some(101);
    user.source_system_id = Some(tenant_id.to_string());
    if let Some(existing) = data
        .spec
        .users
        .iter_mut()
        .find(|u| u.user_name.eq_ignore_ascii_case(&user.user_name))
    {
        if !user.emails.is_empty() {
            existing.emails = user.emails.clone();
            // What a SCIM client once wrote no longer holds for what IPS just updated.
            existing.attributes.remove("emails");
        }
        existing.given_name = user.given_name.clone().or(existing.given_name.take());
        existing.family_name = user.family_name.clone().or(existing.family_name.take());
        if user.given_name.is_some() || user.family_name.is_some() {
            existing.attributes.remove("name");
        }
        existing.last_modified = now;
        return json_response(
            StatusCode::OK,
            "application/json",
            &invented::realtime_response(
                "UPDATE",
                "Entity Updated",
                &existing.user_name,
                Some(&existing.id),
            ),
        );
    }
    let body =
        invented::realtime_response("CREATE", "Entity Created", &user.user_name, Some(&user.id));
    data.spec.users.push(user.clone());
    json_response(StatusCode::CREATED, "application/json", &body)
}

macro_rules! realtime_door {
    ($name:ident, $door:expr) => {
        pub(crate) async fn $name(
            State(sh): State<Arc<Shared>>,
            ctx: Ctx,
            method: Method,
            Path((sid, entity)): Path<(String, String)>,
            body: Bytes,
        ) -> Result<Response, ApiError> {
            realtime(sh, ctx, method, $door, sid, entity, body).await
        }
    };
}

realtime_door!(realtime_converged, Door::Converged);
realtime_door!(realtime_neo, Door::NeoOAuth);
realtime_door!(realtime_neo_cert, Door::NeoCert);

async fn proxy(
    sh: Arc<Shared>,
    ctx: Ctx,
    door: Door,
    sid: String,
    resource: String,
    q: HashMap<String, String>,
) -> Result<Response, ApiError> {
    let style = Style::Scim;
    let idx = admit(
        &sh,
        &ctx,
        door,
        &sid,
        Permission::AccessProxySystemApi,
        style,
    )?;
    let data = read(&ctx.tenant.data);
    if data.spec.systems[idx].kind != SystemKind::Proxy {
        return Err(ApiError::not_found(
            style,
            format!("Proxy system {sid} not found"),
        ));
    }
    if resource != "Users" {
        return Err(ApiError::not_found(
            style,
            format!("Resource {resource} not found"),
        ));
    }
    // Proxy systems page with count 1..100, default 25 (docs/sap-facts.md: proxy systems).
    let paging = paging(&q, 25, 100, style)?;
    let filter = parse_filter(&q, style)?;
    let users = matching_users(&data.spec.users, filter.as_ref(), style)?;
    let body = list_response(
        users,
        &paging,
        |u| u.id.as_str(),
        |u| user_json(u, &ctx.host, Some(0)),
        style,
    )?;
    Ok(scim(StatusCode::OK, &body))
}

macro_rules! proxy_door {
    ($name:ident, $door:expr) => {
        pub(crate) async fn $name(
            State(sh): State<Arc<Shared>>,
            ctx: Ctx,
            Path((sid, resource)): Path<(String, String)>,
            Query(q): Query<HashMap<String, String>>,
        ) -> Result<Response, ApiError> {
            proxy(sh, ctx, $door, sid, resource, q).await
        }
    };
}

proxy_door!(proxy_converged, Door::Converged);
proxy_door!(proxy_neo, Door::NeoOAuth);
proxy_door!(proxy_neo_cert, Door::NeoCert);
