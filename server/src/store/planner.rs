//! The plan catalog and saved planner scenarios.

use super::{Db, on_db};
use app::planner::{Plan, SavedScenario};

#[derive(sqlx::FromRow)]
struct PlanRow {
    key: String,
    name: String,
    legacy: bool,
    monthly_price: Option<f64>,
    annual_monthly_price: Option<f64>,
    actions: Option<i64>,
    data_credits: i64,
    max_actions: Option<i64>,
    max_data_credits: i64,
    extra_actions_price_per_1k: f64,
    extra_credits_price_per_1k: f64,
    rollover_multiple: f64,
}

fn count(value: i64) -> u64 {
    value.max(0) as u64
}

fn column(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl From<PlanRow> for Plan {
    fn from(row: PlanRow) -> Self {
        Plan {
            key: row.key,
            name: row.name,
            legacy: row.legacy,
            monthly_price: row.monthly_price,
            annual_monthly_price: row.annual_monthly_price,
            actions: row.actions.map(count),
            data_credits: count(row.data_credits),
            max_actions: row.max_actions.map(count),
            max_data_credits: count(row.max_data_credits),
            extra_actions_price_per_1k: row.extra_actions_price_per_1k,
            extra_credits_price_per_1k: row.extra_credits_price_per_1k,
            rollover_multiple: row.rollover_multiple,
        }
    }
}

const PLAN_COLUMNS: &str = "key, name, legacy, monthly_price, annual_monthly_price, actions, data_credits, max_actions,
    max_data_credits, extra_actions_price_per_1k, extra_credits_price_per_1k, rollover_multiple";

/// Adds the plans Kiln knows by default that the catalog lacks; plans already there (perhaps
/// edited by an admin) are left alone.
pub async fn seed_catalog(db: &Db, plans: &[Plan], now: i64) -> Result<(), sqlx::Error> {
    let sql = format!(
        "INSERT INTO plans (position, updated_at, updated_by, {PLAN_COLUMNS})
         VALUES ($1, $2, 'kiln', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (key) DO NOTHING"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (position, plan) in plans.iter().enumerate() {
            sqlx::query(&sql)
                .bind(position as i64)
                .bind(now)
                .bind(&plan.key)
                .bind(&plan.name)
                .bind(plan.legacy)
                .bind(plan.monthly_price)
                .bind(plan.annual_monthly_price)
                .bind(plan.actions.map(column))
                .bind(column(plan.data_credits))
                .bind(plan.max_actions.map(column))
                .bind(column(plan.max_data_credits))
                .bind(plan.extra_actions_price_per_1k)
                .bind(plan.extra_credits_price_per_1k)
                .bind(plan.rollover_multiple)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

pub async fn catalog(db: &Db) -> Result<Vec<Plan>, sqlx::Error> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans ORDER BY position, key");
    let rows: Vec<PlanRow> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Plan::from).collect())
}

/// Replaces a plan's figures; `false` when no plan has that key.
pub async fn update_plan(db: &Db, plan: &Plan, actor: &str, now: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE plans SET name = $2, legacy = $3, monthly_price = $4, annual_monthly_price = $5, actions = $6,
                   data_credits = $7, max_actions = $8, max_data_credits = $9, extra_actions_price_per_1k = $10,
                   extra_credits_price_per_1k = $11, rollover_multiple = $12, updated_at = $13, updated_by = $14
               WHERE key = $1";
    let changed = on_db!(db, pool => sqlx::query(sql)
        .bind(&plan.key)
        .bind(&plan.name)
        .bind(plan.legacy)
        .bind(plan.monthly_price)
        .bind(plan.annual_monthly_price)
        .bind(plan.actions.map(column))
        .bind(column(plan.data_credits))
        .bind(plan.max_actions.map(column))
        .bind(column(plan.max_data_credits))
        .bind(plan.extra_actions_price_per_1k)
        .bind(plan.extra_credits_price_per_1k)
        .bind(plan.rollover_multiple)
        .bind(now)
        .bind(actor)
        .execute(pool)
        .await
        .map(|done| done.rows_affected()))?;
    Ok(changed == 1)
}

const SCENARIO_COLUMNS: &str = "id, name, query, saved_by, saved_at";

#[derive(sqlx::FromRow)]
struct ScenarioRow {
    id: i64,
    name: String,
    query: String,
    saved_by: String,
    saved_at: i64,
}

impl From<ScenarioRow> for SavedScenario {
    fn from(row: ScenarioRow) -> Self {
        SavedScenario { id: row.id, name: row.name, query: row.query, saved_by: row.saved_by, saved_at: row.saved_at }
    }
}

pub async fn scenarios(db: &Db) -> Result<Vec<SavedScenario>, sqlx::Error> {
    let sql = format!("SELECT {SCENARIO_COLUMNS} FROM scenarios ORDER BY name");
    let rows: Vec<ScenarioRow> = on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Saves a scenario under `name`, replacing one saved under the same name.
pub async fn save_scenario(
    db: &Db,
    name: &str,
    query: &str,
    actor: &str,
    now: i64,
) -> Result<SavedScenario, sqlx::Error> {
    let sql = format!(
        "INSERT INTO scenarios (name, query, saved_by, saved_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET query = excluded.query, saved_by = excluded.saved_by, saved_at = excluded.saved_at
         RETURNING {SCENARIO_COLUMNS}"
    );
    let row: ScenarioRow =
        on_db!(db, pool => sqlx::query_as(&sql).bind(name).bind(query).bind(actor).bind(now).fetch_one(pool).await)?;
    Ok(row.into())
}
