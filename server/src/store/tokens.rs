//! API tokens for `/api/v1`. Only a SHA-256 of each secret is stored.

use super::{Db, on_db};
use app::domain::{Role, TokenSummary};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl From<TokenRecord> for TokenSummary {
    fn from(token: TokenRecord) -> Self {
        TokenSummary {
            id: token.id,
            name: token.name,
            role: token.role,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, name, role, created_by, created_at, last_used_at, revoked_at";

pub async fn insert(
    db: &Db,
    name: &str,
    role: Role,
    token_hash: &str,
    created_by: &str,
    now: i64,
) -> Result<TokenRecord, sqlx::Error> {
    let sql = format!(
        "INSERT INTO api_tokens (name, role, token_hash, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(name)
        .bind(role.as_str())
        .bind(token_hash)
        .bind(created_by)
        .bind(now)
        .fetch_one(pool)
        .await)
}

pub async fn find_active_by_hash(db: &Db, token_hash: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
    on_db!(db, pool => sqlx::query_as(&sql).bind(token_hash).fetch_optional(pool).await)
}

/// Records use, at most once a minute per token, so busy automations do not write on every call.
pub async fn touch(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(id)
    .bind(now)
    .bind(now - 60_000)
    .execute(pool)
    .await
    .map(drop))
}

pub async fn list(db: &Db) -> Result<Vec<TokenRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens ORDER BY revoked_at IS NOT NULL, name, id");
    on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
}

/// Revokes an active token by id or, failing that, by name. Returns the token revoked.
pub async fn revoke(db: &Db, id_or_name: &str, now: i64) -> Result<Option<TokenRecord>, sqlx::Error> {
    let id = id_or_name.parse::<i64>().ok();
    let sql = format!(
        "UPDATE api_tokens SET revoked_at = $3
         WHERE revoked_at IS NULL AND (id = $1 OR ($1 IS NULL AND name = $2))
         RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).bind(id_or_name).bind(now).fetch_optional(pool).await)
}
