//! The delivery ledger: claiming leads for sending, recording what Clay answered, and the batch
//! controls. A claim is one short transaction (no network I/O inside); the webhook count and the
//! budget reservation move in the same transaction as the lead, by conditional statements, so a
//! webhook never passes its usable cap and a workspace never its budget, whatever runs at once.

use super::{Db, alerts, on_db};
use crate::{
    budget,
    delivery::{pacing::TokenBucket, policy::Verdict},
    secret::Secret,
};
use app::domain::{DAY_MS, DeliveryCounts};
use std::collections::BTreeMap;

/// What the claim needs to know about a workspace.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Gate {
    pub id: i64,
    pub rate_per_sec: f64,
    pub burst: i64,
    pub cooldown_until: i64,
    pub monthly_credit_budget: Option<i64>,
    pub monthly_action_budget: Option<i64>,
    pub budget_day: i64,
    /// The workspace's token bucket, shared by every process (see [`TokenBucket::restore`]).
    pub bucket_tokens: Option<f64>,
    pub bucket_updated_at: i64,
}

impl Gate {
    pub fn bucket(&self) -> TokenBucket {
        TokenBucket::restore(
            self.rate_per_sec,
            u32::try_from(self.burst).unwrap_or(1),
            self.bucket_tokens,
            self.bucket_updated_at,
        )
    }
}

/// A lead claimed for sending, with where it goes.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub lead_id: i64,
    pub workspace_id: i64,
    pub table_id: i64,
    pub webhook_id: i64,
    pub url: Secret,
    pub auth_token: Option<Secret>,
    pub payload: String,
    pub attempts: u32,
}

impl Claimed {
    /// `kiln_id` and `Idempotency-Key`: the lead's id, the same on every re-send.
    pub fn kiln_id(&self) -> String {
        self.lead_id.to_string()
    }

    /// The payload with `"kiln_id"` as its first field.
    pub fn body(&self) -> String {
        let rest = self.payload.trim_start().strip_prefix('{').unwrap_or("}").trim_start();
        let separator = if rest.starts_with('}') { "" } else { "," };
        format!("{{\"kiln_id\":\"{}\"{separator}{rest}", self.lead_id)
    }
}

/// Why leads of a workspace are parked.
pub const NEEDS_WEBHOOK: &str = "needs_webhook";
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";

/// Leads parked or unparked per transaction. A table can hold a million queued leads, and one
/// statement over all of them would hold the database's write lock for seconds (10 s for
/// 891,000 leads on a 2-core machine), stalling every import and claim behind it.
pub const PARK_CHUNK: i64 = 5_000;

const GATE_COLUMNS: &str = "w.id, w.rate_per_sec, w.burst, w.cooldown_until, w.monthly_credit_budget,
    w.monthly_action_budget, w.budget_day, w.bucket_tokens, w.bucket_updated_at";

/// A workspace's sendable leads (`l`): the queued leads of its queued imports (`i`). An import's
/// leads are written `queued` while its file arrives and wait for their import, so queueing an
/// import changes one row, not one per lead. `workspace` is the SQL naming the workspace's id;
/// `join`, more tables to join.
fn sendable(workspace: &str, join: &str) -> String {
    format!(
        "imports i JOIN leads l ON l.import_id = i.id AND l.state = 'queued'{join}
         WHERE i.workspace_id = {workspace} AND i.state = 'queued'"
    )
}

/// Workspaces that have leads ready to send now (not cooling down).
pub async fn ready_workspaces(db: &Db, now: i64) -> Result<Vec<Gate>, sqlx::Error> {
    let sql = format!(
        "SELECT {GATE_COLUMNS} FROM workspaces w
         WHERE cooldown_until <= $1 AND EXISTS (SELECT 1 FROM {})
         ORDER BY id",
        sendable("w.id", "")
    );
    on_db!(db, pool => sqlx::query_as(&sql)
    .bind(now)
    .fetch_all(pool)
    .await)
}

/// The earliest moment something parked becomes sendable: a retry falls due or a cool-down ends.
pub async fn next_wake(db: &Db, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT (SELECT MIN(next_attempt_at) FROM leads WHERE state = 'retrying'),
                (SELECT MIN(cooldown_until) FROM workspaces w WHERE cooldown_until > $1
                    AND EXISTS (SELECT 1 FROM {}))",
        sendable("w.id", "")
    );
    let (retry, cool): (Option<i64>, Option<i64>) = on_db!(db, pool => sqlx::query_as(
        &sql,
    )
    .bind(now)
    .fetch_one(pool)
    .await)?;
    Ok([retry, cool].into_iter().flatten().min())
}

/// Retries whose time has come go back to the queue, in their original place; those of an
/// import that was paused or cancelled while they were in flight follow their import.
pub async fn promote_due_retries(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (import_state, lead_state) in [("paused", "paused"), ("cancelled", "cancelled")] {
            sqlx::query(
                "UPDATE leads SET state = $3 WHERE state = 'retrying' AND next_attempt_at <= $1
                     AND import_id IN (SELECT id FROM imports WHERE state = $2)",
            )
            .bind(now)
            .bind(import_state)
            .bind(lead_state)
            .execute(&mut *tx)
            .await?;
        }
        let promoted = sqlx::query("UPDATE leads SET state = 'queued' WHERE state = 'retrying' AND next_attempt_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok::<_, sqlx::Error>(promoted)
    })
}

