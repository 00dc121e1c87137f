//! Who is signed in, as the browser learns it.

use crate::{domain::CurrentUser, error::AppError};
use leptos::prelude::*;

/// The signed-in user, or `None` for an anonymous visitor. The one server function that answers
/// anonymous callers (the server's gate lets its fixed path through), so pages can tell.
#[server(endpoint = "whoami", input = server_fn::codec::Json)]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    Ok(crate::services::current_user())
}

/// The signed-in user, loaded once by the layout and shared with every page below it.
#[derive(Clone, Copy)]
pub struct Session(pub Resource<Result<Option<CurrentUser>, AppError>>);

impl Default for Session {
    fn default() -> Self {
        Session(Resource::new(|| (), |_| whoami()))
    }
}

impl Session {
    /// The user, once loaded; `None` while loading or when signed out.
    pub fn user(&self) -> Option<CurrentUser> {
        self.0.get().and_then(Result::ok).flatten()
    }
}

pub fn use_session() -> Option<Session> {
    use_context::<Session>()
}
