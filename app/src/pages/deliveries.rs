//! `/deliveries`: the batches on their way to Clay, with their progress and batch controls
//! (pause, resume, stop, priority, requeue), and the dead leads of each.

use crate::pages::imports::{ImportsChanged, RecentImports};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    provide_context(ImportsChanged(RwSignal::new(0)));
    view! {
        <Title text="Deliveries" />
        <section class="page">
            <div class="page-head">
                <h1>"Deliveries"</h1>
                <p class="muted">
                    "Each batch as Kiln paces it into Clay webhooks: queued, in flight, retrying, delivered or dead. "
                    "Uploads are on the " <a href="/imports">"Imports"</a> " page."
                </p>
            </div>
            <RecentImports in_delivery=true />
        </section>
    }
}
