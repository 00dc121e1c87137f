//! Delivery over the API: batch controls of an import, a workspace's budget month, a table's
//! callback settings, and the callback endpoint Clay's HTTP API column calls.

use crate::{
    auth::{Principal, tokens},
    error::{Error, Result},
    imports::{self as import_rules, Control},
    state::AppState,
    store::{
        self,
        delivery::{CallbackResult, Reported},
    },
    workspaces,
};
use app::domain::{CallbackSettings, HeldLeads, Priority, Role, TableDelivery, TableDeliveryInput};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ImportView;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/imports/{id}/pause", post(pause))
        .route("/imports/{id}/resume", post(resume))
        .route("/imports/{id}/cancel", post(cancel))
        .route("/imports/{id}/requeue-dead", post(requeue_dead))
        .route("/imports/{id}/priority", post(priority))
        .route("/imports/{id}/held", get(held))
        .route("/imports/{id}/queue-held", post(queue_held))
        .route("/workspaces/{id}/budget", get(budget))
        .route("/tables/{id}/callback", get(callback_settings))
        .route("/tables/{id}/callback/rotate", post(rotate_callback))
        .route("/tables/{id}/after-clay", get(after_clay).put(set_after_clay))
        .route("/tables/{id}/requeue-dead-forwards", post(requeue_dead_forwards))
        .route("/imports/{id}/leads.csv", get(enriched_csv))
        .route("/callbacks/{table_id}", post(callback))
        .route("/alerts", get(alerts))
        .route("/audit", get(audit))
}

async fn pause(state: State<AppState>, principal: Principal, id: Path<i64>) -> Result<Json<ImportView>> {
    apply(state, principal, id, Control::Pause).await
}

async fn resume(state: State<AppState>, principal: Principal, id: Path<i64>) -> Result<Json<ImportView>> {
    apply(state, principal, id, Control::Resume).await
}

async fn cancel(state: State<AppState>, principal: Principal, id: Path<i64>) -> Result<Json<ImportView>> {
    apply(state, principal, id, Control::Cancel).await
}

async fn apply(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    control: Control,
) -> Result<Json<ImportView>> {
    principal.require(Role::Operator)?;
    Ok(Json(import_rules::control(&state.db, &principal.actor(), id, control).await?.into()))
}

#[derive(Deserialize)]
struct RequeueParams {
    /// One dead lead (its `kiln_id`); all of the import's dead leads when absent.
    lead_id: Option<i64>,
}

/// POST /api/v1/imports/{id}/requeue-dead[?lead_id=]
async fn requeue_dead(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<RequeueParams>,
) -> Result<Json<Value>> {
    principal.require(Role::Operator)?;
    let requeued = import_rules::requeue_dead(&state.db, &principal.actor(), id, params.lead_id).await?;
    Ok(Json(json!({ "requeued": requeued })))
}

