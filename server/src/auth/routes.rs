//! The sign-in, sign-out and first-run forms. Plain form posts with redirects, so they work before
//! the WASM loads; the pages that show them live in `app`.

use super::{
    backend::{AuthSession, Credentials},
    password::{self, NewPassword, PasswordError},
};
use crate::{
    accounts::UserEmail,
    error::{Error, Result},
    state::AppState,
    store::{self, login_failures, users},
};
use axum::{
    Form, Router,
    extract::{ConnectInfo, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use serde::Deserialize;
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new().route("/login", post(login)).route("/logout", post(logout)).route("/setup", post(setup))
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// POST /login
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut auth: AuthSession,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    let email = form.email.trim().to_lowercase();
    let account_key = format!("email:{email}");
    let address_key = format!("addr:{}", peer.ip());
    let now = store::now_millis();
    let throttle = state.throttle;
    let since = throttle.window_start(now);

    let account_failures = login_failures::since(&state.db, &account_key, since).await?;
    let address_failures = login_failures::since(&state.db, &address_key, since).await?;
    let wait = [
        throttle.wait(&account_failures, throttle.max_per_account, now),
        throttle.wait(&address_failures, throttle.max_per_address, now),
    ]
    .into_iter()
    .flatten()
    .max();
    if let Some(wait) = wait {
        let minutes = (wait + 59_999) / 60_000;
        tracing::warn!(ip = %peer.ip(), "sign-in throttled");
        return Ok(Redirect::to(&login_error("throttled", Some(minutes), &form.next)).into_response());
    }

    let user = auth
        .authenticate(Credentials { email, password: form.password })
        .await
        .map_err(|e| Error::Internal(format!("authentication failed: {e}")))?;
    let Some(user) = user else {
        login_failures::record(&state.db, &[&account_key, &address_key], now).await?;
        login_failures::prune(&state.db, since).await?;
        return Ok(Redirect::to(&login_error("invalid", None, &form.next)).into_response());
    };
    auth.login(&user).await.map_err(|e| Error::Internal(format!("cannot start a session: {e}")))?;
    login_failures::clear(&state.db, &account_key).await?;
    tracing::info!(user_id = user.0.id, "signed in");
    Ok(Redirect::to(safe_next(&form.next)).into_response())
}

/// POST /logout
async fn logout(mut auth: AuthSession) -> Result<Redirect> {
    auth.logout().await.map_err(|e| Error::Internal(format!("cannot end the session: {e}")))?;
    Ok(Redirect::to("/login"))
}

#[derive(Deserialize)]
struct SetupForm {
    email: String,
    password: String,
    password_again: String,
}

/// POST /setup: creates the first admin, and only while no user exists.
async fn setup(State(state): State<AppState>, mut auth: AuthSession, Form(form): Form<SetupForm>) -> Result<Response> {
    if state.setup_done().await? {
        return Err(Error::NotFound("set-up page"));
    }
    let fail = |code: &str| Ok(Redirect::to(&format!("/setup?error={code}")).into_response());
    let Ok(email) = UserEmail::parse(&form.email) else {
        return fail("email");
    };
    if form.password != form.password_again {
        return fail("mismatch");
    }
    let new_password = match NewPassword::parse(form.password) {
        Ok(p) => p,
        Err(PasswordError::TooShort) => return fail("short"),
        Err(PasswordError::TooLong) => return fail("long"),
    };
    let hash = password::hash(new_password).await?;
    let now = store::now_millis();
    let Some(id) = users::insert_first_admin(&state.db, email.as_str(), &hash, now).await? else {
        return Err(Error::NotFound("set-up page"));
    };
    store::audit::record(&state.db, email.as_str(), "user.create", email.as_str(), Some("first admin, at set-up"), now)
        .await?;
    let user = users::find(&state.db, id).await?.ok_or(Error::Internal("first admin vanished".into()))?;
    auth.login(&super::backend::SessionUser(user))
        .await
        .map_err(|e| Error::Internal(format!("cannot start a session: {e}")))?;
    tracing::info!(user_id = id, "first admin created");
    Ok(Redirect::to("/").into_response())
}

fn login_error(code: &str, retry_minutes: Option<i64>, next: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", code);
    if let Some(minutes) = retry_minutes {
        query.append_pair("retry", &minutes.to_string());
    }
    if safe_next(next) != "/" {
        query.append_pair("next", next);
    }
    format!("/login?{}", query.finish())
}

/// Only same-site paths are followed after sign-in: `//evil.example` and absolute URLs are not.
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local { next } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/planner?x=1"), "/planner?x=1");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }

    #[test]
    fn error_redirects_keep_a_safe_destination() {
        assert_eq!(login_error("invalid", None, "/planner"), "/login?error=invalid&next=%2Fplanner");
        assert_eq!(login_error("throttled", Some(3), "//evil"), "/login?error=throttled&retry=3");
    }
}
