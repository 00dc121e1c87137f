//! Who is calling and what they may do: browser sessions (axum-login over tower-sessions, stored
//! in Kiln's database), API tokens, the same-origin rule and sign-in throttling.

pub mod backend;
pub mod gate;
pub mod password;
pub mod routes;
pub mod throttle;
pub mod tokens;

use app::domain::{CurrentUser, Role};

/// The caller of a request, once authenticated.
#[derive(Debug, Clone)]
pub enum Principal {
    User(CurrentUser),
    Token { id: i64, name: String, role: Role },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::User(user) => user.role,
            Principal::Token { role, .. } => *role,
        }
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::User(user) => user.email.clone(),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }

    /// The caller, if their role allows `needed`.
    pub fn require(&self, needed: Role) -> crate::error::Result<&Self> {
        if self.role().allows(needed) { Ok(self) } else { Err(crate::error::Error::Forbidden) }
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Principal {
    type Rejection = crate::error::Error;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Principal>().cloned().ok_or(crate::error::Error::Unauthorized)
    }
}
