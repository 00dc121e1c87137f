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
    fn durations_read_naturally() {
        assert_eq!(format_duration(12.4), "12 s");
        assert_eq!(format_duration(250.0), "4 min 10 s");
        assert_eq!(format_duration(12_000.0), "3 h 20 min");
        assert_eq!(format_duration(200_000.0), "2 d 7 h");
    }
}
