//! Reading a submitted form in the browser, for forms that call server functions with JSON.
//! (`ActionForm` would decode the form into the arguments generically for each server function;
//! one small reader keeps the WASM bundle lean.)

use leptos::{ev::SubmitEvent, prelude::*, wasm_bindgen::JsCast};
use web_sys::{FormData, HtmlFormElement};

/// The fields of a submitted form. Stops the browser's own submission.
pub struct Submitted {
    pub form: HtmlFormElement,
    data: FormData,
}

impl Submitted {
    pub fn from_event(ev: &SubmitEvent) -> Option<Submitted> {
        ev.prevent_default();
        let form = ev.target()?.dyn_into::<HtmlFormElement>().ok()?;
        let data = FormData::new_with_form(&form).ok()?;
        Some(Submitted { form, data })
    }

    /// A text field's value, or empty.
    pub fn text(&self, name: &str) -> String {
        self.data.get(name).as_string().unwrap_or_default()
    }
}

/// Empties `form` once `action` succeeds, so the next entry starts clean; on failure the input
/// stays for the person to correct.
pub fn reset_on_success<I, O, E>(form: NodeRef<leptos::html::Form>, action: ServerAction<I>)
where
    I: leptos::server_fn::ServerFn<Output = O, Error = E> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(_)))
            && let Some(form) = form.get_untracked()
        {
            form.reset();
        }
    });
}
