//! Lead ingest: one pipeline for the page's uploads and the API. The body is parsed as it arrives
//! (memory does not grow with the file), every row ends accepted, rejected with a reason, or a
//! duplicate, and the counts are stored with the rows they count.
//!
//! ```text
//! body chunks ──(async task)──▶ parser thread ──batches──▶ writer (this task) ──▶ database
//!              decode, CSV/JSON records, normalise, validate, dedupe key, route, arrange batch
//! ```
//! Both channels are bounded, so a slow database slows the upload instead of filling memory.

mod csv_rows;
mod json_rows;
pub mod lead;
pub mod normalize;
pub mod rejects_csv;
mod text;

use crate::{
    budget,
    error::Error,
    store::{
        self, Db,
        leads::{Arranged, Batch, Written},
    },
};
use app::{
    domain::{ImportState, ImportSummary, Priority},
    ingest::{Fallback, Mapping, Rule},
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use lead::Routing;
use std::{
    collections::HashMap,
    fmt::Display,
    time::{Duration, Instant},
};
use tokio::sync::mpsc::{self, error::TryRecvError};

/// Clay refuses payloads over 100 KB (`clay-facts.md` #4): longer rows are refused unread.
pub const MAX_ROW_BYTES: usize = 100 * 1024;
/// Rows the parser hands the writer at once (what is held in memory per batch).
const BATCH_ROWS: usize = 20_000;
/// Rows per database transaction, at most. Each commit writes every page it changed, and new
/// dedupe keys land on pages all over their index: the more rows a commit holds, the more keys
/// each written page carries (rows per commit, 1,000,000 rows: 2,000, 74 s; 20,000, 42 s;
/// docs/BENCHMARKS.md). Kept open over several batches, the transaction costs no memory.
const COMMIT_ROWS: u64 = 100_000;
/// How long the transaction may stay open before the next batch's write commits it. On SQLite
/// it holds the one write lock, which the delivery worker waits for: a second and a batch's
/// write (about 0.4 s on a 2-core machine) is within a workspace's burst (20 sends at 10/s by
/// default is two seconds' worth), so pacing loses nothing to an import.
const COMMIT_AFTER: Duration = Duration::from_secs(1);
/// How often a running import shows it is alive while it waits for its upload.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long an import arriving may show no sign of life before it is taken for one whose process
/// stopped ([`end_interrupted`]): several heartbeats, and longer than queueing an import of
/// millions of leads takes after its last batch.
pub const INTERRUPTED_AFTER: Duration = Duration::from_secs(5 * 60);
/// How much of the file decides its encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Ndjson,
    JsonArray,
}

impl Format {
    /// From a `Content-Type`: CSV unless it names NDJSON or JSON.
    pub fn from_content_type(content_type: Option<&str>) -> Format {
        let essence =
            content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match essence.as_str() {
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/x-jsonlines" => {
                Format::Ndjson
            }
            "application/json" => Format::JsonArray,
            _ => Format::Csv,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::JsonArray => "json",
        }
    }
}

/// Where the rows go.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Table(i64),
    /// Through the workspace's routing rules.
    Rules {
        workspace_id: i64,
    },
}

/// What to do when the accepted leads would pass the rest of the month's credit budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    /// Queue everything; delivery stops at the budget anyway.
    QueueAll,
    /// Queue, in order, only the leads whose estimate fits; hold the rest.
    QueueFit,
    /// Wait for an operator to choose (the page asks).
    Ask,
}

pub struct Request {
    pub target: Target,
    pub priority: Priority,
    /// A mapping override such as `email=Work Email,company=Organisation`.
    pub mapping: Option<String>,
    pub format: Format,
    pub filename: Option<String>,
    pub source: &'static str,
    pub actor: String,
    pub over_budget: OverBudget,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read at all (empty, header only, bad mapping…): 422, no lead kept.
    #[error("{message}")]
    Unreadable { import_id: i64, message: String },
    /// The upload stopped before the end of the body.
    #[error("the upload stopped before the end of the file: {message}")]
    Aborted { import_id: i64, message: String },
    /// The import was ended while its file arrived, as one left by a stopped process
    /// ([`end_interrupted`]): none of its leads is kept.
    #[error("{INTERRUPTED}")]
    Interrupted { import_id: i64 },
    #[error(transparent)]
    Http(#[from] Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Http(e.into())
    }
}