/// GET /api/v1/imports/{id}/held
async fn held(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<HeldLeads>> {
    principal.require(Role::Viewer)?;
    Ok(Json(import_rules::held_leads(&state.db, id).await?))
}

#[derive(Deserialize)]
struct QueueHeldParams {
    /// Where the held leads that matched no routing rule go.
    table_id: Option<i64>,
}

/// POST /api/v1/imports/{id}/queue-held[?table_id=]
async fn queue_held(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<QueueHeldParams>,
) -> Result<Json<ImportView>> {
    principal.require(Role::Operator)?;
    Ok(Json(import_rules::queue_held(&state.db, &principal.actor(), id, params.table_id).await?.into()))
}

#[derive(Deserialize)]
struct PriorityParams {
    priority: String,
}

/// POST /api/v1/imports/{id}/priority?priority=high|normal|low
async fn priority(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Query(params): Query<PriorityParams>,
) -> Result<Json<ImportView>> {
    principal.require(Role::Operator)?;
    let priority: Priority = params.priority.parse().map_err(|e: String| Error::invalid("priority", e))?;
    Ok(Json(import_rules::set_priority(&state.db, &principal.actor(), id, priority).await?.into()))
}

/// GET /api/v1/workspaces/{id}/budget: this budget month's data credits and Actions.
async fn budget(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<Value>> {
    principal.require(Role::Viewer)?;
    store::workspaces::find(&state.db, id).await?.ok_or(Error::NotFound("workspace"))?;
    let snapshot = store::delivery::budget_snapshot(&state.db, id, store::now_millis()).await?;
    let month = chrono::DateTime::from_timestamp_millis(snapshot.month_start)
        .map(|start| start.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    Ok(Json(json!({
        "workspace_id": id,
        "month": month,
        "month_start": snapshot.month_start,
        "budget": snapshot.budget,
        "reserved": snapshot.reserved,
        "spent": snapshot.spent,
        "remaining": snapshot.remaining(),
        "actions": {
            "budget": snapshot.action_budget,
            "reserved": snapshot.actions_reserved,
            "spent": snapshot.actions_spent,
            "remaining": snapshot.actions_remaining(),
        },
    })))
}

/// GET /api/v1/tables/{id}/callback: what to paste into Clay's HTTP API column.
async fn callback_settings(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<CallbackSettings>> {
    principal.require(Role::Operator)?;
    Ok(Json(workspaces::callback_settings(&state.db, &state.callback_origin, id).await?))
}

/// POST /api/v1/tables/{id}/callback/rotate: a new token; the old one stops working.
async fn rotate_callback(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<CallbackSettings>> {
    principal.require(Role::Admin)?;
    Ok(Json(workspaces::rotate_callback(&state.db, &principal.actor(), &state.callback_origin, id).await?))
}

/// GET /api/v1/tables/{id}/after-clay: the "no callback" deadline and stream-through settings.
async fn after_clay(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<TableDelivery>> {
    principal.require(Role::Viewer)?;
    Ok(Json(workspaces::table_delivery(&state.db, id).await?))
}

/// PUT /api/v1/tables/{id}/after-clay
async fn set_after_clay(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TableDeliveryInput>,
) -> Result<Json<TableDelivery>> {
    principal.require(Role::Operator)?;
    Ok(Json(workspaces::set_table_delivery(&state.db, &principal.actor(), id, &input).await?))
}

/// POST /api/v1/tables/{id}/requeue-dead-forwards: the table's enriched leads whose forwarding
/// gave up are sent to its destination again.
async fn requeue_dead_forwards(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Value>> {
    principal.require(Role::Operator)?;
    let requeued = workspaces::requeue_dead_forwards(&state.db, &principal.actor(), id).await?;
    Ok(Json(json!({ "requeued": requeued })))
}

/// GET /api/v1/imports/{id}/leads.csv: every accepted lead of the import with its delivery
/// state and what Clay called back with (formula-safe).
async fn enriched_csv(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response> {
    principal.require(Role::Viewer)?;
    crate::exports::enriched_leads_response(&state.db, id).await
}

/// A use Clay reported in a callback (a number, or a number in a string), when present.
fn reported_use(object: &Map<String, Value>, field: &'static str, message: &str) -> Result<Option<f64>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|used: &f64| used.is_finite() && *used >= 0.0)
            .map(Some)
            .ok_or_else(|| Error::invalid(field, message)),
    }
}

/// POST /api/v1/callbacks/{table_id}: Clay's HTTP API column hands back an enriched row.
/// Authenticated by the table's callback token, not by an API token.
async fn callback(
    State(state): State<AppState>,
    Path(table_id): Path<i64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let offered =
        headers.get(workspaces::CALLBACK_TOKEN_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let expected = store::tables::callback_token(&state.db, table_id).await?;
    // Compared as hashes: equal lengths, and no early exit on the secret's own bytes.
    let valid = expected.is_some_and(|token| !offered.is_empty() && tokens::hash(offered) == tokens::hash(&token));
    if !valid {
        tracing::warn!(table_id, "refused a callback without the table's token");
        return Err(Error::Unauthorized);
    }
    let object: Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| Error::invalid("body", format!("the callback body is not a JSON object: {e}")))?;
    let lead_id = match object.get("kiln_id") {
        Some(Value::String(id)) => id.trim().parse::<i64>().ok(),
        Some(Value::Number(id)) => id.as_i64(),
        _ => None,
    }
    .ok_or_else(|| Error::invalid("kiln_id", "the callback needs the kiln_id Kiln sent with the row"))?;
    let reported = Reported {
        credits: reported_use(&object, "credits_used", "credits_used must be a number of credits, 0 or more")?,
        actions: reported_use(&object, "actions_used", "actions_used must be a number of Actions, 0 or more")?,
    };
    let mut enrichment = object;
    for field in ["kiln_id", "credits_used", "actions_used"] {
        enrichment.shift_remove(field);
    }
    let enrichment = Value::Object(enrichment).to_string();
    let now = store::now_millis();
    match store::delivery::apply_callback(&state.db, table_id, lead_id, reported, &enrichment, now).await? {
        CallbackResult::Applied => {
            Ok((StatusCode::OK, Json(json!({ "kiln_id": lead_id.to_string(), "status": "applied" }))).into_response())
        }
        CallbackResult::Repeated => {
            Ok((StatusCode::OK, Json(json!({ "kiln_id": lead_id.to_string(), "status": "already applied" })))
                .into_response())
        }
        CallbackResult::Unknown => {
            tracing::warn!(table_id, kiln_id = lead_id, "refused a callback for an unknown kiln_id");
            Err(Error::NotFound("lead with this kiln_id in this table"))
        }
    }
}

#[derive(Deserialize)]
struct AlertParams {
    /// `open` (the default) or `all`.
    state: Option<String>,
}

/// GET /api/v1/alerts[?state=open|all]: open alerts, or the latest 500 of all, newest first.
async fn alerts(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AlertParams>,
) -> Result<Json<Vec<app::domain::AlertView>>> {
    principal.require(Role::Viewer)?;
    let open_only = match params.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => return Err(Error::invalid("state", "state must be open or all")),
    };
    Ok(Json(crate::dashboard::alert_views(&state.db, open_only).await?))
}

#[derive(Deserialize)]
struct AuditParams {
    /// Entries older than this entry id (the last `id` of the previous page).
    before: Option<i64>,
}

/// GET /api/v1/audit[?before=]: who did what, when; 200 entries a page, newest first.
async fn audit(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<AuditParams>,
) -> Result<Json<Vec<app::domain::AuditEntry>>> {
    principal.require(Role::Operator)?;
    Ok(Json(crate::dashboard::audit_entries(&state.db, params.before).await?))
}
