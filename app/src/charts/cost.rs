//! The planner's chart: monthly cost of the cheapest plan against monthly leads (log scale).

use super::{Frame, escape, nice_ceiling};
use crate::{
    format::{int, money},
    planner::{CHART_MAX_LEADS, CHART_MIN_LEADS, CostPoint, PlanBoundary},
};
use std::fmt::Write;

const FRAME: Frame = Frame { width: 760.0, height: 300.0, left: 64.0, right: 16.0, top: 30.0, bottom: 40.0 };
const X_TICKS: [u64; 7] = [10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000];

pub fn view_box() -> String {
    format!("0 0 {} {}", FRAME.width, FRAME.height)
}

pub fn x_of(leads: u64) -> f64 {
    let (lo, hi) = ((CHART_MIN_LEADS as f64).log10(), (CHART_MAX_LEADS as f64).log10());
    FRAME.left + ((leads.max(1) as f64).log10() - lo) / (hi - lo) * FRAME.inner_width()
}

fn short_leads(leads: u64) -> String {
    if leads >= 1_000_000 { format!("{}M", leads / 1_000_000) } else { format!("{}K", leads / 1_000) }
}

/// The chart's inner markup (without the `<svg>` element).
pub fn render(points: &[CostPoint], boundaries: &[PlanBoundary], current_leads: u64) -> String {
    let y_max = nice_ceiling(points.iter().filter_map(|p| p.cost).fold(0.0, f64::max).max(100.0));
    let y = |cost: f64| FRAME.y_linear(cost, y_max);
    let mut out = String::with_capacity(8 * 1024);

    FRAME.y_grid(&mut out, y_max, 4, money);
    for leads in X_TICKS {
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x_of(leads),
            FRAME.y_end() + 18.0,
            short_leads(leads)
        );
    }

    // Custom pricing starts at the boundary into it, which falls between two sampled points.
    let first_custom = points.iter().find(|p| p.cost.is_none());
    let custom_from = first_custom
        .map(|p| boundaries.iter().find(|b| b.to == p.plan && b.leads <= p.leads).map_or(p.leads, |b| b.leads));
    if let Some(from) = custom_from {
        let x = x_of(from);
        let _ = write!(
            out,
            r#"<rect class="custom-zone" x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/><text class="zone-label" x="{:.1}" y="{:.1}" text-anchor="middle">Custom pricing (Enterprise)</text>"#,
            FRAME.top,
            (FRAME.x_end() - x).max(0.0),
            FRAME.inner_height(),
            (x + FRAME.x_end()) / 2.0,
            FRAME.top + 18.0
        );
    }

    // One polyline per run of priced points; custom pricing breaks the line.
    for run in points.split(|p| p.cost.is_none()).filter(|run| !run.is_empty()) {
        out.push_str(r#"<polyline class="cost-line" points=""#);
        for p in run {
            let _ = write!(out, "{:.1},{:.1} ", x_of(p.leads), y(p.cost.unwrap_or_default()));
        }
        out.push_str(r#""/>"#);
    }
    for p in points {
        if let Some(cost) = p.cost {
            let _ = write!(
                out,
                r#"<circle class="cost-dot" cx="{:.1}" cy="{:.1}" r="3.5" data-leads="{}" data-cost="{cost:.2}"><title>{} leads/month: {} at {}</title></circle>"#,
                x_of(p.leads),
                y(cost),
                p.leads,
                int(p.leads),
                escape(&p.plan),
                money(cost)
            );
        }
    }
    for b in boundaries {
        let x = x_of(b.leads);
        let _ = write!(
            out,
            r#"<line class="boundary" data-boundary="{}" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"><title>{} from {} leads/month</title></line><text class="boundary-label" x="{:.1}" y="{:.1}">{} →</text>"#,
            b.leads,
            FRAME.top,
            FRAME.y_end(),
            escape(&b.to),
            int(b.leads),
            x + 4.0,
            FRAME.top - 10.0,
            escape(&b.to)
        );
    }
    if (CHART_MIN_LEADS..=CHART_MAX_LEADS).contains(&current_leads) {
        let x = x_of(current_leads);
        let _ = write!(
            out,
            r#"<line class="marker" data-marker="{current_leads}" x1="{x:.1}" x2="{x:.1}" y1="{:.1}" y2="{:.1}"/><text class="marker-label" x="{x:.1}" y="{:.1}" text-anchor="middle">you</text>"#,
            FRAME.top,
            FRAME.y_end(),
            FRAME.y_end() - 6.0
        );
    }
    let _ = write!(
        out,
        r#"<text class="axis-label" x="{:.1}" y="{:.1}" text-anchor="middle">Leads per month (log scale)</text>"#,
        (FRAME.left + FRAME.x_end()) / 2.0,
        FRAME.height - 6.0
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planner::{Scenario, cost_curve, default_catalog};

    #[test]
    fn the_x_axis_spans_the_frame_on_a_log_scale() {
        assert!((x_of(CHART_MIN_LEADS) - FRAME.left).abs() < 1e-9);
        assert!((x_of(CHART_MAX_LEADS) - FRAME.x_end()).abs() < 1e-9);
        assert!((x_of(100_000) - (FRAME.left + FRAME.inner_width() / 2.0)).abs() < 1e-9);
    }

    #[test]
    fn the_chart_carries_each_point_boundary_and_the_marker() {
        let scenario = Scenario {
            enrichment: crate::planner::Enrichment::Simple { credits_per_lead: 0.5, own_key: false },
            ..Scenario::default()
        };
        let (points, boundaries) = cost_curve(&scenario, &default_catalog(), 24);
        let svg = render(&points, &boundaries, 50_000);
        let priced = points.iter().filter(|p| p.cost.is_some()).count();
        assert_eq!(svg.matches("<circle class=\"cost-dot\"").count(), priced);
        for b in &boundaries {
            assert!(svg.contains(&format!("data-boundary=\"{}\"", b.leads)));
        }
        assert!(svg.contains("data-marker=\"50000\""));
        assert!(svg.contains("Custom pricing (Enterprise)"));
    }

    #[test]
    fn plan_names_cannot_inject_markup() {
        let points = vec![CostPoint { leads: 20_000, plan: "<script>x</script>".into(), cost: Some(10.0) }];
        let svg = render(&points, &[], 0);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
    }
}
