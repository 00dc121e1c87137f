//! What happens to a table's leads after Clay: the HTTP API column that calls Kiln back (its
//! settings fetched only when an operator opens them, since they hold the table's token), the
//! "no callback" deadline, and stream-through to a destination with the optional purge.

use super::{RequeueDeadForwards, RotateCallback, SaveTableDelivery, can, optional_number, tables::refresh_on_success};
use crate::{
    components::{form::Submitted, notice::ErrorNotice},
    domain::{CallbackSettings, Role, TableDelivery, TableDeliveryInput},
    error::AppError,
    format,
};
use leptos::prelude::*;

#[component]
pub(super) fn AfterClay(delivery: TableDelivery) -> impl IntoView {
    let summary = match (&delivery.forward_url_masked, delivery.purge_after_forward) {
        (Some(url), true) => format!("forwards enriched leads to {url}, then purges their personal fields"),
        (Some(url), false) => format!("forwards enriched leads to {url}"),
        (None, _) => "no stream-through destination".to_owned(),
    };
    view! {
        <div class="after-clay">
            <p class="muted small" data-testid="after-clay-summary">
                {format!("After Clay: “no callback” after {} min · {summary}", delivery.callback_timeout_minutes)}
            </p>
            {(delivery.dead_forwards > 0).then(|| view! { <DeadForwards delivery=delivery.clone() /> })}
            {can(Role::Operator).then(|| view! {
                <CallbackColumn table_id=delivery.table_id />
                <ForwardingForm delivery=delivery.clone() />
            })}
        </div>
    }
}

