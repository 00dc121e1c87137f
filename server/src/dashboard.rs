//! The live dashboard: while anyone looks, one task computes the snapshot every couple of
//! seconds and hands it to every open page over server-sent events, so the cost of the numbers
//! does not grow with the number of people watching, and each request is answered from memory.
//! While nobody looks, nothing is computed: a snapshot reads every lead's state, which an import
//! of a million rows should not pay for.

use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Db, dashboard::Settled},
};
use app::domain::Dashboard;
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::{Stream, StreamExt, stream};
use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::sync::{Notify, watch};

/// How often the snapshot is recomputed.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The least time between two snapshots, however often changes are announced.
pub const SOONEST: Duration = Duration::from_millis(500);

/// How long after a request for the dashboard the task keeps the snapshot fresh, so that the
/// requests of a person reading the pages are answered from memory.
pub const INTEREST: Duration = Duration::from_secs(60);

/// The latest snapshot, for whoever asks.
#[derive(Clone)]
pub struct Live {
    latest: watch::Receiver<Arc<Dashboard>>,
    interest: Arc<Interest>,
    every: Duration,
}

/// Who looks at the dashboard: the task computes only while someone does.
#[derive(Default)]
struct Interest {
    /// Open streams ([`Live::watch`]).
    watchers: AtomicUsize,
    /// Unix milliseconds until which a request's interest lasts ([`INTEREST`]).
    until: AtomicI64,
    /// Wakes the task before its tick: a change was announced ([`store::changes::follow`]), or
    /// someone started looking and found the snapshot stale.
    wake: Arc<Notify>,
}

impl Interest {
    fn wanted(&self, now: i64) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0 || now < self.until.load(Ordering::Relaxed)
    }
}

impl Live {
    /// Starts the task that keeps the snapshot fresh (it stops when the last `Live` is dropped).
    pub fn spawn(db: Db) -> Live {
        Live::spawn_every(db, REFRESH)
    }

    /// The same, refreshing every `every`, and as soon as any process announces a change (see
    /// [`store::changes`]), at most once per [`SOONEST`].
    pub fn spawn_every(db: Db, every: Duration) -> Live {
        let (publish, latest) = watch::channel(Arc::new(Dashboard::default()));
        let interest = Arc::new(Interest::default());
        store::changes::follow(&db, interest.wake.clone());
        let task_interest = interest.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = task_interest.wake.notified() => {}
                }
                if publish.is_closed() {
                    return;
                }
                let now = store::now_millis();
                if !task_interest.wanted(now) {
                    continue;
                }
                match store::dashboard::snapshot(&db, now).await {
                    Ok(snapshot) => {
                        if publish.send(Arc::new(snapshot)).is_err() {
                            return;
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot compute the dashboard"),
                }
                tokio::time::sleep(SOONEST).await;
            }
        });
        Live { latest, interest, every }
    }

    /// The last snapshot the task computed (`at` is 0 before the first), however old.
    pub fn latest(&self) -> Arc<Dashboard> {
        self.latest.borrow().clone()
    }

    /// A snapshot no older than a refresh and [`SOONEST`]. When the one at hand is older (nobody
    /// looked for a while), the task is asked for one and keeps them fresh for [`INTEREST`];
    /// requests that come meanwhile wait for that same one. If the task has none within a few
    /// seconds (its error is in the log), the request computes one itself.
    pub async fn current(&self, db: &Db) -> Result<Arc<Dashboard>> {
        let mut next = self.latest.clone();
        next.mark_unchanged();
        let now = store::now_millis();
        let latest = self.latest();
        if self.is_fresh(&latest, now) {
            return Ok(latest);
        }
        let interest_ms = i64::try_from(INTEREST.as_millis()).unwrap_or(i64::MAX);
        self.interest.until.fetch_max(now.saturating_add(interest_ms), Ordering::Relaxed);
        self.interest.wake.notify_one();
        let wait = self.every + SOONEST + Duration::from_secs(5);
        if let Ok(Ok(())) = tokio::time::timeout(wait, next.changed()).await {
            return Ok(next.borrow_and_update().clone());
        }
        // The task could not compute it (its error is in the log): this request tries itself.
        Ok(Arc::new(store::dashboard::snapshot(db, store::now_millis()).await.map_err(Error::from)?))
    }

    fn is_fresh(&self, snapshot: &Dashboard, now: i64) -> bool {
        let max_age = i64::try_from((self.every + SOONEST).as_millis()).unwrap_or(i64::MAX);
        snapshot.at > 0 && now - snapshot.at <= max_age
    }

    /// Each snapshot from now on, the first at once; the task computes them for as long as the
    /// stream lives.
    pub fn watch(&self) -> impl Stream<Item = Arc<Dashboard>> + Send + use<> {
        let mut receiver = self.latest.clone();
        receiver.mark_unchanged();
        // The snapshot at hand goes first if it is fresh; else the one the task now computes.
        let at_hand = Some(self.latest()).filter(|latest| self.is_fresh(latest, store::now_millis()));
        let watching = Watching::start(&self.interest);
        if at_hand.is_none() {
            self.interest.wake.notify_one();
        }
        let updates = stream::unfold((receiver, watching), |(mut receiver, watching)| async move {
            receiver.changed().await.ok()?;
            let latest = receiver.borrow_and_update().clone();
            Some((latest, (receiver, watching)))
        });
        stream::iter(at_hand).chain(updates)
    }
}

