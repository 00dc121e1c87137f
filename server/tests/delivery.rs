//! The delivery engine against real HTTP on loopback: a scripted mock (wiremock) for each of
//! Clay's answers, and the built-in sandbox for whole runs. The worker is stepped with a clock
//! the test moves, so back-offs and cool-downs take no real time.

mod support;

use kiln::{
    delivery::{Clock, ManualClock, Settings, StepReport, Worker, transport::HttpTransport},
    store::{self, Db},
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::{collections::HashMap, time::Duration};
use support::{Api, TestApp, assert_status};
use tokio::{sync::mpsc, task::JoinHandle};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

type TestWorker = Worker<HttpTransport, ManualClock>;

fn worker(db: &Db, clock: &ManualClock, senders: usize, max_attempts: u32) -> TestWorker {
    let settings = Settings::new(senders, Duration::from_secs(1), max_attempts);
    Worker::new(db.clone(), HttpTransport::new(Duration::from_secs(1)).unwrap(), clock.clone(), settings)
}

/// The worker as `kiln serve` runs it (system clock, real HTTP), on a task of its own until the
/// returned sender says stop.
fn running(
    db: &Db,
    settings: Settings,
) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Result<(), sqlx::Error>>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let db = db.clone();
    let run = tokio::spawn(async move {
        let transport = HttpTransport::new(Duration::from_secs(5)).unwrap();
        Worker::new(db, transport, kiln::delivery::SystemClock, settings)
            .run(async move {
                let _ = stopped.await;
            })
            .await
    });
    (stop, run)
}

/// Steps until nothing is left to send, moving the clock a second per step.
async fn drain(worker: &mut TestWorker, clock: &ManualClock, steps: usize) -> StepReport {
    let mut total = StepReport::default();
    for _ in 0..steps {
        let report = worker.step().await.unwrap();
        total.claimed += report.claimed;
        total.delivered += report.delivered;
        total.retried += report.retried;
        total.dead += report.dead;
        total.requeued += report.requeued;
        clock.advance(1_000);
    }
    total
}

fn leads(n: usize, tag: &str) -> String {
    let mut csv = String::from("email,first_name,company\n");
    for i in 0..n {
        csv.push_str(&format!("{tag}{i}@example.com,Lead {i},Company {i}\n"));
    }
    csv
}

/// A workspace (rate 100/s, burst 200) with one table of `credits` per lead and the given budget.
async fn workspace(api: &Api, budget: Option<u64>, credits: f64) -> (i64, i64) {
    let workspace = api
        .post(
            "/api/v1/workspaces",
            json!({ "name": "Outbound", "rate_per_sec": 100, "burst": 200, "monthly_credit_budget": budget }),
        )
        .await;
    let table = api
        .post(
            "/api/v1/tables",
            json!({ "workspace_id": workspace["id"], "name": "Leads", "credits_per_lead": credits }),
        )
        .await;
    (workspace["id"].as_i64().unwrap(), table["id"].as_i64().unwrap())
}

async fn webhook(api: &Api, table: i64, url: &str, extra: Value) -> i64 {
    let mut body = json!({ "url": url });
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    api.post(&format!("/api/v1/tables/{table}/webhooks"), body).await["id"].as_i64().unwrap()
}

async fn delivery(api: &Api, import: i64) -> Value {
    api.get(&format!("/api/v1/imports/{import}")).await["delivery"].clone()
}

fn n(value: &Value, key: &str) -> u64 {
    value[key].as_u64().unwrap_or_else(|| panic!("{key} missing in {value}"))
}

async fn received(server: &MockServer) -> Vec<(Value, HashMap<String, String>)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|request| {
            let headers = request
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
                .collect();
            (serde_json::from_slice(&request.body).unwrap(), headers)
        })
        .collect()
}

#[tokio::test]
async fn each_lead_is_posted_once_with_its_kiln_id_auth_header_and_idempotency_key() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).and(path("/hook")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 2.0).await;
    let hook = webhook(&api, table, &format!("{}/hook", clay.uri()), json!({ "auth_token": "s3cret" })).await;
    let import = api.csv(table, leads(5, "a")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    let report = drain(&mut worker(&api.app.db, &clock, 8, 8), &clock, 2).await;
    assert_eq!(report.delivered, 5);

    let requests = received(&clay).await;
    assert_eq!(requests.len(), 5);
    for (body, headers) in &requests {
        let kiln_id = body["kiln_id"].as_str().expect("kiln_id");
        assert_eq!(headers["idempotency-key"], kiln_id);
        assert_eq!(headers["x-clay-webhook-auth"], "s3cret");
        assert_eq!(headers["content-type"], "application/json");
        assert!(body["email"].as_str().unwrap().ends_with("@example.com"), "{body}");
    }
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "queued"), n(&d, "in_flight")), (5, 0, 0), "{d}");
    assert_eq!(api.get(&format!("/api/v1/webhooks/{hook}")).await["used"], 5);
    // The webhooks page counts them in the last 7 days' pace.
    let outlook = kiln::dashboard::webhooks_outlook(&api.app.db, store::now_millis()).await.unwrap();
    let seen = outlook.webhooks.iter().find(|h| h.id == hook).unwrap();
    assert_eq!((seen.used, seen.usable, seen.last_7_days), (5, 45_000, 5));
    assert!(seen.exhausted_at(outlook.at).is_some());
    assert!(!seen.url_masked.contains("/hook"), "masked: {}", seen.url_masked);
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!(budget["reserved"], 10.0, "{budget}");
}

#[tokio::test]
async fn a_429_cools_the_whole_workspace_down_for_retry_after_in_seconds_or_as_a_date() {
    for date_form in [false, true] {
        let api = Api::new().await;
        // The date is taken once the app is up, so that setting it up takes none of the 5 seconds.
        let retry_after = if date_form { httpdate_in(5) } else { "5".to_owned() };
        let clay = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", retry_after.as_str()))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&clay)
            .await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
        let (workspace_id, table) = workspace(&api, None, 1.0).await;
        webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
        let import = api.csv(table, leads(3, "b")).await["id"].as_i64().unwrap();

        let clock = ManualClock::at(store::now_millis() / 1000 * 1000);
        let mut worker = worker(&api.app.db, &clock, 1, 8);
        let first = worker.step().await.unwrap();
        assert_eq!((first.claimed, first.retried), (1, 1), "Retry-After {retry_after}");
        let cooldown = cooldown_until(&api.app, workspace_id).await;
        assert!(cooldown >= clock.now() + 4_000, "the cool-down is stored (Retry-After {retry_after})");

        clock.advance(3_000);
        assert_eq!(worker.step().await.unwrap().claimed, 0, "nothing is sent while the workspace cools down");
        clock.advance(3_000);
        drain(&mut worker, &clock, 3).await;
        let d = delivery(&api, import).await;
        assert_eq!(n(&d, "delivered"), 3, "{d}");
        let lead_429: Vec<_> = received(&clay).await;
        assert_eq!(lead_429.len(), 4, "one 429, then three deliveries");
    }
}

/// A 429 that asks for no wait at all gets no burst back: after it, sends go at the rate.
#[tokio::test]
async fn after_a_429_sending_resumes_at_the_rate_not_with_a_burst() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&clay)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let workspace =
        api.post("/api/v1/workspaces", json!({ "name": "Slow", "rate_per_sec": 1, "burst": 20 })).await["id"].clone();
    let table = api
        .post("/api/v1/tables", json!({ "workspace_id": workspace, "name": "Leads", "credits_per_lead": 1 }))
        .await["id"]
        .as_i64()
        .unwrap();
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    api.csv(table, leads(12, "t")).await;

    let clock = ManualClock::at(store::now_millis() / 1000 * 1000);
    let mut worker = worker(&api.app.db, &clock, 1, 8);
    assert_eq!(worker.step().await.unwrap().retried, 1);
    for _ in 0..6 {
        worker.step().await.unwrap();
    }
    assert_eq!(received(&clay).await.len(), 1, "nothing more in the same instant");
    clock.advance(1_000);
    for _ in 0..6 {
        worker.step().await.unwrap();
    }
    assert_eq!(received(&clay).await.len(), 2, "one second at 1/s: one more");
}

fn httpdate_in(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc2822().replace("+0000", "GMT")
}

async fn cooldown_until(app: &TestApp, workspace_id: i64) -> i64 {
    let (until,): (i64,) = sqlx::query_as("SELECT cooldown_until FROM workspaces WHERE id = $1")
        .bind(workspace_id)
        .fetch_one(&app.database.any().await)
        .await
        .unwrap();
    until
}

