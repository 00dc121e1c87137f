//! Storage: one module per aggregate, each a set of functions over [`Db`]. The same SQL runs on
//! SQLite and PostgreSQL (sqlx binds `$1` on both); where the dialects differ, a function matches
//! on the variant. Times are unix milliseconds (`i64`), passed in by the caller so tests control
//! the clock.

pub mod alerts;
pub mod audit;
pub mod changes;
pub mod dashboard;
pub mod delivery;
pub mod forwarding;
pub mod imports;
pub mod leads;
pub mod login_failures;
pub mod metrics;
pub mod planner;
pub mod routing;
pub mod sessions;
pub mod tables;
pub mod tokens;
pub mod upkeep;
pub mod users;
pub mod webhooks;
pub mod workspaces;

use crate::config::DatabaseUrl;
use sqlx::{
    ConnectOptions, PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use std::{str::FromStr, time::Duration};

/// The page size of a new SQLite database (a file that exists keeps its own).
pub const PAGE_SIZE: u32 = 16 * 1024;

/// When an SQLite statement is logged as slow.
const SLOW_STATEMENT: Duration = Duration::from_secs(3);

/// Page cache of each of the shared pool's eight connections (SQLite's default is 2 MB). Their
/// statements read a few pages each, or pass over many once (an export, queueing an import),
/// which a larger cache does not speed up; and a connection's cache lives as long as it does, so
/// 64 MB each could add up to 512 MB. The dashboard's counts at 1,000,000 leads take ~25% longer
/// than with 64 MB (docs/BENCHMARKS.md).
const SHARED_CACHE_KIB: u32 = 8 * 1024;

/// Page cache of a connection of its own (`Db::dedicated`: an import's writer, the delivery
/// worker): an import's dedupe index is written at random places, and a small cache turns that
/// into reads.
const DEDICATED_CACHE_KIB: u32 = 64 * 1024;

/// SQLite's `cache_size` in KiB (a negative value), rather than in pages.
fn cache_size(kib: u32) -> String {
    format!("-{kib}")
}

/// A connection pool to Kiln's database.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, once per database; the body is the same
/// text, compiled for each driver.
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_db;

/// A transaction on either database, for work that spans several calls (an import's batches).
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the open transaction, whichever database it is on.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite($conn) => $body,
            $crate::store::Tx::Postgres($conn) => $body,
        }
    };
}
pub(crate) use on_tx;

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        on_tx!(self, tx => tx.commit().await)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot open the database {url}: {source}")]
    Open { url: DatabaseUrl, source: sqlx::Error },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Db {
    /// Opens the database (creating an SQLite file if missing) and applies pending migrations.
    pub async fn connect(url: &DatabaseUrl) -> Result<Db, ConnectError> {
        let open = |source| ConnectError::Open { url: url.clone(), source };
        let db = match url {
            DatabaseUrl::Sqlite(raw) => {
                let options = SqliteConnectOptions::from_str(raw)
                    .map_err(open)?
                    .create_if_missing(true)
                    // WAL lets readers run beside the one writer; NORMAL sync in WAL mode loses
                    // nothing on a process crash (only on power loss can the last commits vanish).
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // 16 KB pages (SQLite's default is 4 KB) for a new file: a lead's row is about
                    // 450 bytes, and an import appends hundreds of thousands of them, then rewrites
                    // them all once to queue them. 1,000,000 rows through the API: 8.6–8.9 s with
                    // 4 KB pages, 6.6–6.7 s with 16 KB, delivery unchanged (docs/BENCHMARKS.md).
                    // Larger pages were faster still, but 32 KB came near the 200 MB memory target
                    // (193 MB) and 64 KB passed it. A file that has tables keeps its page size (only
                    // a VACUUM outside WAL mode changes it): README says how to convert one.
                    .page_size(PAGE_SIZE)
                    .pragma("cache_size", cache_size(SHARED_CACHE_KIB))
                    // A statement's time includes waiting for the write lock, which an import
                    // holds for up to a second at a time by design (`ingest::COMMIT_AFTER`):
                    // sqlx's 1-s default would log every such wait as a slow statement.
                    .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
                let pool = sqlite_pool(8).connect_with(options).await.map_err(open)?;
                Db::Sqlite(pool)
            }
            DatabaseUrl::Postgres(raw) => {
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(raw)
                    .await
                    .map_err(open)?;
                Db::Postgres(pool)
            }
        };
        db.migrate().await?;
        let hashed = leads::hash_plain_dedupe_keys(&db).await.map_err(open)?;
        if hashed > 0 {
            tracing::info!(leads = hashed, "dedupe keys of earlier leads replaced by their hashes");
        }
        Ok(db)
    }

    async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("../migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("../migrations/postgres").run(pool).await,
        }
    }

    /// A pool of its own to the same database, for the delivery worker and for each import's
    /// writer: with one SQLite connection, every statement of its user finds the page cache warm
    /// (a connection drops its cache whenever another one wrote) and never queues behind page
    /// requests. Its connections get the larger page cache.
    pub async fn dedicated(&self, connections: u32) -> Result<Db, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => {
                let options =
                    pool.connect_options().as_ref().clone().pragma("cache_size", cache_size(DEDICATED_CACHE_KIB));
                Db::Sqlite(sqlite_pool(connections).connect_with(options).await?)
            }
            Db::Postgres(pool) => Db::Postgres(
                PgPoolOptions::new()
                    .max_connections(connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(pool.connect_options().as_ref().clone())
                    .await?,
            ),
        })
    }

    /// How an `UPDATE` of many leads begins inside a transaction. SQLite keeps a statement
    /// journal for a statement that changes several rows and could abort half-way (as any
    /// `UPDATE` of a table with NOT NULL columns could), so as to undo only that statement: a
    /// copy of every page it changes, written to a temporary file before the change. `OR IGNORE`
    /// lets no row abort it, so no journal is kept (queueing an import of 891,222 leads:
    /// docs/BENCHMARKS.md). The updates that use it change no unique column and set no NULL, so
    /// they skip no row.
    pub fn update_many(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "UPDATE OR IGNORE",
            Db::Postgres(_) => "UPDATE",
        }
    }

    /// Begins a transaction that the caller commits (or drops, to roll it back).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes the pool's connections and hands the memory of their page caches back to the
    /// operating system.
    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await);
        return_freed_memory();
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop))
    }
}

