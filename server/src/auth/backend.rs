//! The axum-login backend: how a browser session finds its user.

use super::password;
use crate::store::{
    Db,
    users::{self, UserRecord},
};
use app::domain::CurrentUser;
use axum_login::{AuthUser, AuthnBackend, UserId};

/// A signed-in user as the session layer holds it.
#[derive(Clone)]
pub struct SessionUser(pub UserRecord);

impl std::fmt::Debug for SessionUser {
    // The password hash stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser").field("id", &self.0.id).field("email", &self.0.email).finish()
    }
}

impl SessionUser {
    pub fn current(&self) -> CurrentUser {
        CurrentUser { id: self.0.id, email: self.0.email.clone(), role: self.0.role }
    }
}

impl AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.0.id
    }

    /// Sessions are bound to the password hash: changing a password signs out every session.
    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

#[derive(Clone)]
pub struct Credentials {
    /// Already normalised (trimmed, lower-case).
    pub email: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Http(#[from] crate::error::Error),
}

#[derive(Clone)]
pub struct Backend {
    db: Db,
}

impl Backend {
    pub fn new(db: Db) -> Self {
        Backend { db }
    }
}

impl AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = BackendError;

    async fn authenticate(&self, credentials: Credentials) -> Result<Option<SessionUser>, BackendError> {
        let user = users::find_by_email(&self.db, &credentials.email).await?.filter(|u| !u.disabled);
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        let matches = password::verify(credentials.password, hash).await?;
        Ok(user.filter(|_| matches).map(SessionUser))
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<SessionUser>, BackendError> {
        // A disabled user's sessions stop working on their next request.
        Ok(users::find(&self.db, *id).await?.filter(|u| !u.disabled).map(SessionUser))
    }
}

pub type AuthSession = axum_login::AuthSession<Backend>;
