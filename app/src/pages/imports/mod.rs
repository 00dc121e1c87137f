//! `/imports`: drop a CSV file, preview and map it in the browser, upload it with progress, and
//! see every row accounted for; below, the recent imports.

mod recent;
mod upload;

pub(crate) use recent::RecentImports;

use crate::{
    domain::{DeadLead, HeldLeads, ImportSummary},
    error::AppError,
    pages::workspaces::workspaces_overview,
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn recent_imports() -> Result<Vec<ImportSummary>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.imports.recent(50).await)
}

/// The imports on their way to Clay, newest first.
#[server(input = Json)]
pub async fn imports_in_delivery() -> Result<Vec<ImportSummary>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.imports.in_delivery().await)
}

#[server(input = Json)]
pub async fn decide_import(id: i64, mode: String) -> Result<ImportSummary, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.imports.decide(&actor, id, mode).await)
}

#[server(input = Json)]
pub async fn control_import(id: i64, action: String) -> Result<ImportSummary, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.imports.control(&actor, id, action).await)
}

#[server(input = Json)]
pub async fn set_import_priority(id: i64, priority: String) -> Result<ImportSummary, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.imports.set_priority(&actor, id, priority).await)
}

#[server(input = Json)]
pub async fn dead_leads(id: i64) -> Result<Vec<DeadLead>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.imports.dead_leads(id, 100).await)
}

#[server(input = Json)]
pub async fn requeue_dead_lead(id: i64, lead_id: i64) -> Result<ImportSummary, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.imports.requeue_lead(&actor, id, lead_id).await)
}

#[server(input = Json)]
pub async fn import_held_leads(id: i64) -> Result<HeldLeads, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.imports.held_leads(id).await)
}

#[server(input = Json)]
pub async fn queue_held_leads(id: i64, table_id: Option<i64>) -> Result<ImportSummary, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.imports.queue_held(&actor, id, table_id).await)
}

/// Bumped when an import arrives or changes, so the list refreshes at once.
#[derive(Clone, Copy)]
pub(crate) struct ImportsChanged(pub RwSignal<u32>);

#[component]
pub fn ImportsPage() -> impl IntoView {
    let changed = ImportsChanged(RwSignal::new(0));
    provide_context(changed);
    let targets = Resource::new(|| (), |_| workspaces_overview());
    view! {
        <Title text="Imports" />
        <section class="page">
            <div class="page-head">
                <h1>"Imports"</h1>
                <p class="muted">"Drop a CSV export of leads: preview it, map its columns, and Kiln accounts for every row."</p>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match targets.await {
                        Err(error) => view! { <crate::components::notice::ErrorNotice error /> }.into_any(),
                        Ok(workspaces) => view! { <upload::UploadPanel workspaces /> }.into_any(),
                    }
                })}
            </Suspense>
            <recent::RecentImports />
        </section>
    }
}