/// What the body task hands the parser.
enum Input {
    Chunk(Bytes),
    End,
    Aborted(String),
}

/// What the parser hands the writer.
enum Event {
    /// How the file was read, once its head is known.
    Format {
        encoding: String,
        delimiter: Option<String>,
        headers: Vec<String>,
        mapping: Mapping,
    },
    Batch(Arranged),
}

/// Why the parser gave up on a file.
#[derive(Debug)]
enum ParseError {
    Unreadable(String),
    Aborted(String),
}

/// The parser's view of the import, fixed before the first byte.
struct Setup {
    mapping_override: Option<String>,
    routing: RoutingSpec,
}

enum RoutingSpec {
    Table(i64),
    Rules { rules: Vec<Rule>, fallback: Fallback },
}

impl RoutingSpec {
    fn compile(&self, headers: &[String]) -> Result<Routing, ParseError> {
        match self {
            RoutingSpec::Table(id) => Ok(Routing::Table(*id)),
            RoutingSpec::Rules { rules, fallback } => app::ingest::Router::new(rules, *fallback, headers)
                .map(Routing::Rules)
                .map_err(|e| ParseError::Unreadable(format!("the routing rules do not fit this file: {e}"))),
        }
    }
}

/// The mapping for `headers`: detected from their names, then the override applied.
fn mapping_for(headers: &[String], mapping_override: Option<&str>) -> Result<Mapping, ParseError> {
    let detected = app::ingest::detect_roles(headers);
    match mapping_override.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(detected),
        Some(spec) => app::ingest::apply_mapping_override(&detected, headers, spec)
            .map_err(|e| ParseError::Unreadable(format!("the column mapping cannot be used: {e}"))),
    }
}

/// Collects parsed rows into batches and hands them on; shared by the CSV and JSON parsers.
struct Batcher {
    events: mpsc::Sender<Event>,
    batch: Batch,
    bytes_seen: u64,
    bytes_sent: u64,
}

impl Batcher {
    fn new(events: mpsc::Sender<Event>) -> Self {
        Batcher { events, batch: empty_batch(), bytes_seen: 0, bytes_sent: 0 }
    }

    fn send(&self, event: Event) -> Result<(), ParseError> {
        // The writer hung up: it failed, and says why itself.
        self.events.blocking_send(event).map_err(|_| ParseError::Aborted("the import stopped".into()))
    }

    fn lead(&mut self, line: u64, lead: lead::Lead) -> Result<(), ParseError> {
        let table_id = match lead.route {
            app::ingest::Route::Table(id) => Some(id),
            app::ingest::Route::Hold => None,
        };
        self.batch.leads.push(store::leads::NewLead {
            table_id,
            line,
            dedupe_key: lead.dedupe_key,
            payload: lead.payload,
        });
        self.flush_if_full()
    }

    fn reject(&mut self, line: u64, reason: lead::RejectReason, raw: String) -> Result<(), ParseError> {
        self.batch.rejects.push(store::leads::Rejected { line, reason: reason.as_str().to_owned(), raw });
        self.flush_if_full()
    }

    fn blank(&mut self) {
        self.batch.blank_lines += 1;
    }

