//! Cleaning the values of a lead: emails, domains, names. Pure.

use std::{borrow::Cow, str::FromStr};

/// Characters that sneak into exported cells and break matching: BOM, zero-width spaces and
/// joiners, word joiner, soft hyphen, and the no-break space (turned into a space first).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{00ad}') || c.is_control()
}

/// Whether `raw` is already clean: printable ASCII with single inner spaces and none at the ends.
/// Most cells are, and then nothing needs copying.
fn is_clean(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut previous_space = true;
    for &b in bytes {
        match b {
            b' ' if previous_space => return false,
            b' ' => previous_space = true,
            0x21..=0x7e => previous_space = false,
            _ => return false,
        }
    }
    !previous_space || bytes.is_empty()
}

/// Trims, drops invisible characters and collapses runs of whitespace to one space.
pub fn clean_text(raw: &str) -> Cow<'_, str> {
    if is_clean(raw) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.chars() {
        let c = if c == '\u{a0}' { ' ' } else { c };
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !is_invisible(c) {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A lead's email: trimmed, lower-cased, free of invisible characters, syntactically valid
/// (RFC 5322, by `email_address`) and at a domain under a public suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEmail(String);

impl LeadEmail {
    /// `Ok(None)` for an empty cell; an error for text that is not an email.
    pub fn parse(raw: &str) -> Result<Option<LeadEmail>, InvalidEmail> {
        let already_normal =
            raw.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()) && !raw.starts_with("mailto:");
        let cleaned = if already_normal {
            raw.to_owned()
        } else {
            // Trimmed, not squeezed: `john smith@acme.com` is no address, and `johnsmith@…` may
            // be someone else's.
            let lowered = clean_text(raw).to_lowercase();
            lowered.strip_prefix("mailto:").map(|address| address.trim_start().to_owned()).unwrap_or(lowered)
        };
        if cleaned.is_empty() {
            return Ok(None);
        }
        let parsed = email_address::EmailAddress::from_str(&cleaned).map_err(|_| InvalidEmail)?;
        if with_registrable_domain(parsed.domain(), |_| ()).is_none() {
            return Err(InvalidEmail);
        }
        Ok(Some(LeadEmail(cleaned)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, domain)| domain)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidEmail;

/// The registrable domain (the part a company owns, by the public suffix list) of a website, URL,
/// host or email: `https://www.shop.example.co.uk/about` → `example.co.uk`.
pub fn registrable_domain(raw: &str) -> Option<String> {
    with_registrable_domain(raw, str::to_owned)
}

/// `f` of the registrable domain of `raw`, if it has one (without a copy of the domain when `f`
/// needs none).
fn with_registrable_domain<T>(raw: &str, f: impl FnOnce(&str) -> T) -> Option<T> {
    let cleaned = clean_text(raw);
    let cleaned = if cleaned.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(cleaned.to_lowercase())
    } else {
        cleaned
    };
    let without_scheme = cleaned.split_once("://").map_or(cleaned.as_ref(), |(_, rest)| rest);
    let host_part = without_scheme.rsplit_once('@').map_or(without_scheme, |(_, host)| host);
    let host = host_part.split(['/', '?', '#', ':']).next()?.trim_end_matches('.');
    if host.is_empty() || !host.contains('.') || host.contains(char::is_whitespace) {
        return None;
    }
    let domain = psl::domain_str(host)?;
    // A bare public suffix ("co.uk") is no company's domain.
    (domain.contains('.')).then(|| f(domain))
}

/// A LinkedIn profile or company URL reduced to its path, so spellings of one URL match.
pub fn linkedin_key(raw: &str) -> Option<String> {
    let cleaned = clean_text(raw).to_lowercase();
    if !cleaned.contains("linkedin.com/") {
        return None;
    }
    let without_scheme = cleaned.split_once("://").map_or(cleaned.as_str(), |(_, rest)| rest);
    let path = without_scheme.trim_start_matches("www.").split(['?', '#']).next()?.trim_end_matches('/');
    let rest = path.split_once("linkedin.com/")?.1;
    (!rest.is_empty()).then(|| format!("linkedin.com/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed_when_nothing_changes() {
        assert!(matches!(clean_text("Ada Lovelace"), Cow::Borrowed(_)));
        assert!(matches!(clean_text(""), Cow::Borrowed(_)));
        for dirty in [" Ada", "Ada ", "Ada  Lovelace", "Ada\tL", "Zoë"] {
            assert!(matches!(clean_text(dirty), Cow::Owned(_)), "{dirty:?}");
        }
        assert_eq!(clean_text("Zoë"), "Zoë");
    }

    #[test]
    fn text_is_trimmed_collapsed_and_visible() {
        assert_eq!(clean_text("  Ada \u{200b}Lovelace\u{a0} "), "Ada Lovelace");
        assert_eq!(clean_text("\u{feff}Jean-\u{ad}Luc\tPicard\n"), "Jean-Luc Picard");
        assert_eq!(clean_text(""), "");
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = LeadEmail::parse("  Ada.Lovelace@Example.COM\u{200b} ").unwrap().unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
        assert_eq!(email.domain(), "example.com");
        assert_eq!(LeadEmail::parse("mailto:bob@example.org").unwrap().unwrap().as_str(), "bob@example.org");
        assert_eq!(LeadEmail::parse("MAILTO: bob@example.org").unwrap().unwrap().as_str(), "bob@example.org");
        assert_eq!(LeadEmail::parse("   ").unwrap(), None);
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "ada@@example.com",
            "ada@example",
            "a,b@example.com",
            "john smith@example.com",
            "ada@exam ple.com",
        ] {
            assert_eq!(LeadEmail::parse(bad), Err(InvalidEmail), "{bad}");
        }
    }

    #[test]
    fn domains_come_from_websites_urls_and_emails() {
        assert_eq!(registrable_domain("https://www.shop.example.co.uk/about?x=1").as_deref(), Some("example.co.uk"));
        assert_eq!(registrable_domain("Example.com").as_deref(), Some("example.com"));
        assert_eq!(registrable_domain("http://blog.example.com:8080").as_deref(), Some("example.com"));
        assert_eq!(registrable_domain("ada@mail.example.org").as_deref(), Some("example.org"));
        assert_eq!(registrable_domain("www.example.com.").as_deref(), Some("example.com"));
        for none in ["", "localhost", "co.uk", "not a domain", "http://"] {
            assert_eq!(registrable_domain(none), None, "{none}");
        }
    }

    #[test]
    fn linkedin_urls_match_whatever_their_spelling() {
        let a = linkedin_key("https://www.linkedin.com/in/ada-lovelace/?trk=x");
        let b = linkedin_key("linkedin.com/in/Ada-Lovelace");
        assert_eq!(a.as_deref(), Some("linkedin.com/in/ada-lovelace"));
        assert_eq!(a, b);
        assert_eq!(linkedin_key("https://example.com/in/x"), None);
    }
}
