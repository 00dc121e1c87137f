//! The planner's inputs, and their form in a URL query so a link reproduces a scenario.

use super::recipe::{Enrichment, Recipe, Step, preset};
use serde::{Deserialize, Serialize};

/// Which plan the outputs are computed for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum PlanChoice {
    /// The cheapest current plan that covers the month.
    Cheapest,
    /// A plan the team is on or considering, by catalog key.
    Fixed(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub monthly_leads: u64,
    pub enrichment: Enrichment,
    /// Enriched rows come back to Kiln through an HTTP API column: one Action per lead (#12).
    pub callback: bool,
    /// Clay's webhook rate limit per workspace (#4).
    pub rate_per_sec: f64,
    pub burst: u64,
    pub sending_hours_per_day: f64,
    /// Submissions a webhook takes in its lifetime (#6), and how many of them Kiln leaves unused.
    pub webhook_cap: u64,
    pub webhook_margin: u64,
    /// Rows Kiln routes into one Clay table, and the most a Clay table holds (#7).
    pub rows_per_table: u64,
    pub table_row_limit: u64,
    pub plan: PlanChoice,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            monthly_leads: 50_000,
            enrichment: Enrichment::Simple { credits_per_lead: 6.0, own_key: false },
            callback: false,
            rate_per_sec: 10.0,
            burst: 20,
            sending_hours_per_day: 24.0,
            webhook_cap: 50_000,
            webhook_margin: 5_000,
            rows_per_table: 10_000,
            table_row_limit: 50_000,
            plan: PlanChoice::Cheapest,
        }
    }
}

/// A scenario the team saved by name; `query` is its link's query string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedScenario {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub saved_by: String,
    /// Unix milliseconds.
    pub saved_at: i64,
}

impl SavedScenario {
    pub fn scenario(&self) -> Scenario {
        Scenario::from_query_string(&self.query)
    }
}

/// Separators inside the `steps` value; removed from step names so they cannot break it.
const STEP_SEPARATOR: char = '|';
const FIELD_SEPARATOR: char = '~';

impl Scenario {
    /// The scenario as query pairs; the defaults are left out to keep links short.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let default = Scenario::default();
        let mut pairs = vec![("leads", self.monthly_leads.to_string())];
        match &self.enrichment {
            Enrichment::Simple { credits_per_lead, own_key } => {
                pairs.push(("cpl", number(*credits_per_lead)));
                if *own_key {
                    pairs.push(("own", "1".into()));
                }
            }
            Enrichment::Recipe(recipe) => {
                pairs.push(("mode", "recipe".into()));
                pairs.push(("steps", encode_steps(&recipe.steps)));
                if recipe.ai_prompts > 0.0 {
                    pairs.push(("ai", number(recipe.ai_prompts)));
                }
                pairs.push(("aicr", number(recipe.credits_per_prompt)));
            }
        }
        if self.callback {
            pairs.push(("cb", "1".into()));
        }
        let mut optional = |key, value: String, default_value: String| {
            if value != default_value {
                pairs.push((key, value));
            }
        };
        optional("rate", number(self.rate_per_sec), number(default.rate_per_sec));
        optional("burst", self.burst.to_string(), default.burst.to_string());
        optional("hours", number(self.sending_hours_per_day), number(default.sending_hours_per_day));
        optional("cap", self.webhook_cap.to_string(), default.webhook_cap.to_string());
        optional("margin", self.webhook_margin.to_string(), default.webhook_margin.to_string());
        optional("rows", self.rows_per_table.to_string(), default.rows_per_table.to_string());
        optional("rowlimit", self.table_row_limit.to_string(), default.table_row_limit.to_string());
        if let PlanChoice::Fixed(key) = &self.plan {
            pairs.push(("plan", key.clone()));
        }
        pairs
    }

    /// The query string (without `?`), URL-encoded.
    pub fn to_query_string(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (key, value) in self.to_query() {
            query.append_pair(key, &value);
        }
        query.finish()
    }

    /// Reads a scenario from query pairs. Missing or unreadable values take their defaults, so
    /// any link opens something sensible.
    pub fn from_query<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Scenario {
        let default = Scenario::default();
        let parse_u64 = |key: &str, fallback: u64| get(key).and_then(|v| v.trim().parse().ok()).unwrap_or(fallback);
        let parse_f64 = |key: &str, fallback: f64| {
            get(key)
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or(fallback)
        };
        let flag = |key: &str| get(key).is_some_and(|v| v == "1" || v == "true");
        let enrichment = if get("mode") == Some("recipe") {
            let steps =
                get("steps").map(decode_steps).unwrap_or_else(|| preset("email").map(|r| r.steps).unwrap_or_default());
            Enrichment::Recipe(Recipe {
                steps,
                ai_prompts: parse_f64("ai", 0.0),
                credits_per_prompt: parse_f64("aicr", 0.5),
            })
        } else {
            Enrichment::Simple { credits_per_lead: parse_f64("cpl", 6.0), own_key: flag("own") }
        };
        Scenario {
            monthly_leads: parse_u64("leads", default.monthly_leads),
            enrichment,
            callback: flag("cb"),
            rate_per_sec: parse_f64("rate", default.rate_per_sec),
            burst: parse_u64("burst", default.burst),
            sending_hours_per_day: parse_f64("hours", default.sending_hours_per_day).min(24.0),
            webhook_cap: parse_u64("cap", default.webhook_cap),
            webhook_margin: parse_u64("margin", default.webhook_margin),
            rows_per_table: parse_u64("rows", default.rows_per_table),
            table_row_limit: parse_u64("rowlimit", default.table_row_limit),
            plan: get("plan")
                .filter(|k| !k.is_empty())
                .map_or(PlanChoice::Cheapest, |k| PlanChoice::Fixed(k.to_owned())),
        }
    }

    /// Reads a query string such as the one [`Scenario::to_query_string`] writes.
    pub fn from_query_string(query: &str) -> Scenario {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes()).into_owned().collect();
        Scenario::from_query(|key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()))
    }
}

