//! Stream-through: enriched leads on their way to their table's destination. A lead enters
//! (`forward_state = 'queued'`) when Clay calls back for it and its table forwards; it leaves
//! forwarded (and, if the table says so, purged of its personal fields) or dead. Same lease and
//! retry rules as the delivery to Clay.

use super::{Db, delivery::ids_in, on_db};
use crate::{delivery::policy::Verdict, secret::Secret};
use serde_json::{Map, Value};

/// An enriched lead claimed for forwarding.
#[derive(Debug, Clone)]
pub struct Forward {
    pub lead_id: i64,
    pub table_id: i64,
    pub url: Secret,
    pub authorization: Option<Secret>,
    /// The lead's fields, what Clay added, and `kiln_id`.
    pub body: String,
    pub attempts: u32,
    pub purge: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    import_id: i64,
    table_id: Option<i64>,
    forward_attempts: i64,
    payload: String,
    enrichment: Option<String>,
    credits_used: Option<f64>,
    forward_url: Option<String>,
    forward_auth: Option<String>,
    purge_after_forward: Option<bool>,
}

/// The forwarded object: `kiln_id` and `import_id`, the lead as sent to Clay, then what Clay
/// added (Clay's value wins a name both have: it is the newer) and the credits it used.
fn body(row: &Row) -> String {
    let mut object = Map::new();
    object.insert("kiln_id".into(), Value::String(row.id.to_string()));
    object.insert("import_id".into(), Value::from(row.import_id));
    let parse = |json: &str| serde_json::from_str::<Map<String, Value>>(json).unwrap_or_default();
    object.extend(parse(&row.payload));
    object.extend(row.enrichment.as_deref().map(parse).unwrap_or_default());
    if let Some(credits) = row.credits_used {
        object.insert("credits_used".into(), Value::from(credits));
    }
    Value::Object(object).to_string()
}

/// Forwards whose lease passed (their process died) are sent again.
pub async fn release_expired_leases(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "UPDATE leads SET forward_state = 'queued', forward_lease_until = NULL
         WHERE forward_state = 'in_flight' AND forward_lease_until <= $1",
    )
    .bind(now)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}

/// The earliest retry of a forward, for the worker's nap.
pub async fn next_due(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    let (at,): (Option<i64>,) = on_db!(db, pool => sqlx::query_as(
        "SELECT MIN(forward_next_at) FROM leads WHERE forward_state IN ('queued', 'retrying')",
    )
    .fetch_one(pool)
    .await)?;
    Ok(at)
}

/// Claims up to `limit` forwards that are due, oldest first, until `now + lease_ms`.
pub async fn claim(db: &Db, limit: u32, now: i64, lease_ms: i64) -> Result<Vec<Forward>, sqlx::Error> {
    let lock = match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    // One statement picks and takes them, so two workers never take the same forward.
    let take = format!(
        "UPDATE leads SET forward_state = 'in_flight', forward_lease_until = $3
         WHERE id IN (SELECT id FROM leads WHERE forward_state IN ('queued', 'retrying') AND forward_next_at <= $1
                      ORDER BY forward_next_at, id LIMIT $2{lock})
         RETURNING id"
    );
    let taken: Vec<(i64,)> = on_db!(db, pool => sqlx::query_as(&take)
        .bind(now)
        .bind(i64::from(limit))
        .bind(now + lease_ms)
        .fetch_all(pool)
        .await)?;
    if taken.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = taken.into_iter().map(|(id,)| id).collect();
    let rows: Vec<Row> = on_db!(db, pool => sqlx::query_as(&format!(
        "SELECT l.id, l.import_id, l.table_id, l.forward_attempts, l.payload, l.enrichment, l.credits_used,
                t.forward_url, t.forward_auth, t.purge_after_forward
         FROM leads l LEFT JOIN clay_tables t ON t.id = l.table_id WHERE {} ORDER BY l.id",
        ids_in("l.id", &ids)
    ))
    .fetch_all(pool)
    .await)?;
    let mut forwards = Vec::with_capacity(rows.len());
    let mut orphans = Vec::new();
    for row in rows {
        let (Some(table_id), Some(url)) = (row.table_id, row.forward_url.clone()) else {
            orphans.push(row.id);
            continue;
        };
        forwards.push(Forward {
            lead_id: row.id,
            table_id,
            url: Secret::new(url),
            authorization: row.forward_auth.clone().map(Secret::new),
            body: body(&row),
            attempts: u32::try_from(row.forward_attempts).unwrap_or(u32::MAX),
            purge: row.purge_after_forward.unwrap_or(false),
        });
    }
    if !orphans.is_empty() {
        // The table stopped forwarding after these were queued.
        on_db!(db, pool => sqlx::query(&format!(
            "UPDATE leads SET forward_state = NULL, forward_lease_until = NULL WHERE {}",
            ids_in("id", &orphans)
        ))
        .execute(pool)
        .await
        .map(drop))?;
    }
    Ok(forwards)
}

