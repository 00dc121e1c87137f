//! The pacing policy: a token bucket per Clay workspace. Pure; times are unix milliseconds.

/// Tokens accrue at `rate` per second up to `capacity`; each send takes one.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    rate_per_sec: f64,
    capacity: f64,
    tokens: f64,
    updated_at: i64,
}

impl TokenBucket {
    /// A bucket for Clay's `rate_per_sec` and `burst`, full at `now`.
    ///
    /// Kiln bursts at most half of Clay's burst: requests leave Kiln paced, but the network may
    /// bunch them on arrival, and Clay's own bucket must keep room for that or it answers 429.
    /// Over minutes the rate is the configured one either way; only the first second differs.
    pub fn for_clay(rate_per_sec: f64, burst: u32, now: i64) -> Self {
        TokenBucket::new(rate_per_sec, (burst / 2).max(1), now)
    }

    /// A bucket of exactly `capacity`, full at `now` (Clay's own, in the sandbox).
    pub fn new(rate_per_sec: f64, capacity: u32, now: i64) -> Self {
        let capacity = f64::from(capacity.max(1));
        TokenBucket { rate_per_sec: rate_per_sec.max(0.001), capacity, tokens: capacity, updated_at: now }
    }

    /// The bucket as stored with its workspace (`tokens` is `None` for a full one), so that
    /// every process that sends for the workspace draws from the same bucket.
    pub fn restore(rate_per_sec: f64, burst: u32, tokens: Option<f64>, updated_at: i64) -> Self {
        let mut bucket = TokenBucket::for_clay(rate_per_sec, burst, updated_at);
        if let Some(tokens) = tokens {
            bucket.tokens = tokens.clamp(0.0, bucket.capacity);
        }
        bucket
    }

    /// What [`TokenBucket::restore`] takes back: the tokens and when they were counted.
    pub fn state(&self) -> (f64, i64) {
        (self.tokens, self.updated_at)
    }

    fn refill(&mut self, now: i64) {
        if now > self.updated_at {
            let accrued = (now - self.updated_at) as f64 / 1000.0 * self.rate_per_sec;
            self.tokens = (self.tokens + accrued).min(self.capacity);
            self.updated_at = now;
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: i64) -> u32 {
        self.refill(now);
        self.tokens.floor() as u32
    }

    /// Takes `n` tokens (at most what is available) and returns how many were taken.
    pub fn take(&mut self, now: i64, n: u32) -> u32 {
        let taken = self.available(now).min(n);
        self.tokens -= f64::from(taken);
        taken
    }

    /// Gives back tokens that were taken but not used (the claim found fewer leads).
    pub fn give_back(&mut self, n: u32) {
        self.tokens = (self.tokens + f64::from(n)).min(self.capacity);
    }

    /// When the next whole token will be there.
    pub fn next_token_at(&mut self, now: i64) -> i64 {
        self.refill(now);
        if self.tokens >= 1.0 { now } else { now + ((1.0 - self.tokens) / self.rate_per_sec * 1000.0).ceil() as i64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn starts_with_half_of_clays_burst() {
        let mut bucket = TokenBucket::for_clay(10.0, 20, 0);
        assert_eq!(bucket.take(0, 100), 10);
        assert_eq!(bucket.take(0, 1), 0);
        assert_eq!(bucket.next_token_at(0), 100);
    }

    #[test]
    fn refills_at_the_rate() {
        let mut bucket = TokenBucket::for_clay(10.0, 20, 0);
        bucket.take(0, 10);
        assert_eq!(bucket.available(250), 2);
        assert_eq!(bucket.take(1_000, 100), 10);
    }

    #[test]
    fn a_burst_of_one_still_sends() {
        let mut bucket = TokenBucket::for_clay(0.5, 1, 0);
        assert_eq!(bucket.take(0, 5), 1);
        assert_eq!(bucket.next_token_at(0), 2_000);
    }

    #[test]
    fn a_stored_bucket_carries_on_where_it_was() {
        let mut bucket = TokenBucket::for_clay(10.0, 20, 0);
        bucket.take(0, 7);
        let (tokens, at) = bucket.state();
        let mut again = TokenBucket::restore(10.0, 20, Some(tokens), at);
        assert_eq!(again.take(0, 100), 3);
        assert_eq!(TokenBucket::restore(10.0, 20, None, 0).take(0, 100), 10, "none stored: full");
        assert_eq!(TokenBucket::restore(10.0, 4, Some(9.0), 0).take(0, 100), 2, "never past a smaller burst");
    }

    proptest! {
        /// Over any window, the sends never pass capacity + rate × time: Kiln cannot cause a
        /// 429 from a bucket of Clay's size.
        #[test]
        fn never_faster_than_the_rate(rate in 1u32..50, burst in 1u32..40, steps in proptest::collection::vec(1i64..400, 1..300)) {
            let mut bucket = TokenBucket::for_clay(f64::from(rate), burst, 0);
            let capacity = f64::from((burst / 2).max(1));
            let (mut now, mut sent) = (0i64, 0u64);
            for step in steps {
                now += step;
                sent += u64::from(bucket.take(now, u32::MAX));
                let allowed = capacity + f64::from(rate) * now as f64 / 1000.0;
                prop_assert!(sent as f64 <= allowed + 1e-9);
            }
        }
    }
}
