//! What `/metrics` reads from the ledger: one pass over the leads, grouped, plus the small
//! tables. Times are unix milliseconds.

use super::{Db, on_db};

/// Leads of one workspace in one state with one last HTTP status.
#[derive(Debug, sqlx::FromRow)]
pub struct LeadGroup {
    pub workspace_id: i64,
    pub state: String,
    pub last_status: Option<i64>,
    pub leads: i64,
    /// Of them, delivered since the start of the last minute.
    pub delivered_last_minute: Option<i64>,
    /// Of them, called back within the last hour, and the sum of their callback delays.
    pub callbacks_last_hour: Option<i64>,
    pub callback_delay_ms: Option<i64>,
}

pub async fn lead_groups(db: &Db, now: i64) -> Result<Vec<LeadGroup>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT workspace_id, state, last_status, COUNT(*) AS leads,
                SUM(CASE WHEN delivered_at >= $1 THEN 1 ELSE 0 END) AS delivered_last_minute,
                SUM(CASE WHEN callback_at >= $2 THEN 1 ELSE 0 END) AS callbacks_last_hour,
                CAST(SUM(CASE WHEN callback_at >= $2 AND delivered_at IS NOT NULL THEN callback_at - delivered_at
                              ELSE 0 END) AS BIGINT) AS callback_delay_ms
         FROM leads GROUP BY workspace_id, state, last_status",
    )
    .bind(now - 60_000)
    .bind(now - 3_600_000)
    .fetch_all(pool)
    .await)
}

#[derive(Debug, sqlx::FromRow)]
pub struct WebhookUse {
    pub id: i64,
    pub table_id: i64,
    pub workspace_id: i64,
    pub state: String,
    pub used: i64,
    pub usable: i64,
}

pub async fn webhook_use(db: &Db) -> Result<Vec<WebhookUse>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT h.id, h.table_id, t.workspace_id, h.state, h.used, h.lifetime_cap - h.safety_margin AS usable
         FROM webhooks h JOIN clay_tables t ON t.id = h.table_id ORDER BY h.id",
    )
    .fetch_all(pool)
    .await)
}

/// Open alerts by kind.
pub async fn open_alerts(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as("SELECT kind, COUNT(*) FROM alerts WHERE cleared_at IS NULL GROUP BY kind")
        .fetch_all(pool)
        .await)
}
