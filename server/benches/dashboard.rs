//! `make bench`, monitoring part: the dashboard with 1,000,000 leads and 200 imports.
//!
//! Measures, on SQLite: the snapshot the dashboard task computes every 2 s (its cost does not
//! depend on how many people watch), and the requests a person's browser makes: the home page
//! (server-rendered, with the alert banner), the dashboard server function, the webhooks and
//! budgets pages' server functions (the budgets roll-up holds a year of 20 tables' days), the
//! imports and deliveries pages' lists (each import with its leads counted per state), and the
//! first event of the live stream. 200 requests each; p50 and p95.

mod common;

use app::domain::Role;
use common::start;
use kiln::{
    config::DatabaseUrl,
    store::{self, Db},
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const LEADS: i64 = 1_000_000;
const IMPORTS: usize = 200;
const REQUESTS: usize = 200;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url: DatabaseUrl = format!("sqlite://{}", dir.path().join("kiln.db").display()).parse().unwrap();
    let (db, base, token) = start(&url, dir.path(), false).await;
    let api = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = api.post(format!("{base}/api/v1{path}")).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let workspace = post("/workspaces", json!({ "name": "Bench", "monthly_credit_budget": 10_000_000 })).await;
    let table = post("/tables", json!({ "workspace_id": workspace["id"], "name": "T", "credits_per_lead": 2 })).await;
    post(&format!("/tables/{}/webhooks", table["id"]), json!({ "url": "http://127.0.0.1:9/hook" })).await;
    let mut import_ids = Vec::with_capacity(IMPORTS);
    for i in 0..IMPORTS {
        let response = api
            .post(format!("{base}/api/v1/imports?table_id={}", table["id"]))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(format!("email\nseed{i}@example.com\n"))
            .send()
            .await
            .unwrap();
        import_ids.push(response.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }

    // A million leads in every state, spread over the 200 imports, in one statement.
    let Db::Sqlite(pool) = &db else { unreachable!() };
    let now = store::now_millis();
    let seeding = Instant::now();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO leads (workspace_id, import_id, table_id, priority, line, key_hi, key_lo, payload, state, created_at,
                            delivered_at, callback_at, last_status, credits_used)
         SELECT $2, $3 + (i % $4), $5, 1, i, i, 0, '{\"email\":\"lead@example.com\"}',
                CASE WHEN i % 10 < 6 THEN 'delivered' WHEN i % 10 < 8 THEN 'queued' WHEN i % 10 = 8 THEN 'retrying'
                     ELSE 'dead' END,
                $6,
                CASE WHEN i % 10 < 6 THEN $6 - (i % 86400) * 1000 END,
                CASE WHEN i % 10 < 3 THEN $6 - (i % 3600) * 1000 END,
                CASE WHEN i % 10 < 6 THEN 200 WHEN i % 10 = 9 THEN 500 END,
                CASE WHEN i % 10 < 3 THEN 2.0 END
         FROM n",
    )
    .bind(LEADS)
    .bind(workspace["id"].as_i64().unwrap())
    .bind(import_ids[0])
    .bind(IMPORTS as i64)
    .bind(table["id"].as_i64().unwrap())
    .bind(now)
    .execute(pool)
    .await
    .unwrap();
    // A year of callbacks in the budgets roll-up: 20 tables, every day.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 365 * 20 - 1)
         INSERT INTO budget_days (workspace_id, table_id, day_start, leads, credits_estimated, credits_spent, actions_spent)
         SELECT $1, 1000 + i % 20, $2 - (i / 20) * 86400000, 100, 200.0, 150.0 + i % 7, 300.0 FROM n",
    )
    .bind(workspace["id"].as_i64().unwrap())
    .bind(now - now.rem_euclid(86_400_000))
    .execute(pool)
    .await
    .unwrap();
    println!("seeded {LEADS} leads over {IMPORTS} imports in {:.1} s", seeding.elapsed().as_secs_f64());

    let mut snapshot = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        store::dashboard::snapshot(&db, store::now_millis()).await.unwrap();
        snapshot.push(started.elapsed());
    }
    report("snapshot (computed once per 2 s, for everyone)", &mut snapshot);

    kiln::accounts::create_user(&db, "bench", "lead@bench.example", "correct horse battery".into(), Role::Viewer)
        .await
        .unwrap();
    // A browser on the same origin (the same-origin rule applies to server functions).
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    browser
        .post(format!("{base}/login"))
        .form(&[("email", "lead@bench.example"), ("password", "correct horse battery"), ("next", "")])
        .send()
        .await
        .unwrap();
    // Let the dashboard task publish its first snapshot of the seeded data.
    tokio::time::sleep(kiln::dashboard::REFRESH * 2).await;

    let mut page = Vec::new();
    for _ in 0..REQUESTS {
        let started = Instant::now();
        let response = browser.get(format!("{base}/")).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        page.push(started.elapsed());
    }
    report("GET / (the dashboard page, server-rendered)", &mut page);

    for (name, function) in [
        ("live_dashboard", "dashboard"),
        ("load_webhooks", "webhooks"),
        ("load_budgets", "budgets"),
        ("open_alerts", "alerts"),
        ("recent_imports", "imports page's list (every 3 s while open)"),
        ("imports_in_delivery", "deliveries page's list (every 3 s while open)"),
    ] {
        let path = server_fn_path(name);
        let mut times = Vec::new();
        for _ in 0..REQUESTS {
            let started = Instant::now();
            let response = browser.post(format!("{base}{path}")).json(&json!({})).send().await.unwrap();
            assert!(response.status().is_success(), "{path}: {}", response.status());
            response.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        report(&format!("server function: {function}"), &mut times);
    }

    let mut first_event = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut response = browser.get(format!("{base}/events/dashboard")).send().await.unwrap();
        while let Some(chunk) = response.chunk().await.unwrap() {
            if chunk.windows(6).any(|w| w == b"data: ") {
                break;
            }
        }
        first_event.push(started.elapsed());
    }
    report("GET /events/dashboard (first event)", &mut first_event);
}

/// The URL path of a server function, as Leptos registers it.
fn server_fn_path(name: &str) -> String {
    server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .find(|path| path.contains(name))
        .unwrap_or_else(|| panic!("no server function {name}"))
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1).min(times.len() - 1)];
    println!(
        "{what}: p50 {:.1} ms, p95 {:.1} ms (target < 50 ms at p95 for requests)",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.95).as_secs_f64() * 1000.0
    );
}
