//! `/login`: the only page an anonymous visitor sees once the first admin exists.
//! The form posts to the server's `/login` route, so it works before (and without) the WASM.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Why the last attempt failed, as the server tells it in the redirect's query.
fn failure_message(code: &str, retry_minutes: Option<u64>) -> Option<String> {
    match code {
        // One message for a wrong password, an unknown email and a disabled account: the page
        // must not reveal which emails exist.
        "invalid" => Some("The email or password is not right.".to_owned()),
        "throttled" => Some(match retry_minutes {
            Some(1) | None => "Too many failed attempts. Try again in a minute.".to_owned(),
            Some(minutes) => format!("Too many failed attempts. Try again in {minutes} minutes."),
        }),
        "" => None,
        _ => Some("Signing in failed. Try again.".to_owned()),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let query = query.read();
        let retry = query.get("retry").and_then(|r| r.parse().ok());
        failure_message(&query.get("error").unwrap_or_default(), retry)
    };
    let next = move || query.read().get("next").unwrap_or_default();

    view! {
        <Title text="Sign in" />
        <div class="auth-page">
            <form class="card auth-card" method="post" action="/login">
                <h1>
                    <img src="/favicon.svg" alt="" width="28" height="28" />
                    "Sign in to Kiln"
                </h1>
                {move || error().map(|message| view! { <p class="notice error" role="alert">{message}</p> })}
                <input type="hidden" name="next" prop:value=next />
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus />
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::failure_message;

    #[test]
    fn unknown_email_and_wrong_password_read_the_same() {
        assert_eq!(failure_message("invalid", None), failure_message("invalid", Some(3)));
        assert!(failure_message("", None).is_none());
    }

    #[test]
    fn throttling_says_how_long_to_wait() {
        assert_eq!(
            failure_message("throttled", Some(12)).as_deref(),
            Some("Too many failed attempts. Try again in 12 minutes.")
        );
    }
}
