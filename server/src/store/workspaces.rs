//! Clay workspaces.

use super::{Db, on_db};
use app::domain::Workspace;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    rate_per_sec: f64,
    burst: i64,
    plan_key: Option<String>,
    monthly_credit_budget: Option<i64>,
    monthly_action_budget: Option<i64>,
    budget_day: i64,
    fallback_table_id: Option<i64>,
    demo: bool,
    created_at: i64,
}

impl From<Row> for Workspace {
    fn from(r: Row) -> Self {
        Workspace {
            id: r.id,
            name: r.name,
            rate_per_sec: r.rate_per_sec,
            burst: u32::try_from(r.burst).unwrap_or(u32::MAX),
            plan_key: r.plan_key,
            monthly_credit_budget: r.monthly_credit_budget.map(|v| v.max(0) as u64),
            monthly_action_budget: r.monthly_action_budget.map(|v| v.max(0) as u64),
            budget_day: u8::try_from(r.budget_day).unwrap_or(1),
            fallback_table_id: r.fallback_table_id,
            demo: r.demo,
            created_at: r.created_at,
        }
    }
}

const COLUMNS: &str =
    "id, name, rate_per_sec, burst, plan_key, monthly_credit_budget, monthly_action_budget, budget_day,
    fallback_table_id, demo, created_at";

/// The fields a workspace is created or updated with, already validated.
pub struct Fields<'a> {
    pub name: &'a str,
    pub rate_per_sec: f64,
    pub burst: u32,
    pub plan_key: Option<&'a str>,
    pub monthly_credit_budget: Option<u64>,
    pub monthly_action_budget: Option<u64>,
    pub budget_day: u8,
}

fn count(value: Option<u64>) -> Option<i64> {
    value.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

pub async fn insert(db: &Db, fields: &Fields<'_>, demo: bool, now: i64) -> Result<Workspace, sqlx::Error> {
    let sql = format!(
        "INSERT INTO workspaces (name, rate_per_sec, burst, plan_key, monthly_credit_budget, monthly_action_budget,
             budget_day, demo, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    );
    let row: Row = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(fields.name)
        .bind(fields.rate_per_sec)
        .bind(i64::from(fields.burst))
        .bind(fields.plan_key)
        .bind(count(fields.monthly_credit_budget))
        .bind(count(fields.monthly_action_budget))
        .bind(i64::from(fields.budget_day))
        .bind(demo)
        .bind(now)
        .fetch_one(pool)
        .await)?;
    Ok(row.into())
}

pub async fn update(db: &Db, id: i64, fields: &Fields<'_>) -> Result<Option<Workspace>, sqlx::Error> {
    let sql = format!(
        "UPDATE workspaces SET name = $2, rate_per_sec = $3, burst = $4, plan_key = $5, monthly_credit_budget = $6,
             monthly_action_budget = $7, budget_day = $8
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql)
        .bind(id)
        .bind(fields.name)
        .bind(fields.rate_per_sec)
        .bind(i64::from(fields.burst))
        .bind(fields.plan_key)
        .bind(count(fields.monthly_credit_budget))
        .bind(count(fields.monthly_action_budget))
        .bind(i64::from(fields.budget_day))
        .fetch_optional(pool)
        .await)?;
    Ok(row.map(Into::into))
}

pub async fn find(db: &Db, id: i64) -> Result<Option<Workspace>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces WHERE id = $1");
    let row: Option<Row> = on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
    Ok(row.map(Into::into))
}

pub async fn list(db: &Db) -> Result<Vec<Workspace>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM workspaces ORDER BY demo, name");
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}