    fn flush_if_full(&mut self) -> Result<(), ParseError> {
        if self.batch.leads.len() + self.batch.rejects.len() >= BATCH_ROWS { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> Result<(), ParseError> {
        let mut batch = std::mem::replace(&mut self.batch, empty_batch());
        batch.bytes = self.bytes_seen - self.bytes_sent;
        self.bytes_sent = self.bytes_seen;
        self.send(Event::Batch(batch.arrange()))
    }
}

/// A batch with room for its leads from the start, rather than copied to new memory as it grows.
fn empty_batch() -> Batch {
    Batch { leads: Vec::with_capacity(BATCH_ROWS), ..Batch::default() }
}

/// The parser's source of bytes: blocks on the body task's channel.
struct Source {
    input: mpsc::Receiver<Input>,
    ended: bool,
}

impl Source {
    /// The next chunk, `None` at the end of the body.
    fn next(&mut self) -> Result<Option<Bytes>, ParseError> {
        if self.ended {
            return Ok(None);
        }
        match self.input.blocking_recv() {
            Some(Input::Chunk(bytes)) => Ok(Some(bytes)),
            Some(Input::End) => {
                self.ended = true;
                Ok(None)
            }
            Some(Input::Aborted(why)) => Err(ParseError::Aborted(why)),
            None => Err(ParseError::Aborted("the connection closed".into())),
        }
    }

    /// At least `want` bytes of the head (less when the body is shorter).
    fn head(&mut self, want: usize) -> Result<Vec<u8>, ParseError> {
        let mut head = Vec::with_capacity(want);
        while head.len() < want {
            match self.next()? {
                Some(chunk) => head.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(head)
    }
}

/// Imports `body` as `request` says, and returns the import's account.
pub async fn run<S, E>(db: &Db, request: Request, body: S) -> Result<ImportSummary, ImportError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let (workspace, table_id, spec, credits_by_table) = resolve(db, request.target).await?;
    // One connection writes the whole import and queues it: its page cache (the dedupe index
    // above all) stays warm from batch to batch, where a pooled connection finds its cache stale
    // whenever another one wrote, and it is the only cache the import fills.
    let writer = db.dedicated(1).await?;
    let now = store::now_millis();
    let import_id = store::imports::create(
        db,
        &store::imports::NewImport {
            workspace_id: workspace.id,
            table_id,
            priority: request.priority,
            source: request.source,
            filename: request.filename.as_deref(),
            format: request.format.as_str(),
            created_by: &request.actor,
        },
        now,
    )
    .await?;
    tracing::info!(import_id, workspace_id = workspace.id, format = request.format.as_str(), "import started");

    let (input_tx, input_rx) = mpsc::channel::<Input>(16);
    let (events_tx, mut events_rx) = mpsc::channel::<Event>(2);
    let upload = tokio::spawn(forward_body(body, input_tx));
    let setup = Setup { mapping_override: request.mapping.clone(), routing: spec };
    let format = request.format;
    let parser = tokio::task::spawn_blocking(move || {
        let source = Source { input: input_rx, ended: false };
        let batcher = Batcher::new(events_tx);
        match format {
            Format::Csv => csv_rows::parse(source, batcher, setup),
            Format::Ndjson => json_rows::parse(source, batcher, setup, json_rows::Shape::Lines),
            Format::JsonArray => json_rows::parse(source, batcher, setup, json_rows::Shape::Array),
        }
    });

    let mut total = Written::default();
    let mut write_error: Option<Stop> = None;
    let mut batches = Batches { db: &writer, open: None };
    loop {
        // Nothing parsed yet: what is written is committed before the wait, so a slow upload
        // never keeps the write lock.
        let event = match events_rx.try_recv() {
            Ok(event) => event,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                if let Err(error) = batches.commit().await {
                    write_error = Some(Stop::Database(error));
                    break;
                }
                match next_event(&mut events_rx, &writer, import_id).await {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(stop) => {
                        write_error = Some(stop);
                        break;
                    }
                }
            }
        };
        let result = match event {
            Event::Format { encoding, delimiter, headers, mapping } => {
                let described = serde_json::json!({ "headers": headers, "mapping": mapping }).to_string();
                // The writer has one connection: an open transaction would hold it.
                async {
                    batches.commit().await?;
                    store::imports::set_format(&writer, import_id, &encoding, delimiter.as_deref(), &described).await
                }
                .await
                .map(drop)
                .map_err(Stop::Database)
            }
            Event::Batch(batch) => {
                match batches.write(import_id, workspace.id, request.priority.rank(), batch, &credits_by_table).await {
                    Ok(Some(written)) => {
                        add(&mut total, written);
                        Ok(())
                    }
                    Ok(None) => Err(Stop::Ended),
                    Err(error) => Err(Stop::Database(error)),
                }
            }
        };
        if let Err(stop) = result {
            write_error = Some(stop);
            break;
        }
    }
    drop(events_rx);
    if write_error.is_some() {
        // The rest of the upload is not wanted: the parser, waiting for it, ends now.
        upload.abort();
    }
    // After a failed write, dropping `batches` rolls its transaction back: none of the batches
    // in it is counted.
    if write_error.is_none() {
        write_error = batches.commit().await.err().map(Stop::Database);
    }
    drop(batches);
    let parsed = parser.await.map_err(|e| Error::Internal(format!("the import parser stopped: {e}")))?;

    let now = store::now_millis();
    let outcome = match (write_error, parsed) {
        (Some(Stop::Database(error)), _) => {
            fail(&writer, import_id, ImportState::Failed, "the database refused the rows").await?;
            Err(error.into())
        }
        (Some(Stop::Ended), _) => {
            fail(&writer, import_id, ImportState::Failed, INTERRUPTED).await?;
            Err(ImportError::Interrupted { import_id })
        }
        (None, Err(ParseError::Aborted(message))) => {
            fail(&writer, import_id, ImportState::Cancelled, &message).await?;
            Err(ImportError::Aborted { import_id, message })
        }
        (None, Err(ParseError::Unreadable(message))) => {
            fail(&writer, import_id, ImportState::Failed, &message).await?;
            Err(ImportError::Unreadable { import_id, message })
        }
        (None, Ok(())) => {
            let state =
                budget_decision(&writer, &workspace, import_id, total.credits, request.over_budget, now).await?;
            if store::imports::finish(&writer, import_id, state, None, now).await? {
                Ok(())
            } else {
                fail(&writer, import_id, ImportState::Failed, INTERRUPTED).await?;
                Err(ImportError::Interrupted { import_id })
            }
        }
    };
    // Its page cache goes with it.
    writer.close().await;
    outcome?;
    let summary = store::imports::find(db, import_id).await?.ok_or(Error::NotFound("import"))?;
    let detail = format!(
        "{}{} rows: {} accepted, {} rejected, {} duplicates",
        summary.filename.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(),
        summary.counts.rows,
        summary.counts.accepted,
        summary.counts.rejected,
        summary.counts.duplicates
    );
    store::audit::record(db, &request.actor, "import.upload", &format!("import {import_id}"), Some(&detail), now)
        .await?;
    tracing::info!(
        import_id,
        rows = summary.counts.rows,
        accepted = summary.counts.accepted,
        rejected = summary.counts.rejected,
        duplicates = summary.counts.duplicates,
        "import finished"
    );
    store::changes::announce(db).await?;
    Ok(summary)
}

/// The import's write transaction, open over as many batches as the parser has ready, up to
/// [`COMMIT_ROWS`] rows and [`COMMIT_AFTER`].
struct Batches<'a> {
    db: &'a Db,
    open: Option<Open>,
}

struct Open {
    tx: store::Tx,
    began: Instant,
    rows: u64,
}

impl Batches<'_> {
    async fn write(
        &mut self,
        import_id: i64,
        workspace_id: i64,
        priority: i64,
        batch: Arranged,
        credits_by_table: &HashMap<i64, f64>,
    ) -> Result<Option<Written>, sqlx::Error> {
        let open = match &mut self.open {
            Some(open) => open,
            None => self.open.insert(Open { tx: self.db.begin().await?, began: Instant::now(), rows: 0 }),
        };
        let written = store::leads::write_batch(
            &mut open.tx,
            import_id,
            workspace_id,
            priority,
            batch,
            credits_by_table,
            store::now_millis(),
        )
        .await?;
        let Some(written) = written else {
            // Ended meanwhile: nothing of the open transaction may stay.
            self.open = None;
            return Ok(None);
        };
        open.rows += written.rows;
        if open.rows >= COMMIT_ROWS || open.began.elapsed() >= COMMIT_AFTER {
            self.commit().await?;
        }
        Ok(Some(written))
    }