/// In-flight leads whose lease has passed (their process died, or hung) go back to the queue.
/// Their reservation is released: the next claim reserves again. They may have reached Clay,
/// which is why every send carries the same `kiln_id` and `Idempotency-Key`.
pub async fn release_expired_leases(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let expired = format!("state = 'in_flight' AND lease_until <= {now}");
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(&release_sql(&expired)).execute(&mut *tx).await?;
        // Clay called back while the send was out: it has the lead, which is delivered.
        sqlx::query(&format!(
            "UPDATE leads SET state = 'delivered', delivered_at = COALESCE(delivered_at, {now}), lease_until = NULL
             WHERE {expired} AND callback_at IS NOT NULL"
        ))
        .execute(&mut *tx)
        .await?;
        let released = sqlx::query(&format!(
            "UPDATE leads SET state = 'queued', lease_until = NULL, webhook_id = NULL, credits_reserved = NULL,
                 actions_reserved = NULL
             WHERE {expired}"
        ))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok::<_, sqlx::Error>(released)
    })
}

/// Gives back to their budget months the reservations of the leads matching `condition` that no
/// callback has settled yet. Runs before the statement that clears them, in the same transaction.
/// The leads are found first, by `condition`'s own index, and summed per month: a subquery
/// correlated with each budget month would walk all of a workspace's leads instead.
fn release_sql(condition: &str) -> String {
    format!(
        "UPDATE budget_months SET reserved = budget_months.reserved - r.credits,
             actions_reserved = budget_months.actions_reserved - r.actions
         FROM (SELECT l.workspace_id, l.budget_month, SUM(l.credits_reserved) AS credits,
                      COALESCE(SUM(l.actions_reserved), 0) AS actions
               FROM leads l WHERE {condition} AND l.callback_at IS NULL AND l.credits_reserved IS NOT NULL
               GROUP BY l.workspace_id, l.budget_month) r
         WHERE budget_months.workspace_id = r.workspace_id AND budget_months.month_start = r.budget_month"
    )
}

/// `id IN (…)` for ids that came from the database. They are integers formatted by Rust, so
/// writing them into the SQL text is safe, and it keeps one statement for both databases.
pub(super) fn ids_in(column: &str, ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("{column} IN ({})", list.join(","))
}

/// What a claim took, and what it found blocked.
#[derive(Debug, Default)]
pub struct Claim {
    pub leads: Vec<Claimed>,
    /// Tables whose leads now wait for a webhook.
    pub needs_webhook: Vec<i64>,
    /// Tables whose leads now wait for budget.
    pub out_of_budget: Vec<i64>,
    /// The workspace cools down after a 429 (nothing was claimed).
    pub cooling_down: bool,
}

#[derive(sqlx::FromRow)]
struct Candidate {
    id: i64,
    table_id: i64,
    payload: String,
    attempts: i64,
    credits_per_lead: f64,
    actions_per_lead: f64,
}

/// The workspace and its budget month, as the claim finds them once it holds the lock.
#[derive(sqlx::FromRow)]
struct Locked {
    #[sqlx(flatten)]
    workspace: Gate,
    #[sqlx(flatten)]
    month_so_far: MonthSoFar,
}

/// A budget month's sums (zeros before its first claim).
#[derive(sqlx::FromRow)]
struct MonthSoFar {
    reserved: f64,
    spent: f64,
    actions_reserved: f64,
    actions_spent: f64,
}

/// Estimates held against a month's budgets until Clay's callback settles them.
#[derive(Debug, Clone, Copy, Default)]
struct Reservation {
    credits: f64,
    actions: f64,
}

#[derive(sqlx::FromRow)]
struct Room {
    id: i64,
    url: String,
    auth_token: Option<String>,
    room: i64,
}

/// The claim's candidates: up to $2 sendable leads of the workspace $1, import by import in the
/// order of `imports_sending`, each import's leads in id order; the leads of an import that is
/// not queued (its file still arriving) are never read.
fn candidates(db: &Db) -> String {
    match db {
        // SQLite reads each import's queued leads in id order from `leads_import`, import after
        // import, and stops at the limit.
        Db::Sqlite(_) => format!(
            "SELECT l.id, l.table_id, l.payload, l.attempts, t.credits_per_lead, t.actions_per_lead
             FROM {}
             ORDER BY i.priority DESC, i.id, l.id LIMIT $2",
            sendable("$1", " JOIN clay_tables t ON t.id = l.table_id")
        ),
        // PostgreSQL keeps only the outer order of a join: the same query sorted all of an
        // import's queued leads to return the first (300,000 of them: 380 ms). Each import's
        // first $2, taken in a subquery, are all it sorts (2 ms).
        Db::Postgres(_) => "SELECT l.id, l.table_id, l.payload, l.attempts, t.credits_per_lead, t.actions_per_lead
             FROM imports i
             CROSS JOIN LATERAL (
                 SELECT id, table_id, payload, attempts FROM leads
                 WHERE import_id = i.id AND state = 'queued'
                 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
             ) l
             JOIN clay_tables t ON t.id = l.table_id
             WHERE i.workspace_id = $1 AND i.state = 'queued'
             ORDER BY i.priority DESC, i.id, l.id LIMIT $2"
            .to_owned(),
    }
}

