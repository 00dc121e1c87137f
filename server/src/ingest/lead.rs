//! From one row (header names and cell values) to a lead for Clay, or the reason it is refused.
//! Pure: the pipeline calls it for every row.

use super::normalize::{LeadEmail, clean_text, linkedin_key, registrable_domain};
use app::ingest::{Mapping, Role, Route, Router};
use serde::Serialize;
use std::borrow::Cow;

/// Clay answers 413 to payloads over 100 KB (`clay-facts.md` #4); Kiln refuses them up front.
pub const MAX_PAYLOAD_BYTES: usize = 100 * 1024;

/// What delivery adds to each payload (`"kiln_id":"<up to 19 digits>",`, in
/// `store::delivery::Claimed::body`): a payload is refused if it would pass Clay's limit then.
pub const KILN_ID_BYTES: usize = 32;

/// Why a row is not a lead. The text is the key of `rejected_by_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    WrongFieldCount,
    RowTooLong,
    InvalidEmail,
    NothingToEnrich,
    PayloadTooLarge,
    InvalidJson,
    NotAnObject,
    TooManyKeys,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::WrongFieldCount => "wrong number of fields",
            RejectReason::RowTooLong => "row over 100 KB",
            RejectReason::InvalidEmail => "invalid email",
            RejectReason::NothingToEnrich => "no email, LinkedIn URL, domain or company",
            RejectReason::PayloadTooLarge => "payload over 100 KB",
            RejectReason::InvalidJson => "invalid JSON",
            RejectReason::NotAnObject => "not a JSON object",
            RejectReason::TooManyKeys => "over 1,000 distinct keys in the file",
        }
    }
}

/// A row that passed: where it goes, how it is recognised again, what Clay receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub route: Route,
    pub dedupe_key: DedupeKey,
    pub payload: String,
}

/// Turns rows into leads for one import: the file's columns, their roles and the routing.
pub struct LeadBuilder {
    headers: Vec<String>,
    mapping: Mapping,
    routing: Routing,
    /// The columns sent under their own header: no role takes them, and their name is not one
    /// Kiln sets itself. Known once per file, not looked up per row.
    passed_through: Vec<usize>,
    json: Vec<u8>,
}

/// Every row to one table, or through the workspace's rules.
pub enum Routing {
    Table(i64),
    Rules(Router),
}

/// Values by role after cleaning (borrowed from the row when already clean); empty means absent.
struct Person<'a> {
    email: Option<LeadEmail>,
    first_name: Cow<'a, str>,
    last_name: Cow<'a, str>,
    full_name: Cow<'a, str>,
    company: Cow<'a, str>,
    domain: Option<String>,
    linkedin: Cow<'a, str>,
}

