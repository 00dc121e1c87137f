//! What the live dashboard shows: per workspace, where its leads stand right now.

use super::ImportSummary;
use serde::{Deserialize, Serialize};

/// One moment of the whole team's delivery, refreshed every couple of seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// Unix milliseconds of the snapshot.
    pub at: i64,
    pub workspaces: Vec<WorkspaceLive>,
    /// The latest imports, newest first.
    pub imports: Vec<ImportSummary>,
}

/// Something that needs a person's attention, open until its cause goes away.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub id: i64,
    pub workspace_id: Option<i64>,
    pub kind: String,
    pub message: String,
    pub raised_at: i64,
    /// When its cause went away (or was dealt with); `None` while open.
    pub cleared_at: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceLive {
    pub id: i64,
    pub name: String,
    pub demo: bool,
    /// Clay's rate limit for the workspace, records/s.
    pub rate_limit: f64,
    pub queued: u64,
    pub in_flight: u64,
    pub retrying: u64,
    /// Parked: no webhook with room, no budget left, or the import not queued yet.
    pub waiting: u64,
    pub paused: u64,
    pub dead: u64,
    pub delivered: u64,
    /// Leads delivered per second over the last minute.
    pub send_rate: f64,
    /// Failed attempts of the last hour by HTTP status, most frequent first (0: no answer).
    pub errors_last_hour: Vec<(u16, u64)>,
    pub callbacks_last_hour: u64,
    /// Delivered, and not called back within their table's deadline.
    pub no_callback: u64,
}

impl WorkspaceLive {
    /// Leads still to send: ready, on their way, or waiting for a retry.
    pub fn backlog(&self) -> u64 {
        self.queued + self.in_flight + self.retrying
    }

    /// Seconds to send the backlog at the current rate (at the rate limit when nothing is being
    /// sent right now); `None` when there is nothing to send.
    pub fn drain_seconds(&self) -> Option<f64> {
        let backlog = self.backlog();
        if backlog == 0 {
            return None;
        }
        let rate = if self.send_rate > 0.0 { self.send_rate } else { self.rate_limit };
        (rate > 0.0).then(|| backlog as f64 / rate)
    }

    /// How much of the rate limit the current rate uses, 0 to 1.
    pub fn rate_use(&self) -> f64 {
        if self.rate_limit > 0.0 { (self.send_rate / self.rate_limit).clamp(0.0, 1.0) } else { 0.0 }
    }

    pub fn errors_total(&self) -> u64 {
        self.errors_last_hour.iter().map(|(_, n)| n).sum()
    }
}

/// A webhook's lifetime submissions, and when they run out at the pace of the last 7 days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookOutlook {
    pub id: i64,
    pub workspace_id: i64,
    pub workspace: String,
    pub table: String,
    pub url_masked: String,
    pub active: bool,
    pub state: String,
    pub used: u64,
    /// The lifetime cap minus the safety margin: where Kiln moves on.
    pub usable: u64,
    /// Submissions counted in the last 7 days.
    pub last_7_days: u64,
}

impl WebhookOutlook {
    pub fn left(&self) -> u64 {
        self.usable.saturating_sub(self.used)
    }

    /// Used of usable, 0 to 1.
    pub fn usage(&self) -> f64 {
        if self.usable == 0 { 1.0 } else { (self.used as f64 / self.usable as f64).min(1.0) }
    }

    pub fn per_day(&self) -> f64 {
        self.last_7_days as f64 / 7.0
    }

    /// When it runs out at the last 7 days' pace (unix ms); `None` without recent use.
    pub fn exhausted_at(&self, now: i64) -> Option<i64> {
        if self.left() == 0 {
            return Some(now);
        }
        let per_day = self.per_day();
        (per_day > 0.0).then(|| now + (self.left() as f64 / per_day * 86_400_000.0) as i64)
    }
}

