//! Imports of leads and what became of each row.

use super::workspace::Priority;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// The file is still arriving.
    Receiving,
    /// Over the month's budget: waits for an operator to queue all or only what fits.
    AwaitingDecision,
    /// Its leads are ready for delivery.
    Queued,
    /// Its delivery is paused by a person.
    Paused,
    /// The file could not be read; nothing of it is kept.
    Failed,
    /// Stopped by a person or by the upload being cut off; its leads will not be sent.
    Cancelled,
}

impl ImportState {
    /// Whether the import's leads may go out: queued, or paused until it resumes (a stopped,
    /// failed or unfinished import sends nothing).
    pub fn sends_leads(self) -> bool {
        matches!(self, ImportState::Queued | ImportState::Paused)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Receiving => "receiving",
            ImportState::AwaitingDecision => "awaiting_decision",
            ImportState::Queued => "queued",
            ImportState::Paused => "paused",
            ImportState::Failed => "failed",
            ImportState::Cancelled => "cancelled",
        }
    }
}

impl TryFrom<String> for ImportState {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ok(match s.as_str() {
            "receiving" => ImportState::Receiving,
            "awaiting_decision" => ImportState::AwaitingDecision,
            "queued" => ImportState::Queued,
            "paused" => ImportState::Paused,
            "failed" => ImportState::Failed,
            "cancelled" => ImportState::Cancelled,
            other => return Err(format!("unknown import state {other:?}")),
        })
    }
}

/// Where every row of an import went: `rows == accepted + rejected + duplicates`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCounts {
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    /// Accepted rows that matched no routing rule and wait for a table.
    pub held: u64,
    /// Empty lines, which are not rows.
    pub blank_lines: u64,
}

impl RowCounts {
    /// The invariant every import keeps: nothing is silently dropped.
    pub fn balanced(&self) -> bool {
        self.rows == self.accepted + self.rejected + self.duplicates
    }
}

/// An import as the page and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: i64,
    pub workspace_id: i64,
    /// The table every row went to, or `None` when routed by rules.
    pub table_id: Option<i64>,
    pub priority: Priority,
    pub source: String,
    pub filename: Option<String>,
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub state: ImportState,
    pub bytes: u64,
    pub counts: RowCounts,
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Data credits the accepted leads are expected to use (the tables' estimates).
    pub estimated_credits: f64,
    pub error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Where the accepted leads stand in delivery.
    #[serde(default)]
    pub delivery: DeliveryCounts,
}

/// Where an import's leads stand on their way to Clay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryCounts {
    /// Ready to send.
    pub queued: u64,
    pub in_flight: u64,
    /// Waiting for their next attempt.
    pub retrying: u64,
    pub delivered: u64,
    /// Given up on, with a reason.
    pub dead: u64,
    /// Parked: no webhook with room, no budget left, or the import is not queued yet.
    pub waiting: u64,
    /// Matched no routing rule.
    pub held: u64,
    pub paused: u64,
    pub cancelled: u64,
    /// Delivered and called back by Clay.
    pub called_back: u64,
    /// Delivered, and not called back within the table's deadline.
    #[serde(default)]
    pub no_callback: u64,
}

/// A lead that delivery gave up on, with what Clay (or the network) last said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLead {
    /// Its `kiln_id`.
    pub id: i64,
    /// Its line in the uploaded file.
    pub line: u64,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

/// An import's held leads, and what sending them would take.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldLeads {
    /// Matched no routing rule: they go only to a table someone chooses.
    pub unrouted: u64,
    /// Held beyond the budget ("queue only what fits"): they keep their table.
    pub beyond_budget: u64,
    /// The data credits the ones beyond the budget are expected to use, at their tables' estimates.
    pub beyond_budget_credits: f64,
}

impl HeldLeads {
    /// The data credits sending them is expected to use, the unrouted ones at `per_unrouted`
    /// each (the chosen table's estimate), or left out when no table is chosen.
    pub fn credits(&self, per_unrouted: Option<f64>) -> f64 {
        self.beyond_budget_credits + per_unrouted.map_or(0.0, |per_lead| self.unrouted as f64 * per_lead)
    }
}

#[cfg(test)]
mod tests {
    use super::HeldLeads;

    #[test]
    fn the_unrouted_count_at_the_chosen_table_s_estimate_or_not_at_all() {
        let held = HeldLeads { unrouted: 4, beyond_budget: 3, beyond_budget_credits: 7.5 };
        assert_eq!(held.credits(Some(2.0)), 15.5);
        assert_eq!(held.credits(None), 7.5);
    }
}
