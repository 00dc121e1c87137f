//! The plan catalog the planner uses. Clay's prices change and sources disagree, so admins edit
//! it here; everyone else reads it.

use super::UpdatePlan;
use crate::{
    components::notice::ErrorNotice,
    domain::Role,
    format::{decimal, int},
    planner::Plan,
    session::use_session,
};
use leptos::prelude::*;

fn optional_number(value: Option<f64>) -> String {
    value.map(|v| decimal(v, 2)).unwrap_or_default()
}

/// Empty means "none"; anything unreadable is refused.
fn parse_optional(text: &str) -> Result<Option<f64>, ()> {
    let text = text.trim().replace(',', "");
    if text.is_empty() { Ok(None) } else { text.parse::<f64>().map(Some).map_err(|_| ()) }
}

#[component]
pub(super) fn CatalogEditor(catalog: RwSignal<Vec<Plan>>) -> impl IntoView {
    // Decided once: a role does not change while the page is open.
    let editable = use_session().and_then(|s| s.user()).is_some_and(|u| u.role.allows(Role::Admin));
    let plans = catalog.get_untracked();
    view! {
        <details class="card catalog">
            <summary><h2>"Plan catalog"</h2></summary>
            <p class="muted">
                "Clay's 2026 plans and the legacy ones. Expansion is priced at each plan's own unit price unless you enter your quote."
                {(!editable).then_some(" Only admins can edit it.")}
            </p>
            <div class="table-scroll">
                <table class="table catalog-table" data-testid="plan-catalog">
                    <thead>
                        <tr>
                            <th>"Plan"</th><th>"$/month"</th><th>"$/month, annual"</th><th>"Actions"</th><th>"Data credits"</th>
                            <th>"Max Actions"</th><th>"Max data credits"</th><th>"$ per 1K Actions"</th><th>"$ per 1K credits"</th>
                            <th>"Rollover ×"</th><th></th>
                        </tr>
                    </thead>
                    <tbody>
                        {plans.into_iter().map(|plan| view! { <PlanRow plan catalog editable /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </details>
    }
}

#[component]
fn PlanRow(plan: Plan, catalog: RwSignal<Vec<Plan>>, editable: bool) -> impl IntoView {
    let update = ServerAction::<UpdatePlan>::new();
    let draft = RwSignal::new(plan.clone());
    let invalid = RwSignal::new(None::<String>);

    // Once the server accepted the change, the planner uses it at once.
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            let saved = draft.get_untracked();
            catalog.update(|plans| {
                if let Some(p) = plans.iter_mut().find(|p| p.key == saved.key) {
                    *p = saved;
                }
            });
        }
    });

    let cell = move |get: fn(&Plan) -> Option<f64>, set: fn(&mut Plan, Option<f64>), label: &'static str| {
        if !editable {
            let text =
                draft.with_untracked(|p| get(p).map(|v| if v.fract() == 0.0 { int(v as u64) } else { decimal(v, 2) }));
            return view! { <td>{text.unwrap_or_else(|| "—".to_owned())}</td> }.into_any();
        }
        view! {
            <td>
                <input type="text" inputmode="decimal" class="narrow" aria-label=label
                    value=draft.with_untracked(|p| optional_number(get(p)))
                    on:input=move |ev| match parse_optional(&event_target_value(&ev)) {
                        Ok(v) => { draft.update(|p| set(p, v)); invalid.set(None); }
                        Err(()) => invalid.set(Some(format!("{label}: not a number"))),
                    } />
            </td>
        }
        .into_any()
    };
    let name = plan.name.clone();

    view! {
        <tr data-plan=plan.key.clone()>
            <td>{name}{plan.legacy.then(|| view! { <span class="badge">"legacy"</span> })}</td>
            {cell(|p| p.monthly_price, |p, v| p.monthly_price = v, "Monthly price")}
            {cell(|p| p.annual_monthly_price, |p, v| p.annual_monthly_price = v, "Monthly price billed annually")}
            {cell(|p| p.actions.map(|a| a as f64), |p, v| p.actions = v.map(|a| a as u64), "Actions")}
            {cell(|p| Some(p.data_credits as f64), |p, v| p.data_credits = v.unwrap_or(0.0) as u64, "Data credits")}
            {cell(|p| p.max_actions.map(|a| a as f64), |p, v| p.max_actions = v.map(|a| a as u64), "Max Actions")}
            {cell(|p| Some(p.max_data_credits as f64), |p, v| p.max_data_credits = v.unwrap_or(0.0) as u64, "Max data credits")}
            {cell(|p| Some(p.extra_actions_price_per_1k), |p, v| p.extra_actions_price_per_1k = v.unwrap_or(0.0), "Price per 1,000 Actions")}
            {cell(|p| Some(p.extra_credits_price_per_1k), |p, v| p.extra_credits_price_per_1k = v.unwrap_or(0.0), "Price per 1,000 data credits")}
            {cell(|p| Some(p.rollover_multiple), |p, v| p.rollover_multiple = v.unwrap_or(0.0), "Rollover multiple")}
            <td>
                {editable.then(|| view! {
                    <button type="button" disabled=move || invalid.with(Option::is_some) || update.pending().get()
                        on:click=move |_| { update.dispatch(UpdatePlan { plan: draft.get_untracked() }); }>"Save"</button>
                })}
                {move || invalid.get().map(|message| view! { <p class="notice error">{message}</p> })}
                {move || match update.value().get() {
                    Some(Ok(())) => Some(view! { <span class="badge active">"saved"</span> }.into_any()),
                    Some(Err(error)) => Some(view! { <ErrorNotice error /> }.into_any()),
                    None => None,
                }}
            </td>
        </tr>
    }
}
