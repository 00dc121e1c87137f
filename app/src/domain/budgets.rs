//! What the budgets page shows: per workspace, this month's data credits and Actions against
//! their budgets, the month day by day with a projection to its end, the last twelve months and
//! each table's share.

use serde::{Deserialize, Serialize};

/// A day in unix milliseconds (the budgets' days are UTC days).
pub const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetsOutlook {
    /// Unix milliseconds of the reading.
    pub at: i64,
    pub workspaces: Vec<WorkspaceBudget>,
}

/// One currency of a budget month: what the budget allows, what callbacks settled and what the
/// leads sent and not yet called back hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Allowance {
    pub budget: Option<u64>,
    pub spent: f64,
    pub reserved: f64,
}

impl Allowance {
    pub fn used(&self) -> f64 {
        self.spent + self.reserved
    }

    pub fn remaining(&self) -> Option<f64> {
        self.budget.map(|budget| (budget as f64 - self.used()).max(0.0))
    }

    /// Spent and reserved as a share of the budget.
    pub fn share(&self) -> Option<f64> {
        self.budget.filter(|b| *b > 0).map(|budget| self.used() / budget as f64)
    }
}

/// What the callbacks of one UTC day settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DaySpend {
    pub day_start: i64,
    pub leads: u64,
    pub credits_estimated: f64,
    pub credits: f64,
    pub actions: f64,
}

/// One budget month: the tables' estimates for the leads called back, and what they cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthSpend {
    pub month_start: i64,
    pub credits_estimated: f64,
    pub credits: f64,
}

/// One table's part of this month.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableSpend {
    pub table_id: i64,
    pub table: String,
    pub leads: u64,
    pub credits_estimated: f64,
    pub credits: f64,
    pub actions: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceBudget {
    pub workspace_id: i64,
    pub workspace: String,
    pub month_start: i64,
    /// The next month's first instant.
    pub month_end: i64,
    pub credits: Allowance,
    pub actions: Allowance,
    /// This month's days that had callbacks, oldest first.
    pub days: Vec<DaySpend>,
    /// The last twelve budget months, oldest first, this one last.
    pub months: Vec<MonthSpend>,
    /// This month's tables, the most spent first.
    pub tables: Vec<TableSpend>,
}

/// A point of the month's line: credits spent up to the end of a day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cumulative {
    pub day_start: i64,
    pub spent: f64,
}

impl WorkspaceBudget {
    /// Credits spent by the end of each day of the month up to `now`'s day, days without
    /// callbacks included (the line stays flat through them).
    pub fn cumulative(&self, now: i64) -> Vec<Cumulative> {
        let last = now.min(self.month_end - 1);
        let mut points = Vec::new();
        let mut spent = 0.0;
        let mut day = self.month_start - self.month_start.rem_euclid(DAY_MS);
        while day <= last {
            spent += self.days.iter().filter(|d| d.day_start == day).map(|d| d.credits).sum::<f64>();
            points.push(Cumulative { day_start: day, spent });
            day += DAY_MS;
        }
        points
    }

    /// Data credits the month will have used at its end if the pace so far holds: what is spent
    /// and reserved, plus the month's average daily spend for each day left.
    pub fn projected_credits(&self, now: i64) -> f64 {
        let elapsed_days = ((now - self.month_start) as f64 / DAY_MS as f64).max(1.0);
        let days_left = ((self.month_end - now) as f64 / DAY_MS as f64).max(0.0);
        let pace = self.credits.spent / elapsed_days;
        self.credits.used() + pace * days_left
    }

    /// When the credit budget runs out at the month's pace, if it does before the month ends.
    pub fn credits_run_out_at(&self, now: i64) -> Option<i64> {
        let remaining = self.credits.remaining()?;
        let elapsed_days = ((now - self.month_start) as f64 / DAY_MS as f64).max(1.0);
        let pace = self.credits.spent / elapsed_days;
        if remaining <= 0.0 {
            return Some(now);
        }
        if pace <= 0.0 {
            return None;
        }
        let at = now + (remaining / pace * DAY_MS as f64) as i64;
        (at < self.month_end).then_some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOV_1: i64 = 1_793_491_200_000; // 2026-11-01T00:00:00Z
    const DEC_1: i64 = NOV_1 + 30 * DAY_MS;

    fn month(days: &[(i64, f64)], budget: Option<u64>, reserved: f64) -> WorkspaceBudget {
        let days: Vec<DaySpend> = days
            .iter()
            .map(|(n, credits)| DaySpend { day_start: NOV_1 + n * DAY_MS, credits: *credits, ..DaySpend::default() })
            .collect();
        let spent = days.iter().map(|d| d.credits).sum();
        WorkspaceBudget {
            month_start: NOV_1,
            month_end: DEC_1,
            credits: Allowance { budget, spent, reserved },
            days,
            ..WorkspaceBudget::default()
        }
    }

    #[test]
    fn the_line_is_cumulative_and_flat_through_quiet_days() {
        let budget = month(&[(0, 10.0), (2, 5.0)], None, 0.0);
        let points = budget.cumulative(NOV_1 + 3 * DAY_MS + 3_600_000);
        let spent: Vec<f64> = points.iter().map(|p| p.spent).collect();
        assert_eq!(spent, vec![10.0, 10.0, 15.0, 15.0]);
        assert_eq!(points[3].day_start, NOV_1 + 3 * DAY_MS);
    }

    #[test]
    fn the_line_stops_at_the_month_end() {
        assert_eq!(month(&[], None, 0.0).cumulative(DEC_1 + 5 * DAY_MS).len(), 30);
    }

    #[test]
    fn the_projection_carries_the_pace_to_the_month_end() {
        // 100 credits in the first 10 days, 20 reserved: 10 a day for 20 more days.
        let budget = month(&[(0, 40.0), (9, 60.0)], Some(1_000), 20.0);
        let now = NOV_1 + 10 * DAY_MS;
        assert!((budget.projected_credits(now) - 320.0).abs() < 1e-9);
        assert_eq!(budget.credits_run_out_at(now), None);
    }

    #[test]
    fn a_budget_that_runs_out_says_when() {
        // 100 a day, 300 left: three days from now.
        let budget = month(&[(0, 500.0), (4, 500.0)], Some(1_300), 0.0);
        let now = NOV_1 + 10 * DAY_MS;
        assert_eq!(budget.credits_run_out_at(now), Some(now + 3 * DAY_MS));
        let spent = month(&[(0, 1_300.0)], Some(1_300), 0.0);
        assert_eq!(spent.credits_run_out_at(now), Some(now));
    }

    #[test]
    fn the_first_day_counts_as_a_whole_day_of_pace() {
        let budget = month(&[(0, 30.0)], None, 0.0);
        // An hour into the month: 30 a day, not 720.
        let projected = budget.projected_credits(NOV_1 + 3_600_000);
        assert!((projected - (30.0 + 30.0 * (30.0 - 1.0 / 24.0))).abs() < 1e-6, "{projected}");
    }

    #[test]
    fn an_allowance_tells_its_share_and_what_is_left() {
        let allowance = Allowance { budget: Some(200), spent: 120.0, reserved: 40.0 };
        assert_eq!(allowance.remaining(), Some(40.0));
        assert_eq!(allowance.share(), Some(0.8));
        assert_eq!(Allowance { budget: None, spent: 5.0, reserved: 0.0 }.remaining(), None);
        assert_eq!(Allowance { budget: Some(10), spent: 15.0, reserved: 0.0 }.remaining(), Some(0.0));
    }
}