/// Claims up to `limit` ready leads of the workspace, as many as its token bucket allows, those of
/// its highest-priority imports first, then of its oldest, each import's in order: each gets a
/// webhook with room (counted against it) and its table's estimates reserved from the month's
/// budgets, and becomes in flight until `now + lease_ms`. The bucket, the webhook counts and the budgets move in the one transaction
/// that holds the workspace's row, so processes sharing a database share them exactly.
pub async fn claim(db: &Db, gate: &Gate, limit: u32, now: i64, lease_ms: i64) -> Result<Claim, sqlx::Error> {
    let month = budget::month_start(now, u8::try_from(gate.budget_day).unwrap_or(1));
    let candidates_sql = candidates(db);
    // SQLite takes its write lock at `BEGIN IMMEDIATE`, PostgreSQL the workspace's row here: what
    // is read next cannot change before the commit.
    let (begin, workspace_lock) = match db {
        Db::Sqlite(_) => ("BEGIN IMMEDIATE", ""),
        Db::Postgres(_) => ("BEGIN", " FOR UPDATE OF w"),
    };
    let workspace_sql = format!(
        "SELECT {GATE_COLUMNS}, COALESCE(m.reserved, 0.0) AS reserved, COALESCE(m.spent, 0.0) AS spent,
             COALESCE(m.actions_reserved, 0.0) AS actions_reserved, COALESCE(m.actions_spent, 0.0) AS actions_spent
         FROM workspaces w LEFT JOIN budget_months m ON m.workspace_id = w.id AND m.month_start = $2
         WHERE w.id = $1{workspace_lock}"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin_with(begin).await?;
        let Locked { workspace, month_so_far } =
            sqlx::query_as(&workspace_sql).bind(gate.id).bind(month).fetch_one(&mut *tx).await?;
        let mut claim = Claim::default();
        if workspace.cooldown_until > now {
            claim.cooling_down = true;
            return Ok(claim);
        }
        let mut bucket = workspace.bucket();
        let allowed = bucket.take(now, limit);
        if allowed == 0 {
            return Ok(claim);
        }
        let (credit_budget, action_budget) = (workspace.monthly_credit_budget, workspace.monthly_action_budget);
        let MonthSoFar { reserved, spent, actions_reserved, actions_spent } = month_so_far;
        let mut credits_left = credit_budget.map_or(f64::INFINITY, |budget| budget as f64 - reserved - spent);
        let mut actions_left =
            action_budget.map_or(f64::INFINITY, |budget| budget as f64 - actions_reserved - actions_spent);
        let candidates: Vec<Candidate> =
            sqlx::query_as(&candidates_sql).bind(gate.id).bind(i64::from(allowed)).fetch_all(&mut *tx).await?;

        // Budgets first, in queue order: a lead whose estimates do not fit parks its table.
        let mut by_table: Vec<(i64, Reservation, Vec<Candidate>)> = Vec::new();
        for lead in candidates {
            if claim.out_of_budget.contains(&lead.table_id) {
                continue;
            }
            if lead.credits_per_lead > credits_left + 1e-9 || lead.actions_per_lead > actions_left + 1e-9 {
                claim.out_of_budget.push(lead.table_id);
                continue;
            }
            credits_left -= lead.credits_per_lead;
            actions_left -= lead.actions_per_lead;
            match by_table.iter_mut().find(|(table, ..)| *table == lead.table_id) {
                Some((.., leads)) => leads.push(lead),
                None => {
                    let each = Reservation { credits: lead.credits_per_lead, actions: lead.actions_per_lead };
                    by_table.push((lead.table_id, each, vec![lead]));
                }
            }
        }

        let mut reserved_now = Reservation::default();
        let mut assigned: Vec<(i64, Vec<i64>, Reservation)> = Vec::new();
        for (table_id, each, leads) in by_table {
            let rooms: Vec<Room> = sqlx::query_as(
                "SELECT id, url, auth_token, lifetime_cap - safety_margin - used AS room FROM webhooks
                 WHERE table_id = $1 AND state = 'active' AND used < lifetime_cap - safety_margin ORDER BY id",
            )
            .bind(table_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut waiting = leads.into_iter().peekable();
            for room in rooms {
                let take = waiting.len().min(usize::try_from(room.room).unwrap_or(0));
                if take == 0 {
                    continue;
                }
                // The one statement that counts submissions: it cannot pass the usable cap.
                let counted = sqlx::query(
                    "UPDATE webhooks SET used = used + $2
                     WHERE id = $1 AND state = 'active' AND used + $2 <= lifetime_cap - safety_margin",
                )
                .bind(room.id)
                .bind(take as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if counted != 1 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO webhook_days (webhook_id, day_start, submissions) VALUES ($1, $2, $3)
                     ON CONFLICT (webhook_id, day_start) DO UPDATE SET submissions = webhook_days.submissions + $3",
                )
                .bind(room.id)
                .bind(now - now.rem_euclid(DAY_MS))
                .bind(take as i64)
                .execute(&mut *tx)
                .await?;
                let mut ids = Vec::with_capacity(take);
                for lead in waiting.by_ref().take(take) {
                    ids.push(lead.id);
                    claim.leads.push(Claimed {
                        lead_id: lead.id,
                        workspace_id: gate.id,
                        table_id,
                        webhook_id: room.id,
                        url: Secret::new(room.url.clone()),
                        auth_token: room.auth_token.clone().map(Secret::new),
                        payload: lead.payload,
                        attempts: u32::try_from(lead.attempts).unwrap_or(u32::MAX),
                    });
                }
                reserved_now.credits += each.credits * ids.len() as f64;
                reserved_now.actions += each.actions * ids.len() as f64;
                assigned.push((room.id, ids, each));
                if waiting.peek().is_none() {
                    break;
                }
            }
            if waiting.peek().is_some() {
                claim.needs_webhook.push(table_id);
            }
        }

        for (webhook_id, ids, each) in &assigned {
            sqlx::query(&format!(
                "UPDATE leads SET state = 'in_flight', webhook_id = $1, lease_until = $2, credits_reserved = $3,
                     actions_reserved = $4, budget_month = $5, wait_reason = NULL
                 WHERE {}",
                ids_in("id", ids)
            ))
            .bind(webhook_id)
            .bind(now + lease_ms)
            .bind(each.credits)
            .bind(each.actions)
            .bind(month)
            .execute(&mut *tx)
            .await?;
        }
        bucket.give_back(allowed.saturating_sub(u32::try_from(claim.leads.len()).unwrap_or(allowed)));
        let (tokens, counted_at) = bucket.state();
        sqlx::query("UPDATE workspaces SET bucket_tokens = $2, bucket_updated_at = $3 WHERE id = $1")
            .bind(gate.id)
            .bind(tokens)
            .bind(counted_at)
            .execute(&mut *tx)
            .await?;
        if !assigned.is_empty() {
            sqlx::query(
                "INSERT INTO budget_months (workspace_id, month_start, reserved, actions_reserved) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (workspace_id, month_start) DO UPDATE
                 SET reserved = budget_months.reserved + $3, actions_reserved = budget_months.actions_reserved + $4",
            )
            .bind(gate.id)
            .bind(month)
            .bind(reserved_now.credits)
            .bind(reserved_now.actions)
                .execute(&mut *tx)
                .await?;
        }
        // The next claims park the rest, a chunk each, while the table stays blocked.
        for (table_ids, reason) in [(&claim.needs_webhook, NEEDS_WEBHOOK), (&claim.out_of_budget, BUDGET_EXHAUSTED)] {
            if !table_ids.is_empty() {
                sqlx::query(&format!(
                    // The state again outside: on PostgreSQL a row another transaction changed
                    // meanwhile (paused, called back) is checked against this WHERE only.
                    "UPDATE leads SET state = 'waiting', wait_reason = $2
                     WHERE id IN (SELECT l.id FROM {} AND {} LIMIT $3)
                         AND state = 'queued'",
                    sendable("$1", ""),
                    ids_in("l.table_id", table_ids)
                ))
                .bind(gate.id)
                .bind(reason)
                .bind(PARK_CHUNK)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(claim)
    })
}

/// Records answers in one transaction. A lead Clay already called back for was delivered,
/// whatever the network said.
pub async fn record(db: &Db, results: &[(Claimed, Verdict)], now: i64) -> Result<(), sqlx::Error> {
    if results.is_empty() {
        return Ok(());
    }
    let mut delivered: BTreeMap<u16, Vec<i64>> = BTreeMap::new();
    let mut settled = Vec::new();
    for (lead, verdict) in results {
        match verdict {
            Verdict::Delivered { status } => delivered.entry(*status).or_default().push(lead.lead_id),
            _ => settled.push(lead.lead_id),
        }
    }
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (status, ids) in &delivered {
            for chunk in ids.chunks(1000) {
                sqlx::query(&format!(
                    "UPDATE leads SET state = 'delivered', delivered_at = $1, last_status = $2, last_error = NULL, lease_until = NULL
                     WHERE state = 'in_flight' AND {}",
                    ids_in("id", chunk)
                ))
                .bind(now)
                .bind(i64::from(*status))
                .execute(&mut *tx)
                .await?;
            }
        }
        if !settled.is_empty() {
            // Called back already: Clay has it.
            sqlx::query(&format!(
                "UPDATE leads SET state = 'delivered', delivered_at = $1, lease_until = NULL
                 WHERE state = 'in_flight' AND callback_at IS NOT NULL AND {}",
                ids_in("id", &settled)
            ))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let condition = format!("l.state = 'in_flight' AND {}", ids_in("l.id", &settled));
            sqlx::query(&release_sql(&condition)).execute(&mut *tx).await?;
        }
        // The dashboard's roll-ups: deliveries and failed attempts of this minute.
        let minute = minute_start(now);
        let mut delivered_by_workspace: BTreeMap<i64, i64> = BTreeMap::new();
        let mut failed: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for (lead, verdict) in results {
            match verdict {
                Verdict::Delivered { .. } => *delivered_by_workspace.entry(lead.workspace_id).or_default() += 1,
                Verdict::Retry { status, .. } | Verdict::Dead { status, .. } => {
                    *failed.entry((lead.workspace_id, status.map_or(0, i64::from))).or_default() += 1;
                }
                Verdict::WebhookRefused { status, .. } => {
                    *failed.entry((lead.workspace_id, i64::from(*status))).or_default() += 1;
                }
            }
        }
        for (workspace_id, delivered) in delivered_by_workspace {
            sqlx::query(
                "INSERT INTO delivery_minutes (workspace_id, minute_start, delivered) VALUES ($1, $2, $3)
                 ON CONFLICT (workspace_id, minute_start) DO UPDATE SET delivered = delivery_minutes.delivered + $3",
            )
            .bind(workspace_id)
            .bind(minute)
            .bind(delivered)
            .execute(&mut *tx)
            .await?;
        }
        for ((workspace_id, status), attempts) in failed {
            sqlx::query(
                "INSERT INTO delivery_errors (workspace_id, minute_start, status, attempts) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (workspace_id, minute_start, status) DO UPDATE SET attempts = delivery_errors.attempts + $4",
            )
            .bind(workspace_id)
            .bind(minute)
            .bind(status)
            .bind(attempts)
            .execute(&mut *tx)
            .await?;
        }
        for (lead, verdict) in results {
            let (state, next, counts, status, reason) = match verdict {
                Verdict::Delivered { .. } => continue,
                Verdict::Retry { at, counts, status, reason } => ("retrying", *at, *counts, *status, reason),
                Verdict::Dead { status, reason } => ("dead", 0, true, *status, reason),
                // Back to the queue (through `retrying`, so a lead of an import paused meanwhile
                // stays put) for the table's next webhook.
                Verdict::WebhookRefused { status, reason } => ("retrying", now, false, Some(*status), reason),
            };
            sqlx::query(
                "UPDATE leads SET state = $2, next_attempt_at = $3, attempts = attempts + $4, last_status = $5,
                     last_error = $6, lease_until = NULL, webhook_id = NULL, credits_reserved = NULL,
                     actions_reserved = NULL
                 WHERE id = $1 AND state = 'in_flight' AND callback_at IS NULL",
            )
            .bind(lead.lead_id)
            .bind(state)
            .bind(next)
            .bind(i64::from(counts))
            .bind(status.map(i64::from))
            .bind(reason.as_str())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
}

/// A delivered lead `l` of table `t` that Clay has not called back within the table's deadline,
/// as of the bound parameter `now_param`.
pub(super) fn missing_callback(now_param: &str) -> String {
    format!("l.state = 'delivered' AND l.callback_at IS NULL AND {}", callback_overdue(now_param))
}

/// A lead `l` of table `t` delivered longer ago than the table's callback deadline, as of the
/// bound parameter `now_param`.
fn callback_overdue(now_param: &str) -> String {
    format!("l.delivered_at <= {now_param} - t.callback_timeout_mins * 60000")
}

/// The first instant of `now`'s minute (unix ms), the key of the dashboard's roll-ups.
pub fn minute_start(now: i64) -> i64 {
    now - now.rem_euclid(60_000)
}

/// The workspace waits until `until` (the longest cool-down wins), then starts again with an empty
/// bucket: sends resume at the workspace's rate, never with a burst. Were the bucket full again,
/// a destination answering 429 with `Retry-After: 0` would get a whole burst back per 429.
pub async fn cool_down(db: &Db, workspace_id: i64, until: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "UPDATE workspaces SET cooldown_until = CASE WHEN cooldown_until < $2 THEN $2 ELSE cooldown_until END,
             bucket_tokens = 0, bucket_updated_at = CASE WHEN cooldown_until < $2 THEN $2 ELSE cooldown_until END
         WHERE id = $1",
    )
    .bind(workspace_id)
    .bind(until)
    .execute(pool)
    .await
    .map(drop))
}

/// Takes a webhook that refused out of rotation. True when this call did it (alert once).
pub async fn mark_webhook_failing(db: &Db, webhook_id: i64) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query("UPDATE webhooks SET state = 'failing' WHERE id = $1 AND state = 'active'")
        .bind(webhook_id)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))
}