    async fn commit(&mut self) -> Result<(), sqlx::Error> {
        match self.open.take() {
            Some(open) => open.tx.commit().await,
            None => Ok(()),
        }
    }
}

fn add(total: &mut Written, written: Written) {
    total.rows += written.rows;
    total.accepted += written.accepted;
    total.rejected += written.rejected;
    total.duplicates += written.duplicates;
    total.held += written.held;
    total.credits += written.credits;
}

/// Ends an import that will not be delivered (unless it was ended meanwhile, as it then is):
/// nothing of it stays queued.
async fn fail(db: &Db, import_id: i64, state: ImportState, message: &str) -> Result<(), sqlx::Error> {
    store::imports::discard(db, import_id, state, message, store::now_millis()).await?;
    tracing::warn!(import_id, state = state.as_str(), reason = message, "import ended without delivery");
    Ok(())
}

/// Why an import stopped writing before the end of its file.
enum Stop {
    Database(sqlx::Error),
    /// It was ended meanwhile ([`end_interrupted`]).
    Ended,
}

/// Waits for the parser's next event (`None` when it is done), showing every [`HEARTBEAT`] that
/// the import is alive: a slow upload can take minutes between two batches.
async fn next_event(events: &mut mpsc::Receiver<Event>, writer: &Db, import_id: i64) -> Result<Option<Event>, Stop> {
    loop {
        match tokio::time::timeout(HEARTBEAT, events.recv()).await {
            Ok(event) => return Ok(event),
            Err(_) => {
                if !store::imports::heartbeat(writer, import_id, store::now_millis()).await.map_err(Stop::Database)? {
                    return Err(Stop::Ended);
                }
            }
        }
    }
}

