use super::*;
use proptest::prelude::*;

fn catalog() -> Vec<Plan> {
    default_catalog()
}

fn simple(leads: u64, credits_per_lead: f64, own_key: bool) -> Scenario {
    Scenario {
        monthly_leads: leads,
        enrichment: Enrichment::Simple { credits_per_lead, own_key },
        ..Scenario::default()
    }
}

#[test]
fn the_seed_example_comes_out_exactly() {
    let outcome = plan(&Scenario::default(), &catalog());
    assert_eq!(outcome.credits_month, 300_000);
    assert_eq!(outcome.credits_worst, 300_000);
    assert_eq!(outcome.actions_month, 50_000);
    assert_eq!(outcome.webhooks_year, 12);
    assert_eq!(outcome.webhooks_month, 1);
    assert_eq!(outcome.tables, 5);
    // Kiln retires each webhook at 45,000, so a year of 600,000 leads passes through 14.
    assert_eq!(outcome.usable_per_webhook, 45_000);
    assert_eq!(outcome.webhooks_year_rotating, Some(14));
    // 300,000 data credits a month is past what Growth expands to: only Enterprise covers it.
    assert_eq!(outcome.plan.name, "Enterprise");
    assert!(outcome.plan.custom && outcome.plan.monthly_cost.is_none());
    assert_eq!(outcome.rollover, Rollover::Contract);
    // 49,980 leads after the burst of 20, at 10 a second.
    assert_eq!(outcome.send_seconds, Some(4_998.0));
    assert!(outcome.warnings.iter().any(|w| matches!(w, Warning::WebhooksExhaustWithinMonth { per_month: 2, .. })));
}

#[test]
fn the_seed_example_with_own_keys_costs_no_credits_and_one_action_per_lead() {
    let outcome = plan(&simple(50_000, 6.0, true), &catalog());
    assert_eq!(outcome.credits_month, 0);
    assert_eq!(outcome.actions_month, 50_000);
    // Launch + 35,000 Actions ($185 + 35 × $12.33) beats Growth + 10,000 ($495 + 10 × $12.38).
    assert_eq!(outcome.plan.key, "launch");
    assert_eq!(outcome.plan.extra_actions, 35_000);
    assert!((outcome.plan.monthly_cost.unwrap() - (185.0 + 35.0 * 12.33)).abs() < 1e-6);
    assert_eq!(describe_plan(&outcome.plan), "Launch + 35,000 Actions expansion");
    // Launch's 2,500 data credits go unused and roll over up to twice the allowance.
    assert_eq!(outcome.rollover, Rollover::Credits { per_month: 2_500, balance_cap: 5_000 });
}

#[test]
fn own_keys_on_every_step_cost_no_credits_and_actions_equal_the_lookups() {
    let mut recipe = preset("email").unwrap();
    recipe.steps.iter_mut().for_each(|s| s.own_key = true);
    let scenario = Scenario { monthly_leads: 10_000, enrichment: Enrichment::Recipe(recipe), ..Scenario::default() };
    let outcome = plan(&scenario, &catalog());
    assert_eq!(outcome.credits_month, 0);
    assert_eq!(outcome.credits_worst, 0);
    // Lookups made: 10,000 × (1 + 0.5 + 0.325 + 0.2275).
    assert_eq!(outcome.actions_month, 20_525);
    assert_eq!(outcome.actions_worst, 40_000);
}

#[test]
fn the_callback_column_costs_an_action_per_lead() {
    let mut scenario = simple(1_000, 2.0, false);
    scenario.callback = true;
    assert_eq!(plan(&scenario, &catalog()).actions_month, 2_000);
}

#[test]
fn every_plan_boundary_of_the_default_catalog() {
    // 6 credits and 1 Action per lead. Free holds 100 credits: 16 leads.
    let at = |leads| plan(&simple(leads, 6.0, false), &catalog()).plan;
    assert_eq!(at(16).key, "free");
    assert_eq!(at(16).monthly_cost, Some(0.0));
    assert_eq!(at(17).key, "launch");
    // Launch expands to 20,000 credits (3,333 leads); Growth's base is dearer until then.
    assert_eq!(at(3_333).key, "launch");
    assert_eq!(at(3_333).extra_credits, 20_000 - 2_500 - 2);
    assert_eq!(at(3_334).key, "growth");
    // Growth expands to 100,000 credits (16,666 leads), then only Enterprise covers it.
    assert_eq!(at(16_666).key, "growth");
    assert_eq!(at(16_667).key, "enterprise");

    let (_, boundaries) = cost_curve(&simple(10_000, 0.5, false), &catalog(), 40);
    // 0.5 credits a lead: Launch to 40,000 leads (20,000 credits), then Growth to 200,000.
    let found: Vec<(u64, &str, &str)> = boundaries.iter().map(|b| (b.leads, b.from.as_str(), b.to.as_str())).collect();
    assert!(found.contains(&(200_001, "Growth", "Enterprise")), "{found:?}");
    for boundary in &boundaries {
        assert_eq!(cheapest_at(&simple(0, 0.5, false), &catalog(), boundary.leads).name, boundary.to);
        assert_eq!(cheapest_at(&simple(0, 0.5, false), &catalog(), boundary.leads - 1).name, boundary.from);
    }
}

