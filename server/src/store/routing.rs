//! A workspace's routing rules and what happens to rows no rule takes.

use super::{Db, on_db};
use app::ingest::{Condition, Rule};

#[derive(sqlx::FromRow)]
struct Row {
    column_name: String,
    condition: String,
    table_id: i64,
}

pub async fn rules(db: &Db, workspace_id: i64) -> Result<Vec<Rule>, sqlx::Error> {
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(
        "SELECT column_name, condition, table_id FROM routing_rules WHERE workspace_id = $1 ORDER BY position",
    )
    .bind(workspace_id)
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|row| {
            let condition: Condition =
                serde_json::from_str(&row.condition).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(Rule { column: row.column_name, condition, table_id: row.table_id })
        })
        .collect()
}

/// Replaces the workspace's rules and fallback in one transaction.
pub async fn replace(
    db: &Db,
    workspace_id: i64,
    rules: &[Rule],
    fallback_table_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    let encoded: Vec<String> = rules
        .iter()
        .map(|rule| serde_json::to_string(&rule.condition).map_err(|e| sqlx::Error::Encode(Box::new(e))))
        .collect::<Result<_, _>>()?;
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM routing_rules WHERE workspace_id = $1").bind(workspace_id).execute(&mut *tx).await?;
        for (position, (rule, condition)) in rules.iter().zip(&encoded).enumerate() {
            sqlx::query(
                "INSERT INTO routing_rules (workspace_id, position, column_name, condition, table_id)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(workspace_id)
            .bind(position as i64)
            .bind(&rule.column)
            .bind(condition)
            .bind(rule.table_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE workspaces SET fallback_table_id = $2 WHERE id = $1")
            .bind(workspace_id)
            .bind(fallback_table_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    })
}
