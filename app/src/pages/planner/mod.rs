//! `/planner`: the capacity planner. Every output is recomputed in the browser on each keystroke
//! (the pure `crate::planner`, compiled to WASM); the server only supplies the plan catalog once
//! and keeps the team's saved scenarios.

mod catalog_editor;
mod chart;
mod compare;
mod inputs;
mod outputs;
mod saved;

pub use compare::ComparePage;
pub use outputs::render as render_outputs;

use crate::{
    components::notice::ErrorNotice,
    error::AppError,
    planner::{self, Plan, SavedScenario, Scenario},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[server(input = server_fn::codec::Json)]
pub async fn plan_catalog() -> Result<Vec<Plan>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.planner.catalog().await)
}

#[server(input = server_fn::codec::Json)]
pub async fn update_plan(plan: Plan) -> Result<(), AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.planner.update_plan(&actor, plan).await)
}

#[server(input = server_fn::codec::Json)]
pub async fn saved_scenarios() -> Result<Vec<SavedScenario>, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.planner.scenarios().await)
}

#[server(input = server_fn::codec::Json)]
pub async fn save_scenario(name: String, query: String) -> Result<SavedScenario, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, actor) = authorize(Role::Operator)?;
    respond(services.planner.save_scenario(&actor, name, query).await)
}

/// The planner's state, shared by its parts.
#[derive(Clone, Copy)]
pub(super) struct PlannerState {
    pub scenario: RwSignal<Scenario>,
    pub catalog: RwSignal<Vec<Plan>>,
    /// Bumped when the whole scenario is replaced (a preset, a saved scenario), so the inputs
    /// show the new values; typing does not bump it, so a field never rewrites what is typed.
    pub revision: RwSignal<u32>,
}

impl PlannerState {
    /// Replaces the scenario and refreshes every input.
    pub fn load(&self, scenario: Scenario) {
        self.scenario.set(scenario);
        self.revision.update(|r| *r += 1);
    }
}

#[component]
pub fn PlannerPage() -> impl IntoView {
    let catalog = Resource::new(|| (), |_| plan_catalog());
    view! {
        <Title text="Planner" />
        <section class="page planner">
            <div class="page-head">
                <h1>"Planner"</h1>
                <p class="muted">
                    "What plan, how many webhooks and tables, how long and what it costs — recomputed as you type."
                </p>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading the plan catalog…"</p> }>
                {move || Suspend::new(async move {
                    match catalog.await {
                        Ok(plans) => view! { <Planner plans /> }.into_any(),
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Planner(plans: Vec<Plan>) -> impl IntoView {
    let query = use_query_map();
    let initial = query.with_untracked(|q| Scenario::from_query(|key| q.get_str(key)));
    let state =
        PlannerState { scenario: RwSignal::new(initial), catalog: RwSignal::new(plans), revision: RwSignal::new(0) };
    let outcome = Memo::new(move |_| planner::plan(&state.scenario.read(), &state.catalog.read()));

    // The scenario lives in the URL, so a copied link reproduces it. `replaceState` changes the
    // address without a request or a history entry per keystroke.
    Effect::new(move |_| {
        let url = format!("/planner?{}", state.scenario.with(Scenario::to_query_string));
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
    });

    view! {
        <div class="planner-grid">
            <div class="planner-inputs">
                <inputs::Inputs state outcome />
            </div>
            <aside class="planner-outputs">
                <outputs::Outputs outcome />
            </aside>
        </div>
        <chart::CostChart state />
        <saved::SavedScenarios state />
        <catalog_editor::CatalogEditor catalog=state.catalog />
    }
}