/// Parked leads whose reason has gone (a webhook was added, the budget raised, a new month
/// began) go back to the queue, [`PARK_CHUNK`] per table and reason at each call (the worker
/// calls several times a second), so a million parked leads never hold the write lock, nor the
/// worker's loop, for long. Returns how many.
pub async fn unpark(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    for (workspace_id, table_id, reason) in parked_tables(db).await? {
        if !reason_gone(db, workspace_id, table_id, &reason, now).await? {
            continue;
        }
        let chunk = on_db!(db, pool => sqlx::query(
            // The state again outside: see `claim`'s parking.
            "UPDATE leads SET state = 'queued', wait_reason = NULL WHERE id IN (
                 SELECT id FROM leads WHERE state = 'waiting' AND workspace_id = $1 AND table_id = $2
                     AND wait_reason = $3 LIMIT $4)
                 AND state = 'waiting'",
        )
        .bind(workspace_id)
        .bind(table_id)
        .bind(&reason)
        .bind(PARK_CHUNK)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
        moved += chunk;
        if chunk < PARK_CHUNK as u64 {
            let kind = if reason == NEEDS_WEBHOOK { alerts::NEEDS_WEBHOOK } else { alerts::BUDGET_EXHAUSTED };
            alerts::clear(db, kind, &alerts::table_subject(table_id), now).await?;
        }
    }
    Ok(moved)
}

