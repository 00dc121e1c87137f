//! Kiln's user interface: pages, components and server functions, plus the pure logic that the
//! browser (WASM) and the server share. Built natively with `ssr` for the server and to WASM with
//! `hydrate` for the browser.

pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
pub mod session;

#[cfg(feature = "ssr")]
pub mod services;

use components::layout::AppLayout;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path,
};
use pages::{
    home::HomePage,
    login::LoginPage,
    not_found::NotFound,
    placeholder::{Area, AreaPlaceholder},
    settings::SettingsPage,
    setup::SetupPage,
    users::UsersPage,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();

    view! {
        <Stylesheet id="leptos" href="/pkg/kiln.css" />
        <Title formatter=|page: String| {
            if page.is_empty() { "Kiln".to_owned() } else { format!("{page} · Kiln") }
        } />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/setup") view=SetupPage />
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view=HomePage />
                    <Route path=path!("/planner") view=|| view! { <AreaPlaceholder area=Area::Planner /> } />
                    <Route path=path!("/imports") view=|| view! { <AreaPlaceholder area=Area::Imports /> } />
                    <Route path=path!("/deliveries") view=|| view! { <AreaPlaceholder area=Area::Deliveries /> } />
                    <Route path=path!("/webhooks") view=|| view! { <AreaPlaceholder area=Area::Webhooks /> } />
                    <Route path=path!("/budgets") view=|| view! { <AreaPlaceholder area=Area::Budgets /> } />
                    <Route path=path!("/settings") view=SettingsPage />
                    <Route path=path!("/settings/users") view=UsersPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Marks the document once the WASM has taken over, so browser tests can tell a hydrated page
/// from server-rendered HTML (forms work without WASM, so a passing click proves nothing).
fn mark_hydrated() {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
