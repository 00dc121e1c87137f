//! API token secrets: random, shown once, stored as a SHA-256. A token has 256 bits of entropy,
//! so a fast hash is enough (unlike passwords, which need argon2).

use rand::RngCore;
use sha2::{Digest, Sha256};

const PREFIX: &str = "kiln_";

/// A new secret, e.g. `kiln_3f9c…` (64 hex digits after the prefix).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// What the database keeps instead of the secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The secret in an `Authorization: Bearer …` header value, if that is what it holds.
pub fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_unique_prefixed_and_hashed_deterministically() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with("kiln_") && a.len() == 5 + 64);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert!(!hash(&a).contains(&a[5..]));
    }

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(from_authorization("Bearer kiln_abc"), Some("kiln_abc"));
        assert_eq!(from_authorization("bearer   kiln_abc "), Some("kiln_abc"));
        assert_eq!(from_authorization("Basic dXNlcjpwYXNz"), None);
        assert_eq!(from_authorization("Bearer "), None);
        assert_eq!(from_authorization("kiln_abc"), None);
    }
}
