//! Leads, written in batches as an import streams in.

use super::{Db, Tx, on_db, on_tx};
use crate::ingest::lead::DedupeKey;
use std::collections::{HashMap, HashSet};

/// A row that became a lead.
pub struct NewLead {
    /// `None` when no routing rule took it and the workspace holds unrouted rows.
    pub table_id: Option<i64>,
    pub line: u64,
    pub dedupe_key: DedupeKey,
    /// The JSON object to send to Clay.
    pub payload: String,
}

/// A row that did not, and why.
pub struct Rejected {
    pub line: u64,
    pub reason: String,
    /// The row as it came (re-encoded as CSV, or the JSON object), cut at a sane length.
    pub raw: String,
}

/// Rows parsed since the last batch.
#[derive(Default)]
pub struct Batch {
    pub leads: Vec<NewLead>,
    pub rejects: Vec<Rejected>,
    pub blank_lines: u64,
    pub bytes: u64,
}

impl Batch {
    pub fn rows(&self) -> u64 {
        (self.leads.len() + self.rejects.len()) as u64
    }

    /// Sorts the batch out for [`write_batch`]: a key repeated inside it makes a duplicate already
    /// (the first row wins); the rest is grouped by table, so that each INSERT's count of new rows
    /// says how many leads that table received, and a large group is put in key order. Pure work,
    /// which the parser's thread does while the writer writes the batch before.
    pub fn arrange(self) -> Arranged {
        let first_of_key: Vec<bool> = {
            let mut seen = HashSet::with_capacity(self.leads.len());
            self.leads.iter().map(|lead| seen.insert(lead.dedupe_key)).collect()
        };
        let mut repeated = 0;
        let mut by_table: HashMap<Option<i64>, Vec<NewLead>> = HashMap::new();
        for (lead, first) in self.leads.into_iter().zip(first_of_key) {
            if first {
                by_table.entry(lead.table_id).or_default().push(lead);
            } else {
                repeated += 1;
            }
        }
        for leads in by_table.values_mut() {
            // Keys are hashes: in file order each one lands on a random page of the workspace's
            // key index and, with the rows streaming past, every descent to it misses the
            // processor's caches. Sorted, consecutive keys share their path: the database's
            // thread spends a third less time on a large file (docs/BENCHMARKS.md). Ids then
            // follow key order within the batch: an import is sent in file order batch by batch,
            // and what must show the file's order reads `line` (the export, the dead leads).
            if leads.len() >= KEY_ORDER_FROM {
                leads.sort_by_cached_key(|lead| lead.dedupe_key);
            }
        }
        Arranged {
            by_table: by_table.into_iter().collect(),
            repeated,
            rejects: self.rejects,
            blank_lines: self.blank_lines,
            bytes: self.bytes,
        }
    }
}

/// A batch ready to be written ([`Batch::arrange`]).
pub struct Arranged {
    /// Each table's leads (`None`: held), one per key.
    by_table: Vec<(Option<i64>, Vec<NewLead>)>,
    /// Rows whose key came earlier in the batch.
    repeated: u64,
    rejects: Vec<Rejected>,
    blank_lines: u64,
    bytes: u64,
}

impl Arranged {
    /// The rows of the batch: its leads, those repeating a key, and its rejects.
    fn rows(&self) -> u64 {
        let leads: usize = self.by_table.iter().map(|(_, leads)| leads.len()).sum();
        leads as u64 + self.repeated + self.rejects.len() as u64
    }
}

/// What a batch added to its import.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Written {
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub held: u64,
    pub credits: f64,
}

/// Rows per INSERT statement: well under both databases' bind-parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

/// From how many new leads a table's share of a batch is written in key order rather than file
/// order ([`Batch::arrange`]): a large file's full batches are, a small file and a large one's
/// last rows keep their order, where sorting would gain nothing.
pub const KEY_ORDER_FROM: usize = 10_000;

