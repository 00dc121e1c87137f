//! `/api/v1`: the automation API. Every route needs `Authorization: Bearer <token>` (the gate
//! answers 401 without one); each handler checks the role it needs.

mod imports;
mod tokens;
mod workspaces;

pub use imports::{ImportParams, ImportView, rejects_report, run as run_import};

use crate::{auth::Principal, state::AppState};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me)).merge(tokens::router()).merge(workspaces::router()).merge(imports::router())
}

/// GET /api/v1/me: who the token belongs to.
async fn me(principal: Principal) -> Json<Value> {
    Json(json!({ "actor": principal.actor(), "role": principal.role() }))
}