impl LeadBuilder {
    pub fn new(headers: Vec<String>, mapping: Mapping, routing: Routing) -> Self {
        let passed_through = passed_through(&headers, &mapping);
        LeadBuilder { headers, mapping, routing, passed_through, json: Vec::with_capacity(1024) }
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// A column that turned up after the first row (JSON objects with new keys): it takes a role
    /// no column has yet, if its name says so, and is passed through otherwise.
    pub fn add_column(&mut self, name: String) {
        self.headers.push(name);
        let detected = app::ingest::detect_roles(&self.headers);
        for role in Role::ALL {
            if self.mapping.get(role).is_none() && detected.get(role) == Some(self.headers.len() - 1) {
                self.mapping.set(role, Some(self.headers.len() - 1));
            }
        }
        self.passed_through = passed_through(&self.headers, &self.mapping);
    }

    /// The routing compiled again for columns added since ([`LeadBuilder::add_column`]).
    pub fn set_routing(&mut self, routing: Routing) {
        self.routing = routing;
    }

    fn cell<'a>(&self, fields: &[&'a str], role: Role) -> &'a str {
        self.mapping.get(role).and_then(|i| fields.get(i)).copied().unwrap_or("")
    }

    /// Builds the lead of a row whose cells are `fields`, in header order.
    pub fn build(&mut self, fields: &[&str]) -> Result<Lead, RejectReason> {
        let person = self.person(fields)?;
        let dedupe_key = dedupe_key(&person).ok_or(RejectReason::NothingToEnrich)?;
        let route = match &self.routing {
            Routing::Table(id) => Route::Table(*id),
            Routing::Rules(router) => router.route(fields).0,
        };
        let payload = self.payload(&person, fields);
        if payload.len() + KILN_ID_BYTES > MAX_PAYLOAD_BYTES {
            return Err(RejectReason::PayloadTooLarge);
        }
        Ok(Lead { route, dedupe_key, payload })
    }

    fn person<'a>(&self, fields: &[&'a str]) -> Result<Person<'a>, RejectReason> {
        let email = LeadEmail::parse(self.cell(fields, Role::Email)).map_err(|_| RejectReason::InvalidEmail)?;
        let first_name = clean_text(self.cell(fields, Role::FirstName));
        let last_name = clean_text(self.cell(fields, Role::LastName));
        let mut full_name = clean_text(self.cell(fields, Role::FullName));
        if full_name.is_empty() {
            full_name = match (first_name.is_empty(), last_name.is_empty()) {
                (false, false) => Cow::Owned(format!("{first_name} {last_name}")),
                (false, true) => first_name.clone(),
                (true, false) => last_name.clone(),
                (true, true) => Cow::Borrowed(""),
            };
        }
        let company = clean_text(self.cell(fields, Role::Company));
        let domain = registrable_domain(self.cell(fields, Role::Domain))
            .or_else(|| email.as_ref().and_then(|e| registrable_domain(e.domain())).filter(|d| !is_webmail(d)));
        let linkedin = clean_text(self.cell(fields, Role::LinkedIn));
        Ok(Person { email, first_name, last_name, full_name, company, domain, linkedin })
    }

    /// The JSON object for Clay: the roles under fixed names, then every other non-empty column
    /// under its header.
    fn payload(&mut self, person: &Person, fields: &[&str]) -> String {
        self.json.clear();
        self.json.push(b'{');
        let mut first = true;
        let mut put = |json: &mut Vec<u8>, key: &str, value: &str| {
            if value.is_empty() {
                return;
            }
            if !first {
                json.push(b',');
            }
            first = false;
            write_json_string(json, key);
            json.push(b':');
            write_json_string(json, value);
        };
        put(&mut self.json, "email", person.email.as_ref().map_or("", LeadEmail::as_str));
        put(&mut self.json, "first_name", &person.first_name);
        put(&mut self.json, "last_name", &person.last_name);
        put(&mut self.json, "full_name", &person.full_name);
        put(&mut self.json, "company", &person.company);
        put(&mut self.json, "domain", person.domain.as_deref().unwrap_or(""));
        put(&mut self.json, "linkedin_url", &person.linkedin);
        for &index in &self.passed_through {
            if let Some(value) = fields.get(index) {
                put(&mut self.json, &self.headers[index], value.trim());
            }
        }
        self.json.push(b'}');
        // Only `&str` went in, so this is valid UTF-8; the check is a fast scan.
        std::str::from_utf8(&self.json).map(str::to_owned).unwrap_or_default()
    }
}

/// Keys Kiln sets itself; a pass-through column of that name would collide.
const RESERVED: [&str; 8] =
    ["email", "first_name", "last_name", "full_name", "company", "domain", "linkedin_url", "kiln_id"];

/// The columns of `headers` that go to Clay under their own name.
fn passed_through(headers: &[String], mapping: &Mapping) -> Vec<usize> {
    (0..headers.len()).filter(|&i| !mapping.is_mapped(i) && !RESERVED.contains(&headers[i].as_str())).collect()
}

/// Free email providers: their domain says nothing about the lead's company.
fn is_webmail(domain: &str) -> bool {
    const WEBMAIL: [&str; 12] = [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
    ];
    WEBMAIL.contains(&domain)
}