#[test]
fn actions_can_force_a_bigger_plan() {
    // Own keys, so only Actions matter: 200,000 is every plan's expansion ceiling.
    let at = |leads| plan(&simple(leads, 6.0, true), &catalog()).plan;
    assert_eq!(at(500).key, "free");
    assert_eq!(at(501).key, "launch");
    assert_eq!(at(200_000).key, "launch");
    assert_eq!(at(200_001).key, "enterprise");
}

#[test]
fn a_fixed_plan_that_falls_short_says_so() {
    let mut scenario = simple(60_000, 6.0, true);
    scenario.plan = PlanChoice::Fixed("growth".into());
    let outcome = plan(&scenario, &catalog());
    assert_eq!(outcome.plan.key, "growth");
    assert!(outcome.plan.covers());
    scenario.monthly_leads = 250_000;
    let outcome = plan(&scenario, &catalog());
    assert_eq!(outcome.plan.actions_short, Some(Shortfall { needed: 250_000, available: 200_000 }));
    let warning = outcome.warnings.iter().find(|w| matches!(w, Warning::ActionsShort { .. })).unwrap();
    assert_eq!(
        warning.message(),
        "Growth's Actions are short: the month needs 250,000, Growth gives at most 200,000 even fully expanded."
    );
    // An unknown plan key falls back to the cheapest plan.
    scenario.plan = PlanChoice::Fixed("platinum".into());
    assert_eq!(plan(&scenario, &catalog()).plan.key, "enterprise");
}

#[test]
fn legacy_plans_are_shown_but_never_recommended() {
    let cheapest = super::cheapest(&catalog(), 8_000, 1_000);
    assert!(!cheapest.key.starts_with("explorer"));
    let explorer = fit(catalog().iter().find(|p| p.key == "explorer").unwrap(), 8_000, 1_000_000);
    assert!(explorer.covers(), "legacy plans do not meter Actions");
    assert_eq!(explorer.monthly_cost, Some(349.0));
}

#[test]
fn annual_billing_uses_the_annual_price() {
    let outcome = plan(&simple(300, 6.0, false), &catalog());
    assert_eq!(outcome.plan.key, "launch");
    assert_eq!(outcome.plan.monthly_cost, Some(185.0));
    assert_eq!(outcome.plan.annual_cost, Some(12.0 * 167.0));
}

#[test]
fn warnings_fire_at_each_limit() {
    let has = |s: &Scenario, f: fn(&Warning) -> bool| plan(s, &catalog()).warnings.iter().any(f);
    let mut s = simple(40_000, 1.0, false);
    assert!(!has(&s, |w| matches!(w, Warning::WebhooksExhaustWithinMonth { .. })));
    s.monthly_leads = 45_001;
    assert!(has(&s, |w| matches!(w, Warning::WebhooksExhaustWithinMonth { .. })));

    s.rows_per_table = 60_000;
    assert!(has(&s, |w| matches!(w, Warning::TableOverRowLimit { .. })));

    // 10/s for 2 hours a day, 30 days: 2,160,000 leads fit, 2,200,000 do not.
    s = simple(2_160_020, 0.0, true);
    s.sending_hours_per_day = 2.0;
    assert!(!has(&s, |w| matches!(w, Warning::RateTooSlow { .. })));
    s.monthly_leads = 2_200_000;
    assert!(has(&s, |w| matches!(w, Warning::RateTooSlow { .. })));
    s.rate_per_sec = 0.0;
    assert!(has(&s, |w| matches!(w, Warning::NoRate)));

    s = simple(1_000, 1.0, false);
    s.webhook_margin = 50_000;
    assert!(has(&s, |w| matches!(w, Warning::MarginSwallowsCap)));

    let mut recipe = preset("email").unwrap();
    recipe.steps[0].hit_rate_pct = 10.0;
    let s = Scenario { monthly_leads: 1_000, enrichment: Enrichment::Recipe(recipe), ..Scenario::default() };
    assert!(has(&s, |w| matches!(w, Warning::WorstCaseOverAllowance { .. })));
}

