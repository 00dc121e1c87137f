//! The planner's inputs. Fields read the scenario when it is loaded and write it on every
//! keystroke; they never rewrite themselves while someone types.

use super::PlannerState;
use crate::{
    format::decimal,
    planner::{Enrichment, Outcome, PRESETS, PlanChoice, Recipe, Scenario, Step, preset},
};
use leptos::prelude::*;

/// A labelled number input bound to one figure of the scenario.
#[component]
fn NumberField(
    state: PlannerState,
    label: &'static str,
    testid: &'static str,
    get: fn(&Scenario) -> f64,
    set: fn(&mut Scenario, f64),
    #[prop(default = "any")] step: &'static str,
    #[prop(default = None)] max: Option<f64>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    let value = move || {
        state.revision.track();
        decimal(state.scenario.with_untracked(get), 4)
    };
    let on_input = move |ev| {
        let parsed = event_target_value(&ev).trim().replace(',', "").parse::<f64>();
        if let Ok(v) = parsed
            && v.is_finite()
            && v >= 0.0
            && max.is_none_or(|max| v <= max)
        {
            state.scenario.update(|s| set(s, v));
        }
    };
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="number" min="0" step=step inputmode="decimal" data-testid=testid prop:value=value on:input=on_input />
            {hint.map(|hint| view! { <small class="muted">{hint}</small> })}
        </label>
    }
}

fn recipe_of(s: &Scenario) -> Option<&Recipe> {
    match &s.enrichment {
        Enrichment::Recipe(recipe) => Some(recipe),
        Enrichment::Simple { .. } => None,
    }
}

fn with_recipe(s: &mut Scenario, change: impl FnOnce(&mut Recipe)) {
    if let Enrichment::Recipe(recipe) = &mut s.enrichment {
        change(recipe);
    }
}

#[component]
pub(super) fn Inputs(state: PlannerState, outcome: Memo<Outcome>) -> impl IntoView {
    let scenario = state.scenario;
    let is_recipe = Memo::new(move |_| scenario.with(|s| recipe_of(s).is_some()));
    // The mode not in use keeps its last values, so switching back and forth loses nothing.
    let parked = StoredValue::new(None::<Enrichment>);
    let switch_mode = move |to_recipe: bool| {
        if to_recipe == is_recipe.get_untracked() {
            return;
        }
        let mut next = scenario.get_untracked();
        let default = if to_recipe {
            Enrichment::Recipe(preset("email").unwrap_or(Recipe {
                steps: vec![],
                ai_prompts: 0.0,
                credits_per_prompt: 0.5,
            }))
        } else {
            Enrichment::Simple { credits_per_lead: 6.0, own_key: false }
        };
        let restored =
            parked.get_value().filter(|e| matches!(e, Enrichment::Recipe(_)) == to_recipe).unwrap_or(default);
        parked.set_value(Some(std::mem::replace(&mut next.enrichment, restored)));
        state.load(next);
    };

    let volume = |leads: u64, label: &'static str| {
        view! {
            <button type="button" class="chip" on:click=move |_| {
                let mut next = scenario.get_untracked();
                next.monthly_leads = leads;
                state.load(next);
            }>{label}</button>
        }
    };

    view! {
        <div class="card">
            <h2>"Volume"</h2>
            <NumberField state label="Leads per month" testid="monthly-leads" step="1000"
                get=|s| s.monthly_leads as f64 set=|s, v| s.monthly_leads = v.round() as u64 />
            <div class="chips" aria-label="Quick volumes">
                {volume(10_000, "10K")} {volume(100_000, "100K")} {volume(1_000_000, "1M")}
            </div>
        </div>

        <div class="card">
            <h2>"Enrichment per lead"</h2>
            <div class="segmented" role="radiogroup" aria-label="How credits per lead are given">
                <label>
                    <input type="radio" name="mode" data-testid="mode-simple"
                        prop:checked=move || !is_recipe.get() on:change=move |_| switch_mode(false) />
                    "Simple"
                </label>
                <label>
                    <input type="radio" name="mode" data-testid="mode-recipe"
                        prop:checked=move || is_recipe.get() on:change=move |_| switch_mode(true) />
                    "Enrichment recipe"
                </label>
            </div>
            <Show when=move || is_recipe.get() fallback=move || view! { <SimpleInputs state /> }>
                <RecipeEditor state outcome />
            </Show>
            <label class="check">
                <input type="checkbox" data-testid="callback"
                    prop:checked=move || scenario.with(|s| s.callback)
                    on:change=move |ev| scenario.update(|s| s.callback = event_target_checked(&ev)) />
                "Enriched rows come back to Kiln through an HTTP API column (1 Action per lead)"
            </label>
        </div>

        <div class="card">
            <h2>"Plan"</h2>
            <PlanSelect state />
        </div>

        <details class="card limits">
            <summary><h2>"Clay's limits"</h2></summary>
            <div class="fields">
                <NumberField state label="Rate limit (records/s per workspace)" testid="rate" get=|s| s.rate_per_sec set=|s, v| s.rate_per_sec = v />
                <NumberField state label="Burst (records)" testid="burst" step="1" get=|s| s.burst as f64 set=|s, v| s.burst = v.round() as u64 />
                <NumberField state label="Sending hours per day" testid="hours" max=Some(24.0)
                    get=|s| s.sending_hours_per_day set=|s, v| s.sending_hours_per_day = v />
                <NumberField state label="Webhook lifetime cap" testid="webhook-cap" step="1000"
                    get=|s| s.webhook_cap as f64 set=|s, v| s.webhook_cap = v.round() as u64 />
                <NumberField state label="Webhook safety margin" testid="webhook-margin" step="500"
                    hint="Kiln moves to the next webhook this many submissions before the cap."
                    get=|s| s.webhook_margin as f64 set=|s, v| s.webhook_margin = v.round() as u64 />
                <NumberField state label="Rows per table" testid="rows-per-table" step="1000"
                    get=|s| s.rows_per_table as f64 set=|s, v| s.rows_per_table = v.round() as u64 />
                <NumberField state label="Clay's table row limit" testid="table-row-limit" step="1000"
                    get=|s| s.table_row_limit as f64 set=|s, v| s.table_row_limit = v.round() as u64 />
            </div>
        </details>
    }
}

