//! What enriching one lead costs: a typed figure, or a recipe of waterfall steps.

use serde::{Deserialize, Serialize};

/// One lookup in a waterfall (`clay-facts.md` #18): tried when every earlier step of its
/// waterfall missed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    /// Data credits per lookup with Clay's own provider account.
    pub credits: f64,
    /// Chance, in percent, that this step finds what the waterfall looks for.
    pub hit_rate_pct: f64,
    /// With the team's own provider key a lookup costs no data credits, still one Action (#15).
    pub own_key: bool,
    /// This step begins a new waterfall (say, phone after email): it always runs.
    pub starts_waterfall: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipe {
    pub steps: Vec<Step>,
    /// AI prompts run on every lead: one Action each plus model-dependent data credits (#16).
    pub ai_prompts: f64,
    pub credits_per_prompt: f64,
}

/// How a lead's enrichment is described.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Enrichment {
    /// One enrichment per lead at a known price.
    Simple {
        credits_per_lead: f64,
        own_key: bool,
    },
    Recipe(Recipe),
}

/// Expected and worst-case use per lead.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct PerLead {
    pub credits: f64,
    pub worst_credits: f64,
    pub actions: f64,
    pub worst_actions: f64,
}

impl Step {
    fn charged_credits(&self) -> f64 {
        if self.own_key { 0.0 } else { self.credits.max(0.0) }
    }

    fn miss_rate(&self) -> f64 {
        1.0 - (self.hit_rate_pct / 100.0).clamp(0.0, 1.0)
    }
}

impl Enrichment {
    /// Use per lead. A recipe's expected cost is the sum of each step's cost times the chance of
    /// reaching it (every earlier step of its waterfall missed); the worst case runs every step.
    pub fn per_lead(&self) -> PerLead {
        match self {
            Enrichment::Simple { credits_per_lead, own_key } => {
                let credits = if *own_key { 0.0 } else { credits_per_lead.max(0.0) };
                PerLead { credits, worst_credits: credits, actions: 1.0, worst_actions: 1.0 }
            }
            Enrichment::Recipe(recipe) => {
                let mut use_ = PerLead::default();
                let mut reach = 1.0;
                for (i, step) in recipe.steps.iter().enumerate() {
                    if i == 0 || step.starts_waterfall {
                        reach = 1.0;
                    }
                    use_.credits += reach * step.charged_credits();
                    use_.actions += reach;
                    use_.worst_credits += step.charged_credits();
                    use_.worst_actions += 1.0;
                    reach *= step.miss_rate();
                }
                let prompts = recipe.ai_prompts.max(0.0);
                let prompt_credits = prompts * recipe.credits_per_prompt.max(0.0);
                use_.credits += prompt_credits;
                use_.worst_credits += prompt_credits;
                use_.actions += prompts;
                use_.worst_actions += prompts;
                use_
            }
        }
    }
}

/// A named starting point for the recipe editor.
pub struct Preset {
    pub key: &'static str,
    pub name: &'static str,
    pub recipe: fn() -> Recipe,
}

fn step(name: &str, credits: f64, hit_rate_pct: f64, starts_waterfall: bool) -> Step {
    Step { name: name.to_owned(), credits, hit_rate_pct, own_key: false, starts_waterfall }
}

/// Realistic recipes from the facts sheet: legacy per-lookup prices (#19) and coverage (#20).
pub const PRESETS: [Preset; 3] = [
    Preset {
        key: "email",
        name: "Work email waterfall",
        recipe: || Recipe {
            steps: vec![
                step("Prospeo", 2.0, 50.0, false),
                step("Datagma", 2.0, 35.0, false),
                step("Hunter", 2.0, 30.0, false),
                step("People Data Labs", 5.0, 25.0, false),
            ],
            ai_prompts: 0.0,
            credits_per_prompt: 0.5,
        },
    },
    Preset {
        key: "email-phone",
        name: "Work email + mobile phone",
        recipe: || Recipe {
            steps: vec![
                step("Prospeo", 2.0, 50.0, false),
                step("Hunter", 2.0, 35.0, false),
                step("People Data Labs (phone)", 5.0, 40.0, true),
                step("ContactOut (phone)", 15.0, 30.0, false),
            ],
            ai_prompts: 0.0,
            credits_per_prompt: 0.5,
        },
    },
    Preset {
        key: "company",
        name: "Company lookup only",
        recipe: || Recipe {
            steps: vec![step("Clearbit company", 8.0, 85.0, false)],
            ai_prompts: 0.0,
            credits_per_prompt: 0.5,
        },
    },
];

