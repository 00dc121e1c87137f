//! Clay tables, each in one workspace.

use super::{Db, on_db};
use app::domain::ClayTable;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    workspace_id: i64,
    name: String,
    credits_per_lead: f64,
    actions_per_lead: f64,
    scenario_id: Option<i64>,
    created_at: i64,
}

impl From<Row> for ClayTable {
    fn from(r: Row) -> Self {
        ClayTable {
            id: r.id,
            workspace_id: r.workspace_id,
            name: r.name,
            credits_per_lead: r.credits_per_lead,
            actions_per_lead: r.actions_per_lead,
            scenario_id: r.scenario_id,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str = "id, workspace_id, name, credits_per_lead, actions_per_lead, scenario_id, created_at";

/// What a table is expected to cost per lead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub credits: f64,
    pub actions: f64,
}

pub async fn insert(
    db: &Db,
    workspace_id: i64,
    name: &str,
    estimate: Estimate,
    scenario_id: Option<i64>,
    now: i64,
) -> Result<ClayTable, sqlx::Error> {
    let sql = format!(
        "INSERT INTO clay_tables (workspace_id, name, credits_per_lead, actions_per_lead, scenario_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
    );
    let row: Row = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(workspace_id)
        .bind(name)
        .bind(estimate.credits)
        .bind(estimate.actions)
        .bind(scenario_id)
        .bind(now)
        .fetch_one(pool)
        .await)?;
    Ok(row.into())
}

pub async fn update(
    db: &Db,
    id: i64,
    name: &str,
    estimate: Estimate,
    scenario_id: Option<i64>,
) -> Result<Option<ClayTable>, sqlx::Error> {
    let sql = format!(
        "UPDATE clay_tables SET name = $2, credits_per_lead = $3, actions_per_lead = $4, scenario_id = $5
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(id)
        .bind(name)
        .bind(estimate.credits)
        .bind(estimate.actions)
        .bind(scenario_id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(Into::into))
}

pub async fn find(db: &Db, id: i64) -> Result<Option<ClayTable>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM clay_tables WHERE id = $1");
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(Into::into))
}

pub async fn list(db: &Db, workspace_id: Option<i64>) -> Result<Vec<ClayTable>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM clay_tables WHERE ($1 IS NULL OR workspace_id = $1) ORDER BY workspace_id, name"
    );
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(workspace_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The token Clay's HTTP API column sends back with each callback to this table, made on first
/// use. `None` when the table does not exist.
pub async fn callback_token(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let fresh = crate::auth::tokens::generate();
    on_db!(db, pool => sqlx::query("UPDATE clay_tables SET callback_token = $2 WHERE id = $1 AND callback_token IS NULL")
        .bind(id)
        .bind(&fresh)
        .execute(pool)
        .await
        .map(drop))?;
    let row: Option<(Option<String>,)> = on_db!(db, pool => sqlx::query_as("SELECT callback_token FROM clay_tables WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await)?;
    Ok(row.and_then(|(token,)| token))
}

/// Replaces the table's callback token; the old one stops working at once.
pub async fn rotate_callback_token(db: &Db, id: i64) -> Result<Option<String>, sqlx::Error> {
    let fresh = crate::auth::tokens::generate();
    let changed = on_db!(db, pool => sqlx::query("UPDATE clay_tables SET callback_token = $2 WHERE id = $1")
        .bind(id)
        .bind(&fresh)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok((changed == 1).then_some(fresh))
}

/// What happens to a table's leads after Clay: the "no callback" deadline and stream-through.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AfterClay {
    pub callback_timeout_mins: i64,
    pub forward_url: Option<String>,
    pub forward_auth: Option<String>,
    pub purge_after_forward: bool,
}

pub async fn after_clay(db: &Db, id: i64) -> Result<Option<AfterClay>, sqlx::Error> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT callback_timeout_mins, forward_url, forward_auth, purge_after_forward FROM clay_tables WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await)
}

pub async fn set_after_clay(db: &Db, id: i64, settings: &AfterClay) -> Result<bool, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "UPDATE clay_tables SET callback_timeout_mins = $2, forward_url = $3, forward_auth = $4, purge_after_forward = $5
         WHERE id = $1",
    )
    .bind(id)
    .bind(settings.callback_timeout_mins)
    .bind(settings.forward_url.as_deref())
    .bind(settings.forward_auth.as_deref())
    .bind(settings.purge_after_forward)
    .execute(pool)
    .await
    .map(|done| done.rows_affected() == 1))
}