#[tokio::test]
async fn server_errors_back_off_then_die_and_dead_leads_can_be_requeued() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(2, "c")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 4, 3);
    worker.step().await.unwrap();
    let d = delivery(&api, import).await;
    assert_eq!(n(&d, "retrying"), 2, "{d}");
    clock.advance(200);
    assert_eq!(worker.step().await.unwrap().claimed, 0, "the back-off is respected");
    for _ in 0..10 {
        clock.advance(60_000);
        worker.step().await.unwrap();
    }
    let d = delivery(&api, import).await;
    assert_eq!(n(&d, "dead"), 2, "{d}");
    assert_eq!(received(&clay).await.len(), 6, "three attempts each");

    clay.reset().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    // Requeued while the import is paused, they wait with it.
    api.post_ok(&format!("/api/v1/imports/{import}/pause"), json!({})).await;
    let requeued = api.post_ok(&format!("/api/v1/imports/{import}/requeue-dead"), json!({})).await;
    assert_eq!(requeued["requeued"], 2);
    drain(&mut worker, &clock, 2).await;
    assert_eq!(received(&clay).await.len(), 0, "nothing goes out of a paused import");
    assert_eq!(n(&delivery(&api, import).await, "paused"), 2);
    api.post_ok(&format!("/api/v1/imports/{import}/resume"), json!({})).await;
    drain(&mut worker, &clock, 2).await;
    assert_eq!(n(&delivery(&api, import).await, "delivered"), 2);

    // A stopped import's dead leads stay dead: it is never sent again.
    let stopped = api.csv(table, leads(1, "x")).await["id"].as_i64().unwrap();
    sqlx::query("UPDATE leads SET state = 'dead' WHERE import_id = $1")
        .bind(stopped)
        .execute(&api.app.database.any().await)
        .await
        .unwrap();
    api.post_ok(&format!("/api/v1/imports/{stopped}/cancel"), json!({})).await;
    let url = api.app.url(&format!("/api/v1/imports/{stopped}/requeue-dead"));
    assert_status(&api.client.post(url).bearer_auth(&api.token).send().await.unwrap(), StatusCode::CONFLICT);
    assert_eq!(n(&delivery(&api, stopped).await, "dead"), 1);
}

#[tokio::test]
async fn timeouts_and_connections_cut_after_the_row_arrived_are_retried_with_the_same_ids() {
    let api = Api::new().await;
    // An endpoint that reads the whole request, then hangs up without answering.
    let cutter = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let cut_addr = cutter.local_addr().unwrap();
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        while let Ok((mut socket, _)) = cutter.accept().await {
            let mut buffer = vec![0u8; 64 * 1024];
            let read = socket.read(&mut buffer).await.unwrap_or(0);
            let _ = seen_tx.send(String::from_utf8_lossy(&buffer[..read]).into_owned());
            drop(socket);
        }
    });
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&slow)
        .await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let hook = webhook(&api, table, &format!("http://{cut_addr}/hook"), json!({})).await;
    let import = api.csv(table, leads(1, "d")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 1, 8);
    assert_eq!(worker.step().await.unwrap().retried, 1, "a cut connection is retried");
    let first = seen.recv().await.unwrap();
    assert!(first.to_ascii_lowercase().contains("idempotency-key"), "{first}");

    // The same lead now goes to a webhook that answers too late.
    api.patch_webhook(hook, json!({ "state": "retired" })).await;
    webhook(&api, table, &format!("{}/hook", slow.uri()), json!({})).await;
    clock.advance(60_000);
    assert_eq!(worker.step().await.unwrap().retried, 1, "a timeout is retried");
    let d = delivery(&api, import).await;
    assert_eq!(n(&d, "retrying"), 1, "{d}");
    let slow_requests = received(&slow).await;
    let key = |raw: &str| {
        raw.lines()
            .find_map(|line| line.to_ascii_lowercase().strip_prefix("idempotency-key: ").map(str::to_owned))
            .unwrap()
    };
    assert_eq!(slow_requests[0].1["idempotency-key"], key(&first), "a re-send carries the same key");
}

#[tokio::test]
async fn a_payload_clay_refuses_as_too_large_is_dead_at_once() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(413)).mount(&clay).await;
    let (_, table) = workspace(&api, Some(100), 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(1, "e")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    let report = worker(&api.app.db, &clock, 1, 8).step().await.unwrap();
    assert_eq!(report.dead, 1);
    assert_eq!(n(&delivery(&api, import).await, "dead"), 1);
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!(budget["reserved"], 0.0, "a dead lead gives its reservation back: {budget}");
}

#[tokio::test]
async fn a_webhook_that_refuses_is_set_aside_and_its_leads_move_to_the_next_without_using_attempts() {
    let api = Api::new().await;
    let gone = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(404)).mount(&gone).await;
    let good = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&good).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let first = webhook(&api, table, &format!("{}/hook", gone.uri()), json!({})).await;
    let second = webhook(&api, table, &format!("{}/hook", good.uri()), json!({})).await;
    let import = api.csv(table, leads(4, "f")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    drain(&mut worker(&api.app.db, &clock, 8, 1), &clock, 4).await;
    assert_eq!(n(&delivery(&api, import).await, "delivered"), 4, "max_attempts 1, yet none is dead");
    assert_eq!(api.get(&format!("/api/v1/webhooks/{first}")).await["state"], "failing");
    assert_eq!(api.get(&format!("/api/v1/webhooks/{second}")).await["used"], 4);
    let alerts = store::alerts::open(&api.app.db).await.unwrap();
    assert!(
        alerts.iter().any(|a| a.kind == "webhook_failing" && a.subject == format!("webhook:{first}")),
        "{alerts:?}"
    );
}

#[tokio::test]
async fn webhooks_rotate_at_their_usable_cap_and_leads_wait_until_a_webhook_is_added() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let cap = json!({ "lifetime_cap": 10, "safety_margin": 2 });
    let a = webhook(&api, table, &format!("{}/a", clay.uri()), cap.clone()).await;
    let b = webhook(
        &api,
        table,
        &format!("{}/b", clay.uri()),
        json!({ "lifetime_cap": 10, "safety_margin": 2, "used": 5 }),
    )
    .await;
    let import = api.csv(table, leads(20, "g")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 32, 8);
    drain(&mut worker, &clock, 3).await;
    assert_eq!(api.get(&format!("/api/v1/webhooks/{a}")).await["used"], 8);
    assert_eq!(api.get(&format!("/api/v1/webhooks/{b}")).await["used"], 8);
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (11, 9), "{d}");
    let alerts = store::alerts::open(&api.app.db).await.unwrap();
    assert!(alerts.iter().any(|a| a.kind == "needs_webhook"), "{alerts:?}");

    let c = webhook(&api, table, &format!("{}/c", clay.uri()), json!({})).await;
    drain(&mut worker, &clock, 3).await;
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (20, 0), "{d}");
    assert_eq!(api.get(&format!("/api/v1/webhooks/{c}")).await["used"], 9);
    assert!(store::alerts::open(&api.app.db).await.unwrap().iter().all(|a| a.kind != "needs_webhook"));
}

#[tokio::test]
async fn a_large_queue_parks_and_unparks_in_bounded_transactions() {
    let chunk = usize::try_from(store::delivery::PARK_CHUNK).unwrap();
    let total = 2 * chunk + 10;
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let import = api.csv(table, leads(total, "p")).await["id"].as_i64().unwrap();

    // No webhook: each claim parks one chunk more, never the whole queue in one write.
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 8, 8);
    for parked in [chunk, 2 * chunk, total] {
        worker.step().await.unwrap();
        let d = delivery(&api, import).await;
        assert_eq!((n(&d, "waiting"), n(&d, "queued")), (parked as u64, (total - parked) as u64), "{d}");
    }
    assert!(store::alerts::open(&api.app.db).await.unwrap().iter().any(|a| a.kind == "needs_webhook"));

    // A webhook arrives: the parked leads go back to the queue, a chunk at each step, and out.
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    for (step, still_parked) in [chunk + 10, 10, 0].into_iter().enumerate() {
        assert_eq!(worker.step().await.unwrap().delivered, 8);
        let d = delivery(&api, import).await;
        let delivered = 8 * (step as u64 + 1);
        assert_eq!((n(&d, "waiting"), n(&d, "delivered")), (still_parked as u64, delivered), "{d}");
        assert_eq!(n(&d, "queued"), (total - still_parked) as u64 - delivered, "{d}");
    }
    assert!(store::alerts::open(&api.app.db).await.unwrap().iter().all(|a| a.kind != "needs_webhook"));
}

#[tokio::test]
async fn delivery_stops_at_the_budget_and_callbacks_replace_the_estimate() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, Some(10), 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(8, "h")).await["id"].as_i64().unwrap();

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 32, 8);
    drain(&mut worker, &clock, 3).await;
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (5, 3), "{d}");
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!((budget["reserved"].as_f64(), budget["spent"].as_f64()), (Some(10.0), Some(0.0)), "{budget}");

    // Clay calls back: each delivered row used 1 credit, not 2.
    let settings = api.get(&format!("/api/v1/tables/{table}/callback")).await;
    let token = settings["token"].as_str().unwrap();
    for (body, _) in received(&clay).await {
        let response = api
            .client
            .post(api.app.url(&format!("/api/v1/callbacks/{table}")))
            .header("X-Kiln-Callback-Token", token)
            .json(&json!({ "kiln_id": body["kiln_id"], "credits_used": 1, "title": "CTO" }))
            .send()
            .await
            .unwrap();
        assert_status(&response, StatusCode::OK);
    }
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!((budget["reserved"].as_f64(), budget["spent"].as_f64()), (Some(0.0), Some(5.0)), "{budget}");
    drain(&mut worker, &clock, 3).await;
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (7, 1), "5 spent + 2 × 2 reserved = 9 of 10: {d}");
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert!(budget["reserved"].as_f64().unwrap() + budget["spent"].as_f64().unwrap() <= 10.0, "{budget}");
}

