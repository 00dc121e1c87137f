//! Imports, their rejected rows, and the leads they bring. Counters are kept in the same
//! transaction as the rows they count, so an import's account is exact even after a crash.

use super::{Db, on_db};
use app::domain::{DeliveryCounts, HeldLeads, ImportState, ImportSummary, Priority, RowCounts};
use std::collections::BTreeMap;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    workspace_id: i64,
    table_id: Option<i64>,
    priority: i64,
    source: String,
    filename: Option<String>,
    format: String,
    encoding: Option<String>,
    delimiter: Option<String>,
    #[sqlx(try_from = "String")]
    state: ImportState,
    bytes: i64,
    rows: i64,
    accepted: i64,
    rejected: i64,
    duplicates: i64,
    held: i64,
    blank_lines: i64,
    estimated_credits: f64,
    error: Option<String>,
    created_by: String,
    created_at: i64,
    finished_at: Option<i64>,
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

impl Row {
    fn into_summary(self, rejected_by_reason: BTreeMap<String, u64>) -> ImportSummary {
        ImportSummary {
            id: self.id,
            workspace_id: self.workspace_id,
            table_id: self.table_id,
            priority: Priority::from_rank(self.priority),
            source: self.source,
            filename: self.filename,
            format: self.format,
            encoding: self.encoding,
            delimiter: self.delimiter,
            state: self.state,
            bytes: count(self.bytes),
            counts: RowCounts {
                rows: count(self.rows),
                accepted: count(self.accepted),
                rejected: count(self.rejected),
                duplicates: count(self.duplicates),
                held: count(self.held),
                blank_lines: count(self.blank_lines),
            },
            rejected_by_reason,
            estimated_credits: self.estimated_credits,
            error: self.error,
            created_by: self.created_by,
            created_at: self.created_at,
            finished_at: self.finished_at,
            delivery: DeliveryCounts::default(),
        }
    }
}

const COLUMNS: &str = "id, workspace_id, table_id, priority, source, filename, format, encoding, delimiter, state, bytes,
    rows, accepted, rejected, duplicates, held, blank_lines, estimated_credits, error, created_by, created_at, finished_at";

pub struct NewImport<'a> {
    pub workspace_id: i64,
    pub table_id: Option<i64>,
    pub priority: Priority,
    pub source: &'a str,
    pub filename: Option<&'a str>,
    pub format: &'a str,
    pub created_by: &'a str,
}

pub async fn create(db: &Db, new: &NewImport<'_>, now: i64) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = on_db!(db, pool => sqlx::query_as(
        "INSERT INTO imports (workspace_id, table_id, priority, source, filename, format, state, created_by, created_at,
                              heartbeat_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'receiving', $7, $8, $8) RETURNING id",
    )
    .bind(new.workspace_id)
    .bind(new.table_id)
    .bind(new.priority.rank())
    .bind(new.source)
    .bind(new.filename)
    .bind(new.format)
    .bind(new.created_by)
    .bind(now)
    .fetch_one(pool)
    .await)?;
    Ok(id)
}

/// Records how the file was read (known once its head arrived).
pub async fn set_format(
    db: &Db,
    id: i64,
    encoding: &str,
    delimiter: Option<&str>,
    mapping: &str,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("UPDATE imports SET encoding = $2, delimiter = $3, mapping = $4 WHERE id = $1")
        .bind(id)
        .bind(encoding)
        .bind(delimiter)
        .bind(mapping)
        .execute(pool)
        .await
        .map(drop))
}

pub async fn find(db: &Db, id: i64) -> Result<Option<ImportSummary>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM imports WHERE id = $1");
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    let Some(row) = row else { return Ok(None) };
    let reasons = rejected_by_reason(db, id).await?;
    let mut summary = row.into_summary(reasons);
    summary.delivery = as_counted(summary.state, super::delivery::counts(db, id).await?);
    Ok(Some(summary))
}

/// The file's columns and mapping, as recorded when its head was read (JSON).
pub async fn description(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>,)> = on_db!(db, pool => sqlx::query_as("SELECT mapping FROM imports WHERE id = $1").bind(id).fetch_optional(pool).await)?;
    Ok(row.and_then(|(mapping,)| mapping))
}

