use chrono::DateTime;

/// A unix-milliseconds instant as the pages show it: `2026-11-28 16:35 UTC`.
pub fn format_utc_minutes(millis: i64) -> String {
    DateTime::from_timestamp_millis(millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_to_the_minute_in_utc() {
        assert_eq!(
            super::format_utc_minutes(1_796_488_502_000),
            "2026-12-05 16:35 UTC"
        );
    }
}