/// Records what the destinations answered, in one transaction. A forwarded lead of a table
/// that purges keeps its ids, dedupe hash, states and credits; its fields are erased.
pub async fn record(db: &Db, results: &[(Forward, Verdict)], now: i64) -> Result<(), sqlx::Error> {
    if results.is_empty() {
        return Ok(());
    }
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        for (forward, verdict) in results {
            let (state, next, counts, error) = match verdict {
                Verdict::Delivered { .. } => ("forwarded", 0, false, None),
                Verdict::Retry { at, counts, reason, .. } => ("retrying", *at, *counts, Some(reason.as_str())),
                // `judge_forward` makes a refusal dead: a destination has no next webhook.
                Verdict::Dead { reason, .. } | Verdict::WebhookRefused { reason, .. } => ("dead", 0, true, Some(reason.as_str())),
            };
            sqlx::query(
                "UPDATE leads SET forward_state = $2, forward_next_at = $3, forward_attempts = forward_attempts + $4,
                     forward_error = $5, forward_lease_until = NULL,
                     forwarded_at = CASE WHEN $2 = 'forwarded' THEN $6 ELSE forwarded_at END
                 WHERE id = $1 AND forward_state = 'in_flight'",
            )
            .bind(forward.lead_id)
            .bind(state)
            .bind(next)
            .bind(i64::from(counts))
            .bind(error)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        let purged: Vec<i64> = results
            .iter()
            .filter(|(forward, verdict)| forward.purge && matches!(verdict, Verdict::Delivered { .. }))
            .map(|(forward, _)| forward.lead_id)
            .collect();
        if !purged.is_empty() {
            sqlx::query(&format!(
                "UPDATE leads SET payload = '{{}}', enrichment = NULL, last_error = NULL, purged_at = $1
                 WHERE forward_state = 'forwarded' AND {}",
                ids_in("id", &purged)
            ))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    })
}

/// A table's forwards that gave up: how many, and the reason of the newest (by lead).
pub async fn dead(db: &Db, table_id: i64) -> Result<(u64, Option<String>), sqlx::Error> {
    let (count, last): (i64, Option<String>) = on_db!(db, pool => sqlx::query_as(
        "SELECT COUNT(*), (SELECT forward_error FROM leads WHERE table_id = $1 AND forward_state = 'dead' ORDER BY id DESC LIMIT 1)
         FROM leads WHERE table_id = $1 AND forward_state = 'dead'",
    )
    .bind(table_id)
    .fetch_one(pool)
    .await)?;
    Ok((u64::try_from(count).unwrap_or(0), last))
}

/// A table's dead forwards get a fresh set of attempts, due at once (whatever a worker's clock).
pub async fn requeue_dead(db: &Db, table_id: i64) -> Result<u64, sqlx::Error> {
    on_db!(db, pool => sqlx::query(
        "UPDATE leads SET forward_state = 'queued', forward_attempts = 0, forward_next_at = 0, forward_error = NULL
         WHERE table_id = $1 AND forward_state = 'dead'",
    )
    .bind(table_id)
    .execute(pool)
    .await
    .map(|done| done.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarded_object_has_the_lead_then_clay_s_fields() {
        let row = Row {
            id: 7,
            import_id: 3,
            table_id: Some(1),
            forward_attempts: 0,
            payload: r#"{"email":"a@b.co","title":"old"}"#.into(),
            enrichment: Some(r#"{"title":"CTO","company_size":40}"#.into()),
            credits_used: Some(4.5),
            forward_url: Some("https://crm.example.com/in".into()),
            forward_auth: None,
            purge_after_forward: Some(true),
        };
        let body: Value = serde_json::from_str(&body(&row)).unwrap();
        assert_eq!(body["kiln_id"], "7");
        assert_eq!(body["import_id"], 3);
        assert_eq!(body["email"], "a@b.co");
        assert_eq!(body["title"], "CTO");
        assert_eq!(body["company_size"], 40);
        assert_eq!(body["credits_used"], 4.5);
    }
}
