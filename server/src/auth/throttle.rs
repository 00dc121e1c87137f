//! How many failed sign-ins are tolerated. Pure: the caller supplies the failure times and the
//! clock.

/// Sliding-window limits on failed sign-ins, per account and per client address.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub window_millis: i64,
    pub max_per_account: usize,
    pub max_per_address: usize,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle { window_millis: 15 * 60 * 1000, max_per_account: 5, max_per_address: 20 }
    }
}

impl Throttle {
    /// The earliest time from which failures count.
    pub fn window_start(&self, now: i64) -> i64 {
        now - self.window_millis
    }

    /// How long (ms) before another attempt is allowed, given the failure times within the window
    /// (oldest first) and the limit for that key; `None` when an attempt is allowed now.
    pub fn wait(&self, failures: &[i64], limit: usize, now: i64) -> Option<i64> {
        if limit == 0 || failures.len() < limit {
            return None;
        }
        // Another attempt is allowed once enough failures have left the window that fewer than
        // `limit` remain.
        let freeing = failures[failures.len() - limit];
        Some((freeing + self.window_millis - now).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn allows_attempts_until_the_limit() {
        let throttle = Throttle::default();
        let failures = [0, MINUTE, 2 * MINUTE, 3 * MINUTE];
        assert_eq!(throttle.wait(&failures, 5, 4 * MINUTE), None);
    }

    #[test]
    fn blocks_at_the_limit_until_the_oldest_failure_leaves_the_window() {
        let throttle = Throttle::default();
        let failures = [0, MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE];
        assert_eq!(throttle.wait(&failures, 5, 5 * MINUTE), Some(10 * MINUTE));
        assert_eq!(throttle.wait(&failures, 5, 15 * MINUTE - 1), Some(1));
    }

    #[test]
    fn more_failures_than_the_limit_wait_for_the_right_one() {
        let throttle = Throttle::default();
        let failures = [0, MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE, 5 * MINUTE];
        // Six failures, limit five: blocked until the second one (at 1 min) expires.
        assert_eq!(throttle.wait(&failures, 5, 6 * MINUTE), Some(10 * MINUTE));
    }
}
