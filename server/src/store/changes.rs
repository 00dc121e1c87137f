//! Word that the ledger changed, so that the live dashboard of every Kiln process refreshes at
//! once rather than at its next tick. On PostgreSQL it travels by LISTEN/NOTIFY and reaches
//! every instance on the database; SQLite has one process, whose tick is enough.

use super::Db;
use sqlx::postgres::PgListener;
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;

const CHANNEL: &str = "kiln_changes";

/// Tells every process following the database that something changed.
pub async fn announce(db: &Db) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(_) => Ok(()),
        Db::Postgres(pool) => sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(pool).await.map(drop),
    }
}

/// Wakes `wake` whenever a process announces a change, for as long as `wake` has other owners;
/// a lost connection is opened again. Notifications that arrive together wake it once.
pub fn follow(db: &Db, wake: Arc<Notify>) {
    let Db::Postgres(pool) = db else { return };
    let pool = pool.clone();
    tokio::spawn(async move {
        while Arc::strong_count(&wake) > 1 {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for changes; trying again in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            if let Err(error) = listener.listen(CHANNEL).await {
                tracing::warn!(%error, "cannot listen for changes; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            // A change may have been missed while not listening.
            wake.notify_one();
            loop {
                match tokio::time::timeout(Duration::from_secs(30), listener.recv()).await {
                    Ok(Ok(_)) => wake.notify_one(),
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "lost the change notifications; listening again");
                        break;
                    }
                    // Quiet: check that someone still wants to hear.
                    Err(_) if Arc::strong_count(&wake) > 1 => {}
                    Err(_) => return,
                }
            }
        }
    });
}
