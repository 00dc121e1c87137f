//! The recent imports (or those on their way to Clay), with the batch controls of their
//! delivery, the dead leads of one of them, and the decision an import over budget waits for.
//!
//! The list refreshes every few seconds while the page is open. Its rows stay in place and only
//! their figures change: an operator's click, an open choice or an error notice in a row is
//! never swept away by a refresh.

use super::{
    ControlImport, DecideImport, ImportsChanged, QueueHeldLeads, RequeueDeadLead, SetImportPriority, dead_leads,
    import_held_leads, imports_in_delivery, recent_imports,
};
use crate::{
    components::notice::ErrorNotice,
    domain::{DeliveryCounts, HeldLeads, ImportState, ImportSummary, Priority, Role, format_utc_minutes},
    error::AppError,
    format::int,
    pages::workspaces::{can, workspaces_overview},
};
use leptos::{prelude::*, server_fn::ServerFn, task::spawn_local};

/// The import whose dead leads are listed below the imports, if one.
#[derive(Clone, Copy)]
struct DeadLeadsOf(RwSignal<Option<i64>>);

/// The import (and its workspace) whose held leads an operator is sending on, if one.
#[derive(Clone, Copy)]
struct HeldLeadsOf(RwSignal<Option<(i64, i64)>>);

/// What the list shows as a whole; rows come and go within it by import.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Failed,
    Empty,
    Listed,
}

