//! The built-in Clay sandbox: webhook sources under `/sandbox/clay/v3/sources/webhook/{id}` that
//! behave as Clay's do (clay-facts.md), so Kiln can be watched at work without a Clay account, and
//! tested and benchmarked against something that pushes back.
//!
//! Per request it checks, in Clay's order: the auth header (when the webhook has one), the
//! 100 KB payload limit (413), the workspace's rate — 10 records/s, bursts of 20 — (429 with
//! `Retry-After`), and the lifetime cap (410 past it: a sender that respects the cap never sees
//! it). Then, like a table with an HTTP API column, it calls Kiln back after a short delay with
//! deterministic synthetic enrichment.
//!
//! A webhook is configured by its URL's query, since the URL is all a sender knows:
//! `workspace` (whose rate limit it shares, default `default`), `auth` (the expected
//! `x-clay-webhook-auth`), `cap` (lifetime cap, default 50,000), `rate` and `burst`,
//! `fail` (the share of requests answered 500, deterministic per row and arrival), `fail_status`
//! (what those are answered instead of 500: 400 makes dead leads, 401 a failing webhook),
//! `callback_table` (the Kiln table to call back, if that table sends to this very webhook; none
//! when absent), `callback_delay_ms`
//! (default 500), `credits` and `actions` (what each row uses, exactly; by default between half
//! and all of the table's estimates, deterministic per row).

use crate::{
    delivery::pacing::TokenBucket,
    store::{self, Db, tables::Estimate},
    workspaces::CALLBACK_TOKEN_HEADER,
};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

/// Clay refuses payloads over 100 KB.
pub const MAX_PAYLOAD: usize = 100 * 1024;

/// Rows whose arrivals the sandbox remembers (for injected failures and repeats), and webhooks
/// and workspaces it keeps counts for: it answers whoever reaches Kiln, so what it holds has a
/// bound. Past it, the rows are forgotten (repeats after that are not counted) and new webhooks
/// and workspaces answer 404.
const REMEMBERED_ROWS: usize = 1_000_000;
const REMEMBERED_WEBHOOKS: usize = 10_000;

#[derive(Clone)]
pub struct Sandbox {
    db: Db,
    /// Where Kiln listens, for the callbacks.
    kiln_origin: String,
    client: reqwest::Client,
    state: Arc<Mutex<Ledger>>,
}

#[derive(Default)]
struct Ledger {
    buckets: HashMap<String, TokenBucket>,
    webhooks: BTreeMap<String, WebhookStats>,
    arrivals: HashMap<String, u32>,
    accepted: HashSet<String>,
}

/// What one sandbox webhook has seen (`GET /sandbox/clay/stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookStats {
    /// Rows taken (each counts against the lifetime cap).
    pub accepted: u64,
    /// Rows whose `kiln_id` had been accepted before (re-sends of a row Clay already had).
    pub repeats: u64,
    pub throttled: u64,
    pub too_large: u64,
    pub unauthorized: u64,
    pub injected_failures: u64,
    pub past_cap: u64,
    pub callbacks_sent: u64,
    pub callbacks_failed: u64,
    /// Callbacks asked for a table that does not send to this webhook: not made.
    pub callbacks_refused: u64,
}

#[derive(Debug, Deserialize)]
pub struct WebhookConfig {
    workspace: Option<String>,
    auth: Option<String>,
    cap: Option<u64>,
    rate: Option<f64>,
    burst: Option<u32>,
    fail: Option<f64>,
    fail_status: Option<u16>,
    callback_table: Option<i64>,
    callback_delay_ms: Option<u64>,
    credits: Option<f64>,
    actions: Option<f64>,
}