/// Stores a batch in the import's transaction: the leads whose dedupe key the workspace has not
/// seen (the others are duplicates, within the file or against every earlier import), the
/// rejected rows, and the import's counters, so that every commit leaves counts that add up.
/// `None` when the import is no longer arriving (ended meanwhile, as one whose process stopped):
/// the caller rolls the transaction back, so nothing of it stays.
pub async fn write_batch(
    tx: &mut Tx,
    import_id: i64,
    workspace_id: i64,
    priority: i64,
    batch: Arranged,
    credits_by_table: &HashMap<i64, f64>,
    now: i64,
) -> Result<Option<Written>, sqlx::Error> {
    let mut written = Written {
        rows: batch.rows(),
        rejected: batch.rejects.len() as u64,
        duplicates: batch.repeated,
        ..Written::default()
    };

    // A duplicate is skipped, not an error. `ON CONFLICT` names only the unique key, so on
    // SQLite a 500-row INSERT could still abort half-way (on a NOT NULL column), and SQLite keeps
    // a statement journal for that: a copy of every index page the statement touches, written
    // to a temporary file before the change. Writing the rows of 1,000,000 wrote 5.7 GB with it,
    // 1.4 GB without (docs/BENCHMARKS.md). `OR IGNORE` lets no row abort the statement, so no
    // journal is kept. `leads` has no CHECK, and every NOT NULL column below is bound a Rust
    // value, never NULL (only `table_id`, nullable, can be): the only rows it skips are
    // duplicates.
    let (insert_into, on_duplicate) = match tx {
        Tx::Sqlite(_) => ("INSERT OR IGNORE INTO", ""),
        Tx::Postgres(_) => ("INSERT INTO", " ON CONFLICT (workspace_id, key_hi, key_lo) DO NOTHING"),
    };
    // The payloads and reasons are bound by value: the driver takes the strings over, where
    // a borrowed one is copied once more for the database's thread (about 350 MB for 1,000,000
    // rows).
    let still_arriving = on_tx!(tx, tx => {
        for (table_id, leads) in batch.by_table {
            // Sendable once the import is queued: the worker claims only leads of queued
            // imports (`delivery::claim`).
            let state = if table_id.is_some() { "queued" } else { "held" };
            let mut leads = leads.into_iter().peekable();
            let mut statement = || {
                leads.peek()?;
                let chunk: Vec<NewLead> = leads.by_ref().take(ROWS_PER_STATEMENT).collect();
                let rows = chunk.len() as u64;
                // What the statement's rows share is bound once; each row binds its own four.
                let mut insert = sqlx::QueryBuilder::new(format!(
                    "{insert_into} leads (workspace_id, import_id, table_id, priority, state, created_at, line, key_hi, key_lo, payload) SELECT ",
                ));
                insert
                    .separated(", ")
                    .push_bind(workspace_id)
                    .push_bind(import_id)
                    .push_bind(table_id)
                    .push_bind(priority)
                    .push_bind(state)
                    .push_bind(now);
                insert.push(", column1, column2, column3, column4 FROM (");
                insert.push_values(chunk, |mut row, lead| {
                    row.push_bind(lead.line as i64)
                        .push_bind(lead.dedupe_key.hi)
                        .push_bind(lead.dedupe_key.lo)
                        .push_bind(lead.payload);
                });
                insert.push(") AS new_leads");
                insert.push(on_duplicate);
                Some((insert, rows))
            };
            let mut next = statement();
            while let Some((mut insert, rows)) = next {
                // The next statement is made here while the database's thread runs this one.
                let (done, following) = futures_util::join!(insert.build().execute(&mut **tx), async { statement() });
                next = following;
                let inserted = done?.rows_affected();
                written.accepted += inserted;
                written.duplicates += rows - inserted;
                match table_id {
                    Some(table) => {
                        written.credits += inserted as f64 * credits_by_table.get(&table).copied().unwrap_or(0.0);
                    }
                    None => written.held += inserted,
                }
            }
        }
        let mut rejects = batch.rejects.into_iter().peekable();
        while rejects.peek().is_some() {
            let mut insert = sqlx::QueryBuilder::new("INSERT INTO import_rejects (import_id, line, reason, raw) ");
            insert.push_values(rejects.by_ref().take(ROWS_PER_STATEMENT), |mut row, reject| {
                row.push_bind(import_id).push_bind(reject.line as i64).push_bind(reject.reason).push_bind(reject.raw);
            });
            insert.build().execute(&mut **tx).await?;
        }
        let counted = sqlx::query(
            "UPDATE imports SET bytes = bytes + $2, rows = rows + $3, accepted = accepted + $4, rejected = rejected + $5,
                 duplicates = duplicates + $6, held = held + $7, blank_lines = blank_lines + $8,
                 estimated_credits = estimated_credits + $9, heartbeat_at = $10
             WHERE id = $1 AND state = 'receiving'",
        )
        .bind(import_id)
        .bind(batch.bytes as i64)
        .bind(written.rows as i64)
        .bind(written.accepted as i64)
        .bind(written.rejected as i64)
        .bind(written.duplicates as i64)
        .bind(written.held as i64)
        .bind(batch.blank_lines as i64)
        .bind(written.credits)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok::<_, sqlx::Error>(counted == 1)
    })?;
    Ok(still_arriving.then_some(written))
}

