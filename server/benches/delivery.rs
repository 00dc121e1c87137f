//! `make bench`, delivery part.
//!
//! 1. Raw engine speed: 100,000 leads delivered to a local endpoint with no limit, every state
//!    change committed to SQLite (WAL), with the worker as `kiln serve` runs it.
//! 2. Pacing accuracy: leads sent to the built-in sandbox at 10 records/s (burst 20) for
//!    `KILN_BENCH_PACING_SECS` (default 300) seconds: the achieved rate, and the sandbox's 429 count.

use app::domain::Role;
use axum::{Router, routing::post};
use kiln::{
    config::{DatabaseUrl, ServeArgs, WorkerArgs},
    store::{self, Db},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const LEADS: usize = 100_000;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (db, base, token) = start(dir.path()).await;
    let client = reqwest::Client::new();

    // A local endpoint that takes everything.
    let endpoint = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint_addr = endpoint.local_addr().unwrap();
    tokio::spawn(async move {
        let app = Router::new().route("/hook", post(|| async { "ok" }));
        axum::serve(endpoint, app).await.unwrap();
    });

    let api = Api { client: &client, base: &base, token: &token };
    // No pacing: the page and the API cap the rate at 1,000/s, so this workspace is made in the store.
    let fields = store::workspaces::Fields {
        name: "Unlimited",
        rate_per_sec: 1e9,
        burst: 1_000_000,
        plan_key: None,
        monthly_credit_budget: None,
        monthly_action_budget: None,
        budget_day: 1,
    };
    let unlimited = store::workspaces::insert(&db, &fields, false, store::now_millis()).await.unwrap();
    let table = api.table_in(unlimited.id, "Unlimited").await;
    api.post(
        &format!("/tables/{table}/webhooks"),
        json!({ "url": format!("http://{endpoint_addr}/hook"), "lifetime_cap": 1_000_000, "safety_margin": 0 }),
    )
    .await;
    let import = api.import(table, LEADS, "bench").await;

    let senders: usize = std::env::var("KILN_BENCH_SENDERS").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    let started = store::now_millis();
    let worker = run_worker(&db, senders);
    let finished = wait_delivered(&db, import, LEADS as u64, Duration::from_secs(600)).await;
    let elapsed = Duration::from_millis(u64::try_from(finished - started).unwrap_or(0));
    worker.abort();
    println!(
        "engine: {LEADS} leads to a local endpoint in {:.2} s = {:.0} leads/s (target ≥ 20,000), {senders} senders, SQLite",
        elapsed.as_secs_f64(),
        LEADS as f64 / elapsed.as_secs_f64()
    );

    let seconds: u64 = std::env::var("KILN_BENCH_PACING_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(300);
    let table = api.table("Paced", 10.0, 20).await;
    let hook = format!("{base}/sandbox/clay/v3/sources/webhook/paced?workspace=paced");
    api.post(&format!("/tables/{table}/webhooks"), json!({ "url": hook })).await;
    let import = api.import(table, (seconds as usize + 10) * 12, "paced").await;
    let worker = run_worker(&db, 32);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let delivered = store::delivery::counts(&db, import).await.unwrap().delivered;
    let elapsed = started.elapsed().as_secs_f64();
    worker.abort();
    let stats: Value = client.get(format!("{base}/sandbox/clay/stats")).send().await.unwrap().json().await.unwrap();
    let rate = delivered as f64 / elapsed;
    println!(
        "pacing: {delivered} leads in {elapsed:.1} s = {rate:.3} records/s at a configured 10/s ({:+.2}%, target within 2%); sandbox 429s: {}",
        (rate / 10.0 - 1.0) * 100.0,
        stats["paced"]["throttled"]
    );
}

/// The worker exactly as `kiln serve` and `kiln worker` run it.
fn run_worker(db: &Db, senders: usize) -> tokio::task::JoinHandle<()> {
    let db = db.clone();
    let args = WorkerArgs { senders, ..WorkerArgs::default() };
    tokio::spawn(async move { kiln::run_worker(db, args, None, std::future::pending()).await.unwrap() })
}

/// Waits until `expected` leads of the import are delivered; returns when the last one was
/// recorded (its `delivered_at`), so the polling (cheap and rare, not to steal the worker's CPU)
/// does not blur the measurement.
async fn wait_delivered(db: &Db, import: i64, expected: u64, limit: Duration) -> i64 {
    let Db::Sqlite(pool) = db else { unreachable!("the bench runs on SQLite") };
    let deadline = Instant::now() + limit;
    loop {
        let (delivered,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM leads WHERE import_id = $1 AND state = 'delivered'")
                .bind(import)
                .fetch_one(pool)
                .await
                .unwrap();
        if u64::try_from(delivered).unwrap_or(0) >= expected {
            let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(delivered_at) FROM leads WHERE import_id = $1")
                .bind(import)
                .fetch_one(pool)
                .await
                .unwrap();
            return last.unwrap_or_default();
        }
        assert!(Instant::now() < deadline, "not delivered in time: {delivered} of {expected}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn start(dir: &std::path::Path) -> (Db, String, String) {
    let url: DatabaseUrl = format!("sqlite://{}", dir.join("kiln.db").display()).parse().unwrap();
    let db = Db::connect(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = ServeArgs {
        addr,
        site_root: dir.join("site"),
        public_url: None,
        no_sandbox: false,
        no_worker: true,
        metrics_allow: vec!["127.0.0.1/32".parse().unwrap()],
        worker: WorkerArgs::default(),
    };
    let app = kiln::build_app(db.clone(), &args, addr, None).await.unwrap();
    tokio::spawn(kiln::serve(listener, app, std::future::pending()));
    let token = kiln::accounts::create_token(&db, "bench", "bench", Role::Admin).await.unwrap().secret;
    (db, format!("http://{addr}"), token)
}

struct Api<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    token: &'a str,
}

impl Api<'_> {
    async fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/api/v1{path}", self.base);
        self.client.post(url).bearer_auth(self.token).json(&body).send().await.unwrap().json().await.unwrap()
    }

    async fn table(&self, name: &str, rate: f64, burst: u64) -> i64 {
        let workspace = self.post("/workspaces", json!({ "name": name, "rate_per_sec": rate, "burst": burst })).await;
        self.table_in(workspace["id"].as_i64().unwrap(), name).await
    }

    async fn table_in(&self, workspace: i64, name: &str) -> i64 {
        let table =
            self.post("/tables", json!({ "workspace_id": workspace, "name": name, "credits_per_lead": 0 })).await;
        table["id"].as_i64().unwrap()
    }

    async fn import(&self, table: i64, leads: usize, tag: &str) -> i64 {
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
