//! Simulator-only endpoints under `/_sim/`. These are NOT SAP APIs: they let tests, the demo and
//! scripts inspect and change the simulated fleet at run time. They need no authentication (the
//! simulator is a local test tool) and are answered on every host name.
//!
//! | Method and path | What |
//! |---|---|
//! | `GET /_sim/health` | `{"status":"ok","tenants":N,"uptime_secs":…,"time_scale":…,"rate_limits":…}` |
//! | `GET /_sim/ca.pem` | the CA certificate that issued the server certificates |
//! | `GET /_sim/scenario` | the whole current state as a scenario (JSON) |
//! | `GET /_sim/tenants` | `[{"id","ips_type","hosts"}]` |
//! | `POST /_sim/tenants` | add a tenant (a scenario `[[tenant]]` entry as JSON); 409 if it exists |
//! | `GET /_sim/tenants/{id}` | the tenant as a scenario entry, with its current faults |
//! | `PUT /_sim/tenants/{id}` | replace the tenant (same JSON); counters and limits are kept |
//! | `DELETE /_sim/tenants/{id}` | remove the tenant |
//! | `GET /_sim/tenants/{id}/faults` | the tenant's faults |
//! | `PUT /_sim/tenants/{id}/faults` | replace the tenant's faults |
//! | `DELETE /_sim/tenants/{id}/faults` | clear the tenant's faults |
//! | `DELETE /_sim/tenants/{id}/limits` | clear rate-limit windows, client-ID locks and tokens |
//! | `GET /_sim/counters` | `{"tenants":{id:{"families":{…},"endpoints":{…}}}}` |
//! | `GET /_sim/counters/{id}` | one tenant's counters |
//! | `DELETE /_sim/counters` | zero every counter |
//! | `GET /_sim/chaos` | the random faults in force (`null`: none) |
//! | `PUT /_sim/chaos` | set them (a scenario's `[chaos]` as JSON); 400 if out of range |
//! | `DELETE /_sim/chaos` | stop them |

use crate::error::error_chain;
use crate::scenario::{Chaos, Faults, TenantSpec};
use crate::shared::Shared;
use crate::state::{lock, read, write};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

fn answer(status: StatusCode, body: Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

fn problem(status: StatusCode, message: impl std::fmt::Display) -> Response {
    answer(status, json!({"error": message.to_string()}))
}

fn no_tenant(id: &str) -> Response {
    problem(StatusCode::NOT_FOUND, format!("no tenant '{id}'"))
}

/// The 400 answer to a request body that is not the JSON expected.
fn invalid_json(e: &serde_json::Error) -> Response {
    problem(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}"))
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim/health", get(health))
        .route("/_sim/ca.pem", get(ca))
        .route("/_sim/scenario", get(scenario))
        .route("/_sim/tenants", get(tenants).post(add_tenant))
        .route(
            "/_sim/tenants/{id}",
            get(get_tenant).put(put_tenant).delete(delete_tenant),
        )
        .route(
            "/_sim/tenants/{id}/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route(
            "/_sim/tenants/{id}/limits",
            axum::routing::delete(clear_limits),
        )
        .route("/_sim/counters", get(counters).delete(reset_counters))
        .route(
            "/_sim/chaos",
            get(get_chaos).put(put_chaos).delete(clear_chaos),
        )
        .route("/_sim/counters/{id}", get(tenant_counters))
        .layer(axum::middleware::from_fn(log_request))
}

/// One debug line per `/_sim/` request, like the tenant hosts' requests.
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let resp = next.run(req).await;
    tracing::debug!(
        %method,
        path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "simulator request"
    );
    resp
}

async fn health(State(sh): State<Arc<Shared>>) -> Response {
    let w = read(&sh.world);
    answer(
        StatusCode::OK,
        json!({
            "status": "ok",
            "tenants": w.tenants.len(),
            "description": w.description,
            "uptime_secs": sh.started.elapsed().as_secs(),
            "time_scale": sh.time_scale,
            "rate_limits": sh.rate_limits,
            "today": sh.clock.now(),
        }),
    )
}

async fn ca(State(sh): State<Arc<Shared>>) -> Response {
    let mut r = sh.pki.ca.cert.cert_pem.clone().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-pem-file"),
    );
    r
}

async fn scenario(State(sh): State<Arc<Shared>>) -> Response {
    let s = read(&sh.world).scenario();
    answer(
        StatusCode::OK,
        serde_json::to_value(&s).unwrap_or(Value::Null),
    )
}

