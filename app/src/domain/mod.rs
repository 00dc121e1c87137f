//! Types shared by the browser and the server. Pure: no I/O, no feature flags.

mod account;
mod budgets;
mod dashboard;
pub mod ids;
mod imports;
mod time;
mod workspace;

pub use account::{CurrentUser, NewToken, ParseRoleError, Role, TokenSummary, UserSummary};
pub use budgets::{Allowance, BudgetsOutlook, Cumulative, DAY_MS, DaySpend, MonthSpend, TableSpend, WorkspaceBudget};
pub use dashboard::{
    AlertView, AuditEntry, Dashboard, WebhookNeed, WebhookOutlook, WebhooksOutlook, WorkspaceLive, format_duration,
};
pub use imports::{DeadLead, DeliveryCounts, HeldLeads, ImportState, ImportSummary, RowCounts};
pub use time::format_utc_minutes;
pub use workspace::{
    BudgetSnapshot, CallbackSettings, ClayTable, Priority, TableDelivery, TableDeliveryInput, TableInput,
    TableOverview, Webhook, WebhookChange, WebhookInput, WebhookState, Workspace, WorkspaceInput, WorkspaceOverview,
};