/// What a workspace's webhooks face until the end of the month.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookNeed {
    pub workspace_id: i64,
    pub workspace: String,
    /// Submissions a day over the last 7 days, all webhooks.
    pub per_day: f64,
    /// Submissions the active webhooks still take.
    pub room: u64,
    /// Submissions expected until the month ends at that pace.
    pub expected: u64,
    /// New webhooks the month still needs (the planner's count for what exceeds the room).
    pub new_webhooks: u64,
}

impl WebhookNeed {
    /// `days_left`: days until the month ends; new webhooks are counted at `usable_per_webhook`.
    pub fn of(workspace: (i64, &str), hooks: &[WebhookOutlook], days_left: f64, usable_per_webhook: u64) -> Self {
        let mine: Vec<&WebhookOutlook> = hooks.iter().filter(|h| h.workspace_id == workspace.0).collect();
        let per_day: f64 = mine.iter().map(|h| h.per_day()).sum();
        let room: u64 = mine.iter().filter(|h| h.active).map(|h| h.left()).sum();
        let expected = (per_day * days_left.max(0.0)).ceil() as u64;
        WebhookNeed {
            workspace_id: workspace.0,
            workspace: workspace.1.to_owned(),
            per_day,
            room,
            expected,
            new_webhooks: crate::planner::webhooks_for(expected.saturating_sub(room), usable_per_webhook),
        }
    }
}

/// The webhooks page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhooksOutlook {
    pub at: i64,
    pub webhooks: Vec<WebhookOutlook>,
    pub needs: Vec<WebhookNeed>,
}

/// One line of the audit log: who did what, when.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    /// A person's email, `token:<name>`, or `kiln` for the command line.
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: Option<String>,
}

/// "3 h 20 min", "4 min 10 s", "12 s".
pub fn format_duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (days, hours, minutes, secs) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, _) => format!("{minutes} min {secs} s"),
        (0, _, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_drains_at_the_current_rate_else_at_the_limit() {
        let mut live =
            WorkspaceLive { rate_limit: 10.0, queued: 570, in_flight: 10, retrying: 20, ..Default::default() };
        assert_eq!(live.backlog(), 600);
        assert_eq!(live.drain_seconds(), Some(60.0));
        live.send_rate = 5.0;
        assert_eq!(live.drain_seconds(), Some(120.0));
        assert!((live.rate_use() - 0.5).abs() < 1e-9);
        assert_eq!(WorkspaceLive { rate_limit: 10.0, ..Default::default() }.drain_seconds(), None);
    }

    #[test]
    fn a_webhook_runs_out_at_the_pace_of_the_last_week_and_the_month_needs_new_ones() {
        let hook = |id, used, last_7_days| WebhookOutlook {
            id,
            workspace_id: 1,
            active: true,
            used,
            usable: 45_000,
            last_7_days,
            ..Default::default()
        };
        let day = 86_400_000;
        let busy = hook(1, 30_000, 7_000);
        assert_eq!(busy.left(), 15_000);
        assert_eq!(busy.exhausted_at(0), Some(15 * day));
        assert_eq!(hook(2, 10, 0).exhausted_at(0), None);
        assert_eq!(hook(3, 45_000, 0).exhausted_at(5), Some(5));
        // 1,000 a day for 20 days: 20,000 expected, 15,000 + 44,990 room: no new webhook.
        let hooks = [busy.clone(), hook(2, 10, 0)];
        assert_eq!(WebhookNeed::of((1, "W"), &hooks, 20.0, 45_000).new_webhooks, 0);
        // 10,000 a day for 20 days: 200,000 expected, 15,000 room: 185,000 more = 5 webhooks.
        let need = WebhookNeed::of((1, "W"), &[hook(1, 30_000, 70_000)], 20.0, 45_000);
        assert_eq!((need.expected, need.room, need.new_webhooks), (200_000, 15_000, 5));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(12.4), "12 s");
        assert_eq!(format_duration(250.0), "4 min 10 s");
        assert_eq!(format_duration(12_000.0), "3 h 20 min");
        assert_eq!(format_duration(200_000.0), "2 d 7 h");
    }
}
