//! Areas of the product that are not built yet say so plainly instead of showing made-up data.

use leptos::prelude::*;
use leptos_meta::Title;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Planner,
    Imports,
    Deliveries,
}

impl Area {
    pub fn title(self) -> &'static str {
        match self {
            Area::Planner => "Planner",
            Area::Imports => "Imports",
            Area::Deliveries => "Deliveries",
        }
    }

    pub fn purpose(self) -> &'static str {
        match self {
            Area::Planner => {
                "Plan capacity: the Clay plan, data credits, Actions, webhooks and tables a month of leads needs, and how long it takes to send."
            }
            Area::Imports => {
                "Drop CSV files of leads, map their columns, and see every row accounted for as accepted, rejected or duplicate."
            }
            Area::Deliveries => {
                "Follow each batch as Kiln paces it into Clay webhooks: queued, in flight, retrying, delivered or dead."
            }
        }
    }
}

#[component]
pub fn AreaPlaceholder(area: Area) -> impl IntoView {
    view! {
        <Title text=area.title() />
        <section class="page">
            <h1>{area.title()}</h1>
            <div class="card empty" data-testid="not-built">
                <p>{area.purpose()}</p>
                <p class="muted">"This part of Kiln is not built yet."</p>
            </div>
        </section>
    }
}
