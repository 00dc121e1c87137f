//! The delivery engine: a worker that claims ready leads from the ledger, sends each to a Clay
//! webhook at the workspace's pace, and records what Clay answered. The same worker forwards
//! enriched leads to their table's stream-through destination, with the same retry rules.
//!
//! The worker is steppable: [`Worker::step`] claims what the workspaces' buckets (kept in the database) allow, sends it, and records
//! the answers, with the clock and the transport passed in, so tests drive it one step at a time.
//! [`Worker::run`] is the same parts in a loop that keeps up to `senders` requests in flight.

pub mod pacing;
pub mod policy;
pub mod transport;

use crate::notify::Notifier;
use crate::store::{
    Db, alerts, changes,
    delivery::{self, Claim, Claimed, Gate},
    forwarding::{self, Forward},
};
use futures_util::{StreamExt, stream};
use policy::{Answer, RetryPolicy, Verdict};
use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Semaphore, mpsc};
use transport::{Submission, Transport};

/// Where the worker gets the time: the system clock, or a hand-moved one in tests.
pub trait Clock: Send + Sync + 'static {
    /// Unix milliseconds.
    fn now(&self) -> i64;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that moves only when told to.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(now: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(now)))
    }

    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// When the worker last went round its loop, for `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    fn beat(&self, now: i64) {
        self.0.store(now, Ordering::Relaxed);
    }

    /// Unix milliseconds of the last round; 0 before the first.
    pub fn last(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How long [`Worker::run`] waits after a database error before it tries again: a quarter of a
/// second, doubling with each failure in a row up to half a minute, so a short lock costs little
/// and a long outage does not flood the log.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const LONGEST: Duration = Duration::from_secs(30);

    fn failed(&mut self) -> Duration {
        let pause = Self::FIRST.saturating_mul(1 << self.failures.min(16)).min(Self::LONGEST);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    fn succeeded(&mut self) {
        self.failures = 0;
    }
}

/// Dead leads in one import from which an alert is raised, unless configured.
pub const DEFAULT_DEAD_ALERT_AT: u64 = 100;

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Requests in flight at once, across workspaces.
    pub senders: usize,
    /// Leads claimed in one transaction, at most.
    pub batch: u32,
    /// How long a claimed lead is this worker's; after that another may send it. Longer than
    /// the send timeout, so a slow answer is never taken for a dead worker.
    pub lease: Duration,
    pub policy: RetryPolicy,
    /// Dead leads in one import from which an alert is raised.
    pub dead_alert_at: u64,
}