/// The newest imports first; without the per-reason breakdown.
pub async fn list(db: &Db, workspace_id: Option<i64>, limit: i64) -> Result<Vec<ImportSummary>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM imports WHERE ($1 IS NULL OR workspace_id = $1) ORDER BY id DESC LIMIT $2");
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(workspace_id).bind(limit).fetch_all(pool).await)?;
    with_delivery(db, rows).await
}

/// The imports on their way to Clay, newest first, however old: queued or paused, with leads
/// not yet delivered or given up on (dead leads stay until someone requeues them or the import
/// is stopped). A finished import stays `queued`, so its leads decide: a few seeks per import
/// in `leads_import` (import, state), never a pass over the leads.
pub async fn in_delivery(db: &Db, limit: i64) -> Result<Vec<ImportSummary>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM imports
         WHERE state IN ('queued', 'paused')
           AND EXISTS (SELECT 1 FROM leads WHERE leads.import_id = imports.id
                         AND leads.state IN ('queued', 'in_flight', 'retrying', 'waiting', 'staged', 'paused', 'dead'))
         ORDER BY id DESC LIMIT $1"
    );
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)?;
    with_delivery(db, rows).await
}

/// Summaries of `rows` with their leads counted per delivery state.
async fn with_delivery(db: &Db, rows: Vec<Row>) -> Result<Vec<ImportSummary>, sqlx::Error> {
    let mut imports: Vec<ImportSummary> = rows.into_iter().map(|row| row.into_summary(BTreeMap::new())).collect();
    let ids: Vec<i64> = imports.iter().map(|import| import.id).collect();
    let mut counts = super::delivery::counts_of(db, &ids).await?;
    for import in &mut imports {
        import.delivery = as_counted(import.state, counts.remove(&import.id).unwrap_or_default());
    }
    Ok(imports)
}

/// An import's leads as its summary counts them: those written `queued` while its file arrives
/// cannot be sent before the import is queued, so they count as waiting.
fn as_counted(state: ImportState, mut delivery: DeliveryCounts) -> DeliveryCounts {
    if state == ImportState::Receiving {
        delivery.waiting += std::mem::take(&mut delivery.queued);
    }
    delivery
}

pub async fn rejected_by_reason(db: &Db, id: i64) -> Result<BTreeMap<String, u64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT reason, COUNT(*) FROM import_rejects WHERE import_id = $1 GROUP BY reason",
    )
    .bind(id)
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(|(reason, n)| (reason, count(n))).collect())
}

/// A page of rejected rows in line order, after `after_line`.
pub async fn rejects(db: &Db, id: i64, after_line: i64, limit: i64) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT line, reason, raw FROM import_rejects WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT $3",
    )
    .bind(id)
    .bind(after_line)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Ends an import that was still arriving: its state, finishing time, and an error when it
/// failed. Its leads, written `queued`, become sendable as it becomes queued; those of an import
/// that waits for an operator's decision are staged in the same transaction, until it is queued
/// ([`transition`]). `false` (nothing changed) when it was ended meanwhile ([`end_stale`]).
pub async fn finish(db: &Db, id: i64, state: ImportState, error: Option<&str>, now: i64) -> Result<bool, sqlx::Error> {
    let stage = format!("{} leads SET state = 'staged' WHERE import_id = $1 AND state = 'queued'", db.update_many());
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let finished = sqlx::query(
            "UPDATE imports SET state = $2, error = $3, finished_at = $4 WHERE id = $1 AND state = 'receiving'",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(error)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if finished && state == ImportState::AwaitingDecision {
            sqlx::query(&stage).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(finished)
    })
}

/// Shows that an import still arriving is alive; `false` when it was ended meanwhile.
pub async fn heartbeat(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query("UPDATE imports SET heartbeat_at = $2 WHERE id = $1 AND state = 'receiving'")
        .bind(id)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))
}

