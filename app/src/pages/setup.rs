//! `/setup`: while no user exists, the person at the browser creates the first admin. The server
//! refuses the route (and the form's POST) as soon as any user exists, so no default password is
//! ever needed.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

fn failure_message(code: &str) -> Option<&'static str> {
    match code {
        "email" => Some("Enter a valid email address."),
        "short" => Some("Choose a password of at least 10 characters."),
        "long" => Some("That password is too long (at most 1024 characters)."),
        "mismatch" => Some("The two passwords differ."),
        "" => None,
        _ => Some("Setting up failed. Try again."),
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || failure_message(&query.read().get("error").unwrap_or_default());

    view! {
        <Title text="Set up" />
        <div class="auth-page">
            <form class="card auth-card" method="post" action="/setup">
                <h1>
                    <img src="/favicon.svg" alt="" width="28" height="28" />
                    "Welcome to Kiln"
                </h1>
                <p class="muted">
                    "Create the first administrator. This page disappears once a user exists."
                </p>
                {move || error().map(|message| view! { <p class="notice error" role="alert">{message}</p> })}
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="new-password" minlength="10" required />
                </label>
                <label>
                    "Repeat password"
                    <input type="password" name="password_again" autocomplete="new-password" minlength="10" required />
                </label>
                <button type="submit" class="primary">"Create administrator"</button>
            </form>
        </div>
    }
}