#[tokio::test]
async fn the_action_budget_stops_delivery_too_and_callbacks_roll_up_by_day_and_table() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let workspace = api
        .post(
            "/api/v1/workspaces",
            json!({ "name": "Actions", "rate_per_sec": 100, "burst": 200, "monthly_action_budget": 10 }),
        )
        .await;
    let table = api
        .post(
            "/api/v1/tables",
            json!({ "workspace_id": workspace["id"], "name": "Waterfall", "credits_per_lead": 2, "actions_per_lead": 3 }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(6, "a")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 32, 8);
    drain(&mut worker, &clock, 3).await;
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (3, 3), "3 × 3 Actions of 10: {d}");
    let budget = api.get(&format!("/api/v1/workspaces/{}/budget", workspace["id"])).await;
    assert_eq!(budget["actions"]["reserved"].as_f64(), Some(9.0), "{budget}");

    // Each row ran 2 Actions, not 3, and cost 1.5 credits; one of them does not say.
    for (i, (body, _)) in received(&clay).await.into_iter().enumerate() {
        let back = if i == 0 {
            json!({ "kiln_id": body["kiln_id"] })
        } else {
            json!({ "kiln_id": body["kiln_id"], "credits_used": 1.5, "actions_used": 2 })
        };
        assert_eq!(call_back(&api, table, back).await, StatusCode::OK);
    }
    let budget = api.get(&format!("/api/v1/workspaces/{}/budget", workspace["id"])).await;
    let actions = &budget["actions"];
    assert_eq!((actions["reserved"].as_f64(), actions["spent"].as_f64()), (Some(0.0), Some(7.0)), "{budget}");
    assert_eq!((actions["budget"].as_i64(), actions["remaining"].as_f64()), (Some(10), Some(3.0)), "{budget}");
    assert_eq!(budget["spent"].as_f64(), Some(5.0), "2 (the estimate) + 1.5 + 1.5: {budget}");

    // With 3 Actions left, one more lead fits.
    drain(&mut worker, &clock, 3).await;
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "waiting")), (4, 2), "{d}");

    let outlook = kiln::dashboard::budgets_outlook(&api.app.db, store::now_millis()).await.unwrap();
    let month = outlook.workspaces.iter().find(|w| w.workspace == "Actions").unwrap();
    assert_eq!(month.actions.budget, Some(10));
    assert_eq!((month.actions.spent, month.actions.reserved), (7.0, 3.0));
    assert_eq!(month.days.len(), 1, "{:?}", month.days);
    let today = &month.days[0];
    assert_eq!((today.leads, today.credits_estimated, today.credits, today.actions), (3, 6.0, 5.0, 7.0));
    assert_eq!(month.tables.len(), 1);
    assert_eq!((month.tables[0].table.as_str(), month.tables[0].credits), ("Waterfall", 5.0));
    let this_month = month.months.last().unwrap();
    assert_eq!((month.months.len(), this_month.credits_estimated, this_month.credits), (12, 6.0, 5.0));
}

#[tokio::test]
async fn callbacks_need_the_table_token_and_are_idempotent() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 3.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(1, "i")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    worker(&api.app.db, &clock, 1, 8).step().await.unwrap();
    let kiln_id = received(&clay).await[0].0["kiln_id"].as_str().unwrap().to_owned();
    let token = api.get(&format!("/api/v1/tables/{table}/callback")).await["token"].as_str().unwrap().to_owned();
    let call = |token: String, body: Value| {
        let request = api.client.post(api.app.url(&format!("/api/v1/callbacks/{table}")));
        async move { request.header("X-Kiln-Callback-Token", token).json(&body).send().await.unwrap().status() }
    };
    assert_eq!(call("wrong".into(), json!({ "kiln_id": kiln_id })).await, StatusCode::UNAUTHORIZED);
    assert_eq!(call(token.clone(), json!({ "kiln_id": "999999" })).await, StatusCode::NOT_FOUND);
    assert_eq!(call(token.clone(), json!({ "kiln_id": kiln_id, "credits_used": 2.5 })).await, StatusCode::OK);
    assert_eq!(call(token.clone(), json!({ "kiln_id": kiln_id, "credits_used": 2.5 })).await, StatusCode::OK);
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!(budget["spent"].as_f64(), Some(2.5), "counted once: {budget}");
    assert_eq!(n(&delivery(&api, import).await, "called_back"), 1);

    let rotated = api.post_ok(&format!("/api/v1/tables/{table}/callback/rotate"), json!({})).await;
    assert_ne!(rotated["token"], token.as_str());
    assert_eq!(call(token, json!({ "kiln_id": kiln_id })).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pause_resume_cancel_and_priority() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let low = api.import(&format!("table_id={table}&priority=low"), "text/csv", leads(3, "low")).await.1["id"]
        .as_i64()
        .unwrap();
    let paused = api.csv(table, leads(3, "paused")).await["id"].as_i64().unwrap();
    let high = api.import(&format!("table_id={table}&priority=high"), "text/csv", leads(3, "high")).await.1["id"]
        .as_i64()
        .unwrap();
    let cancelled = api.csv(table, leads(3, "cancelled")).await["id"].as_i64().unwrap();

    let view = api.post_ok(&format!("/api/v1/imports/{paused}/pause"), json!({})).await;
    assert_eq!(view["state"], "paused");
    assert_eq!(api.post_ok(&format!("/api/v1/imports/{cancelled}/cancel"), json!({})).await["state"], "cancelled");

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 1, 8);
    drain(&mut worker, &clock, 8).await;
    let order: Vec<String> =
        received(&clay).await.iter().map(|(b, _)| b["email"].as_str().unwrap().to_owned()).collect();
    assert_eq!(order.len(), 6, "{order:?}");
    assert!(order[..3].iter().all(|e| e.starts_with("high")), "high first: {order:?}");
    assert!(order[3..].iter().all(|e| e.starts_with("low")), "{order:?}");
    assert_eq!(n(&delivery(&api, paused).await, "paused"), 3);
    assert_eq!(n(&delivery(&api, cancelled).await, "cancelled"), 3);
    let conflict = api
        .client
        .post(api.app.url(&format!("/api/v1/imports/{cancelled}/resume")))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_status(&conflict, StatusCode::CONFLICT);

    assert_eq!(api.post_ok(&format!("/api/v1/imports/{paused}/resume"), json!({})).await["state"], "queued");
    let again = api.post_ok(&format!("/api/v1/imports/{paused}/priority?priority=high"), json!({})).await;
    assert_eq!(again["priority"], "high");
    drain(&mut worker, &clock, 4).await;
    assert_eq!(n(&delivery(&api, paused).await, "delivered"), 3);
    assert_eq!(n(&delivery(&api, low).await, "delivered"), 3);
    assert_eq!(n(&delivery(&api, high).await, "delivered"), 3);
}

/// The claim orders a workspace's leads by their import's priority: changing it reorders the
/// sending at once and rewrites none of the import's leads (a million of them took seconds of
/// the write lock).
#[tokio::test]
async fn a_priority_change_reorders_sending_without_rewriting_the_leads() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    api.csv(table, leads(3, "older")).await;
    let newer = api.csv(table, leads(3, "newer")).await["id"].as_i64().unwrap();
    let (normal,): (i64,) = sqlx::query_as("SELECT priority FROM imports WHERE id = $1")
        .bind(newer)
        .fetch_one(&api.app.database.any().await)
        .await
        .unwrap();
    api.post_ok(&format!("/api/v1/imports/{newer}/priority?priority=high"), json!({})).await;

    let clock = ManualClock::at(store::now_millis());
    drain(&mut worker(&api.app.db, &clock, 1, 8), &clock, 8).await;
    let order: Vec<String> =
        received(&clay).await.iter().map(|(b, _)| b["email"].as_str().unwrap().to_owned()).collect();
    assert_eq!(order.len(), 6, "{order:?}");
    assert!(order[..3].iter().all(|e| e.starts_with("newer")), "the raised import first: {order:?}");
    let ranks: Vec<(i64,)> = sqlx::query_as("SELECT DISTINCT priority FROM leads WHERE import_id = $1")
        .bind(newer)
        .fetch_all(&api.app.database.any().await)
        .await
        .unwrap();
    assert_eq!(ranks, [(normal,)], "the leads keep the priority they were imported with");
}

#[tokio::test]
async fn pauses_and_resumes_close_together_leave_the_leads_in_their_import_s_state() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let import = api.csv(table, leads(2_000, "race")).await["id"].as_i64().unwrap();
    // On PostgreSQL, where statements of several connections interleave, an import and its
    // leads changed in two commits ended up apart in nearly every run.
    for round in 0..10 {
        let requests = (0..16).map(|i| {
            let action = if i % 2 == 0 { "pause" } else { "resume" };
            api.client.post(api.app.url(&format!("/api/v1/imports/{import}/{action}"))).bearer_auth(&api.token).send()
        });
        for response in futures_util::future::join_all(requests).await {
            let status = response.unwrap().status();
            assert!(status == StatusCode::OK || status == StatusCode::CONFLICT, "{status}");
        }
        let view = api.get(&format!("/api/v1/imports/{import}")).await;
        let d = &view["delivery"];
        let (with_import, other) = if view["state"] == "paused" { ("paused", "queued") } else { ("queued", "paused") };
        assert_eq!(n(d, with_import), 2_000, "round {round}: the import is {}: {d}", view["state"]);
        assert_eq!(n(d, other), 0, "round {round}: {d}");
    }
}

/// An upload whose body the test feeds: the first rows, then nothing until the test says.
/// `query` is the import's (`table_id=…`).
fn hanging_upload(api: &Api, query: &str) -> (mpsc::Sender<String>, JoinHandle<reqwest::Result<reqwest::Response>>) {
    let (chunks, rx) = mpsc::channel::<String>(4);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let request = api
        .client
        .post(api.app.url(&format!("/api/v1/imports?{query}")))
        .bearer_auth(&api.token)
        .header("content-type", "text/csv")
        .body(reqwest::Body::wrap_stream(body));
    (chunks, tokio::spawn(request.send()))
}

