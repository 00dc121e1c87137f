//! Clay workspaces, their tables and webhooks, as the pages and the API see them.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// One Clay workspace: its rate limit and monthly budgets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    /// Clay's webhook rate limit for the workspace, records per second, and its burst.
    pub rate_per_sec: f64,
    pub burst: u32,
    /// The plan (a key of the planner's catalog), if chosen.
    pub plan_key: Option<String>,
    /// Monthly budgets; `None` when not set.
    pub monthly_credit_budget: Option<u64>,
    pub monthly_action_budget: Option<u64>,
    /// The day of the month (1–28) on which a budget month starts.
    pub budget_day: u8,
    /// Where rows that match no routing rule go; `None` holds them.
    pub fallback_table_id: Option<i64>,
    /// The workspace Kiln creates on first run, pointing at its built-in Clay sandbox.
    pub demo: bool,
    pub created_at: i64,
}

/// One Clay table of a workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClayTable {
    pub id: i64,
    pub workspace_id: i64,
    pub name: String,
    /// Estimated data credits each lead costs, typed or taken from a saved planner scenario.
    pub credits_per_lead: f64,
    /// Estimated Clay Actions each lead costs: one per enrichment step run, plus the HTTP API
    /// column that calls Kiln back.
    pub actions_per_lead: f64,
    pub scenario_id: Option<i64>,
    pub created_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookState {
    /// Takes submissions while it has room.
    Active,
    /// Clay answered 401/403/404/410: set aside until someone looks.
    Failing,
    /// Taken out of rotation by a person.
    Retired,
}

impl WebhookState {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookState::Active => "active",
            WebhookState::Failing => "failing",
            WebhookState::Retired => "retired",
        }
    }
}

impl FromStr for WebhookState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(WebhookState::Active),
            "failing" => Ok(WebhookState::Failing),
            "retired" => Ok(WebhookState::Retired),
            other => Err(format!("unknown webhook state {other:?}")),
        }
    }
}

impl TryFrom<String> for WebhookState {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A Clay webhook source of a table. Its URL is a secret: only a masked form leaves the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: i64,
    pub table_id: i64,
    pub url_masked: String,
    pub has_auth_token: bool,
    /// Submissions Clay accepts in the webhook's lifetime, and how many of them Kiln leaves unused.
    pub lifetime_cap: u64,
    pub safety_margin: u64,
    /// Submissions already counted against the webhook.
    pub used: u64,
    pub state: WebhookState,
    pub created_at: i64,
}

impl Webhook {
    /// Submissions Kiln will send before moving on.
    pub fn usable(&self) -> u64 {
        self.lifetime_cap.saturating_sub(self.safety_margin)
    }

    pub fn is_full(&self) -> bool {
        self.used >= self.usable()
    }
}

/// Delivery order of an import's leads: high before normal before low.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
        }
    }

    /// The stored rank: higher is sent first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
        }
    }

    pub fn from_rank(rank: i64) -> Priority {
        match rank {
            i64::MIN..=0 => Priority::Low,
            1 => Priority::Normal,
            _ => Priority::High,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Priority::Low),
            "normal" | "" => Ok(Priority::Normal),
            "high" => Ok(Priority::High),
            other => Err(format!("unknown priority {other:?}: expected high, normal or low")),
        }
    }
}

