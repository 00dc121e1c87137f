//! The seam between server functions (declared here, in `app`) and the server's code (in
//! `server`): small service traits that the server implements and provides as context. Only this
//! module carries `cfg(feature = "ssr")`; the rest of `app` is free of it.

use crate::{
    domain::{
        AlertView, AuditEntry, BudgetsOutlook, CallbackSettings, ClayTable, CurrentUser, Dashboard, DeadLead,
        HeldLeads, ImportSummary, NewToken, Role, TableDelivery, TableDeliveryInput, TableInput, TokenSummary,
        UserSummary, Webhook, WebhookChange, WebhookInput, WebhooksOutlook, Workspace, WorkspaceInput,
        WorkspaceOverview,
    },
    error::AppError,
    ingest::{Fallback, Rule},
    planner::{Plan, SavedScenario},
};
use leptos::prelude::*;
use std::sync::Arc;

/// Everything server functions may call, provided once per request by the server.
#[derive(Clone)]
pub struct Services {
    pub accounts: Arc<dyn Accounts>,
    pub planner: Arc<dyn Planner>,
    pub workspaces: Arc<dyn Workspaces>,
    pub imports: Arc<dyn Imports>,
    pub monitoring: Arc<dyn Monitoring>,
}

/// Users and API tokens (admin only; the server functions check the role before calling).
#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    async fn list_users(&self) -> Result<Vec<UserSummary>, AppError>;
    async fn create_user(
        &self,
        actor: &CurrentUser,
        email: String,
        password: String,
        role: Role,
    ) -> Result<UserSummary, AppError>;
    async fn update_user(&self, actor: &CurrentUser, id: i64, role: Role, disabled: bool) -> Result<(), AppError>;
    async fn list_tokens(&self) -> Result<Vec<TokenSummary>, AppError>;
    async fn create_token(&self, actor: &CurrentUser, name: String, role: Role) -> Result<NewToken, AppError>;
    async fn revoke_token(&self, actor: &CurrentUser, id: i64) -> Result<(), AppError>;
}

/// The plan catalog and the team's saved planner scenarios.
#[async_trait::async_trait]
pub trait Planner: Send + Sync {
    async fn catalog(&self) -> Result<Vec<Plan>, AppError>;
    async fn update_plan(&self, actor: &CurrentUser, plan: Plan) -> Result<(), AppError>;
    async fn scenarios(&self) -> Result<Vec<SavedScenario>, AppError>;
    async fn save_scenario(&self, actor: &CurrentUser, name: String, query: String) -> Result<SavedScenario, AppError>;
}

/// Clay workspaces, their tables, webhooks and routing.
#[async_trait::async_trait]
pub trait Workspaces: Send + Sync {
    async fn overview(&self) -> Result<Vec<WorkspaceOverview>, AppError>;
    async fn save_workspace(
        &self,
        actor: &CurrentUser,
        id: Option<i64>,
        input: WorkspaceInput,
    ) -> Result<Workspace, AppError>;
    async fn save_table(&self, actor: &CurrentUser, id: Option<i64>, input: TableInput) -> Result<ClayTable, AppError>;
    async fn add_webhook(&self, actor: &CurrentUser, table_id: i64, input: WebhookInput) -> Result<Webhook, AppError>;
    async fn change_webhook(&self, actor: &CurrentUser, id: i64, change: WebhookChange) -> Result<Webhook, AppError>;
    async fn set_routing(
        &self,
        actor: &CurrentUser,
        workspace_id: i64,
        rules: Vec<Rule>,
        fallback: Fallback,
    ) -> Result<(), AppError>;
    /// What to paste into the table's HTTP API column in Clay (operators only: it holds a token).
    async fn callback_settings(&self, table_id: i64) -> Result<CallbackSettings, AppError>;
    async fn rotate_callback(&self, actor: &CurrentUser, table_id: i64) -> Result<CallbackSettings, AppError>;
    async fn table_delivery(&self, table_id: i64) -> Result<TableDelivery, AppError>;
    async fn set_table_delivery(
        &self,
        actor: &CurrentUser,
        table_id: i64,
        input: TableDeliveryInput,
    ) -> Result<TableDelivery, AppError>;
    /// Sends the table's dead forwards to its destination again.
    async fn requeue_dead_forwards(&self, actor: &CurrentUser, table_id: i64) -> Result<TableDelivery, AppError>;
}

