//! `make bench`, delivery part.
//!
//! 1. Raw engine speed: 100,000 leads delivered to a local endpoint with no limit, every state
//!    change committed to SQLite (WAL), with the worker as `kiln serve` runs it.
//! 2. Pacing accuracy: leads sent to the built-in sandbox at 10 records/s (burst 20) for
//!    `KILN_BENCH_PACING_SECS` (default 300) seconds: the achieved rate, and the sandbox's 429 count.

mod common;

use axum::{Router, routing::post};
use common::{Api, start, unlimited_workspace, wait_delivered};
use kiln::{
    config::{DatabaseUrl, WorkerArgs},
    store::{self, Db},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const LEADS: usize = 100_000;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url: DatabaseUrl = format!("sqlite://{}", dir.path().join("kiln.db").display()).parse().unwrap();
    let (db, base, token) = start(&url, dir.path(), true).await;
    let client = reqwest::Client::new();

    // A local endpoint that takes everything.
    let endpoint = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint_addr = endpoint.local_addr().unwrap();
    tokio::spawn(async move {
        let app = Router::new().route("/hook", post(|| async { "ok" }));
        axum::serve(endpoint, app).await.unwrap();
    });

    let api = Api { client: &client, base: &base, token: &token };
    let unlimited = unlimited_workspace(&db).await;
    let table = api.table_in(unlimited, "Unlimited").await;
    api.post(
        &format!("/tables/{table}/webhooks"),
        json!({ "url": format!("http://{endpoint_addr}/hook"), "lifetime_cap": 1_000_000, "safety_margin": 0 }),
    )
    .await;
    let import = api.import(table, LEADS, "bench").await;

    let senders: usize =
        std::env::var("KILN_BENCH_SENDERS").ok().and_then(|s| s.parse().ok()).unwrap_or(WorkerArgs::default().senders);
    let started = store::now_millis();
    let worker = run_worker(&db, senders);
    let finished = wait_delivered(&db, import, LEADS as u64, Duration::from_secs(600)).await;
    let elapsed = Duration::from_millis(u64::try_from(finished - started).unwrap_or(0));
    worker.stop().await;
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
    worker.stop().await;
    let stats: Value = client.get(format!("{base}/sandbox/clay/stats")).send().await.unwrap().json().await.unwrap();
    let rate = delivered as f64 / elapsed;
    println!(
        "pacing: {delivered} leads in {elapsed:.1} s = {rate:.3} records/s at a configured 10/s ({:+.2}%, target within 2%); sandbox 429s: {}",
        (rate / 10.0 - 1.0) * 100.0,
        stats["paced"]["throttled"]
    );
}

/// The worker exactly as `kiln serve` and `kiln worker` run it.
fn run_worker(db: &Db, senders: usize) -> RunningWorker {
    let db = db.clone();
    let args = WorkerArgs { senders, ..WorkerArgs::default() };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        kiln::run_worker(db, args, None, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    RunningWorker { stop, task }
}

struct RunningWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningWorker {
    /// Stops the worker and waits for the answers in flight to be recorded.
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}
