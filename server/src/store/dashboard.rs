//! The live dashboard's numbers. Queue depths come from one pass over the (import, state) index;
//! rates, errors and callbacks from the per-minute roll-ups; missing callbacks from the index of
//! leads awaiting theirs.

use super::{Db, delivery::minute_start, on_db};
use app::domain::{Dashboard, WorkspaceLive};
use std::collections::BTreeMap;

pub async fn snapshot(db: &Db, now: i64) -> Result<Dashboard, sqlx::Error> {
    let workspaces: Vec<(i64, String, bool, f64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, name, demo, rate_per_sec FROM workspaces ORDER BY demo, name",
    )
    .fetch_all(pool)
    .await)?;
    let mut live: BTreeMap<i64, WorkspaceLive> = workspaces
        .into_iter()
        .map(|(id, name, demo, rate_limit)| (id, WorkspaceLive { id, name, demo, rate_limit, ..Default::default() }))
        .collect();

    let states: Vec<(i64, String, i64)> = on_db!(db, pool => sqlx::query_as(
        // The leads of a file still arriving are written `queued` but cannot be sent yet.
        "SELECT i.workspace_id, CASE WHEN s.state = 'queued' AND i.state = 'receiving' THEN 'waiting' ELSE s.state END,
                CAST(SUM(s.n) AS BIGINT) FROM
             (SELECT import_id, state, COUNT(*) AS n FROM leads GROUP BY import_id, state) s
             JOIN imports i ON i.id = s.import_id
         GROUP BY i.workspace_id, 2",
    )
    .fetch_all(pool)
    .await)?;
    for (workspace, state, n) in states {
        let Some(w) = live.get_mut(&workspace) else { continue };
        let n = u64::try_from(n).unwrap_or(0);
        match state.as_str() {
            "queued" => w.queued += n,
            "in_flight" => w.in_flight += n,
            "retrying" => w.retrying += n,
            "waiting" | "staged" => w.waiting += n,
            "paused" => w.paused += n,
            "dead" => w.dead += n,
            "delivered" => w.delivered += n,
            _ => {}
        }
    }

    // The current minute in full, and the share of the previous one still inside the last 60 s.
    let this_minute = minute_start(now);
    let previous_share = 1.0 - (now - this_minute) as f64 / 60_000.0;
    let minutes: Vec<(i64, i64, i64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT workspace_id, minute_start, delivered, callbacks FROM delivery_minutes WHERE minute_start >= $1",
    )
    .bind(this_minute - 3_600_000)
    .fetch_all(pool)
    .await)?;
    for (workspace, minute, delivered, callbacks) in minutes {
        let Some(w) = live.get_mut(&workspace) else { continue };
        // A minute ahead of this clock counts as the current one (clocks of processes differ).
        if minute >= this_minute {
            w.send_rate += delivered as f64 / 60.0;
        } else if minute == this_minute - 60_000 {
            w.send_rate += delivered as f64 * previous_share / 60.0;
        }
        if minute > this_minute - 3_600_000 {
            w.callbacks_last_hour += u64::try_from(callbacks).unwrap_or(0);
        }
    }

    let errors: Vec<(i64, i64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT workspace_id, status, CAST(SUM(attempts) AS BIGINT) FROM delivery_errors WHERE minute_start > $1
         GROUP BY workspace_id, status",
    )
    .bind(this_minute - 3_600_000)
    .fetch_all(pool)
    .await)?;
    for (workspace, status, attempts) in errors {
        if let Some(w) = live.get_mut(&workspace) {
            w.errors_last_hour.push((u16::try_from(status).unwrap_or(0), u64::try_from(attempts).unwrap_or(0)));
        }
    }
    for w in live.values_mut() {
        w.errors_last_hour.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    }

    let sql = format!(
        "SELECT t.workspace_id, COUNT(*) FROM clay_tables t JOIN leads l ON l.table_id = t.id WHERE {}
         GROUP BY t.workspace_id",
        super::delivery::missing_callback("$1")
    );
    let missing: Vec<(i64, i64)> = on_db!(db, pool => sqlx::query_as(&sql)
    .bind(now)
    .fetch_all(pool)
    .await)?;
    for (workspace, n) in missing {
        if let Some(w) = live.get_mut(&workspace) {
            w.no_callback = u64::try_from(n).unwrap_or(0);
        }
    }

    let imports = super::imports::list(db, None, 8).await?;
    Ok(Dashboard { at: now, workspaces: live.into_values().collect(), imports })
}