/// Each (workspace, table, reason) that has parked leads. One seek in `leads_waiting` per
/// answer, as the worker asks several times a second and a table may park a million leads.
async fn parked_tables(db: &Db) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    let mut parked: Vec<(i64, i64, String)> = Vec::new();
    loop {
        let after = parked.last().cloned().unwrap_or((i64::MIN, i64::MIN, String::new()));
        let next: Option<(i64, i64, String)> = on_db!(db, pool => sqlx::query_as(
            "SELECT workspace_id, table_id, wait_reason FROM leads
             WHERE state = 'waiting' AND (workspace_id, table_id, wait_reason) > ($1, $2, $3)
             ORDER BY workspace_id, table_id, wait_reason LIMIT 1",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(after.2)
        .fetch_optional(pool)
        .await)?;
        match next {
            Some(group) => parked.push(group),
            None => return Ok(parked),
        }
    }
}

/// Whether what parked a table's leads is gone: a webhook has room, or the budget has room for
/// one more lead.
async fn reason_gone(db: &Db, workspace_id: i64, table_id: i64, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    if reason == NEEDS_WEBHOOK {
        let (rooms,): (i64,) = on_db!(db, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM webhooks WHERE table_id = $1 AND state = 'active' AND used < lifetime_cap - safety_margin",
        )
        .bind(table_id)
        .fetch_one(pool)
        .await)?;
        return Ok(rooms > 0);
    }
    let snapshot = budget_snapshot(db, workspace_id, now).await?;
    let estimate: Option<(f64, f64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT credits_per_lead, actions_per_lead FROM clay_tables WHERE id = $1",
    )
    .bind(table_id)
    .fetch_optional(pool)
    .await)?;
    Ok(estimate.is_some_and(|(credits, actions)| {
        snapshot.remaining().is_none_or(|left| credits <= left + 1e-9)
            && snapshot.actions_remaining().is_none_or(|left| actions <= left + 1e-9)
    }))
}

