//! `/audit`: who uploaded, changed settings, budgets or webhooks, steered deliveries, managed
//! users and tokens; when.

use crate::{
    components::notice::ErrorNotice,
    domain::{AuditEntry, format_utc_minutes},
    error::AppError,
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn audit_page(before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Operator)?;
    respond(services.monitoring.audit(before).await)
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| audit_page(None));
    view! {
        <Title text="Audit log" />
        <section class="page">
            <div class="page-head">
                <h1>"Audit log"</h1>
                <p class="muted">"Every change a person or a token made, newest first (the latest 200)."</p>
            </div>
            <div class="card">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match entries.await {
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="table" data-testid="audit">
                                    <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"On"</th><th>"Detail"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|entry| view! {
                                            <tr data-action=entry.action.clone()>
                                                <td>{format_utc_minutes(entry.at)}</td>
                                                <td>{entry.actor}</td>
                                                <td><code>{entry.action.clone()}</code></td>
                                                <td>{entry.subject}</td>
                                                <td class="small">{entry.detail.unwrap_or_default()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </section>
    }
}
