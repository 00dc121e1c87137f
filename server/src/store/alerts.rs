//! Alerts: one open alert per kind and subject, so a condition that persists is told once.

use super::{Db, on_db};

pub const WEBHOOK_FAILING: &str = "webhook_failing";
pub const NEEDS_WEBHOOK: &str = "needs_webhook";
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";
pub const BUDGET_80: &str = "budget_80";
pub const BUDGET_100: &str = "budget_100";
pub const WEBHOOK_80: &str = "webhook_80";
pub const WEBHOOK_FULL: &str = "webhook_full";
pub const DEAD_LEADS: &str = "dead_leads";
pub const NO_CALLBACK: &str = "no_callback";
pub const FORWARD_FAILING: &str = "forward_failing";

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Alert {
    pub id: i64,
    pub workspace_id: Option<i64>,
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub raised_at: i64,
    pub cleared_at: Option<i64>,
}

/// The subject of an alert about a table (needs webhook, budget exhausted, no callback,
/// forward failing): one open alert of each kind per table.
pub fn table_subject(table_id: i64) -> String {
    format!("table:{table_id}")
}

/// Raises an alert unless the same one is open. True when it is new.
pub async fn raise(
    db: &Db,
    workspace_id: Option<i64>,
    kind: &str,
    subject: &str,
    message: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO alerts (workspace_id, kind, subject, message, raised_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (kind, subject) WHERE cleared_at IS NULL DO NOTHING",
    )
    .bind(workspace_id)
    .bind(kind)
    .bind(subject)
    .bind(message)
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}

/// Closes the open alert of that kind and subject, if any.
pub async fn clear(db: &Db, kind: &str, subject: &str, now: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("UPDATE alerts SET cleared_at = $3 WHERE kind = $1 AND subject = $2 AND cleared_at IS NULL")
        .bind(kind)
        .bind(subject)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))
}

/// The latest alerts, open and cleared, newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Alert>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, workspace_id, kind, subject, message, raised_at, cleared_at FROM alerts
         ORDER BY raised_at DESC, id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// Open alerts, newest first.
pub async fn open(db: &Db) -> Result<Vec<Alert>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, workspace_id, kind, subject, message, raised_at, cleared_at FROM alerts
         WHERE cleared_at IS NULL ORDER BY raised_at DESC, id DESC",
    )
    .fetch_all(pool)
    .await)
}

/// Raises the threshold alerts: a workspace's month at 80% and 100% of its credit budget
/// (reserved and spent), a webhook at 80% of its usable submissions and full. Each is raised
/// once per occurrence: per budget month, per webhook. Returns the messages of new alerts.
pub async fn check_thresholds(db: &Db, now: i64, dead_alert_at: u64) -> Result<Vec<String>, sqlx::Error> {
    let mut raised = Vec::new();
    let workspaces: Vec<(i64, String, Option<i64>)> = on_db!(db, pool => sqlx::query_as(
        "SELECT id, name, monthly_credit_budget FROM workspaces WHERE monthly_credit_budget IS NOT NULL",
    )
    .fetch_all(pool)
    .await)?;
    for (id, name, budget) in workspaces {
        let Some(budget) = budget.filter(|b| *b > 0) else { continue };
        let snapshot = super::delivery::budget_snapshot(db, id, now).await?;
        let used = snapshot.reserved + snapshot.spent;
        let month = chrono::DateTime::from_timestamp_millis(snapshot.month_start)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        for (kind, share) in [(BUDGET_80, 0.8), (BUDGET_100, 1.0)] {
            if used >= budget as f64 * share {
                let message = format!(
                    "{name}: {:.0}% of this month's {budget} data credits used or reserved (month from {month})",
                    used / budget as f64 * 100.0
                );
                if raise(db, Some(id), kind, &format!("workspace:{id}:{}", snapshot.month_start), &message, now).await?
                {
                    raised.push(message);
                }
            }
        }
    }
    let hooks: Vec<(i64, i64, i64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT h.id, t.workspace_id, h.used, h.lifetime_cap - h.safety_margin FROM webhooks h
         JOIN clay_tables t ON t.id = h.table_id WHERE h.state = 'active'",
    )
    .fetch_all(pool)
    .await)?;
    for (id, workspace, used, usable) in hooks {
        for (kind, share, what) in [(WEBHOOK_80, 0.8, "at 80% of"), (WEBHOOK_FULL, 1.0, "has used all")] {
            if usable > 0 && used as f64 >= usable as f64 * share {
                let message = format!("webhook {id} {what} its {usable} usable submissions ({used} used)");
                if raise(db, Some(workspace), kind, &format!("webhook:{id}"), &message, now).await? {
                    raised.push(message);
                }
            }
        }
    }

    // Conditions that can end by themselves: their alert is cleared when they do.
    let dead: Vec<(i64, i64, i64)> = on_db!(db, pool => sqlx::query_as(
        "SELECT l.import_id, i.workspace_id, COUNT(*) FROM leads l JOIN imports i ON i.id = l.import_id
         WHERE l.state = 'dead' GROUP BY l.import_id, i.workspace_id HAVING COUNT(*) >= $1",
    )
    .bind(i64::try_from(dead_alert_at.max(1)).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await)?;
    let mut current = Vec::new();
    for (import, workspace, n) in dead {
        let subject = format!("import:{import}");
        let message =
            format!("import {import}: {n} dead leads; requeue them from the imports page once the cause is fixed");
        if raise(db, Some(workspace), DEAD_LEADS, &subject, &message, now).await? {
            raised.push(message);
        }
        current.push(subject);
    }
    clear_others(db, DEAD_LEADS, &current, now).await?;

    let sql = format!(
        "SELECT t.id, t.workspace_id, t.name, t.callback_timeout_mins, COUNT(*) FROM clay_tables t
         JOIN leads l ON l.table_id = t.id WHERE {}
         GROUP BY t.id, t.workspace_id, t.name, t.callback_timeout_mins",
        super::delivery::missing_callback("$1")
    );
    let missing: Vec<(i64, i64, String, i64, i64)> = on_db!(db, pool => sqlx::query_as(&sql)
    .bind(now)
    .fetch_all(pool)
    .await)?;
    let mut current = Vec::new();
    for (table, workspace, name, minutes, n) in missing {
        let subject = table_subject(table);
        let message = format!(
            "table {name}: {n} delivered leads have had no callback for over {minutes} min; check its HTTP API column in Clay"
        );
        if raise(db, Some(workspace), NO_CALLBACK, &subject, &message, now).await? {
            raised.push(message);
        }
        current.push(subject);
    }
    clear_others(db, NO_CALLBACK, &current, now).await?;
    Ok(raised)
}

/// Clears the open alerts of `kind` whose subject is not in `current`.
async fn clear_others(db: &Db, kind: &str, current: &[String], now: i64) -> Result<(), sqlx::Error> {
    for alert in open(db).await? {
        if alert.kind == kind && !current.contains(&alert.subject) {
            clear(db, kind, &alert.subject, now).await?;
        }
    }
    Ok(())
}
