//! The live dashboard: one task computes the snapshot every couple of seconds and hands it to
//! every open page over server-sent events, so the cost of the numbers does not grow with the
//! number of people watching, and each request is answered from memory.

use crate::{
    error::{Error, Result},
    state::AppState,
    store::{self, Db},
};
use app::domain::Dashboard;
use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use futures_util::{Stream, StreamExt, stream};
use std::{convert::Infallible, sync::Arc, time::Duration};
use tokio::sync::watch;

/// How often the snapshot is recomputed.
pub const REFRESH: Duration = Duration::from_secs(2);

/// The latest snapshot, for whoever asks.
#[derive(Clone)]
pub struct Live(watch::Receiver<Arc<Dashboard>>);

impl Live {
    /// Starts the task that keeps the snapshot fresh (it stops when the last `Live` is dropped).
    pub fn spawn(db: Db) -> Live {
        let (publish, latest) = watch::channel(Arc::new(Dashboard::default()));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match store::dashboard::snapshot(&db, store::now_millis()).await {
                    Ok(snapshot) => {
                        if publish.send(Arc::new(snapshot)).is_err() {
                            return;
                        }
                    }
                    Err(error) => tracing::error!(%error, "cannot compute the dashboard"),
                }
            }
        });
        Live(latest)
    }

    /// The latest snapshot; computed on the spot before the first tick has run.
    pub async fn current(&self, db: &Db) -> Result<Arc<Dashboard>> {
        let latest = self.0.borrow().clone();
        if latest.at > 0 {
            return Ok(latest);
        }
        Ok(Arc::new(store::dashboard::snapshot(db, store::now_millis()).await.map_err(Error::from)?))
    }

    fn updates(&self) -> impl Stream<Item = Arc<Dashboard>> + use<> {
        let receiver = self.0.clone();
        stream::unfold((receiver, true), |(mut receiver, first)| async move {
            if !first && receiver.changed().await.is_err() {
                return None;
            }
            let latest = receiver.borrow_and_update().clone();
            Some((latest, (receiver, false)))
        })
        .filter(|snapshot| std::future::ready(snapshot.at > 0))
    }
}

/// GET /events/dashboard: a server-sent event with the whole snapshot at each refresh. The
/// browser's `EventSource` reconnects by itself.
pub async fn events(State(state): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let events = state
        .dashboard
        .updates()
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
