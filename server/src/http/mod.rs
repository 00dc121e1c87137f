//! The HTTP surface: pages and server functions (Leptos), the sign-in forms, health checks and
//! the automation API, behind one stack of middleware.

pub mod api;
pub mod health;
mod uploads;

use crate::{
    auth::{self, backend::Backend, gate},
    state::AppState,
    store::sessions::Sessions,
};
use app::{App, services::Services, shell};
use axum::{Router, middleware};
use axum_login::{
    AuthManagerLayerBuilder,
    tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite},
};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower_http::trace::TraceLayer;

/// Session cookies last a week of inactivity.
const SESSION_IDLE_DAYS: i64 = 7;

pub fn router(state: AppState, sessions: Sessions, services: Services, secure_cookies: bool) -> Router {
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name("kiln_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::days(SESSION_IDLE_DAYS)));
    let auth_layer = AuthManagerLayerBuilder::new(Backend::new(state.db.clone()), session_layer).build();

    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);

    Router::new()
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || shell(leptos_options.clone()),
        )
        .merge(auth::routes::router())
        .merge(health::router())
        .route("/events/dashboard", axum::routing::get(crate::dashboard::events))
        .merge(uploads::router())
        .nest("/api/v1", api::router())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(state.clone(), gate::authenticate))
        .layer(auth_layer)
        .layer(middleware::from_fn_with_state(state.clone(), gate::same_origin))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
