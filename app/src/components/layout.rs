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
            <main class="content">
                <Outlet />
            </main>
        </div>
    }
}
