//! `/planner/compare?ids=…`: two or three saved scenarios side by side.

use super::{
    outputs::{rollover_text, send_hours_text},
    plan_catalog, saved_scenarios,
};
use crate::{
    components::notice::ErrorNotice,
    format::int,
    markup::escape,
    planner::{self, Outcome, Plan, SavedScenario, describe_cost, describe_plan},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::fmt::Write;

type Row = (&'static str, &'static str, fn(&Outcome) -> String);

const ROWS: [Row; 11] = [
    ("Data credits / month", "data-credits-month", |o| int(o.credits_month)),
    ("Worst case", "data-credits-worst", |o| int(o.credits_worst)),
    ("Actions / month", "actions-month", |o| int(o.actions_month)),
    ("Plan", "plan", |o| describe_plan(&o.plan)),
    ("Monthly cost", "monthly-cost", |o| describe_cost(o.plan.monthly_cost)),
    ("Annual cost", "annual-cost", |o| describe_cost(o.plan.annual_cost)),
    ("Webhooks used up / month", "webhooks-month", |o| int(o.webhooks_month)),
    ("Webhooks / year", "webhooks-year", |o| int(o.webhooks_year)),
    ("Tables", "tables", |o| int(o.tables)),
    ("Time to send", "send-hours", send_hours_text),
    ("Rolls over", "rollover", |o| rollover_text(o.rollover)),
];

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let ids = move || -> Vec<i64> {
        query.read().get("ids").unwrap_or_default().split(',').filter_map(|id| id.trim().parse().ok()).take(3).collect()
    };
    let data = Resource::new(
        || (),
        |_| async { Ok::<_, crate::error::AppError>((plan_catalog().await?, saved_scenarios().await?)) },
    );

    view! {
        <Title text="Compare scenarios" />
        <section class="page">
            <div class="page-head">
                <h1>"Compare scenarios"</h1>
                <a href="/planner">"← Back to the planner"</a>
            </div>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok((catalog, saved)) => {
                            let chosen: Vec<SavedScenario> =
                                ids().into_iter().filter_map(|id| saved.iter().find(|s| s.id == id).cloned()).collect();
                            if chosen.len() < 2 {
                                view! { <p class="notice warn">"Choose two or three saved scenarios on the planner to compare."</p> }.into_any()
                            } else {
                                view! { <Comparison catalog chosen /> }.into_any()
                            }
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The comparison table's inner HTML: a row per figure, a column per scenario.
fn render(catalog: &[Plan], chosen: &[SavedScenario]) -> String {
    let outcomes: Vec<Outcome> = chosen.iter().map(|s| planner::plan(&s.scenario(), catalog)).collect();
    let mut out = String::from("<thead><tr><th></th>");
    for saved in chosen {
        let _ = write!(
            out,
            r#"<th><a href="/planner?{}">{}</a><div class="muted small">{} leads/month</div></th>"#,
            escape(&saved.query),
            escape(&saved.name),
            int(saved.scenario().monthly_leads)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for (label, testid, value) in ROWS {
        let _ = write!(out, r#"<tr><th scope="row">{label}</th>"#);
        for outcome in &outcomes {
            let _ = write!(out, r#"<td data-testid="{testid}">{}</td>"#, escape(&value(outcome)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody>");
    out
}

#[component]
fn Comparison(catalog: Vec<Plan>, chosen: Vec<SavedScenario>) -> impl IntoView {
    view! {
        <div class="card table-scroll">
            <table class="table compare" data-testid="comparison" inner_html=render(&catalog, &chosen)></table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::default_catalog;

    #[test]
    fn each_scenario_gets_a_column_of_its_figures() {
        let saved = |id, name: &str, query: &str| SavedScenario {
            id,
            name: name.into(),
            query: query.into(),
            saved_by: "ada@example.com".into(),
            saved_at: 0,
        };
        let html = render(
            &default_catalog(),
            &[saved(1, "Small <test>", "leads=10000&cpl=1"), saved(2, "Seed", "leads=50000&cpl=6")],
        );
        assert!(html.contains("Small &lt;test&gt;") && !html.contains("<test>"));
        let tables: Vec<&str> =
            html.match_indices(r#"data-testid="tables">"#).map(|(i, m)| &html[i + m.len()..i + m.len() + 1]).collect();
        assert_eq!(tables, ["1", "5"]);
        assert!(html.contains(r#"<td data-testid="data-credits-month">300,000</td>"#));
    }
}
