//! What people decide about imports after they arrive.

use crate::{
    budget,
    error::{Error, Result},
    store::{self, Db, audit, imports::Moved},
};
use app::domain::{HeldLeads, ImportState, ImportSummary};

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

/// A batch control on an import's delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    Cancel,
}

impl std::str::FromStr for Control {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "pause" => Ok(Control::Pause),
            "resume" => Ok(Control::Resume),
            "cancel" => Ok(Control::Cancel),
            other => Err(Error::invalid("action", format!("unknown action {other:?}: use pause, resume or cancel"))),
        }
    }
}

/// Pauses, resumes or cancels an import's delivery. Leads in flight finish their send; the
/// others wait (pause) or are never sent (cancel).
pub async fn control(db: &Db, actor: &str, id: i64, control: Control) -> Result<ImportSummary> {
    let import = store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    let (from, to, leads_from, leads_to): (&[ImportState], _, &[&str], _) = match control {
        Control::Pause => (&[ImportState::Queued], ImportState::Paused, &["queued", "retrying", "waiting"], "paused"),
        Control::Resume => (&[ImportState::Paused], ImportState::Queued, &["paused"], "queued"),
        Control::Cancel => (
            &[ImportState::Queued, ImportState::Paused, ImportState::AwaitingDecision],
            ImportState::Cancelled,
            &["queued", "retrying", "waiting", "paused", "staged", "held"],
            "cancelled",
        ),
    };
    if !from.contains(&import.state) {
        return Err(Error::Conflict(format!(
            "the import is {}; it cannot be {}",
            import.state.as_str(),
            past(control)
        )));
    }
    let moved = store::imports::switch(db, id, from, to, leads_from, leads_to)
        .await?
        .ok_or_else(|| Error::Conflict("the import changed meanwhile; reload it".into()))?;
    let action = format!(
        "import.{}",
        match control {
            Control::Pause => "pause",
            Control::Resume => "resume",
            Control::Cancel => "cancel",
        }
    );
    let detail = format!("{moved} leads {leads_to}");
    audit::record(db, actor, &action, &format!("import {id}"), Some(&detail), store::now_millis()).await?;
    store::changes::announce(db).await?;
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))
}

fn past(control: Control) -> &'static str {
    match control {
        Control::Pause => "paused",
        Control::Resume => "resumed",
        Control::Cancel => "cancelled",
    }
}

/// Gives the import's dead leads (or one of them) a fresh set of attempts.
pub async fn requeue_dead(db: &Db, actor: &str, id: i64, lead_id: Option<i64>) -> Result<u64> {
    let import = store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    let requeued = store::imports::requeue_dead(db, id, lead_id).await?.ok_or_else(|| not_sendable(import.state))?;
    if lead_id.is_some() && requeued == 0 {
        return Err(Error::NotFound("dead lead"));
    }
    let detail = format!("{requeued} dead leads requeued");
    audit::record(db, actor, "import.requeue_dead", &format!("import {id}"), Some(&detail), store::now_millis())
        .await?;
    Ok(requeued)
}

/// An import's held leads, by why they are held.
pub async fn held_leads(db: &Db, id: i64) -> Result<HeldLeads> {
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    Ok(store::imports::held(db, id).await?)
}

/// Sends an import's held leads on their way: those that matched no routing rule to `table_id`
/// (a table of the import's workspace), those held beyond the budget to their own table. The
/// budget still holds: delivery stops at its cap.
pub async fn queue_held(db: &Db, actor: &str, id: i64, table_id: Option<i64>) -> Result<ImportSummary> {
    let import = store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    if let Some(table_id) = table_id {
        store::tables::find(db, table_id)
            .await?
            .filter(|table| table.workspace_id == import.workspace_id)
            .ok_or_else(|| Error::invalid("table_id", "table_id must be a table of the import's workspace"))?;
    }
    let queued = match store::imports::queue_held(db, id, table_id).await? {
        Moved::Leads(n) => n,
        Moved::NotSendable => return Err(not_sendable(import.state)),
        Moved::NeedsTable(without) => {
            return Err(Error::invalid(
                "table_id",
                format!("{without} held leads matched no routing rule: choose the table to send them to"),
            ));
        }
    };
    let detail = match table_id {
        Some(table_id) => format!("{queued} held leads sent; those without a table to table {table_id}"),
        None => format!("{queued} held leads sent to their tables"),
    };
    audit::record(db, actor, "import.queue_held", &format!("import {id}"), Some(&detail), store::now_millis()).await?;
    store::changes::announce(db).await?;
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))
}

