//! Numbers as the pages show them.

/// `300000` → `300,000`.
pub fn int(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whole dollars: `617.5` → `$618`, `1234` → `$1,234`.
pub fn money(dollars: f64) -> String {
    format!("${}", int(dollars.max(0.0).round() as u64))
}

/// A decimal with at most `places` places and no trailing zeros: `4.7900` → `4.79`.
pub fn decimal(value: f64, places: usize) -> String {
    let text = format!("{value:.places$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
}

/// A file size for people: `512 bytes`, `14 KB`, `1.2 MB`, `1.5 GB` (powers of 1,024).
pub fn bytes(size: u64) -> String {
    let size = size as f64;
    if size < 1024.0 {
        format!("{size} bytes")
    } else if size < 1024.0 * 1024.0 {
        format!("{} KB", int((size / 1024.0).round() as u64))
    } else if size < 1024.0 * 1024.0 * 1024.0 {
        format!("{} MB", decimal(size / 1024.0 / 1024.0, 1))
    } else {
        format!("{} GB", decimal(size / 1024.0 / 1024.0 / 1024.0, 1))
    }
}

/// A duration for people: `42 s`, `17 min`, `1.4 h`, `3.2 days`.
pub fn duration(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{} s", seconds.round() as u64)
    } else if seconds < 3600.0 {
        format!("{} min", (seconds / 60.0).round() as u64)
    } else if seconds < 48.0 * 3600.0 {
        format!("{} h", decimal(seconds / 3600.0, 1))
    } else {
        format!("{} days", decimal(seconds / 86_400.0, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_get_thousands_separators() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(300_000), "300,000");
        assert_eq!(int(1_234_567), "1,234,567");
    }

    #[test]
    fn money_is_whole_dollars() {
        assert_eq!(money(617.5), "$618");
        assert_eq!(money(0.0), "$0");
        assert_eq!(money(12_345.0), "$12,345");
    }

    #[test]
    fn decimals_drop_trailing_zeros() {
        assert_eq!(decimal(4.79, 2), "4.79");
        assert_eq!(decimal(6.0, 2), "6");
        assert_eq!(decimal(1.3888, 1), "1.4");
    }

    #[test]
    fn sizes_pick_a_readable_unit() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(14_000), "14 KB");
        assert_eq!(bytes(1_300_000), "1.2 MB");
        assert_eq!(bytes(210 * 1024 * 1024), "210 MB");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(42.0), "42 s");
        assert_eq!(duration(4_998.0), "1.4 h");
        assert_eq!(duration(600.0), "10 min");
        assert_eq!(duration(5.0 * 86_400.0), "5 days");
    }
}