#[test]
fn warnings_read_as_plain_sentences() {
    let outcome = plan(&Scenario::default(), &catalog());
    let text = outcome.warnings[0].message();
    assert!(
        text.starts_with("Webhooks run out within the month: Kiln moves to the next webhook after 45,000 submissions"),
        "{text}"
    );
}

#[test]
fn zero_leads_need_nothing() {
    let outcome = plan(&simple(0, 6.0, false), &catalog());
    assert_eq!((outcome.credits_month, outcome.webhooks_year, outcome.tables), (0, 0, 0));
    assert_eq!(outcome.plan.key, "free");
    assert!(outcome.warnings.is_empty());
}

fn cost_rank(cost: Option<f64>) -> f64 {
    cost.unwrap_or(f64::INFINITY)
}

fn arb_step() -> impl Strategy<Value = Step> {
    (0.0..30.0f64, 0.0..=100.0f64, any::<bool>(), any::<bool>()).prop_map(|(credits, hit, own_key, starts)| Step {
        name: "step".into(),
        credits,
        hit_rate_pct: hit,
        own_key,
        starts_waterfall: starts,
    })
}

fn arb_enrichment() -> impl Strategy<Value = Enrichment> {
    prop_oneof![
        (0.0..40.0f64, any::<bool>()).prop_map(|(c, own_key)| Enrichment::Simple { credits_per_lead: c, own_key }),
        (prop::collection::vec(arb_step(), 0..6), 0.0..3.0f64, 0.0..2.0f64).prop_map(|(steps, ai, cpp)| {
            Enrichment::Recipe(Recipe { steps, ai_prompts: ai, credits_per_prompt: cpp })
        }),
    ]
}

proptest! {
    #[test]
    fn more_leads_never_cost_less(enrichment in arb_enrichment(), a in 0u64..2_000_000, b in 0u64..2_000_000, callback in any::<bool>()) {
        let (fewer, more) = (a.min(b), a.max(b));
        let at = |leads| {
            let scenario = Scenario { monthly_leads: leads, enrichment: enrichment.clone(), callback, ..Scenario::default() };
            plan(&scenario, &default_catalog())
        };
        let (small, large) = (at(fewer), at(more));
        prop_assert!(cost_rank(small.plan.monthly_cost) <= cost_rank(large.plan.monthly_cost) + 1e-9);
        prop_assert!(small.credits_month <= large.credits_month);
        prop_assert!(small.actions_month <= large.actions_month);
        prop_assert!(small.webhooks_year <= large.webhooks_year && small.tables <= large.tables);
    }

    #[test]
    fn a_cheaper_step_never_raises_cost(
        steps in prop::collection::vec(arb_step(), 1..6),
        which in any::<prop::sample::Index>(),
        cut in 0.0..1.0f64,
        leads in 0u64..500_000,
    ) {
        let index = which.index(steps.len());
        let mut cheaper = steps.clone();
        cheaper[index].credits *= cut;
        let run = |steps: Vec<Step>| {
            let recipe = Recipe { steps, ai_prompts: 0.0, credits_per_prompt: 0.0 };
            plan(&Scenario { monthly_leads: leads, enrichment: Enrichment::Recipe(recipe), ..Scenario::default() }, &default_catalog())
        };
        let (before, after) = (run(steps), run(cheaper));
        prop_assert!(after.credits_month <= before.credits_month);
        prop_assert!(after.credits_worst <= before.credits_worst);
        prop_assert!(cost_rank(after.plan.monthly_cost) <= cost_rank(before.plan.monthly_cost) + 1e-9);
    }

    #[test]
    fn expected_use_never_exceeds_the_worst_case(enrichment in arb_enrichment()) {
        let use_ = enrichment.per_lead();
        prop_assert!(use_.credits <= use_.worst_credits + 1e-9);
        prop_assert!(use_.actions <= use_.worst_actions + 1e-9);
    }

    #[test]
    fn links_reproduce_any_scenario(enrichment in arb_enrichment(), leads in 0u64..10_000_000, callback in any::<bool>()) {
        let scenario = Scenario { monthly_leads: leads, enrichment, callback, ..Scenario::default() };
        let back = Scenario::from_query_string(&scenario.to_query_string());
        prop_assert_eq!(back.to_query_string(), scenario.to_query_string());
        prop_assert_eq!(plan(&back, &default_catalog()), plan(&scenario, &default_catalog()));
    }
}