/// The shortest text that reads back as the same number: `2`, `2.5`, `0.25`.
fn number(value: f64) -> String {
    format!("{value}")
}

fn encode_steps(steps: &[Step]) -> String {
    steps
        .iter()
        .map(|step| {
            let name: String =
                step.name.chars().map(|c| if c == STEP_SEPARATOR || c == FIELD_SEPARATOR { ' ' } else { c }).collect();
            let flags = match (step.own_key, step.starts_waterfall) {
                (false, false) => "",
                (true, false) => "k",
                (false, true) => "w",
                (true, true) => "kw",
            };
            format!(
                "{name}{FIELD_SEPARATOR}{}{FIELD_SEPARATOR}{}{FIELD_SEPARATOR}{flags}",
                number(step.credits),
                number(step.hit_rate_pct)
            )
        })
        .collect::<Vec<_>>()
        .join(&STEP_SEPARATOR.to_string())
}

fn decode_steps(value: &str) -> Vec<Step> {
    value
        .split(STEP_SEPARATOR)
        .filter(|s| s.split(FIELD_SEPARATOR).any(|field| !field.trim().is_empty()))
        .map(|s| {
            let mut fields = s.split(FIELD_SEPARATOR);
            let name = fields.next().unwrap_or_default().trim().to_owned();
            let credits =
                fields.next().and_then(|v| v.parse().ok()).filter(|v: &f64| v.is_finite() && *v >= 0.0).unwrap_or(0.0);
            let hit_rate_pct = fields
                .next()
                .and_then(|v| v.parse().ok())
                .filter(|v: &f64| v.is_finite())
                .unwrap_or(0.0)
                .clamp(0.0, 100.0);
            let flags = fields.next().unwrap_or_default();
            Step { name, credits, hit_rate_pct, own_key: flags.contains('k'), starts_waterfall: flags.contains('w') }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seed_example() {
        let s = Scenario::default();
        assert_eq!(s.monthly_leads, 50_000);
        assert_eq!(s.enrichment, Enrichment::Simple { credits_per_lead: 6.0, own_key: false });
        assert_eq!(
            (s.webhook_cap, s.webhook_margin, s.rows_per_table, s.table_row_limit),
            (50_000, 5_000, 10_000, 50_000)
        );
        assert_eq!((s.rate_per_sec, s.burst), (10.0, 20));
    }

    #[test]
    fn a_scenario_survives_the_round_trip_through_a_link() {
        let mut recipe = preset("email-phone").unwrap();
        recipe.steps[1].own_key = true;
        recipe.steps[0].name = "Odd | name ~ with & separators = 100% é".into();
        recipe.ai_prompts = 2.0;
        let scenario = Scenario {
            monthly_leads: 123_456,
            enrichment: Enrichment::Recipe(recipe),
            callback: true,
            rate_per_sec: 7.5,
            burst: 15,
            sending_hours_per_day: 8.0,
            webhook_cap: 40_000,
            webhook_margin: 1_000,
            rows_per_table: 20_000,
            table_row_limit: 50_000,
            plan: PlanChoice::Fixed("growth".into()),
        };
        let query = scenario.to_query_string();
        let back = Scenario::from_query_string(&query);
        let Enrichment::Recipe(r) = &back.enrichment else { panic!("recipe expected from {query}") };
        assert_eq!(r.steps[0].name, "Odd   name   with & separators = 100% é");
        let mut expected = scenario.clone();
        if let Enrichment::Recipe(r) = &mut expected.enrichment {
            r.steps[0].name = "Odd   name   with & separators = 100% é".into();
        }
        assert_eq!(back, expected, "{query}");
    }

    #[test]
    fn default_values_stay_out_of_links() {
        assert_eq!(Scenario::default().to_query_string(), "leads=50000&cpl=6");
    }

    #[test]
    fn bad_values_in_a_link_fall_back_to_defaults() {
        let s = Scenario::from_query_string("leads=lots&cpl=-3&rate=NaN&hours=99&steps=x&plan=");
        assert_eq!(s.monthly_leads, 50_000);
        assert_eq!(s.enrichment, Enrichment::Simple { credits_per_lead: 6.0, own_key: false });
        assert_eq!(s.rate_per_sec, 10.0);
        assert_eq!(s.sending_hours_per_day, 24.0);
        assert_eq!(s.plan, PlanChoice::Cheapest);
        let s = Scenario::from_query_string("mode=recipe&steps=A~x~150~k|~~~|B~2~-5~");
        let Enrichment::Recipe(r) = s.enrichment else { panic!() };
        assert_eq!(r.steps.len(), 2);
        assert_eq!((r.steps[0].credits, r.steps[0].hit_rate_pct, r.steps[0].own_key), (0.0, 100.0, true));
        assert_eq!(r.steps[1].hit_rate_pct, 0.0);
    }
}
