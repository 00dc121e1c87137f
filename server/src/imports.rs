//! What people decide about imports after they arrive.

use crate::{
    budget,
    error::{Error, Result},
    store::{self, Db, audit},
};
use app::domain::{ImportState, ImportSummary};

/// An operator's answer for an import over the month's budget: `all` queues every lead (delivery
/// stops at the budget anyway), `fit` queues, in order, only what the budget still covers.
pub async fn decide(db: &Db, actor: &str, id: i64, mode: &str) -> Result<ImportSummary> {
    let import = store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    if import.state != ImportState::AwaitingDecision {
        return Err(Error::Conflict(format!("the import is {}, not waiting for a decision", import.state.as_str())));
    }
    match mode {
        "all" => {}
        "fit" => {
            let workspace =
                store::workspaces::find(db, import.workspace_id).await?.ok_or(Error::NotFound("workspace"))?;
            let limit = workspace.monthly_credit_budget.unwrap_or(u64::MAX) as f64;
            let month_start = budget::month_start(store::now_millis(), workspace.budget_day);
            let committed = store::imports::committed_credits(db, workspace.id, month_start).await?;
            store::imports::queue_only_what_fits(db, id, (limit - committed).max(0.0)).await?;
        }
        other => return Err(Error::invalid("mode", format!("unknown mode {other:?}: use all or fit"))),
    }
    if !store::imports::transition(db, id, ImportState::AwaitingDecision, ImportState::Queued).await? {
        return Err(Error::Conflict("the import changed meanwhile; reload it".into()));
    }
    let what = if mode == "all" { "queued all" } else { "queued only what fits the budget" };
    audit::record(db, actor, "import.queue", &format!("import {id}"), Some(what), store::now_millis()).await?;
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))
}

/// The pages' view of imports ([`app::services::Imports`]).
pub struct ImportsService {
    pub db: Db,
}

#[async_trait::async_trait]
impl app::services::Imports for ImportsService {
    async fn recent(&self, limit: i64) -> Result<Vec<ImportSummary>, app::error::AppError> {
        Ok(store::imports::list(&self.db, None, limit.clamp(1, 200)).await.map_err(Error::from)?)
    }

    async fn get(&self, id: i64) -> Result<ImportSummary, app::error::AppError> {
        Ok(store::imports::find(&self.db, id).await.map_err(Error::from)?.ok_or(Error::NotFound("import"))?)
    }

    async fn decide(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        mode: String,
    ) -> Result<ImportSummary, app::error::AppError> {
        Ok(decide(&self.db, &actor.email, id, &mode).await?)
    }
}