/// Leads move on only while their import is queued or paused.
fn not_sendable(state: ImportState) -> Error {
    Error::Conflict(format!(
        "the import is {}; only a queued or paused import's leads can be sent",
        state.as_str().replace('_', " ")
    ))
}

/// Changes the delivery priority of an import: its leads not yet sent go by it.
pub async fn set_priority(db: &Db, actor: &str, id: i64, priority: app::domain::Priority) -> Result<ImportSummary> {
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))?;
    store::delivery::set_priority(db, id, priority.rank()).await?;
    audit::record(db, actor, "import.priority", &format!("import {id}"), Some(priority.as_str()), store::now_millis())
        .await?;
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))
}

/// The most imports the deliveries page lists (newest first); each is counted on every refresh.
const IN_DELIVERY_SHOWN: i64 = 500;

/// The pages' view of imports ([`app::services::Imports`]).
pub struct ImportsService {
    pub db: Db,
}

#[async_trait::async_trait]
impl app::services::Imports for ImportsService {
    async fn recent(&self, limit: i64) -> Result<Vec<ImportSummary>, app::error::AppError> {
        Ok(store::imports::list(&self.db, None, limit.clamp(1, 200)).await.map_err(Error::from)?)
    }

    async fn in_delivery(&self) -> Result<Vec<ImportSummary>, app::error::AppError> {
        Ok(store::imports::in_delivery(&self.db, IN_DELIVERY_SHOWN).await.map_err(Error::from)?)
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

    async fn control(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        action: String,
    ) -> Result<ImportSummary, app::error::AppError> {
        if action == "requeue_dead" {
            return Ok(requeue_and_find(&self.db, &actor.email, id, None).await?);
        }
        Ok(control(&self.db, &actor.email, id, action.parse()?).await?)
    }

    async fn set_priority(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        priority: String,
    ) -> Result<ImportSummary, app::error::AppError> {
        let priority = priority.parse().map_err(|e: String| Error::invalid("priority", e))?;
        Ok(set_priority(&self.db, &actor.email, id, priority).await?)
    }

    async fn dead_leads(&self, id: i64, limit: i64) -> Result<Vec<app::domain::DeadLead>, app::error::AppError> {
        store::imports::find(&self.db, id).await.map_err(Error::from)?.ok_or(Error::NotFound("import"))?;
        Ok(store::delivery::dead_leads(&self.db, id, limit.clamp(1, 500)).await.map_err(Error::from)?)
    }

    async fn requeue_lead(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        lead_id: i64,
    ) -> Result<ImportSummary, app::error::AppError> {
        Ok(requeue_and_find(&self.db, &actor.email, id, Some(lead_id)).await?)
    }

    async fn held_leads(&self, id: i64) -> Result<HeldLeads, app::error::AppError> {
        Ok(held_leads(&self.db, id).await?)
    }

    async fn queue_held(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        table_id: Option<i64>,
    ) -> Result<ImportSummary, app::error::AppError> {
        Ok(queue_held(&self.db, &actor.email, id, table_id).await?)
    }
}

/// Requeues the import's dead leads (or one of them); the import as it stands after.
async fn requeue_and_find(db: &Db, actor: &str, id: i64, lead_id: Option<i64>) -> Result<ImportSummary> {
    requeue_dead(db, actor, id, lead_id).await?;
    store::imports::find(db, id).await?.ok_or(Error::NotFound("import"))
}