/// This budget month of a workspace: data credits, then Actions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BudgetSnapshot {
    pub month_start: i64,
    pub budget: Option<i64>,
    pub reserved: f64,
    pub spent: f64,
    pub action_budget: Option<i64>,
    pub actions_reserved: f64,
    pub actions_spent: f64,
}

impl BudgetSnapshot {
    pub fn remaining(&self) -> Option<f64> {
        self.budget.map(|budget| budget as f64 - self.reserved - self.spent)
    }

    pub fn actions_remaining(&self) -> Option<f64> {
        self.action_budget.map(|budget| budget as f64 - self.actions_reserved - self.actions_spent)
    }
}

pub async fn budget_snapshot(db: &Db, workspace_id: i64, now: i64) -> Result<BudgetSnapshot, sqlx::Error> {
    let (budget, action_budget, day): (Option<i64>, Option<i64>, i64) = on_db!(db, pool => sqlx::query_as(
        "SELECT monthly_credit_budget, monthly_action_budget, budget_day FROM workspaces WHERE id = $1",
    )
    .bind(workspace_id)
    .fetch_one(pool)
    .await)?;
    let month_start = budget::month_start(now, u8::try_from(day).unwrap_or(1));
    let row: Option<(f64, f64, f64, f64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT reserved, spent, actions_reserved, actions_spent FROM budget_months WHERE workspace_id = $1 AND month_start = $2",
    )
    .bind(workspace_id)
    .bind(month_start)
    .fetch_optional(pool)
    .await)?;
    let (reserved, spent, actions_reserved, actions_spent) = row.unwrap_or_default();
    Ok(BudgetSnapshot {
        month_start,
        budget,
        reserved: reserved.max(0.0),
        spent,
        action_budget,
        actions_reserved: actions_reserved.max(0.0),
        actions_spent,
    })
}

/// Where an import's leads stand on their way to Clay.
pub async fn counts(db: &Db, import_id: i64) -> Result<DeliveryCounts, sqlx::Error> {
    Ok(counts_of(db, &[import_id]).await?.remove(&import_id).unwrap_or_default())
}

