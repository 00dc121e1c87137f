//! Who did what, when: one row per change a person or token made.

use super::{Db, on_db};

pub async fn record(
    db: &Db,
    actor: &str,
    action: &str,
    subject: &str,
    detail: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(pool)
    .await
    .map(drop))
}

/// One audit entry.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: Option<String>,
}

/// The latest entries, newest first, before `before` (an entry id) when given.
pub async fn recent(db: &Db, before: Option<i64>, limit: i64) -> Result<Vec<Entry>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, at, actor, action, subject, detail FROM audit_log WHERE ($1 IS NULL OR id < $1)
         ORDER BY id DESC LIMIT $2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await)
}
