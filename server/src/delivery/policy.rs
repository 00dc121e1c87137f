//! What an answer from Clay means for a lead: the retry policy. Pure.

use chrono::DateTime;

/// How a send ended, as far as the network is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Clay answered; `retry_after` is the raw `Retry-After` header, if any.
    Status { code: u16, retry_after: Option<String> },
    /// No answer within the timeout.
    Timeout,
    /// No connection, or it broke before an answer (the row may have arrived).
    Network(String),
}

/// What happens to the lead next.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered {
        status: u16,
    },
    /// Send again at `at`. `counts` says whether the attempt is used up.
    Retry {
        at: i64,
        counts: bool,
        status: Option<u16>,
        reason: String,
    },
    /// Never again; `reason` says why.
    Dead {
        status: Option<u16>,
        reason: String,
    },
    /// The webhook itself is refused: set it aside and send the lead through the next one,
    /// without using an attempt.
    WebhookRefused {
        status: u16,
        reason: String,
    },
}

/// Throttling: the whole workspace waits as long as Clay asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoolDown {
    pub until: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Sends a lead gets before it is dead (counting the first).
    pub max_attempts: u32,
    /// The first back-off; each further attempt doubles it.
    pub base_backoff_ms: i64,
    pub max_backoff_ms: i64,
    /// The longest `Retry-After` honoured (a bad header must not park a workspace for days).
    pub max_retry_after_ms: i64,
    /// The wait after a 429 that gives no usable `Retry-After`.
    pub default_retry_after_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_backoff_ms: 1_000,
            max_backoff_ms: 10 * 60_000,
            max_retry_after_ms: 15 * 60_000,
            default_retry_after_ms: 10_000,
        }
    }
}

impl RetryPolicy {
    /// Judges `answer` for a lead that had already failed `attempts` counted times. `jitter` in
    /// [0, 1) spreads retries so a burst of failures does not come back as a burst.
    pub fn judge(&self, answer: &Answer, attempts: u32, now: i64, jitter: f64) -> (Verdict, Option<CoolDown>) {
        let code = match answer {
            Answer::Status { code, .. } => Some(*code),
            _ => None,
        };
        match answer {
            Answer::Status { code: 200..=299, .. } => (Verdict::Delivered { status: code.unwrap_or(200) }, None),
            Answer::Status { code: 429, retry_after } => {
                let wait = retry_after
                    .as_deref()
                    .and_then(|value| parse_retry_after(value, now))
                    .unwrap_or(self.default_retry_after_ms)
                    .clamp(0, self.max_retry_after_ms);
                let at = now + wait;
                let reason = format!("throttled by Clay (HTTP 429), waiting {} s", (wait + 999) / 1000);
                (Verdict::Retry { at, counts: false, status: Some(429), reason }, Some(CoolDown { until: at }))
            }
            Answer::Status { code: 413, .. } => {
                (Verdict::Dead { status: Some(413), reason: "payload too large (HTTP 413)".into() }, None)
            }
            Answer::Status { code: code @ (401 | 403 | 404 | 410), .. } => {
                (Verdict::WebhookRefused { status: *code, reason: format!("webhook refused (HTTP {code})") }, None)
            }
            Answer::Status { code: code @ 400..=499, .. } if *code != 408 => {
                (Verdict::Dead { status: Some(*code), reason: format!("rejected by Clay (HTTP {code})") }, None)
            }
            _ => {
                let reason = match answer {
                    Answer::Status { code, .. } => format!("HTTP {code}"),
                    Answer::Timeout => "timed out".to_owned(),
                    Answer::Network(error) => error.clone(),
                };
                let attempts = attempts + 1;
                if attempts >= self.max_attempts {
                    let reason = format!("{reason}, after {attempts} attempts");
                    (Verdict::Dead { status: code, reason }, None)
                } else {
                    // A server that says when to come back (a 503 with `Retry-After`) is not
                    // asked again sooner than that.
                    let asked = match answer {
                        Answer::Status { retry_after: Some(value), .. } => parse_retry_after(value, now),
                        _ => None,
                    };
                    let wait = self.backoff(attempts, jitter).max(asked.unwrap_or(0).min(self.max_retry_after_ms));
                    (Verdict::Retry { at: now + wait, counts: true, status: code, reason }, None)
                }
            }
        }
    }

