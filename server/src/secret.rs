//! Values that must never reach a log, a page or an error message: webhook URLs, Clay auth
//! tokens. `Debug` prints `***`; there is no `Display` and no `Serialize`, so the only way out is
//! [`Secret::expose`], which the sender calls at the moment of use.

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_hides_the_value() {
        let secret = super::Secret::new("https://api.clay.com/v3/sources/webhook/abc");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "https://api.clay.com/v3/sources/webhook/abc");
    }
}
