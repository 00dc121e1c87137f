//! A workspace's Clay tables and each table's webhooks.

use super::{AddWebhook, ChangeWebhook, Changed, SaveTable, can, optional_number};
use crate::{
    components::{form::Submitted, notice::ErrorNotice},
    domain::{Role, TableInput, TableOverview, Webhook, WebhookChange, WebhookInput, WebhookState},
    error::AppError,
    format::{decimal, int},
};
use leptos::prelude::*;

/// Refreshes the page's overview once `action` succeeds.
pub(super) fn refresh_on_success<I, O>(action: ServerAction<I>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let changed = use_context::<Changed>();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(changed)) = (action.value().get(), changed) {
            changed.bump();
        }
    });
}

#[component]
pub(super) fn Tables(workspace_id: i64, tables: Vec<TableOverview>) -> impl IntoView {
    let create = ServerAction::<SaveTable>::new();
    refresh_on_success(create);
    let invalid = RwSignal::new(None::<AppError>);
    // A table's estimate can come from a recipe saved in the planner.
    let scenarios = Resource::new(|| (), |_| crate::pages::planner::saved_scenarios());
    let on_submit = move |ev| {
        let Some(f) = Submitted::from_event(&ev) else { return };
        let estimates = optional_number::<f64>(&f, "credits_per_lead", "Credits per lead")
            .and_then(|credits| Ok((credits, optional_number::<f64>(&f, "actions_per_lead", "Actions per lead")?)));
        match estimates {
            Ok((credits_per_lead, actions_per_lead)) => {
                invalid.set(None);
                let scenario_id = f.text("scenario_id").parse().ok();
                let input =
                    TableInput { workspace_id, name: f.text("name"), credits_per_lead, actions_per_lead, scenario_id };
                create.dispatch(SaveTable { id: None, input });
            }
            Err(error) => invalid.set(Some(error)),
        }
    };
    view! {
        <h3>"Tables"</h3>
        {if tables.is_empty() {
            view! { <p class="muted">"No tables yet."</p> }.into_any()
        } else {
            tables.into_iter().map(|table| view! { <TableBlock table /> }).collect_view().into_any()
        }}
        {can(Role::Operator).then(|| view! {
            <form class="inline-form" data-testid="create-table" on:submit=on_submit>
                <label>"Table name" <input name="name" required maxlength="100" placeholder="e.g. EU prospects" /></label>
                <label>"Estimated data credits per lead" <input name="credits_per_lead" inputmode="decimal" placeholder="6" /></label>
                <label>"Actions per lead" <input name="actions_per_lead" inputmode="decimal" placeholder="1" /></label>
                <label>"or from a saved planner scenario"
                    <select name="scenario_id">
                        <option value="">"— typed above —"</option>
                        <Transition fallback=|| ()>
                            {move || scenarios.get().and_then(Result::ok).map(|list| list.into_iter().map(|s| {
                                view! { <option value=s.id.to_string()>{s.name}</option> }
                            }).collect_view())}
                        </Transition>
                    </select>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Add table"</button>
            </form>
            {move || invalid.get().map(|error| view! { <ErrorNotice error /> })}
            {move || create.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        })}
    }
}

#[component]
fn TableBlock(table: TableOverview) -> impl IntoView {
    let left = table.submissions_left();
    let TableOverview { table, webhooks, delivery } = table;
    let id = table.id;
    view! {
        <div class="table-block" data-table=table.name.clone()>
            <div class="table-head">
                <strong>{table.name.clone()}</strong>
                <span class="muted">
                    {format!(
                        " · id {id} · {} data credits and {} Actions per lead · {} submissions left on active webhooks",
                        decimal(table.credits_per_lead, 2),
                        decimal(table.actions_per_lead, 2),
                        int(left)
                    )}
                </span>
            </div>
            {if webhooks.is_empty() {
                view! { <p class="notice warn">"No webhook yet: leads for this table wait until one is added."</p> }.into_any()
            } else {
                view! {
                    <table class="table webhooks">
                        <thead><tr><th>"Webhook"</th><th>"State"</th><th>"Used"</th><th></th></tr></thead>
                        <tbody>{webhooks.into_iter().map(|webhook| view! { <WebhookRow webhook /> }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
            {can(Role::Operator).then(|| view! { <AddWebhookForm table_id=id /> })}
            <super::after_clay::AfterClay delivery />
        </div>
    }
}

#[component]
fn WebhookRow(webhook: Webhook) -> impl IntoView {
    let change = ServerAction::<ChangeWebhook>::new();
    refresh_on_success(change);
    let usable = webhook.usable();
    let percent = if usable == 0 { 100.0 } else { (webhook.used as f64 / usable as f64 * 100.0).min(100.0) };
    let id = webhook.id;
    let state = webhook.state;
    let full = webhook.is_full();
    let shown_used = webhook.used;
    let on_submit = move |ev| {
        let Some(f) = Submitted::from_event(&ev) else { return };
        // The count only if the operator changed it: the one shown may be minutes old, and
        // saving it back would undo the sends counted since (and let the webhook pass its cap).
        let used = f.text("used").trim().replace(',', "").parse().ok().filter(|&used| used != shown_used);
        let state = f.text("state").parse().ok();
        change.dispatch(ChangeWebhook { id, change: WebhookChange { used, state, ..WebhookChange::default() } });
    };
    view! {
        <tr>
            <td><code>{webhook.url_masked}</code>{webhook.has_auth_token.then(|| view! { <span class="muted small">" with auth token"</span> })}</td>
            <td><span class=format!("badge {}", if full { "disabled" } else { state.as_str() })>
                {if full && state == WebhookState::Active { "full" } else { state.as_str() }}
            </span></td>
            <td class="usage">
                <div class="meter" title=format!("{} of {} usable", int(webhook.used), int(usable))>
                    <div class="meter-fill" style=format!("width: {percent:.1}%")></div>
                </div>
                <span class="muted small">{format!("{} / {} (cap {}, margin {})", int(webhook.used), int(usable), int(webhook.lifetime_cap), int(webhook.safety_margin))}</span>
            </td>
            <td>
                {can(Role::Operator).then(|| view! {
                    <form class="row-form" on:submit=on_submit>
                        <input name="used" class="narrow" inputmode="numeric" aria-label="Used" value=webhook.used.to_string() />
                        <select name="state" aria-label="State">
                            {[WebhookState::Active, WebhookState::Failing, WebhookState::Retired].into_iter().map(|s| view! {
                                <option value=s.as_str() selected=s == state>{s.as_str()}</option>
                            }).collect_view()}
                        </select>
                        <button type="submit">"Save"</button>
                    </form>
                    {move || change.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                })}
            </td>
        </tr>
    }
}

#[component]
fn AddWebhookForm(table_id: i64) -> impl IntoView {
    let add = ServerAction::<AddWebhook>::new();
    refresh_on_success(add);
    let invalid = RwSignal::new(None::<AppError>);
    let on_submit = move |ev| {
        let Some(f) = Submitted::from_event(&ev) else { return };
        let input = (|| {
            Ok::<_, AppError>(WebhookInput {
                url: f.text("url"),
                auth_token: Some(f.text("auth_token")).filter(|t| !t.trim().is_empty()),
                lifetime_cap: optional_number(&f, "lifetime_cap", "Lifetime cap")?,
                safety_margin: optional_number(&f, "safety_margin", "Safety margin")?,
                used: optional_number(&f, "used", "Already used")?,
            })
        })();
        match input {
            Ok(input) => {
                invalid.set(None);
                add.dispatch(AddWebhook { table_id, input });
            }
            Err(error) => invalid.set(Some(error)),
        }
    };
    view! {
        <details class="add-webhook">
            <summary>"Add a webhook"</summary>
            <form class="inline-form" data-testid="add-webhook" on:submit=on_submit>
                <label class="wide">"Webhook URL" <input name="url" type="url" required placeholder="https://api.clay.com/v3/sources/webhook/…" autocomplete="off" /></label>
                <label>"Auth token (optional)" <input name="auth_token" type="password" autocomplete="off" /></label>
                <label>"Lifetime cap" <input name="lifetime_cap" class="narrow" inputmode="numeric" placeholder="50000" /></label>
                <label>"Safety margin" <input name="safety_margin" class="narrow" inputmode="numeric" placeholder="5000" /></label>
                <label>"Already used" <input name="used" class="narrow" inputmode="numeric" placeholder="0" /></label>
                <button type="submit" class="primary" disabled=move || add.pending().get()>"Add webhook"</button>
            </form>
            {move || invalid.get().map(|error| view! { <ErrorNotice error /> })}
            {move || add.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        </details>
    }
}
