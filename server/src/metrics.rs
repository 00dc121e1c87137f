//! `GET /metrics` in Prometheus' text format: the ledger as gauges (queue depth by state, answers
//! by status, send rate, webhook use, budgets, callback lag, open alerts), read from the database
//! at each scrape so every Kiln process reports the same numbers, plus the process' own metrics.
//!
//! Scrapers authenticate with an API token (any role) or come from an allow-listed address
//! (`--metrics-allow`, loopback by default).

use crate::{
    error::{Error, Result},
    store::{self, Db},
};
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};

pub struct Metrics {
    /// One scrape at a time: each resets the gauges and fills them again.
    rendering: tokio::sync::Mutex<()>,
    registry: Registry,
    leads: IntGaugeVec,
    answers: IntGaugeVec,
    send_rate: GaugeVec,
    webhook_used: IntGaugeVec,
    webhook_usable: IntGaugeVec,
    webhook_ratio: GaugeVec,
    budget: GaugeVec,
    callback_lag: GaugeVec,
    alerts: IntGaugeVec,
}

fn gauge_vec<T: prometheus::core::Atomic + 'static>(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> Result<prometheus::core::GenericGaugeVec<T>, prometheus::Error> {
    let vec = prometheus::core::GenericGaugeVec::<T>::new(Opts::new(name, help), labels)?;
    registry.register(Box::new(vec.clone()))?;
    Ok(vec)
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        Ok(Metrics {
            leads: gauge_vec(
                &registry,
                "kiln_leads",
                "Leads in the ledger by delivery state.",
                &["workspace", "state"],
            )?,
            answers: gauge_vec(
                &registry,
                "kiln_lead_answers",
                "Leads by delivery state and the HTTP status of their last answer (\"none\" without an answer).",
                &["workspace", "state", "status"],
            )?,
            send_rate: gauge_vec(
                &registry,
                "kiln_send_rate",
                "Leads delivered per second over the last minute.",
                &["workspace"],
            )?,
            webhook_used: gauge_vec(
                &registry,
                "kiln_webhook_used",
                "Submissions counted against a webhook.",
                &["workspace", "table", "webhook", "state"],
            )?,
            webhook_usable: gauge_vec(
                &registry,
                "kiln_webhook_usable",
                "Submissions a webhook takes before Kiln stops (lifetime cap minus safety margin).",
                &["workspace", "table", "webhook", "state"],
            )?,
            webhook_ratio: gauge_vec(
                &registry,
                "kiln_webhook_usage_ratio",
                "Used over usable submissions of a webhook (1 = full).",
                &["workspace", "table", "webhook", "state"],
            )?,
            budget: gauge_vec(
                &registry,
                "kiln_budget_credits",
                "This budget month's data credits: budget, reserved (sent, not called back) and spent.",
                &["workspace", "kind"],
            )?,
            callback_lag: gauge_vec(
                &registry,
                "kiln_callback_lag_seconds",
                "Mean time from delivery to Clay's callback, over the callbacks of the last hour.",
                &["workspace"],
            )?,
            alerts: gauge_vec(&registry, "kiln_alerts_open", "Open alerts by kind.", &["kind"])?,
            rendering: tokio::sync::Mutex::new(()),
            registry,
        })
    }

    /// Reads the ledger and renders every metric.
    pub async fn render(&self, db: &Db, now: i64) -> Result<String> {
        let _one_at_a_time = self.rendering.lock().await;
        for vec in [&self.leads, &self.answers, &self.webhook_used, &self.webhook_usable, &self.alerts] {
            vec.reset();
        }
        for vec in [&self.send_rate, &self.webhook_ratio, &self.budget, &self.callback_lag] {
            vec.reset();
        }
        let mut lag: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
        for group in store::metrics::lead_groups(db, now).await? {
            let workspace = group.workspace_id.to_string();
            self.leads.with_label_values(&[workspace.as_str(), group.state.as_str()]).add(group.leads);
            let status = group.last_status.map_or_else(|| "none".to_owned(), |s| s.to_string());
            self.answers
                .with_label_values(&[workspace.as_str(), group.state.as_str(), status.as_str()])
                .set(group.leads);
            let rate = self.send_rate.with_label_values(&[workspace.as_str()]);
            rate.add(group.delivered_last_minute.unwrap_or(0) as f64 / 60.0);
            let entry = lag.entry(group.workspace_id).or_default();
            entry.0 += group.callbacks_last_hour.unwrap_or(0);
            entry.1 += group.callback_delay_ms.unwrap_or(0);
        }
        for (workspace, (callbacks, delay_ms)) in lag {
            if callbacks > 0 {
                self.callback_lag
                    .with_label_values(&[workspace.to_string().as_str()])
                    .set(delay_ms as f64 / callbacks as f64 / 1000.0);
            }
        }
        for hook in store::metrics::webhook_use(db).await? {
            let labels = [hook.workspace_id.to_string(), hook.table_id.to_string(), hook.id.to_string(), hook.state];
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            self.webhook_used.with_label_values(&labels).set(hook.used);
            self.webhook_usable.with_label_values(&labels).set(hook.usable);
            let ratio = if hook.usable > 0 { hook.used as f64 / hook.usable as f64 } else { 1.0 };
            self.webhook_ratio.with_label_values(&labels).set(ratio);
        }
        for workspace in store::workspaces::list(db).await? {
            let snapshot = store::delivery::budget_snapshot(db, workspace.id, now).await?;
            let id = workspace.id.to_string();
            if let Some(budget) = snapshot.budget {
                self.budget.with_label_values(&[id.as_str(), "budget"]).set(budget as f64);
            }
            self.budget.with_label_values(&[id.as_str(), "reserved"]).set(snapshot.reserved);
            self.budget.with_label_values(&[id.as_str(), "spent"]).set(snapshot.spent);
        }
        for (kind, open) in store::metrics::open_alerts(db).await? {
            self.alerts.with_label_values(&[kind.as_str()]).set(open);
        }
        TextEncoder::new().encode_to_string(&self.registry.gather()).map_err(|e| Error::Internal(e.to_string()))
    }
}
