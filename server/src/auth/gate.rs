//! The middleware that decides, before any handler runs, whether a request may go on: the
//! same-origin rule for state-changing requests, then authentication by session or API token.

use super::{Principal, backend::AuthSession, tokens};
use crate::{error::Error, state::AppState, store};
use app::error::AppError;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

/// How a path is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: sign-in, first-run set-up, health, static assets. (`/metrics` checks the caller's
    /// address or token itself.)
    Public,
    /// A page: anonymous visitors are sent to `/login`.
    Page,
    /// A server function (`/api/…`): anonymous callers get 401.
    ServerFn,
    /// The automation API (`/api/v1/…`): a bearer token, else 401.
    Api,
}

pub fn classify(path: &str) -> Access {
    const PUBLIC: [&str; 8] =
        ["/login", "/logout", "/setup", "/healthz", "/readyz", "/metrics", "/favicon.svg", "/favicon.ico"];
    if PUBLIC.contains(&path) || path.starts_with("/pkg/") || path == "/api/whoami" || path == "/api/v1/openapi.json"
        // Callbacks carry their table's token; the sandbox stands in for Clay and checks its own.
        || path.starts_with("/api/v1/callbacks/")
        || path.starts_with("/sandbox/")
    {
        Access::Public
    } else if path.starts_with("/api/v1/") || path == "/api/v1" {
        Access::Api
    } else if path.starts_with("/api/") || path == "/imports/upload" || path.starts_with("/events/") {
        // Called by scripts of the page: an expired session gets a 401 to read, not a redirect.
        Access::ServerFn
    } else {
        Access::Page
    }
}

/// Refuses state-changing requests that a browser sends from another origin (server functions
/// and form posts have no CSRF token of their own). Requests that carry an `Authorization`
/// header are API calls with a token, which no other site can make in the user's name.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || request.headers().contains_key(header::AUTHORIZATION) {
        return next.run(request).await;
    }
    if is_cross_origin(request.headers(), state.public_origin.as_deref()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-origin state-changing request");
        return (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": "cross-origin request refused" })))
            .into_response();
    }
    next.run(request).await
}

/// Whether the browser says the request comes from another origin. `Sec-Fetch-Site` is trusted
/// when present (browsers set it and scripts cannot); otherwise `Origin` must name this host.
pub fn is_cross_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let text = |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        // Not a browser (curl, a server): no ambient credentials to abuse.
        return false;
    };
    if public_origin.is_some_and(|p| p.eq_ignore_ascii_case(origin)) {
        return false;
    }
    let origin_host = origin.split_once("://").map(|(_, host)| host);
    match (origin_host, text(header::HOST.as_str())) {
        (Some(origin_host), Some(host)) => !origin_host.eq_ignore_ascii_case(host),
        _ => true,
    }
}

/// Finds the caller (session or token), puts them in the request's extensions, and turns away
/// anonymous callers where the path needs one.
pub async fn authenticate(
    State(state): State<AppState>,
    auth: AuthSession,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let access = classify(&path);

    if let Some(user) = &auth.user {
        let current = user.current();
        request.extensions_mut().insert(Principal::User(current.clone()));
        request.extensions_mut().insert(current);
    }

    match access {
        Access::Public => match first_run_redirect(&state, &path, request.method()).await {
            Ok(Some(redirect)) => redirect.into_response(),
            Ok(None) => next.run(request).await,
            Err(error) => error.into_response(),
        },
        Access::Page if auth.user.is_some() => next.run(request).await,
        Access::Page => match state.setup_done().await {
            Ok(false) => Redirect::to("/setup").into_response(),
            Ok(true) => Redirect::to(&login_url(request.uri())).into_response(),
            Err(error) => Error::from(error).into_response(),
        },
        Access::ServerFn if auth.user.is_some() => next.run(request).await,
        Access::ServerFn => server_fn_unauthorized(),
        Access::Api => match bearer_principal(&state, request.headers()).await {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
                next.run(request).await
            }
            Ok(None) => Error::Unauthorized.into_response(),
            Err(error) => error.into_response(),
        },
    }
}

/// `/login` before the first admin exists sends to `/setup`; `/setup` afterwards sends to `/login`.
async fn first_run_redirect(state: &AppState, path: &str, method: &Method) -> Result<Option<Redirect>, Error> {
    if *method != Method::GET || !matches!(path, "/login" | "/setup") {
        return Ok(None);
    }
    let done = state.setup_done().await?;
    Ok(match (path, done) {
        ("/login", false) => Some(Redirect::to("/setup")),
        ("/setup", true) => Some(Redirect::to("/login")),
        _ => None,
    })
}

fn login_url(uri: &http::Uri) -> String {
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    if target == "/" {
        return "/login".to_owned();
    }
    let next: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
    format!("/login?next={next}")
}

/// A 401 in the encoding server functions use for errors, so the page can read it.
fn server_fn_unauthorized() -> Response {
    let body = serde_json::to_string(&AppError::Unauthorized).unwrap_or_default();
    (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(crate) async fn bearer_principal(state: &AppState, headers: &HeaderMap) -> Result<Option<Principal>, Error> {
    let Some(secret) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(tokens::from_authorization)
    else {
        return Ok(None);
    };
    let Some(token) = store::tokens::find_active_by_hash(&state.db, &tokens::hash(secret)).await? else {
        return Ok(None);
    };
    store::tokens::touch(&state.db, token.id, store::now_millis()).await?;
    Ok(Some(Principal::Token { id: token.id, name: token.name, role: token.role }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn paths_are_classified() {
        assert_eq!(classify("/login"), Access::Public);
        assert_eq!(classify("/pkg/kiln.wasm"), Access::Public);
        assert_eq!(classify("/api/whoami"), Access::Public);
        assert_eq!(classify("/healthz"), Access::Public);
        assert_eq!(classify("/api/v1/tokens"), Access::Api);
        assert_eq!(classify("/api/v1/openapi.json"), Access::Public);
        assert_eq!(classify("/api/list_users123"), Access::ServerFn);
        assert_eq!(classify("/imports/upload"), Access::ServerFn);
        assert_eq!(classify("/imports/3/rejects.csv"), Access::Page);
        assert_eq!(classify("/"), Access::Page);
        assert_eq!(classify("/planner"), Access::Page);
        assert_eq!(classify("/loginx"), Access::Page);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(!is_cross_origin(&headers(&[("sec-fetch-site", "same-origin")]), None));
        assert!(is_cross_origin(&headers(&[("sec-fetch-site", "cross-site")]), None));
        assert!(is_cross_origin(&headers(&[("sec-fetch-site", "same-site")]), None));
    }

    #[test]
    fn origin_must_match_host_or_public_url() {
        let same = headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]);
        assert!(!is_cross_origin(&same, None));
        let other = headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:3000")]);
        assert!(is_cross_origin(&other, None));
        let proxied = headers(&[("origin", "https://kiln.example.com"), ("host", "10.0.0.5:3000")]);
        assert!(!is_cross_origin(&proxied, Some("https://kiln.example.com")));
        assert!(is_cross_origin(&headers(&[("origin", "null"), ("host", "x")]), None));
        // No browser headers at all: not a browser.
        assert!(!is_cross_origin(&headers(&[("host", "127.0.0.1:3000")]), None));
    }

    #[test]
    fn login_redirect_keeps_the_destination() {
        assert_eq!(login_url(&"/".parse().unwrap()), "/login");
        assert_eq!(login_url(&"/planner?leads=5".parse().unwrap()), "/login?next=%2Fplanner%3Fleads%3D5");
    }
}