/// Ends an import still arriving ($1) as $2, with the error $3, at $4; one ended meanwhile keeps
/// its state and error.
const END_ARRIVING: &str =
    "UPDATE imports SET state = $2, error = $3, finished_at = $4 WHERE id = $1 AND state = 'receiving'";
/// Deletes every lead of the import $1, so that its rows can be imported again.
const DISCARD_LEADS: &str = "DELETE FROM leads WHERE import_id = $1";

/// Ends an import that will not be delivered (as `state`, with `error`) and discards its leads,
/// in one transaction, so that the same rows can be imported again; the import keeps its counts.
/// An import ended meanwhile ([`end_stale`]) keeps its state and error.
pub async fn discard(db: &Db, id: i64, state: ImportState, error: &str, now: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(END_ARRIVING).bind(id).bind(state.as_str()).bind(error).bind(now).execute(&mut *tx).await?;
        let discarded = sqlx::query(DISCARD_LEADS).bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok::<_, sqlx::Error>(discarded)
    })
}

/// Fails the imports still arriving that have shown no sign of life since `stale_before` (their
/// process stopped), with `error`, and discards their leads in the same transaction; returns
/// each with how many leads it lost. On PostgreSQL an import whose row a write transaction holds
/// is alive, and skipped rather than waited for.
pub async fn end_stale(db: &Db, stale_before: i64, error: &str, now: i64) -> Result<Vec<(i64, u64)>, sqlx::Error> {
    // Nearly always there is none: a plain read first, so that the write lock (which an import
    // holds for up to a second at a time) is taken only when there is something to end.
    let any: Option<(i64,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id FROM imports WHERE state = 'receiving' AND COALESCE(heartbeat_at, created_at) < $1 LIMIT 1",
    )
    .bind(stale_before)
    .fetch_optional(pool)
    .await)?;
    if any.is_none() {
        return Ok(Vec::new());
    }
    let (begin, stale) = match db {
        Db::Sqlite(_) => (
            "BEGIN IMMEDIATE",
            "SELECT id FROM imports WHERE state = 'receiving' AND COALESCE(heartbeat_at, created_at) < $1",
        ),
        Db::Postgres(_) => (
            "BEGIN",
            "SELECT id FROM imports WHERE state = 'receiving' AND COALESCE(heartbeat_at, created_at) < $1
             FOR UPDATE SKIP LOCKED",
        ),
    };
    on_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let ids: Vec<(i64,)> = sqlx::query_as(stale).bind(stale_before).fetch_all(&mut *tx).await?;
        let mut ended = Vec::with_capacity(ids.len());
        for (id,) in ids {
            sqlx::query(END_ARRIVING)
                .bind(id)
                .bind(ImportState::Failed.as_str())
                .bind(error)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let discarded = sqlx::query(DISCARD_LEADS).bind(id).execute(&mut *tx).await?.rows_affected();
            ended.push((id, discarded));
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(ended)
    })
}

/// Makes an import's staged leads sendable.
fn release_staged(db: &Db) -> String {
    format!("{} leads SET state = 'queued' WHERE import_id = $1 AND state = 'staged'", db.update_many())
}

/// Moves an import from one state to another, only if it is still in `from`; its staged leads
/// become sendable when it moves to queued.
pub async fn transition(db: &Db, id: i64, from: ImportState, to: ImportState) -> Result<bool, sqlx::Error> {
    let release = release_staged(db);
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query("UPDATE imports SET state = $3 WHERE id = $1 AND state = $2")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 1 && to == ImportState::Queued {
            sqlx::query(&release).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(changed == 1)
    })
}

/// Data credits the workspace's queued imports of the budget month starting at `month_start` are
/// expected to use.
pub async fn committed_credits(db: &Db, workspace_id: i64, month_start: i64) -> Result<f64, sqlx::Error> {
    let (sum,): (Option<f64>,) = on_db!(db, pool => sqlx::query_as(
        "SELECT SUM(estimated_credits) FROM imports WHERE workspace_id = $1 AND state = 'queued' AND created_at >= $2",
    )
    .bind(workspace_id)
    .bind(month_start)
    .fetch_one(pool)
    .await)?;
    Ok(sum.unwrap_or(0.0))
}