#[component]
fn SimpleInputs(state: PlannerState) -> impl IntoView {
    let scenario = state.scenario;
    let own_key = move || scenario.with(|s| matches!(s.enrichment, Enrichment::Simple { own_key: true, .. }));
    view! {
        <div class="fields">
            <NumberField state label="Data credits per lead" testid="credits-per-lead"
                get=|s| match s.enrichment { Enrichment::Simple { credits_per_lead, .. } => credits_per_lead, _ => 0.0 }
                set=|s, v| if let Enrichment::Simple { credits_per_lead, .. } = &mut s.enrichment { *credits_per_lead = v } />
        </div>
        <label class="check">
            <input type="checkbox" data-testid="simple-own-key" prop:checked=own_key
                on:change=move |ev| {
                    let checked = event_target_checked(&ev);
                    scenario.update(|s| if let Enrichment::Simple { own_key, .. } = &mut s.enrichment { *own_key = checked });
                } />
            "Own provider API key (0 data credits, still 1 Action per lookup)"
        </label>
    }
}

#[component]
fn RecipeEditor(state: PlannerState, outcome: Memo<Outcome>) -> impl IntoView {
    let scenario = state.scenario;
    let step_count = Memo::new(move |_| scenario.with(|s| recipe_of(s).map_or(0, |r| r.steps.len())));
    let load_preset = move |ev| {
        let key = event_target_value(&ev);
        if let Some(recipe) = preset(&key) {
            let mut next = scenario.get_untracked();
            next.enrichment = Enrichment::Recipe(recipe);
            state.load(next);
        }
    };
    let add_step = move |_| {
        scenario.update(|s| {
            with_recipe(s, |r| {
                r.steps.push(Step {
                    name: String::new(),
                    credits: 2.0,
                    hit_rate_pct: 30.0,
                    own_key: false,
                    starts_waterfall: false,
                })
            })
        });
        state.revision.update(|r| *r += 1);
    };
    let per_lead = move || outcome.with(|o| o.per_lead);

    view! {
        <label class="field">
            <span>"Start from a preset"</span>
            <select data-testid="recipe-preset" on:change=load_preset>
                <option value="" selected>"Choose a recipe…"</option>
                {PRESETS.iter().map(|p| view! { <option value=p.key>{p.name}</option> }).collect_view()}
            </select>
        </label>
        <table class="table steps" data-testid="recipe-steps">
            <thead>
                <tr>
                    <th>"Step"</th><th>"Data credits"</th><th>"Hit rate %"</th>
                    <th title="With your own provider API key: 0 data credits, still 1 Action">"Own key"</th>
                    <th title="This step starts a new waterfall (e.g. phone after email), so it always runs">"New waterfall"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {move || {
                    state.revision.track();
                    (0..step_count.get()).map(|index| view! { <StepRow state index /> }).collect_view()
                }}
            </tbody>
        </table>
        <button type="button" on:click=add_step data-testid="add-step">"Add a step"</button>
        <div class="fields">
            <NumberField state label="AI prompts per lead" testid="ai-prompts"
                get=|s| recipe_of(s).map_or(0.0, |r| r.ai_prompts) set=|s, v| with_recipe(s, |r| r.ai_prompts = v) />
            <NumberField state label="Data credits per prompt" testid="credits-per-prompt"
                hint="A nano model costs about 0.5."
                get=|s| recipe_of(s).map_or(0.0, |r| r.credits_per_prompt) set=|s, v| with_recipe(s, |r| r.credits_per_prompt = v) />
        </div>
        <p class="muted per-lead" data-testid="per-lead">
            {move || {
                let use_ = per_lead();
                format!(
                    "Per lead: {} data credits expected ({} if every step runs), {} Actions expected.",
                    decimal(use_.credits, 2),
                    decimal(use_.worst_credits, 2),
                    decimal(use_.actions, 2)
                )
            }}
        </p>
    }
}

