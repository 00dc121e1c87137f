//! `/api/v1`: the automation API (docs/API.md). Every route but the OpenAPI document needs
//! `Authorization: Bearer <token>` (the gate answers 401 without one); each handler checks the
//! role it needs.

mod delivery;
mod imports;
mod tokens;
mod workspaces;

pub use imports::{ImportParams, ImportView, rejects_report, run as run_import};

use crate::{auth::Principal, state::AppState};
use axum::{Json, Router, routing::get};
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/openapi.json", get(openapi))
        .merge(tokens::router())
        .merge(workspaces::router())
        .merge(imports::router())
        .merge(delivery::router())
}

/// The OpenAPI document of this API, kept beside the handlers it describes.
pub const OPENAPI: &str = include_str!("openapi.json");

/// GET /api/v1/openapi.json (no token needed).
pub async fn openapi() -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// GET /api/v1/me: who the token belongs to.
async fn me(principal: Principal) -> Json<Value> {
    Json(json!({ "actor": principal.actor(), "role": principal.role() }))
}