#[derive(sqlx::FromRow)]
struct OutlookRow {
    id: i64,
    workspace_id: i64,
    workspace: String,
    table_name: String,
    url: String,
    state: String,
    used: i64,
    usable: i64,
    last_7_days: Option<i64>,
}

/// Every webhook with its use and the submissions of the last 7 days (from `webhook_days`).
pub async fn webhook_outlooks(db: &Db, now: i64) -> Result<Vec<app::domain::WebhookOutlook>, sqlx::Error> {
    let rows: Vec<OutlookRow> = on_db!(db, pool => sqlx::query_as(
        "SELECT h.id, t.workspace_id, w.name AS workspace, t.name AS table_name, h.url, h.state, h.used,
                h.lifetime_cap - h.safety_margin AS usable,
                (SELECT CAST(SUM(d.submissions) AS BIGINT) FROM webhook_days d
                  WHERE d.webhook_id = h.id AND d.day_start > $1) AS last_7_days
         FROM webhooks h JOIN clay_tables t ON t.id = h.table_id JOIN workspaces w ON w.id = t.workspace_id
         ORDER BY w.name, t.name, h.id",
    )
    .bind(now - 7 * 86_400_000)
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|row| app::domain::WebhookOutlook {
            id: row.id,
            workspace_id: row.workspace_id,
            workspace: row.workspace,
            table: row.table_name,
            url_masked: crate::workspaces::mask_url(&crate::secret::Secret::new(row.url)),
            active: row.state == "active",
            state: row.state,
            used: u64::try_from(row.used).unwrap_or(0),
            usable: u64::try_from(row.usable).unwrap_or(0),
            last_7_days: u64::try_from(row.last_7_days.unwrap_or(0)).unwrap_or(0),
        })
        .collect())
}

/// What a workspace's callbacks settled: on one UTC day (all tables), or by one table.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Settled {
    /// The day's 00:00 UTC, or the table's id.
    pub key: i64,
    pub leads: i64,
    pub credits_estimated: f64,
    pub credits_spent: f64,
    pub actions_spent: f64,
}

const SETTLED: &str = "CAST(SUM(leads) AS BIGINT) AS leads, SUM(credits_estimated) AS credits_estimated,
    SUM(credits_spent) AS credits_spent, SUM(actions_spent) AS actions_spent";

/// A workspace's days from `since` on, oldest first, summed over its tables (a year is 366 rows
/// at most, whatever the number of tables).
pub async fn settled_by_day(db: &Db, workspace_id: i64, since: i64) -> Result<Vec<Settled>, sqlx::Error> {
    let sql = format!(
        "SELECT day_start AS key, {SETTLED} FROM budget_days WHERE workspace_id = $1 AND day_start >= $2
         GROUP BY day_start ORDER BY day_start"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(workspace_id).bind(since).fetch_all(pool).await)
}

/// A workspace's tables from `since` on.
pub async fn settled_by_table(db: &Db, workspace_id: i64, since: i64) -> Result<Vec<Settled>, sqlx::Error> {
    let sql = format!(
        "SELECT table_id AS key, {SETTLED} FROM budget_days WHERE workspace_id = $1 AND day_start >= $2
         GROUP BY table_id"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(workspace_id).bind(since).fetch_all(pool).await)
}