/// The newest import once its committed rows reach `accepted`.
async fn receiving_with(api: &Api, accepted: u64) -> Value {
    for _ in 0..200 {
        let newest = api.get("/api/v1/imports").await[0].clone();
        if newest["state"] == "receiving" && newest["accepted"] == accepted {
            return newest;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import never committed {accepted} rows");
}

#[tokio::test]
async fn a_file_still_arriving_sends_nothing_and_holds_back_no_other_import() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (workspace_id, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    // Its leads are stored as they arrive, with a priority above every other import's.
    let file = leads(20_001, "arriving");
    let (split, _) = file.match_indices('\n').nth(20_000).unwrap();
    let (chunks, upload) = hanging_upload(&api, &format!("table_id={table}&priority=high"));
    chunks.send(file[..=split].to_owned()).await.unwrap();
    let arriving = receiving_with(&api, 20_000).await["id"].as_i64().unwrap();
    let later = api.csv(table, leads(5, "later")).await["id"].as_i64().unwrap();
    // Counted as waiting, not as ready to send, by the import and by the dashboard.
    let counts = delivery(&api, arriving).await;
    assert_eq!((n(&counts, "queued"), n(&counts, "waiting")), (0, 20_000), "{counts}");
    let dashboard = store::dashboard::snapshot(&api.app.db, store::now_millis()).await.unwrap();
    let live = dashboard.workspaces.iter().find(|w| w.id == workspace_id).unwrap();
    assert_eq!((live.queued, live.waiting), (5, 20_000));

    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 8, 8);
    let sent = drain(&mut worker, &clock, 3).await;
    assert_eq!((sent.claimed, sent.delivered), (5, 5), "{sent:?}");
    let emails: Vec<String> = received(&clay).await.iter().map(|(body, _)| body["email"].to_string()).collect();
    assert!(emails.iter().all(|email| email.contains("later")), "{emails:?}");
    assert_eq!(n(&delivery(&api, later).await, "delivered"), 5);
    assert_eq!(n(&delivery(&api, arriving).await, "delivered"), 0);

    // Its last row arrives: the import is queued, and its leads go first.
    chunks.send(file[split + 1..].to_owned()).await.unwrap();
    drop(chunks);
    assert_status(&upload.await.unwrap().unwrap(), StatusCode::CREATED);
    let sent = drain(&mut worker, &clock, 1).await;
    assert!(sent.delivered > 0, "{sent:?}");
    let emails: Vec<String> = received(&clay).await.iter().map(|(body, _)| body["email"].to_string()).collect();
    assert!(emails[5..].iter().all(|email| email.contains("arriving")), "{emails:?}");
}

#[tokio::test]
async fn an_import_left_arriving_by_a_stopped_process_is_ended_and_its_file_can_come_again() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let file = leads(20_001, "left");
    // The first 20,000 rows fill a batch, which is committed while the upload waits.
    let (split, _) = file.match_indices('\n').nth(20_000).unwrap();
    let (chunks, upload) = hanging_upload(&api, &format!("table_id={table}"));
    chunks.send(file[..=split].to_owned()).await.unwrap();
    let id = receiving_with(&api, 20_000).await["id"].as_i64().unwrap();

    // Its process seems to have stopped: nothing heard from it for longer than the limit.
    let silent = i64::try_from(kiln::ingest::INTERRUPTED_AFTER.as_millis()).unwrap();
    let clock = ManualClock::at(store::now_millis() + silent + 1_000);
    if matches!(api.app.db, Db::Postgres(_)) {
        // A transaction that holds the import's row is a writer at work: the sweep passes it by
        // instead of waiting for it (with every worker's housekeeping behind it).
        let pool = api.app.database.any().await;
        let mut writer = pool.begin().await.unwrap();
        sqlx::query("SELECT id FROM imports WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *writer).await.unwrap();
        let mut sweeper = worker(&api.app.db, &clock, 1, 3);
        tokio::time::timeout(Duration::from_secs(10), sweeper.step()).await.expect("the sweep waited").unwrap();
        assert_eq!(api.get(&format!("/api/v1/imports/{id}")).await["state"], "receiving");
        writer.rollback().await.unwrap();
    }
    worker(&api.app.db, &clock, 1, 3).step().await.unwrap();
    let ended = api.get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(ended["state"], "failed", "{ended}");
    assert!(ended["error"].as_str().unwrap().contains("upload the file again"), "{ended}");
    let left: u64 = ended["delivery"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
    assert_eq!(left, 0, "its leads are gone: {ended}");

    // Its upload, still alive after all, learns it at its next batch, and keeps nothing of it.
    chunks.send(leads(20_000, "more")).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(30), upload).await.expect("answered").unwrap().unwrap();
    assert_status(&answer, StatusCode::CONFLICT);
    let answer: Value = answer.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("interrupted"), "{answer}");
    let after = api.get(&format!("/api/v1/imports/{id}")).await;
    assert_eq!(after["state"], "failed", "{after}");
    let left: u64 = after["delivery"].as_object().unwrap().values().filter_map(Value::as_u64).sum();
    assert_eq!(left, 0, "{after}");

    // The same file again: every row is new, none a duplicate of leads never sent.
    drop(chunks);
    let again = api.csv(table, file).await;
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(20_001), Some(0)), "{again}");

    // A live upload that is merely slow shows signs of life while it waits, and is not ended:
    // past the limit after its last batch, within it after its heartbeat.
    let (chunks, upload) = hanging_upload(&api, &format!("table_id={table}"));
    chunks.send(leads(20_000, "slow")).await.unwrap();
    let slow = receiving_with(&api, 20_000).await["id"].as_i64().unwrap();
    let pool = api.app.database.any().await;
    let heartbeat =
        || sqlx::query_as::<_, (i64,)>("SELECT heartbeat_at FROM imports WHERE id = $1").bind(slow).fetch_one(&pool);
    let (after_batch,) = heartbeat().await.unwrap();
    tokio::time::sleep(kiln::ingest::HEARTBEAT + Duration::from_secs(1)).await;
    let (later,) = heartbeat().await.unwrap();
    assert!(later >= after_batch + 9_000, "no heartbeat: {after_batch} then {later}");
    let clock = ManualClock::at(after_batch + silent + 1_000);
    worker(&api.app.db, &clock, 1, 3).step().await.unwrap();
    drop(chunks);
    let answer = upload.await.unwrap().unwrap();
    assert_status(&answer, StatusCode::CREATED);
    assert_eq!(api.get(&format!("/api/v1/imports/{slow}")).await["state"], "queued");
}

#[tokio::test]
async fn the_bucket_paces_each_workspace() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let workspace = api.post("/api/v1/workspaces", json!({ "name": "Slow", "rate_per_sec": 10, "burst": 20 })).await;
    let table = api
        .post("/api/v1/tables", json!({ "workspace_id": workspace["id"], "name": "T", "credits_per_lead": 0 }))
        .await["id"]
        .as_i64()
        .unwrap();
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    api.csv(table, leads(200, "p")).await;
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 64, 8);
    let mut sent = 0;
    for tick in 1..=100 {
        clock.advance(100);
        sent += worker.step().await.unwrap().delivered;
        // Half of Clay's burst up front, then 10 per second.
        assert!(sent as f64 <= 10.0 + tick as f64, "{sent} after {tick} ticks");
    }
    assert!(sent >= 105, "the full rate is used: {sent} in 10 s");
}

/// The sandbox's injected failures answer 500, or the status the webhook's URL asks for.
#[tokio::test]
async fn the_sandbox_injects_failures_with_the_status_asked_for() {
    let app = TestApp::spawn_with(|args| args.no_sandbox = false).await;
    let client = app.plain();
    for (query, expected) in [("fail=1", 500), ("fail=1&fail_status=400", 400), ("fail=0&fail_status=400", 200)] {
        let url = app.url(&format!("/sandbox/clay/v3/sources/webhook/injected?workspace=injected&{query}"));
        let body = json!({ "kiln_id": "1", "email": "ada@example.com" });
        let response = client.post(url).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{query}");
    }
}

