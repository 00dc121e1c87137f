//! `/settings/workspaces`: Clay workspaces, their tables and webhooks, and the routing rules
//! that send rows to tables. Admins change workspaces (budgets); operators tables, webhooks and
//! rules; viewers read.

mod after_clay;
mod routing;
mod tables;

use crate::{
    components::{form::Submitted, notice::ErrorNotice},
    domain::{Role, Workspace, WorkspaceInput, WorkspaceOverview, format_utc_minutes},
    error::AppError,
    format::{decimal, int},
    session::use_session,
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn workspaces_overview() -> Result<Vec<WorkspaceOverview>, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.workspaces.overview().await)
}

#[server(input = Json)]
pub async fn save_workspace(id: Option<i64>, input: WorkspaceInput) -> Result<Workspace, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.workspaces.save_workspace(&actor, id, input).await)
}

#[server(input = Json)]
pub async fn save_table(
    id: Option<i64>,
    input: crate::domain::TableInput,
) -> Result<crate::domain::ClayTable, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.save_table(&actor, id, input).await)
}

#[server(input = Json)]
pub async fn add_webhook(
    table_id: i64,
    input: crate::domain::WebhookInput,
) -> Result<crate::domain::Webhook, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.add_webhook(&actor, table_id, input).await)
}

#[server(input = Json)]
pub async fn change_webhook(id: i64, change: crate::domain::WebhookChange) -> Result<crate::domain::Webhook, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.change_webhook(&actor, id, change).await)
}

#[server(input = Json)]
pub async fn set_routing(
    workspace_id: i64,
    rules: Vec<crate::ingest::Rule>,
    fallback: crate::ingest::Fallback,
) -> Result<(), AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.set_routing(&actor, workspace_id, rules, fallback).await)
}

#[server(input = Json)]
pub async fn callback_settings(table_id: i64) -> Result<crate::domain::CallbackSettings, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Operator)?;
    respond(services.workspaces.callback_settings(table_id).await)
}

#[server(input = Json)]
pub async fn rotate_callback(table_id: i64) -> Result<crate::domain::CallbackSettings, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.workspaces.rotate_callback(&actor, table_id).await)
}

#[server(input = Json)]
pub async fn save_table_delivery(
    table_id: i64,
    input: crate::domain::TableDeliveryInput,
) -> Result<crate::domain::TableDelivery, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.set_table_delivery(&actor, table_id, input).await)
}

#[server(input = Json)]
pub async fn requeue_dead_forwards(table_id: i64) -> Result<crate::domain::TableDelivery, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.workspaces.requeue_dead_forwards(&actor, table_id).await)
}

/// Bumped after any change on the page, so the overview reloads.
#[derive(Clone, Copy)]
pub(crate) struct Changed(pub RwSignal<u32>);

impl Changed {
    pub fn bump(&self) {
        self.0.update(|n| *n += 1);
    }
}

pub(crate) fn can(role: Role) -> bool {
    use_session().and_then(|s| s.user()).is_some_and(|u| u.role.allows(role))
}

/// A number field's value, `None` when empty; an error names the field.
pub(crate) fn optional_number<T: std::str::FromStr>(
    form: &Submitted,
    name: &str,
    label: &str,
) -> Result<Option<T>, AppError> {
    let text = form.text(name).trim().replace(',', "");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| AppError::invalid(name, format!("{label}: not a number")))
}

#[component]
pub fn WorkspacesPage() -> impl IntoView {
    let changed = Changed(RwSignal::new(0));
    provide_context(changed);
    let overview = Resource::new(move || changed.0.get(), |_| workspaces_overview());
    view! {
        <Title text="Workspaces" />
        <section class="page">
            <div class="page-head">
                <h1>"Workspaces"</h1>
                <p class="muted">
                    "One per Clay workspace: its rate limit and budgets, its tables and their webhooks, and the rules that route imported rows."
                </p>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(all) if all.is_empty() => view! {
                            <div class="card empty"><p>"No workspace yet. Create the first one below."</p></div>
                        }.into_any(),
                        Ok(all) => all.into_iter().map(|overview| view! { <WorkspaceCard overview /> }).collect_view().into_any(),
                    }
                })}
            </Transition>
            {can(Role::Admin).then(|| view! { <WorkspaceForm workspace=None /> })}
        </section>
    }
}

