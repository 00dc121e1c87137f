use crate::{domain::Role, session::use_session};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let is_admin = move || use_session().and_then(|s| s.user()).is_some_and(|u| u.role.allows(Role::Admin));
    view! {
        <Title text="Settings" />
        <section class="page">
            <h1>"Settings"</h1>
            <div class="grid">
                <a class="card tile" href="/settings/workspaces">
                    <h2>"Workspaces, tables and webhooks"</h2>
                    <p class="muted">
                        "Clay workspaces with their rate limits and budgets, their tables, webhooks and routing rules."
                    </p>
                </a>
                <a class="card tile" href="/settings/users">
                    <h2>"Users and API tokens"</h2>
                    <p class="muted">
                        "Who can sign in, with which role, and the tokens automations use for /api/v1."
                    </p>
                    <Transition fallback=|| ()>
                        {move || (!is_admin()).then(|| view! { <p class="badge">"Admins only"</p> })}
                    </Transition>
                </a>
            </div>
        </section>
    }
}