/// One lead as the enriched export shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct ExportRow {
    pub id: i64,
    pub line: i64,
    pub table_name: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<i64>,
    pub callback_at: Option<i64>,
    pub credits_used: Option<f64>,
    pub callback_timeout_mins: Option<i64>,
    pub forward_state: Option<String>,
    pub purged_at: Option<i64>,
    pub payload: String,
    pub enrichment: Option<String>,
    /// When its batch was written: the same for every lead of a batch.
    pub created_at: i64,
}

/// The import's leads after `after` (a lead id), in id order, at most `limit`.
pub async fn export_page(db: &Db, import_id: i64, after: i64, limit: i64) -> Result<Vec<ExportRow>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT l.id, l.line, t.name AS table_name, l.state, l.attempts, l.last_status, l.last_error, l.delivered_at,
                l.callback_at, l.credits_used, t.callback_timeout_mins, l.forward_state, l.purged_at, l.payload, l.enrichment,
                l.created_at
         FROM leads l LEFT JOIN clay_tables t ON t.id = l.table_id
         WHERE l.import_id = $1 AND l.id > $2 ORDER BY l.id LIMIT $3",
    )
    .bind(import_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Leads stored before dedupe keys were hashed, in a database Kiln had not started on since,
/// keep their plain key (`e:ada@…`, `d:…`) in `legacy_dedupe_key` (migration 0017): it is
/// replaced by its hash, so they stay duplicates of the same lead coming again, and a purge
/// leaves no email behind. A lead imported again since (its hash taken) keeps its own row, with
/// no key: it takes no part in dedupe. Runs at start-up, until it has once run to the end:
/// finding the plain keys reads every lead, and Kiln has stored none since.
pub async fn hash_plain_dedupe_keys(db: &Db) -> Result<u64, sqlx::Error> {
    const TASK: &str = "hash plain dedupe keys";
    if super::upkeep::is_done(db, TASK).await? {
        return Ok(0);
    }
    let mut hashed = 0;
    loop {
        let plain: Vec<(i64, String)> = on_db!(db, pool => sqlx::query_as(
            "SELECT id, legacy_dedupe_key FROM leads WHERE legacy_dedupe_key IS NOT NULL ORDER BY id LIMIT 1000",
        )
        .fetch_all(pool)
        .await)?;
        if plain.is_empty() {
            super::upkeep::mark_done(db, TASK, super::now_millis()).await?;
            return Ok(hashed);
        }
        for (id, key) in plain {
            let key = DedupeKey::of(&key);
            let taken: bool = on_db!(db, pool => sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM leads o JOIN leads l ON l.workspace_id = o.workspace_id
                                WHERE l.id = $1 AND o.key_hi = $2 AND o.key_lo = $3)",
            )
            .bind(id)
            .bind(key.hi)
            .bind(key.lo)
            .fetch_one(pool)
            .await)?;
            let key = (!taken).then_some(key);
            on_db!(db, pool => sqlx::query(
                "UPDATE leads SET key_hi = $2, key_lo = $3, legacy_dedupe_key = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(key.map(|key| key.hi))
            .bind(key.map(|key| key.lo))
            .execute(pool)
            .await
            .map(drop))?;
            hashed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        config::DatabaseUrl,
        store::{delivery, imports, tables, workspaces},
    };
    use app::domain::{ImportState, Priority};

    /// An import's leads are written `queued` and become sendable with their import (queueing it
    /// changes its row, not one per lead): nothing of it can be claimed while its file arrives,
    /// nor while it waits for an operator's decision. Its leads are then staged under a name as
    /// long as `queued`: SQLite overwrites a row in place only when its new version is as long.
    #[tokio::test]
    async fn an_imports_leads_become_sendable_with_their_import() {
        let dir = tempfile::tempdir().unwrap();
        let (db, workspace, table) = workspace_with_a_table(&dir).await;
        let import_of = |name: &'static str| {
            let db = db.clone();
            async move {
                let import = new_import(&db, workspace, table).await;
                let leads = (1..=3).map(|line| lead(table, line, DedupeKey::of(&format!("{name}-{line}")))).collect();
                assert_eq!(write(&db, import, workspace, leads).await, 3);
                import
            }
        };
        let arriving = import_of("arriving").await;
        let undecided = import_of("undecided").await;
        let Db::Sqlite(pool) = &db else { unreachable!() };
        let states = |import: i64| async move {
            sqlx::query_as::<_, (String, i64)>(
                "SELECT DISTINCT state, length(CAST(state AS BLOB)) FROM leads WHERE import_id = $1",
            )
            .bind(import)
            .fetch_all(pool)
            .await
            .unwrap()
        };
        let ready = || async { delivery::ready_workspaces(&db, 1).await.unwrap().len() };

        assert_eq!(states(arriving).await, [("queued".to_owned(), 6)]);
        assert_eq!(ready().await, 0, "both files are still arriving");

        assert!(imports::finish(&db, undecided, ImportState::AwaitingDecision, None, 0).await.unwrap());
        assert_eq!(states(undecided).await, [("staged".to_owned(), 6)], "staged in place");
        assert_eq!(ready().await, 0, "one arriving, one waiting for a decision");

        assert!(imports::transition(&db, undecided, ImportState::AwaitingDecision, ImportState::Queued).await.unwrap());
        assert_eq!(states(undecided).await, [("queued".to_owned(), 6)]);
        sqlx::query(
            "INSERT INTO webhooks (table_id, url, lifetime_cap, safety_margin, used, state, created_at)
             VALUES ($1, 'http://127.0.0.1:9/hook', 50000, 5000, 0, 'active', 0)",
        )
        .bind(table)
        .execute(pool)
        .await
        .unwrap();
        let gates = delivery::ready_workspaces(&db, 1).await.unwrap();
        assert_eq!(gates.len(), 1);
        let claim = delivery::claim(&db, &gates[0], 10, 1, 60_000).await.unwrap();
        let mut claimed: Vec<i64> = claim.leads.iter().map(|lead| lead.lead_id).collect();
        claimed.sort_unstable();
        let undecided_leads: Vec<i64> = sqlx::query_scalar("SELECT id FROM leads WHERE import_id = $1 ORDER BY id")
            .bind(undecided)
            .fetch_all(pool)
            .await
            .unwrap();
        assert_eq!(claimed, undecided_leads);
        assert_eq!(states(arriving).await, [("queued".to_owned(), 6)], "still waiting for its file");
    }

    /// A large batch is stored in key order (its ids follow the keys), a small one in file order;
    /// what must follow the file reads the lines: queueing only what fits the budget, and the
    /// list of dead leads.
    #[tokio::test]
    async fn a_large_batch_is_stored_in_key_order_and_read_back_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let (db, workspace, table) = workspace_with_a_table(&dir).await;
        let import = new_import(&db, workspace, table).await;
        let n = KEY_ORDER_FROM as u64;
        // Keys that sort against the lines.
        let large = (1..=n).map(|line| lead(table, line, DedupeKey { hi: (n - line) as i64, lo: 0 })).collect();
        assert_eq!(write(&db, import, workspace, large).await, n);
        let small = (n + 1..=n + 3).map(|line| lead(table, line, DedupeKey::of(&format!("z{line}")))).collect();
        assert_eq!(write(&db, import, workspace, small).await, 3);
        let Db::Sqlite(pool) = &db else { unreachable!() };
        let lines_by_id: Vec<i64> =
            sqlx::query_scalar("SELECT line FROM leads ORDER BY id").fetch_all(pool).await.unwrap();
        let n = n as i64;
        assert_eq!(lines_by_id[..2], [n, n - 1], "the large batch in key order");
        assert_eq!(lines_by_id[n as usize..], [n + 1, n + 2, n + 3], "the small one in file order");

        assert_eq!(imports::queue_only_what_fits(&db, import, 2.0).await.unwrap(), n as u64 + 1);
        let queued: Vec<i64> = sqlx::query_scalar("SELECT line FROM leads WHERE state = 'queued' ORDER BY line")
            .fetch_all(pool)
            .await
            .unwrap();
        assert_eq!(queued, [1, 2], "the file's first leads fit");

        sqlx::query("UPDATE leads SET state = 'dead'").execute(pool).await.unwrap();
        let dead: Vec<u64> = delivery::dead_leads(&db, import, 3).await.unwrap().iter().map(|d| d.line).collect();
        assert_eq!(dead, [1, 2, 3]);
    }

    /// A fresh SQLite database with a workspace and a table (credits per lead: 1).
    async fn workspace_with_a_table(dir: &tempfile::TempDir) -> (Db, i64, i64) {
        let url = DatabaseUrl::Sqlite(format!("sqlite://{}", dir.path().join("kiln.db").display()));
        let db = Db::connect(&url).await.unwrap();
        let workspace = workspaces::Fields {
            name: "Acme",
            rate_per_sec: 10.0,
            burst: 20,
            plan_key: None,
            monthly_credit_budget: None,
            monthly_action_budget: None,
            budget_day: 1,
        };
        let workspace = workspaces::insert(&db, &workspace, false, 0).await.unwrap();
        let estimate = tables::Estimate { credits: 1.0, actions: 0.0 };
        let table = tables::insert(&db, workspace.id, "Leads", estimate, None, 0).await.unwrap();
        (db, workspace.id, table.id)
    }

    async fn new_import(db: &Db, workspace_id: i64, table_id: i64) -> i64 {
        let new = imports::NewImport {
            workspace_id,
            table_id: Some(table_id),
            priority: Priority::Normal,
            source: "api",
            filename: None,
            format: "csv",
            created_by: "test",
        };
        imports::create(db, &new, 0).await.unwrap()
    }

    fn payload(line: u64) -> String {
        format!(r#"{{"line":{line}}}"#)
    }

    fn lead(table_id: i64, line: u64, dedupe_key: DedupeKey) -> NewLead {
        NewLead { table_id: Some(table_id), line, dedupe_key, payload: payload(line) }
    }

    /// Writes one batch of the import's leads, committed; how many were accepted.
    async fn write(db: &Db, import: i64, workspace_id: i64, leads: Vec<NewLead>) -> u64 {
        let table_ids: HashSet<i64> = leads.iter().filter_map(|lead| lead.table_id).collect();
        let credits = table_ids.into_iter().map(|id| (id, 1.0)).collect();
        let mut tx = db.begin().await.unwrap();
        let written =
            write_batch(&mut tx, import, workspace_id, 0, Batch { leads, ..Batch::default() }.arrange(), &credits, 0);
        let written = written.await.unwrap().unwrap();
        tx.commit().await.unwrap();
        written.accepted
    }
}