/// The sandbox answers whoever reaches Kiln: it calls back only into a table that sends to the
/// webhook called, never into one that sends to Clay (whose leads a stranger could otherwise mark
/// delivered, and whose budget spend, with the table's own token).
#[tokio::test]
async fn the_sandbox_calls_back_only_into_tables_that_send_to_it() {
    let app = TestApp::spawn_with(|args| args.no_sandbox = false).await;
    let api = Api::on(app).await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&clay).await;
    let (workspace_id, table) = workspace(&api, Some(1_000), 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(1, "v")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    drain(&mut worker(&api.app.db, &clock, 1, 8), &clock, 1).await;
    let kiln_id = received(&clay).await[0].0["kiln_id"].as_str().unwrap().to_owned();

    let forged = api.app.url(&format!(
        "/sandbox/clay/v3/sources/webhook/forged?callback_table={table}&callback_delay_ms=0&credits=1000000"
    ));
    let response = api.client.post(forged).json(&json!({ "kiln_id": kiln_id })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats: Value =
            api.client.get(api.app.url("/sandbox/clay/stats")).send().await.unwrap().json().await.unwrap();
        if stats["forged"]["callbacks_refused"] == 1 {
            assert_eq!(stats["forged"]["callbacks_sent"], 0, "{stats}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no callback decision: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "retrying"), n(&d, "delivered"), n(&d, "called_back")), (1, 0, 0), "{d}");
    let budget = api.get(&format!("/api/v1/workspaces/{workspace_id}/budget")).await;
    assert_eq!(budget["spent"].as_f64(), Some(0.0), "{budget}");
}

/// The whole flow through the built-in sandbox, with injected failures: every lead arrives, no
/// webhook passes its cap, Clay calls back and the actual credits replace the estimates.
#[tokio::test]
async fn a_run_through_the_sandbox_with_injected_failures_delivers_every_lead() {
    let app = TestApp::spawn_with(|args| args.no_sandbox = false).await;
    let api = Api::on(app).await;
    let (workspace_id, table) = workspace(&api, Some(100_000), 6.0).await;
    let base = api.app.url("/sandbox/clay/v3/sources/webhook");
    let config = format!("workspace=fast&rate=100&burst=200&fail=0.1&callback_table={table}&callback_delay_ms=10");
    webhook(&api, table, &format!("{base}/one?{config}&cap=150"), json!({ "lifetime_cap": 150, "safety_margin": 20 }))
        .await;
    webhook(&api, table, &format!("{base}/two?{config}&auth=tok"), json!({ "auth_token": "tok" })).await;
    let import = api.csv(table, leads(400, "s")).await["id"].as_i64().unwrap();

    let (stop, run) = running(&api.app.db, Settings::new(16, Duration::from_secs(5), 8));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let d = delivery(&api, import).await;
        if n(&d, "delivered") == 400 && n(&d, "called_back") == 400 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not done in time: {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    run.await.unwrap().unwrap();

    let stats: Value = api.client.get(api.app.url("/sandbox/clay/stats")).send().await.unwrap().json().await.unwrap();
    // Kiln counts every submission against the cap, the failed ones too (Clay may count them).
    let submissions =
        |hook: &str| stats[hook]["accepted"].as_u64().unwrap() + stats[hook]["injected_failures"].as_u64().unwrap();
    assert_eq!(submissions("one"), 130, "the first webhook stops at its usable cap: {stats}");
    assert_eq!(stats["one"]["past_cap"], 0);
    assert_eq!(
        stats["one"]["accepted"].as_u64().unwrap() + stats["two"]["accepted"].as_u64().unwrap()
            - stats["two"]["repeats"].as_u64().unwrap()
            - stats["one"]["repeats"].as_u64().unwrap(),
        400,
        "{stats}"
    );
    assert_eq!(stats["two"]["unauthorized"], 0);
    assert!(
        stats["one"]["injected_failures"].as_u64().unwrap() + stats["two"]["injected_failures"].as_u64().unwrap() > 0
    );
    let budget = api.get(&format!("/api/v1/workspaces/{workspace_id}/budget")).await;
    let spent = budget["spent"].as_f64().unwrap();
    assert!(spent > 400.0 * 3.0 && spent < 400.0 * 6.0, "actual credits replace the 6-credit estimate: {budget}");
    assert!(budget["reserved"].as_f64().unwrap().abs() < 1e-6, "{budget}");
}

/// A database error ends a round of the running worker, not the worker: while its answers
/// cannot be recorded it keeps them and sends little more, and once the database answers it
/// records each of them, so no lead is sent twice.
#[tokio::test]
async fn the_running_worker_outlives_database_errors_and_records_every_answer_once() {
    const SENDERS: usize = 4;
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(40, "o")).await["id"].as_i64().unwrap();
    let pool = api.app.database.any().await;
    // Every record writes this roll-up: without it, claims and sends go on and records fail.
    sqlx::query("ALTER TABLE delivery_minutes RENAME TO delivery_minutes_away").execute(&pool).await.unwrap();

    let (stop, run) = running(&api.app.db, Settings::new(SENDERS, Duration::from_secs(60), 8));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!run.is_finished(), "the worker stopped on the database error");
    let sent = clay.received_requests().await.unwrap().len();
    assert!(sent > 0 && sent <= SENDERS, "sent {sent} while no answer could be recorded");
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "in_flight")), (0, sent as u64), "{d}");

    sqlx::query("ALTER TABLE delivery_minutes_away RENAME TO delivery_minutes").execute(&pool).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while n(&delivery(&api, import).await, "delivered") < 40 {
        assert!(std::time::Instant::now() < deadline, "not delivered in time: {}", delivery(&api, import).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    run.await.unwrap().unwrap();
    assert_eq!(clay.received_requests().await.unwrap().len(), 40, "each lead sent once");
}

async fn call_back(api: &Api, table: i64, body: Value) -> StatusCode {
    let token = api.get(&format!("/api/v1/tables/{table}/callback")).await["token"].as_str().unwrap().to_owned();
    let request = api.client.post(api.app.url(&format!("/api/v1/callbacks/{table}")));
    request.header("X-Kiln-Callback-Token", token).json(&body).send().await.unwrap().status()
}

#[tokio::test]
async fn the_table_page_settings_name_the_callback_url_and_validate_the_destination() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let settings = api.get(&format!("/api/v1/tables/{table}/callback")).await;
    assert_eq!(settings["method"], "POST");
    assert_eq!(settings["url"], api.app.url(&format!("/api/v1/callbacks/{table}")), "{settings}");
    assert_eq!(settings["header"], "X-Kiln-Callback-Token");
    assert!(settings["body"].as_str().unwrap().contains("\"kiln_id\": \"/kiln_id\""), "{settings}");

    let path = format!("/api/v1/tables/{table}/after-clay");
    assert_eq!(api.get(&path).await["callback_timeout_minutes"], 60);
    for (bad, field) in [
        (json!({ "forward_url": "http://crm.example.com/in" }), "forward_url"),
        (json!({ "purge_after_forward": true }), "purge_after_forward"),
        (json!({ "callback_timeout_minutes": 0 }), "callback_timeout_minutes"),
    ] {
        let response = api.put(&path, bad).await;
        assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = response.json().await.unwrap();
        assert!(body.to_string().contains(field), "{body}");
    }
    let response = api
        .put(
            &path,
            json!({ "forward_url": "https://crm.example.com/hooks/secret-path-1234", "forward_auth": "Bearer t0ken",
                    "purge_after_forward": true, "callback_timeout_minutes": 15 }),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved["forward_url_masked"], "https://crm.example.com/…1234");
    assert_eq!((saved["has_forward_auth"].as_bool(), saved["purge_after_forward"].as_bool()), (Some(true), Some(true)));
    assert!(!saved.to_string().contains("t0ken") && !saved.to_string().contains("secret-path"), "{saved}");
    // Blank removes: no destination, so purging cannot stay on.
    let response = api.put(&path, json!({ "forward_url": "", "purge_after_forward": false })).await;
    assert_status(&response, StatusCode::OK);
    assert_eq!(api.get(&path).await["forward_url_masked"], Value::Null);
}

#[tokio::test]
async fn enriched_leads_stream_through_to_the_destination_then_are_purged_and_still_deduplicated() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let crm = MockServer::start().await;
    // The destination fails once, then takes everything.
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).up_to_n_times(1).mount(&crm).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(201)).mount(&crm).await;
    let (_, table) = workspace(&api, None, 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let response = api
        .put(
            &format!("/api/v1/tables/{table}/after-clay"),
            json!({ "forward_url": format!("{}/crm", crm.uri()), "forward_auth": "Bearer crm-key", "purge_after_forward": true }),
        )
        .await;
    assert_status(&response, StatusCode::OK);
    let csv = leads(3, "s");
    let import = api.csv(table, csv.clone()).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 8, 8);
    drain(&mut worker, &clock, 2).await;
    assert!(received(&crm).await.is_empty(), "nothing is forwarded before Clay calls back");

    for (body, _) in received(&clay).await {
        let back = json!({ "kiln_id": body["kiln_id"], "credits_used": 1.5, "title": "=CTO", "company_size": 42 });
        assert_eq!(call_back(&api, table, back).await, StatusCode::OK);
    }
    let report = drain(&mut worker, &clock, 4).await;
    assert_eq!(report.claimed, 4, "3 forwards and 1 retry of the one the destination refused: {report:?}");
    let forwarded = received(&crm).await;
    assert_eq!(forwarded.len(), 4);
    let mut ids = std::collections::HashSet::new();
    for (body, headers) in &forwarded {
        assert_eq!(headers["authorization"], "Bearer crm-key");
        assert_eq!(headers["idempotency-key"], format!("{}-forward", body["kiln_id"].as_str().unwrap()));
        assert!(body["email"].as_str().unwrap().ends_with("@example.com"), "{body}");
        assert_eq!((body["title"].as_str(), body["company_size"].as_i64()), (Some("=CTO"), Some(42)));
        assert_eq!(body["credits_used"], 1.5);
        ids.insert(body["kiln_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 3);

    // Purged: ids, hash, states and credits stay; the personal fields are gone.
    type Stored = (String, Option<String>, Option<String>, Option<i64>, Option<i64>, f64);
    let rows: Vec<Stored> = sqlx::query_as(
        "SELECT payload, enrichment, forward_state, purged_at, key_hi, credits_used FROM leads ORDER BY id",
    )
    .fetch_all(&api.app.database.any().await)
    .await
    .unwrap();
    for (payload, enrichment, forward_state, purged_at, key_hi, credits) in &rows {
        assert_eq!((payload.as_str(), enrichment.as_deref()), ("{}", None));
        assert_eq!(forward_state.as_deref(), Some("forwarded"));
        assert!(purged_at.is_some());
        assert!(key_hi.is_some(), "the dedupe key (a hash) stays");
        assert_eq!(*credits, 1.5);
    }
    let again = api.csv(table, csv).await;
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(3)), "{again}");
    let export = api.text(&format!("/api/v1/imports/{import}/leads.csv")).await;
    assert!(!export.contains("@example.com"), "a purged lead exports no personal field:\n{export}");
    assert_eq!(export.lines().filter(|line| line.contains(",forwarded,yes")).count(), 3, "{export}");
}