/// How the workspace recognises this lead again: the email (`e:…`); else the LinkedIn URL
/// (`l:…`); else the domain with the name (`d:…|…`); else the company with the name (`c:…|…`).
/// The key is hashed in parts, never written out whole.
fn dedupe_key(person: &Person) -> Option<DedupeKey> {
    if let Some(email) = &person.email {
        return Some(DedupeKey::of_parts(&["e:", email.as_str()]));
    }
    // Normalised only here: most leads have an email.
    if let Some(linkedin) = linkedin_key(&person.linkedin) {
        return Some(DedupeKey::of_parts(&["l:", &linkedin]));
    }
    let name = person.full_name.to_lowercase();
    if let Some(domain) = &person.domain {
        return Some(DedupeKey::of_parts(&["d:", domain, "|", &name]));
    }
    if !person.company.is_empty() {
        return Some(DedupeKey::of_parts(&["c:", &person.company.to_lowercase(), "|", &name]));
    }
    None
}

/// What the ledger keeps of a dedupe key: a hash, so that a lead whose personal fields were
/// purged is still recognised when it comes again. 128 bits of SHA-256, stored as two integers
/// (`leads.key_hi`, `leads.key_lo`): half the bytes of the same bits in hex, in every row and in
/// the unique index each new lead is checked against, and bound to a statement without a string.
/// Ordered as the database orders the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey {
    pub hi: i64,
    pub lo: i64,
}

impl DedupeKey {
    /// The key of `key` written out (`e:ada@example.com`).
    pub fn of(key: &str) -> DedupeKey {
        DedupeKey::of_parts(&[key])
    }

    /// The key of the parts' concatenation.
    fn of_parts(parts: &[&str]) -> DedupeKey {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        let hash = hasher.finalize();
        let half = |at: usize| {
            let mut bytes = [0; 8];
            bytes.copy_from_slice(&hash[at..at + 8]);
            i64::from_be_bytes(bytes)
        };
        DedupeKey { hi: half(0), lo: half(8) }
    }
}

