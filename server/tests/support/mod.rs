//! The test harness: a real Kiln on a loopback port with a fresh database, and helpers to act
//! as a browser (cookies, no automatic redirects) or as an automation (bearer tokens).
//!
//! The database is a new SQLite file, or, with `KILN_TEST_STORE=postgres`, a new PostgreSQL
//! database on the server of `KILN_TEST_POSTGRES_URL` (dropped when the test ends): `make test`
//! runs the store's suites a second time that way when the URL is set.
#![allow(dead_code)]

use app::domain::Role;
use kiln::{
    config::{DatabaseUrl, ServeArgs},
    store::Db,
};
use reqwest::{Client, Response, StatusCode, redirect::Policy};
use serde_json::{Value, json};
use sqlx::Connection;
use std::net::SocketAddr;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// A fresh database for one test.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    pub dir: TempDir,
    /// The server's URL and the database's name, to drop it at the end.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn fresh() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        if std::env::var("KILN_TEST_STORE").as_deref() != Ok("postgres") {
            let url = format!("sqlite://{}", dir.path().join("kiln.db").display()).parse().unwrap();
            return TestDatabase { url, dir, postgres: None };
        }
        let server = postgres_url().expect("KILN_TEST_STORE=postgres needs KILN_TEST_POSTGRES_URL");
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let serial = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("kiln_test_{}_{serial}_{nanos}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server).await.expect("PostgreSQL at KILN_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("create database");
        let url = database_url(&server, &name).parse().unwrap();
        TestDatabase { url, dir, postgres: Some((server, name)) }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A plain connection pool for tests that look into the tables themselves.
    pub async fn any(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(self.url.as_str()).await.expect("test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else { return };
        // Drop runs outside any runtime the test may still have: a thread of its own does it.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

/// The PostgreSQL server for tests, when one is configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("KILN_TEST_POSTGRES_URL").ok().filter(|url| !url.is_empty())
}

/// `postgres://user@host:5432/test` with its database replaced by `name`.
pub fn database_url(server: &str, name: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let base = match base.rsplit_once('/') {
        Some((authority, _)) if authority.contains("//") && !authority.ends_with('/') => authority,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub database: TestDatabase,
    stop: Option<oneshot::Sender<()>>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with serve flags adjusted by `configure`.
    pub async fn spawn_with(configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
        let database = TestDatabase::fresh().await;
        let db = Db::connect(&database.url).await.expect("database");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("port");
        let addr = listener.local_addr().unwrap();
        let mut args = ServeArgs {
            addr,
            site_root: database.dir.path().join("site"),
            public_url: None,
            // Tests that want the sandbox and its demo workspace turn it on.
            no_sandbox: true,
            no_worker: true,
            metrics_allow: vec!["127.0.0.1/32".parse().unwrap()],
            worker: kiln::config::WorkerArgs::default(),
        };
        configure(&mut args);
        let app = kiln::build_app(db.clone(), &args, addr, None).await.expect("app");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(kiln::serve(listener, app, async move {
            let _ = stopped.await;
        }));
        TestApp { addr, db, database, stop: Some(stop) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A browser-like client: keeps cookies, does not follow redirects, sends same-origin headers.
    pub fn browser(&self) -> Client {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("origin", self.url("").parse().unwrap());
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        Client::builder().cookie_store(true).redirect(Policy::none()).default_headers(headers).build().unwrap()
    }

    /// A client with no cookies and no browser headers (curl-like).
    pub fn plain(&self) -> Client {
        Client::builder().redirect(Policy::none()).build().unwrap()
    }

    pub async fn create_user(&self, email: &str, role: Role) {
        kiln::accounts::create_user(&self.db, "test", email, PASSWORD.to_owned(), role).await.expect("user");
    }

    pub async fn token(&self, name: &str, role: Role) -> String {
        kiln::accounts::create_token(&self.db, "test", name, role).await.expect("token").secret
    }

    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/login"))
            .form(&[("email", email), ("password", password), ("next", "")])
            .send()
            .await
            .unwrap()
    }

    /// A signed-in browser for a new user with `role`.
    pub async fn signed_in(&self, email: &str, role: Role) -> Client {
        self.create_user(email, role).await;
        let client = self.browser();
        let response = self.login(&client, email, PASSWORD).await;
        assert_eq!(location(&response), "/", "sign-in of {email} failed");
        client
    }

    /// The URL path of the server function whose name contains `name`.
    pub fn server_fn(&self, name: &str) -> String {
        server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .find(|path| path.contains(name))
            .unwrap_or_else(|| panic!("no server function named {name}"))
            .to_owned()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn location(response: &Response) -> String {
    assert!(
        response.status().is_redirection(),
        "expected a redirect, got {} for {}",
        response.status(),
        response.url()
    );
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub fn assert_status(response: &Response, expected: StatusCode) {
    assert_eq!(response.status(), expected, "{} {}", response.url(), response.status());
}

/// An automation: a plain client with an admin API token.
pub struct Api {
    pub app: TestApp,
    pub client: Client,
    pub token: String,
}

impl Api {
    pub async fn new() -> Api {
        Api::on(TestApp::spawn().await).await
    }

    /// An API client with an admin token on `app`.
    pub async fn on(app: TestApp) -> Api {
        let token = app.token("ingest-tests", Role::Admin).await;
        Api { client: app.plain(), app, token }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self.client.post(self.app.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert_status(&response, StatusCode::CREATED);
        response.json().await.unwrap()
    }

    /// POST that must answer 200.
    pub async fn post_ok(&self, path: &str, body: Value) -> Value {
        let response = self.client.post(self.app.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert_status(&response, StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn patch_webhook(&self, id: i64, body: Value) -> Value {
        let url = self.app.url(&format!("/api/v1/webhooks/{id}"));
        let response = self.client.patch(url).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert_status(&response, StatusCode::OK);
        response.json().await.unwrap()
    }

    /// PUT with a JSON body; the response as it came.
    pub async fn put(&self, path: &str, body: Value) -> reqwest::Response {
        self.client.put(self.app.url(path)).bearer_auth(&self.token).json(&body).send().await.unwrap()
    }

    /// GET of a text document (CSV) that must answer 200.
    pub async fn text(&self, path: &str) -> String {
        let response = self.client.get(self.app.url(path)).bearer_auth(&self.token).send().await.unwrap();
        assert_status(&response, StatusCode::OK);
        response.text().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.client.get(self.app.url(path)).bearer_auth(&self.token).send().await.unwrap();
        assert_status(&response, StatusCode::OK);
        response.json().await.unwrap()
    }

    /// A workspace with one table; returns (workspace id, table id).
    pub async fn table(&self, budget: Option<u64>) -> (i64, i64) {
        let workspace = self
            .post(
                "/api/v1/workspaces",
                json!({ "name": "Outbound", "rate_per_sec": 10, "burst": 20, "monthly_credit_budget": budget }),
            )
            .await;
        let table = self
            .post("/api/v1/tables", json!({ "workspace_id": workspace["id"], "name": "Leads", "credits_per_lead": 2 }))
            .await;
        (workspace["id"].as_i64().unwrap(), table["id"].as_i64().unwrap())
    }

    pub async fn import(&self, query: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.app.url(&format!("/api/v1/imports?{query}")))
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    pub async fn csv(&self, table: i64, body: impl Into<reqwest::Body>) -> Value {
        let (status, import) = self.import(&format!("table_id={table}"), "text/csv", body).await;
        assert_eq!(status, StatusCode::CREATED, "{import}");
        assert_balanced(&import);
        import
    }
}

/// rows = accepted + rejected + duplicates, and the reasons add up.
pub fn assert_balanced(import: &Value) {
    let n = |k: &str| import[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {import}"));
    assert_eq!(n("rows"), n("accepted") + n("rejected") + n("duplicates"), "{import}");
    let by_reason: u64 = import["rejected_by_reason"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_reason, n("rejected"), "{import}");
}
