//! API tokens over the API (admins only), for automations that rotate their own credentials.

use crate::{accounts, auth::Principal, error::Result, state::AppState, store};
use app::domain::{NewToken, Role, TokenSummary};
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{delete, get},
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/tokens", get(list).post(create)).route("/tokens/{id}", delete(revoke))
}

/// GET /api/v1/tokens
async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<TokenSummary>>> {
    principal.require(Role::Admin)?;
    Ok(Json(store::tokens::list(&state.db).await?.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize)]
struct CreateToken {
    name: String,
    role: Role,
}

/// POST /api/v1/tokens `{"name", "role"}` → 201 with the secret, shown this once.
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, Json<NewToken>)> {
    principal.require(Role::Admin)?;
    let token = accounts::create_token(&state.db, &principal.actor(), &body.name, body.role).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// DELETE /api/v1/tokens/{id}
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<TokenSummary>> {
    principal.require(Role::Admin)?;
    Ok(Json(accounts::revoke_token(&state.db, &principal.actor(), &id.to_string()).await?))
}