/// SQLite takes its page cache from the C allocator, and glibc keeps what a thread frees in that
/// thread's arena for the arena's next use. Each SQLite connection runs on a thread of its own,
/// so a closed import connection left its page cache (up to 64 MB) behind, and the next import's
/// connection, on another arena, took as much again: four 1,000,000-row imports in one server
/// left it at 212 MB when idle (docs/BENCHMARKS.md). `malloc_trim` hands the free pages of every
/// arena back.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_freed_memory() {
    // SAFETY: malloc_trim only releases memory that glibc holds free; no live allocation moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory() {}

/// A local file does not drop connections: checking each one before use (sqlx's default) would
/// add a round trip to every transaction of the delivery worker.
fn sqlite_pool(connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new().max_connections(connections).test_before_acquire(false)
}

/// Whether an insert failed on a unique constraint (the caller turns it into a 409/422).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// The current time in unix milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn page_size(db: &Db) -> i64 {
        let Db::Sqlite(pool) = db else { panic!("an SQLite database") };
        sqlx::query_scalar("PRAGMA page_size").fetch_one(pool).await.unwrap()
    }

    #[tokio::test]
    async fn a_new_sqlite_file_gets_large_pages_and_one_that_exists_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| DatabaseUrl::Sqlite(format!("sqlite://{}", dir.path().join(name).display()));

        let new = Db::connect(&url("new.db")).await.unwrap();
        assert_eq!(page_size(&new).await, i64::from(PAGE_SIZE));

        // A file made before Kiln chose its page size: SQLite's 4 KB, in WAL mode.
        let old_url = url("old.db");
        let options = SqliteConnectOptions::from_str(old_url.as_str())
            .unwrap()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let old = SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("CREATE TABLE earlier (id INTEGER PRIMARY KEY)").execute(&old).await.unwrap();
        old.close().await;
        let old = Db::connect(&old_url).await.unwrap();
        assert_eq!(page_size(&old).await, 4096);
        old.ping().await.unwrap();
    }

    #[tokio::test]
    async fn the_shared_pool_has_a_small_page_cache_and_a_dedicated_one_the_large_cache() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(format!("sqlite://{}", dir.path().join("kiln.db").display()));
        let cache_kib = |db: Db| async move {
            let Db::Sqlite(pool) = db else { panic!("an SQLite database") };
            -sqlx::query_scalar::<_, i64>("PRAGMA cache_size").fetch_one(&pool).await.unwrap()
        };

        let shared = Db::connect(&url).await.unwrap();
        let dedicated = shared.dedicated(1).await.unwrap();
        assert_eq!(cache_kib(dedicated).await, i64::from(DEDICATED_CACHE_KIB));
        assert_eq!(cache_kib(shared).await, i64::from(SHARED_CACHE_KIB));
    }
}