fn write_json_string(out: &mut Vec<u8>, value: &str) {
    // Most cells hold nothing JSON escapes (a quote, a backslash, a control character): they go
    // in as they are. The others take serde_json's own escaping, without a String per value.
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return;
    }
    let mut serializer = serde_json::Serializer::new(out);
    let _ = value.serialize(&mut serializer);
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::ingest::{Condition, Fallback, Rule, detect_roles};

    fn builder(headers: &[&str]) -> LeadBuilder {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let mapping = detect_roles(&headers);
        LeadBuilder::new(headers, mapping, Routing::Table(7))
    }

    #[test]
    fn a_person_row_becomes_a_lead_with_the_roles_and_the_rest() {
        let mut b = builder(&["First Name", "Last Name", "Company", "Email 1", "Website", "Notes", "email"]);
        let lead = b
            .build(&[
                "Ada",
                " Lovelace ",
                "Analytical Engines",
                "ADA@Engines.co.uk",
                "https://www.engines.co.uk",
                "met at a fair",
                "x",
            ])
            .unwrap();
        assert_eq!(lead.route, Route::Table(7));
        assert_eq!(lead.dedupe_key, DedupeKey::of("e:ada@engines.co.uk"));
        // The ledger holds keys made so: the first 16 bytes of SHA-256 (60cf9484…e6dab7 in hex,
        // as earlier versions stored it and migration 0017 reads it), as two signed integers.
        assert_eq!(
            DedupeKey::of("e:ada@example.com"),
            DedupeKey { hi: 0x60cf_9484_38e5_15fc, lo: 0x63ec_ee8f_a1e6_dab7 }
        );
        assert_eq!(
            DedupeKey::of("e:bob@example.com").hi,
            0xb090_1e31_1413_2bcd_u64 as i64,
            "a hash whose first bit is set is a negative half"
        );
        let payload: serde_json::Value = serde_json::from_str(&lead.payload).unwrap();
        assert_eq!(payload["email"], "ada@engines.co.uk");
        assert_eq!(payload["full_name"], "Ada Lovelace");
        assert_eq!(payload["domain"], "engines.co.uk");
        assert_eq!(payload["Notes"], "met at a fair");
        assert!(payload.get("Website").is_none(), "mapped columns are not repeated");
    }

    #[test]
    fn without_an_email_the_domain_and_name_identify_the_lead() {
        let mut b = builder(&["first_name", "last_name", "website"]);
        let lead = b.build(&["Grace", "Hopper", "navy.mil"]).unwrap();
        assert_eq!(lead.dedupe_key, DedupeKey::of("d:navy.mil|grace hopper"));
        let company = builder(&["name", "website"]).build(&["Stripe", "https://stripe.com"]).unwrap();
        assert_eq!(company.dedupe_key, DedupeKey::of("d:stripe.com|"));
        let linkedin = builder(&["name", "LinkedIn URL"]).build(&["Ada", "https://www.linkedin.com/in/Ada/"]).unwrap();
        assert_eq!(linkedin.dedupe_key, DedupeKey::of("l:linkedin.com/in/ada"));
        let by_company = builder(&["full_name", "company"]).build(&["Ada Lovelace", "Analytical Engines"]).unwrap();
        assert_eq!(by_company.dedupe_key, DedupeKey::of("c:analytical engines|ada lovelace"));
    }

    #[test]
    fn webmail_domains_are_not_company_domains() {
        let lead = builder(&["email"]).build(&["someone@gmail.com"]).unwrap();
        let payload: serde_json::Value = serde_json::from_str(&lead.payload).unwrap();
        assert!(payload.get("domain").is_none());
    }

    #[test]
    fn bad_rows_are_refused_with_a_reason() {
        let mut b = builder(&["email", "notes"]);
        assert_eq!(b.build(&["not-an-email", ""]), Err(RejectReason::InvalidEmail));
        assert_eq!(b.build(&["", "nothing else"]), Err(RejectReason::NothingToEnrich));
        let huge = "x".repeat(MAX_PAYLOAD_BYTES);
        assert_eq!(b.build(&["a@example.com", &huge]), Err(RejectReason::PayloadTooLarge));
        // Delivery adds the kiln_id: the largest lead still fits in Clay's limit with it.
        let around = b.build(&["a@example.com", "x"]).unwrap().payload.len() - 1;
        let largest = "x".repeat(MAX_PAYLOAD_BYTES - KILN_ID_BYTES - around);
        let lead = b.build(&["a@example.com", &largest]).unwrap();
        assert_eq!(lead.payload.len() + KILN_ID_BYTES, MAX_PAYLOAD_BYTES);
        let one_more = format!("{largest}x");
        assert_eq!(b.build(&["a@example.com", &one_more]), Err(RejectReason::PayloadTooLarge));
        let id = i64::MAX.to_string();
        assert_eq!(format!("\"kiln_id\":\"{id}\",").len(), KILN_ID_BYTES, "the longest id fits the room");
    }

    #[test]
    fn json_strings_are_written_as_serde_json_writes_them() {
        for value in ["", "plain", "é ☃ \u{7f}", "say \"hi\"", "back\\slash", "tab\there", "nul\0", "\u{1f}"] {
            let mut out = Vec::new();
            write_json_string(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(value).unwrap(), "{value:?}");
        }
    }

    #[test]
    fn values_are_escaped_in_the_payload() {
        let lead = builder(&["email", "note"]).build(&["a@example.com", "say \"hi\"\n\\ é"]).unwrap();
        let payload: serde_json::Value = serde_json::from_str(&lead.payload).unwrap();
        assert_eq!(payload["note"], "say \"hi\"\n\\ é");
    }

    #[test]
    fn rules_route_rows_and_unmatched_rows_fall_back() {
        let headers: Vec<String> = ["email", "country"].iter().map(|h| h.to_string()).collect();
        let rules = vec![Rule {
            column: "Country".into(),
            condition: Condition::OneOf(vec!["FR".into(), "DE".into()]),
            table_id: 2,
        }];
        let router = Router::new(&rules, Fallback::Hold, &headers).unwrap();
        let mut b = LeadBuilder::new(headers.clone(), detect_roles(&headers), Routing::Rules(router));
        assert_eq!(b.build(&["a@example.com", "fr"]).unwrap().route, Route::Table(2));
        assert_eq!(b.build(&["b@example.com", "US"]).unwrap().route, Route::Hold);
    }
}