#[tokio::test]
async fn the_export_has_each_lead_its_state_and_enrichment_and_flags_missing_callbacks() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let response =
        api.put(&format!("/api/v1/tables/{table}/after-clay"), json!({ "callback_timeout_minutes": 5 })).await;
    assert_status(&response, StatusCode::OK);
    let import = api.csv(table, leads(3, "x")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    drain(&mut worker(&api.app.db, &clock, 8, 8), &clock, 2).await;
    let sent = received(&clay).await;
    let answered = sent[0].0["kiln_id"].as_str().unwrap().to_owned();
    let back = json!({ "kiln_id": answered, "credits_used": 3, "title": "=HYPERLINK(\"x\")", "seniority": "VP" });
    assert_eq!(call_back(&api, table, back).await, StatusCode::OK);
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "called_back"), n(&d, "no_callback")), (1, 0), "{d}");

    // Ten minutes later, the two Clay never called back for are flagged.
    let pool = api.app.database.any().await;
    sqlx::query("UPDATE leads SET delivered_at = delivered_at - 600000").execute(&pool).await.unwrap();
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "called_back"), n(&d, "no_callback")), (1, 2), "{d}");
    // A list counts all the imports it shows together, each on its own.
    let fresh = api.csv(table, leads(2, "y")).await["id"].as_i64().unwrap();
    let list = api.get("/api/v1/imports").await;
    let listed = |id: i64| list.as_array().unwrap().iter().find(|i| i["id"] == id).unwrap()["delivery"].clone();
    let d = listed(import);
    assert_eq!((n(&d, "delivered"), n(&d, "called_back"), n(&d, "no_callback")), (3, 1, 2), "{d}");
    let d = listed(fresh);
    assert_eq!((n(&d, "queued"), n(&d, "delivered"), n(&d, "called_back")), (2, 0, 0), "{d}");

    let export = api.text(&format!("/api/v1/imports/{import}/leads.csv")).await;
    let mut lines = export.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("kiln_id,line,table,state,"), "{header}");
    assert!(header.ends_with(",enriched.title,enriched.seniority"), "{header}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    let enriched = rows.iter().find(|row| row.starts_with(&format!("{answered},"))).unwrap();
    assert!(enriched.contains(",delivered,") && enriched.contains(",received,3,"), "{enriched}");
    assert!(enriched.ends_with(",\"'=HYPERLINK(\"\"x\"\")\",VP"), "formula-safe: {enriched}");
    assert_eq!(rows.iter().filter(|row| row.contains(",no callback,")).count(), 2, "{export}");
}

/// A file large enough to be stored in key order is exported in the order of its lines.
#[tokio::test]
async fn a_large_file_stored_in_key_order_is_exported_in_the_order_of_its_lines() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let rows = kiln::store::leads::KEY_ORDER_FROM + 5;
    let import = api.csv(table, leads(rows, "big")).await;
    assert_eq!(import["accepted"], rows, "{import}");
    let import = import["id"].as_i64().unwrap();

    let export = api.text(&format!("/api/v1/imports/{import}/leads.csv")).await;
    let lines: Vec<u64> = export.lines().skip(1).map(|row| row.split(',').nth(1).unwrap().parse().unwrap()).collect();
    let in_file_order: Vec<u64> = (2..2 + rows as u64).collect();
    assert_eq!(lines, in_file_order);
    let pool = api.app.database.any().await;
    let (first_line,): (i64,) =
        sqlx::query_as("SELECT line FROM leads ORDER BY id LIMIT 1").fetch_one(&pool).await.unwrap();
    assert_ne!(first_line, 2, "stored in key order");
}

#[tokio::test]
async fn metrics_report_the_ledger_to_allowed_addresses_or_token_holders() {
    let api = Api::on(TestApp::spawn_with(|args| args.metrics_allow = Vec::new()).await).await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).up_to_n_times(2).mount(&clay).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (workspace, table) = workspace(&api, Some(1_000), 2.0).await;
    let hook = webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    api.csv(table, leads(5, "m")).await;
    let clock = ManualClock::at(store::now_millis());
    drain(&mut worker(&api.app.db, &clock, 1, 8), &clock, 1).await;
    let kiln_id = received(&clay).await[0].0["kiln_id"].as_str().unwrap().to_owned();
    assert_eq!(call_back(&api, table, json!({ "kiln_id": kiln_id, "credits_used": 1.5 })).await, StatusCode::OK);

    let anonymous = api.client.get(api.app.url("/metrics")).send().await.unwrap();
    assert_status(&anonymous, StatusCode::UNAUTHORIZED);
    let viewer = api.app.token("prometheus", app::domain::Role::Viewer).await;
    let response = api.client.get(api.app.url("/metrics")).bearer_auth(viewer).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = response.text().await.unwrap();
    let value = |series: &str| -> f64 {
        let line = text.lines().find(|line| line.starts_with(series)).unwrap_or_else(|| panic!("{series} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let w = format!("workspace=\"{workspace}\"");
    // One step with one sender: one lead was answered 503, yet Clay called back for it (so it
    // is delivered); the others wait their turn.
    assert_eq!(value(&format!("kiln_leads{{state=\"delivered\",{w}}}")), 1.0);
    assert_eq!(value(&format!("kiln_leads{{state=\"queued\",{w}}}")), 4.0);
    assert_eq!(value(&format!("kiln_lead_answers{{state=\"delivered\",status=\"503\",{w}}}")), 1.0);
    assert_eq!(value(&format!("kiln_budget_credits{{kind=\"budget\",{w}}}")), 1_000.0);
    assert_eq!(value(&format!("kiln_budget_credits{{kind=\"reserved\",{w}}}")), 0.0);
    assert_eq!(value(&format!("kiln_webhook_used{{state=\"active\",table=\"{table}\",webhook=\"{hook}\",{w}}}")), 1.0);
    assert_eq!(
        value(&format!("kiln_webhook_usable{{state=\"active\",table=\"{table}\",webhook=\"{hook}\",{w}}}")),
        45_000.0
    );
    assert!(text.contains("process_resident_memory_bytes"), "the usual process metrics");

    let ready = api.client.get(api.app.url("/readyz")).send().await.unwrap();
    assert_status(&ready, StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!((ready["database"].as_str(), ready["worker"].as_str()), (Some("ok"), Some("not in this process")));
}

#[tokio::test]
async fn a_lead_clay_called_back_for_is_never_sent_again_even_if_its_send_seemed_to_fail() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    // Clay took the row but the answer was lost (a 503 stands in for it).
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).mount(&clay).await;
    let (_, table) = workspace(&api, None, 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let import = api.csv(table, leads(1, "r")).await["id"].as_i64().unwrap();
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 1, 8);
    drain(&mut worker, &clock, 1).await;
    assert_eq!(n(&delivery(&api, import).await, "retrying"), 1);
    let kiln_id = received(&clay).await[0].0["kiln_id"].as_str().unwrap().to_owned();
    assert_eq!(call_back(&api, table, json!({ "kiln_id": kiln_id, "credits_used": 2 })).await, StatusCode::OK);
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "retrying"), n(&d, "called_back")), (1, 0, 1), "{d}");
    clock.advance(60_000);
    drain(&mut worker, &clock, 3).await;
    assert_eq!(received(&clay).await.len(), 1, "not sent again");
    let budget = api.get("/api/v1/workspaces/1/budget").await;
    assert_eq!((budget["reserved"].as_f64(), budget["spent"].as_f64()), (Some(0.0), Some(2.0)), "{budget}");
}

#[tokio::test]
async fn the_dashboard_stream_sends_each_workspace_s_queue_rate_errors_and_callbacks() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(429)).up_to_n_times(1).mount(&clay).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).up_to_n_times(1).mount(&clay).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (workspace, table) = workspace(&api, None, 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    api.csv(table, leads(6, "d")).await;
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 1, 8);
    for _ in 0..4 {
        worker.step().await.unwrap();
        clock.advance(11_000); // past the 429's cool-down and the 500's back-off
    }
    let delivered: Vec<String> =
        received(&clay).await.iter().skip(2).map(|(body, _)| body["kiln_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(call_back(&api, table, json!({ "kiln_id": delivered[0] })).await, StatusCode::OK);

    // Anonymous: no stream.
    let anonymous = api.client.get(api.app.url("/events/dashboard")).send().await.unwrap();
    assert_status(&anonymous, StatusCode::UNAUTHORIZED);
    let browser = api.app.signed_in("viewer@example.com", app::domain::Role::Viewer).await;
    let mut response = browser.get(api.app.url("/events/dashboard")).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    // Events come at each refresh (every 2 s); the first may predate this test's data.
    let mut text = String::new();
    let (event, live) = loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await.unwrap().unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        let Some((complete, rest)) = text.rsplit_once("\n\n") else { continue };
        let last = complete.rsplit("\n\n").next().unwrap_or(complete).to_owned();
        text = rest.to_owned();
        let Some(data) = last.strip_prefix("data: ") else { continue };
        let event: Value = serde_json::from_str(data).unwrap();
        let found = event["workspaces"].as_array().unwrap().iter().find(|w| w["id"] == workspace).cloned();
        if let Some(live) = found.filter(|live| live["delivered"] == 2) {
            break (event, live);
        }
    };
    // One sender, four steps: a 429 (cool-down), a 500 (retry), then two delivered.
    assert_eq!(n(&live, "delivered"), 2, "{live}");
    assert_eq!(n(&live, "retrying") + n(&live, "queued"), 4, "{live}");
    assert_eq!(live["errors_last_hour"], json!([[429, 1], [500, 1]]), "{live}");
    assert_eq!(n(&live, "callbacks_last_hour"), 1);
    assert!(live["send_rate"].as_f64().unwrap() > 0.0, "{live}");
    assert_eq!(event["imports"].as_array().unwrap().len(), 1);
}

