//! Which column holds which part of a lead.
//!
//! Kiln guesses from the header names ([`detect_roles`]) so that most files import without
//! questions, and people correct the guess where it is wrong ([`apply_mapping_override`], the form
//! the page and the API both accept).

use serde::{Deserialize, Serialize};

/// A part of a lead that Kiln sends to Clay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Email,
    FirstName,
    LastName,
    FullName,
    Company,
    Domain,
    /// Serialised as its key, `linkedin_url`, like every other role.
    #[serde(rename = "linkedin_url", alias = "linked_in")]
    LinkedIn,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Role::Email, Role::FirstName, Role::LastName, Role::FullName, Role::Company, Role::Domain, Role::LinkedIn];

    /// The stable name in mapping overrides, the API and stored mappings.
    pub fn key(self) -> &'static str {
        match self {
            Role::Email => "email",
            Role::FirstName => "first_name",
            Role::LastName => "last_name",
            Role::FullName => "full_name",
            Role::Company => "company",
            Role::Domain => "domain",
            Role::LinkedIn => "linkedin_url",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Role::Email => "Email",
            Role::FirstName => "First name",
            Role::LastName => "Last name",
            Role::FullName => "Full name",
            Role::Company => "Company",
            Role::Domain => "Website / domain",
            Role::LinkedIn => "LinkedIn URL",
        }
    }

    /// The role for a key, case-insensitively and ignoring surrounding whitespace; `website` and
    /// `linkedin` are accepted too because people type them.
    pub fn from_key(s: &str) -> Option<Role> {
        let key = s.trim().to_ascii_lowercase();
        match key.as_str() {
            "website" => Some(Role::Domain),
            "linkedin" => Some(Role::LinkedIn),
            _ => Role::ALL.into_iter().find(|role| role.key() == key),
        }
    }

    /// Header names of this role, compared as [`comparable`] makes them.
    fn names(self) -> &'static [&'static str] {
        match self {
            Role::Email => &["email", "email1", "emailaddress", "workemail", "businessemail", "contactemail", "mail"],
            Role::FirstName => &["firstname", "first", "givenname", "fname", "forename"],
            Role::LastName => &["lastname", "last", "surname", "familyname", "lname"],
            Role::FullName => &["fullname", "contactname", "personname"],
            Role::Company => &[
                "company",
                "companyname",
                "organization",
                "organisation",
                "organizationname",
                "account",
                "accountname",
                "employer",
            ],
            Role::Domain => &[
                "website",
                "domain",
                "url",
                "companywebsite",
                "companydomain",
                "companyurl",
                "web",
                "homepage",
                "site",
            ],
            Role::LinkedIn => {
                &["linkedin", "linkedinurl", "linkedinprofile", "linkedinprofileurl", "personlinkedinurl"]
            }
        }
    }

    /// Whether a header name (made [`comparable`]) names this role. Only email columns are
    /// numbered in practice (`Email 1`, `Email 2`); `Phone 1` must not become anything.
    fn is_named_by(self, name: &str) -> bool {
        let names = self.names();
        names.contains(&name)
            || (self == Role::Email && names.contains(&name.trim_end_matches(|c: char| c.is_ascii_digit())))
    }
}

/// Column index for each role; `None` when the file has no such column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub email: Option<usize>,
    pub first_name: Option<usize>,
    pub last_name: Option<usize>,
    pub full_name: Option<usize>,
    pub company: Option<usize>,
    pub domain: Option<usize>,
    pub linkedin: Option<usize>,
}

impl Mapping {
    pub fn get(&self, role: Role) -> Option<usize> {
        match role {
            Role::Email => self.email,
            Role::FirstName => self.first_name,
            Role::LastName => self.last_name,
            Role::FullName => self.full_name,
            Role::Company => self.company,
            Role::Domain => self.domain,
            Role::LinkedIn => self.linkedin,
        }
    }

    pub fn set(&mut self, role: Role, column: Option<usize>) {
        let slot = match role {
            Role::Email => &mut self.email,
            Role::FirstName => &mut self.first_name,
            Role::LastName => &mut self.last_name,
            Role::FullName => &mut self.full_name,
            Role::Company => &mut self.company,
            Role::Domain => &mut self.domain,
            Role::LinkedIn => &mut self.linkedin,
        };
        *slot = column;
    }