#[component]
fn WorkspaceCard(overview: WorkspaceOverview) -> impl IntoView {
    let WorkspaceOverview { workspace, tables, rules, fallback, budget } = overview;
    let summary = {
        let mut parts = vec![format!("{} records/s, burst {}", decimal(workspace.rate_per_sec, 2), workspace.burst)];
        if let Some(plan) = &workspace.plan_key {
            parts.push(format!("plan {plan}"));
        }
        parts.push(match workspace.monthly_credit_budget {
            Some(limit) => format!(
                "{} data credits a month from day {} ({} committed since {})",
                int(limit),
                workspace.budget_day,
                int(budget.committed.round() as u64),
                format_utc_minutes(budget.month_start).split(' ').next().unwrap_or_default()
            ),
            None => "no credit budget".to_owned(),
        });
        if let Some(actions) = workspace.monthly_action_budget {
            parts.push(format!("{} Actions a month", int(actions)));
        }
        parts.join(" · ")
    };
    let id = workspace.id;
    let table_choices: Vec<(i64, String)> = tables.iter().map(|t| (t.table.id, t.table.name.clone())).collect();
    view! {
        <div class="card workspace" data-workspace=workspace.name.clone()>
            <h2>
                {workspace.name.clone()}
                {workspace.demo.then(|| view! { <span class="badge">"demo · built-in sandbox"</span> })}
            </h2>
            <p class="muted" data-testid="workspace-summary">{summary}</p>
            {can(Role::Admin).then(|| view! {
                <details>
                    <summary>"Settings and budgets"</summary>
                    <WorkspaceForm workspace=Some(workspace.clone()) />
                </details>
            })}
            <tables::Tables workspace_id=id tables />
            <routing::Routing workspace_id=id rules fallback tables=table_choices />
        </div>
    }
}

/// Creates a workspace, or edits one.
#[component]
fn WorkspaceForm(workspace: Option<Workspace>) -> impl IntoView {
    let save = ServerAction::<SaveWorkspace>::new();
    let changed = use_context::<Changed>();
    let invalid = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(changed)) = (save.value().get(), changed) {
            changed.bump();
        }
    });
    let id = workspace.as_ref().map(|w| w.id);
    let on_submit = move |ev| {
        let Some(f) = Submitted::from_event(&ev) else { return };
        let input = (|| {
            Ok::<_, AppError>(WorkspaceInput {
                name: f.text("name"),
                rate_per_sec: optional_number(&f, "rate_per_sec", "Rate limit")?,
                burst: optional_number(&f, "burst", "Burst")?,
                plan_key: Some(f.text("plan_key")).filter(|k| !k.is_empty()),
                monthly_credit_budget: optional_number(&f, "monthly_credit_budget", "Credit budget")?,
                monthly_action_budget: optional_number(&f, "monthly_action_budget", "Actions budget")?,
                budget_day: optional_number(&f, "budget_day", "Budget day")?,
            })
        })();
        match input {
            Ok(input) => {
                invalid.set(None);
                save.dispatch(SaveWorkspace { id, input });
            }
            Err(error) => invalid.set(Some(error)),
        }
    };
    let w = workspace.clone();
    let value = move |f: fn(&Workspace) -> String| w.as_ref().map(f).unwrap_or_default();
    let title = if workspace.is_some() { "Save settings" } else { "Create workspace" };
    view! {
        <form class="card-form" data-testid=if workspace.is_some() { "edit-workspace" } else { "create-workspace" } on:submit=on_submit>
            {workspace.is_none().then(|| view! { <h2>"New workspace"</h2> })}
            <div class="fields">
                <label>"Name" <input name="name" required maxlength="100" value=value(|w| w.name.clone()) /></label>
                <label>"Rate limit (records/s)" <input name="rate_per_sec" inputmode="decimal" placeholder="10" value=value(|w| decimal(w.rate_per_sec, 2)) /></label>
                <label>"Burst" <input name="burst" inputmode="numeric" placeholder="20" value=value(|w| w.burst.to_string()) /></label>
                <label>"Plan (catalog key)" <input name="plan_key" placeholder="growth" value=value(|w| w.plan_key.clone().unwrap_or_default()) /></label>
                <label>"Data-credit budget per month" <input name="monthly_credit_budget" inputmode="numeric" placeholder="none"
                    value=value(|w| w.monthly_credit_budget.map(|b| b.to_string()).unwrap_or_default()) /></label>
                <label>"Actions budget per month" <input name="monthly_action_budget" inputmode="numeric" placeholder="none"
                    value=value(|w| w.monthly_action_budget.map(|b| b.to_string()).unwrap_or_default()) /></label>
                <label>"Budget month starts on day" <input name="budget_day" inputmode="numeric" placeholder="1" value=value(|w| w.budget_day.to_string()) /></label>
            </div>
            <button type="submit" class="primary" disabled=move || save.pending().get()>{title}</button>
            {move || invalid.get().map(|error| view! { <ErrorNotice error /> })}
            {move || save.value().get().map(|r| match r {
                Ok(w) => view! { <p class="notice ok">{format!("Saved “{}”.", w.name)}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </form>
    }
}