/// A snapshot reads every lead's state: with nobody watching, none is taken.
#[tokio::test]
async fn the_dashboard_is_computed_only_while_someone_watches() {
    use futures_util::StreamExt;
    let api = Api::new().await;
    let live = kiln::dashboard::Live::spawn_every(api.app.db.clone(), Duration::from_millis(50));
    let (workspace, table) = api.table(None).await;
    api.csv(table, leads(3, "w")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(live.latest().at, 0, "computed with nobody watching");

    let mut watching = Box::pin(live.watch());
    let first = tokio::time::timeout(Duration::from_secs(5), watching.next()).await.unwrap().unwrap();
    let mine = first.workspaces.iter().find(|w| w.id == workspace).unwrap();
    assert_eq!(mine.queued, 3, "{first:?}");
    // A page that opens meanwhile gets the fresh snapshot at once, without computing another.
    assert_eq!(Box::pin(live.watch()).next().await.unwrap().at, first.at);

    drop(watching);
    // A computation under way when the last watcher left may still land; then none.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let last = live.latest().at;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(live.latest().at, last, "computed after the last watcher left");

    // A page request after the quiet spell waits for the task's next snapshot, and the task
    // keeps them fresh for a while after it.
    let asked = live.current(&api.app.db).await.unwrap();
    assert!(asked.at > last && asked.at == live.latest().at, "{} {last}", asked.at);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(live.latest().at > asked.at, "not kept fresh after a request");
}

#[tokio::test]
async fn budget_and_webhook_thresholds_raise_one_alert_each() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (_, table) = workspace(&api, Some(10), 2.0).await;
    let hook =
        webhook(&api, table, &format!("{}/hook", clay.uri()), json!({ "lifetime_cap": 10, "safety_margin": 5 })).await;
    api.csv(table, leads(4, "t")).await;
    let chat = MockServer::start().await;
    Mock::given(method("POST")).and(path("/slack")).respond_with(ResponseTemplate::new(200)).mount(&chat).await;
    let clock = ManualClock::at(store::now_millis());
    let notifier = kiln::notify::Notifier::new(Some(format!("{}/slack", chat.uri()).into())).unwrap();
    let mut worker = worker(&api.app.db, &clock, 8, 8).with_notifier(notifier);
    // Thresholds are checked every 5 s; twelve steps of a second see them twice.
    drain(&mut worker, &clock, 12).await;
    let open = store::alerts::open(&api.app.db).await.unwrap();
    let kinds: Vec<&str> = open.iter().map(|alert| alert.kind.as_str()).collect();
    // 8 of 10 credits reserved; 4 of 5 usable submissions used.
    assert_eq!(kinds.iter().filter(|kind| **kind == "budget_80").count(), 1, "{open:?}");
    assert!(!kinds.contains(&"budget_100"), "{open:?}");
    assert_eq!(kinds.iter().filter(|kind| **kind == "webhook_80").count(), 1, "{open:?}");
    assert!(!kinds.contains(&"webhook_full"), "{open:?}");
    let budget = open.iter().find(|alert| alert.kind == "budget_80").unwrap();
    assert!(budget.message.contains("80% of this month's 10 data credits"), "{}", budget.message);
    assert!(open.iter().any(|alert| alert.message.starts_with(&format!("webhook {hook} at 80%"))), "{open:?}");
    // Each alert reached the alert URL once, as Slack-compatible JSON (sent in the background).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while received(&chat).await.len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let told: Vec<String> =
        received(&chat).await.into_iter().map(|(body, _)| body["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.iter().any(|text| text.starts_with("Kiln: ") && text.contains("80% of this month's 10")), "{told:?}");

    let listed = api.get("/api/v1/alerts").await;
    let kinds: Vec<&str> = listed.as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"budget_80") && kinds.contains(&"webhook_80"), "{listed}");
    assert!(listed.as_array().unwrap().iter().all(|a| a["cleared_at"].is_null()));
    let response =
        api.client.get(api.app.url("/api/v1/alerts?state=gone")).bearer_auth(&api.token).send().await.unwrap();
    assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_audit_log_names_who_did_each_change() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, Some(1_000), 1.0).await;
    webhook(&api, table, "http://127.0.0.1:9/hook", json!({})).await;
    let import = api.csv(table, leads(2, "a")).await["id"].as_i64().unwrap();
    api.post_ok(&format!("/api/v1/imports/{import}/pause"), json!({})).await;
    api.post_ok(&format!("/api/v1/imports/{import}/resume"), json!({})).await;
    api.post_ok(&format!("/api/v1/imports/{import}/priority?priority=high"), json!({})).await;
    api.post_ok(&format!("/api/v1/imports/{import}/requeue-dead"), json!({})).await;
    let response =
        api.put(&format!("/api/v1/tables/{table}/after-clay"), json!({ "callback_timeout_minutes": 9 })).await;
    assert_status(&response, StatusCode::OK);
    api.post_ok(&format!("/api/v1/tables/{table}/callback/rotate"), json!({})).await;

    let entries = api.get("/api/v1/audit").await;
    let entries = entries.as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in [
        "workspace.create",
        "table.create",
        "webhook.add",
        "import.upload",
        "import.pause",
        "import.resume",
        "import.priority",
        "import.requeue_dead",
        "table.after_clay",
        "table.rotate_callback_token",
    ] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let upload = entries.iter().find(|e| e["action"] == "import.upload").unwrap();
    assert_eq!(upload["actor"], "token:ingest-tests");
    assert_eq!(upload["subject"], format!("import {import}"));
    assert!(upload["detail"].as_str().unwrap().contains("2 rows: 2 accepted"), "{upload}");
    // Newest first, and paged by id.
    assert_eq!(actions[0], "table.rotate_callback_token");
    let older = api.get(&format!("/api/v1/audit?before={}", entries[0]["id"])).await;
    assert_eq!(older[0]["action"], "table.after_clay");
}

/// A table whose leads Clay takes and calls back for at once, then forwards to a destination
/// that always answers `answer`: the workspace's API, the destination, and a worker of
/// `max_attempts` that has sent `count` leads to Clay.
async fn forwarding_to(
    answer: ResponseTemplate,
    count: usize,
    max_attempts: u32,
) -> (Api, MockServer, TestWorker, ManualClock) {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let destination = MockServer::start().await;
    Mock::given(method("POST")).respond_with(answer).mount(&destination).await;
    let (_, table) = workspace(&api, None, 1.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    let forward_url = format!("{}/crm", destination.uri());
    let response = api.put(&format!("/api/v1/tables/{table}/after-clay"), json!({ "forward_url": forward_url })).await;
    assert_status(&response, StatusCode::OK);
    api.csv(table, leads(count, "f")).await;
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 8, max_attempts);
    drain(&mut worker, &clock, 1).await;
    for (body, _) in received(&clay).await {
        assert_eq!(call_back(&api, table, json!({ "kiln_id": body["kiln_id"] })).await, StatusCode::OK);
    }
    (api, destination, worker, clock)
}

/// The open `forward_failing` alerts.
async fn forward_failing_alerts(api: &Api) -> Vec<Value> {
    let alerts = api.get("/api/v1/alerts").await;
    alerts.as_array().unwrap().iter().filter(|a| a["kind"] == "forward_failing").cloned().collect()
}

#[tokio::test]
async fn a_destination_that_refuses_forwards_raises_one_alert() {
    let (api, crm, mut worker, clock) = forwarding_to(ResponseTemplate::new(404), 2, 8).await;
    drain(&mut worker, &clock, 2).await;
    assert_eq!(received(&crm).await.len(), 2, "each refused once, not retried");
    let failing = forward_failing_alerts(&api).await;
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert!(failing[0]["message"].as_str().unwrap().contains("HTTP 404"), "{failing:?}");
}