/// Imports and what became of their rows.
#[async_trait::async_trait]
pub trait Imports: Send + Sync {
    async fn recent(&self, limit: i64) -> Result<Vec<ImportSummary>, AppError>;
    /// The imports on their way to Clay (queued or paused with leads to send, or dead), however
    /// old, newest first (at most a few hundred).
    async fn in_delivery(&self) -> Result<Vec<ImportSummary>, AppError>;
    async fn get(&self, id: i64) -> Result<ImportSummary, AppError>;
    async fn decide(&self, actor: &CurrentUser, id: i64, mode: String) -> Result<ImportSummary, AppError>;
    /// `pause`, `resume`, `cancel` or `requeue_dead`.
    async fn control(&self, actor: &CurrentUser, id: i64, action: String) -> Result<ImportSummary, AppError>;
    /// `high`, `normal` or `low`, for the import's leads not yet sent.
    async fn set_priority(&self, actor: &CurrentUser, id: i64, priority: String) -> Result<ImportSummary, AppError>;
    /// The import's dead leads, oldest first, at most `limit`.
    async fn dead_leads(&self, id: i64, limit: i64) -> Result<Vec<DeadLead>, AppError>;
    /// One dead lead of the import back to the queue, with a fresh set of attempts.
    async fn requeue_lead(&self, actor: &CurrentUser, id: i64, lead_id: i64) -> Result<ImportSummary, AppError>;
    /// The import's held leads, by why they are held.
    async fn held_leads(&self, id: i64) -> Result<HeldLeads, AppError>;
    /// The import's held leads on their way: unrouted ones to `table_id`.
    async fn queue_held(&self, actor: &CurrentUser, id: i64, table_id: Option<i64>) -> Result<ImportSummary, AppError>;
}

/// The live numbers of the dashboard.
#[async_trait::async_trait]
pub trait Monitoring: Send + Sync {
    async fn dashboard(&self) -> Result<Dashboard, AppError>;
    async fn webhooks(&self) -> Result<WebhooksOutlook, AppError>;
    async fn budgets(&self) -> Result<BudgetsOutlook, AppError>;
    /// The audit log, newest first, before entry `before` when given.
    async fn audit(&self, before: Option<i64>) -> Result<Vec<AuditEntry>, AppError>;
    /// Alerts, newest first: the open ones, or the latest 500 of all.
    async fn alerts(&self, open_only: bool) -> Result<Vec<AlertView>, AppError>;
}

/// The signed-in user of the request being served, put there by the server's session middleware.
pub fn current_user() -> Option<CurrentUser> {
    use_context::<http::request::Parts>()?.extensions.get::<CurrentUser>().cloned()
}

/// The services and the signed-in user, if that user's role allows `needed`.
pub fn authorize(needed: Role) -> Result<(Services, CurrentUser), AppError> {
    let user = respond(current_user().ok_or(AppError::Unauthorized))?;
    if !user.role.allows(needed) {
        return respond(Err(AppError::Forbidden));
    }
    let services = respond(use_context::<Services>().ok_or(AppError::Internal))?;
    Ok((services, user))
}

/// Passes a result through, giving the HTTP response the status that matches its error.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result
        && let (Some(options), Ok(status)) =
            (use_context::<leptos_axum::ResponseOptions>(), http::StatusCode::from_u16(error.status()))
    {
        options.set_status(status);
    }
    result
}
