//! The rules for Clay workspaces, their tables, webhooks and routing: validation, defaults and
//! the audit trail, shared by the API and the pages.

use crate::{
    error::{Error, Result},
    secret::Secret,
    store::{self, Db, audit, tables::Estimate, webhooks::WebhookRecord},
};
use app::{
    domain::{
        CallbackSettings, ClayTable, TableDelivery, TableDeliveryInput, TableInput, Webhook, WebhookInput, Workspace,
        WorkspaceInput,
    },
    ingest::{self, Fallback, Rule},
    planner::Scenario,
};

pub const DEFAULT_RATE_PER_SEC: f64 = 10.0;
pub const DEFAULT_BURST: u32 = 20;
pub const DEFAULT_LIFETIME_CAP: u64 = 50_000;
pub const DEFAULT_SAFETY_MARGIN: u64 = 5_000;

fn name(raw: &str, field: &'static str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(field, format!("{field} must have 1 to 100 characters")));
    }
    Ok(name.to_owned())
}

fn conflict_on_duplicate(what: String) -> impl FnOnce(sqlx::Error) -> Error {
    move |e| if store::is_unique_violation(&e) { Error::Conflict(what) } else { e.into() }
}

async fn workspace_fields(db: &Db, input: &WorkspaceInput) -> Result<(String, f64, u32, u8)> {
    let name = name(&input.name, "name")?;
    let rate = input.rate_per_sec.unwrap_or(DEFAULT_RATE_PER_SEC);
    if !rate.is_finite() || rate <= 0.0 || rate > 1_000.0 {
        return Err(Error::invalid("rate_per_sec", "rate_per_sec must be above 0 and at most 1000 records/s"));
    }
    let burst = input.burst.unwrap_or(DEFAULT_BURST);
    if !(1..=10_000).contains(&burst) {
        return Err(Error::invalid("burst", "burst must be between 1 and 10000"));
    }
    let day = input.budget_day.unwrap_or(1);
    if !(1..=28).contains(&day) {
        return Err(Error::invalid("budget_day", "budget_day must be between 1 and 28"));
    }
    if let Some(key) = &input.plan_key {
        let known = store::planner::catalog(db).await?.iter().any(|plan| &plan.key == key);
        if !known {
            return Err(Error::invalid("plan_key", format!("no plan {key:?} in the catalog")));
        }
    }
    Ok((name, rate, burst, day))
}

pub async fn create_workspace(db: &Db, actor: &str, input: &WorkspaceInput) -> Result<Workspace> {
    create_workspace_marked(db, actor, input, false).await
}

/// Creates a workspace; `demo` marks the one Kiln makes on first run.
pub async fn create_workspace_marked(db: &Db, actor: &str, input: &WorkspaceInput, demo: bool) -> Result<Workspace> {
    let (name, rate_per_sec, burst, budget_day) = workspace_fields(db, input).await?;
    let fields = store::workspaces::Fields {
        name: &name,
        rate_per_sec,
        burst,
        plan_key: input.plan_key.as_deref(),
        monthly_credit_budget: input.monthly_credit_budget,
        monthly_action_budget: input.monthly_action_budget,
        budget_day,
    };
    let now = store::now_millis();
    let workspace = store::workspaces::insert(db, &fields, demo, now)
        .await
        .map_err(conflict_on_duplicate(format!("a workspace named {name:?} already exists")))?;
    audit::record(db, actor, "workspace.create", &name, None, now).await?;
    Ok(workspace)
}

pub async fn update_workspace(db: &Db, actor: &str, id: i64, input: &WorkspaceInput) -> Result<Workspace> {
    let (name, rate_per_sec, burst, budget_day) = workspace_fields(db, input).await?;
    let fields = store::workspaces::Fields {
        name: &name,
        rate_per_sec,
        burst,
        plan_key: input.plan_key.as_deref(),
        monthly_credit_budget: input.monthly_credit_budget,
        monthly_action_budget: input.monthly_action_budget,
        budget_day,
    };
    let workspace = store::workspaces::update(db, id, &fields)
        .await
        .map_err(conflict_on_duplicate(format!("a workspace named {name:?} already exists")))?
        .ok_or(Error::NotFound("workspace"))?;
    let detail = format!(
        "rate {rate_per_sec}/s, burst {burst}, credit budget {}, action budget {}, month from day {budget_day}",
        input.monthly_credit_budget.map_or("none".into(), |b| b.to_string()),
        input.monthly_action_budget.map_or("none".into(), |b| b.to_string()),
    );
    audit::record(db, actor, "workspace.update", &name, Some(&detail), store::now_millis()).await?;
    Ok(workspace)
}