impl Sandbox {
    pub fn new(db: Db, kiln_origin: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Sandbox { db, kiln_origin, client, state: Arc::default() }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/sandbox/clay/v3/sources/webhook/{id}", post(receive))
            .route("/sandbox/clay/stats", get(stats))
            .with_state(self)
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves counters, not invariants: keep going.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn stats(State(sandbox): State<Sandbox>) -> Json<BTreeMap<String, WebhookStats>> {
    Json(sandbox.ledger().webhooks.clone())
}

async fn receive(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    Query(config): Query<WebhookConfig>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = store::now_millis();
    let kiln_id = serde_json::from_slice::<Value>(&body).ok().and_then(|row| match row.get("kiln_id") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Number(id)) => Some(id.to_string()),
        _ => None,
    });
    let verdict = {
        let mut ledger = sandbox.ledger();
        let ledger = &mut *ledger;
        let workspace = config.workspace.clone().unwrap_or_else(|| "default".to_owned());
        if (ledger.webhooks.len() >= REMEMBERED_WEBHOOKS && !ledger.webhooks.contains_key(&id))
            || (ledger.buckets.len() >= REMEMBERED_WEBHOOKS && !ledger.buckets.contains_key(&workspace))
        {
            return (StatusCode::NOT_FOUND, Json(json!({ "error": "no such webhook" }))).into_response();
        }
        let stats = ledger.webhooks.entry(id.clone()).or_default();
        if let Some(expected) = &config.auth {
            let offered = headers.get("x-clay-webhook-auth").and_then(|v| v.to_str().ok());
            if offered != Some(expected.as_str()) {
                stats.unauthorized += 1;
                return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid webhook auth" }))).into_response();
            }
        }
        if body.len() > MAX_PAYLOAD {
            stats.too_large += 1;
            return (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({ "error": "payload over 100 KB" }))).into_response();
        }
        let bucket = ledger
            .buckets
            .entry(workspace)
            .or_insert_with(|| TokenBucket::new(config.rate.unwrap_or(10.0), config.burst.unwrap_or(20), now));
        if bucket.take(now, 1) == 0 {
            stats.throttled += 1;
            let wait = ((bucket.next_token_at(now) - now) as f64 / 1000.0).ceil().max(1.0);
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, format!("{wait}"))],
                Json(json!({ "error": "rate limit exceeded" })),
            )
                .into_response();
        }
        let key = kiln_id.clone().unwrap_or_default();
        if ledger.arrivals.len() >= REMEMBERED_ROWS && !ledger.arrivals.contains_key(&key) {
            ledger.arrivals.clear();
            ledger.accepted.clear();
        }
        let arrival = ledger.arrivals.entry(key.clone()).or_default();
        *arrival += 1;
        let arrival = *arrival;
        if config.fail.is_some_and(|share| unit(&format!("{key}#{arrival}")) < share) {
            stats.injected_failures += 1;
            let status = config
                .fail_status
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (status, Json(json!({ "error": "injected failure" }))).into_response();
        }
        if stats.accepted >= config.cap.unwrap_or(50_000) {
            stats.past_cap += 1;
            return (StatusCode::GONE, Json(json!({ "error": "webhook submission limit reached" }))).into_response();
        }
        stats.accepted += 1;
        if !ledger.accepted.insert(key) {
            stats.repeats += 1;
        }
        config.callback_table.zip(kiln_id)
    };
    if let Some((table_id, kiln_id)) = verdict {
        let row: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        tokio::spawn(call_back(sandbox, id, table_id, kiln_id, row, config));
    }
    (StatusCode::OK, Json(json!({ "status": "accepted" }))).into_response()
}