pub fn preset(key: &str) -> Option<Recipe> {
    PRESETS.iter().find(|p| p.key == key).map(|p| (p.recipe)())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn simple_mode_is_one_enrichment_per_lead() {
        let use_ = Enrichment::Simple { credits_per_lead: 6.0, own_key: false }.per_lead();
        assert_eq!(use_, PerLead { credits: 6.0, worst_credits: 6.0, actions: 1.0, worst_actions: 1.0 });
        let own = Enrichment::Simple { credits_per_lead: 6.0, own_key: true }.per_lead();
        assert_eq!(own.credits, 0.0);
        assert_eq!(own.actions, 1.0);
    }

    #[test]
    fn waterfall_cost_weights_each_step_by_the_chance_of_reaching_it() {
        // 2 + 3×(1−0.6) + 5×(1−0.6)(1−0.5) = 2 + 1.2 + 1.0
        let recipe = Recipe {
            steps: vec![step("a", 2.0, 60.0, false), step("b", 3.0, 50.0, false), step("c", 5.0, 10.0, false)],
            ai_prompts: 0.0,
            credits_per_prompt: 0.0,
        };
        let use_ = Enrichment::Recipe(recipe).per_lead();
        assert!(close(use_.credits, 4.2), "{}", use_.credits);
        assert!(close(use_.worst_credits, 10.0));
        // Actions count the lookups made: 1 + 0.4 + 0.2.
        assert!(close(use_.actions, 1.6), "{}", use_.actions);
        assert!(close(use_.worst_actions, 3.0));
    }

    #[test]
    fn a_new_waterfall_is_always_reached() {
        let recipe = Recipe {
            steps: vec![
                step("email", 2.0, 100.0, false),
                step("phone", 5.0, 50.0, true),
                step("phone 2", 10.0, 0.0, false),
            ],
            ai_prompts: 0.0,
            credits_per_prompt: 0.0,
        };
        let use_ = Enrichment::Recipe(recipe).per_lead();
        // email always runs and always hits; phone always runs; phone 2 runs half the time.
        assert!(close(use_.credits, 2.0 + 5.0 + 5.0), "{}", use_.credits);
    }

    #[test]
    fn own_keys_cost_no_credits_but_still_an_action_per_lookup() {
        let mut recipe = preset("email").unwrap();
        for step in &mut recipe.steps {
            step.own_key = true;
        }
        let use_ = Enrichment::Recipe(recipe).per_lead();
        assert_eq!(use_.credits, 0.0);
        assert_eq!(use_.worst_credits, 0.0);
        // 1 + 0.5 + 0.5×0.65 + 0.5×0.65×0.7 lookups on average.
        assert!(close(use_.actions, 1.0 + 0.5 + 0.325 + 0.2275), "{}", use_.actions);
    }

    #[test]
    fn ai_prompts_cost_an_action_and_credits_each() {
        let recipe = Recipe { steps: vec![], ai_prompts: 2.0, credits_per_prompt: 0.5 };
        let use_ = Enrichment::Recipe(recipe).per_lead();
        assert_eq!(use_, PerLead { credits: 1.0, worst_credits: 1.0, actions: 2.0, worst_actions: 2.0 });
    }

    #[test]
    fn presets_cover_what_the_facts_sheet_says() {
        // A 4-provider email waterfall finds 75–90% of emails (#20).
        let recipe = preset("email").unwrap();
        let miss: f64 = recipe.steps.iter().map(|s| 1.0 - s.hit_rate_pct / 100.0).product();
        assert!((0.75..=0.90).contains(&(1.0 - miss)), "{}", 1.0 - miss);
        assert!(preset("email-phone").is_some() && preset("company").is_some() && preset("nope").is_none());
    }
}