#[component]
fn StepRow(state: PlannerState, index: usize) -> impl IntoView {
    let scenario = state.scenario;
    // Properties, not attributes, carry the values: when a removal shifts the rows up, the
    // re-rendered row must show its new step even in a field the person already touched.
    let initial = scenario.with_untracked(|s| recipe_of(s).and_then(|r| r.steps.get(index).cloned()));
    let Some(step) = initial else { return ().into_any() };
    let edit = move |change: Box<dyn FnOnce(&mut Step)>| {
        scenario.update(|s| {
            with_recipe(s, |r| {
                if let Some(step) = r.steps.get_mut(index) {
                    change(step)
                }
            })
        });
    };
    let number = move |ev: &leptos::ev::Event| {
        event_target_value(ev).trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
    };
    let remove = move |_| {
        scenario.update(|s| {
            with_recipe(s, |r| {
                if index < r.steps.len() {
                    r.steps.remove(index);
                }
            })
        });
        state.revision.update(|r| *r += 1);
    };
    let label = move |what: &str| format!("Step {} {what}", index + 1);
    view! {
        <tr data-step=index>
            <td><input type="text" aria-label=label("name") prop:value=step.name
                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |s| s.name = v)) } /></td>
            <td><input type="number" min="0" step="any" aria-label=label("data credits") prop:value=decimal(step.credits, 4)
                on:input=move |ev| if let Some(v) = number(&ev) { edit(Box::new(move |s| s.credits = v)) } /></td>
            <td><input type="number" min="0" max="100" step="any" aria-label=label("hit rate") prop:value=decimal(step.hit_rate_pct, 4)
                on:input=move |ev| if let Some(v) = number(&ev).filter(|v| *v <= 100.0) { edit(Box::new(move |s| s.hit_rate_pct = v)) } /></td>
            <td><input type="checkbox" aria-label=label("own key") prop:checked=step.own_key
                on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |s| s.own_key = v)) } /></td>
            <td><input type="checkbox" aria-label=label("starts a new waterfall") prop:checked=step.starts_waterfall
                on:change=move |ev| { let v = event_target_checked(&ev); edit(Box::new(move |s| s.starts_waterfall = v)) } /></td>
            <td><button type="button" class="link" aria-label=label("remove") on:click=remove>"Remove"</button></td>
        </tr>
    }
    .into_any()
}

#[component]
fn PlanSelect(state: PlannerState) -> impl IntoView {
    let scenario = state.scenario;
    let selected = move || match scenario.with(|s| s.plan.clone()) {
        PlanChoice::Cheapest => String::new(),
        PlanChoice::Fixed(key) => key,
    };
    view! {
        <label class="field">
            <span>"Plan to cost"</span>
            <select data-testid="plan-choice" prop:value=selected on:change=move |ev| {
                let key = event_target_value(&ev);
                scenario.update(|s| s.plan = if key.is_empty() { PlanChoice::Cheapest } else { PlanChoice::Fixed(key) });
            }>
                <option value="">"The cheapest plan that covers it"</option>
                {move || state.catalog.get().into_iter().map(|plan| {
                    let key = plan.key.clone();
                    let is_selected = move || selected() == key;
                    view! { <option value=plan.key.clone() selected=is_selected>{plan.name}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}
