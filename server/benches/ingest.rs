//! `make bench`, ingest part: a generated 1,000,000-row lead CSV (realistic columns, ~10%
//! duplicates, ~2% bad rows) streamed through the HTTP API of the release `kiln` binary into
//! SQLite, timed, with the server's peak memory; beside it, the same file loaded by the `sqlite3`
//! shell's `.import` (the floor any importer can reach), measured in the same run.

use std::{
    fmt::Write as _,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

const ROWS: usize = 1_000_000;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let kiln = root.join("target/release/kiln");
    assert!(kiln.is_file(), "build the release first (make build)");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leads.csv");
    let started = Instant::now();
    let bytes = generate(&csv);
    println!("generated {ROWS} rows, {:.1} MB, in {:.1} s", bytes as f64 / 1e6, started.elapsed().as_secs_f64());

    let floor = sqlite_import(&csv, &dir.path().join("floor.db"));
    println!("sqlite3 .import: {:.2} s, {:.0} rows/s", floor.as_secs_f64(), ROWS as f64 / floor.as_secs_f64());

    let (Import { elapsed, peak_kb, after_kb, written }, import) = kiln_import(&kiln, &csv, dir.path());
    println!(
        "kiln HTTP API: {:.2} s, {:.0} rows/s (target ≥ 250,000), peak RSS {:.0} MB (target < 200 MB), {:.0} MB after, {:.2} GB written",
        elapsed.as_secs_f64(),
        ROWS as f64 / elapsed.as_secs_f64(),
        peak_kb as f64 / 1024.0,
        after_kb as f64 / 1024.0,
        written as f64 / 1e9
    );
    println!(
        "  rows {} = accepted {} + rejected {} + duplicates {}; {:.1}× the sqlite3 floor's time",
        import["rows"],
        import["accepted"],
        import["rejected"],
        import["duplicates"],
        elapsed.as_secs_f64() / floor.as_secs_f64()
    );
}

/// A deterministic generator (no external randomness): xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const FIRST: [&str; 16] = [
    "Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Radia", "Edsger", "Frances", "Niklaus",
    "Hedy", "Tim", "Sophie", "José",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Perlman",
    "Dijkstra",
    "Allen",
    "Wirth",
    "Lamarr",
    "Berners-Lee",
    "Wilson",
    "Müller",
];
const TITLES: [&str; 8] = [
    "VP Sales",
    "Head of Growth",
    "CTO",
    "Founder",
    "RevOps Manager",
    "Marketing Director",
    "SDR",
    "\"Chief, Everything\"",
];
const COUNTRIES: [&str; 8] = ["US", "FR", "DE", "GB", "CA", "BR", "JP", "ES"];

fn generate(path: &Path) -> u64 {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    writeln!(out, "First Name,Last Name,Email,Company,Website,Title,Phone,Country,LinkedIn URL,Notes").unwrap();
    let mut line = String::with_capacity(256);
    let mut written = 0u64;
    for i in 0..ROWS {
        line.clear();
        let roll = rng.next() % 100;
        // ~10% repeat an earlier lead's email; ~2% are broken.
        let person = if roll < 10 && i > 0 { rng.next() % i as u64 } else { i as u64 };
        let (first, last) = (FIRST[(person % 16) as usize], LAST[(person / 16 % 16) as usize]);
        let company = format!("Company {}", person / 7);
        let domain = format!("company{}.example.com", person / 7);
        let email = match roll {
            10 => format!("{first}.{last} at {domain}"),
            _ => format!("{}.{}.{person}@{domain}", first.to_lowercase(), last.to_lowercase()),
        };
        let _ = write!(
            line,
            "{first},{last},{email},{company},https://www.{domain}/,{},+1 555 {:04},{},https://www.linkedin.com/in/{}-{}-{person},",
            rng.pick(&TITLES),
            person % 10_000,
            rng.pick(&COUNTRIES),
            first.to_lowercase(),
            last.to_lowercase()
        );
        if roll == 11 {
            line.push_str(",extra field");
        } else {
            line.push_str("\"met at a conference; asked for a demo\"");
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
    }
    out.flush().unwrap();
    written
}

/// The floor, on pages of the size Kiln gives a new database (larger pages load faster).
fn sqlite_import(csv: &Path, db: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new("sqlite3")
        .arg(db)
        .args([
            &format!("PRAGMA page_size = {}", kiln::store::PAGE_SIZE),
            ".mode csv",
            &format!(".import {} leads", csv.display()),
        ])
        .stderr(Stdio::null())
        .status()
        .expect("the sqlite3 shell (Debian package sqlite3)");
    assert!(status.success());
    started.elapsed()
}

/// What the import through the API cost.
struct Import {
    elapsed: Duration,
    peak_kb: u64,
    /// What the server holds once the import has answered.
    after_kb: u64,
    written: u64,
}

fn kiln_import(kiln: &Path, csv: &Path, dir: &Path) -> (Import, serde_json::Value) {
    let database = format!("sqlite://{}", dir.join("kiln.db").display());
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(kiln)
            .args(args)
            .args(["--database-url", &database])
            .env("KILN_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_owned()
    };
    let token = run(&["token", "create", "--name", "bench", "--role", "admin"], "");
    let port = 3300;
    let mut server = Command::new(kiln)
        // The ingest alone: the delivery worker (measured by its own bench) would start parking
        // the leads of this webhook-less table as soon as they are queued.
        .args(["serve", "--no-worker", "--addr", &format!("127.0.0.1:{port}"), "--database-url", &database])
        .env("KILN_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let result = runtime.block_on(async {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let post = |path: &str, body: serde_json::Value| {
            client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send()
        };
        let workspace: serde_json::Value =
            post("/api/v1/workspaces", serde_json::json!({ "name": "Bench" })).await.unwrap().json().await.unwrap();
        let table: serde_json::Value = post(
            "/api/v1/tables",
            serde_json::json!({ "workspace_id": workspace["id"], "name": "Leads", "credits_per_lead": 1 }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let file = tokio::fs::File::open(csv).await.unwrap();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/imports?table_id={}", table["id"]))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        let import: serde_json::Value = response.json().await.unwrap();
        (started.elapsed(), import)
    });
    let proc_field = |file: &str, name: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{}/{file}", server.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()))
            .unwrap_or(0)
    };
    let peak_kb = proc_field("status", "VmHWM:");
    let after_kb = proc_field("status", "VmRSS:");
    // Bytes the server handed to write(2): the database file, its WAL, any temporary files (and
    // its few HTTP answers).
    let written = proc_field("io", "wchar:");
    let _ = server.kill();
    let _ = server.wait();
    (Import { elapsed: result.0, peak_kb, after_kb, written }, result.1)
}
