//! The capacity planner: from a month of leads, a way of enriching them and Clay's plan catalog,
//! to data credits, Actions, the plan and its cost, webhooks, tables and sending time. Pure and
//! cheap, so the browser recomputes it on every keystroke.

pub mod catalog;
pub mod recipe;
pub mod scenario;

pub use catalog::{Plan, default_catalog};
pub use recipe::{Enrichment, PRESETS, PerLead, Recipe, Step, preset};
pub use scenario::{PlanChoice, SavedScenario, Scenario};

use crate::format::{int, money};

/// Clay's limits are monthly; a month is taken as 30 days of sending.
pub const DAYS_PER_MONTH: f64 = 30.0;

/// Everything the planner tells about a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub per_lead: PerLead,
    /// Expected and worst-case data credits a month.
    pub credits_month: u64,
    pub credits_worst: u64,
    pub actions_month: u64,
    pub actions_worst: u64,
    pub plan: PlanFit,
    /// Webhooks whose 50,000-submission lifetime a month / a year of leads uses up.
    pub webhooks_month: u64,
    pub webhooks_year: u64,
    /// Submissions Kiln sends to a webhook before moving on (cap − margin), and the webhooks a year
    /// takes when each is retired there.
    pub usable_per_webhook: u64,
    pub webhooks_year_rotating: Option<u64>,
    pub tables: u64,
    /// Time to push the month's leads at the rate limit; `None` when the rate is zero.
    pub send_seconds: Option<f64>,
    pub rollover: Rollover,
    pub warnings: Vec<Warning>,
}

/// How a plan covers a month's use.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanFit {
    pub key: String,
    pub name: String,
    pub custom: bool,
    pub extra_credits: u64,
    pub extra_actions: u64,
    /// `None` for custom pricing.
    pub monthly_cost: Option<f64>,
    /// A year billed annually where the plan offers it, else twelve months.
    pub annual_cost: Option<f64>,
    pub credit_allowance: u64,
    /// What the plan cannot cover even fully expanded.
    pub credits_short: Option<Shortfall>,
    pub actions_short: Option<Shortfall>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    pub needed: u64,
    pub available: u64,
}

