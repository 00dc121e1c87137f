//! Team members who sign in to the browser.

use super::{Db, on_db};
use app::domain::{Role, UserSummary};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

impl From<UserRecord> for UserSummary {
    fn from(user: UserRecord) -> Self {
        UserSummary {
            id: user.id,
            email: user.email,
            role: user.role,
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

const COLUMNS: &str = "id, email, password_hash, role, disabled, created_at";

pub async fn any_exist(db: &Db) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> =
        on_db!(db, pool => sqlx::query_as("SELECT id FROM users LIMIT 1").fetch_optional(pool).await)?;
    Ok(row.is_some())
}

/// Creates the first admin, but only while no user exists: `None` once somebody got there first.
pub async fn insert_first_admin(
    db: &Db,
    email: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let sql = "INSERT INTO users (email, password_hash, role, created_at)
               SELECT $1, $2, 'admin', $3 WHERE NOT EXISTS (SELECT 1 FROM users)
               RETURNING id";
    match db {
        // SQLite runs one writer at a time, so the NOT EXISTS check and the insert cannot interleave.
        Db::Sqlite(pool) => {
            let row: Option<(i64,)> =
                sqlx::query_as(sql).bind(email).bind(password_hash).bind(now).fetch_optional(pool).await?;
            Ok(row.map(|(id,)| id))
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            sqlx::query("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
            let row: Option<(i64,)> =
                sqlx::query_as(sql).bind(email).bind(password_hash).bind(now).fetch_optional(&mut *tx).await?;
            tx.commit().await?;
            Ok(row.map(|(id,)| id))
        }
    }
}

pub async fn insert(
    db: &Db,
    email: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<UserRecord, sqlx::Error> {
    let sql = format!(
        "INSERT INTO users (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(email)
        .bind(password_hash)
        .bind(role.as_str())
        .bind(now)
        .fetch_one(pool)
        .await)
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(email).fetch_optional(pool).await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<UserRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn list(db: &Db) -> Result<Vec<UserRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY email");
    on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
}

#[derive(Debug, PartialEq, Eq)]
pub enum UpdateOutcome {
    Updated,
    NotFound,
    /// Refused: it would leave the team without an active admin.
    LastAdmin,
}

/// Changes a user's role and whether they may sign in, unless that would leave no active admin.
pub async fn update(db: &Db, id: i64, role: Role, disabled: bool) -> Result<UpdateOutcome, sqlx::Error> {
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query("UPDATE users SET role = $2, disabled = $3 WHERE id = $1")
            .bind(id)
            .bind(role.as_str())
            .bind(disabled)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(UpdateOutcome::NotFound);
        }
        let (admins,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE")
                .fetch_one(&mut *tx)
                .await?;
        if admins == 0 {
            tx.rollback().await?;
            return Ok(UpdateOutcome::LastAdmin);
        }
        tx.commit().await?;
        Ok(UpdateOutcome::Updated)
    })
}
