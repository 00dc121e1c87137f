//! Liveness and readiness for load balancers, and the Prometheus scrape.

use crate::{
    auth::{Principal, gate},
    error::{Error, Result},
    state::AppState,
    store,
};
use axum::{
    Json, Router,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};
use std::net::SocketAddr;

/// A worker that has not gone round its loop for this long is stuck.
const WORKER_STALE_MS: i64 = 15_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// GET /healthz: 200 while the process answers and its database does.
async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ok", "database": "ok" }))),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unavailable", "database": "unreachable" })))
        }
    }
}

/// GET /readyz: 200 when the database answers and this process' delivery worker (if it runs
/// one) is going round its loop.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = match state.db.ping().await {
        Ok(()) => "ok",
        Err(error) => {
            tracing::error!(%error, "readiness: database unreachable");
            "unreachable"
        }
    };
    let worker = match &state.worker {
        None => "not in this process",
        Some(heartbeat) if heartbeat.last() == 0 => "starting",
        Some(heartbeat) if store::now_millis() - heartbeat.last() > WORKER_STALE_MS => "stalled",
        Some(_) => "ok",
    };
    let ready = database == "ok" && matches!(worker, "ok" | "not in this process");
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        status,
        Json(json!({ "status": if ready { "ready" } else { "not ready" }, "database": database, "worker": worker })),
    )
}

/// GET /metrics: for allow-listed addresses, or with an API token of any role.
async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response> {
    let allowed = state.metrics_allow.iter().any(|net| net.contains(&peer.ip()));
    if !allowed && !matches!(gate::bearer_principal(&state, &headers).await?, Some(Principal::Token { .. })) {
        return Err(Error::Unauthorized);
    }
    let body = state.metrics.render(&state.db, store::now_millis()).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response())
}
