//! The demo workspace: on first run (no workspace yet) Kiln makes one whose table sends to the
//! built-in sandbox, so a new user can drop a CSV and watch paced sending, callbacks and
//! credits without a Clay account.

use crate::{
    secret::Secret,
    store::{self, Db, on_db},
};
use std::net::SocketAddr;

pub const WORKSPACE: &str = "Demo (sandbox)";
pub const TABLE: &str = "Demo leads";

/// Creates the demo workspace on first run; on later starts points its sandbox webhooks at the
/// address Kiln now listens on.
pub async fn ensure(db: &Db, addr: SocketAddr) -> Result<(), sqlx::Error> {
    let origin = crate::local_origin(addr);
    let workspaces = store::workspaces::list(db).await?;
    if workspaces.is_empty() {
        return create(db, &origin).await;
    }
    for workspace in workspaces.iter().filter(|w| w.demo) {
        for table in store::tables::list(db, Some(workspace.id)).await? {
            let url = sandbox_url(&origin, table.id);
            on_db!(db, pool => sqlx::query("UPDATE webhooks SET url = $2 WHERE table_id = $1 AND url LIKE '%/sandbox/clay/%'")
                .bind(table.id)
                .bind(&url)
                .execute(pool)
                .await
                .map(drop))?;
        }
    }
    Ok(())
}

fn sandbox_url(origin: &str, table_id: i64) -> String {
    format!("{origin}/sandbox/clay/v3/sources/webhook/demo-{table_id}?workspace=demo&callback_table={table_id}")
}

async fn create(db: &Db, origin: &str) -> Result<(), sqlx::Error> {
    let now = store::now_millis();
    let fields = store::workspaces::Fields {
        name: WORKSPACE,
        rate_per_sec: 10.0,
        burst: 20,
        plan_key: None,
        monthly_credit_budget: Some(100_000),
        monthly_action_budget: Some(40_000),
        budget_day: 1,
    };
    let workspace = store::workspaces::insert(db, &fields, true, now).await?;
    let table = store::tables::insert(
        db,
        workspace.id,
        TABLE,
        // A three-step waterfall and the HTTP API column that calls back.
        store::tables::Estimate { credits: 6.0, actions: 4.0 },
        None,
        now,
    )
    .await?;
    let url = Secret::new(sandbox_url(origin, table.id));
    let webhook = store::webhooks::Fields {
        table_id: table.id,
        url: &url,
        auth_token: None,
        lifetime_cap: 50_000,
        safety_margin: 5_000,
        used: 0,
    };
    store::webhooks::insert(db, &webhook, now).await?;
    store::audit::record(db, "kiln", "workspace.create", WORKSPACE, Some("demo workspace on the sandbox"), now).await?;
    tracing::info!("created the demo workspace {WORKSPACE:?}: its table sends to the built-in Clay sandbox");
    Ok(())
}