    /// Judges a stream-through destination's answer. The same as [`RetryPolicy::judge`], except
    /// that a 429 uses an attempt: destinations are not paced, so a destination that throttles
    /// for ever would otherwise keep its leads retrying for ever. Its `Retry-After` is honoured.
    /// A destination has no next webhook to move on to: what it refuses is dead, and the reason
    /// names the destination, not Clay.
    pub fn judge_forward(&self, answer: &Answer, attempts: u32, now: i64, jitter: f64) -> Verdict {
        match (answer, self.judge(answer, attempts, now, jitter).0) {
            (Answer::Status { code: code @ 400..=499, .. }, Verdict::Dead { .. } | Verdict::WebhookRefused { .. })
                if !matches!(code, 408 | 413) =>
            {
                Verdict::Dead { status: Some(*code), reason: format!("refused by the destination (HTTP {code})") }
            }
            (_, Verdict::Retry { at, counts: false, status, .. }) => {
                let attempts = attempts + 1;
                if attempts >= self.max_attempts {
                    let reason = format!("throttled by the destination (HTTP 429), after {attempts} attempts");
                    Verdict::Dead { status, reason }
                } else {
                    let wait_s = (at - now + 999) / 1000;
                    let reason = format!("throttled by the destination (HTTP 429), waiting {wait_s} s");
                    Verdict::Retry { at, counts: true, status, reason }
                }
            }
            (_, verdict) => verdict,
        }
    }

    /// Exponential back-off after the `attempt`-th failure, with "equal jitter": between half
    /// and all of the doubled delay.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> i64 {
        let doubled = self.base_backoff_ms.saturating_mul(1i64 << attempt.saturating_sub(1).min(30));
        let ceiling = doubled.min(self.max_backoff_ms) as f64;
        (ceiling / 2.0 + ceiling / 2.0 * jitter.clamp(0.0, 1.0)) as i64
    }
}