/// One open stream of the dashboard, counted while it lives.
struct Watching(Arc<Interest>);

impl Watching {
    fn start(interest: &Arc<Interest>) -> Watching {
        interest.watchers.fetch_add(1, Ordering::Relaxed);
        Watching(interest.clone())
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// GET /events/dashboard: a server-sent event with the whole snapshot at each refresh. The
/// browser's `EventSource` reconnects by itself.
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = state
        .dashboard
        .watch()
        .map(|snapshot| Ok(Event::default().data(serde_json::to_string(&*snapshot).unwrap_or_else(|_| "{}".into()))));
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The pages' view of the dashboard ([`app::services::Monitoring`]).
pub struct MonitoringService {
    pub db: Db,
    pub live: Live,
}

#[async_trait::async_trait]
impl app::services::Monitoring for MonitoringService {
    async fn dashboard(&self) -> Result<Dashboard, app::error::AppError> {
        Ok(self.live.current(&self.db).await.map(|snapshot| (*snapshot).clone())?)
    }

    async fn webhooks(&self) -> Result<app::domain::WebhooksOutlook, app::error::AppError> {
        Ok(webhooks_outlook(&self.db, store::now_millis()).await?)
    }

    async fn budgets(&self) -> Result<app::domain::BudgetsOutlook, app::error::AppError> {
        Ok(budgets_outlook(&self.db, store::now_millis()).await?)
    }

    async fn audit(&self, before: Option<i64>) -> Result<Vec<app::domain::AuditEntry>, app::error::AppError> {
        Ok(audit_entries(&self.db, before).await?)
    }

    async fn alerts(&self, open_only: bool) -> Result<Vec<app::domain::AlertView>, app::error::AppError> {
        Ok(alert_views(&self.db, open_only).await?)
    }
}

/// Alerts as pages and the API show them: the open ones, or the latest 500 of all.
pub async fn alert_views(db: &Db, open_only: bool) -> Result<Vec<app::domain::AlertView>> {
    let alerts = if open_only { store::alerts::open(db).await? } else { store::alerts::recent(db, 500).await? };
    Ok(alerts
        .into_iter()
        .map(|alert| app::domain::AlertView {
            id: alert.id,
            workspace_id: alert.workspace_id,
            kind: alert.kind,
            message: alert.message,
            raised_at: alert.raised_at,
            cleared_at: alert.cleared_at,
        })
        .collect())
}

/// The webhooks page: each webhook's use and outlook, and what each workspace's month still needs.
pub async fn webhooks_outlook(db: &Db, now: i64) -> Result<app::domain::WebhooksOutlook> {
    use chrono::{Datelike, TimeZone, Utc};
    let webhooks = store::dashboard::webhook_outlooks(db, now).await?;
    let today = Utc.timestamp_millis_opt(now).single().unwrap_or_default();
    let (year, month) = if today.month() == 12 { (today.year() + 1, 1) } else { (today.year(), today.month() + 1) };
    let month_end = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single().map_or(now, |t| t.timestamp_millis());
    let days_left = (month_end - now) as f64 / 86_400_000.0;
    let mut workspaces: Vec<(i64, String)> = webhooks.iter().map(|h| (h.workspace_id, h.workspace.clone())).collect();
    workspaces.dedup();
    let needs = workspaces
        .iter()
        .map(|(id, name)| {
            // New webhooks are counted at the defaults a new webhook gets: Clay's cap less the margin.
            let usable = crate::workspaces::DEFAULT_LIFETIME_CAP - crate::workspaces::DEFAULT_SAFETY_MARGIN;
            app::domain::WebhookNeed::of((*id, name), &webhooks, days_left, usable)
        })
        .collect();
    Ok(app::domain::WebhooksOutlook { at: now, webhooks, needs })
}

/// The budgets page: each workspace's month, its days, its last twelve months and its tables.
pub async fn budgets_outlook(db: &Db, now: i64) -> Result<app::domain::BudgetsOutlook> {
    let tables = store::tables::list(db, None).await?;
    let mut workspaces = Vec::new();
    for workspace in store::workspaces::list(db).await? {
        let snapshot = store::delivery::budget_snapshot(db, workspace.id, now).await?;
        let months = last_months(snapshot.month_start, workspace.budget_day, 12);
        let since = months.first().copied().unwrap_or(snapshot.month_start);
        let days = store::dashboard::settled_by_day(db, workspace.id, since).await?;
        let by_table = store::dashboard::settled_by_table(db, workspace.id, snapshot.month_start).await?;
        let names: Vec<(i64, String)> =
            tables.iter().filter(|t| t.workspace_id == workspace.id).map(|t| (t.id, t.name.clone())).collect();
        workspaces.push(workspace_budget(&workspace, &snapshot, &months, &days, &by_table, &names));
    }
    Ok(app::domain::BudgetsOutlook { at: now, workspaces })
}

/// The starts of the `count` budget months that end with the one starting at `current`, oldest first.
fn last_months(current: i64, day: u8, count: usize) -> Vec<i64> {
    let mut months = vec![current];
    while months.len() < count {
        let earliest = months[months.len() - 1];
        months.push(crate::budget::month_start(earliest - 1, day));
    }
    months.reverse();
    months
}

/// Sorts the roll-up's days into the page's month and months, and names its tables. Pure.
fn workspace_budget(
    workspace: &app::domain::Workspace,
    snapshot: &store::delivery::BudgetSnapshot,
    months: &[i64],
    days: &[Settled],
    by_table: &[Settled],
    names: &[(i64, String)],
) -> app::domain::WorkspaceBudget {
    use app::domain::{Allowance, DaySpend, MonthSpend, TableSpend};
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let budget = |b: Option<i64>| b.and_then(|b| u64::try_from(b).ok());
    let month_start = snapshot.month_start;
    let mut per_month: Vec<MonthSpend> =
        months.iter().map(|&month_start| MonthSpend { month_start, ..MonthSpend::default() }).collect();
    for day in days {
        if let Some(month) = per_month.iter_mut().rev().find(|m| m.month_start <= day.key) {
            month.credits_estimated += day.credits_estimated;
            month.credits += day.credits_spent;
        }
    }
    let this_month = days
        .iter()
        .filter(|day| day.key >= month_start)
        .map(|day| DaySpend {
            day_start: day.key,
            leads: count(day.leads),
            credits_estimated: day.credits_estimated,
            credits: day.credits_spent,
            actions: day.actions_spent,
        })
        .collect();
    let mut tables: Vec<TableSpend> = by_table
        .iter()
        .map(|t| TableSpend {
            table_id: t.key,
            table: names
                .iter()
                .find(|(id, _)| *id == t.key)
                .map_or_else(|| format!("table {} (deleted)", t.key), |(_, name)| name.clone()),
            leads: count(t.leads),
            credits_estimated: t.credits_estimated,
            credits: t.credits_spent,
            actions: t.actions_spent,
        })
        .collect();
    tables.sort_by(|a, b| b.credits.total_cmp(&a.credits).then_with(|| a.table.cmp(&b.table)));
    app::domain::WorkspaceBudget {
        workspace_id: workspace.id,
        workspace: workspace.name.clone(),
        month_start,
        month_end: crate::budget::next_month_start(month_start, workspace.budget_day),
        credits: Allowance { budget: budget(snapshot.budget), spent: snapshot.spent, reserved: snapshot.reserved },
        actions: Allowance {
            budget: budget(snapshot.action_budget),
            spent: snapshot.actions_spent,
            reserved: snapshot.actions_reserved,
        },
        days: this_month,
        months: per_month,
        tables,
    }
}

/// A page of the audit log (200 entries), newest first.
pub async fn audit_entries(db: &Db, before: Option<i64>) -> Result<Vec<app::domain::AuditEntry>> {
    Ok(store::audit::recent(db, before, 200)
        .await?
        .into_iter()
        .map(|entry| app::domain::AuditEntry {
            id: entry.id,
            at: entry.at,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            detail: entry.detail,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::delivery::BudgetSnapshot;

    fn at(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    #[test]
    fn twelve_budget_months_end_with_this_one() {
        let months = last_months(at("2026-11-15T00:00:00Z"), 15, 12);
        assert_eq!(months.len(), 12);
        assert_eq!(months[0], at("2025-12-15T00:00:00Z"));
        assert_eq!(months[10], at("2026-10-15T00:00:00Z"));
        assert_eq!(months[11], at("2026-11-15T00:00:00Z"));
    }

    #[test]
    fn the_roll_up_is_sorted_into_this_month_the_months_and_named_tables() {
        let workspace = app::domain::Workspace {
            id: 1,
            name: "Outbound".into(),
            rate_per_sec: 10.0,
            burst: 20,
            plan_key: None,
            monthly_credit_budget: Some(1_000),
            monthly_action_budget: None,
            budget_day: 15,
            fallback_table_id: None,
            demo: false,
            created_at: 0,
        };
        let month_start = at("2026-11-15T00:00:00Z");
        let snapshot = BudgetSnapshot {
            month_start,
            budget: Some(1_000),
            reserved: 4.0,
            spent: 14.0,
            action_budget: None,
            actions_reserved: 0.0,
            actions_spent: 9.0,
        };
        let settled = |key: i64, leads: i64, credits: f64| Settled {
            key,
            leads,
            credits_estimated: 2.0 * leads as f64,
            credits_spent: credits,
            actions_spent: 3.0,
        };
        let day = |date: &str, leads: i64, credits: f64| settled(at(&format!("{date}T00:00:00Z")), leads, credits);
        // A day of October's budget month (it starts on the 15th), then two of this one.
        let days = [day("2026-11-01", 2, 8.0), day("2026-11-16", 4, 8.0), day("2026-11-20", 2, 6.0)];
        let by_table = [settled(8, 2, 5.0), settled(7, 4, 9.0), settled(9, 1, 0.0)];
        let months = last_months(month_start, 15, 12);
        let names = [(7, "EU".to_owned()), (8, "US".to_owned())];
        let budget = workspace_budget(&workspace, &snapshot, &months, &days, &by_table, &names);

        assert_eq!(budget.month_end, at("2026-12-15T00:00:00Z"));
        assert_eq!((budget.credits.budget, budget.credits.spent, budget.credits.reserved), (Some(1_000), 14.0, 4.0));
        let by_day: Vec<(u64, f64)> = budget.days.iter().map(|d| (d.leads, d.credits)).collect();
        assert_eq!(by_day, vec![(4, 8.0), (2, 6.0)]);
        let october = &budget.months[10];
        assert_eq!((october.credits_estimated, october.credits), (4.0, 8.0));
        let november = &budget.months[11];
        assert_eq!((november.credits_estimated, november.credits), (12.0, 14.0));
        let shares: Vec<(&str, f64, u64)> =
            budget.tables.iter().map(|t| (t.table.as_str(), t.credits, t.leads)).collect();
        assert_eq!(shares, vec![("EU", 9.0, 4), ("US", 5.0, 2), ("table 9 (deleted)", 0.0, 1)]);
    }
}
