use crate::pages::placeholder::Area;
use leptos::prelude::*;
use leptos_meta::Title;

/// The dashboard. Until team monitoring exists it shows where each area stands, and no numbers.
#[component]
pub fn HomePage() -> impl IntoView {
    let areas = [Area::Planner, Area::Imports, Area::Deliveries, Area::Webhooks, Area::Budgets];
    view! {
        <Title text="Dashboard" />
        <section class="page">
            <h1>"Dashboard"</h1>
            <div class="card empty" data-testid="not-built">
                <p>"The live dashboard of batches, throughput, webhooks and budgets is not built yet."</p>
            </div>
            <div class="grid">
                {areas
                    .into_iter()
                    .map(|area| {
                        view! {
                            <a class="card tile" href=format!("/{}", area.title().to_lowercase())>
                                <h2>{area.title()}</h2>
                                <p class="muted">{area.purpose()}</p>
                            </a>
                        }
                    })
                    .collect_view()}
            </div>
        </section>
    }
}
