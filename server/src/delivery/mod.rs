//! The delivery engine: a worker that claims ready leads from the ledger, sends each to a Clay
//! webhook at the workspace's pace, and records what Clay answered.
//!
//! The worker is steppable: [`Worker::step`] claims what the buckets allow, sends it, and records
//! the answers, with the clock and the transport passed in, so tests drive it one step at a time.
//! [`Worker::run`] is the same parts in a loop that keeps up to `senders` requests in flight.

pub mod pacing;
pub mod policy;
pub mod transport;

use crate::store::{
    Db, alerts,
    delivery::{self, Claim, Claimed, Gate},
};
use futures_util::{StreamExt, stream};
use pacing::TokenBucket;
use policy::{Answer, RetryPolicy, Verdict};
use std::{
    collections::HashMap,
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
}

impl Settings {
    pub fn new(senders: usize, send_timeout: Duration, max_attempts: u32) -> Self {
        Settings {
            senders: senders.max(1),
            batch: 500,
            lease: send_timeout + Duration::from_secs(10),
            policy: RetryPolicy { max_attempts: max_attempts.max(1), ..RetryPolicy::default() },
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
}

pub struct Worker<T: Transport, C: Clock> {
    db: Db,
    transport: Arc<T>,
    clock: C,
    settings: Settings,
    buckets: HashMap<i64, TokenBucket>,
}

impl<T: Transport, C: Clock> Worker<T, C> {
    pub fn new(db: Db, transport: T, clock: C, settings: Settings) -> Self {
        Worker { db, transport: Arc::new(transport), clock, settings, buckets: HashMap::new() }
    }

    /// Claims what the buckets allow (at most `senders`), sends it all, records every answer.
    pub async fn step(&mut self) -> Result<StepReport, sqlx::Error> {
        let now = self.clock.now();
        self.housekeeping(now).await?;
        let claimed = self.claim(now, self.settings.senders).await?;
        let transport = Arc::clone(&self.transport);
        let answers: Vec<(Claimed, Answer)> = stream::iter(claimed)
            .map(|lead| {
                let transport = Arc::clone(&transport);
                async move {
                    let answer = transport.send(&submission(&lead)).await;
                    (lead, answer)
                }
            })
            .buffer_unordered(self.settings.senders)
            .collect()
            .await;
        self.settle(answers).await
    }

    /// Runs until `stop` resolves, then finishes the requests in flight and records them.
    pub async fn run(mut self, stop: impl Future<Output = ()> + Send) -> Result<(), sqlx::Error> {
        let permits = Arc::new(Semaphore::new(self.settings.senders));
        let (answered, mut answers) = mpsc::unbounded_channel::<(Claimed, Answer)>();
        let mut stop = std::pin::pin!(stop);
        let mut last_housekeeping: Option<i64> = None;
        let mut stopping = false;
        loop {
            let now = self.clock.now();
            if !stopping && last_housekeeping.is_none_or(|last| now - last >= 200) {
                self.housekeeping(now).await?;
                last_housekeeping = Some(now);
            }
            let mut claimed = 0;
            let free = permits.available_permits();
            if !stopping && free > 0 {
                for lead in self.claim(now, free).await? {
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else { break };
                    let transport = Arc::clone(&self.transport);
                    let answered = answered.clone();
                    claimed += 1;
                    tokio::spawn(async move {
                        let answer = transport.send(&submission(&lead)).await;
                        drop(permit);
                        let _ = answered.send((lead, answer));
                    });
                }
            }
            let mut done = Vec::new();
            while let Ok(answer) = answers.try_recv() {
                done.push(answer);
            }
            if !done.is_empty() {
                self.settle(done).await?;
                continue;
            }
            if stopping && permits.available_permits() == self.settings.senders {
                return Ok(());
            }
            if claimed > 0 && permits.available_permits() > 0 {
                continue;
            }
            let wake = self.next_wake(now).await?;
            let nap = Duration::from_millis(u64::try_from((wake - now).clamp(1, 250)).unwrap_or(250));
            tokio::select! {
                Some(answer) = answers.recv() => self.settle(vec![answer]).await.map(drop)?,
                () = tokio::time::sleep(nap) => {}
                () = &mut stop, if !stopping => stopping = true,
            }
        }
    }

    async fn housekeeping(&self, now: i64) -> Result<(), sqlx::Error> {
        delivery::release_expired_leases(&self.db, now).await?;
        delivery::promote_due_retries(&self.db, now).await?;
        delivery::unpark(&self.db, now).await?;
        Ok(())
    }

    /// When there may be something to claim: the next token of a bucket with work, or sooner.
    async fn next_wake(&mut self, now: i64) -> Result<i64, sqlx::Error> {
        let mut wake = now + 250;
        for gate in delivery::ready_workspaces(&self.db, now).await? {
            wake = wake.min(self.bucket(&gate, now).next_token_at(now).max(now + 1));
        }
        if let Some(at) = delivery::next_wake(&self.db, now).await? {
            wake = wake.min(at.max(now + 1));
        }
        Ok(wake)
    }

    fn bucket(&mut self, gate: &Gate, now: i64) -> &mut TokenBucket {
        let burst = u32::try_from(gate.burst).unwrap_or(1);
        let bucket =
            self.buckets.entry(gate.id).or_insert_with(|| TokenBucket::for_clay(gate.rate_per_sec, burst, now));
        bucket.reconfigure(gate.rate_per_sec, burst);
        bucket
    }

    async fn claim(&mut self, now: i64, capacity: usize) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut claimed = Vec::new();
        for gate in delivery::ready_workspaces(&self.db, now).await? {
            let room =
                u32::try_from(capacity.saturating_sub(claimed.len())).unwrap_or(u32::MAX).min(self.settings.batch);
            if room == 0 {
                break;
            }
            let tokens = self.bucket(&gate, now).take(now, room);
            if tokens == 0 {
                continue;
            }
            let lease = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
            let claim = delivery::claim(&self.db, &gate, tokens, now, lease).await?;
            self.bucket(&gate, now).give_back(tokens - u32::try_from(claim.leads.len()).unwrap_or(tokens));
            self.raise_parking_alerts(&gate, &claim, now).await?;
            claimed.extend(claim.leads);
        }
        Ok(claimed)
    }

    async fn raise_parking_alerts(&self, gate: &Gate, claim: &Claim, now: i64) -> Result<(), sqlx::Error> {
        for table in &claim.needs_webhook {
            let message =
                format!("every webhook of table {table} is full or failing: its leads wait for a new webhook");
            if alerts::raise(&self.db, Some(gate.id), alerts::NEEDS_WEBHOOK, &format!("table:{table}"), &message, now)
                .await?
            {
                tracing::warn!(workspace = gate.id, table, "{message}");
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
                &format!("table:{table}"),
                &message,
                now,
            )
            .await?
            {
                tracing::warn!(workspace = gate.id, table, "{message}");
            }
        }
        Ok(())
    }

    /// Judges each answer and records the lot in one transaction.
    async fn settle(&mut self, answers: Vec<(Claimed, Answer)>) -> Result<StepReport, sqlx::Error> {
        let now = self.clock.now();
        let mut report = StepReport { claimed: answers.len(), ..StepReport::default() };
        let mut results = Vec::with_capacity(answers.len());
        for (lead, answer) in answers {
            let (verdict, cool) = self.settings.policy.judge(&answer, lead.attempts, now, rand::random::<f64>());
            if let Some(cool) = cool {
                delivery::cool_down(&self.db, lead.workspace_id, cool.until).await?;
                self.buckets.remove(&lead.workspace_id);
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
                        alerts::raise(
                            &self.db,
                            Some(lead.workspace_id),
                            alerts::WEBHOOK_FAILING,
                            &subject,
                            &message,
                            now,
                        )
                        .await?;
                    }
                }
            }
            results.push((lead, verdict));
        }
        delivery::record(&self.db, &results, now).await?;
        Ok(report)
    }
}

fn submission(lead: &Claimed) -> Submission {
    Submission {
        url: lead.url.clone(),
        auth_token: lead.auth_token.clone(),
        idempotency_key: lead.kiln_id(),
        body: lead.body(),
    }
}
