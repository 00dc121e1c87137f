//! `/alerts`: what Kiln told the team, open and past.

use crate::{
    components::notice::ErrorNotice,
    domain::{AlertView, format_utc_minutes},
    error::AppError,
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn all_alerts() -> Result<Vec<AlertView>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.monitoring.alerts(false).await)
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let alerts = Resource::new(|| (), |_| all_alerts());
    view! {
        <Title text="Alerts" />
        <section class="page">
            <div class="page-head">
                <h1>"Alerts"</h1>
                <p class="muted">"Each condition is told once, when it begins; it clears when its cause goes away."</p>
            </div>
            <div class="card">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match alerts.await {
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="muted">"No alert so far."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="table" data-testid="alerts">
                                    <thead><tr><th>"Raised"</th><th>"Kind"</th><th>"What"</th><th>"Cleared"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|alert| view! {
                                            <tr data-kind=alert.kind.clone() class=if alert.cleared_at.is_none() { "open" } else { "cleared" }>
                                                <td>{format_utc_minutes(alert.raised_at)}</td>
                                                <td><span class="badge">{alert.kind.replace('_', " ")}</span></td>
                                                <td>{alert.message}</td>
                                                <td>{alert.cleared_at.map_or_else(|| "open".to_owned(), format_utc_minutes)}</td>
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
