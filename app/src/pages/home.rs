//! The dashboard: per workspace, where its leads stand right now, kept live by server-sent
//! events (the browser's `EventSource` reconnects by itself), and the latest imports.

use crate::{
    components::notice::ErrorNotice,
    domain::{Dashboard, ImportSummary, WorkspaceLive, format_duration},
    error::AppError,
    format::{decimal, int},
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn live_dashboard() -> Result<Dashboard, AppError> {
    use crate::{
        domain::Role,
        services::{authorize, respond},
    };
    let (services, _) = authorize(Role::Viewer)?;
    respond(services.monitoring.dashboard().await)
}

#[component]
pub fn HomePage() -> impl IntoView {
    let initial = Resource::new(|| (), |_| live_dashboard());
    let live = RwSignal::new(None::<Dashboard>);
    let connected = RwSignal::new(false);
    Effect::new(move |_| subscribe(live, connected));
    view! {
        <Title text="Dashboard" />
        <section class="page">
            <div class="page-head">
                <h1>"Dashboard"</h1>
                <p class="muted">
                    "Where every workspace's leads stand, updated live. "
                    <span class=move || if connected.get() { "live on" } else { "live off" } data-testid="live-status">
                        {move || if connected.get() { "● live" } else { "○ connecting…" }}
                    </span>
                </p>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let first = initial.await;
                    view! {
                        {move || match live.get().map(Ok).unwrap_or_else(|| first.clone()) {
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                            Ok(snapshot) => view! { <Snapshot snapshot /> }.into_any(),
                        }}
                    }
                })}
            </Transition>
        </section>
    }
}

/// Opens the event stream (in the browser only: effects do not run on the server) and closes
/// it when the page goes away.
fn subscribe(live: RwSignal<Option<Dashboard>>, connected: RwSignal<bool>) {
    use leptos::wasm_bindgen::{JsCast, closure::Closure};
    use send_wrapper::SendWrapper;
    let Ok(source) = web_sys::EventSource::new("/events/dashboard") else { return };
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
        if let Some(Ok(snapshot)) = event.data().as_string().map(|text| serde_json::from_str::<Dashboard>(&text)) {
            live.set(Some(snapshot));
            connected.set(true);
        }
    });
    let on_open = Closure::<dyn FnMut()>::new(move || connected.set(true));
    let on_error = Closure::<dyn FnMut()>::new(move || connected.set(false));
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let kept = SendWrapper::new((source, on_message, on_open, on_error));
    on_cleanup(move || kept.0.close());
}

#[component]
fn Snapshot(snapshot: Dashboard) -> impl IntoView {
    let Dashboard { workspaces, imports, .. } = snapshot;
    view! {
        {if workspaces.is_empty() {
            view! { <div class="card empty"><p>"No workspace yet: add one under "<a href="/settings/workspaces">"Settings → Workspaces"</a>"."</p></div> }.into_any()
        } else {
            view! { <div class="live-grid">{workspaces.into_iter().map(|w| view! { <WorkspaceCard w /> }).collect_view()}</div> }.into_any()
        }}
        <div class="card">
            <h2>"Latest imports" <a class="small" href="/imports">" all imports and controls →"</a></h2>
            {if imports.is_empty() {
                view! { <p class="muted">"No imports yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="dashboard-imports">
                        <thead><tr><th>"#"</th><th>"File"</th><th>"State"</th><th>"Delivered"</th></tr></thead>
                        <tbody>{imports.into_iter().map(|import| view! { <ImportLine import /> }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </div>
    }
}

#[component]
fn WorkspaceCard(w: WorkspaceLive) -> impl IntoView {
    let stat = |label: &'static str, key: &'static str, value: u64, alarm: bool| {
        let class = if alarm && value > 0 { "stat alarm" } else { "stat" };
        view! {
            <div class=class data-testid=format!("stat-{key}")>
                <span class="stat-label">{label}</span>
                <span class="stat-value">{int(value)}</span>
            </div>
        }
    };
    let drain = match w.drain_seconds() {
        Some(seconds) => format!("queue drains in about {}", format_duration(seconds)),
        None if w.waiting > 0 => "nothing sendable: leads wait for a webhook, budget or their import".to_owned(),
        None => "queue empty".to_owned(),
    };
    let errors = if w.errors_last_hour.is_empty() {
        "none".to_owned()
    } else {
        w.errors_last_hour
            .iter()
            .map(|(status, n)| match status {
                0 => format!("no answer × {}", int(*n)),
                s => format!("HTTP {s} × {}", int(*n)),
            })
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let rate_percent = w.rate_use() * 100.0;
    view! {
        <div class="card live-workspace" data-workspace=w.name.clone()>
            <h2>{w.name.clone()}{w.demo.then(|| view! { <span class="badge">"demo · sandbox"</span> })}</h2>
            <div class="stats">
                {stat("Queued", "queued", w.queued, false)}
                {stat("In flight", "in-flight", w.in_flight, false)}
                {stat("Retrying", "retrying", w.retrying, true)}
                {stat("Waiting", "waiting", w.waiting, true)}
                {stat("Dead", "dead", w.dead, true)}
                {stat("Delivered", "delivered", w.delivered, false)}
            </div>
            <div class="rate" data-testid="send-rate">
                <div class="meter" title=format!("{rate_percent:.0}% of the rate limit")>
                    <div class="meter-fill" style=format!("width: {rate_percent:.1}%")></div>
                </div>
                <span>{format!("{} of {} records/s", decimal(w.send_rate, 1), decimal(w.rate_limit, 1))}</span>
            </div>
            <p class="muted small" data-testid="drain">{drain}</p>
            <p class="small" data-testid="errors">
                <strong>"Errors, last hour: "</strong>{errors}
            </p>
            <p class="small" data-testid="callbacks">
                <strong>"Callbacks, last hour: "</strong>{int(w.callbacks_last_hour)}" received"
                {(w.no_callback > 0).then(|| view! { <span class="warn-text">{format!(" · {} missing", int(w.no_callback))}</span> })}
            </p>
        </div>
    }
}

#[component]
fn ImportLine(import: ImportSummary) -> impl IntoView {
    let accepted = import.counts.accepted;
    let delivered = import.delivery.delivered;
    let percent = if accepted == 0 { 0.0 } else { delivered as f64 * 100.0 / accepted as f64 };
    view! {
        <tr data-import=import.id.to_string()>
            <td>{import.id}</td>
            <td>{import.filename.unwrap_or_else(|| format!("{} via {}", import.format, import.source))}</td>
            <td><span class=format!("badge state-{}", import.state.as_str())>{import.state.as_str().replace('_', " ")}</span></td>
            <td>
                <progress max="100" value=format!("{percent:.1}")></progress>
                <span class="small">{format!(" {} of {}", int(delivered), int(accepted))}</span>
            </td>
        </tr>
    }
}