    /// Whether some role takes this column.
    pub fn is_mapped(&self, column: usize) -> bool {
        Role::ALL.into_iter().any(|role| self.get(role) == Some(column))
    }
}

/// A header name reduced to what identifies it: lower case, letters and digits only, so `E-mail`,
/// `E_Mail` and `e mail` all read `email`.
fn comparable(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Detects roles from header names. Compare names lower-cased with everything but letters and
/// digits removed. The first column that matches wins (so `Email 1` beats `Email 2`).
///
/// - email: email, e-mail, email1, emailaddress, workemail, work_email, businessemail,
///   contactemail, mail — and any of these followed by digits (`Email 2`, `Work Email 3`);
/// - first_name: firstname, first, givenname, fname, forename;
/// - last_name: lastname, last, surname, familyname, lname;
/// - full_name: fullname, contactname, personname;
/// - company: company, companyname, organization, organisation, organizationname, account,
///   accountname, employer;
/// - domain: website, domain, url, companywebsite, companydomain, companyurl, web, homepage, site;
/// - linkedin: linkedin, linkedinurl, linkedinprofile, linkedinprofileurl, personlinkedinurl.
///
/// A bare `name` column is the full name when the file has an email or LinkedIn column and no
/// full-name column (a list of people); otherwise the company when there is no company column (a
/// list of organisations); else it is left unmapped. A column takes at most one role.
pub fn detect_roles(headers: &[String]) -> Mapping {
    let names: Vec<String> = headers.iter().map(|header| comparable(header)).collect();
    let mut mapping = Mapping::default();
    for role in Role::ALL {
        let column = (0..names.len()).find(|&i| !mapping.is_mapped(i) && role.is_named_by(&names[i]));
        mapping.set(role, column);
    }
    if let Some(name) = names.iter().position(|n| n == "name") {
        let lists_people = mapping.email.is_some() || mapping.linkedin.is_some();
        if lists_people && mapping.full_name.is_none() {
            mapping.full_name = Some(name);
        } else if mapping.company.is_none() {
            mapping.company = Some(name);
        }
    }
    mapping
}

/// Why a mapping override was refused; each names the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("unknown role \"{0}\" (roles: email, first_name, last_name, full_name, company, domain, linkedin_url)")]
    UnknownRole(String),
    #[error("no column \"{0}\" in the file (give a header name or a position such as #3)")]
    UnknownColumn(String),
    #[error("\"{0}\" is not role=column")]
    Malformed(String),
}

/// Parses an override such as `email=Work Email,company=Organisation` (pairs separated by `,` or
/// `;`, role keys as `Role::from_key`, column by header name case-insensitively or by 1-based
/// number like `email=#3`), applied on top of `base`. A role with an empty column (`email=`)
/// unmaps it. Errors name the bad part: unknown role, unknown column.
///
/// Names and numbers are trimmed. A header literally named like `#3` is found by name first. A
/// header whose name holds `,`, `;` or `=` can only be given by number. Empty pairs (`a=1,,`) are
/// ignored, so a trailing separator is harmless. A later pair for the same role wins.
pub fn apply_mapping_override(base: &Mapping, headers: &[String], spec: &str) -> Result<Mapping, MappingError> {
    let mut mapping = base.clone();
    for pair in spec.split([',', ';']).filter(|pair| !pair.trim().is_empty()) {
        let (role, column) = pair.split_once('=').ok_or_else(|| MappingError::Malformed(pair.trim().to_owned()))?;
        let role = Role::from_key(role).ok_or_else(|| MappingError::UnknownRole(role.trim().to_owned()))?;
        mapping.set(role, find_column(headers, column.trim())?);
    }
    Ok(mapping)
}

