//! One-off fixes of stored data, run at start-up: each is recorded once done, so that later
//! starts skip it with one lookup rather than searching the data again.

use super::{Db, on_db};

pub async fn is_done(db: &Db, task: &str) -> Result<bool, sqlx::Error> {
    let found: Option<(i64,)> = on_db!(db, pool => sqlx::query_as("SELECT done_at FROM upkeep WHERE task = $1")
        .bind(task)
        .fetch_optional(pool)
        .await)?;
    Ok(found.is_some())
}

/// Records `task` as done (once: processes starting together may both have run it).
pub async fn mark_done(db: &Db, task: &str, now: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("INSERT INTO upkeep (task, done_at) VALUES ($1, $2) ON CONFLICT (task) DO NOTHING")
        .bind(task)
        .bind(now)
        .execute(pool)
        .await
        .map(drop))
}
