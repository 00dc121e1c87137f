//! The frame around every signed-in page: brand, navigation, who is signed in.

use crate::session::Session;
use leptos::prelude::*;
use leptos_router::components::{A, Outlet};

const NAV: [(&str, &str); 7] = [
    ("/", "Dashboard"),
    ("/planner", "Planner"),
    ("/imports", "Imports"),
    ("/deliveries", "Deliveries"),
    ("/webhooks", "Webhooks"),
    ("/budgets", "Budgets"),
    ("/settings", "Settings"),
];

#[component]
pub fn AppLayout() -> impl IntoView {
    let session = Session::default();
    provide_context(session);

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">
                    <img src="/favicon.svg" alt="" width="24" height="24" />
                    <span>"Kiln"</span>
                </a>
                <nav class="nav" aria-label="Main">
                    {NAV
                        .into_iter()
                        .map(|(href, label)| view! { <A href=href exact=true>{label}</A> })
                        .collect_view()}
                </nav>
                <Transition fallback=|| ()>
                    {move || {
                        session
                            .user()
                            .map(|user| {
                                view! {
                                    <div class="who">
                                        <span class="who-email" data-testid="user-email">
                                            {user.email}
                                        </span>
                                        <span class="badge" data-testid="user-role">
                                            {user.role.as_str()}
                                        </span>
                                        <form method="post" action="/logout">
                                            <button type="submit" class="link">
                                                "Sign out"
                                            </button>
                                        </form>
                                    </div>
                                }
                            })
                    }}
                </Transition>
            </header>
            <AlertBanner />
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}

#[leptos::server(input = leptos::server_fn::codec::Json)]
pub async fn open_alerts() -> Result<Vec<crate::domain::AlertView>, crate::error::AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(crate::domain::Role::Viewer)?;
    respond(services.monitoring.alerts(true).await)
}

/// Open alerts over every page, checked again every 10 seconds while the page is open.
#[component]
fn AlertBanner() -> impl IntoView {
    let tick = RwSignal::new(0_u32);
    let alerts = Resource::new(move || tick.get(), |_| open_alerts());
    Effect::new(move |_| {
        if let Ok(handle) =
            set_interval_with_handle(move || tick.update(|n| *n += 1), std::time::Duration::from_secs(10))
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || alerts.get().and_then(Result::ok).filter(|open| !open.is_empty()).map(|open| {
                let count = open.len();
                view! {
                    <div class="alert-banner" role="region" aria-label="Open alerts" data-testid="alert-banner">
                        <strong>{if count == 1 { "1 alert".to_owned() } else { format!("{count} alerts") }}</strong>
                        <ul>
                            {open.into_iter().take(3).map(|alert| view! {
                                <li data-kind=alert.kind>{alert.message}</li>
                            }).collect_view()}
                        </ul>
                        {(count > 3).then(|| view! { <span class="muted small">{format!("and {} more · ", count - 3)}</span> })}
                        <a class="small" href="/alerts">"All alerts →"</a>
                    </div>
                }
            })}
        </Transition>
    }
}