/// Where the leads of each of `import_ids` stand, in two statements however many imports: the
/// imports and deliveries pages ask for a whole list every few seconds.
pub async fn counts_of(db: &Db, import_ids: &[i64]) -> Result<BTreeMap<i64, DeliveryCounts>, sqlx::Error> {
    let mut all: BTreeMap<i64, DeliveryCounts> = import_ids.iter().map(|id| (*id, DeliveryCounts::default())).collect();
    if import_ids.is_empty() {
        return Ok(all);
    }
    let sql = format!(
        "SELECT import_id, state, COUNT(*) FROM leads WHERE {} GROUP BY import_id, state",
        ids_in("import_id", import_ids)
    );
    let rows: Vec<(i64, String, i64)> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    for (import_id, state, n) in rows {
        let Some(counts) = all.get_mut(&import_id) else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        match state.as_str() {
            "queued" => counts.queued += n,
            "in_flight" => counts.in_flight += n,
            "retrying" => counts.retrying += n,
            "delivered" => counts.delivered += n,
            "dead" => counts.dead += n,
            "waiting" | "staged" => counts.waiting += n,
            "held" => counts.held += n,
            "paused" => counts.paused += n,
            "cancelled" => counts.cancelled += n,
            _ => {}
        }
    }
    // Delivered leads were called back unless they still await it.
    let mut delivered = Vec::new();
    for (import_id, counts) in &mut all {
        if counts.delivered > 0 {
            counts.called_back = counts.delivered;
            delivered.push(*import_id);
        }
    }
    if !delivered.is_empty() {
        let sql = awaiting_callbacks(db, &delivered);
        let rows: Vec<(i64, i64, Option<i64>)> =
            on_db!(db, pool => sqlx::query_as(&sql).bind(super::now_millis()).fetch_all(pool).await)?;
        for (import_id, awaiting, missing) in rows {
            let Some(counts) = all.get_mut(&import_id) else { continue };
            counts.called_back = counts.delivered.saturating_sub(u64::try_from(awaiting).unwrap_or(0));
            counts.no_callback = u64::try_from(missing.unwrap_or(0)).unwrap_or(0);
        }
    }
    Ok(all)
}

/// For each of `import_ids`, how many of its delivered leads still await their callback, and how
/// many of those are past their table's deadline as of `$1`. Only the index of leads awaiting
/// their callback is read: SQLite's planner would rather take `leads_import` (import, state)
/// and read every delivered lead's row, on each refresh of the imports page.
fn awaiting_callbacks(db: &Db, import_ids: &[i64]) -> String {
    let index = match db {
        Db::Sqlite(_) => " INDEXED BY leads_awaiting_callback",
        Db::Postgres(_) => "",
    };
    format!(
        "SELECT l.import_id, COUNT(*), SUM(CASE WHEN {} THEN 1 ELSE 0 END)
         FROM leads l{index} JOIN clay_tables t ON t.id = l.table_id
         WHERE {} AND l.state = 'delivered' AND l.callback_at IS NULL
         GROUP BY l.import_id",
        callback_overdue("$1"),
        ids_in("l.import_id", import_ids)
    )
}

#[derive(sqlx::FromRow)]
struct DeadRow {
    id: i64,
    line: i64,
    attempts: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
}

/// The import's dead leads in file order: one seek in `leads_import` (import, state), then a sort
/// of the dead ones.
pub async fn dead_leads(db: &Db, import_id: i64, limit: i64) -> Result<Vec<app::domain::DeadLead>, sqlx::Error> {
    let rows: Vec<DeadRow> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, line, attempts, last_status, last_error FROM leads
         WHERE import_id = $1 AND state = 'dead' ORDER BY line LIMIT $2",
    )
    .bind(import_id)
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|row| app::domain::DeadLead {
            id: row.id,
            line: u64::try_from(row.line).unwrap_or(0),
            attempts: u32::try_from(row.attempts).unwrap_or(u32::MAX),
            last_status: row.last_status.and_then(|status| u16::try_from(status).ok()),
            last_error: row.last_error,
        })
        .collect())
}

/// Changes the priority of an import: the claim takes the leads of a workspace's imports by the
/// import's priority, so one row changes, however many leads are waiting. (`leads.priority` keeps
/// the priority a lead was imported with; nothing orders by it.)
pub async fn set_priority(db: &Db, import_id: i64, rank: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("UPDATE imports SET priority = $2 WHERE id = $1")
        .bind(import_id)
        .bind(rank)
        .execute(pool)
        .await
        .map(drop))
}

/// What a callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackResult {
    Applied,
    /// Seen before: nothing changed.
    Repeated,
    /// No lead of that table has this id.
    Unknown,
}

/// What Clay reported a lead cost, when it said.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reported {
    pub credits: Option<f64>,
    pub actions: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct Settled {
    workspace_id: i64,
    budget_month: Option<i64>,
    credits_reserved: Option<f64>,
    actions_reserved: Option<f64>,
    credits_used: f64,
    actions_used: f64,
    credits_per_lead: f64,
}