pub async fn create_table(db: &Db, actor: &str, input: &TableInput) -> Result<ClayTable> {
    let name = name(&input.name, "name")?;
    let workspace = store::workspaces::find(db, input.workspace_id).await?.ok_or(Error::NotFound("workspace"))?;
    let estimate = table_estimate(db, input).await?;
    let now = store::now_millis();
    let table = store::tables::insert(db, workspace.id, &name, estimate, input.scenario_id, now)
        .await
        .map_err(conflict_on_duplicate(format!("the workspace already has a table named {name:?}")))?;
    audit::record(db, actor, "table.create", &format!("{} / {name}", workspace.name), Some(&describe(estimate)), now)
        .await?;
    Ok(table)
}

pub async fn update_table(db: &Db, actor: &str, id: i64, input: &TableInput) -> Result<ClayTable> {
    let name = name(&input.name, "name")?;
    let estimate = table_estimate(db, input).await?;
    let table = store::tables::update(db, id, &name, estimate, input.scenario_id)
        .await
        .map_err(conflict_on_duplicate(format!("the workspace already has a table named {name:?}")))?
        .ok_or(Error::NotFound("table"))?;
    audit::record(db, actor, "table.update", &name, Some(&describe(estimate)), store::now_millis()).await?;
    Ok(table)
}

fn describe(estimate: Estimate) -> String {
    format!("{} credits and {} actions per lead", estimate.credits, estimate.actions)
}

/// The table's estimate: each figure typed, or the expected use per lead of a saved planner
/// scenario; Actions default to the one the HTTP API column costs.
async fn table_estimate(db: &Db, input: &TableInput) -> Result<Estimate> {
    let valid = |value: Option<f64>, field: &'static str| match value {
        Some(v) if !v.is_finite() || v < 0.0 => {
            Err(Error::invalid(field, format!("{field} must be a number of 0 or more")))
        }
        other => Ok(other),
    };
    let credits = valid(input.credits_per_lead, "credits_per_lead")?;
    let actions = valid(input.actions_per_lead, "actions_per_lead")?;
    let recipe = match input.scenario_id {
        Some(scenario_id) if credits.is_none() || actions.is_none() => {
            let saved = store::planner::scenarios(db).await?;
            let scenario = saved.iter().find(|s| s.id == scenario_id).ok_or(Error::NotFound("scenario"))?;
            Some(Scenario::from_query_string(&scenario.query).enrichment.per_lead())
        }
        _ => None,
    };
    let credits = credits
        .or(recipe.as_ref().map(|r| r.credits))
        .ok_or_else(|| Error::invalid("credits_per_lead", "give credits_per_lead or a saved scenario_id"))?;
    // The recipe counts its enrichment steps; the call back to Kiln is one Action more.
    let actions = actions.or(recipe.map(|r| r.actions + 1.0)).unwrap_or(1.0);
    Ok(Estimate { credits, actions })
}

/// A URL Kiln may send leads to: https, or plain http on this machine (the sandbox, tests).
pub struct WebhookUrl(Secret);

