//! Users and API tokens: the rules for creating and changing them, shared by the users page
//! (through [`app::services::Accounts`]) and the `kiln user` / `kiln token` commands.

use crate::{
    auth::{
        password::{self, NewPassword},
        tokens,
    },
    error::{Error, Result},
    store::{
        self, Db, audit,
        users::{self, UpdateOutcome},
    },
};
use app::{
    domain::{CurrentUser, NewToken, Role, TokenSummary, UserSummary},
    error::AppError,
    services::Accounts,
};
use std::str::FromStr;

/// A team member's email: trimmed, lower-case, and syntactically valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail(String);

impl UserEmail {
    pub fn parse(raw: &str) -> Result<Self> {
        let email = raw.trim().to_lowercase();
        let valid = email_address::EmailAddress::from_str(&email)
            .is_ok_and(|parsed| parsed.domain().contains('.') || parsed.domain() == "localhost");
        if valid { Ok(UserEmail(email)) } else { Err(Error::invalid("email", "enter a valid email address")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub async fn create_user(db: &Db, actor: &str, email: &str, password: String, role: Role) -> Result<UserSummary> {
    let email = UserEmail::parse(email)?;
    let password = NewPassword::parse(password).map_err(|e| Error::invalid("password", e.to_string()))?;
    let hash = password::hash(password).await?;
    let now = store::now_millis();
    let user = users::insert(db, email.as_str(), &hash, role, now).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            Error::Conflict(format!("a user with the email {} already exists", email.as_str()))
        } else {
            e.into()
        }
    })?;
    audit::record(db, actor, "user.create", email.as_str(), Some(&format!("role {role}")), now).await?;
    Ok(user.into())
}

pub async fn create_token(db: &Db, actor: &str, name: &str, role: Role) -> Result<NewToken> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give the token a name of 1 to 100 characters"));
    }
    let secret = tokens::generate();
    let now = store::now_millis();
    let token = store::tokens::insert(db, name, role, &tokens::hash(&secret), actor, now).await.map_err(|e| {
        if store::is_unique_violation(&e) {
            Error::Conflict(format!("an active token named {name:?} already exists"))
        } else {
            e.into()
        }
    })?;
    audit::record(db, actor, "token.create", name, Some(&format!("role {role}")), now).await?;
    Ok(NewToken { token: token.into(), secret })
}

pub async fn revoke_token(db: &Db, actor: &str, id_or_name: &str) -> Result<TokenSummary> {
    let now = store::now_millis();
    let token = store::tokens::revoke(db, id_or_name, now).await?.ok_or(Error::NotFound("active token"))?;
    audit::record(db, actor, "token.revoke", &token.name, None, now).await?;
    Ok(token.into())
}

/// The users page's view of accounts.
pub struct AccountsService {
    pub db: Db,
}

#[async_trait::async_trait]
impl Accounts for AccountsService {
    async fn list_users(&self) -> Result<Vec<UserSummary>, AppError> {
        Ok(users::list(&self.db).await.map_err(Error::from)?.into_iter().map(Into::into).collect())
    }

    async fn create_user(
        &self,
        actor: &CurrentUser,
        email: String,
        password: String,
        role: Role,
    ) -> Result<UserSummary, AppError> {
        Ok(create_user(&self.db, &actor.email, &email, password, role).await?)
    }

    async fn update_user(&self, actor: &CurrentUser, id: i64, role: Role, disabled: bool) -> Result<(), AppError> {
        let target = users::find(&self.db, id).await.map_err(Error::from)?.ok_or(Error::NotFound("user"))?;
        match users::update(&self.db, id, role, disabled).await.map_err(Error::from)? {
            UpdateOutcome::Updated => {}
            UpdateOutcome::NotFound => return Err(Error::NotFound("user").into()),
            UpdateOutcome::LastAdmin => {
                return Err(Error::Conflict(
                    "Kiln needs at least one active admin; make someone else admin first.".into(),
                )
                .into());
            }
        }
        let detail = format!("role {role}, {}", if disabled { "disabled" } else { "active" });
        audit::record(&self.db, &actor.email, "user.update", &target.email, Some(&detail), store::now_millis())
            .await
            .map_err(Error::from)?;
        Ok(())
    }

    async fn list_tokens(&self) -> Result<Vec<TokenSummary>, AppError> {
        Ok(store::tokens::list(&self.db).await.map_err(Error::from)?.into_iter().map(Into::into).collect())
    }

    async fn create_token(&self, actor: &CurrentUser, name: String, role: Role) -> Result<NewToken, AppError> {
        Ok(create_token(&self.db, &actor.email, &name, role).await?)
    }

    async fn revoke_token(&self, actor: &CurrentUser, id: i64) -> Result<(), AppError> {
        revoke_token(&self.db, &actor.email, &id.to_string()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::UserEmail;

    #[test]
    fn user_emails_are_normalised_and_checked() {
        assert_eq!(UserEmail::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
        assert!(UserEmail::parse("ada").is_err());
        assert!(UserEmail::parse("ada@").is_err());
        assert!(UserEmail::parse("ada@example").is_err());
        assert!(UserEmail::parse("a b@example.com").is_err());
    }
}
