//! Small blocks of feedback shared by pages.

use crate::error::AppError;
use leptos::prelude::*;

/// An error from the server, in words the reader can act on.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! {
        <p class="notice error" role="alert">
            {error.to_string()}
        </p>
    }
}
