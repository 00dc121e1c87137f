//! The recent imports, and the decision an import over budget waits for.

use super::{DecideImport, ImportsChanged, recent_imports};
use crate::{
    components::notice::ErrorNotice,
    domain::{ImportState, ImportSummary, Role, format_utc_minutes},
    format::int,
    pages::workspaces::can,
};
use leptos::prelude::*;

#[component]
pub(super) fn RecentImports() -> impl IntoView {
    let changed = use_context::<ImportsChanged>();
    let imports = Resource::new(move || changed.map(|c| c.0.get()), |_| recent_imports());
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
                                        <th>"Rejected"</th><th>"Duplicates"</th><th>"Priority"</th><th>"When"</th>
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
