//! Crash safety with the real `kiln` binary: killed with SIGKILL in the middle of a run and
//! started again, it still delivers every lead; only leads that were in flight may arrive twice,
//! and a re-send carries the same `kiln_id` and `Idempotency-Key`. Killed while a file arrives,
//! it ends that import when it starts again, so the file can be uploaded again whole.

use serde_json::{Value, json};
use std::{
    collections::HashMap,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::method};

const LEADS: usize = 2_000;
const SENDERS: usize = 16;

fn kiln(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
    command
        .args(args)
        .env("KILN_DATABASE_URL", format!("sqlite://{}", dir.join("kiln.db").display()))
        .env("KILN_LOG", "warn")
        .current_dir(dir);
    command
}

fn start(dir: &Path, port: u16) -> Child {
    kiln(dir, &["serve", "--no-sandbox", "--send-timeout", "2", "--senders", &SENDERS.to_string()])
        .env("KILN_ADDR", format!("127.0.0.1:{port}"))
        .env("KILN_SITE_ROOT", dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("kiln starts")
}

/// A first `kiln serve` on a free port, healthy, with an admin token made by the CLI.
struct Started {
    token: String,
    port: u16,
    base: String,
    client: reqwest::Client,
    server: Child,
}

async fn start_fresh(dir: &Path) -> Started {
    let output = kiln(dir, &["token", "create", "--name", "crash", "--role", "admin"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let server = start(dir, port);
    wait_healthy(&client, &base).await;
    Started { token, port, base, client, server }
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "kiln did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn after_kill_9_and_a_restart_every_lead_arrives_and_resends_stay_within_the_in_flight_bound() {
    let dir = tempfile::tempdir().unwrap();
    let clay = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(5)))
        .mount(&clay)
        .await;
    let Started { token, port, base, client, mut server } = start_fresh(dir.path()).await;
    // Ready once its delivery worker goes round its loop.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready: Value = client.get(format!("{base}/readyz")).send().await.unwrap().json().await.unwrap();
        if ready["worker"] == "ok" {
            assert_eq!(ready["status"], "ready", "{ready}");
            break;
        }
        assert!(Instant::now() < deadline, "the worker never reported in: {ready}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let post = |path: &str, body: Value| {
        let request = client.post(format!("{base}/api/v1{path}")).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let workspace = post("/workspaces", json!({ "name": "Crash", "rate_per_sec": 400, "burst": 800 })).await;
    let table = post("/tables", json!({ "workspace_id": workspace["id"], "name": "T", "credits_per_lead": 1 })).await;
    post(&format!("/tables/{}/webhooks", table["id"]), json!({ "url": format!("{}/hook", clay.uri()) })).await;
    let mut csv = String::from("email\n");
    for i in 0..LEADS {
        csv.push_str(&format!("crash{i}@example.com\n"));
    }
    let import: Value = client
        .post(format!("{base}/api/v1/imports?table_id={}", table["id"]))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let import_url = format!("{base}/api/v1/imports/{}", import["id"]);
    let delivered = |body: &Value| body["delivery"]["delivered"].as_u64().unwrap_or(0);

    // Mid-run: SIGKILL.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now: Value = client.get(&import_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if delivered(&now) >= 300 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress before the kill: {now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let mut server = start(dir.path(), port);
    wait_healthy(&client, &base).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now: Value = client.get(&import_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        if delivered(&now) == LEADS as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "not every lead was delivered after the restart: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();

    let mut arrivals: HashMap<String, (usize, String)> = HashMap::new();
    for request in clay.received_requests().await.unwrap() {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let kiln_id = body["kiln_id"].as_str().unwrap().to_owned();
        let key = request.headers.get("idempotency-key").unwrap().to_str().unwrap().to_owned();
        assert_eq!(key, kiln_id, "the Idempotency-Key is the kiln_id");
        let email = body["email"].as_str().unwrap().to_owned();
        let entry = arrivals.entry(kiln_id).or_insert((0, email.clone()));
        assert_eq!(entry.1, email, "a kiln_id always names the same lead");
        entry.0 += 1;
    }
    assert_eq!(arrivals.len(), LEADS, "every lead arrived");
    let resent: usize = arrivals.values().map(|(n, _)| n - 1).sum();
    // In flight in the ledger at the kill: the requests out (at most SENDERS) and the answers
    // waiting to be recorded in the next batch (fewer than a quarter of the senders).
    let bound = SENDERS + SENDERS / 4;
    assert!(resent <= bound, "{resent} re-sends; at most the {bound} in flight at the kill may be sent twice");
}

#[tokio::test]
async fn killed_while_a_file_arrives_it_ends_that_import_and_the_file_can_come_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    let Started { token, port, base, client, mut server } = start_fresh(dir.path()).await;
    let post = |path: &str, body: Value| {
        let request = client.post(format!("{base}/api/v1{path}")).bearer_auth(&token).json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let get = |path: String| {
        let request = client.get(format!("{base}/api/v1{path}")).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let workspace = post("/workspaces", json!({ "name": "Crash" })).await;
    let table = post("/tables", json!({ "workspace_id": workspace["id"], "name": "T", "credits_per_lead": 1 })).await;
    let mut csv = String::from("email\n");
    for i in 0..20_500 {
        csv.push_str(&format!("arriving{i}@example.com\n"));
    }
    let imports_url = format!("{base}/api/v1/imports?table_id={}", table["id"]);

    // The first 20,000 rows (one batch) arrive and are committed; the rest never come.
    let (chunks, rx) = tokio::sync::mpsc::channel::<String>(1);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), rx))
    });
    let upload = tokio::spawn(
        client
            .post(&imports_url)
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(reqwest::Body::wrap_stream(body))
            .send(),
    );
    let (split, _) = csv.match_indices('\n').nth(20_000).unwrap();
    chunks.send(csv[..=split].to_owned()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let newest = get("/imports".into()).await[0].clone();
        if newest["state"] == "receiving" && newest["accepted"] == 20_000 {
            break newest["id"].clone();
        }
        assert!(Instant::now() < deadline, "the first batch was never committed: {newest}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(upload.await.unwrap().is_err(), "the upload broke with the server");

    let mut server = start(dir.path(), port);
    wait_healthy(&client, &base).await;
    let ended = get(format!("/imports/{id}")).await;
    assert_eq!(ended["state"], "failed", "{ended}");
    assert!(ended["error"].as_str().unwrap().contains("upload the file again"), "{ended}");
    let again: Value = client
        .post(&imports_url)
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(again["state"], "queued", "{again}");
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(20_500), Some(0)), "{again}");
}