#[tokio::test]
async fn dead_forwards_are_counted_on_the_table_and_go_again_once_the_destination_works() {
    let (api, crm, mut worker, clock) = forwarding_to(ResponseTemplate::new(404), 2, 8).await;
    drain(&mut worker, &clock, 2).await;
    let pool = api.app.database.any().await;
    let (table,): (i64,) = sqlx::query_as("SELECT table_id FROM leads LIMIT 1").fetch_one(&pool).await.unwrap();
    let settings = format!("/api/v1/tables/{table}/after-clay");
    let dead = api.get(&settings).await;
    assert_eq!(dead["dead_forwards"], 2, "{dead}");
    assert_eq!(dead["last_forward_error"], "refused by the destination (HTTP 404)", "{dead}");
    assert!(
        forward_failing_alerts(&api).await[0]["message"].as_str().unwrap().contains("send the dead forwards again")
    );

    // Fixed at the destination's end: both go again, with their old Idempotency-Key.
    crm.reset().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&crm).await;
    let requeue = format!("/api/v1/tables/{table}/requeue-dead-forwards");
    assert_eq!(api.post_ok(&requeue, json!({})).await["requeued"], 2);
    assert!(forward_failing_alerts(&api).await.is_empty(), "the alert closes when they go again");
    drain(&mut worker, &clock, 2).await;
    let sent = received(&crm).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    for (body, headers) in &sent {
        assert_eq!(headers["idempotency-key"], format!("{}-forward", body["kiln_id"].as_str().unwrap()));
    }
    let after = api.get(&settings).await;
    assert_eq!((after["dead_forwards"].as_u64(), after["last_forward_error"].as_str()), (Some(0), None), "{after}");
    let states: Vec<(Option<String>, i64)> =
        sqlx::query_as("SELECT forward_state, forward_attempts FROM leads").fetch_all(&pool).await.unwrap();
    assert_eq!(states, vec![(Some("forwarded".to_owned()), 0); 2], "a fresh set of attempts (the 404 had used one)");
    assert_eq!(api.post_ok(&requeue, json!({})).await["requeued"], 0, "nothing left to send again");
    let audit = api.get("/api/v1/audit").await;
    assert_eq!(audit[0]["action"], "table.requeue_dead_forwards", "{audit}");

    // A table that no longer forwards has nowhere to send them.
    let response = api.put(&settings, json!({ "forward_url": "" })).await;
    assert_status(&response, StatusCode::OK);
    let response = api.client.post(api.app.url(&requeue)).bearer_auth(&api.token).send().await.unwrap();
    assert_status(&response, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_imports_in_delivery_are_those_with_leads_to_send_or_dead_however_old() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let pool = api.app.database.any().await;
    let mut ids = Vec::new();
    for n in 0..9 {
        ids.push(api.csv(table, leads(2, &format!("d{n}-"))).await["id"].as_i64().unwrap());
    }
    // (import, its state, the state of its first lead, of its second)
    let cases = [
        (ids[0], "queued", "delivered", "dead"),
        (ids[1], "queued", "delivered", "delivered"),
        (ids[2], "paused", "delivered", "paused"),
        (ids[3], "cancelled", "dead", "cancelled"),
        (ids[4], "queued", "queued", "in_flight"),
        (ids[5], "awaiting_decision", "staged", "staged"),
        (ids[6], "queued", "delivered", "retrying"),
        (ids[7], "queued", "waiting", "delivered"),
        (ids[8], "queued", "held", "delivered"),
    ];
    for (import, state, first, second) in cases {
        sqlx::query("UPDATE imports SET state = $2 WHERE id = $1")
            .bind(import)
            .bind(state)
            .execute(&pool)
            .await
            .unwrap();
        for (rank, lead_state) in [(0, first), (1, second)] {
            sqlx::query(
                "UPDATE leads SET state = $3 WHERE id = (SELECT id FROM leads WHERE import_id = $1 ORDER BY id LIMIT 1 OFFSET $2)",
            )
            .bind(import)
            .bind(rank)
            .bind(lead_state)
            .execute(&pool)
            .await
            .unwrap();
        }
    }
    // Two hundred newer imports, all done: the older ones on their way are still listed.
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
         INSERT INTO imports (workspace_id, table_id, priority, source, filename, format, state, created_by, created_at)
         SELECT workspace_id, table_id, priority, source, filename, format, state, created_by, created_at
         FROM imports CROSS JOIN n WHERE id = $1",
    )
    .bind(ids[1])
    .execute(&pool)
    .await
    .unwrap();
    let listed: Vec<i64> =
        store::imports::in_delivery(&api.app.db, 500).await.unwrap().iter().map(|import| import.id).collect();
    assert_eq!(listed, vec![ids[7], ids[6], ids[4], ids[2], ids[0]], "newest first; none done, held or stopped");
}

#[tokio::test]
async fn held_leads_go_on_their_way_to_the_table_an_operator_chooses() {
    let api = Api::new().await;
    let clay = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&clay).await;
    let (workspace, table) = workspace(&api, None, 2.0).await;
    webhook(&api, table, &format!("{}/hook", clay.uri()), json!({})).await;
    // A rule that takes nothing, and unrouted rows held: every row is held.
    let rules = json!({
        "rules": [{ "column": "email", "condition": { "op": "equals", "value": "nobody" }, "table_id": table }],
        "fallback": { "kind": "hold" },
    });
    assert_status(&api.put(&format!("/api/v1/workspaces/{workspace}/routing"), rules).await, StatusCode::OK);
    let (status, import) =
        api.import(&format!("routing=rules&workspace_id={workspace}"), "text/csv", leads(3, "h")).await;
    assert_eq!(status, StatusCode::CREATED, "{import}");
    let id = import["id"].as_i64().unwrap();
    assert_eq!((import["held"].as_u64(), import["estimated_credits"].as_f64()), (Some(3), Some(0.0)), "{import}");
    let held = api.get(&format!("/api/v1/imports/{id}/held")).await;
    assert_eq!(held, json!({ "unrouted": 3, "beyond_budget": 0, "beyond_budget_credits": 0.0 }));

    let queue_held = |query: String| {
        let url = api.app.url(&format!("/api/v1/imports/{id}/queue-held{query}"));
        api.client.post(url).bearer_auth(&api.token).send()
    };
    let refused = queue_held(String::new()).await.unwrap();
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let message = refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("3 held leads matched no routing rule"), "{message}");
    let other = api.post("/api/v1/workspaces", json!({ "name": "Elsewhere" })).await;
    let elsewhere = api
        .post("/api/v1/tables", json!({ "workspace_id": other["id"], "name": "Theirs", "credits_per_lead": 1 }))
        .await["id"]
        .clone();
    assert_status(&queue_held(format!("?table_id={elsewhere}")).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY);

    // Sent while the import is paused: they wait with it, then go when it resumes.
    api.post_ok(&format!("/api/v1/imports/{id}/pause"), json!({})).await;
    let sent = queue_held(format!("?table_id={table}")).await.unwrap();
    assert_status(&sent, StatusCode::OK);
    let sent: Value = sent.json().await.unwrap();
    assert_eq!((sent["held"].as_u64(), sent["estimated_credits"].as_f64()), (Some(0), Some(6.0)), "{sent}");
    assert_eq!((n(&sent["delivery"], "paused"), n(&sent["delivery"], "held")), (3, 0), "{sent}");
    let held = api.get(&format!("/api/v1/imports/{id}/held")).await;
    assert_eq!(held, json!({ "unrouted": 0, "beyond_budget": 0, "beyond_budget_credits": 0.0 }));
    let clock = ManualClock::at(store::now_millis());
    let mut worker = worker(&api.app.db, &clock, 8, 8);
    drain(&mut worker, &clock, 2).await;
    assert_eq!(received(&clay).await.len(), 0, "nothing goes out of a paused import");
    api.post_ok(&format!("/api/v1/imports/{id}/resume"), json!({})).await;
    drain(&mut worker, &clock, 2).await;
    assert_eq!(received(&clay).await.len(), 3, "all three delivered");
    assert_eq!(api.get("/api/v1/audit").await[1]["action"], "import.queue_held", "before the resume");

    // A stopped import's held leads stay where they are.
    let (_, again) = api.import(&format!("routing=rules&workspace_id={workspace}"), "text/csv", leads(2, "s")).await;
    let again = again["id"].as_i64().unwrap();
    let cancel = api.client.post(api.app.url(&format!("/api/v1/imports/{again}/cancel"))).bearer_auth(&api.token);
    assert_status(&cancel.send().await.unwrap(), StatusCode::OK);
    let url = api.app.url(&format!("/api/v1/imports/{again}/queue-held?table_id={table}"));
    let response = api.client.post(url).bearer_auth(&api.token).send().await.unwrap();
    assert_status(&response, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_lead_called_back_while_its_lease_ran_out_is_delivered_not_queued_again() {
    let api = Api::new().await;
    let (_, table) = workspace(&api, None, 1.0).await;
    let import = api.csv(table, leads(1, "l")).await["id"].as_i64().unwrap();
    // Claimed by a process that then died: in flight with a lease already past.
    let pool = api.app.database.any().await;
    sqlx::query("UPDATE leads SET state = 'in_flight', lease_until = 1").execute(&pool).await.unwrap();
    let (kiln_id,): (i64,) = sqlx::query_as("SELECT id FROM leads").fetch_one(&pool).await.unwrap();
    assert_eq!(call_back(&api, table, json!({ "kiln_id": kiln_id.to_string() })).await, StatusCode::OK);
    store::delivery::release_expired_leases(&api.app.db, store::now_millis()).await.unwrap();
    let d = delivery(&api, import).await;
    assert_eq!((n(&d, "delivered"), n(&d, "queued"), n(&d, "called_back")), (1, 0, 1), "{d}");
}

#[tokio::test]
async fn a_destination_that_throttles_for_ever_gives_up_after_the_attempts_and_says_so() {
    let throttled = ResponseTemplate::new(429).insert_header("retry-after", "1");
    let (api, crm, mut worker, clock) = forwarding_to(throttled, 1, 3).await;
    // Each step waits out the 1-s Retry-After (the test clock moves 1 s a step).
    drain(&mut worker, &clock, 10).await;
    assert_eq!(received(&crm).await.len(), 3, "three attempts, then no more");
    let failing = forward_failing_alerts(&api).await;
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert!(failing[0]["message"].as_str().unwrap().contains("HTTP 429"), "{failing:?}");
}