/// Like Clay's HTTP API column once the row's enrichments ran.
async fn call_back(
    sandbox: Sandbox,
    webhook: String,
    table_id: i64,
    kiln_id: String,
    row: Value,
    config: WebhookConfig,
) {
    tokio::time::sleep(Duration::from_millis(config.callback_delay_ms.unwrap_or(500))).await;
    // The sandbox answers anyone who can reach Kiln: it calls back, with the table's own token,
    // only into a table that sends to this webhook, so that nobody can mark the leads of a table
    // that sends to Clay delivered, or spend its budget, through it.
    if !sends_here(&sandbox.db, table_id, &webhook).await {
        sandbox.ledger().webhooks.entry(webhook).or_default().callbacks_refused += 1;
        return;
    }
    let token = match store::tables::callback_token(&sandbox.db, table_id).await {
        Ok(Some(token)) => token,
        _ => return,
    };
    let table = store::tables::find(&sandbox.db, table_id).await.ok().flatten();
    let estimate = Estimate {
        credits: table.as_ref().map_or(0.0, |t| t.credits_per_lead),
        actions: table.map_or(1.0, |t| t.actions_per_lead),
    };
    let mut body = enrichment(&kiln_id, &row, estimate);
    // A use set on the webhook's URL is exact, for demos and tests that check the sums.
    if let Some(credits) = config.credits {
        body["credits_used"] = json!(credits);
    }
    if let Some(actions) = config.actions {
        body["actions_used"] = json!(actions);
    }
    let url = format!("{}/api/v1/callbacks/{table_id}", sandbox.kiln_origin);
    let mut sent = false;
    for attempt in 0..3 {
        let answer = sandbox.client.post(&url).header(CALLBACK_TOKEN_HEADER, &token).json(&body).send().await;
        if answer.is_ok_and(|a| a.status().is_success() || a.status() == StatusCode::NOT_FOUND) {
            sent = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
    }
    let mut ledger = sandbox.ledger();
    let stats = ledger.webhooks.entry(webhook).or_default();
    if sent {
        stats.callbacks_sent += 1;
    } else {
        stats.callbacks_failed += 1;
    }
}

/// Whether one of the table's webhooks is the sandbox webhook `webhook`.
async fn sends_here(db: &Db, table_id: i64, webhook: &str) -> bool {
    let Ok(webhooks) = store::webhooks::list(db, Some(table_id)).await else { return false };
    webhooks.iter().any(|w| {
        url::Url::parse(w.url.expose()).is_ok_and(|url| {
            let mut segments = url.path_segments().into_iter().flatten();
            segments.by_ref().take(5).eq(["sandbox", "clay", "v3", "sources", "webhook"])
                && segments.next().map(|id| percent_encoding::percent_decode_str(id).decode_utf8_lossy())
                    == Some(webhook.into())
                && segments.next().is_none()
        })
    })
}

/// Deterministic synthetic enrichment: the same row always gets the same answer.
pub fn enrichment(kiln_id: &str, row: &Value, estimate: Estimate) -> Value {
    const TITLES: [&str; 6] =
        ["Head of Growth", "VP Sales", "Marketing Manager", "Founder & CEO", "RevOps Lead", "Account Executive"];
    const SIZES: [&str; 5] = ["1-10", "11-50", "51-200", "201-1000", "1000+"];
    let seed = row.get("email").and_then(Value::as_str).unwrap_or(kiln_id);
    let pick = fnv(seed);
    let verified = pick % 10 < 7;
    // A waterfall stops at its first hit, so rows cost between half and all of the estimate.
    let share = 0.5 + (pick >> 8) as f64 % 51.0 / 100.0;
    let credits_used = (estimate.credits * share * 10.0).round() / 10.0;
    // Steps that did not run cost no Action; the call back to Kiln always does.
    let actions_used = 1.0 + ((estimate.actions - 1.0).max(0.0) * share).round();
    json!({
        "kiln_id": kiln_id,
        "credits_used": credits_used,
        "actions_used": actions_used,
        "title": TITLES[(pick >> 16) as usize % TITLES.len()],
        "company_size": SIZES[(pick >> 24) as usize % SIZES.len()],
        "email_verified": verified,
    })
}

/// A number in [0, 1) from a text, the same on every run.
fn unit(text: &str) -> f64 {
    (fnv(text) % 1_000_000) as f64 / 1_000_000.0
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrichment_is_deterministic_and_within_the_estimate() {
        let row = json!({ "email": "ada@example.com" });
        let estimate = Estimate { credits: 6.0, actions: 4.0 };
        let first = enrichment("7", &row, estimate);
        assert_eq!(first, enrichment("7", &row, estimate));
        let credits = first["credits_used"].as_f64().unwrap();
        assert!((3.0..=6.0).contains(&credits), "{credits}");
        let actions = first["actions_used"].as_f64().unwrap();
        assert!((2.0..=4.0).contains(&actions), "{actions}");
        assert_eq!(first["kiln_id"], "7");
    }

    #[test]
    fn failure_injection_is_spread_evenly() {
        let failing = (0..10_000).filter(|n| unit(&format!("{n}#1")) < 0.1).count();
        assert!((900..1100).contains(&failing), "{failing}");
    }
}