/// `Retry-After` as delta-seconds or an HTTP date, as milliseconds from `now`.
pub fn parse_retry_after(value: &str, now: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(i64::try_from(seconds.saturating_mul(1000)).unwrap_or(i64::MAX));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.timestamp_millis();
    Some((at - now).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn status(code: u16) -> Answer {
        Answer::Status { code, retry_after: None }
    }

    #[test]
    fn success_is_delivered() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.judge(&status(200), 0, NOW, 0.5).0, Verdict::Delivered { status: 200 });
        assert_eq!(policy.judge(&status(202), 3, NOW, 0.5).0, Verdict::Delivered { status: 202 });
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(parse_retry_after("7", NOW), Some(7_000));
        let date = chrono::DateTime::from_timestamp_millis(NOW + 30_000).unwrap().to_rfc2822().replace("+0000", "GMT");
        assert_eq!(parse_retry_after(&date, NOW), Some(30_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW), Some(0));
        assert_eq!(parse_retry_after("soon", NOW), None);
    }

    #[test]
    fn a_destination_that_throttles_for_ever_uses_its_attempts_then_its_lead_is_dead() {
        let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        let answer = Answer::Status { code: 429, retry_after: Some("12".into()) };
        let verdict = policy.judge_forward(&answer, 0, NOW, 0.0);
        assert!(
            matches!(&verdict, Verdict::Retry { at, counts: true, status: Some(429), reason }
                if *at == NOW + 12_000 && reason.contains("destination")),
            "{verdict:?}"
        );
        assert!(matches!(policy.judge_forward(&answer, 1, NOW, 0.0), Verdict::Retry { counts: true, .. }));
        let verdict = policy.judge_forward(&answer, 2, NOW, 0.0);
        assert!(
            matches!(&verdict, Verdict::Dead { status: Some(429), reason } if reason.contains("after 3 attempts")),
            "{verdict:?}"
        );
        // Everything else is judged as for Clay.
        assert_eq!(policy.judge_forward(&status(204), 2, NOW, 0.5), Verdict::Delivered { status: 204 });
        assert!(matches!(policy.judge_forward(&status(503), 2, NOW, 0.5), Verdict::Dead { status: Some(503), .. }));
        assert!(matches!(policy.judge_forward(&status(408), 0, NOW, 0.5), Verdict::Retry { counts: true, .. }));
        assert!(matches!(policy.judge_forward(&status(413), 0, NOW, 0.5), Verdict::Dead { status: Some(413), .. }));
    }

    #[test]
    fn what_a_destination_refuses_is_dead_and_the_reason_names_the_destination() {
        let policy = RetryPolicy::default();
        for code in [400, 401, 403, 404, 410, 422] {
            let reason = format!("refused by the destination (HTTP {code})");
            assert_eq!(policy.judge_forward(&status(code), 0, NOW, 0.5), Verdict::Dead { status: Some(code), reason });
        }
    }

    #[test]
    fn a_429_cools_the_workspace_down_without_using_an_attempt() {
        let policy = RetryPolicy::default();
        let answer = Answer::Status { code: 429, retry_after: Some("12".into()) };
        let (verdict, cool) = policy.judge(&answer, 7, NOW, 0.0);
        assert!(matches!(verdict, Verdict::Retry { at, counts: false, .. } if at == NOW + 12_000));
        assert_eq!(cool, Some(CoolDown { until: NOW + 12_000 }));
        let absurd = Answer::Status { code: 429, retry_after: Some("999999".into()) };
        assert_eq!(policy.judge(&absurd, 0, NOW, 0.0).1, Some(CoolDown { until: NOW + policy.max_retry_after_ms }));
        assert_eq!(policy.judge(&status(429), 0, NOW, 0.0).1, Some(CoolDown { until: NOW + 10_000 }));
    }

    #[test]
    fn server_errors_back_off_exponentially_then_die() {
        let policy = RetryPolicy::default();
        let at = |attempts| match policy.judge(&status(503), attempts, NOW, 1.0).0 {
            Verdict::Retry { at, counts: true, .. } => at - NOW,
            other => panic!("{other:?}"),
        };
        assert_eq!((at(0), at(1), at(2), at(3)), (1_000, 2_000, 4_000, 8_000));
        assert!(matches!(policy.judge(&status(503), 7, NOW, 0.0).0, Verdict::Dead { status: Some(503), .. }));
        assert!(matches!(policy.judge(&Answer::Timeout, 7, NOW, 0.0).0, Verdict::Dead { status: None, .. }));
        assert!(matches!(policy.judge(&Answer::Network("reset".into()), 0, NOW, 0.0).0, Verdict::Retry { .. }));
    }

    #[test]
    fn a_server_error_with_retry_after_is_not_retried_sooner() {
        let policy = RetryPolicy::default();
        let at = |retry_after: &str| match policy.judge(
            &Answer::Status { code: 503, retry_after: Some(retry_after.into()) },
            0,
            NOW,
            1.0,
        ) {
            (Verdict::Retry { at, counts: true, .. }, None) => at - NOW,
            other => panic!("{other:?}"),
        };
        assert_eq!(at("120"), 120_000);
        assert_eq!(at("0"), 1_000, "never sooner than the backoff");
        assert_eq!(at("999999"), policy.max_retry_after_ms, "nor later than the longest wait");
    }

    #[test]
    fn jitter_stays_within_half_and_all_of_the_delay() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(4, 0.0), 4_000);
        assert_eq!(policy.backoff(4, 1.0), 8_000);
        assert_eq!(policy.backoff(40, 1.0), policy.max_backoff_ms);
    }

    #[test]
    fn refusals_and_hopeless_requests() {
        let policy = RetryPolicy::default();
        for code in [401, 403, 404, 410] {
            assert!(matches!(policy.judge(&status(code), 0, NOW, 0.0).0, Verdict::WebhookRefused { .. }));
        }
        assert!(matches!(policy.judge(&status(413), 0, NOW, 0.0).0, Verdict::Dead { status: Some(413), .. }));
        assert!(matches!(policy.judge(&status(400), 0, NOW, 0.0).0, Verdict::Dead { status: Some(400), .. }));
        assert!(matches!(policy.judge(&status(408), 0, NOW, 0.0).0, Verdict::Retry { .. }));
    }
}