impl PlanFit {
    pub fn covers(&self) -> bool {
        self.credits_short.is_none() && self.actions_short.is_none()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rollover {
    /// Unused data credits carried into next month, up to a balance cap.
    Credits { per_month: u64, balance_cap: u64 },
    /// The month uses every data credit the plan gives.
    Nothing,
    /// Custom plans: as the contract says.
    Contract,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Warning {
    WebhooksExhaustWithinMonth { monthly_leads: u64, usable: u64, per_month: u64 },
    MarginSwallowsCap,
    TableOverRowLimit { rows_per_table: u64, limit: u64 },
    RateTooSlow { send_hours: f64, available_hours: f64 },
    NoRate,
    ActionsShort { plan: String, short: Shortfall },
    CreditsShort { plan: String, short: Shortfall },
    WorstCaseOverAllowance { worst: u64, allowance: u64 },
}

impl Warning {
    /// The warning in plain words.
    pub fn message(&self) -> String {
        match self {
            Warning::WebhooksExhaustWithinMonth { monthly_leads, usable, per_month } => format!(
                "Webhooks run out within the month: Kiln moves to the next webhook after {} submissions, and a month has {} leads. About {} webhooks a month get used up; keep the next ones ready.",
                int(*usable),
                int(*monthly_leads),
                per_month
            ),
            Warning::MarginSwallowsCap => {
                "The safety margin is as large as the webhook cap: no submission would be left to use.".to_owned()
            }
            Warning::TableOverRowLimit { rows_per_table, limit } => format!(
                "A table would pass Clay's row limit: {} rows per table, but a Clay table holds {}. Clay silently stops accepting rows when a table is full.",
                int(*rows_per_table),
                int(*limit)
            ),
            Warning::RateTooSlow { send_hours, available_hours } => format!(
                "The rate limit cannot push the month's leads in the sending hours: sending takes {} hours, the month has {} sending hours.",
                int(send_hours.ceil() as u64),
                int(available_hours.floor() as u64)
            ),
            Warning::NoRate => "With a rate limit of 0 records/s nothing can be sent.".to_owned(),
            Warning::ActionsShort { plan, short } => format!(
                "{plan}'s Actions are short: the month needs {}, {plan} gives at most {} even fully expanded.",
                int(short.needed),
                int(short.available)
            ),
            Warning::CreditsShort { plan, short } => format!(
                "{plan}'s data credits are short: the month needs {}, {plan} gives at most {} even fully expanded.",
                int(short.needed),
                int(short.available)
            ),
            Warning::WorstCaseOverAllowance { worst, allowance } => format!(
                "If every waterfall step ran on every lead, the month would need {} data credits, more than the {} the plan gives. Set a budget in Kiln to stop there.",
                int(*worst),
                int(*allowance)
            ),
        }
    }
}

/// Ceiling of `a / b` for whole numbers; 0 when `b` is 0.
fn div_ceil(a: u64, b: u64) -> u64 {
    if b == 0 { 0 } else { a.div_ceil(b) }
}

/// Webhooks that `submissions` use up when Kiln moves on after `usable_per_webhook` of each.
pub fn webhooks_for(submissions: u64, usable_per_webhook: u64) -> u64 {
    div_ceil(submissions, usable_per_webhook)
}

/// How `plan` covers `credits` and `actions` a month, expanding it as far as needed and allowed.
pub fn fit(plan: &Plan, credits: u64, actions: u64) -> PlanFit {
    let mut result = PlanFit {
        key: plan.key.clone(),
        name: plan.name.clone(),
        custom: plan.is_custom(),
        extra_credits: 0,
        extra_actions: 0,
        monthly_cost: None,
        annual_cost: None,
        credit_allowance: plan.data_credits,
        credits_short: None,
        actions_short: None,
    };
    let Some(price) = plan.monthly_price else {
        // Custom plans are sized to fit by contract.
        return result;
    };

    result.extra_credits = credits.saturating_sub(plan.data_credits);
    let credit_ceiling = plan.max_data_credits.max(plan.data_credits);
    if credits > credit_ceiling {
        result.credits_short = Some(Shortfall { needed: credits, available: credit_ceiling });
        result.extra_credits = credit_ceiling - plan.data_credits;
    }
    result.credit_allowance = plan.data_credits + result.extra_credits;

    if let Some(included) = plan.actions {
        result.extra_actions = actions.saturating_sub(included);
        let ceiling = plan.max_actions.unwrap_or(included).max(included);
        if actions > ceiling {
            result.actions_short = Some(Shortfall { needed: actions, available: ceiling });
            result.extra_actions = ceiling - included;
        }
    }

    let expansion = result.extra_credits as f64 / 1000.0 * plan.extra_credits_price_per_1k
        + result.extra_actions as f64 / 1000.0 * plan.extra_actions_price_per_1k;
    result.monthly_cost = Some(price + expansion);
    result.annual_cost = Some(12.0 * (plan.annual_monthly_price.unwrap_or(price) + expansion));
    result
}

/// The cheapest current (non-legacy) plan that covers the month, or the custom plan when none
/// does.
pub fn cheapest(catalog: &[Plan], credits: u64, actions: u64) -> PlanFit {
    catalog
        .iter()
        .filter(|plan| !plan.legacy && !plan.is_custom())
        .map(|plan| fit(plan, credits, actions))
        .filter(PlanFit::covers)
        .min_by(|a, b| a.monthly_cost.partial_cmp(&b.monthly_cost).unwrap_or(std::cmp::Ordering::Equal))
        .unwrap_or_else(|| {
            let custom = catalog.iter().find(|plan| !plan.legacy && plan.is_custom());
            match custom {
                Some(plan) => fit(plan, credits, actions),
                None => PlanFit {
                    key: "enterprise".into(),
                    name: "Enterprise".into(),
                    custom: true,
                    extra_credits: 0,
                    extra_actions: 0,
                    monthly_cost: None,
                    annual_cost: None,
                    credit_allowance: 0,
                    credits_short: None,
                    actions_short: None,
                },
            }
        })
}

/// Runs the planner.
pub fn plan(scenario: &Scenario, catalog: &[Plan]) -> Outcome {
    let leads = scenario.monthly_leads;
    let per_lead = scenario.enrichment.per_lead();
    let callback_actions = if scenario.callback { 1.0 } else { 0.0 };
    let month = |per: f64| (per * leads as f64).round() as u64;
    let credits_month = month(per_lead.credits);
    let credits_worst = month(per_lead.worst_credits);
    let actions_month = month(per_lead.actions + callback_actions);
    let actions_worst = month(per_lead.worst_actions + callback_actions);

    let plan_fit = match &scenario.plan {
        PlanChoice::Fixed(key) => catalog
            .iter()
            .find(|plan| &plan.key == key)
            .map(|plan| fit(plan, credits_month, actions_month))
            .unwrap_or_else(|| cheapest(catalog, credits_month, actions_month)),
        PlanChoice::Cheapest => cheapest(catalog, credits_month, actions_month),
    };

    let mut warnings = Vec::new();

    let usable = scenario.webhook_cap.saturating_sub(scenario.webhook_margin);
    let webhooks_month = div_ceil(leads, scenario.webhook_cap);
    let webhooks_year = div_ceil(leads * 12, scenario.webhook_cap);
    let webhooks_year_rotating = (usable > 0).then(|| webhooks_for(leads * 12, usable));
    if usable == 0 {
        warnings.push(Warning::MarginSwallowsCap);
    } else if leads > usable {
        warnings.push(Warning::WebhooksExhaustWithinMonth {
            monthly_leads: leads,
            usable,
            per_month: div_ceil(leads, usable),
        });
    }

    let tables = div_ceil(leads, scenario.rows_per_table);
    if scenario.rows_per_table > scenario.table_row_limit {
        warnings.push(Warning::TableOverRowLimit {
            rows_per_table: scenario.rows_per_table,
            limit: scenario.table_row_limit,
        });
    }

    let send_seconds =
        (scenario.rate_per_sec > 0.0).then(|| leads.saturating_sub(scenario.burst) as f64 / scenario.rate_per_sec);
    match send_seconds {
        None if leads > 0 => warnings.push(Warning::NoRate),
        Some(seconds) => {
            let available_hours = scenario.sending_hours_per_day * DAYS_PER_MONTH;
            if seconds / 3600.0 > available_hours {
                warnings.push(Warning::RateTooSlow { send_hours: seconds / 3600.0, available_hours });
            }
        }
        None => {}
    }

    if let Some(short) = plan_fit.actions_short {
        warnings.push(Warning::ActionsShort { plan: plan_fit.name.clone(), short });
    }
    if let Some(short) = plan_fit.credits_short {
        warnings.push(Warning::CreditsShort { plan: plan_fit.name.clone(), short });
    }
    if !plan_fit.custom && plan_fit.credits_short.is_none() && credits_worst > plan_fit.credit_allowance {
        warnings.push(Warning::WorstCaseOverAllowance { worst: credits_worst, allowance: plan_fit.credit_allowance });
    }

    let rollover = if plan_fit.custom {
        Rollover::Contract
    } else {
        let unused = plan_fit.credit_allowance.saturating_sub(credits_month);
        let multiple = catalog.iter().find(|p| p.key == plan_fit.key).map_or(2.0, |p| p.rollover_multiple);
        if unused == 0 || multiple <= 0.0 {
            Rollover::Nothing
        } else {
            Rollover::Credits {
                per_month: unused,
                balance_cap: (plan_fit.credit_allowance as f64 * multiple).round() as u64,
            }
        }
    };

    Outcome {
        per_lead,
        credits_month,
        credits_worst,
        actions_month,
        actions_worst,
        plan: plan_fit,
        webhooks_month,
        webhooks_year,
        usable_per_webhook: usable,
        webhooks_year_rotating,
        tables,
        send_seconds,
        rollover,
        warnings,
    }
}

/// One point of the cost chart.
#[derive(Clone, Debug, PartialEq)]
pub struct CostPoint {
    pub leads: u64,
    pub plan: String,
    /// `None` where only a custom plan covers it.
    pub cost: Option<f64>,
}

/// Where the cheapest plan changes as monthly leads grow.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanBoundary {
    /// The first monthly lead count that needs `to`.
    pub leads: u64,
    pub from: String,
    pub to: String,
}

pub const CHART_MIN_LEADS: u64 = 10_000;
pub const CHART_MAX_LEADS: u64 = 1_000_000;

fn cheapest_at(scenario: &Scenario, catalog: &[Plan], leads: u64) -> PlanFit {
    let mut s = scenario.clone();
    s.monthly_leads = leads;
    s.plan = PlanChoice::Cheapest;
    plan(&s, catalog).plan
}

/// Monthly cost of the cheapest plan for `points` lead counts spread evenly on a log scale from
/// 10K to 1M, with the exact lead counts where the plan changes.
pub fn cost_curve(scenario: &Scenario, catalog: &[Plan], points: usize) -> (Vec<CostPoint>, Vec<PlanBoundary>) {
    let points = points.max(2);
    let (lo, hi) = ((CHART_MIN_LEADS as f64).ln(), (CHART_MAX_LEADS as f64).ln());
    let curve: Vec<CostPoint> = (0..points)
        .map(|i| {
            let leads = (lo + (hi - lo) * i as f64 / (points - 1) as f64).exp().round() as u64;
            let fit = cheapest_at(scenario, catalog, leads);
            CostPoint { leads, plan: fit.name, cost: fit.monthly_cost }
        })
        .collect();
    let mut boundaries = Vec::new();
    for pair in curve.windows(2) {
        if pair[0].plan == pair[1].plan {
            continue;
        }
        // The plan for a lead count only changes at thresholds; bisect to the first lead count
        // that needs the next plan.
        let (mut low, mut high) = (pair[0].leads, pair[1].leads);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if cheapest_at(scenario, catalog, mid).name == pair[0].plan { low = mid } else { high = mid }
        }
        let to = cheapest_at(scenario, catalog, high).name;
        boundaries.push(PlanBoundary { leads: high, from: pair[0].plan.clone(), to });
    }
    (curve, boundaries)
}

/// The plan verdict in words, e.g. "Growth + 34,000 data credits", or "Enterprise".
pub fn describe_plan(fit: &PlanFit) -> String {
    let mut text = fit.name.clone();
    let mut extras = Vec::new();
    if fit.extra_credits > 0 {
        extras.push(format!("{} data credits", int(fit.extra_credits)));
    }
    if fit.extra_actions > 0 {
        extras.push(format!("{} Actions", int(fit.extra_actions)));
    }
    if !extras.is_empty() {
        text.push_str(" + ");
        text.push_str(&extras.join(" + "));
        text.push_str(" expansion");
    }
    text
}

/// Monthly cost in words: "$618" or "Custom pricing".
pub fn describe_cost(cost: Option<f64>) -> String {
    cost.map_or_else(|| "Custom pricing".to_owned(), money)
}

#[cfg(test)]
mod tests;
