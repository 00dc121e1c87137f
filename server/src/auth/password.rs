//! Password rules and argon2 hashing (through `password-auth`), off the async threads: a hash
//! takes tens of milliseconds of CPU on purpose.

use crate::error::{Error, Result};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;

/// A password that meets the rules, ready to be hashed. Never printed.
pub struct NewPassword(String);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must have at most {MAX_LENGTH} characters")]
    TooLong,
}

impl NewPassword {
    pub fn parse(password: String) -> Result<Self, PasswordError> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            Err(PasswordError::TooShort)
        } else if length > MAX_LENGTH {
            Err(PasswordError::TooLong)
        } else {
            Ok(NewPassword(password))
        }
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

pub async fn hash(password: NewPassword) -> Result<String> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password.0))
        .await
        .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))
}

/// Whether `password` matches `hash`. With no hash (unknown account) it still spends the time of
/// a verification, so response times do not tell which emails exist.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => password_auth::verify_password(password, &hash).is_ok(),
        None => {
            let _ = password_auth::verify_password(password, dummy_hash());
            false
        }
    })
    .await
    .map_err(|e| Error::Internal(format!("password verification task failed: {e}")))
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| password_auth::generate_hash("kiln-timing-equaliser"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_must_have_a_sensible_length() {
        assert_eq!(NewPassword::parse("short".into()).unwrap_err(), PasswordError::TooShort);
        assert_eq!(NewPassword::parse("x".repeat(1025)).unwrap_err(), PasswordError::TooLong);
        assert!(NewPassword::parse("correct horse".into()).is_ok());
        // Characters, not bytes: ten accented letters are ten characters.
        assert!(NewPassword::parse("é".repeat(10)).is_ok());
    }

    #[test]
    fn a_new_password_never_prints() {
        let password = NewPassword::parse("correct horse battery".into()).unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[tokio::test]
    async fn hashes_verify_only_their_password() {
        let hash = hash(NewPassword::parse("correct horse battery".into()).unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify("correct horse battery".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(hash)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}
