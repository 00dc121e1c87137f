//! Kiln's user interface: pages, components and server functions, plus the pure logic that the
//! browser (WASM) and the server share. Built natively with `ssr` for the server and to WASM with
//! `hydrate` for the browser.

pub mod charts;
pub mod components;
pub mod domain;
pub mod error;
pub mod format;
pub mod ingest;
pub mod markup;
pub mod pages;
pub mod planner;
pub mod session;

#[cfg(feature = "ssr")]
pub mod services;

use components::layout::AppLayout;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    Lazy,
    components::{ParentRoute, Route, Router, Routes},
    path,
};
use pages::{
    alerts::AlertsPage,
    audit::AuditPage,
    budgets::BudgetsPage,
    deliveries::DeliveriesPage,
    home::HomePage,
    imports::ImportsPage,
    login::LoginPage,
    not_found::NotFound,
    planner::{ComparePage, PlannerPage},
    settings::SettingsPage,
    setup::SetupPage,
    users::UsersPage,
    webhooks::WebhooksPage,
    workspaces::WorkspacesPage,
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
                <link rel="icon" type="image/svg+xml" href=favicon_data_url() />
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

/// The icon inlined in the page: the browser then never asks for it again, not even when the
/// planner rewrites the address on every keystroke (Chromium re-fetches linked icons then).
fn favicon_data_url() -> String {
    let svg = include_str!("../../public/favicon.svg");
    let encoded = percent_encoding::utf8_percent_encode(svg, percent_encoding::NON_ALPHANUMERIC);
    format!("data:image/svg+xml,{encoded}")
}

/// Declares a page loaded on demand: its code is split out of the main WASM bundle (`cargo leptos
/// build --split`). Every page but the planner is one: the main bundle holds the app's frame and
/// the planner, which recomputes in the browser on every keystroke, and it is within 10 KB of its
/// 400 KB target (docs/BENCHMARKS.md): a new page must be declared here too.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let $route = this;
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(LoginRoute, LoginPage);
lazy_page!(SetupRoute, SetupPage);
lazy_page!(HomeRoute, HomePage);
lazy_page!(CompareRoute, ComparePage);
lazy_page!(ImportsRoute, ImportsPage);
lazy_page!(DeliveriesRoute, DeliveriesPage);
lazy_page!(WebhooksRoute, WebhooksPage);
lazy_page!(BudgetsRoute, BudgetsPage);
lazy_page!(AlertsRoute, AlertsPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(SettingsRoute, SettingsPage);
lazy_page!(UsersRoute, UsersPage);
lazy_page!(WorkspacesRoute, WorkspacesPage);

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
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} />
                <ParentRoute path=path!("") view=AppLayout>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} />
                    <Route path=path!("/planner") view=PlannerPage />
                    <Route path=path!("/planner/compare") view={Lazy::<CompareRoute>::new()} />
                    <Route path=path!("/imports") view={Lazy::<ImportsRoute>::new()} />
                    <Route path=path!("/deliveries") view={Lazy::<DeliveriesRoute>::new()} />
                    <Route path=path!("/webhooks") view={Lazy::<WebhooksRoute>::new()} />
                    <Route path=path!("/budgets") view={Lazy::<BudgetsRoute>::new()} />
                    <Route path=path!("/alerts") view={Lazy::<AlertsRoute>::new()} />
                    <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} />
                    <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} />
                    <Route path=path!("/settings/users") view={Lazy::<UsersRoute>::new()} />
                    <Route path=path!("/settings/workspaces") view={Lazy::<WorkspacesRoute>::new()} />
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
    leptos::mount::hydrate_lazy(App);
}

/// Times what the planner does on each keystroke, for `make bench`: the figures, the cost chart's
/// curve and both pieces of markup. Returns the average milliseconds per recompute over
/// `iterations` runs, timed in the browser that runs the WASM.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn planner_bench(iterations: u32) -> f64 {
    let catalog = planner::default_catalog();
    let mut scenario = planner::Scenario::from_query_string("mode=recipe&ai=1");
    let performance = web_sys::window().and_then(|w| w.performance());
    let now = || performance.as_ref().map_or(0.0, web_sys::Performance::now);
    let start = now();
    let mut bytes = 0;
    for i in 0..iterations {
        scenario.monthly_leads = 10_000 + u64::from(i) * 997;
        let outcome = planner::plan(&scenario, &catalog);
        let (curve, boundaries) = planner::cost_curve(&scenario, &catalog, 48);
        bytes += pages::planner::render_outputs(&outcome).len();
        bytes += charts::cost::render(&curve, &boundaries, scenario.monthly_leads).len();
    }
    std::hint::black_box(bytes);
    (now() - start) / f64::from(iterations.max(1))
}