impl Settings {
    pub fn new(senders: usize, send_timeout: Duration, max_attempts: u32) -> Self {
        Settings {
            senders: senders.max(1),
            batch: 500,
            lease: send_timeout + Duration::from_secs(10),
            policy: RetryPolicy { max_attempts: max_attempts.max(1), ..RetryPolicy::default() },
            dead_alert_at: DEFAULT_DEAD_ALERT_AT,
        }
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StepReport {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
    pub requeued: usize,
    /// Enriched leads sent on to their table's destination (successfully).
    pub forwarded: usize,
}

/// What a round of claims took, and the database error that cut it short, if one did: the
/// claims committed before it are in `jobs` and must still be sent.
#[derive(Default)]
struct Round {
    jobs: Vec<Job>,
    error: Option<sqlx::Error>,
}

/// One request the worker makes: a lead to Clay, or an enriched lead to its destination.
enum Job {
    Deliver(Claimed),
    Forward(Forward),
}

impl Job {
    fn submission(&self) -> Submission {
        match self {
            Job::Deliver(lead) => Submission {
                url: lead.url.clone(),
                auth: lead.auth_token.clone().map(|token| ("x-clay-webhook-auth", token)),
                idempotency_key: lead.kiln_id(),
                body: lead.body(),
            },
            Job::Forward(forward) => Submission {
                url: forward.url.clone(),
                auth: forward.authorization.clone().map(|value| ("authorization", value)),
                idempotency_key: format!("{}-forward", forward.lead_id),
                body: forward.body.clone(),
            },
        }
    }
}

pub struct Worker<T: Transport, C: Clock> {
    db: Db,
    transport: Arc<T>,
    clock: C,
    settings: Settings,
    heartbeat: Option<Heartbeat>,
    thresholds_checked_at: i64,
    announced_at: i64,
    notifier: Notifier,
    requests: Option<tokio::runtime::Handle>,
}

impl<T: Transport, C: Clock> Worker<T, C> {
    pub fn new(db: Db, transport: T, clock: C, settings: Settings) -> Self {
        Worker {
            db,
            transport: Arc::new(transport),
            clock,
            settings,
            heartbeat: None,
            thresholds_checked_at: 0,
            announced_at: 0,
            notifier: Notifier::default(),
            requests: None,
        }
    }

    /// Posts each new alert to the alert URL.
    pub fn with_notifier(mut self, notifier: Notifier) -> Self {
        self.notifier = notifier;
        self
    }

    /// Makes the requests of [`Worker::run`] on `runtime` rather than on the loop's own.
    pub fn sending_on(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.requests = Some(runtime);
        self
    }

    /// Reports each round of [`Worker::run`] to `heartbeat`.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = Some(heartbeat);
        self
    }

    /// Claims what the buckets allow (at most `senders`) and the forwards that are due, sends it
    /// all, records every answer.
    pub async fn step(&mut self) -> Result<StepReport, sqlx::Error> {
        let now = self.clock.now();
        self.housekeeping(now).await?;
        let Round { jobs, error } = self.claim_jobs(now, self.settings.senders).await;
        let transport = Arc::clone(&self.transport);
        let mut answers: Vec<(Job, Answer)> = stream::iter(jobs)
            .map(|job| {
                let transport = Arc::clone(&transport);
                async move {
                    let answer = transport.send(&job.submission()).await;
                    (job, answer)
                }
            })
            .buffer_unordered(self.settings.senders)
            .collect()
            .await;
        let report = self.settle(&mut answers).await?;
        error.map_or(Ok(report), Err)
    }

    /// Runs until `stop` resolves, then finishes the requests in flight and records them.
    ///
    /// Claims and records are transactions, worth making for a handful of leads rather than for
    /// each: the loop claims once a quarter of the senders are free, and records answers once a
    /// quarter of the senders have answered, or after 2 ms, or when nothing else is in flight.
    ///
    /// A database error (a lock held too long, a full disk, PostgreSQL restarting) ends the round,
    /// not the worker: it waits, longer after each failure in a row, and goes round again. A
    /// failed claim rolled back; answers that could not be recorded stay pending and are
    /// recorded once the database answers, so no lead is sent again because of it. Only while
    /// stopping does an error end the run; the leads it could not record go back to the queue
    /// when their lease ends, as after a crash.
    pub async fn run(mut self, stop: impl Future<Output = ()> + Send) -> Result<(), sqlx::Error> {
        const FLUSH_AFTER_MS: i64 = 2;
        let senders = self.settings.senders;
        let enough = (senders / 4).max(1);
        let permits = Arc::new(Semaphore::new(senders));
        let (answered, mut answers) = mpsc::unbounded_channel::<(Job, Answer)>();
        let mut stop = std::pin::pin!(stop);
        let mut last_housekeeping: Option<i64> = None;
        let mut stopping = false;
        let mut pending: Vec<(Job, Answer)> = Vec::new();
        let mut pending_since = 0;
        let mut backoff = Backoff::default();
        let mut failed = false;
        let requests = self.requests.clone().unwrap_or_else(tokio::runtime::Handle::current);
        macro_rules! or_wait {
            ($call:expr) => {
                match $call {
                    Ok(value) => value,
                    Err(error) => {
                        if stopping {
                            return Err(error);
                        }
                        let pause = backoff.failed();
                        tracing::error!(
                            %error,
                            retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                            "the delivery worker's database call failed; it tries again"
                        );
                        failed = true;
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = &mut stop => stopping = true,
                        }
                        continue;
                    }
                }
            };
        }
        loop {
            let now = self.clock.now();
            // A round that went through: the database answers again, and the loop is alive.
            if !std::mem::take(&mut failed) {
                backoff.succeeded();
                if let Some(heartbeat) = &self.heartbeat {
                    heartbeat.beat(now);
                }
            }
            // Answers first: after an outage they are recorded before housekeeping could take
            // their leases for expired and queue their leads again.
            while let Ok(answer) = answers.try_recv() {
                if pending.is_empty() {
                    pending_since = now;
                }
                pending.push(answer);
            }
            let busy = senders - permits.available_permits();
            let flush = pending.len() >= enough
                || (!pending.is_empty() && (busy == 0 || stopping || now - pending_since >= FLUSH_AFTER_MS));
            if flush {
                // What is recorded leaves `pending`; the rest waits for the next try.
                or_wait!(self.settle(&mut pending).await);
                continue;
            }
            if stopping && busy == 0 {
                // A request answers before it frees its permit: one that did both between the
                // drain above and the count has its answer in the channel, to record first.
                if answers.is_empty() {
                    return Ok(());
                }
                continue;
            }
            if !stopping && last_housekeeping.is_none_or(|last| now - last >= 200) {
                or_wait!(self.housekeeping(now).await);
                last_housekeeping = Some(now);
            }
            let free = permits.available_permits();
            // While answers cannot be recorded, nothing more is sent once `senders` of them wait.
            let could_claim = !stopping && free > 0 && pending.len() < senders && (free >= enough || free == senders);
            let mut claimed = 0;
            if could_claim {
                let Round { jobs, error } = self.claim_jobs(now, free).await;
                for job in jobs {
                    // Never fails: at most `free` jobs were claimed, and only this loop takes permits.
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else { break };
                    let transport = Arc::clone(&self.transport);
                    let answered = answered.clone();
                    claimed += 1;
                    requests.spawn(async move {
                        let answer = transport.send(&job.submission()).await;
                        // The answer first: a free permit tells the loop nothing is left to wait for.
                        let _ = answered.send((job, answer));
                        drop(permit);
                    });
                }
                // What was claimed before the error is out; then the wait.
                or_wait!(error.map_or(Ok(()), Err));
            }
            if claimed > 0 && permits.available_permits() >= enough {
                // More may be ready (another workspace, more tokens): claim again at once.
                continue;
            }
            let mut wake = now + 250;
            if !pending.is_empty() {
                wake = wake.min(pending_since + FLUSH_AFTER_MS);
            }
            if could_claim && claimed == 0 {
                wake = wake.min(or_wait!(self.next_wake(now).await));
            }
            let nap = Duration::from_millis(u64::try_from((wake - now).clamp(1, 250)).unwrap_or(250));
            tokio::select! {
                Some(answer) = answers.recv() => {
                    if pending.is_empty() {
                        pending_since = self.clock.now();
                    }
                    pending.push(answer);
                }
                () = tokio::time::sleep(nap) => {}
                () = &mut stop, if !stopping => stopping = true,
            }
        }
    }