/// What became of a request to send an import's held leads on.
#[derive(Debug, PartialEq)]
pub enum Moved {
    /// This many leads went, as the import's state says (`queued`, or `paused`).
    Leads(u64),
    /// The import is not queued or paused (or does not exist): nothing moved.
    NotSendable,
    /// This many held leads matched no routing rule and no table was given: nothing moved.
    NeedsTable(u64),
}

/// How a transaction holds an import still: its `BEGIN` (SQLite's write lock at once) and the
/// query that reads the import's state (`$1`, its id; on PostgreSQL it locks the row). Every move
/// that takes it (pause, resume and stop; sending held or dead leads) waits for the others'
/// commits, so the leads moved take the import's state as it is.
fn import_lock(db: &Db) -> (&'static str, &'static str) {
    match db {
        Db::Sqlite(_) => ("BEGIN IMMEDIATE", "SELECT state FROM imports WHERE id = $1"),
        Db::Postgres(_) => ("BEGIN", "SELECT state FROM imports WHERE id = $1 FOR UPDATE"),
    }
}

/// The state that leads sent on now take: the import's own (`queued`, or `paused` with it);
/// `None` when the import sends nothing.
fn sending_state(import_state: Option<(String,)>) -> Option<&'static str> {
    let (state,) = import_state?;
    ImportState::try_from(state).ok().filter(|state| state.sends_leads()).map(ImportState::as_str)
}

/// The import's held leads, by why they are held: one seek in `leads_import` (import, state).
pub async fn held(db: &Db, id: i64) -> Result<HeldLeads, sqlx::Error> {
    let (unrouted, beyond_budget, credits): (Option<i64>, Option<i64>, Option<f64>) = on_db!(db, pool => sqlx::query_as(
        "SELECT SUM(CASE WHEN l.table_id IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN l.table_id IS NULL THEN 0 ELSE 1 END),
                SUM(t.credits_per_lead)
         FROM leads l LEFT JOIN clay_tables t ON t.id = l.table_id
         WHERE l.import_id = $1 AND l.state = 'held'",
    )
    .bind(id)
    .fetch_one(pool)
    .await)?;
    Ok(HeldLeads {
        unrouted: count(unrouted.unwrap_or(0)),
        beyond_budget: count(beyond_budget.unwrap_or(0)),
        beyond_budget_credits: credits.unwrap_or(0.0),
    })
}

/// Sends the import's held leads on their way, as the import's state says: those without a table
/// go to `table_id`; the import's held count and estimate follow, in the same transaction.
pub async fn queue_held(db: &Db, id: i64, table_id: Option<i64>) -> Result<Moved, sqlx::Error> {
    let (begin, state_sql) = import_lock(db);
    let queue_leads = format!(
        "{} leads SET table_id = COALESCE(table_id, $2), state = $3
         WHERE import_id = $1 AND state = 'held' AND (table_id IS NOT NULL OR $2 IS NOT NULL)",
        db.update_many()
    );
    on_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let state: Option<(String,)> = sqlx::query_as(state_sql).bind(id).fetch_optional(&mut *tx).await?;
        let Some(lead_state) = sending_state(state) else {
            return Ok(Moved::NotSendable);
        };
        if table_id.is_none() {
            let (without,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM leads WHERE import_id = $1 AND state = 'held' AND table_id IS NULL",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            if without > 0 {
                return Ok(Moved::NeedsTable(count(without)));
            }
        }
        let (credits,): (Option<f64>,) = sqlx::query_as(
            "SELECT SUM(t.credits_per_lead) FROM leads l JOIN clay_tables t ON t.id = COALESCE(l.table_id, $2)
             WHERE l.import_id = $1 AND l.state = 'held'",
        )
        .bind(id)
        .bind(table_id)
        .fetch_one(&mut *tx)
        .await?;
        let queued = sqlx::query(&queue_leads)
        .bind(id)
        .bind(table_id)
        .bind(lead_state)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE imports SET held = held - $2, estimated_credits = estimated_credits + $3 WHERE id = $1")
            .bind(id)
            .bind(queued as i64)
            .bind(credits.unwrap_or(0.0))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Moved::Leads(queued))
    })
}

