//! Saving the scenario by name for the team, opening saved ones, and picking some to compare.

use super::{PlannerState, SaveScenario, saved_scenarios};
use crate::{components::notice::ErrorNotice, domain::format_utc_minutes, planner::Scenario};
use leptos::prelude::*;
use std::collections::BTreeSet;

#[component]
pub(super) fn SavedScenarios(state: PlannerState) -> impl IntoView {
    let save = ServerAction::<SaveScenario>::new();
    let saved = Resource::new(move || save.version().get(), |_| saved_scenarios());
    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(BTreeSet::<i64>::new());

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let query = state.scenario.with_untracked(Scenario::to_query_string);
        save.dispatch(SaveScenario { name: name.get_untracked(), query });
    };
    let compare_href = move || {
        let ids: Vec<String> = chosen.get().iter().map(i64::to_string).collect();
        format!("/planner/compare?ids={}", ids.join(","))
    };
    let can_compare = move || (2..=3).contains(&chosen.with(BTreeSet::len));

    view! {
        <div class="card">
            <h2>"Saved scenarios"</h2>
            <form class="inline-form" on:submit=on_submit data-testid="save-scenario">
                <label>
                    "Name"
                    <input type="text" required maxlength="100" placeholder="e.g. Q1 outbound, email + phone"
                        prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save scenario"</button>
            </form>
            {move || save.value().get().map(|result| match result {
                Ok(s) => view! { <p class="notice ok">{format!("Saved as “{}”.", s.name)}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match saved.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No saved scenarios yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" data-testid="saved-scenarios">
                                <thead><tr><th>"Compare"</th><th>"Name"</th><th>"Saved by"</th><th>"When"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|saved| {
                                        let id = saved.id;
                                        let scenario = saved.scenario();
                                        let saved_name = saved.name.clone();
                                        view! {
                                            <tr data-scenario=saved.name.clone()>
                                                <td><input type="checkbox" aria-label=format!("Compare {}", saved.name)
                                                    prop:checked=move || chosen.with(|c| c.contains(&id))
                                                    on:change=move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        chosen.update(|c| { if on { c.insert(id); } else { c.remove(&id); } });
                                                    } /></td>
                                                <td>{saved.name.clone()}</td>
                                                <td>{saved.saved_by}</td>
                                                <td>{format_utc_minutes(saved.saved_at)}</td>
                                                <td><button type="button" on:click=move |_| {
                                                    state.load(scenario.clone());
                                                    name.set(saved_name.clone());
                                                }>"Open"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <a class="button" class:disabled=move || !can_compare() href=compare_href
                                aria-disabled=move || (!can_compare()).to_string() data-testid="compare-link"
                                on:click=move |ev| if !can_compare() { ev.prevent_default() }>
                                "Compare the chosen scenarios side by side (2 or 3)"
                            </a>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