/// The last 50 imports, or with `in_delivery` every import still on its way to Clay.
#[component]
pub(crate) fn RecentImports(#[prop(optional)] in_delivery: bool) -> impl IntoView {
    let changed = use_context::<ImportsChanged>();
    let dead_leads_of = DeadLeadsOf(RwSignal::new(None));
    provide_context(dead_leads_of);
    let held_leads_of = HeldLeadsOf(RwSignal::new(None));
    provide_context(held_leads_of);
    let fetch = move || async move { if in_delivery { imports_in_delivery().await } else { recent_imports().await } };
    // Rendered on the server and hydrated; later figures come from `latest`.
    let first = Resource::new(|| (), move |()| fetch());
    let latest = RwSignal::new(None::<Vec<ImportSummary>>);
    let refresh_error = RwSignal::new(None::<AppError>);
    let asked = StoredValue::new(0_u64);
    let refresh = move || {
        let ask = asked.get_value() + 1;
        asked.set_value(ask);
        spawn_local(async move {
            let answer = fetch().await;
            // An older request that answers late must not undo a newer one's figures; a page
            // that is gone takes no answer.
            if asked.try_get_value() != Some(ask) {
                return;
            }
            match answer {
                Ok(list) => {
                    latest.try_set(Some(list));
                    refresh_error.try_set(None);
                }
                Err(error) => {
                    refresh_error.try_set(Some(error));
                }
            }
        });
    };
    // Delivery moves on by itself: refresh every few seconds while the page is open (and only
    // then: the interval goes with the page), and at once when an import arrives or changes.
    Effect::new(move |_| {
        if let Some(changed) = changed
            && let Ok(handle) =
                set_interval_with_handle(move || changed.0.update(|n| *n += 1), std::time::Duration::from_secs(3))
        {
            on_cleanup(move || handle.clear());
        }
    });
    Effect::new(move |ran: Option<()>| {
        if let Some(changed) = changed {
            changed.0.track();
        }
        if ran.is_some() {
            refresh();
        }
    });
    let (title, empty) = if in_delivery {
        (
            "Batches in delivery",
            "Nothing is on its way to Clay. An import shows here from the moment it is queued until its last lead is delivered, and while it has dead leads.",
        )
    } else {
        ("Recent imports", "No imports yet.")
    };
    view! {
        <div class="card">
            <h2>{title}</h2>
            {move || refresh_error.get().map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (first, failure) = match first.await {
                        Ok(list) => (Some(list), None),
                        Err(error) => (None, Some(error)),
                    };
                    let list = Memo::new(move |_| latest.get().or_else(|| first.clone()));
                    let shape = Memo::new(move |_| {
                        list.with(|list| match list {
                            None => Shape::Failed,
                            Some(list) if list.is_empty() => Shape::Empty,
                            Some(_) => Shape::Listed,
                        })
                    });
                    move || match shape.get() {
                        Shape::Failed => failure.clone().map(|error| view! { <ErrorNotice error /> }).into_any(),
                        Shape::Empty => view! { <p class="muted" data-testid="no-imports">{empty}</p> }.into_any(),
                        Shape::Listed => view! {
                            <div class="table-scroll">
                                <table class="table" data-testid="imports">
                                    <thead><tr>
                                        <th>"#"</th><th>"File"</th><th>"State"</th><th>"Rows"</th><th>"Accepted"</th>
                                        <th>"Rejected"</th><th>"Duplicates"</th><th>"Delivery"</th><th>"Priority"</th><th>"When"</th>
                                    </tr></thead>
                                    <tbody>
                                        <For
                                            each=move || list.get().unwrap_or_default()
                                            key=|import| import.id
                                            children=move |import| {
                                                let id = import.id;
                                                // Kept when the import leaves the list, for the moment its row takes to go.
                                                let import = Memo::new(move |before: Option<&ImportSummary>| {
                                                    list.with(|list| list.iter().flatten().find(|i| i.id == id).cloned())
                                                        .or_else(|| before.cloned())
                                                        .unwrap_or_else(|| import.clone())
                                                });
                                                view! { <ImportRow import /> }
                                            }
                                        />
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
        {move || dead_leads_of.0.get().map(|id| view! { <DeadLeads id /> })}
        {move || held_leads_of.0.get().map(|(id, workspace)| view! { <HeldLeads id workspace /> })}
    }
}

#[component]
fn ImportRow(import: Memo<ImportSummary>) -> impl IntoView {
    let id = import.with_untracked(|i| i.id);
    let state = Memo::new(move |_| import.with(|i| i.state));
    let counts = Memo::new(move |_| import.with(|i| i.counts));
    let priority = Memo::new(move |_| import.with(|i| i.priority));
    let filename =
        import.with_untracked(|i| i.filename.clone().unwrap_or_else(|| format!("{} via {}", i.format, i.source)));
    view! {
        <tr data-import=id.to_string()>
            <td>{id}</td>
            <td>{filename}</td>
            <td>
                <span class=move || format!("badge state-{}", state.get().as_str())>{move || state.get().as_str().replace('_', " ")}</span>
                {move || import.with(|i| i.error.clone()).map(|e| view! { <div class="muted small">{e}</div> })}
                {move || (state.get() == ImportState::AwaitingDecision)
                    .then(|| view! { <Decision id estimated=import.with_untracked(|i| i.estimated_credits) /> })}
            </td>
            <td>{move || int(counts.get().rows)}</td>
            <td>{move || {
                let counts = counts.get();
                format!("{}{}", int(counts.accepted), if counts.held > 0 { format!(" ({} held)", int(counts.held)) } else { String::new() })
            }}</td>
            <td>
                {move || {
                    let rejected = counts.get().rejected;
                    if rejected > 0 {
                        view! { <a href=format!("/imports/{id}/rejects.csv") rel="external" download="">{int(rejected)}</a> }.into_any()
                    } else {
                        view! { "0" }.into_any()
                    }
                }}
            </td>
            <td>{move || int(counts.get().duplicates)}</td>
            <td><Delivery import /></td>
            <td>{move || view! { <PriorityChoice id state=state.get() priority=priority.get() /> }}</td>
            <td>{format_utc_minutes(import.with_untracked(|i| i.created_at))}</td>
        </tr>
    }
}

/// The operator's choice for an import whose estimate passes the month's remaining budget.
#[component]
pub(super) fn Decision(id: i64, estimated: f64) -> impl IntoView {
    let decide = ServerAction::<DecideImport>::new();
    refresh_after(decide);
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

/// Which of an import's batch controls apply: they change with its state, far less often than
/// its figures.
#[derive(Clone, Copy, PartialEq)]
struct Controls {
    pause: bool,
    resume: bool,
    stop: bool,
    requeue_dead: bool,
    send_held: bool,
    see_dead: bool,
    download: bool,
}

impl Controls {
    fn of(state: ImportState, delivery: &DeliveryCounts) -> Self {
        // A finished import stays `queued`: its controls go once nothing is left to pause or stop.
        let sending = delivery.queued + delivery.in_flight + delivery.retrying + delivery.waiting;
        let left = sending + delivery.paused + delivery.held;
        Self {
            pause: state == ImportState::Queued && sending > 0,
            resume: state == ImportState::Paused,
            stop: state.sends_leads() && left > 0,
            requeue_dead: delivery.dead > 0 && state.sends_leads(),
            send_held: delivery.held > 0 && state.sends_leads(),
            see_dead: delivery.dead > 0,
            download: delivery.delivered + delivery.dead > 0,
        }
    }
}

/// Where the import's leads stand on their way to Clay, with the batch controls.
#[component]
fn Delivery(import: Memo<ImportSummary>) -> impl IntoView {
    let (id, workspace) = import.with_untracked(|i| (i.id, i.workspace_id));
    let control = ServerAction::<ControlImport>::new();
    refresh_after(control);
    let delivery = Memo::new(move |_| import.with(|i| i.delivery));
    let accepted = Memo::new(move |_| import.with(|i| i.counts.accepted));
    let controls = Memo::new(move |_| import.with(|i| Controls::of(i.state, &i.delivery)));
    // Held leads (no routing rule took them, or beyond the budget) and stopped ones are accepted
    // but not on their way to Clay.
    let to_send = move || accepted.get().saturating_sub(delivery.with(|d| d.held + d.cancelled));
    let percent = move || {
        let to_send = to_send();
        let delivered = delivery.with(|d| d.delivered);
        let percent = if to_send == 0 { 0.0 } else { delivered as f64 * 100.0 / to_send as f64 };
        format!("{percent:.1}")
    };
    let progress = move || {
        let to_send = to_send();
        delivery.with(|d| {
            if to_send == 0 && d.held > 0 {
                "nothing on its way: every lead is held".to_owned()
            } else {
                format!("{} of {} delivered", int(d.delivered), int(to_send))
            }
        })
    };
    let parts = move || {
        let d = delivery.get();
        [
            ("in flight", d.in_flight),
            ("queued", d.queued),
            ("retrying", d.retrying),
            ("waiting", d.waiting),
            ("paused", d.paused),
            ("dead", d.dead),
            ("stopped", d.cancelled),
            ("held", d.held),
            ("called back", d.called_back),
            ("no callback", d.no_callback),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(label, n)| format!("{} {label}", int(n)))
        .collect::<Vec<_>>()
        .join(" · ")
    };
    let button = move |label: &'static str, action: &'static str| {
        view! {
            <button type="button" class="small" data-action=action
                on:click=move |_| { control.dispatch(ControlImport { id, action: action.into() }); }>{label}</button>
        }
    };
    let operator = can(Role::Operator);
    let held_leads_of = use_context::<HeldLeadsOf>();
    let dead_leads_of = use_context::<DeadLeadsOf>();
    view! {
        <div class="delivery" data-testid="delivery">
            <progress max="100" value=percent></progress>
            <div class="small" data-testid="delivered">{progress}</div>
            <div class="muted small" data-testid="delivery-parts">{parts}</div>
            {move || controls.get().download.then(|| view! {
                <a class="small" href=format!("/imports/{id}/leads.csv") rel="external" download="" data-testid="download-leads">
                    "Download enriched leads (CSV)"
                </a>
            })}
            {move || {
                let shown = controls.get();
                operator.then(|| view! {
                    <div class="controls">
                        {shown.pause.then(|| button("Pause", "pause"))}
                        {shown.resume.then(|| button("Resume", "resume"))}
                        {shown.stop.then(|| button("Stop delivery", "cancel"))}
                        {shown.requeue_dead.then(|| button("Requeue dead", "requeue_dead"))}
                    </div>
                })
            }}
            {move || (operator && controls.get().send_held).then(|| view! {
                <button type="button" class="small link" data-testid="show-held-leads"
                    on:click=move |_| { if let Some(of) = held_leads_of { of.0.set(Some((id, workspace))); } }>
                    {move || format!("Send the {} held…", int(delivery.with(|d| d.held)))}
                </button>
            })}
            {move || controls.get().see_dead.then(|| view! {
                <button type="button" class="small link" data-testid="show-dead-leads"
                    on:click=move |_| { if let Some(of) = dead_leads_of { of.0.set(Some(id)); } }>
                    {move || format!("See the {} dead", int(delivery.with(|d| d.dead)))}
                </button>
            })}
            {move || control.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
        </div>
    }
}

/// Refreshes the list once `action` has changed an import.
fn refresh_after<S>(action: ServerAction<S>)
where
    S: ServerFn<Output = ImportSummary> + Clone + Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    let changed = use_context::<ImportsChanged>();
    Effect::new(move |_| {
        if let Some(changed) = changed
            && action.value().with(|value| matches!(value, Some(Ok(_))))
        {
            changed.0.update(|n| *n += 1);
        }
    });
}

/// The import's priority; operators change it, with one click, while its leads are still to be
/// sent.
#[component]
fn PriorityChoice(id: i64, state: ImportState, priority: Priority) -> impl IntoView {
    let change = ServerAction::<SetImportPriority>::new();
    refresh_after(change);
    if !can(Role::Operator)
        || !matches!(state, ImportState::Queued | ImportState::Paused | ImportState::AwaitingDecision)
    {
        return view! { <span>{priority.as_str()}</span> }.into_any();
    }
    let group = format!("priority-{id}");
    view! {
        <div class="segmented compact" role="radiogroup" aria-label="Priority" data-testid="priority">
            {Priority::ALL
                .into_iter()
                .map(|p| view! {
                    <label>
                        <input type="radio" name=group.clone() value=p.as_str() checked={p == priority}
                            on:change=move |_| { change.dispatch(SetImportPriority { id, priority: p.as_str().into() }); } />
                        {p.as_str()}
                    </label>
                })
                .collect_view()}
        </div>
        {move || change.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorNotice error /> })}
    }
    .into_any()
}

/// The dead leads of one import, each with what was last answered, and a requeue per lead.
#[component]
fn DeadLeads(id: i64) -> impl IntoView {
    let requeue = ServerAction::<RequeueDeadLead>::new();
    refresh_after(requeue);
    let leads = Resource::new(move || requeue.version().get(), move |_| dead_leads(id));
    let operator = can(Role::Operator);
    let dead_leads_of = use_context::<DeadLeadsOf>();
    let close = move |_| {
        if let Some(of) = dead_leads_of {
            of.0.set(None);
        }
    };
    view! {
        <div class="card" data-testid="dead-leads">
            <div class="card-head">
                <h2>{format!("Dead leads of import {id}")}</h2>
                <button type="button" class="small" on:click=close>"Close"</button>
            </div>
            <p class="muted small">"Leads Kiln gave up on, with the last answer. A requeued lead gets a fresh set of attempts."</p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match leads.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No dead leads left."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="table">
                                    <thead><tr><th>"Lead (kiln_id)"</th><th>"Line"</th><th>"Attempts"</th><th>"Last answer"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|lead| {
                                            let lead_id = lead.id;
                                            // The error names its status where it has one.
                                            let answer = lead
                                                .last_error
                                                .or_else(|| lead.last_status.map(|status| format!("HTTP {status}")))
                                                .unwrap_or_default();
                                            view! {
                                                <tr data-lead=lead_id.to_string()>
                                                    <td>{lead_id}</td>
                                                    <td>{lead.line}</td>
                                                    <td>{lead.attempts}</td>
                                                    <td>{answer}</td>
                                                    <td>{operator.then(|| view! {
                                                        <button type="button" class="small"
                                                            on:click=move |_| { requeue.dispatch(RequeueDeadLead { id, lead_id }); }>"Requeue"</button>
                                                    })}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
            {move || requeue.value().get().map(|result| match result {
                Ok(_) => view! { <p class="notice ok" data-testid="requeued">"Requeued: it goes out again with the next sends."</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
}

/// Sends an import's held leads on their way: the unrouted ones to a table the operator picks
/// among the workspace's, those held beyond the budget to their own.
#[component]
fn HeldLeads(id: i64, workspace: i64) -> impl IntoView {
    let send = ServerAction::<QueueHeldLeads>::new();
    refresh_after(send);
    // Counted again once some were sent.
    let facts = Resource::new(
        move || send.version().get(),
        move |_| async move {
            let held = import_held_leads(id).await?;
            let workspace = workspaces_overview().await?.into_iter().find(|w| w.workspace.id == workspace);
            Ok::<_, crate::error::AppError>(HeldFacts {
                held,
                budget_left: workspace.as_ref().and_then(|w| w.budget.remaining()),
                tables: workspace
                    .map(|w| {
                        w.tables.into_iter().map(|t| (t.table.id, t.table.name, t.table.credits_per_lead)).collect()
                    })
                    .unwrap_or_default(),
            })
        },
    );
    let table = RwSignal::new(None::<i64>);
    let held_leads_of = use_context::<HeldLeadsOf>();
    let close = move |_| {
        if let Some(of) = held_leads_of {
            of.0.set(None);
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        send.dispatch(QueueHeldLeads { id, table_id: table.get_untracked() });
    };
    view! {
        <div class="card" data-testid="held-leads">
            <div class="card-head">
                <h2>{format!("Held leads of import {id}")}</h2>
                <button type="button" class="small" on:click=close>"Close"</button>
            </div>
            <p class="muted small">
                "Leads that matched no routing rule wait for a table; leads held beyond the budget keep theirs."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match facts.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(HeldFacts { held, budget_left, tables }) => {
                            let options = tables.iter().map(|(table_id, name, _)| {
                                view! { <option value=table_id.to_string()>{name.clone()}</option> }
                            }).collect_view();
                            let estimate = move || {
                                let per_unrouted = table.get().and_then(|chosen| {
                                    tables.iter().find(|(id, _, _)| *id == chosen).map(|(_, _, credits)| *credits)
                                });
                                held_estimate(&held, per_unrouted, budget_left)
                            };
                            view! {
                                <p data-testid="held-estimate">{estimate}</p>
                                <form class="inline-form" on:submit=on_submit>
                                    <label>"Table for the unrouted ones"
                                        <select data-testid="held-table" on:change=move |ev| table.set(event_target_value(&ev).parse().ok())>
                                            <option value="">"— none: only those held beyond the budget —"</option>
                                            {options}
                                        </select>
                                    </label>
                                    <button type="submit" class="primary" disabled=move || send.pending().get()>"Send them"</button>
                                </form>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            {move || send.value().get().map(|result| match result {
                Ok(_) => view! { <p class="notice ok" data-testid="held-sent">"Sent: they go out with the next sends."</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
}

/// What the held-leads card needs: the held leads, the month's budget left, the workspace's
/// tables (id, name, credits per lead).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct HeldFacts {
    held: HeldLeads,
    budget_left: Option<f64>,
    tables: Vec<(i64, String, f64)>,
}

/// What sending an import's held leads would take, against the month's budget: the unrouted
/// ones at the chosen table's estimate (`None` until one is chosen: they stay held).
fn held_estimate(held: &HeldLeads, per_unrouted: Option<f64>, budget_left: Option<f64>) -> String {
    let mut why = Vec::new();
    if held.unrouted > 0 {
        why.push(format!("{} matched no routing rule", int(held.unrouted)));
    }
    if held.beyond_budget > 0 {
        why.push(format!("{} were held beyond the budget", int(held.beyond_budget)));
    }
    if why.is_empty() {
        return "No lead of this import is held.".into();
    }
    let credits = held.credits(per_unrouted);
    let mut text = format!("{} held: {}. ", int(held.unrouted + held.beyond_budget), why.join(", "));
    if held.unrouted > 0 && per_unrouted.is_none() {
        text.push_str("Choose a table for the unrouted ones");
        if held.beyond_budget > 0 {
            text.push_str(&format!(
                "; those beyond the budget alone need about {} data credits",
                int(credits.round() as u64)
            ));
        }
    } else {
        text.push_str(&format!("Sending them needs about {} data credits", int(credits.round() as u64)));
    }
    match budget_left {
        Some(left) => {
            text.push_str(&format!("; {} left in this month's budget.", int(left.round() as u64)));
            if credits > left {
                text.push_str(" That is more than the budget has left: delivery stops at the cap, and the rest wait.");
            }
        }
        None => text.push_str("; the workspace has no credit budget."),
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_held_estimate_says_why_they_are_held_and_what_sending_them_takes() {
        let held = HeldLeads { unrouted: 4, beyond_budget: 3, beyond_budget_credits: 6.0 };
        assert_eq!(
            held_estimate(&held, None, Some(10.0)),
            "7 held: 4 matched no routing rule, 3 were held beyond the budget. Choose a table for the unrouted \
             ones; those beyond the budget alone need about 6 data credits; 10 left in this month's budget."
        );
        assert_eq!(
            held_estimate(&held, Some(2.0), Some(10.0)),
            "7 held: 4 matched no routing rule, 3 were held beyond the budget. Sending them needs about 14 data \
             credits; 10 left in this month's budget. That is more than the budget has left: delivery stops at \
             the cap, and the rest wait."
        );
        let unrouted = HeldLeads { unrouted: 2, ..HeldLeads::default() };
        assert_eq!(
            held_estimate(&unrouted, Some(1.5), None),
            "2 held: 2 matched no routing rule. Sending them needs about 3 data credits; the workspace has no \
             credit budget."
        );
        assert_eq!(held_estimate(&HeldLeads::default(), None, None), "No lead of this import is held.");
    }
}