/// What an import ended because its upload stopped showing signs of life says.
const INTERRUPTED: &str = "the upload was interrupted: Kiln stopped (or the upload hung) while the file was arriving, so none \
                           of its leads will be sent; upload the file again";

/// Ends the imports that a stopped process left arriving (no sign of life since `stale_before`;
/// a running import shows one at least every [`HEARTBEAT`]): they fail, and their leads are
/// discarded, so the same file can be uploaded again instead of finding its rows duplicates of
/// leads that would never be sent. Returns how many.
pub async fn end_interrupted(db: &Db, stale_before: i64) -> Result<usize, sqlx::Error> {
    let ended = store::imports::end_stale(db, stale_before, INTERRUPTED, store::now_millis()).await?;
    for &(import_id, discarded) in &ended {
        tracing::warn!(import_id, discarded, "import interrupted while its file was arriving: ended");
    }
    if !ended.is_empty() {
        store::changes::announce(db).await?;
    }
    Ok(ended.len())
}

/// The workspace, the import's table (if one), the routing, and each table's credit estimate.
async fn resolve(
    db: &Db,
    target: Target,
) -> Result<(app::domain::Workspace, Option<i64>, RoutingSpec, HashMap<i64, f64>), ImportError> {
    match target {
        Target::Table(id) => {
            let table = store::tables::find(db, id).await?.ok_or(Error::NotFound("table"))?;
            let workspace =
                store::workspaces::find(db, table.workspace_id).await?.ok_or(Error::NotFound("workspace"))?;
            Ok((workspace, Some(id), RoutingSpec::Table(id), HashMap::from([(id, table.credits_per_lead)])))
        }
        Target::Rules { workspace_id } => {
            let workspace = store::workspaces::find(db, workspace_id).await?.ok_or(Error::NotFound("workspace"))?;
            let rules = store::routing::rules(db, workspace_id).await?;
            if rules.is_empty() && workspace.fallback_table_id.is_none() {
                return Err(Error::invalid("routing", "the workspace has no routing rules yet").into());
            }
            let fallback = workspace.fallback_table_id.map_or(Fallback::Hold, Fallback::Table);
            let credits = store::tables::list(db, Some(workspace_id))
                .await?
                .into_iter()
                .map(|t| (t.id, t.credits_per_lead))
                .collect();
            Ok((workspace, None, RoutingSpec::Rules { rules, fallback }, credits))
        }
    }
}

/// Whether the import's leads can be queued within the month's credit budget.
async fn budget_decision(
    db: &Db,
    workspace: &app::domain::Workspace,
    import_id: i64,
    credits: f64,
    over_budget: OverBudget,
    now: i64,
) -> Result<ImportState, sqlx::Error> {
    let Some(limit) = workspace.monthly_credit_budget else { return Ok(ImportState::Queued) };
    let month_start = budget::month_start(now, workspace.budget_day);
    let committed = store::imports::committed_credits(db, workspace.id, month_start).await?;
    let remaining = (limit as f64 - committed).max(0.0);
    if credits <= remaining {
        return Ok(ImportState::Queued);
    }
    Ok(match over_budget {
        OverBudget::QueueAll => ImportState::Queued,
        OverBudget::QueueFit => {
            store::imports::queue_only_what_fits(db, import_id, remaining).await?;
            ImportState::Queued
        }
        OverBudget::Ask => ImportState::AwaitingDecision,
    })
}

/// Copies the request body into the parser's channel, marking its end or its failure.
async fn forward_body<S, E>(body: S, input: mpsc::Sender<Input>)
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Display,
{
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let message = match chunk {
            Ok(bytes) if bytes.is_empty() => continue,
            Ok(bytes) => Input::Chunk(bytes),
            Err(error) => {
                let _ = input.send(Input::Aborted(error.to_string())).await;
                return;
            }
        };
        if input.send(message).await.is_err() {
            return;
        }
    }
    let _ = input.send(Input::End).await;
}
