//! What the benches share: Kiln on a loopback port, an API client, and the wait for a run to end.
#![allow(dead_code)]

use app::domain::Role;
use kiln::{
    config::{DatabaseUrl, ServeArgs, WorkerArgs},
    store::{self, Db},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Waits until `expected` leads of the import are delivered; returns when the last one was
/// recorded (its `delivered_at`), so the polling (cheap and rare, not to steal the worker's CPU)
/// does not blur the measurement.
pub async fn wait_delivered(db: &Db, import: i64, expected: u64, limit: Duration) -> i64 {
    let deadline = Instant::now() + limit;
    // One index range count: the import pages' counts (with their "no callback" pass over every
    // delivered lead) would take the CPU the worker is being measured on.
    let count = "SELECT COUNT(*) FROM leads WHERE import_id = $1 AND state = 'delivered'";
    let last = "SELECT MAX(delivered_at) FROM leads WHERE import_id = $1";
    loop {
        let (delivered,): (i64,) = match db {
            Db::Sqlite(pool) => sqlx::query_as(count).bind(import).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_as(count).bind(import).fetch_one(pool).await.unwrap(),
        };
        let delivered = u64::try_from(delivered).unwrap_or(0);
        if delivered >= expected {
            let (last,): (Option<i64>,) = match db {
                Db::Sqlite(pool) => sqlx::query_as(last).bind(import).fetch_one(pool).await.unwrap(),
                Db::Postgres(pool) => sqlx::query_as(last).bind(import).fetch_one(pool).await.unwrap(),
            };
            return last.unwrap_or_default();
        }
        assert!(Instant::now() < deadline, "not delivered in time: {delivered} of {expected}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A workspace with no pacing to speak of: the page and the API cap the rate at 1,000/s, so the
/// benches make it in the store.
pub async fn unlimited_workspace(db: &Db) -> i64 {
    let fields = store::workspaces::Fields {
        name: "Unlimited",
        rate_per_sec: 1e9,
        burst: 1_000_000,
        plan_key: None,
        monthly_credit_budget: None,
        monthly_action_budget: None,
        budget_day: 1,
    };
    store::workspaces::insert(db, &fields, false, store::now_millis()).await.unwrap().id
}

/// Kiln on a loopback port with `url`'s database, without its worker, with or without the Clay
/// sandbox; its database, address and an admin token.
pub async fn start(url: &DatabaseUrl, dir: &std::path::Path, sandbox: bool) -> (Db, String, String) {
    let db = Db::connect(url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = ServeArgs {
        addr,
        site_root: dir.join("site"),
        public_url: None,
        no_sandbox: !sandbox,
        no_worker: true,
        metrics_allow: vec!["127.0.0.1/32".parse().unwrap()],
        worker: WorkerArgs::default(),
    };
    let app = kiln::build_app(db.clone(), &args, addr, None).await.unwrap();
    tokio::spawn(kiln::serve(listener, app, std::future::pending()));
    let token = kiln::accounts::create_token(&db, "bench", "bench", Role::Admin).await.unwrap().secret;
    (db, format!("http://{addr}"), token)
}

pub struct Api<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
    pub token: &'a str,
}

impl Api<'_> {
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/api/v1{path}", self.base);
        self.client.post(url).bearer_auth(self.token).json(&body).send().await.unwrap().json().await.unwrap()
    }

    pub async fn table(&self, name: &str, rate: f64, burst: u64) -> i64 {
        let workspace = self.post("/workspaces", json!({ "name": name, "rate_per_sec": rate, "burst": burst })).await;
        self.table_in(workspace["id"].as_i64().unwrap(), name).await
    }

    pub async fn table_in(&self, workspace: i64, name: &str) -> i64 {
        let table =
            self.post("/tables", json!({ "workspace_id": workspace, "name": name, "credits_per_lead": 0 })).await;
        table["id"].as_i64().unwrap()
    }

    pub async fn import(&self, table: i64, leads: usize, tag: &str) -> i64 {
        let mut csv = String::from("email,first_name,company\n");
        for i in 0..leads {
            csv.push_str(&format!("{tag}{i}@example.com,Lead {i},Company {i}\n"));
        }
        let url = format!("{}/api/v1/imports?table_id={table}", self.base);
        let response = self.client.post(url).bearer_auth(self.token).header("content-type", "text/csv").body(csv);
        let import: Value = response.send().await.unwrap().json().await.unwrap();
        import["id"].as_i64().unwrap()
    }
}
