//! `/budgets`: each workspace's month of data credits and Actions against its budgets, drawn
//! day by day with the projection to the month's end, the last twelve months (estimate beside
//! actual) and each table's share.

use crate::{
    charts::budget,
    components::notice::ErrorNotice,
    domain::{Allowance, BudgetsOutlook, TableSpend, WorkspaceBudget, format_utc_minutes},
    error::AppError,
    format::{decimal, int},
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn load_budgets() -> Result<BudgetsOutlook, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.monitoring.budgets().await)
}

#[component]
pub fn BudgetsPage() -> impl IntoView {
    let outlook = Resource::new(|| (), |_| load_budgets());
    view! {
        <Title text="Budgets" />
        <section class="page">
            <div class="page-head">
                <h1>"Budgets"</h1>
                <p class="muted">
                    "Spent is what Clay's callbacks reported (or the table's estimate when they did not say); "
                    "reserved is the estimate of leads sent and not called back yet. Hover a chart for its values."
                </p>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match outlook.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(o) if o.workspaces.is_empty() => view! {
                            <div class="card empty"><p>"No workspace yet: create one under "<a href="/settings/workspaces">"Settings → Workspaces"</a>"."</p></div>
                        }.into_any(),
                        Ok(o) => {
                            let at = o.at;
                            o.workspaces.into_iter().map(|budget| view! { <WorkspaceBudgetCard budget at /> }).collect_view().into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}

fn amount(value: f64) -> String {
    if value.abs() >= 100.0 { int(value.max(0.0).round() as u64) } else { decimal(value, 1) }
}

#[component]
fn WorkspaceBudgetCard(budget: WorkspaceBudget, at: i64) -> impl IntoView {
    let month = format_utc_minutes(budget.month_start).chars().take(10).collect::<String>();
    let ends = format_utc_minutes(budget.month_end - 1).chars().take(10).collect::<String>();
    let projected = budget.projected_credits(at);
    let outlook = match (budget.credits.budget, budget.credits_run_out_at(at)) {
        (None, _) => format!("About {} data credits by {ends} at this month's pace; no budget set.", amount(projected)),
        (Some(_), Some(when)) if when <= at => {
            "The data-credit budget is used up: delivery waits for the next month.".to_owned()
        }
        (Some(limit), Some(when)) => format!(
            "At this month's pace the {} credit budget runs out about {}, before the month ends.",
            int(limit),
            format_utc_minutes(when).chars().take(10).collect::<String>()
        ),
        (Some(limit), None) => {
            format!("About {} of {} data credits by {ends} at this month's pace.", amount(projected), int(limit))
        }
    };
    let month_chart = budget::render_month(&budget, at);
    let year_chart = budget::render_year(&budget);
    let tables = budget.tables.clone();
    let month_credits = budget.credits.spent;
    view! {
        <div class="card budget" data-workspace=budget.workspace.clone()>
            <h2>{budget.workspace.clone()}</h2>
            <p class="muted">{format!("Budget month from {month} to {ends} (UTC)")}</p>
            <div class="allowances">
                <AllowanceView name="Data credits" key="credits" allowance=budget.credits />
                <AllowanceView name="Actions" key="actions" allowance=budget.actions />
            </div>
            <p data-testid="projection">{outlook}</p>
            <h3>"This month, day by day"</h3>
            <svg class="chart budget-month" data-testid="budget-month-chart" viewBox=budget::view_box() role="img"
                aria-label="Data credits spent this month, with the budget and the projection" inner_html=month_chart></svg>
            <h3>"The last twelve months"</h3>
            <svg class="chart budget-year" data-testid="budget-year-chart" viewBox=budget::view_box() role="img"
                aria-label="Data credits per month, estimate beside actual" inner_html=year_chart></svg>
            <h3>"Tables this month"</h3>
            {if tables.is_empty() {
                view! { <p class="muted">"No callbacks this month yet."</p> }.into_any()
            } else {
                view! { <TableShares tables month_credits /> }.into_any()
            }}
        </div>
    }
}

#[component]
fn AllowanceView(name: &'static str, key: &'static str, allowance: Allowance) -> impl IntoView {
    let share = allowance.share();
    let level = match share {
        Some(s) if s >= 1.0 => "full",
        Some(s) if s >= 0.8 => "high",
        _ => "ok",
    };
    view! {
        <div class=format!("allowance {level}") data-allowance=key>
            <h3>{name}</h3>
            <dl>
                <dt>"Spent"</dt><dd data-field="spent">{amount(allowance.spent)}</dd>
                <dt>"Reserved"</dt><dd data-field="reserved">{amount(allowance.reserved)}</dd>
                <dt>"Remaining"</dt>
                <dd data-field="remaining">{allowance.remaining().map_or("no budget".to_owned(), amount)}</dd>
                <dt>"Budget"</dt><dd data-field="budget">{allowance.budget.map_or("none".to_owned(), int)}</dd>
            </dl>
            {share.map(|s| view! {
                <div class="meter" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{:.0}", s * 100.0)
                    aria-label=format!("{name}: {:.0}% of the budget spent or reserved", s * 100.0)>
                    <div class="meter-fill" style=format!("width: {:.1}%", (s * 100.0).min(100.0))></div>
                </div>
                <p class="small muted">{format!("{:.0}% of the budget spent or reserved", s * 100.0)}</p>
            })}
        </div>
    }
}

#[component]
fn TableShares(tables: Vec<TableSpend>, month_credits: f64) -> impl IntoView {
    view! {
        <table class="table" data-testid="budget-tables">
            <thead><tr>
                <th>"Table"</th><th class="num">"Leads called back"</th><th class="num">"Credits estimated"</th>
                <th class="num">"Credits spent"</th><th class="num">"Actions"</th><th class="num">"Share"</th>
            </tr></thead>
            <tbody>
                {tables.into_iter().map(|t| {
                    let share = if month_credits > 0.0 { t.credits / month_credits * 100.0 } else { 0.0 };
                    view! {
                        <tr data-table=t.table_id.to_string()>
                            <td>{t.table.clone()}</td>
                            <td class="num">{int(t.leads)}</td>
                            <td class="num">{amount(t.credits_estimated)}</td>
                            <td class="num" data-field="credits">{amount(t.credits)}</td>
                            <td class="num">{amount(t.actions)}</td>
                            <td class="num">{format!("{share:.0}%")}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