/// What a person or an automation gives to create or change a workspace. Missing values take
/// Clay's defaults (10 records/s, burst 20, budget month from the 1st).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceInput {
    pub name: String,
    #[serde(default)]
    pub rate_per_sec: Option<f64>,
    #[serde(default)]
    pub burst: Option<u32>,
    #[serde(default)]
    pub plan_key: Option<String>,
    #[serde(default)]
    pub monthly_credit_budget: Option<u64>,
    #[serde(default)]
    pub monthly_action_budget: Option<u64>,
    #[serde(default)]
    pub budget_day: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableInput {
    #[serde(deserialize_with = "super::ids::flexible_id")]
    pub workspace_id: i64,
    pub name: String,
    /// Typed, or taken from `scenario_id`'s recipe when absent.
    #[serde(default)]
    pub credits_per_lead: Option<f64>,
    /// Typed, or taken from `scenario_id`'s recipe, or 1 (the HTTP API column's call) when absent.
    #[serde(default)]
    pub actions_per_lead: Option<f64>,
    #[serde(default, deserialize_with = "super::ids::flexible_optional_id")]
    pub scenario_id: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookInput {
    pub url: String,
    #[serde(default)]
    pub auth_token: Option<String>,
    #[serde(default)]
    pub lifetime_cap: Option<u64>,
    #[serde(default)]
    pub safety_margin: Option<u64>,
    /// Submissions the webhook already took elsewhere.
    #[serde(default)]
    pub used: Option<u64>,
}

/// A workspace with everything the settings and imports pages show about it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceOverview {
    pub workspace: Workspace,
    pub tables: Vec<TableOverview>,
    pub rules: Vec<crate::ingest::Rule>,
    pub fallback: crate::ingest::Fallback,
    pub budget: BudgetSnapshot,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableOverview {
    pub table: ClayTable,
    pub webhooks: Vec<Webhook>,
    pub delivery: TableDelivery,
}

impl TableOverview {
    /// Submissions the table's webhooks still take before Kiln must stop.
    pub fn submissions_left(&self) -> u64 {
        self.webhooks
            .iter()
            .filter(|w| w.state == WebhookState::Active)
            .map(|w| w.usable().saturating_sub(w.used))
            .sum()
    }
}

/// Where the month's credit budget stands before an import.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetSnapshot {
    /// Unix milliseconds at which the budget month started.
    pub month_start: i64,
    /// The monthly data-credit budget, if set.
    pub limit: Option<u64>,
    /// Credits the month's queued imports are expected to use.
    pub committed: f64,
}

impl BudgetSnapshot {
    pub fn remaining(&self) -> Option<f64> {
        self.limit.map(|limit| (limit as f64 - self.committed).max(0.0))
    }
}

/// What to paste into the HTTP API column of a Clay table so that it hands each enriched row
/// back to Kiln. The token is a secret: only operators get it, and only when they ask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallbackSettings {
    pub table_id: i64,
    pub method: String,
    /// Absolute when Kiln knows its public URL (`--public-url`), else Kiln's local address.
    pub url: String,
    pub path: String,
    pub header: String,
    pub token: String,
    /// The JSON body, with Clay's `/Column` references to fill in.
    pub body: String,
}

/// A table's settings for what happens after Clay: the "no callback" deadline and the
/// stream-through destination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDelivery {
    pub table_id: i64,
    /// Delivered leads not called back within this many minutes are flagged "no callback".
    pub callback_timeout_minutes: u32,
    /// Where enriched leads are forwarded, masked like webhook URLs; `None` when not set.
    pub forward_url_masked: Option<String>,
    pub has_forward_auth: bool,
    /// Erase a lead's personal fields once forwarded (ids, dedupe hash and counts stay).
    pub purge_after_forward: bool,
    /// Enriched leads whose forwarding gave up, until someone sends them again.
    pub dead_forwards: u64,
    /// Why the newest of them (by lead) gave up, e.g. `refused by the destination (HTTP 404)`.
    pub last_forward_error: Option<String>,
}

/// A change to [`TableDelivery`]. For the URL and the auth value: absent keeps, empty removes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableDeliveryInput {
    #[serde(default)]
    pub callback_timeout_minutes: Option<u32>,
    #[serde(default)]
    pub forward_url: Option<String>,
    /// Sent as the `Authorization` header, e.g. `Bearer …`.
    #[serde(default)]
    pub forward_auth: Option<String>,
    #[serde(default)]
    pub purge_after_forward: Option<bool>,
}

/// A change to a webhook a person may make (its URL and token never change).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookChange {
    #[serde(default)]
    pub lifetime_cap: Option<u64>,
    #[serde(default)]
    pub safety_margin: Option<u64>,
    #[serde(default)]
    pub used: Option<u64>,
    #[serde(default)]
    pub state: Option<WebhookState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_order_and_round_trip() {
        assert!(Priority::High > Priority::Normal && Priority::Normal > Priority::Low);
        for p in Priority::ALL {
            assert_eq!(Priority::from_rank(p.rank()), p);
            assert_eq!(p.as_str().parse(), Ok(p));
        }
        assert!("urgent".parse::<Priority>().is_err());
    }

    #[test]
    fn a_webhook_is_full_at_cap_minus_margin() {
        let mut hook = Webhook {
            id: 1,
            table_id: 1,
            url_masked: String::new(),
            has_auth_token: false,
            lifetime_cap: 50_000,
            safety_margin: 5_000,
            used: 44_999,
            state: WebhookState::Active,
            created_at: 0,
        };
        assert_eq!(hook.usable(), 45_000);
        assert!(!hook.is_full());
        hook.used = 45_000;
        assert!(hook.is_full());
    }
}
