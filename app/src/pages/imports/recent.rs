//! The recent imports, and the decision an import over budget waits for.

use super::{ControlImport, DecideImport, ImportsChanged, recent_imports};
use crate::{
    components::notice::ErrorNotice,
    domain::{DeliveryCounts, ImportState, ImportSummary, Role, format_utc_minutes},
    format::int,
    pages::workspaces::can,
};
use leptos::prelude::*;

#[component]
pub(super) fn RecentImports() -> impl IntoView {
    let changed = use_context::<ImportsChanged>();
    let imports = Resource::new(move || changed.map(|c| c.0.get()), |_| recent_imports());
    // Delivery moves on by itself: refresh the counts every few seconds while the page is open
    // (and only then: the interval goes with the page).
    Effect::new(move |_| {
        if let Some(changed) = changed
            && let Ok(handle) =
                set_interval_with_handle(move || changed.0.update(|n| *n += 1), std::time::Duration::from_secs(3))
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <div class="card">
            <h2>"Recent imports"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match imports.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No imports yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="table" data-testid="imports">
                                    <thead><tr>
                                        <th>"#"</th><th>"File"</th><th>"State"</th><th>"Rows"</th><th>"Accepted"</th>
                                        <th>"Rejected"</th><th>"Duplicates"</th><th>"Delivery"</th><th>"Priority"</th><th>"When"</th>
                                    </tr></thead>
                                    <tbody>{list.into_iter().map(|import| view! { <ImportRow import /> }).collect_view()}</tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn ImportRow(import: ImportSummary) -> impl IntoView {
    let id = import.id;
    let counts = import.counts;
    let state = import.state;
    view! {
        <tr data-import=id.to_string()>
            <td>{id}</td>
            <td>{import.filename.unwrap_or_else(|| format!("{} via {}", import.format, import.source))}</td>
            <td>
                <span class=format!("badge state-{}", state.as_str())>{state.as_str().replace('_', " ")}</span>
                {import.error.map(|e| view! { <div class="muted small">{e}</div> })}
                {(state == ImportState::AwaitingDecision).then(|| view! { <Decision id estimated=import.estimated_credits /> })}
            </td>
            <td>{int(counts.rows)}</td>
            <td>{int(counts.accepted)}{(counts.held > 0).then(|| format!(" ({} held)", int(counts.held)))}</td>
            <td>
                {if counts.rejected > 0 {
                    view! { <a href=format!("/imports/{id}/rejects.csv") rel="external" download="">{int(counts.rejected)}</a> }.into_any()
                } else {
                    view! { "0" }.into_any()
                }}
            </td>
            <td>{int(counts.duplicates)}</td>
            <td><Delivery id state delivery=import.delivery accepted=counts.accepted /></td>
            <td>{import.priority.as_str()}</td>
            <td>{format_utc_minutes(import.created_at)}</td>
        </tr>
    }
}

/// The operator's choice for an import whose estimate passes the month's remaining budget.
#[component]
pub(super) fn Decision(id: i64, estimated: f64) -> impl IntoView {
    let decide = ServerAction::<DecideImport>::new();
    let changed = use_context::<ImportsChanged>();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(changed)) = (decide.value().get(), changed) {
            changed.0.update(|n| *n += 1);
        }
    });
    if !can(Role::Operator) {
        return view! { <span class="muted small">"waits for an operator"</span> }.into_any();
    }
    view! {
        <div class="decision notice warn" data-testid="decision">
            <p>{format!("These leads need about {} data credits, more than this month's budget has left.", int(estimated.round() as u64))}</p>
            <button type="button" on:click=move |_| { decide.dispatch(DecideImport { id, mode: "fit".into() }); }>"Queue only what fits"</button>
            " "
            <button type="button" on:click=move |_| { decide.dispatch(DecideImport { id, mode: "all".into() }); }>"Queue all (delivery stops at the budget)"</button>
            {move || decide.value().get().map(|r| match r {
                Ok(import) => view! { <p class="notice ok">{format!("Queued; {} leads held.", int(import.counts.held))}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
    .into_any()
}

/// Where the import's leads stand on their way to Clay, with the batch controls.
#[component]
fn Delivery(id: i64, state: ImportState, delivery: DeliveryCounts, accepted: u64) -> impl IntoView {
    let control = ServerAction::<ControlImport>::new();
    let changed = use_context::<ImportsChanged>();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(changed)) = (control.value().get(), changed) {
            changed.0.update(|n| *n += 1);
        }
    });
    let percent = if accepted == 0 { 0.0 } else { delivery.delivered as f64 * 100.0 / accepted as f64 };
    let parts: Vec<String> = [
        ("in flight", delivery.in_flight),
        ("queued", delivery.queued),
        ("retrying", delivery.retrying),
        ("waiting", delivery.waiting),
        ("paused", delivery.paused),
        ("dead", delivery.dead),
        ("called back", delivery.called_back),
        ("no callback", delivery.no_callback),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(label, n)| format!("{} {label}", int(n)))
    .collect();
    let button = move |label: &'static str, action: &'static str| {
        view! {
            <button type="button" class="small" data-action=action
                on:click=move |_| { control.dispatch(ControlImport { id, action: action.into() }); }>{label}</button>
        }
    };
    let operator = can(Role::Operator);
    view! {
        <div class="delivery" data-testid="delivery">
            <progress max="100" value=format!("{percent:.1}")></progress>
            <div class="small" data-testid="delivered">{format!("{} of {} delivered", int(delivery.delivered), int(accepted))}</div>
            <div class="muted small" data-testid="delivery-parts">{parts.join(" · ")}</div>
            {(delivery.delivered + delivery.dead > 0).then(|| view! {
                <a class="small" href=format!("/imports/{id}/leads.csv") rel="external" download="" data-testid="download-leads">
                    "Download enriched leads (CSV)"
                </a>
            })}
            {operator.then(|| view! {
                <div class="controls">
                    {(state == ImportState::Queued).then(|| button("Pause", "pause"))}
                    {(state == ImportState::Paused).then(|| button("Resume", "resume"))}
                    {matches!(state, ImportState::Queued | ImportState::Paused).then(|| button("Stop delivery", "cancel"))}
                    {(delivery.dead > 0).then(|| button("Requeue dead", "requeue_dead"))}
                </div>
            })}
            {move || control.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
        </div>
    }
}
