//! The budgets page's charts: the month's data credits day by day, with the budget line and the
//! projection to the month's end; and the last twelve months, estimate beside actual.

use super::{Frame, escape, nice_ceiling};
use crate::{
    domain::{DAY_MS, WorkspaceBudget, format_utc_minutes},
    format::{decimal, int},
};
use std::fmt::Write;

const FRAME: Frame = Frame { width: 760.0, height: 280.0, left: 72.0, right: 24.0, top: 24.0, bottom: 44.0 };
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

pub fn view_box() -> String {
    format!("0 0 {} {}", FRAME.width, FRAME.height)
}

/// `2026-11-03`.
fn date(millis: i64) -> String {
    format_utc_minutes(millis).chars().take(10).collect()
}

/// `Nov 3`.
fn short_date(millis: i64) -> String {
    let date = date(millis);
    let month: usize = date[5..7].parse().unwrap_or(1);
    let day: u32 = date[8..10].parse().unwrap_or(1);
    format!("{} {day}", MONTHS[month.clamp(1, 12) - 1])
}

/// Credits as the charts label them: whole above 100, one decimal below.
fn credits(value: f64) -> String {
    if value.abs() >= 100.0 { int(value.max(0.0).round() as u64) } else { decimal(value, 1) }
}

/// The month's line chart (inner markup of the `<svg>`).
pub fn render_month(budget: &WorkspaceBudget, now: i64) -> String {
    let points = budget.cumulative(now);
    let projected = budget.projected_credits(now);
    let limit = budget.credits.budget.map(|b| b as f64);
    let top = points.iter().map(|p| p.spent).fold(projected.max(limit.unwrap_or(0.0)), f64::max);
    let y_max = nice_ceiling(top.max(10.0) * 1.05);
    let span = (budget.month_end - budget.month_start).max(DAY_MS) as f64;
    let x = |at: i64| FRAME.left + ((at - budget.month_start) as f64 / span).clamp(0.0, 1.0) * FRAME.inner_width();
    let y = |value: f64| FRAME.y_linear(value, y_max);
    let mut out = String::with_capacity(8 * 1024);

    FRAME.y_grid(&mut out, y_max, 4, credits);
    let mut tick = budget.month_start;
    while tick < budget.month_end {
        let _ = write!(
            out,
            r#"<line class="grid x" x1="{0:.1}" x2="{0:.1}" y1="{1:.1}" y2="{2:.1}"/><text class="tick" x="{0:.1}" y="{3:.1}" text-anchor="middle">{4}</text>"#,
            x(tick),
            FRAME.top,
            FRAME.y_end(),
            FRAME.y_end() + 18.0,
            short_date(tick)
        );
        tick += 7 * DAY_MS;
    }

    if let Some(limit) = limit {
        let _ = write!(
            out,
            r#"<line class="budget-line" data-budget="{limit}" x1="{:.1}" x2="{:.1}" y1="{2:.1}" y2="{2:.1}"><title>Budget: {3} data credits</title></line><text class="budget-label" x="{4:.1}" y="{5:.1}" text-anchor="end">budget {3}</text>"#,
            FRAME.left,
            FRAME.x_end(),
            y(limit),
            credits(limit),
            FRAME.x_end() - 4.0,
            y(limit) - 6.0
        );
    }

    // Spent by the end of each day, from nothing at the month's start.
    out.push_str(r#"<polyline class="spent-line" points=""#);
    let _ = write!(out, "{:.1},{:.1} ", x(budget.month_start), y(0.0));
    for point in &points {
        let _ = write!(out, "{:.1},{:.1} ", x((point.day_start + DAY_MS).min(now)), y(point.spent));
    }
    out.push_str(r#""/>"#);
    let mut before = 0.0;
    for point in &points {
        let that_day = point.spent - before;
        before = point.spent;
        let _ = write!(
            out,
            r#"<circle class="spent-dot" cx="{:.1}" cy="{:.1}" r="3.5" data-day="{}" data-spent="{:.2}" data-day-spent="{that_day:.2}"><title>{}: {} credits spent that day, {} this month</title></circle>"#,
            x((point.day_start + DAY_MS).min(now)),
            y(point.spent),
            date(point.day_start),
            point.spent,
            short_date(point.day_start),
            credits(that_day),
            credits(point.spent)
        );
    }

    // From what is spent and reserved now to the month's end, at the month's pace.
    if now < budget.month_end {
        let used = budget.credits.used();
        let _ = write!(
            out,
            r#"<line class="projection" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><circle class="projection-dot" cx="{2:.1}" cy="{3:.1}" r="4" data-projected="{projected:.2}"><title>Projected by {}: {} data credits</title></circle>"#,
            x(now),
            y(used),
            x(budget.month_end),
            y(projected),
            short_date(budget.month_end - 1),
            credits(projected)
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">Day of the budget month (UTC)</text><text class="axis-label" transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">Data credits</text>"#,
        (FRAME.left + FRAME.x_end()) / 2.0,
        FRAME.height - 4.0,
        (FRAME.top + FRAME.y_end()) / 2.0
    );
    out
}

/// The last twelve months' bars (inner markup of the `<svg>`).
pub fn render_year(budget: &WorkspaceBudget) -> String {
    let top = budget.months.iter().map(|m| m.credits.max(m.credits_estimated)).fold(0.0, f64::max);
    let y_max = nice_ceiling(top.max(10.0) * 1.05);
    let y = |value: f64| FRAME.y_linear(value, y_max);
    let slot = FRAME.inner_width() / budget.months.len().max(1) as f64;
    let bar = slot * 0.36;
    let mut out = String::with_capacity(8 * 1024);
    FRAME.y_grid(&mut out, y_max, 4, credits);
    for (i, month) in budget.months.iter().enumerate() {
        let left = FRAME.left + slot * i as f64 + slot * 0.14;
        let label = date(month.month_start);
        let name = format!("{} {}", MONTHS[label[5..7].parse::<usize>().unwrap_or(1).clamp(1, 12) - 1], &label[..4]);
        for (offset, kind, value, what) in [
            (0.0, "estimate", month.credits_estimated, "estimated"),
            (bar, "actual", month.credits, "spent (from callbacks)"),
        ] {
            let _ = write!(
                out,
                r#"<rect class="bar {kind}" x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" data-month="{}" data-kind="{kind}" data-value="{value:.2}"><title>{name}: {} data credits {what}</title></rect>"#,
                left + offset,
                y(value),
                (FRAME.y_end() - y(value)).max(0.0),
                &label[..7],
                credits(value)
            );
        }
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            left + bar,
            FRAME.y_end() + 18.0,
            escape(&name[..3])
        );
    }
    let _ = write!(
        out,
        r#"<g class="legend"><rect class="bar estimate" x="{0:.1}" y="6" width="10" height="10"/><text x="{1:.1}" y="15">estimate</text><rect class="bar actual" x="{2:.1}" y="6" width="10" height="10"/><text x="{3:.1}" y="15">actual</text></g><text class="axis-label" transform="translate(14 {4:.1}) rotate(-90)" text-anchor="middle">Data credits</text>"#,
        FRAME.x_end() - 150.0,
        FRAME.x_end() - 136.0,
        FRAME.x_end() - 70.0,
        FRAME.x_end() - 56.0,
        (FRAME.top + FRAME.y_end()) / 2.0
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Allowance, DaySpend, MonthSpend};

    const NOV_1: i64 = 1_793_491_200_000;

    fn november() -> WorkspaceBudget {
        WorkspaceBudget {
            month_start: NOV_1,
            month_end: NOV_1 + 30 * DAY_MS,
            credits: Allowance { budget: Some(1_000), spent: 150.0, reserved: 10.0 },
            days: vec![
                DaySpend { day_start: NOV_1, credits: 100.0, ..DaySpend::default() },
                DaySpend { day_start: NOV_1 + 2 * DAY_MS, credits: 50.0, ..DaySpend::default() },
            ],
            months: (0..12)
                .map(|i| MonthSpend {
                    month_start: NOV_1 - (11 - i) * 30 * DAY_MS,
                    credits_estimated: 20.0 * i as f64,
                    credits: 15.0 * i as f64,
                })
                .collect(),
            ..WorkspaceBudget::default()
        }
    }

    #[test]
    fn the_month_chart_carries_each_day_the_budget_and_the_projection() {
        let now = NOV_1 + 3 * DAY_MS + 12 * 3_600_000;
        let svg = render_month(&november(), now);
        assert!(svg.contains(r#"data-day="2026-11-01" data-spent="100.00" data-day-spent="100.00""#), "{svg}");
        assert!(svg.contains(r#"data-day="2026-11-02" data-spent="100.00" data-day-spent="0.00""#));
        assert!(svg.contains(r#"data-day="2026-11-04" data-spent="150.00""#));
        assert!(svg.contains(r#"data-budget="1000""#));
        // 150 spent in 3.5 days, 10 reserved, 26.5 days left.
        let projected = 160.0 + 150.0 / 3.5 * 26.5;
        assert!(svg.contains(&format!(r#"data-projected="{projected:.2}""#)), "{svg}");
        assert!(svg.contains("Nov 1: 100 credits spent that day, 100 this month"));
        assert!(svg.contains("Data credits") && svg.contains("Nov 8"));
    }

    #[test]
    fn the_year_chart_has_two_bars_a_month() {
        let svg = render_year(&november());
        assert_eq!(svg.matches(r#"data-kind="estimate""#).count(), 12);
        assert_eq!(svg.matches(r#"data-kind="actual""#).count(), 12);
        assert!(svg.contains(r#"data-month="2026-11" data-kind="actual" data-value="165.00""#), "{svg}");
        assert!(svg.contains("Nov 2026: 220 data credits estimated"));
    }
}
