//! The foundation's security rules, against the real app on a loopback port.

mod support;

use app::domain::Role;
use reqwest::StatusCode;
use serde_json::json;
use support::{PASSWORD, TestApp, assert_status, location};

#[tokio::test]
async fn health_answers_without_sign_in() {
    let app = TestApp::spawn().await;
    let response = app.plain().get(app.url("/healthz")).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "ok");
}

#[tokio::test]
async fn first_run_sends_everyone_to_setup_until_an_admin_exists() {
    let app = TestApp::spawn().await;
    let browser = app.browser();
    for path in ["/", "/planner", "/login"] {
        let response = browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(location(&response), "/setup", "{path}");
    }
    assert_status(&browser.get(app.url("/setup")).send().await.unwrap(), StatusCode::OK);

    // A bad form is sent back with the reason, and creates nobody.
    let response = browser
        .post(app.url("/setup"))
        .form(&[("email", "ada@example.com"), ("password", "short"), ("password_again", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/setup?error=short");
    let response = browser
        .post(app.url("/setup"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("password_again", "something else")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/setup?error=mismatch");

    let response = browser
        .post(app.url("/setup"))
        .form(&[("email", "Ada@Example.com"), ("password", PASSWORD), ("password_again", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/");
    // Signed in straight away, as an admin.
    let home = browser.get(app.url("/")).send().await.unwrap();
    assert_status(&home, StatusCode::OK);
    let whoami: serde_json::Value =
        browser.post(app.url("/api/whoami")).json(&json!({})).send().await.unwrap().json().await.unwrap();
    assert_eq!(whoami["email"], "ada@example.com");
    assert_eq!(whoami["role"], "admin");

    // Set-up is gone for good: the page redirects, the form is refused.
    let anonymous = app.browser();
    assert_eq!(location(&anonymous.get(app.url("/setup")).send().await.unwrap()), "/login");
    let again = anonymous
        .post(app.url("/setup"))
        .form(&[("email", "eve@example.com"), ("password", PASSWORD), ("password_again", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_status(&again, StatusCode::NOT_FOUND);
    assert!(kiln::store::users::find_by_email(&app.db, "eve@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn anonymous_pages_redirect_to_login_keeping_the_destination() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let browser = app.browser();
    assert_eq!(location(&browser.get(app.url("/")).send().await.unwrap()), "/login");
    assert_eq!(
        location(&browser.get(app.url("/planner?leads=5000")).send().await.unwrap()),
        "/login?next=%2Fplanner%3Fleads%3D5000"
    );
    assert_eq!(
        location(&browser.get(app.url("/no/such/page")).send().await.unwrap()),
        "/login?next=%2Fno%2Fsuch%2Fpage"
    );
    assert_status(&browser.get(app.url("/login")).send().await.unwrap(), StatusCode::OK);

    // After signing in, the same pages render, and an unknown one is a 404 page.
    let response = app.login(&browser, "ada@example.com", PASSWORD).await;
    assert_eq!(location(&response), "/");
    for path in ["/", "/planner", "/imports", "/deliveries", "/webhooks", "/budgets", "/settings", "/settings/users"] {
        let page = browser.get(app.url(path)).send().await.unwrap();
        assert_status(&page, StatusCode::OK);
        let html = page.text().await.unwrap();
        assert!(html.contains("ada@example.com"), "{path} shows who is signed in");
    }
    let missing = browser.get(app.url("/no/such/page")).send().await.unwrap();
    assert_status(&missing, StatusCode::NOT_FOUND);
    assert!(missing.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn sign_in_follows_next_only_within_the_site() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Viewer).await;
    let browser = app.browser();
    let response = browser
        .post(app.url("/login"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("next", "/planner?leads=5")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/planner?leads=5");
    let browser = app.browser();
    let response = browser
        .post(app.url("/login"))
        .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/");
}

#[tokio::test]
async fn every_server_function_refuses_anonymous_callers_with_401() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let browser = app.browser();
    let mut checked = 0;
    for (path, _) in server_fn::axum::server_fn_paths() {
        if path == "/api/whoami" {
            continue;
        }
        let response = browser.post(app.url(path)).body("").send().await.unwrap();
        assert_status(&response, StatusCode::UNAUTHORIZED);
        let error: app::error::AppError = response.json().await.unwrap();
        assert_eq!(error, app::error::AppError::Unauthorized);
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} server functions found");
}

#[tokio::test]
async fn server_functions_check_the_role() {
    let app = TestApp::spawn().await;
    let list_users = app.server_fn("list_users");
    let create_token = app.server_fn("create_token");

    for role in [Role::Viewer, Role::Operator] {
        let browser = app.signed_in(&format!("{role}@example.com"), role).await;
        let response = browser.post(app.url(&list_users)).json(&json!({})).send().await.unwrap();
        assert_status(&response, StatusCode::FORBIDDEN);
        let response = browser
            .post(app.url(&create_token))
            .json(&json!({ "name": "sneaky", "role": "admin" }))
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::FORBIDDEN);
    }
    assert!(kiln::store::tokens::list(&app.db).await.unwrap().is_empty());

    let admin = app.signed_in("admin@example.com", Role::Admin).await;
    let response = admin.post(app.url(&list_users)).json(&json!({})).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let users: Vec<app::domain::UserSummary> = response.json().await.unwrap();
    assert_eq!(users.len(), 3);
}

#[tokio::test]
async fn admins_manage_users_but_never_remove_the_last_admin() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("admin@example.com", Role::Admin).await;
    let create_user = app.server_fn("create_user");
    let update_user = app.server_fn("update_user");

    let response = admin
        .post(app.url(&create_user))
        .json(&json!({ "email": "Op@Example.com", "password": PASSWORD, "role": "operator" }))
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    let duplicate = admin
        .post(app.url(&create_user))
        .json(&json!({ "email": "op@example.com", "password": PASSWORD, "role": "viewer" }))
        .send()
        .await
        .unwrap();
    assert_status(&duplicate, StatusCode::CONFLICT);

    // The operator signs in; once disabled, their session stops working at the next request.
    let operator = app.browser();
    assert_eq!(location(&app.login(&operator, "op@example.com", PASSWORD).await), "/");
    assert_status(&operator.get(app.url("/")).send().await.unwrap(), StatusCode::OK);
    let op = kiln::store::users::find_by_email(&app.db, "op@example.com").await.unwrap().unwrap();
    let response = admin
        .post(app.url(&update_user))
        .json(&json!({ "id": op.id, "role": "operator", "disabled": true }))
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::OK);
    assert!(location(&operator.get(app.url("/")).send().await.unwrap()).starts_with("/login"));
    assert!(location(&app.login(&operator, "op@example.com", PASSWORD).await).contains("error=invalid"));

    // The only admin cannot demote or disable themselves.
    let me = kiln::store::users::find_by_email(&app.db, "admin@example.com").await.unwrap().unwrap();
    for (role, disabled) in [("operator", false), ("admin", true)] {
        let response = admin
            .post(app.url(&update_user))
            .json(&json!({ "id": me.id, "role": role, "disabled": disabled }))
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::CONFLICT);
    }
    let audit: Vec<(String, String)> = sqlx::query_as("SELECT actor, action FROM audit_log ORDER BY id")
        .fetch_all(&app.database.any().await)
        .await
        .unwrap();
    assert!(audit.contains(&("admin@example.com".into(), "user.update".into())), "{audit:?}");
}

#[tokio::test]
async fn the_api_takes_bearer_tokens_and_checks_their_role() {
    let app = TestApp::spawn().await;
    let client = app.plain();
    let me = app.url("/api/v1/me");
    let tokens = app.url("/api/v1/tokens");

    let response = client.get(&me).send().await.unwrap();
    assert_status(&response, StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_status(&client.get(&me).bearer_auth("kiln_not_a_token").send().await.unwrap(), StatusCode::UNAUTHORIZED);

    let viewer = app.token("dashboard", Role::Viewer).await;
    let response = client.get(&me).bearer_auth(&viewer).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["actor"], "token:dashboard");
    assert_eq!(body["role"], "viewer");
    assert_status(&client.get(&tokens).bearer_auth(&viewer).send().await.unwrap(), StatusCode::FORBIDDEN);

    let admin = app.token("ops", Role::Admin).await;
    let response = client.get(&tokens).bearer_auth(&admin).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    let listed = response.text().await.unwrap();
    assert!(listed.contains("dashboard") && !listed.contains(&viewer[5..]), "secrets are never listed");

    // A session cookie is not a token: the API does not accept it.
    let browser = app.signed_in("ada@example.com", Role::Admin).await;
    assert_status(&browser.get(&me).send().await.unwrap(), StatusCode::UNAUTHORIZED);

    // Revoked tokens stop working at once.
    let id = kiln::store::tokens::list(&app.db).await.unwrap().into_iter().find(|t| t.name == "dashboard").unwrap().id;
    let response = client.delete(app.url(&format!("/api/v1/tokens/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    assert_status(&client.get(&me).bearer_auth(&viewer).send().await.unwrap(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn state_changing_requests_from_another_origin_are_refused() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let plain = app.plain();
    let form = [("email", "ada@example.com"), ("password", PASSWORD), ("next", "")];

    // Login CSRF: another site posting the sign-in form.
    let response =
        plain.post(app.url("/login")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);
    let response =
        plain.post(app.url("/login")).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);

    // A signed-in browser tricked by another site into calling a server function.
    let browser = app.signed_in("admin@example.com", Role::Admin).await;
    let create_token = app.server_fn("create_token");
    let response = browser
        .post(app.url(&create_token))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({ "name": "stolen", "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);
    let response = browser
        .post(app.url("/logout"))
        .header("sec-fetch-site", "same-site")
        .header("origin", "https://sub.evil.example")
        .send()
        .await
        .unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);
    assert!(kiln::store::tokens::list(&app.db).await.unwrap().is_empty());

    // The same requests from the app's own pages go through.
    let response =
        browser.post(app.url(&create_token)).json(&json!({ "name": "mine", "role": "viewer" })).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    // Reads are never blocked: links from other sites must work.
    let response = browser.get(app.url("/")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_status(&response, StatusCode::OK);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_without_revealing_accounts() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let browser = app.browser();

    let unknown = location(&app.login(&browser, "nobody@example.com", "wrong password").await);
    let wrong = location(&app.login(&browser, "ada@example.com", "wrong password").await);
    assert_eq!(unknown, "/login?error=invalid");
    assert_eq!(wrong, unknown, "an unknown email and a wrong password read the same");

    for _ in 0..4 {
        assert_eq!(location(&app.login(&browser, "ada@example.com", "wrong password").await), "/login?error=invalid");
    }
    // Five failures: even the right password is refused for now, and the page says how long.
    let throttled = location(&app.login(&browser, "ada@example.com", PASSWORD).await);
    assert_eq!(throttled, "/login?error=throttled&retry=15");
    // Unknown accounts are throttled alike, so throttling reveals nothing either.
    for _ in 0..4 {
        app.login(&browser, "nobody@example.com", "wrong password").await;
    }
    assert_eq!(location(&app.login(&browser, "nobody@example.com", "x").await), "/login?error=throttled&retry=15");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_address_across_accounts() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let browser = app.browser();
    // Spraying one password over many accounts from one address.
    for n in 0..20 {
        let to = location(&app.login(&browser, &format!("user{n}@example.com"), "wrong password").await);
        assert_eq!(to, "/login?error=invalid");
    }
    let to = location(&app.login(&browser, "ada@example.com", PASSWORD).await);
    assert!(to.starts_with("/login?error=throttled"), "{to}");
}

#[tokio::test]
async fn session_cookies_are_http_only_lax_and_secure_behind_https() {
    let app = TestApp::spawn().await;
    app.create_user("ada@example.com", Role::Admin).await;
    let response = app.login(&app.browser(), "ada@example.com", PASSWORD).await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kiln_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http cannot carry Secure cookies: {cookie}");

    let app = TestApp::spawn_with(|args| args.public_url = Some("https://kiln.example.com".parse().unwrap())).await;
    app.create_user("ada@example.com", Role::Admin).await;
    let response = app
        .plain()
        .post(app.url("/login"))
        .header("origin", "https://kiln.example.com")
        .form(&[("email", "ada@example.com"), ("password", PASSWORD), ("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/");
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("ada@example.com", Role::Operator).await;
    assert_status(&browser.get(app.url("/")).send().await.unwrap(), StatusCode::OK);
    assert_eq!(location(&browser.post(app.url("/logout")).send().await.unwrap()), "/login");
    assert_eq!(location(&browser.get(app.url("/")).send().await.unwrap()), "/login");
}