/// Moves an import from one of `from` to `to`, and its leads in `leads_from` to `leads_to`, in
/// one transaction that holds the import still, so that a pause and a resume close together
/// cannot leave leads in a state their import is not in. `None` when the import is not in one of
/// `from` (nothing changed); else how many leads moved. Reservations are not involved: only
/// leads at rest move.
pub async fn switch(
    db: &Db,
    id: i64,
    from: &[ImportState],
    to: ImportState,
    leads_from: &[&str],
    leads_to: &str,
) -> Result<Option<u64>, sqlx::Error> {
    let (begin, state_sql) = import_lock(db);
    let leads_from: Vec<String> = leads_from.iter().map(|state| format!("'{state}'")).collect();
    let move_leads = format!(
        "{} leads SET state = $2, next_attempt_at = CASE WHEN $2 = 'queued' THEN 0 ELSE next_attempt_at END
         WHERE import_id = $1 AND state IN ({})",
        db.update_many(),
        leads_from.join(",")
    );
    on_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let state: Option<(String,)> = sqlx::query_as(state_sql).bind(id).fetch_optional(&mut *tx).await?;
        let current = state.and_then(|(state,)| ImportState::try_from(state).ok());
        if !current.is_some_and(|current| from.contains(&current)) {
            return Ok(None);
        }
        sqlx::query("UPDATE imports SET state = $2 WHERE id = $1")
            .bind(id)
            .bind(to.as_str())
            .execute(&mut *tx)
            .await?;
        let moved = sqlx::query(&move_leads).bind(id).bind(leads_to).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(Some(moved))
    })
}

/// Dead leads of an import (or one of them) get a fresh set of attempts, as the import's state
/// says; `None` for an import that sends nothing (stopped, failed or unfinished): they stay dead.
pub async fn requeue_dead(db: &Db, id: i64, lead_id: Option<i64>) -> Result<Option<u64>, sqlx::Error> {
    let (begin, state_sql) = import_lock(db);
    let requeue = format!(
        "{} leads SET state = $3, attempts = 0, next_attempt_at = 0
         WHERE import_id = $1 AND state = 'dead' AND ($2 IS NULL OR id = $2)",
        db.update_many()
    );
    on_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let state: Option<(String,)> = sqlx::query_as(state_sql).bind(id).fetch_optional(&mut *tx).await?;
        let Some(lead_state) = sending_state(state) else {
            return Ok(None);
        };
        let requeued = sqlx::query(&requeue)
        .bind(id)
        .bind(lead_id)
        .bind(lead_state)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Some(requeued))
    })
}

/// Holds the import's queued leads beyond the first ones whose estimated credits fit in
/// `credits` (the operator chose to queue only what fits the budget), in file order, and
/// re-estimates the import. Returns how many were held. (Ordered by `id` too: with rows of equal
/// `line`, SQL's default window frame would give them all the group's running total.)
pub async fn queue_only_what_fits(db: &Db, id: i64, credits: f64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let held = sqlx::query(&format!(
            "{} leads SET state = 'held' WHERE id IN (
                 SELECT id FROM (
                     SELECT l.id, SUM(t.credits_per_lead) OVER (ORDER BY l.line, l.id) AS running
                     FROM leads l JOIN clay_tables t ON t.id = l.table_id
                     WHERE l.import_id = $1 AND l.state IN ('queued', 'staged')
                 ) AS ordered
                 WHERE running > $2
             )",
            db.update_many()
        ))
        .bind(id)
        .bind(credits)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE imports SET held = held + $2, estimated_credits = COALESCE((
                 SELECT SUM(t.credits_per_lead) FROM leads l JOIN clay_tables t ON t.id = l.table_id
                 WHERE l.import_id = $1 AND l.state IN ('queued', 'staged')), 0)
             WHERE id = $1",
        )
        .bind(id)
        .bind(held as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held)
    })
}
