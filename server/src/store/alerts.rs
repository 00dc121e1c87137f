//! Alerts: one open alert per kind and subject, so a condition that persists is told once.

use super::{Db, on_db};

pub const WEBHOOK_FAILING: &str = "webhook_failing";
pub const NEEDS_WEBHOOK: &str = "needs_webhook";
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";

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

/// Open alerts, newest first.
pub async fn open(db: &Db) -> Result<Vec<Alert>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, workspace_id, kind, subject, message, raised_at, cleared_at FROM alerts
         WHERE cleared_at IS NULL ORDER BY raised_at DESC, id DESC",
    )
    .fetch_all(pool)
    .await)
}
