//! The planner's answers, each under a stable `data-testid` with its raw number in `data-value`.
//! Written as one string per recompute (see `crate::markup`).

use crate::{
    format::{decimal, int, money},
    markup::escape,
    planner::{Outcome, Rollover, describe_cost, describe_plan},
};
use leptos::prelude::*;
use std::fmt::Write;

pub(super) fn rollover_text(rollover: Rollover) -> String {
    match rollover {
        Rollover::Credits { per_month, balance_cap } => format!(
            "{} unused data credits a month roll over (the balance stops at {}). Actions never roll over.",
            int(per_month),
            int(balance_cap)
        ),
        Rollover::Nothing => "Nothing: the month uses every data credit, and Actions never roll over.".to_owned(),
        Rollover::Contract => "As your Enterprise contract says. Actions never roll over.".to_owned(),
    }
}

pub(super) fn send_hours_text(outcome: &Outcome) -> String {
    match outcome.send_seconds {
        None => "never (rate is 0)".to_owned(),
        Some(seconds) => format!("{} h", decimal(seconds / 3600.0, 1)),
    }
}

fn stat(out: &mut String, label: &str, testid: &str, value: &str, raw: &str, note: &str) {
    let _ = write!(
        out,
        r#"<div class="stat"><dt>{label}</dt><dd data-testid="{testid}" data-value="{}">{}</dd>"#,
        escape(raw),
        escape(value)
    );
    if !note.is_empty() {
        let _ = write!(out, r#"<div class="stat-note">{note}</div>"#);
    }
    out.push_str("</div>");
}

/// The outputs panel's inner HTML.
pub fn render(o: &Outcome) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(r#"<h2>Each month</h2><dl class="stats">"#);
    let worst = format!(
        r#"Worst case (every step runs): <span data-testid="data-credits-worst" data-value="{}">{}</span>"#,
        o.credits_worst,
        int(o.credits_worst)
    );
    stat(&mut out, "Data credits", "data-credits-month", &int(o.credits_month), &o.credits_month.to_string(), &worst);
    stat(&mut out, "Actions", "actions-month", &int(o.actions_month), &o.actions_month.to_string(), "");
    stat(&mut out, "Plan", "plan", &describe_plan(&o.plan), &o.plan.key, "");
    let cost = |c: Option<f64>| c.map(|c| format!("{c:.2}")).unwrap_or_default();
    stat(&mut out, "Monthly cost", "monthly-cost", &describe_cost(o.plan.monthly_cost), &cost(o.plan.monthly_cost), "");
    let annual_note = match (o.plan.annual_cost, o.plan.monthly_cost) {
        (Some(annual), Some(monthly)) if annual + 0.5 < 12.0 * monthly => {
            format!("billed annually; {} billed monthly", money(12.0 * monthly))
        }
        _ => String::new(),
    };
    stat(
        &mut out,
        "Annual cost",
        "annual-cost",
        &describe_cost(o.plan.annual_cost),
        &cost(o.plan.annual_cost),
        &annual_note,
    );
    stat(
        &mut out,
        "Webhooks used up",
        "webhooks-month",
        &int(o.webhooks_month),
        &o.webhooks_month.to_string(),
        "their 50,000 lifetime submissions each",
    );
    let rotating = match o.webhooks_year_rotating {
        Some(n) => format!(
            r#"<span data-testid="webhooks-year-rotating" data-value="{n}">{} when Kiln retires each at {} submissions</span>"#,
            int(n),
            int(o.usable_per_webhook)
        ),
        None => "no submission is usable: check the margin".to_owned(),
    };
    stat(&mut out, "Webhooks a year", "webhooks-year", &int(o.webhooks_year), &o.webhooks_year.to_string(), &rotating);
    stat(&mut out, "Tables", "tables", &int(o.tables), &o.tables.to_string(), "");
    let hours = o.send_seconds.map(|s| format!("{:.2}", s / 3600.0)).unwrap_or_default();
    stat(&mut out, "Time to send", "send-hours", &send_hours_text(o), &hours, "at the rate limit");
    out.push_str("</dl>");
    let _ = write!(
        out,
        r#"<p class="rollover"><strong>Rolls over: </strong><span data-testid="rollover">{}</span></p><ul class="warnings" data-testid="warnings">"#,
        escape(&rollover_text(o.rollover))
    );
    for warning in &o.warnings {
        let _ = write!(out, r#"<li class="notice warn">{}</li>"#, escape(&warning.message()));
    }
    out.push_str("</ul>");
    out
}

#[component]
pub(super) fn Outputs(outcome: Memo<Outcome>) -> impl IntoView {
    view! { <div class="card outputs" aria-live="polite" inner_html=move || outcome.with(render)></div> }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::{Scenario, default_catalog, plan};

    /// The text shown under `testid`.
    fn shown<'a>(html: &'a str, testid: &str) -> &'a str {
        let at = html.find(&format!(r#"data-testid="{testid}""#)).unwrap_or_else(|| panic!("{testid} missing"));
        html[at..].split_once('>').unwrap().1.split('<').next().unwrap()
    }

    #[test]
    fn the_seed_example_reads_as_the_issue_states_it() {
        let html = render(&plan(&Scenario::default(), &default_catalog()));
        assert_eq!(shown(&html, "data-credits-month"), "300,000");
        assert_eq!(shown(&html, "data-credits-worst"), "300,000");
        assert_eq!(shown(&html, "actions-month"), "50,000");
        assert_eq!(shown(&html, "plan"), "Enterprise");
        assert_eq!(shown(&html, "monthly-cost"), "Custom pricing");
        assert_eq!(shown(&html, "annual-cost"), "Custom pricing");
        assert_eq!(shown(&html, "webhooks-month"), "1");
        assert_eq!(shown(&html, "webhooks-year"), "12");
        assert_eq!(shown(&html, "webhooks-year-rotating"), "14 when Kiln retires each at 45,000 submissions");
        assert_eq!(shown(&html, "tables"), "5");
        assert_eq!(shown(&html, "send-hours"), "1.4 h");
        assert!(shown(&html, "rollover").starts_with("As your Enterprise contract says"));
        assert!(html.contains("Webhooks run out within the month"));
    }

    #[test]
    fn costs_and_rollover_read_plainly() {
        let scenario = Scenario::from_query_string("leads=300&cpl=6");
        let html = render(&plan(&scenario, &default_catalog()));
        assert_eq!(shown(&html, "plan"), "Launch");
        assert_eq!(shown(&html, "monthly-cost"), "$185");
        assert_eq!(shown(&html, "annual-cost"), "$2,004");
        assert!(html.contains("billed annually; $2,220 billed monthly"));
        assert_eq!(
            shown(&html, "rollover"),
            "700 unused data credits a month roll over (the balance stops at 5,000). Actions never roll over."
        );
    }
}