    async fn housekeeping(&mut self, now: i64) -> Result<(), sqlx::Error> {
        if now - self.thresholds_checked_at >= 5_000 {
            for message in alerts::check_thresholds(&self.db, now, self.settings.dead_alert_at).await? {
                tracing::warn!("{message}");
                self.notifier.tell(&message);
            }
            let silent_for = i64::try_from(crate::ingest::INTERRUPTED_AFTER.as_millis()).unwrap_or(i64::MAX);
            crate::ingest::end_interrupted(&self.db, now.saturating_sub(silent_for)).await?;
            self.thresholds_checked_at = now;
        }
        delivery::release_expired_leases(&self.db, now).await?;
        delivery::promote_due_retries(&self.db, now).await?;
        delivery::unpark(&self.db, now).await?;
        forwarding::release_expired_leases(&self.db, now).await?;
        Ok(())
    }

    /// Leads for Clay first (they are paced), then forwards with the room left.
    async fn claim_jobs(&mut self, now: i64, capacity: usize) -> Round {
        let mut round = Round::default();
        if let Err(error) = self.claim(now, capacity, &mut round.jobs).await {
            round.error = Some(error);
            return round;
        }
        let room = u32::try_from(capacity.saturating_sub(round.jobs.len())).unwrap_or(0).min(self.settings.batch);
        if room > 0 {
            let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
            match forwarding::claim(&self.db, room, now, lease).await {
                Ok(forwards) => round.jobs.extend(forwards.into_iter().map(Job::Forward)),
                Err(error) => round.error = Some(error),
            }
        }
        round
    }

    /// When there may be something to claim: the next token of a bucket with work, or sooner.
    async fn next_wake(&mut self, now: i64) -> Result<i64, sqlx::Error> {
        let mut wake = now + 250;
        for gate in delivery::ready_workspaces(&self.db, now).await? {
            wake = wake.min(gate.bucket().next_token_at(now).max(now + 1));
        }
        let parked = delivery::next_wake(&self.db, now).await?;
        let forward = forwarding::next_due(&self.db).await?;
        if let Some(at) = [parked, forward].into_iter().flatten().min() {
            wake = wake.min(at.max(now + 1));
        }
        Ok(wake)
    }

    /// Claims for each ready workspace in turn; each claim is committed as soon as it is made,
    /// so its leads join `jobs` before anything else can fail.
    async fn claim(&mut self, now: i64, capacity: usize, jobs: &mut Vec<Job>) -> Result<(), sqlx::Error> {
        for gate in delivery::ready_workspaces(&self.db, now).await? {
            let room = u32::try_from(capacity.saturating_sub(jobs.len())).unwrap_or(u32::MAX).min(self.settings.batch);
            if room == 0 {
                break;
            }
            // The bucket is the workspace's, in the database: the claim takes from it.
            if gate.bucket().next_token_at(now) > now {
                continue;
            }
            let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
            let mut claim = delivery::claim(&self.db, &gate, room, now, lease).await?;
            jobs.extend(std::mem::take(&mut claim.leads).into_iter().map(Job::Deliver));
            self.raise_parking_alerts(&gate, &claim, now).await?;
        }
        Ok(())
    }