/// The column a mapping override names: `None` for an empty name, else by header name
/// (case-insensitive), else by `#<1-based position>`.
fn find_column(headers: &[String], column: &str) -> Result<Option<usize>, MappingError> {
    if column.is_empty() {
        return Ok(None);
    }
    let lower = column.to_lowercase();
    let by_name = headers.iter().position(|header| header.trim().to_lowercase() == lower);
    let by_number = || {
        let number: usize = column.strip_prefix('#')?.trim().parse().ok()?;
        (1..=headers.len()).contains(&number).then(|| number - 1)
    };
    by_name.or_else(by_number).map(Some).ok_or_else(|| MappingError::UnknownColumn(column.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    fn column(headers: &[String], name: &str) -> Option<usize> {
        headers.iter().position(|h| h == name)
    }

    #[test]
    fn role_keys_labels_and_lookup() {
        let keys: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
        assert_eq!(keys, ["email", "first_name", "last_name", "full_name", "company", "domain", "linkedin_url"]);
        let labels: Vec<&str> = Role::ALL.iter().map(|r| r.label()).collect();
        assert_eq!(
            labels,
            ["Email", "First name", "Last name", "Full name", "Company", "Website / domain", "LinkedIn URL"]
        );
        for role in Role::ALL {
            assert_eq!(Role::from_key(role.key()), Some(role));
            assert_eq!(Role::from_key(&role.key().to_uppercase()), Some(role));
        }
        assert_eq!(Role::from_key(" Website "), Some(Role::Domain));
        assert_eq!(Role::from_key("LinkedIn"), Some(Role::LinkedIn));
        assert_eq!(Role::from_key("phone"), None);
        assert_eq!(Role::from_key(""), None);
    }

    #[test]
    fn roles_serialise_as_their_keys() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.key()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
        }
    }

    #[test]
    fn mapping_get_set_and_is_mapped() {
        let mut mapping = Mapping::default();
        assert!(Role::ALL.iter().all(|&role| mapping.get(role).is_none()));
        for (column, role) in Role::ALL.into_iter().enumerate() {
            mapping.set(role, Some(column * 10));
        }
        for (column, role) in Role::ALL.into_iter().enumerate() {
            assert_eq!(mapping.get(role), Some(column * 10));
            assert!(mapping.is_mapped(column * 10));
        }
        assert_eq!(mapping.linkedin, Some(60));
        assert!(!mapping.is_mapped(5));
        mapping.set(Role::Email, None);
        assert!(!mapping.is_mapped(0));
    }

    #[test]
    fn datablist_leads() {
        let h = headers(
            "Index,Account Id,Lead Owner,First Name,Last Name,Company,Phone 1,Phone 2,Email 1,Email 2,Website,Source,Deal Stage,Notes",
        );
        let expected = Mapping {
            email: column(&h, "Email 1"),
            first_name: column(&h, "First Name"),
            last_name: column(&h, "Last Name"),
            full_name: None,
            company: column(&h, "Company"),
            domain: column(&h, "Website"),
            linkedin: None,
        };
        assert_eq!(detect_roles(&h), expected);
        assert_eq!(expected.email, Some(8));
    }

    #[test]
    fn datablist_customers() {
        let h = headers(
            "Index,Customer Id,First Name,Last Name,Company,City,Country,Phone 1,Phone 2,Email,Subscription Date,Website",
        );
        let expected = Mapping {
            email: column(&h, "Email"),
            first_name: column(&h, "First Name"),
            last_name: column(&h, "Last Name"),
            company: column(&h, "Company"),
            domain: column(&h, "Website"),
            ..Mapping::default()
        };
        assert_eq!(detect_roles(&h), expected);
    }

    #[test]
    fn datablist_organizations_name_is_the_company() {
        let h = headers("Index,Organization Id,Name,Website,Country,Description,Founded,Industry,Number of employees");
        let expected = Mapping { company: column(&h, "Name"), domain: column(&h, "Website"), ..Mapping::default() };
        assert_eq!(detect_roles(&h), expected);
    }

    #[test]
    fn yc_companies_name_is_the_company() {
        let h = headers(
            "id,name,slug,website,one_liner,long_description,batch,status,stage,team_size,industry,subindustry,industries,tags,all_locations,regions,former_names,launched_at,launched_at_iso,top_company,isHiring,nonprofit,small_logo_thumb_url",
        );
        let expected = Mapping { company: Some(1), domain: Some(3), ..Mapping::default() };
        assert_eq!(detect_roles(&h), expected);
    }

    #[test]
    fn legislators_have_names_and_no_email() {
        let h = headers(
            "last_name,first_name,middle_name,suffix,nickname,full_name,birthday,gender,type,state,district,senate_class,party,url,address,phone,contact_form,rss_url,twitter,twitter_id,facebook,youtube,youtube_id,mastodon,bioguide_id,thomas_id,opensecrets_id,lis_id,fec_ids,cspan_id,govtrack_id,votesmart_id,ballotpedia_id,washington_post_id,icpsr_id,wikipedia_id",
        );
        let mapping = detect_roles(&h);
        assert_eq!(mapping.email, None);
        assert_eq!(mapping.first_name, column(&h, "first_name"));
        assert_eq!(mapping.last_name, column(&h, "last_name"));
        assert_eq!(mapping.full_name, column(&h, "full_name"));
        assert_eq!(mapping.company, None);
        assert_eq!(mapping.linkedin, None);
        // Their `url` is the member's website, which is what the domain role means.
        assert_eq!(mapping.domain, column(&h, "url"));
    }

    #[test]
    fn email_spellings() {
        for name in [
            "email",
            "E-mail",
            "E_Mail",
            "Email Address",
            "Work Email",
            "work_email",
            "Business Email",
            "Contact Email",
            "MAIL",
            "email1",
            "Email 3",
        ] {
            assert_eq!(detect_roles(&headers(&format!("id,{name}"))).email, Some(1), "{name}");
        }
        for name in ["Phone 1", "Emailed", "Email Opt Out", "Mail Date", "Subscription Date"] {
            assert_eq!(detect_roles(&headers(&format!("id,{name}"))).email, None, "{name}");
        }
    }

    #[test]
    fn the_first_email_column_wins() {
        assert_eq!(detect_roles(&headers("Email 2,Email 1")).email, Some(0));
        assert_eq!(detect_roles(&headers("Phone 1,Email 1,Email 2")).email, Some(1));
        assert_eq!(detect_roles(&headers("Work Email,Email")).email, Some(0));
    }

    #[test]
    fn other_role_spellings() {
        let cases = [
            (Role::FirstName, ["First Name", "first", "Given Name", "fname", "Forename"].as_slice()),
            (Role::LastName, &["Last Name", "last", "Surname", "Family Name", "lname"]),
            (Role::FullName, &["Full Name", "Contact Name", "Person Name"]),
            (
                Role::Company,
                &[
                    "Company",
                    "Company Name",
                    "Organization",
                    "Organisation",
                    "Organization Name",
                    "Account",
                    "Account Name",
                    "Employer",
                ],
            ),
            (
                Role::Domain,
                &[
                    "Website",
                    "Domain",
                    "URL",
                    "Company Website",
                    "Company Domain",
                    "Company URL",
                    "Web",
                    "Homepage",
                    "Site",
                ],
            ),
            (
                Role::LinkedIn,
                &["LinkedIn", "LinkedIn URL", "LinkedIn Profile", "LinkedIn Profile URL", "Person Linkedin Url"],
            ),
        ];
        for (role, names) in cases {
            for name in names {
                assert_eq!(detect_roles(&headers(&format!("id,{name}"))).get(role), Some(1), "{name}");
            }
        }
        // Only email columns are recognised with a number.
        assert_eq!(detect_roles(&headers("Company 2,Website 1")), Mapping::default());
    }

    #[test]
    fn a_bare_name_is_the_person_when_the_file_lists_people() {
        let mapping = detect_roles(&headers("Name,Email,Company"));
        assert_eq!((mapping.full_name, mapping.company), (Some(0), Some(2)));
        let mapping = detect_roles(&headers("name,linkedin"));
        assert_eq!((mapping.full_name, mapping.company), (Some(0), None));
    }

    #[test]
    fn a_bare_name_is_the_company_otherwise() {
        let mapping = detect_roles(&headers("Name,Website"));
        assert_eq!((mapping.full_name, mapping.company), (None, Some(0)));
        // People, but the full name is already there: the name is the company.
        let mapping = detect_roles(&headers("Full Name,Email,Name"));
        assert_eq!((mapping.full_name, mapping.company), (Some(0), Some(2)));
    }

    #[test]
    fn a_bare_name_is_left_alone_when_both_roles_are_taken() {
        let mapping = detect_roles(&headers("Full Name,Email,Company,Name"));
        assert!(!mapping.is_mapped(3));
        let mapping = detect_roles(&headers("Name,Company"));
        assert!(!mapping.is_mapped(0));
    }

    #[test]
    fn no_headers_no_roles() {
        assert_eq!(detect_roles(&[]), Mapping::default());
        assert_eq!(detect_roles(&headers("foo,bar,")), Mapping::default());
    }

    fn lead_headers() -> Vec<String> {
        headers("Name,Work Email,Personal Email,Organisation,#2")
    }

    #[test]
    fn an_override_maps_by_name_case_insensitively() {
        let h = lead_headers();
        let base = detect_roles(&h);
        assert_eq!(base.email, Some(1));
        let mapping = apply_mapping_override(&base, &h, "email = personal email ; company=ORGANISATION").unwrap();
        assert_eq!(mapping.email, Some(2));
        assert_eq!(mapping.company, Some(3));
        assert_eq!(mapping.full_name, base.full_name, "roles not named keep their column");
    }

    #[test]
    fn an_override_maps_by_position() {
        let h = lead_headers();
        let mapping = apply_mapping_override(&Mapping::default(), &h, "email=#3,first_name=# 1").unwrap();
        assert_eq!(mapping.email, Some(2));
        assert_eq!(mapping.first_name, Some(0));
        // A header literally named "#2" is found by its name first.
        let mapping = apply_mapping_override(&Mapping::default(), &h, "domain=#2").unwrap();
        assert_eq!(mapping.domain, Some(4));
    }

    #[test]
    fn an_override_with_an_empty_column_unmaps_the_role() {
        let h = lead_headers();
        let base = detect_roles(&h);
        let mapping = apply_mapping_override(&base, &h, "email=,website=Organisation,").unwrap();
        assert_eq!(mapping.email, None);
        assert_eq!(mapping.domain, Some(3));
    }

    #[test]
    fn an_empty_override_changes_nothing() {
        let h = lead_headers();
        let base = detect_roles(&h);
        assert_eq!(apply_mapping_override(&base, &h, ""), Ok(base.clone()));
        assert_eq!(apply_mapping_override(&base, &h, " ; , "), Ok(base));
    }

    #[test]
    fn a_later_pair_for_the_same_role_wins() {
        let h = lead_headers();
        let mapping = apply_mapping_override(&Mapping::default(), &h, "email=#2,email=#3").unwrap();
        assert_eq!(mapping.email, Some(2));
    }

    #[test]
    fn override_errors_name_the_bad_part() {
        let h = lead_headers();
        let base = Mapping::default();
        assert_eq!(apply_mapping_override(&base, &h, "phone=#1"), Err(MappingError::UnknownRole("phone".into())));
        assert_eq!(apply_mapping_override(&base, &h, "email=Fax"), Err(MappingError::UnknownColumn("Fax".into())));
        assert_eq!(apply_mapping_override(&base, &h, "email=#0"), Err(MappingError::UnknownColumn("#0".into())));
        assert_eq!(apply_mapping_override(&base, &h, "email=#6"), Err(MappingError::UnknownColumn("#6".into())));
        assert_eq!(apply_mapping_override(&base, &h, "email=#x"), Err(MappingError::UnknownColumn("#x".into())));
        assert_eq!(
            apply_mapping_override(&base, &h, "email=#1, company"),
            Err(MappingError::Malformed("company".into()))
        );
        let message = apply_mapping_override(&base, &h, "fax=#1").unwrap_err().to_string();
        assert!(message.contains("\"fax\"") && message.contains("linkedin_url"), "{message}");
        let message = apply_mapping_override(&base, &h, "email=Fax").unwrap_err().to_string();
        assert!(message.contains("\"Fax\""), "{message}");
    }

    #[test]
    fn mappings_round_trip_through_json() {
        let mapping = Mapping { email: Some(2), linkedin: Some(7), ..Mapping::default() };
        let json = serde_json::to_string(&mapping).unwrap();
        assert!(json.contains("\"email\":2") && json.contains("\"linkedin\":7"), "{json}");
        assert_eq!(serde_json::from_str::<Mapping>(&json).unwrap(), mapping);
    }
}
