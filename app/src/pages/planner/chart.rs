//! Monthly cost against monthly leads for the current recipe, drawn as SVG in the browser.

use super::PlannerState;
use crate::{charts::cost, planner::cost_curve};
use leptos::prelude::*;

const POINTS: usize = 48;

#[component]
pub(super) fn CostChart(state: PlannerState) -> impl IntoView {
    // The curve depends on everything but the volume, the marker on the volume alone: typing a
    // lead count moves the marker without recomputing the curve.
    let shape = Memo::new(move |_| {
        let mut scenario = state.scenario.get();
        scenario.monthly_leads = 0;
        scenario
    });
    let curve = Memo::new(move |_| cost_curve(&shape.read(), &state.catalog.read(), POINTS));
    let markup = move || {
        curve.with(|(points, boundaries)| cost::render(points, boundaries, state.scenario.with(|s| s.monthly_leads)))
    };

    view! {
        <div class="card">
            <h2>"Monthly cost from 10K to 1M leads"</h2>
            <p class="muted">"The cheapest plan at each volume for the current enrichment; dashed lines mark where the plan changes. Hover a point for its value."</p>
            <svg class="chart" data-testid="cost-chart" viewBox=cost::view_box() role="img"
                aria-label="Monthly cost against monthly leads" inner_html=markup></svg>
        </div>
    }
}
