//! Property tests of the ledger's invariants, over random answers from Clay: no webhook ever
//! passes its usable cap, the budget is never passed, and every lead ends delivered, dead with a
//! reason, or parked with a reason.

mod support;

use kiln::{
    delivery::{
        ManualClock, Settings, Worker,
        policy::Answer,
        transport::{Submission, Transport},
    },
    store,
};
use proptest::prelude::*;
use serde_json::json;
use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};
use support::Api;

/// Answers drawn from a seed: mostly success, with throttling, server errors, timeouts, broken
/// connections and the odd refusal.
struct Scripted {
    seed: u64,
    calls: AtomicU64,
}

impl Transport for Scripted {
    async fn send(&self, _: &Submission) -> Answer {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let roll = (self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> 40;
        match roll % 100 {
            0..=59 => Answer::Status { code: 200, retry_after: None },
            60..=67 => Answer::Status { code: 429, retry_after: Some("2".into()) },
            68..=79 => Answer::Status { code: 503, retry_after: None },
            80..=85 => Answer::Timeout,
            86..=91 => Answer::Network("connection lost".into()),
            92..=93 => Answer::Status { code: 404, retry_after: None },
            94..=95 => Answer::Status { code: 413, retry_after: None },
            _ => Answer::Status { code: 202, retry_after: None },
        }
    }
}

async fn scalar(pool: &sqlx::AnyPool, sql: &str) -> f64 {
    let (value,): (Option<f64>,) = sqlx::query_as(sql).fetch_one(pool).await.unwrap();
    value.unwrap_or(0.0)
}

async fn run(seed: u64, leads: usize, caps: Vec<(u64, u64)>, budget: u64, credits: f64) {
    let api = Api::new().await;
    let workspace = api
        .post(
            "/api/v1/workspaces",
            json!({ "name": "P", "rate_per_sec": 50, "burst": 100, "monthly_credit_budget": budget }),
        )
        .await;
    let table = api
        .post("/api/v1/tables", json!({ "workspace_id": workspace["id"], "name": "T", "credits_per_lead": credits }))
        .await["id"]
        .as_i64()
        .unwrap();
    for (cap, used) in &caps {
        api.post(
            &format!("/api/v1/tables/{table}/webhooks"),
            json!({ "url": "http://127.0.0.1:9/hook", "lifetime_cap": cap, "safety_margin": cap / 10, "used": used }),
        )
        .await;
    }
    let mut csv = String::from("email\n");
    for i in 0..leads {
        csv.push_str(&format!("p{i}@example.com\n"));
    }
    let import = api.csv(table, csv).await["id"].as_i64().unwrap();

    let db = api.app.db.clone();
    let clock = ManualClock::at(store::now_millis());
    let transport = Scripted { seed, calls: AtomicU64::new(0) };
    let mut worker = Worker::new(db.clone(), transport, clock.clone(), Settings::new(16, Duration::from_secs(1), 4));
    let pool = api.app.database.any().await;
    for _ in 0..120 {
        worker.step().await.unwrap();
        clock.advance(20_000);
        let committed = scalar(&pool, "SELECT SUM(reserved + spent) FROM budget_months").await;
        assert!(committed <= budget as f64 + 1e-6, "committed {committed} of {budget}");
    }
    for (id, (cap, used)) in caps.iter().enumerate() {
        // A webhook imported already past its usable cap is skipped, never counted further.
        let now = api.get(&format!("/api/v1/webhooks/{}", id + 1)).await["used"].as_u64().unwrap();
        let usable = cap - cap / 10;
        assert!(now <= usable.max(*used), "webhook {} used {now} of usable {usable}", id + 1);
    }
    let d = api.get(&format!("/api/v1/imports/{import}")).await["delivery"].clone();
    let count = |k: &str| d[k].as_u64().unwrap();
    assert_eq!(count("delivered") + count("dead") + count("waiting"), leads as u64, "every lead settles: {d}");
    let (unexplained,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM leads WHERE (state = 'dead' AND last_error IS NULL) OR (state = 'waiting' AND wait_reason IS NULL)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unexplained, 0, "every dead or waiting lead says why");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn webhooks_caps_budgets_and_every_lead_hold(
        seed in any::<u64>(),
        leads in 20usize..120,
        caps in proptest::collection::vec((10u64..80, 0u64..100), 1..4),
        budget in 20u64..400,
        credits in prop_oneof![Just(0.0), Just(1.0), Just(2.5)],
    ) {
        // Some webhooks start partly (or wholly) used elsewhere.
        let caps = caps.into_iter().map(|(cap, percent)| (cap, cap * percent / 100)).collect();
        tokio::runtime::Runtime::new().unwrap().block_on(run(seed, leads, caps, budget, credits));
    }
}