    async fn raise_parking_alerts(&self, gate: &Gate, claim: &Claim, now: i64) -> Result<(), sqlx::Error> {
        for table in &claim.needs_webhook {
            let message =
                format!("every webhook of table {table} is full or failing: its leads wait for a new webhook");
            if alerts::raise(
                &self.db,
                Some(gate.id),
                alerts::NEEDS_WEBHOOK,
                &alerts::table_subject(*table),
                &message,
                now,
            )
            .await?
            {
                tracing::warn!(workspace = gate.id, table, "{message}");
                self.notifier.tell(&message);
            }
        }
        for table in &claim.out_of_budget {
            let message = format!(
                "workspace {}'s monthly credit budget is exhausted: leads of table {table} wait for budget",
                gate.id
            );
            if alerts::raise(
                &self.db,
                Some(gate.id),
                alerts::BUDGET_EXHAUSTED,
                &alerts::table_subject(*table),
                &message,
                now,
            )
            .await?
            {
                tracing::warn!(workspace = gate.id, table, "{message}");
                self.notifier.tell(&message);
            }
        }
        Ok(())
    }

    /// Judges each answer and records the lot: deliveries in one transaction, forwards in another.
    ///
    /// What is recorded leaves `answers`, so that after an error a second try records only the
    /// rest (the per-minute roll-ups count each answer once).
    async fn settle(&mut self, answers: &mut Vec<(Job, Answer)>) -> Result<StepReport, sqlx::Error> {
        let now = self.clock.now();
        let mut report = StepReport { claimed: answers.len(), ..StepReport::default() };
        let mut results = Vec::with_capacity(answers.len());
        let mut forwarded = Vec::new();
        for (job, answer) in answers.iter() {
            let lead = match job {
                Job::Deliver(lead) => lead.clone(),
                Job::Forward(forward) => {
                    let forward = forward.clone();
                    // A destination's 429 delays this lead only (destinations are not paced), and
                    // uses one of its attempts.
                    let verdict =
                        self.settings.policy.judge_forward(answer, forward.attempts, now, rand::random::<f64>());
                    if let Verdict::Delivered { .. } = verdict {
                        report.forwarded += 1;
                    }
                    forwarded.push((forward, verdict));
                    continue;
                }
            };
            let (verdict, cool) = self.settings.policy.judge(answer, lead.attempts, now, rand::random::<f64>());
            if let Some(cool) = cool {
                delivery::cool_down(&self.db, lead.workspace_id, cool.until).await?;
            }
            match &verdict {
                Verdict::Delivered { .. } => report.delivered += 1,
                Verdict::Retry { .. } => report.retried += 1,
                Verdict::Dead { .. } => report.dead += 1,
                Verdict::WebhookRefused { status, .. } => {
                    report.requeued += 1;
                    if delivery::mark_webhook_failing(&self.db, lead.webhook_id).await? {
                        let message = format!(
                            "webhook {} of table {} answered HTTP {status}: taken out of rotation",
                            lead.webhook_id, lead.table_id
                        );
                        tracing::warn!(webhook = lead.webhook_id, status, "{message}");
                        let subject = format!("webhook:{}", lead.webhook_id);
                        if alerts::raise(
                            &self.db,
                            Some(lead.workspace_id),
                            alerts::WEBHOOK_FAILING,
                            &subject,
                            &message,
                            now,
                        )
                        .await?
                        {
                            self.notifier.tell(&message);
                        }
                    }
                }
            }
            results.push((lead, verdict));
        }
        delivery::record(&self.db, &results, now).await?;
        answers.retain(|(job, _)| matches!(job, Job::Forward(_)));
        forwarding::record(&self.db, &forwarded, now).await?;
        answers.clear();
        for (forward, verdict) in &forwarded {
            let Verdict::Dead { reason, .. } = verdict else { continue };
            let message = format!(
                "table {}'s stream-through destination gave up on lead {} ({reason}); once the destination works, send the dead forwards again from the table's settings",
                forward.table_id, forward.lead_id
            );
            let subject = alerts::table_subject(forward.table_id);
            if alerts::raise(&self.db, None, alerts::FORWARD_FAILING, &subject, &message, now).await? {
                tracing::warn!(table = forward.table_id, "{message}");
                self.notifier.tell(&message);
            }
        }
        // Every instance's dashboard hears of it, at most once a second from each worker.
        if now - self.announced_at >= 1_000 {
            self.announced_at = now;
            changes::announce(&self.db).await?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_after_database_errors_doubles_up_to_its_longest_and_starts_over_after_a_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<u128> = (0..10).map(|_| backoff.failed().as_millis()).collect();
        assert_eq!(waits, [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
        for _ in 0..100 {
            assert_eq!(backoff.failed(), Backoff::LONGEST);
        }
        backoff.succeeded();
        assert_eq!(backoff.failed(), Backoff::FIRST);
    }
}
