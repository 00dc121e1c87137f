//! The page's side door into the import pipeline: uploads, rejects and enriched-leads downloads with the browser
//! session (the API takes tokens only). Same pipeline, same answers as `/api/v1/imports`.

use super::api::{ImportParams, rejects_report, run_import};
use crate::{auth::Principal, error::Result, ingest::OverBudget, state::AppState};
use app::domain::Role;
use axum::{
    Router,
    body::Body,
    extract::{Path, Query, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::{get, post},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/imports/upload", post(upload))
        .route("/imports/{id}/rejects.csv", get(rejects))
        .route("/imports/{id}/leads.csv", get(leads))
}

/// POST /imports/upload?… (the same query as the API), the file as the body, sent by the imports
/// page with upload progress. Over budget, it waits for the operator's choice.
async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(error) = principal.require(Role::Operator) {
        return error.into_response();
    }
    match params.request(&state.db, &principal, &headers, "upload", OverBudget::Ask).await {
        Ok(request) => run_import(&state, request, body).await,
        Err(error) => error.into_response(),
    }
}

/// GET /imports/{id}/rejects.csv
async fn rejects(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response> {
    principal.require(Role::Viewer)?;
    rejects_report(&state, id).await
}

/// GET /imports/{id}/leads.csv: the enriched leads.
async fn leads(State(state): State<AppState>, principal: Principal, Path(id): Path<i64>) -> Result<Response> {
    principal.require(Role::Viewer)?;
    crate::exports::enriched_leads_response(&state.db, id).await
}
