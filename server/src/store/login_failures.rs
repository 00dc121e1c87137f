//! Failed sign-ins, counted per account and per address for throttling.

use super::{Db, on_db};

pub async fn record(db: &Db, keys: &[&str], now: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// The failure times of `key` since `since`, oldest first.
pub async fn since(db: &Db, key: &str, since: i64) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = on_db!(db, pool => sqlx::query_as(
        "SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at",
    )
    .bind(key)
    .bind(since)
    .fetch_all(pool)
    .await)?;
    Ok(rows.into_iter().map(|(at,)| at).collect())
}

pub async fn clear(db: &Db, key: &str) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE key = $1").bind(key).execute(pool).await.map(drop))
}

/// Forgets failures older than `before`; they no longer count.
pub async fn prune(db: &Db, before: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(before).execute(pool).await.map(drop))
}