/// Applies Clay's callback for a lead: its enrichment, its actual credits and Actions in place of
/// the estimates, and its place in the stream-through queue when the table forwards. Idempotent
/// by lead.
pub async fn apply_callback(
    db: &Db,
    table_id: i64,
    lead_id: i64,
    reported: Reported,
    enrichment: &str,
    now: i64,
) -> Result<CallbackResult, sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        // The write first (see `claim`); it only succeeds once per lead.
        let settled: Option<Settled> = sqlx::query_as(
            // A lead Clay called back for has reached Clay, whatever the network said: one that
            // waits for a retry (or was re-queued after its lease) is delivered, never sent again.
            "UPDATE leads SET callback_at = $3, enrichment = $4,
                 state = CASE WHEN state IN ('queued', 'retrying', 'waiting', 'paused', 'cancelled', 'dead')
                              THEN 'delivered' ELSE state END,
                 delivered_at = CASE WHEN state = 'in_flight' THEN delivered_at ELSE COALESCE(delivered_at, $3) END,
                 credits_used = COALESCE($5, credits_reserved, (SELECT credits_per_lead FROM clay_tables WHERE id = $2)),
                 actions_used = COALESCE($6, actions_reserved, (SELECT actions_per_lead FROM clay_tables WHERE id = $2)),
                 forward_state = CASE WHEN (SELECT forward_url FROM clay_tables WHERE id = $2) IS NULL THEN NULL
                                      ELSE 'queued' END,
                 forward_next_at = 0
             WHERE id = $1 AND table_id = $2 AND callback_at IS NULL
             RETURNING workspace_id, budget_month, credits_reserved, actions_reserved, credits_used, actions_used,
                 (SELECT credits_per_lead FROM clay_tables WHERE id = $2) AS credits_per_lead",
        )
        .bind(lead_id)
        .bind(table_id)
        .bind(now)
        .bind(enrichment)
        .bind(reported.credits)
        .bind(reported.actions)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(settled) = settled else {
            let (known,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM leads WHERE id = $1 AND table_id = $2")
                .bind(lead_id)
                .bind(table_id)
                .fetch_one(&mut *tx)
                .await?;
            return Ok(if known > 0 { CallbackResult::Repeated } else { CallbackResult::Unknown });
        };
        let workspace_id = settled.workspace_id;
        let month = match settled.budget_month {
            Some(month) => month,
            None => {
                let (day,): (i64,) = sqlx::query_as("SELECT budget_day FROM workspaces WHERE id = $1")
                    .bind(workspace_id)
                    .fetch_one(&mut *tx)
                    .await?;
                budget::month_start(now, u8::try_from(day).unwrap_or(1))
            }
        };
        sqlx::query("INSERT INTO budget_months (workspace_id, month_start) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(workspace_id)
            .bind(month)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE budget_months SET reserved = reserved - $3, spent = spent + $4,
                 actions_reserved = actions_reserved - $5, actions_spent = actions_spent + $6
             WHERE workspace_id = $1 AND month_start = $2",
        )
        .bind(workspace_id)
        .bind(month)
        .bind(settled.credits_reserved.unwrap_or(0.0))
        .bind(settled.credits_used)
        .bind(settled.actions_reserved.unwrap_or(0.0))
        .bind(settled.actions_used)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO budget_days (workspace_id, table_id, day_start, leads, credits_estimated, credits_spent, actions_spent)
             VALUES ($1, $2, $3, 1, $4, $5, $6)
             ON CONFLICT (workspace_id, day_start, table_id) DO UPDATE SET leads = budget_days.leads + 1,
                 credits_estimated = budget_days.credits_estimated + $4, credits_spent = budget_days.credits_spent + $5,
                 actions_spent = budget_days.actions_spent + $6",
        )
        .bind(workspace_id)
        .bind(table_id)
        .bind(now - now.rem_euclid(DAY_MS))
        .bind(settled.credits_reserved.unwrap_or(settled.credits_per_lead))
        .bind(settled.credits_used)
        .bind(settled.actions_used)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO delivery_minutes (workspace_id, minute_start, callbacks) VALUES ($1, $2, 1)
             ON CONFLICT (workspace_id, minute_start) DO UPDATE SET callbacks = delivery_minutes.callbacks + 1",
        )
        .bind(workspace_id)
        .bind(minute_start(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(CallbackResult::Applied)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;

    #[tokio::test]
    async fn imports_callbacks_are_counted_from_an_index_without_reading_their_leads() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(format!("sqlite://{}", dir.path().join("kiln.db").display()));
        let db = Db::connect(&url).await.unwrap();
        let Db::Sqlite(pool) = &db else { unreachable!() };
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", awaiting_callbacks(&db, &[1, 2])))
                .bind(0_i64)
                .fetch_all(pool)
                .await
                .unwrap();
        let leads = &plan.iter().find(|(.., detail)| detail.contains(" l ")).unwrap().3;
        assert!(leads.contains("USING COVERING INDEX leads_awaiting_callback (import_id=?)"), "{plan:?}");
    }

    /// A claim reads the workspace's queued imports in order, and from each only as many of its
    /// queued leads as it takes, in id order: no sort of every queued lead, which a million of
    /// them would make longer than the claim's tick.
    #[tokio::test]
    async fn a_claim_reads_its_leads_import_by_import_in_order_without_sorting_them() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(format!("sqlite://{}", dir.path().join("kiln.db").display()));
        let db = Db::connect(&url).await.unwrap();
        let Db::Sqlite(pool) = &db else { unreachable!() };
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", candidates(&db)))
            .bind(1_i64)
            .bind(256_i64)
            .fetch_all(pool)
            .await
            .unwrap();
        let steps: Vec<&str> = plan.iter().map(|(.., detail)| detail.as_str()).collect();
        assert_eq!(
            steps,
            [
                "SEARCH i USING COVERING INDEX imports_sending (workspace_id=? AND state=?)",
                "SEARCH l USING INDEX leads_import (import_id=? AND state=?)",
                "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)",
            ],
            "{plan:?}"
        );
    }
}
