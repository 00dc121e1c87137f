//! Clay webhook sources of tables. URLs and auth tokens are secrets (`crate::secret::Secret`).

use super::{Db, on_db};
use crate::secret::Secret;
use app::domain::WebhookState;

/// A webhook as the server holds it, secrets included.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: i64,
    pub table_id: i64,
    #[sqlx(try_from = "String")]
    pub url: Secret,
    pub auth_token: Option<String>,
    pub lifetime_cap: i64,
    pub safety_margin: i64,
    pub used: i64,
    #[sqlx(try_from = "String")]
    pub state: WebhookState,
    pub created_at: i64,
}

impl WebhookRecord {
    pub fn auth_token(&self) -> Option<Secret> {
        self.auth_token.clone().map(Secret::new)
    }
}

const COLUMNS: &str = "id, table_id, url, auth_token, lifetime_cap, safety_margin, used, state, created_at";

pub struct Fields<'a> {
    pub table_id: i64,
    pub url: &'a Secret,
    pub auth_token: Option<&'a Secret>,
    pub lifetime_cap: u64,
    pub safety_margin: u64,
    pub used: u64,
}

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub async fn insert(db: &Db, fields: &Fields<'_>, now: i64) -> Result<WebhookRecord, sqlx::Error> {
    let sql = format!(
        "INSERT INTO webhooks (table_id, url, auth_token, lifetime_cap, safety_margin, used, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7) RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(fields.table_id)
        .bind(fields.url.expose())
        .bind(fields.auth_token.map(Secret::expose))
        .bind(count(fields.lifetime_cap))
        .bind(count(fields.safety_margin))
        .bind(count(fields.used))
        .bind(now)
        .fetch_one(pool)
        .await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<WebhookRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Webhooks of one table, or of all tables, in rotation order (oldest first).
pub async fn list(db: &Db, table_id: Option<i64>) -> Result<Vec<WebhookRecord>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM webhooks WHERE ($1 IS NULL OR table_id = $1) ORDER BY table_id, id");
    on_db!(db, pool => sqlx::query_as(&sql).bind(table_id).fetch_all(pool).await)
}

/// Changes what a person may change: the count already used (a webhook used elsewhere), its
/// limits and its state. Without a new count, the count stays the one the worker keeps raising:
/// writing back the count read before would undo the sends counted meanwhile.
pub async fn update(
    db: &Db,
    id: i64,
    lifetime_cap: u64,
    safety_margin: u64,
    used: Option<u64>,
    state: WebhookState,
) -> Result<Option<WebhookRecord>, sqlx::Error> {
    let sql = format!(
        "UPDATE webhooks SET lifetime_cap = $2, safety_margin = $3, used = COALESCE($4, used), state = $5
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(id)
        .bind(count(lifetime_cap))
        .bind(count(safety_margin))
        .bind(used.map(count))
        .bind(state.as_str())
        .fetch_optional(pool)
        .await)
}
