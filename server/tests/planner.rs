//! The planner's server side: the catalog, admin edits, saved scenarios, and the page itself.

mod support;

use app::{
    domain::Role,
    planner::{Plan, SavedScenario},
};
use reqwest::StatusCode;
use serde_json::json;
use support::{TestApp, assert_status};

async fn catalog(app: &TestApp, client: &reqwest::Client) -> Vec<Plan> {
    let response = client.post(app.url(&app.server_fn("plan_catalog"))).json(&json!({})).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn the_catalog_starts_with_clays_plans_and_admins_edit_it() {
    let app = TestApp::spawn().await;
    let viewer = app.signed_in("viewer@example.com", Role::Viewer).await;
    let plans = catalog(&app, &viewer).await;
    let keys: Vec<&str> = plans.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["free", "launch", "growth", "enterprise", "starter", "explorer", "pro"]);
    let mut growth = plans.iter().find(|p| p.key == "growth").unwrap().clone();
    assert_eq!(growth.monthly_price, Some(495.0));

    growth.monthly_price = Some(525.0);
    let update = app.server_fn("update_plan");
    let operator = app.signed_in("op@example.com", Role::Operator).await;
    let response = operator.post(app.url(&update)).json(&json!({ "plan": growth })).send().await.unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);

    let admin = app.signed_in("admin@example.com", Role::Admin).await;
    let response = admin.post(app.url(&update)).json(&json!({ "plan": growth })).send().await.unwrap();
    assert_status(&response, StatusCode::OK);
    assert_eq!(catalog(&app, &viewer).await[2].monthly_price, Some(525.0));

    // Nonsense is refused with the reason.
    let mut broken = growth.clone();
    broken.max_data_credits = 10;
    let response = admin.post(app.url(&update)).json(&json!({ "plan": broken })).send().await.unwrap();
    assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);
    let error: app::error::AppError = response.json().await.unwrap();
    assert!(error.to_string().contains("ceiling"), "{error}");

    // Seeding again at the next start keeps the admin's figures.
    kiln::planning::seed(&app.db).await.unwrap();
    assert_eq!(catalog(&app, &viewer).await[2].monthly_price, Some(525.0));
}

#[tokio::test]
async fn scenarios_are_saved_by_name_for_the_team() {
    let app = TestApp::spawn().await;
    let save = app.server_fn("save_scenario");
    let list = app.server_fn("saved_scenarios");

    let viewer = app.signed_in("viewer@example.com", Role::Viewer).await;
    let response =
        viewer.post(app.url(&save)).json(&json!({ "name": "Q1", "query": "leads=100000&cpl=2" })).send().await.unwrap();
    assert_status(&response, StatusCode::FORBIDDEN);

    let operator = app.signed_in("op@example.com", Role::Operator).await;
    for query in ["leads=100000&cpl=2", "leads=120000&cpl=3&bogus=1"] {
        let response =
            operator.post(app.url(&save)).json(&json!({ "name": " Q1 ", "query": query })).send().await.unwrap();
        assert_status(&response, StatusCode::OK);
    }
    let response = operator.post(app.url(&save)).json(&json!({ "name": "", "query": "leads=1" })).send().await.unwrap();
    assert_status(&response, StatusCode::UNPROCESSABLE_ENTITY);

    // The viewer sees the one scenario, saved the second time, in the planner's own form.
    let response = viewer.post(app.url(&list)).json(&json!({})).send().await.unwrap();
    let saved: Vec<SavedScenario> = response.json().await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].name, "Q1");
    assert_eq!(saved[0].query, "leads=120000&cpl=3");
    assert_eq!(saved[0].saved_by, "op@example.com");
    assert_eq!(saved[0].scenario().monthly_leads, 120_000);
}

#[tokio::test]
async fn the_planner_page_renders_a_shared_link_on_the_server() {
    let app = TestApp::spawn().await;
    let browser = app.signed_in("viewer@example.com", Role::Viewer).await;
    let html = browser.get(app.url("/planner?leads=100000&cpl=2")).send().await.unwrap().text().await.unwrap();
    // 100,000 leads × 2 credits, 1 Action each; 2 webhooks' lifetime, 10 tables.
    for (testid, value) in [
        ("data-credits-month", "200,000"),
        ("actions-month", "100,000"),
        ("webhooks-month", "2"),
        ("webhooks-year", "24"),
        ("tables", "10"),
        ("plan", "Enterprise"),
    ] {
        let marker = format!(r#"data-testid="{testid}""#);
        let at = html.find(&marker).unwrap_or_else(|| panic!("{testid} missing"));
        let text = &html[at..at + 200];
        let shown = text.split('>').nth(1).unwrap_or_default().split('<').next().unwrap_or_default();
        assert_eq!(shown, value, "{testid}: {text}");
    }
    assert!(html.contains(r#"data-testid="cost-chart""#));
}
