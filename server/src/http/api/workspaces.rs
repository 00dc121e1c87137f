//! Workspaces, their tables, webhooks and routing rules over the API.

use crate::{
    auth::Principal,
    error::{Error, Result},
    state::AppState,
    store, workspaces,
};
use app::{
    domain::{ClayTable, Role, TableInput, Webhook, WebhookInput, WebhookState, Workspace, WorkspaceInput},
    ingest::{Fallback, Rule},
};
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    routing::get,
};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workspaces", get(list_workspaces).post(create_workspace))
        .route("/workspaces/{id}", get(workspace).put(update_workspace))
        .route("/workspaces/{id}/routing", get(routing).put(set_routing))
        .route("/tables", get(list_tables).post(create_table))
        .route("/tables/{id}", get(table).put(update_table))
        .route("/tables/{id}/webhooks", get(list_webhooks).post(add_webhook))
        .route("/webhooks/{id}", get(webhook).patch(update_webhook))
}

/// GET /api/v1/workspaces
async fn list_workspaces(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<Workspace>>> {
    principal.require(Role::Viewer)?;
    Ok(Json(store::workspaces::list(&state.db).await?))
}

/// POST /api/v1/workspaces `{"name", "rate_per_sec"?, "burst"?, "monthly_credit_budget"?, …}` → 201
async fn create_workspace(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<WorkspaceInput>,
) -> Result<(StatusCode, Json<Workspace>)> {
    principal.require(Role::Admin)?;
    let workspace = workspaces::create_workspace(&state.db, &principal.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(workspace)))
}

/// GET /api/v1/workspaces/{id}
async fn workspace(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Workspace>> {
    principal.require(Role::Viewer)?;
    Ok(Json(store::workspaces::find(&state.db, id).await?.ok_or(Error::NotFound("workspace"))?))
}

/// PUT /api/v1/workspaces/{id}: the same fields as creation.
async fn update_workspace(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<WorkspaceInput>,
) -> Result<Json<Workspace>> {
    principal.require(Role::Admin)?;
    Ok(Json(workspaces::update_workspace(&state.db, &principal.actor(), id, &input).await?))
}

#[derive(Serialize, Deserialize)]
struct Routing {
    rules: Vec<Rule>,
    /// `{"kind": "hold"}` or `{"kind": "table", "table_id": 3}`.
    #[serde(default = "hold")]
    fallback: Fallback,
}

fn hold() -> Fallback {
    Fallback::Hold
}

/// GET /api/v1/workspaces/{id}/routing
async fn routing(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<Routing>> {
    principal.require(Role::Viewer)?;
    let workspace = store::workspaces::find(&state.db, id).await?.ok_or(Error::NotFound("workspace"))?;
    let rules = store::routing::rules(&state.db, id).await?;
    Ok(Json(Routing { rules, fallback: workspace.fallback_table_id.map_or(Fallback::Hold, Fallback::Table) }))
}

/// PUT /api/v1/workspaces/{id}/routing `{"rules": [{"column", "condition": {"op", "value"}, "table_id"}], "fallback"}`
async fn set_routing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(body): Json<Routing>,
) -> Result<Json<Routing>> {
    principal.require(Role::Operator)?;
    workspaces::set_routing(&state.db, &principal.actor(), id, &body.rules, body.fallback).await?;
    Ok(Json(body))
}

#[derive(Deserialize)]
struct TableFilter {
    workspace_id: Option<i64>,
}

/// GET /api/v1/tables?workspace_id=
async fn list_tables(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<TableFilter>,
) -> Result<Json<Vec<ClayTable>>> {
    principal.require(Role::Viewer)?;
    Ok(Json(store::tables::list(&state.db, filter.workspace_id).await?))
}

/// POST /api/v1/tables `{"workspace_id", "name", "credits_per_lead"}` → 201
async fn create_table(
    State(state): State<AppState>,
    principal: Principal,
    Json(input): Json<TableInput>,
) -> Result<(StatusCode, Json<ClayTable>)> {
    principal.require(Role::Operator)?;
    let table = workspaces::create_table(&state.db, &principal.actor(), &input).await?;
    Ok((StatusCode::CREATED, Json(table)))
}

/// GET /api/v1/tables/{id}
async fn table(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<ClayTable>> {
    principal.require(Role::Viewer)?;
    Ok(Json(store::tables::find(&state.db, id).await?.ok_or(Error::NotFound("table"))?))
}

/// PUT /api/v1/tables/{id} `{"workspace_id", "name", "credits_per_lead"}`
async fn update_table(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<TableInput>,
) -> Result<Json<ClayTable>> {
    principal.require(Role::Operator)?;
    Ok(Json(workspaces::update_table(&state.db, &principal.actor(), id, &input).await?))
}

/// GET /api/v1/tables/{id}/webhooks (URLs masked)
async fn list_webhooks(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Vec<Webhook>>> {
    principal.require(Role::Viewer)?;
    store::tables::find(&state.db, id).await?.ok_or(Error::NotFound("table"))?;
    let hooks = store::webhooks::list(&state.db, Some(id)).await?;
    Ok(Json(hooks.iter().map(workspaces::webhook_view).collect()))
}

/// POST /api/v1/tables/{id}/webhooks `{"url", "auth_token"?, "lifetime_cap"?, "safety_margin"?, "used"?}` → 201
async fn add_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(input): Json<WebhookInput>,
) -> Result<(StatusCode, Json<Webhook>)> {
    principal.require(Role::Operator)?;
    let webhook = workspaces::add_webhook(&state.db, &principal.actor(), id, &input).await?;
    Ok((StatusCode::CREATED, Json(webhook)))
}

/// GET /api/v1/webhooks/{id} → `{"id", "used", "lifetime_cap", "safety_margin", "state", …}`, URL masked
async fn webhook(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Json<Webhook>> {
    principal.require(Role::Viewer)?;
    let record = store::webhooks::find(&state.db, id).await?.ok_or(Error::NotFound("webhook"))?;
    Ok(Json(workspaces::webhook_view(&record)))
}

#[derive(Deserialize)]
struct WebhookChange {
    lifetime_cap: Option<u64>,
    safety_margin: Option<u64>,
    used: Option<u64>,
    state: Option<WebhookState>,
}

/// PATCH /api/v1/webhooks/{id} `{"used"?, "lifetime_cap"?, "safety_margin"?, "state"?}`
async fn update_webhook(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Json(change): Json<WebhookChange>,
) -> Result<Json<Webhook>> {
    principal.require(Role::Operator)?;
    let input = WebhookInput {
        url: String::new(),
        auth_token: None,
        lifetime_cap: change.lifetime_cap,
        safety_margin: change.safety_margin,
        used: change.used,
    };
    Ok(Json(workspaces::update_webhook(&state.db, &principal.actor(), id, &input, change.state).await?))
}