async fn tenants(State(sh): State<Arc<Shared>>) -> Response {
    let w = read(&sh.world);
    let list: Vec<Value> = w
        .tenants
        .iter()
        .map(|t| {
            let d = read(&t.data);
            json!({"id": t.id, "ips_type": d.spec.ips_type, "hosts": d.spec.hosts()})
        })
        .collect();
    answer(StatusCode::OK, Value::Array(list))
}

async fn add_tenant(State(sh): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let spec: TenantSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return invalid_json(&e),
    };
    if read(&sh.world).tenant(&spec.id).is_some() {
        return problem(
            StatusCode::CONFLICT,
            format!("tenant '{}' exists; use PUT", spec.id),
        );
    }
    let id = spec.id.clone();
    match sh.upsert(spec) {
        Ok(()) => answer(StatusCode::CREATED, json!({"id": id})),
        Err(e) => problem(StatusCode::BAD_REQUEST, error_chain(&e)),
    }
}

async fn get_tenant(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match read(&sh.world).tenant(&id) {
        Some(t) => answer(
            StatusCode::OK,
            serde_json::to_value(t.snapshot()).unwrap_or(Value::Null),
        ),
        None => no_tenant(&id),
    }
}

async fn put_tenant(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let spec: TenantSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return invalid_json(&e),
    };
    if !spec.id.eq_ignore_ascii_case(&id) {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("the body is tenant '{}', the path says '{id}'", spec.id),
        );
    }
    if read(&sh.world).tenant(&id).is_none() {
        return no_tenant(&id);
    }
    match sh.upsert(spec) {
        Ok(()) => answer(StatusCode::OK, json!({"id": id})),
        Err(e) => problem(StatusCode::BAD_REQUEST, error_chain(&e)),
    }
}

async fn delete_tenant(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if write(&sh.world).remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        no_tenant(&id)
    }
}

async fn get_faults(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match read(&sh.world).tenant(&id) {
        Some(t) => answer(
            StatusCode::OK,
            serde_json::to_value(lock(&t.faults).clone()).unwrap_or(Value::Null),
        ),
        None => no_tenant(&id),
    }
}

async fn put_faults(
    State(sh): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return invalid_json(&e),
    };
    match read(&sh.world).tenant(&id) {
        Some(t) => {
            *lock(&t.faults) = faults.clone();
            answer(
                StatusCode::OK,
                serde_json::to_value(faults).unwrap_or(Value::Null),
            )
        }
        None => no_tenant(&id),
    }
}

async fn clear_faults(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match read(&sh.world).tenant(&id) {
        Some(t) => {
            *lock(&t.faults) = Faults::default();
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn clear_limits(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match read(&sh.world).tenant(&id) {
        Some(t) => {
            t.reset_limits();
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_tenant(&id),
    }
}

async fn counters(State(sh): State<Arc<Shared>>) -> Response {
    answer(
        StatusCode::OK,
        json!({"tenants": serde_json::to_value(sh.counters()).unwrap_or(Value::Null)}),
    )
}

async fn tenant_counters(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match read(&sh.world).tenant(&id) {
        Some(t) => answer(
            StatusCode::OK,
            serde_json::to_value(lock(&t.counters).counters.clone()).unwrap_or(Value::Null),
        ),
        None => no_tenant(&id),
    }
}

async fn reset_counters(State(sh): State<Arc<Shared>>) -> Response {
    for t in &read(&sh.world).tenants {
        lock(&t.counters).reset();
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn get_chaos(State(sh): State<Arc<Shared>>) -> Response {
    let c = read(&sh.world).chaos.clone();
    answer(
        StatusCode::OK,
        serde_json::to_value(c).unwrap_or(Value::Null),
    )
}

async fn put_chaos(State(sh): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let chaos: Chaos = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return invalid_json(&e),
    };
    if let Err(m) = chaos.validate() {
        return problem(StatusCode::BAD_REQUEST, m);
    }
    write(&sh.world).chaos = Some(chaos.clone());
    answer(
        StatusCode::OK,
        serde_json::to_value(chaos).unwrap_or(Value::Null),
    )
}

async fn clear_chaos(State(sh): State<Arc<Shared>>) -> Response {
    write(&sh.world).chaos = None;
    StatusCode::NO_CONTENT.into_response()
}
