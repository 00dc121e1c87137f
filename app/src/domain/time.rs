/// A unix-milliseconds instant as the pages show it: `2026-11-28 16:35 UTC`.
///
/// Written out (the days-to-civil-date conversion of H. Hinnant's `chrono`-compatible
/// algorithms) rather than pulling a date library into the browser bundle for one format; the
/// tests check it against chrono.
pub fn format_utc_minutes(millis: i64) -> String {
    let minutes = millis.div_euclid(60_000);
    let (days, minute_of_day) = (minutes.div_euclid(1440), minutes.rem_euclid(1440));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", minute_of_day / 60, minute_of_day % 60)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_utc_minutes;

    #[test]
    fn formats_to_the_minute_in_utc() {
        assert_eq!(format_utc_minutes(1_796_488_502_000), "2026-12-05 16:35 UTC");
        assert_eq!(format_utc_minutes(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc_minutes(-60_000), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn agrees_with_chrono_across_four_centuries() {
        // Every 7 hours 13 minutes from 1900 to 2300, leap years and century rules included.
        let mut millis = -2_208_988_800_000_i64;
        while millis < 10_413_792_000_000 {
            let expected =
                chrono::DateTime::from_timestamp_millis(millis).unwrap().format("%Y-%m-%d %H:%M UTC").to_string();
            assert_eq!(format_utc_minutes(millis), expected);
            millis += (7 * 60 + 13) * 60_000;
        }
    }
}