impl WebhookUrl {
    pub fn parse(raw: &str) -> Result<WebhookUrl> {
        let invalid = |why: &str| Error::invalid("url", format!("the webhook URL {why}"));
        let url = url::Url::parse(raw.trim()).map_err(|_| invalid("is not a URL"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => return Err(invalid("has no host")),
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(invalid("must start with https:// (plain http only on this machine)")),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not carry a user name or password"));
        }
        Ok(WebhookUrl(Secret::new(url.as_str())))
    }
}

/// `https://api.clay.com/v3/sources/webhook/pull-in-…-3f9c` → `https://api.clay.com/…3f9c`: enough
/// to tell webhooks apart, not enough to send to one.
pub fn mask_url(url: &Secret) -> String {
    let text = url.expose();
    let (scheme, rest) = text.split_once("://").unwrap_or(("", text));
    let host = rest.split('/').next().unwrap_or_default();
    let tail: String = {
        let chars: Vec<char> = rest.trim_end_matches('/').chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    format!("{scheme}://{host}/…{tail}")
}

pub fn webhook_view(record: &WebhookRecord) -> Webhook {
    let count = |v: i64| v.max(0) as u64;
    Webhook {
        id: record.id,
        table_id: record.table_id,
        url_masked: mask_url(&record.url),
        has_auth_token: record.auth_token.is_some(),
        lifetime_cap: count(record.lifetime_cap),
        safety_margin: count(record.safety_margin),
        used: count(record.used),
        state: record.state,
        created_at: record.created_at,
    }
}

fn webhook_limits(input: &WebhookInput, current: Option<&Webhook>) -> Result<(u64, u64, u64)> {
    let cap = input.lifetime_cap.or(current.map(|w| w.lifetime_cap)).unwrap_or(DEFAULT_LIFETIME_CAP);
    let margin = input.safety_margin.or(current.map(|w| w.safety_margin)).unwrap_or(DEFAULT_SAFETY_MARGIN);
    let used = input.used.or(current.map(|w| w.used)).unwrap_or(0);
    if cap == 0 {
        return Err(Error::invalid("lifetime_cap", "lifetime_cap must be above 0"));
    }
    if margin >= cap {
        return Err(Error::invalid("safety_margin", "safety_margin must be below lifetime_cap"));
    }
    if used > cap {
        return Err(Error::invalid("used", "used cannot exceed lifetime_cap"));
    }
    Ok((cap, margin, used))
}

pub async fn add_webhook(db: &Db, actor: &str, table_id: i64, input: &WebhookInput) -> Result<Webhook> {
    let table = store::tables::find(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    let WebhookUrl(url) = WebhookUrl::parse(&input.url)?;
    let auth_token = match input.auth_token.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(token) if token.len() > 500 => return Err(Error::invalid("auth_token", "auth_token is too long")),
        Some(token) => Some(Secret::new(token)),
    };
    let (lifetime_cap, safety_margin, used) = webhook_limits(input, None)?;
    let fields = store::webhooks::Fields {
        table_id: table.id,
        url: &url,
        auth_token: auth_token.as_ref(),
        lifetime_cap,
        safety_margin,
        used,
    };
    let now = store::now_millis();
    let record = store::webhooks::insert(db, &fields, now).await?;
    let view = webhook_view(&record);
    let detail = format!("{} (cap {lifetime_cap}, margin {safety_margin}, used {used})", view.url_masked);
    audit::record(db, actor, "webhook.add", &table.name, Some(&detail), now).await?;
    Ok(view)
}

/// Changes a webhook's limits, its used count or its state (the URL and token cannot change:
/// a new Clay webhook is a new webhook).
pub async fn update_webhook(
    db: &Db,
    actor: &str,
    id: i64,
    input: &WebhookInput,
    state: Option<app::domain::WebhookState>,
) -> Result<Webhook> {
    let current = store::webhooks::find(db, id).await?.ok_or(Error::NotFound("webhook"))?;
    let current_view = webhook_view(&current);
    let (cap, margin, _) = webhook_limits(input, Some(&current_view))?;
    let state = state.unwrap_or(current.state);
    let record =
        store::webhooks::update(db, id, cap, margin, input.used, state).await?.ok_or(Error::NotFound("webhook"))?;
    let view = webhook_view(&record);
    let used = input.used.map_or_else(|| "used unchanged".to_owned(), |used| format!("used set to {used}"));
    let detail = format!("cap {cap}, margin {margin}, {used}, {}", state.as_str());
    audit::record(db, actor, "webhook.update", &view.url_masked, Some(&detail), store::now_millis()).await?;
    Ok(view)
}

/// Replaces a workspace's routing rules; every rule's table must belong to the workspace.
pub async fn set_routing(db: &Db, actor: &str, workspace_id: i64, rules: &[Rule], fallback: Fallback) -> Result<()> {
    let workspace = store::workspaces::find(db, workspace_id).await?.ok_or(Error::NotFound("workspace"))?;
    ingest::validate(rules).map_err(|e| Error::invalid("rules", e.to_string()))?;
    let tables: Vec<i64> = store::tables::list(db, Some(workspace_id)).await?.iter().map(|t| t.id).collect();
    let fallback_table = match fallback {
        Fallback::Table(id) => Some(id),
        Fallback::Hold => None,
    };
    for table in rules.iter().map(|r| r.table_id).chain(fallback_table) {
        if !tables.contains(&table) {
            return Err(Error::invalid("rules", format!("table {table} is not a table of this workspace")));
        }
    }
    store::routing::replace(db, workspace_id, rules, fallback_table).await?;
    let detail = format!(
        "{} rules, unrouted rows {}",
        rules.len(),
        fallback_table.map_or("held".into(), |t| format!("to table {t}"))
    );
    audit::record(db, actor, "routing.update", &workspace.name, Some(&detail), store::now_millis()).await?;
    Ok(())
}

/// The header Clay's HTTP API column sends with each callback.
pub const CALLBACK_TOKEN_HEADER: &str = "X-Kiln-Callback-Token";

fn callback_settings_for(origin: &str, table_id: i64, token: String) -> CallbackSettings {
    let path = format!("/api/v1/callbacks/{table_id}");
    CallbackSettings {
        table_id,
        method: "POST".into(),
        url: format!("{}{path}", origin.trim_end_matches('/')),
        path,
        header: CALLBACK_TOKEN_HEADER.into(),
        token,
        body: "{\n  \"kiln_id\": \"/kiln_id\",\n  \"credits_used\": \"/Credits used\",\n  \"title\": \"/Job title\",\n  \"company_size\": \"/Company size\"\n}".into(),
    }
}

/// What to paste into the table's HTTP API column (the token is made on first use).
pub async fn callback_settings(db: &Db, origin: &str, table_id: i64) -> Result<CallbackSettings> {
    let token = store::tables::callback_token(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    Ok(callback_settings_for(origin, table_id, token))
}

/// A new callback token; the old one stops working at once.
pub async fn rotate_callback(db: &Db, actor: &str, origin: &str, table_id: i64) -> Result<CallbackSettings> {
    let token = store::tables::rotate_callback_token(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    audit::record(db, actor, "table.rotate_callback_token", &format!("table {table_id}"), None, store::now_millis())
        .await?;
    Ok(callback_settings_for(origin, table_id, token))
}

/// The longest "no callback" deadline: a week.
const MAX_CALLBACK_TIMEOUT_MINUTES: u32 = 7 * 24 * 60;

pub async fn table_delivery(db: &Db, table_id: i64) -> Result<TableDelivery> {
    let settings = store::tables::after_clay(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    let (dead_forwards, last_forward_error) = store::forwarding::dead(db, table_id).await?;
    Ok(TableDelivery {
        table_id,
        callback_timeout_minutes: u32::try_from(settings.callback_timeout_mins).unwrap_or(60),
        forward_url_masked: settings.forward_url.map(|url| mask_url(&Secret::new(url))),
        has_forward_auth: settings.forward_auth.is_some(),
        purge_after_forward: settings.purge_after_forward,
        dead_forwards,
        last_forward_error,
    })
}

/// Sends a table's dead forwards again, with a fresh set of attempts (once its destination
/// works again); the table's `forward_failing` alert closes, to open again if they fail anew.
pub async fn requeue_dead_forwards(db: &Db, actor: &str, table_id: i64) -> Result<u64> {
    let settings = store::tables::after_clay(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    if settings.forward_url.is_none() {
        return Err(Error::Conflict("the table has no stream-through destination to send them to".into()));
    }
    let now = store::now_millis();
    // Closed first: a forward that fails again at once then raises a fresh alert.
    store::alerts::clear(db, store::alerts::FORWARD_FAILING, &store::alerts::table_subject(table_id), now).await?;
    let requeued = store::forwarding::requeue_dead(db, table_id).await?;
    let detail = format!("{requeued} dead forwards requeued");
    audit::record(db, actor, "table.requeue_dead_forwards", &format!("table {table_id}"), Some(&detail), now).await?;
    Ok(requeued)
}

/// Changes the "no callback" deadline and the stream-through destination of a table.
pub async fn set_table_delivery(
    db: &Db,
    actor: &str,
    table_id: i64,
    input: &TableDeliveryInput,
) -> Result<TableDelivery> {
    let mut settings = store::tables::after_clay(db, table_id).await?.ok_or(Error::NotFound("table"))?;
    if let Some(minutes) = input.callback_timeout_minutes {
        if !(1..=MAX_CALLBACK_TIMEOUT_MINUTES).contains(&minutes) {
            return Err(Error::invalid(
                "callback_timeout_minutes",
                format!("callback_timeout_minutes must be 1 to {MAX_CALLBACK_TIMEOUT_MINUTES} (a week)"),
            ));
        }
        settings.callback_timeout_mins = i64::from(minutes);
    }
    if let Some(url) = &input.forward_url {
        let before = settings.forward_url.clone();
        settings.forward_url = if url.trim().is_empty() {
            None
        } else {
            let WebhookUrl(url) = WebhookUrl::parse(url).map_err(|_| {
                Error::invalid("forward_url", "the destination URL must be https:// (plain http only on this machine)")
            })?;
            Some(url.expose().to_owned())
        };
        if settings.forward_url != before {
            // The old destination's secret never goes to a new one; nothing to purge without one.
            settings.forward_auth = None;
            if settings.forward_url.is_none() {
                settings.purge_after_forward = false;
            }
        }
    }
    if let Some(auth) = &input.forward_auth {
        let auth = auth.trim();
        if auth.chars().any(char::is_control) || auth.len() > 4096 {
            return Err(Error::invalid("forward_auth", "the Authorization value must be one line of at most 4 KB"));
        }
        settings.forward_auth = (!auth.is_empty()).then(|| auth.to_owned());
    }
    if let Some(purge) = input.purge_after_forward {
        settings.purge_after_forward = purge;
    }
    if settings.purge_after_forward && settings.forward_url.is_none() {
        return Err(Error::invalid("purge_after_forward", "purging needs a destination to forward to first"));
    }
    store::tables::set_after_clay(db, table_id, &settings).await?;
    let detail = format!(
        "no callback after {} min; forwarding {}; purge {}",
        settings.callback_timeout_mins,
        if settings.forward_url.is_some() { "on" } else { "off" },
        if settings.purge_after_forward { "on" } else { "off" }
    );
    audit::record(db, actor, "table.after_clay", &format!("table {table_id}"), Some(&detail), store::now_millis())
        .await?;
    table_delivery(db, table_id).await
}

/// A workspace with its tables, webhooks, routing and where its budget stands.
pub async fn overview(db: &Db, workspace: Workspace) -> Result<app::domain::WorkspaceOverview> {
    let tables = store::tables::list(db, Some(workspace.id)).await?;
    let hooks = store::webhooks::list(db, None).await?;
    let mut overviews = Vec::with_capacity(tables.len());
    for table in tables {
        let webhooks = hooks.iter().filter(|h| h.table_id == table.id).map(webhook_view).collect();
        let delivery = table_delivery(db, table.id).await?;
        overviews.push(app::domain::TableOverview { table, webhooks, delivery });
    }
    let tables = overviews;
    let rules = store::routing::rules(db, workspace.id).await?;
    let month_start = crate::budget::month_start(store::now_millis(), workspace.budget_day);
    let committed = store::imports::committed_credits(db, workspace.id, month_start).await?;
    let budget = app::domain::BudgetSnapshot { month_start, limit: workspace.monthly_credit_budget, committed };
    let fallback = workspace.fallback_table_id.map_or(Fallback::Hold, Fallback::Table);
    Ok(app::domain::WorkspaceOverview { workspace, tables, rules, fallback, budget })
}

/// The pages' view of workspaces ([`app::services::Workspaces`]).
pub struct WorkspacesService {
    pub db: Db,
    /// Where Clay's HTTP API column reaches this Kiln.
    pub callback_origin: String,
}

#[async_trait::async_trait]
impl app::services::Workspaces for WorkspacesService {
    async fn overview(&self) -> Result<Vec<app::domain::WorkspaceOverview>, app::error::AppError> {
        let mut all = Vec::new();
        for workspace in store::workspaces::list(&self.db).await.map_err(Error::from)? {
            all.push(overview(&self.db, workspace).await?);
        }
        Ok(all)
    }

    async fn save_workspace(
        &self,
        actor: &app::domain::CurrentUser,
        id: Option<i64>,
        input: WorkspaceInput,
    ) -> Result<Workspace, app::error::AppError> {
        Ok(match id {
            Some(id) => update_workspace(&self.db, &actor.email, id, &input).await?,
            None => create_workspace(&self.db, &actor.email, &input).await?,
        })
    }

    async fn save_table(
        &self,
        actor: &app::domain::CurrentUser,
        id: Option<i64>,
        input: TableInput,
    ) -> Result<ClayTable, app::error::AppError> {
        Ok(match id {
            Some(id) => update_table(&self.db, &actor.email, id, &input).await?,
            None => create_table(&self.db, &actor.email, &input).await?,
        })
    }

    async fn add_webhook(
        &self,
        actor: &app::domain::CurrentUser,
        table_id: i64,
        input: WebhookInput,
    ) -> Result<Webhook, app::error::AppError> {
        Ok(add_webhook(&self.db, &actor.email, table_id, &input).await?)
    }

    async fn change_webhook(
        &self,
        actor: &app::domain::CurrentUser,
        id: i64,
        change: app::domain::WebhookChange,
    ) -> Result<Webhook, app::error::AppError> {
        let input = WebhookInput {
            url: String::new(),
            auth_token: None,
            lifetime_cap: change.lifetime_cap,
            safety_margin: change.safety_margin,
            used: change.used,
        };
        Ok(update_webhook(&self.db, &actor.email, id, &input, change.state).await?)
    }

    async fn set_routing(
        &self,
        actor: &app::domain::CurrentUser,
        workspace_id: i64,
        rules: Vec<Rule>,
        fallback: Fallback,
    ) -> Result<(), app::error::AppError> {
        Ok(set_routing(&self.db, &actor.email, workspace_id, &rules, fallback).await?)
    }

    async fn callback_settings(&self, table_id: i64) -> Result<CallbackSettings, app::error::AppError> {
        Ok(callback_settings(&self.db, &self.callback_origin, table_id).await?)
    }

    async fn rotate_callback(
        &self,
        actor: &app::domain::CurrentUser,
        table_id: i64,
    ) -> Result<CallbackSettings, app::error::AppError> {
        Ok(rotate_callback(&self.db, &actor.email, &self.callback_origin, table_id).await?)
    }

    async fn table_delivery(&self, table_id: i64) -> Result<TableDelivery, app::error::AppError> {
        Ok(table_delivery(&self.db, table_id).await?)
    }

    async fn set_table_delivery(
        &self,
        actor: &app::domain::CurrentUser,
        table_id: i64,
        input: TableDeliveryInput,
    ) -> Result<TableDelivery, app::error::AppError> {
        Ok(set_table_delivery(&self.db, &actor.email, table_id, &input).await?)
    }

    async fn requeue_dead_forwards(
        &self,
        actor: &app::domain::CurrentUser,
        table_id: i64,
    ) -> Result<TableDelivery, app::error::AppError> {
        requeue_dead_forwards(&self.db, &actor.email, table_id).await?;
        Ok(table_delivery(&self.db, table_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_or_loopback() {
        assert!(WebhookUrl::parse("https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-1").is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:3000/sandbox/clay/v3/sources/webhook/1").is_ok());
        assert!(WebhookUrl::parse("http://localhost:9/x").is_ok());
        assert!(WebhookUrl::parse("http://[::1]:9/x").is_ok());
        for bad in
            ["http://api.clay.com/x", "ftp://x/y", "not a url", "https://user:pw@api.clay.com/x", "http://10.0.0.1/x"]
        {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masked_urls_keep_host_and_a_short_tail() {
        let url = Secret::new("https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-8f2e4c1a");
        assert_eq!(mask_url(&url), "https://api.clay.com/…4c1a");
    }

    #[test]
    fn webhook_limits_default_and_check() {
        let input = WebhookInput { url: String::new(), ..WebhookInput::default() };
        assert_eq!(webhook_limits(&input, None).unwrap(), (50_000, 5_000, 0));
        let bad = WebhookInput { safety_margin: Some(50_000), ..input.clone() };
        assert!(webhook_limits(&bad, None).is_err());
        let bad = WebhookInput { used: Some(60_000), ..input };
        assert!(webhook_limits(&bad, None).is_err());
    }
}
