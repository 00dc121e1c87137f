//! `make bench`, PostgreSQL part: 100,000 leads delivered to a local endpoint with no limit by 1,
//! 2 and 3 `kiln worker` processes sharing one PostgreSQL database (a fresh one for each count),
//! every state change committed. The server is `KILN_BENCH_POSTGRES_URL`.

mod common;

use axum::{Router, routing::post};
use common::{Api, start, unlimited_workspace, wait_delivered};
use kiln::{config::DatabaseUrl, store};
use serde_json::json;
use sqlx::Connection;
use std::{
    process::{Command, Stdio},
    time::Duration,
};

const LEADS: usize = 100_000;
const SENDERS: usize = 64;

#[tokio::main]
async fn main() {
    let server = std::env::var("KILN_BENCH_POSTGRES_URL").expect("KILN_BENCH_POSTGRES_URL: a PostgreSQL server");
    let endpoint = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", endpoint.local_addr().unwrap());
    tokio::spawn(async move {
        let app = Router::new().route("/hook", post(|| async { "ok" }));
        axum::serve(endpoint, app).await.unwrap();
    });
    let client = reqwest::Client::new();

    for workers in 1..=3 {
        let name = format!("kiln_bench_{workers}_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server).await.expect("PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
        let raw = match server.rsplit_once('/') {
            Some((authority, _)) => format!("{authority}/{name}"),
            None => panic!("KILN_BENCH_POSTGRES_URL has no database: {server}"),
        };
        let url: DatabaseUrl = raw.parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (db, base, token) = start(&url, dir.path(), false).await;
        let api = Api { client: &client, base: &base, token: &token };

        let unlimited = unlimited_workspace(&db).await;
        let table = api.table_in(unlimited, "Unlimited").await;
        api.post(
            &format!("/tables/{table}/webhooks"),
            json!({ "url": hook, "lifetime_cap": 1_000_000, "safety_margin": 0 }),
        )
        .await;
        let import = api.import(table, LEADS, "bench").await;

        let started = store::now_millis();
        let mut children: Vec<_> = (0..workers)
            .map(|_| {
                Command::new(env!("CARGO_BIN_EXE_kiln"))
                    .args(["worker", "--senders", &SENDERS.to_string()])
                    .env("KILN_DATABASE_URL", url.as_str())
                    .env("KILN_LOG", "warn")
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("kiln worker")
            })
            .collect();
        let finished = wait_delivered(&db, import, LEADS as u64, Duration::from_secs(900)).await;
        for child in &mut children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let seconds = (finished - started) as f64 / 1000.0;
        println!(
            "postgres: {LEADS} leads to a local endpoint in {seconds:.2} s = {:.0} leads/s with {workers} worker process{} ({SENDERS} senders each)",
            LEADS as f64 / seconds,
            if workers == 1 { "" } else { "es" }
        );
        drop(db);
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
    }
}
