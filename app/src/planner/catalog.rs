//! Clay's plans, as an editable catalog: prices and allowances change, and sources disagree
//! (`clay-facts.md` #13, #14, #17), so the team keeps its own copy in the database.

use serde::{Deserialize, Serialize};

/// One Clay plan. Money is in US dollars a month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Stable identifier, e.g. `growth`.
    pub key: String,
    pub name: String,
    /// Still seen in the field but no longer sold: shown for comparison, never recommended.
    pub legacy: bool,
    /// `None` for custom pricing (Enterprise).
    pub monthly_price: Option<f64>,
    /// The monthly price when billed annually, if Clay offers one.
    pub annual_monthly_price: Option<f64>,
    /// Actions included each month; `None` where the plan does not meter Actions (legacy plans).
    pub actions: Option<u64>,
    /// Data credits included each month.
    pub data_credits: u64,
    /// How far the plan can be expanded; equal to the allowance when it cannot.
    pub max_actions: Option<u64>,
    pub max_data_credits: u64,
    /// Price of 1,000 more Actions / data credits through expansion.
    pub extra_actions_price_per_1k: f64,
    pub extra_credits_price_per_1k: f64,
    /// Unused data credits roll over until the balance reaches this multiple of the monthly
    /// allowance (2 under the 2026 pricing); Actions never roll over.
    pub rollover_multiple: f64,
}

impl Plan {
    pub fn is_custom(&self) -> bool {
        self.monthly_price.is_none()
    }

    /// Checks the figures an admin typed; the message names the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("The plan needs a name.".into());
        }
        let money = [
            self.monthly_price,
            self.annual_monthly_price,
            Some(self.extra_actions_price_per_1k),
            Some(self.extra_credits_price_per_1k),
        ];
        if money.into_iter().flatten().any(|v| !v.is_finite() || v < 0.0) {
            return Err("Prices cannot be negative.".into());
        }
        if self.max_data_credits < self.data_credits {
            return Err("The data-credit ceiling cannot be below the included data credits.".into());
        }
        if let (Some(included), Some(ceiling)) = (self.actions, self.max_actions)
            && ceiling < included
        {
            return Err("The Actions ceiling cannot be below the included Actions.".into());
        }
        if !self.rollover_multiple.is_finite() || self.rollover_multiple < 0.0 {
            return Err("The rollover multiple cannot be negative.".into());
        }
        Ok(())
    }
}

/// Expansion is priced here at the plan's own unit price (its price over its allowance) because
/// Clay publishes no expansion price list: an assumption the catalog page lets admins correct.
fn unit_price_per_1k(price: f64, allowance: u64) -> f64 {
    if allowance == 0 { 0.0 } else { (price / allowance as f64 * 1000.0 * 100.0).round() / 100.0 }
}

/// The catalog Kiln starts with: the 2026 plans, then the legacy ones (`clay-facts.md` #13, #17).
pub fn default_catalog() -> Vec<Plan> {
    let paid = |key: &str, name: &str, price: f64, annual: f64, actions: u64, credits: u64, max_credits: u64| Plan {
        key: key.to_owned(),
        name: name.to_owned(),
        legacy: false,
        monthly_price: Some(price),
        annual_monthly_price: Some(annual),
        actions: Some(actions),
        data_credits: credits,
        max_actions: Some(200_000),
        max_data_credits: max_credits,
        extra_actions_price_per_1k: unit_price_per_1k(price, actions),
        extra_credits_price_per_1k: unit_price_per_1k(price, credits),
        rollover_multiple: 2.0,
    };
    let legacy = |key: &str, name: &str, price: f64, credits: u64| Plan {
        key: key.to_owned(),
        name: name.to_owned(),
        legacy: true,
        monthly_price: Some(price),
        annual_monthly_price: None,
        actions: None,
        data_credits: credits,
        max_actions: None,
        max_data_credits: credits,
        extra_actions_price_per_1k: 0.0,
        extra_credits_price_per_1k: 0.0,
        rollover_multiple: 2.0,
    };
    vec![
        Plan {
            key: "free".into(),
            name: "Free".into(),
            legacy: false,
            monthly_price: Some(0.0),
            annual_monthly_price: Some(0.0),
            actions: Some(500),
            data_credits: 100,
            max_actions: Some(500),
            max_data_credits: 100,
            extra_actions_price_per_1k: 0.0,
            extra_credits_price_per_1k: 0.0,
            rollover_multiple: 2.0,
        },
        paid("launch", "Launch", 185.0, 167.0, 15_000, 2_500, 20_000),
        paid("growth", "Growth", 495.0, 446.0, 40_000, 6_000, 100_000),
        Plan {
            key: "enterprise".into(),
            name: "Enterprise".into(),
            legacy: false,
            monthly_price: None,
            annual_monthly_price: None,
            actions: None,
            data_credits: 0,
            max_actions: None,
            max_data_credits: 0,
            extra_actions_price_per_1k: 0.0,
            extra_credits_price_per_1k: 0.0,
            rollover_multiple: 2.0,
        },
        legacy("starter", "Starter (legacy)", 149.0, 2_000),
        legacy("explorer", "Explorer (legacy)", 349.0, 10_000),
        legacy("pro", "Pro (legacy)", 800.0, 50_000),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalog_is_valid_and_has_the_2026_and_legacy_plans() {
        let catalog = default_catalog();
        for plan in &catalog {
            assert_eq!(plan.validate(), Ok(()), "{}", plan.key);
        }
        let keys: Vec<&str> = catalog.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["free", "launch", "growth", "enterprise", "starter", "explorer", "pro"]);
        let growth = &catalog[2];
        assert_eq!((growth.monthly_price, growth.annual_monthly_price), (Some(495.0), Some(446.0)));
        assert_eq!((growth.actions, growth.data_credits), (Some(40_000), 6_000));
        assert_eq!(growth.extra_credits_price_per_1k, 82.5);
    }

    #[test]
    fn nonsense_figures_are_refused() {
        let mut plan = default_catalog().remove(1);
        plan.max_data_credits = 10;
        assert!(plan.validate().unwrap_err().contains("ceiling"));
        let mut plan = default_catalog().remove(1);
        plan.monthly_price = Some(-1.0);
        assert!(plan.validate().is_err());
        let mut plan = default_catalog().remove(1);
        plan.name = " ".into();
        assert!(plan.validate().is_err());
    }
}
