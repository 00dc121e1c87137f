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