/// Enriched leads the destination never took, with a way to send them again once it works.
#[component]
fn DeadForwards(delivery: TableDelivery) -> impl IntoView {
    let requeue = ServerAction::<RequeueDeadForwards>::new();
    refresh_on_success(requeue);
    let table_id = delivery.table_id;
    let count = delivery.dead_forwards;
    let why = delivery.last_forward_error.map(|reason| format!(" Newest: {reason}.")).unwrap_or_default();
    // Sent until the overview reloads without them: one click is enough.
    let sent = move || requeue.pending().get() || matches!(requeue.value().get(), Some(Ok(_)));
    view! {
        <div class="notice warn" data-testid="dead-forwards">
            <p>
                {format!(
                    "{} enriched {} could not be forwarded.{why}",
                    format::int(count),
                    if count == 1 { "lead" } else { "leads" }
                )}
                {match (can(Role::Operator), delivery.forward_url_masked.is_some()) {
                    (false, _) => None,
                    (true, true) => Some(view! {
                        " "
                        <button type="button" data-testid="requeue-forwards" disabled=sent
                            on:click=move |_| { requeue.dispatch(RequeueDeadForwards { table_id }); }>
                            "Forward them again"
                        </button>
                    }.into_any()),
                    (true, false) => Some(view! { " Set a destination below to send them again." }.into_any()),
                }}
            </p>
            {move || requeue.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        </div>
    }
}

/// The exact settings of the HTTP API column to add in Clay, fetched when opened.
#[component]
fn CallbackColumn(table_id: i64) -> impl IntoView {
    let opened = RwSignal::new(false);
    let settings = Resource::new(
        move || opened.get(),
        move |opened| async move { if opened { super::callback_settings(table_id).await.map(Some) } else { Ok(None) } },
    );
    let rotate = ServerAction::<RotateCallback>::new();
    let shown = move || match rotate.value().get() {
        Some(Ok(fresh)) => Some(Ok(fresh)),
        _ => settings.get().and_then(Result::transpose),
    };
    view! {
        <details class="callback-column" data-testid="callback-column" on:toggle=move |_| opened.set(true)>
            <summary>"HTTP API column settings (Clay calls Kiln back)"</summary>
            <p class="muted small">
                "In the Clay table, add an HTTP API column with these settings and let it run after the enrichment columns. "
                "In the body, type / to insert each column reference."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || shown().map(|result| match result {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(s) => view! { <CallbackSettingsList settings=s /> }.into_any(),
                })}
            </Transition>
            {can(Role::Admin).then(|| view! {
                <button type="button" data-testid="rotate-callback" disabled=move || rotate.pending().get()
                    on:click=move |_| { rotate.dispatch(RotateCallback { table_id }); }>
                    "Rotate the token"
                </button>
                <span class="muted small">" The old token stops working at once: update the column in Clay."</span>
                {move || rotate.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            })}
        </details>
    }
}

#[component]
fn CallbackSettingsList(settings: CallbackSettings) -> impl IntoView {
    view! {
        <dl class="settings-list">
            <dt>"Method"</dt><dd><code>{settings.method}</code></dd>
            <dt>"Endpoint"</dt><dd><code data-testid="callback-url">{settings.url}</code></dd>
            <dt>"Headers"</dt>
            <dd>
                <code>"Content-Type: application/json"</code><br />
                <code>{settings.header}": "<span data-testid="callback-token">{settings.token}</span></code>
            </dd>
            <dt>"Body"</dt><dd><pre><code>{settings.body}</code></pre></dd>
            <dt>"Notes"</dt>
            <dd class="muted small">
                "kiln_id comes with every row Kiln sends; credits_used is optional (without it the table’s estimate counts). "
                "Any other field is stored as the lead’s enrichment."
            </dd>
        </dl>
    }
}

#[component]
fn ForwardingForm(delivery: TableDelivery) -> impl IntoView {
    let save = ServerAction::<SaveTableDelivery>::new();
    refresh_on_success(save);
    let invalid = RwSignal::new(None::<AppError>);
    let table_id = delivery.table_id;
    let on_submit = move |ev| {
        let Some(f) = Submitted::from_event(&ev) else { return };
        let url = f.text("forward_url");
        let auth = f.text("forward_auth");
        let input = (|| {
            Ok::<_, AppError>(TableDeliveryInput {
                callback_timeout_minutes: optional_number(&f, "callback_timeout_minutes", "No callback after")?,
                // Blank keeps the current destination; "remove" takes it away.
                forward_url: if f.text("remove_forward") == "on" {
                    Some(String::new())
                } else {
                    Some(url).filter(|u| !u.trim().is_empty())
                },
                forward_auth: Some(auth).filter(|a| !a.trim().is_empty()),
                purge_after_forward: Some(f.text("purge_after_forward") == "on" && f.text("remove_forward") != "on"),
            })
        })();
        match input {
            Ok(input) => {
                invalid.set(None);
                save.dispatch(SaveTableDelivery { table_id, input });
            }
            Err(error) => invalid.set(Some(error)),
        }
    };
    let placeholder =
        delivery.forward_url_masked.clone().unwrap_or_else(|| "https://crm.example.com/hooks/leads".into());
    view! {
        <details class="forwarding">
            <summary>"Callback deadline and stream-through"</summary>
            <form class="inline-form" data-testid="after-clay" on:submit=on_submit>
                <label>"Flag “no callback” after (minutes)"
                    <input name="callback_timeout_minutes" class="narrow" inputmode="numeric" value=delivery.callback_timeout_minutes.to_string() />
                </label>
                <label class="wide">"Forward enriched leads to"
                    <input name="forward_url" type="url" autocomplete="off" placeholder=placeholder />
                </label>
                <label>"Authorization header (optional)"
                    <input name="forward_auth" type="password" autocomplete="off"
                        placeholder=if delivery.has_forward_auth { "set — type to replace" } else { "e.g. Bearer …" } />
                </label>
                <label class="check">
                    <input name="purge_after_forward" type="checkbox" checked=delivery.purge_after_forward />
                    " Purge personal fields once forwarded"
                </label>
                {delivery.forward_url_masked.is_some().then(|| view! {
                    <label class="check"><input name="remove_forward" type="checkbox" />" Stop forwarding"</label>
                })}
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
            </form>
            <p class="muted small">
                "Each lead Clay calls back for is sent on, enriched, with the same retries as deliveries to Clay. "
                "A purged lead keeps its ids, dedupe hash, states and credits, so it is still counted and never sent twice."
            </p>
            {move || invalid.get().map(|error| view! { <ErrorNotice error /> })}
            {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        </details>
    }
}
