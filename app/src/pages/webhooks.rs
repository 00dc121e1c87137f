//! `/webhooks`: how much of each Clay webhook's lifetime is used, when each runs out at the pace
//! of the last 7 days, and how many new webhooks each workspace's month still needs.

use crate::{
    components::notice::ErrorNotice,
    domain::{WebhookNeed, WebhookOutlook, WebhooksOutlook, format_utc_minutes},
    error::AppError,
    format::{decimal, int},
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn load_webhooks() -> Result<WebhooksOutlook, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.monitoring.webhooks().await)
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let outlook = Resource::new(|| (), |_| load_webhooks());
    view! {
        <Title text="Webhooks" />
        <section class="page">
            <div class="page-head">
                <h1>"Webhooks"</h1>
                <p class="muted">
                    "Each Clay webhook takes 50,000 submissions in its lifetime; Kiln moves on at the cap less the safety margin. "
                    "Dates are at the pace of the last 7 days."
                </p>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match outlook.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(o) if o.webhooks.is_empty() => view! {
                            <div class="card empty"><p>"No webhook yet: add one to a table under "<a href="/settings/workspaces">"Settings → Workspaces"</a>"."</p></div>
                        }.into_any(),
                        Ok(o) => {
                            let at = o.at;
                            o.needs.into_iter().map(|need| {
                                let hooks: Vec<WebhookOutlook> =
                                    o.webhooks.iter().filter(|h| h.workspace_id == need.workspace_id).cloned().collect();
                                view! { <WorkspaceWebhooks need hooks at /> }
                            }).collect_view().into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn WorkspaceWebhooks(need: WebhookNeed, hooks: Vec<WebhookOutlook>, at: i64) -> impl IntoView {
    let summary = if need.per_day == 0.0 {
        "No submissions in the last 7 days: no new webhook needed this month at that pace.".to_owned()
    } else {
        let per_day = decimal(need.per_day, 0);
        format!(
            "{per_day} {} a day; about {} more this month against {} left on active webhooks: {}.",
            if per_day == "1" { "submission" } else { "submissions" },
            int(need.expected),
            int(need.room),
            match need.new_webhooks {
                0 => "no new webhook needed this month".to_owned(),
                1 => "1 new webhook needed this month".to_owned(),
                n => format!("{n} new webhooks needed this month"),
            }
        )
    };
    view! {
        <div class="card" data-workspace=need.workspace.clone()>
            <h2>{need.workspace.clone()}</h2>
            <p data-testid="webhook-need" data-new-webhooks=need.new_webhooks.to_string()>{summary}</p>
            <table class="table webhook-gauges">
                <thead><tr><th>"Table"</th><th>"Webhook"</th><th>"Used of usable"</th><th>"Runs out"</th></tr></thead>
                <tbody>{hooks.into_iter().map(|hook| view! { <GaugeRow hook at /> }).collect_view()}</tbody>
            </table>
        </div>
    }
}

/// Gauge width in SVG units; the 80% tick marks where Kiln raises its alert.
const WIDTH: f64 = 240.0;

#[component]
fn GaugeRow(hook: WebhookOutlook, at: i64) -> impl IntoView {
    let usage = hook.usage();
    let runs_out = match (hook.active, hook.exhausted_at(at)) {
        (false, _) => format!("out of rotation ({})", hook.state),
        (true, Some(when)) if when <= at => "full".to_owned(),
        (true, Some(when)) => format!("about {}", format_utc_minutes(when).split(' ').next().unwrap_or_default()),
        (true, None) => "not at the current pace (no use in 7 days)".to_owned(),
    };
    let level = if usage >= 1.0 {
        "full"
    } else if usage >= 0.8 {
        "high"
    } else {
        "ok"
    };
    let label = format!("{} of {} usable submissions used", int(hook.used), int(hook.usable));
    view! {
        <tr data-webhook=hook.id.to_string()>
            <td>{hook.table.clone()}</td>
            <td><code>{hook.url_masked.clone()}</code></td>
            <td>
                <svg class=format!("gauge {level}") viewBox=format!("0 0 {WIDTH} 18") width=WIDTH height="18" role="img"
                    aria-label=label.clone() data-used=hook.used.to_string() data-usable=hook.usable.to_string()>
                    <title>{label.clone()}</title>
                    <rect class="gauge-track" x="0" y="4" width=WIDTH height="10" rx="3"></rect>
                    <rect class="gauge-fill" x="0" y="4" width=format!("{:.1}", WIDTH * usage) height="10" rx="3"></rect>
                    <line class="gauge-mark" x1=WIDTH * 0.8 x2=WIDTH * 0.8 y1="1" y2="17"></line>
                </svg>
                <div class="small muted">{format!("{} / {} ({:.0}%)", int(hook.used), int(hook.usable), usage * 100.0)}</div>
            </td>
            <td data-testid="runs-out">{runs_out}</td>
        </tr>
    }
}
