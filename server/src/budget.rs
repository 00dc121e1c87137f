//! Budget months: a workspace's budget renews on a day of the month it chooses (1–28, so every
//! month has that day). Pure; times are unix milliseconds, in UTC.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

/// The start (00:00 UTC on `day`) of the budget month that contains `now`.
pub fn month_start(now: i64, day: u8) -> i64 {
    let day = u32::from(day.clamp(1, 28));
    let now = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    let (mut year, mut month) = (now.year(), now.month());
    if now.day() < day {
        (year, month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    }
    midnight(year, month, day)
}

/// The start of the budget month after the one that starts at `start`.
pub fn next_month_start(start: i64, day: u8) -> i64 {
    let day = u32::from(day.clamp(1, 28));
    let start = DateTime::<Utc>::from_timestamp_millis(start).unwrap_or_default();
    let (year, month) = if start.month() == 12 { (start.year() + 1, 1) } else { (start.year(), start.month() + 1) };
    midnight(year, month, day)
}

fn midnight(year: i32, month: u32, day: u32) -> i64 {
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t).timestamp_millis())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn the_month_starts_on_the_chosen_day() {
        assert_eq!(month_start(at("2026-11-28T16:00:00Z"), 1), at("2026-11-01T00:00:00Z"));
        assert_eq!(month_start(at("2026-11-28T16:00:00Z"), 15), at("2026-11-15T00:00:00Z"));
        assert_eq!(month_start(at("2026-11-10T16:00:00Z"), 15), at("2026-10-15T00:00:00Z"));
        assert_eq!(month_start(at("2026-01-10T00:00:00Z"), 15), at("2025-12-15T00:00:00Z"));
        assert_eq!(month_start(at("2026-03-15T00:00:00Z"), 15), at("2026-03-15T00:00:00Z"));
    }

    #[test]
    fn the_next_month_follows() {
        assert_eq!(next_month_start(at("2026-12-15T00:00:00Z"), 15), at("2027-01-15T00:00:00Z"));
        assert_eq!(next_month_start(at("2026-01-28T00:00:00Z"), 28), at("2026-02-28T00:00:00Z"));
    }
}
