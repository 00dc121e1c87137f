//! Header names as people see and pick them: trimmed, never empty, never twice the same.
//!
//! Exports carry invisible debris in their header line — a byte order mark left in the first
//! name, non-breaking spaces from a spreadsheet, zero-width characters pasted from a web page — and
//! sometimes the same name twice (`Email`, `email`). A name that looks right but does not compare
//! equal would make role detection, mapping overrides and routing rules miss the column.

use std::collections::HashSet;

/// Characters trimmed from both ends of a name besides Unicode whitespace (which includes NBSP):
/// BOM, zero-width space / non-joiner / joiner, word joiner, soft hyphen.
const INVISIBLE: [char; 6] = ['\u{FEFF}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{00AD}'];

/// Trims each header name (whitespace and invisible characters: BOM U+FEFF, zero-width
/// U+200B–U+200D, U+2060, NBSP U+00A0, soft hyphen U+00AD), names empty ones `column_<n>` (1-based
/// position), and makes duplicates unique case-insensitively by suffixing `_2`, `_3`, … (skipping
/// suffixes already taken).
///
/// The first occurrence of a name keeps it. A suffix is "taken" when any name in the file has it,
/// before or after, so `a, a, a_2` becomes `a, a_3, a_2`.
pub fn normalize_headers(raw: &[String]) -> Vec<String> {
    let trimmed: Vec<String> = raw.iter().enumerate().map(|(i, name)| named(trim_name(name), i)).collect();
    let mut taken: HashSet<String> = trimmed.iter().map(|name| name.to_lowercase()).collect();
    let mut kept = HashSet::new();
    trimmed
        .into_iter()
        .map(|name| {
            if kept.insert(name.to_lowercase()) {
                name
            } else {
                let unique = first_free_suffix(&name, &taken);
                taken.insert(unique.to_lowercase());
                unique
            }
        })
        .collect()
}

fn trim_name(name: &str) -> &str {
    name.trim_matches(|c: char| c.is_whitespace() || INVISIBLE.contains(&c))
}

/// The name itself, or `column_<n>` for an empty one at 0-based `index`.
fn named(name: &str, index: usize) -> String {
    if name.is_empty() { format!("column_{}", index + 1) } else { name.to_owned() }
}

/// `name_2`, `name_3`, … : the first whose lower case is not taken.
fn first_free_suffix(name: &str, taken: &HashSet<String>) -> String {
    let mut n = 2;
    loop {
        let candidate = format!("{name}_{n}");
        if !taken.contains(&candidate.to_lowercase()) {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalize(raw: &[&str]) -> Vec<String> {
        normalize_headers(&raw.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn clean_names_are_unchanged() {
        assert_eq!(normalize(&["Email", "First Name", "Company"]), ["Email", "First Name", "Company"]);
        assert_eq!(normalize(&[]), Vec::<String>::new());
    }

    #[test]
    fn whitespace_is_trimmed_but_inner_spaces_stay() {
        assert_eq!(
            normalize(&["  Email ", "\tFirst  Name\r", "\u{00A0}Company\u{00A0}"]),
            ["Email", "First  Name", "Company"]
        );
    }

    #[test]
    fn invisible_characters_are_trimmed() {
        assert_eq!(
            normalize(&[
                "\u{FEFF}Email",
                "\u{200B}Name\u{200C}",
                "\u{200D}Company\u{2060}",
                "\u{00AD}Website \u{FEFF}",
                " \u{200B}\u{00A0}LinkedIn\u{2060} ",
            ]),
            ["Email", "Name", "Company", "Website", "LinkedIn"]
        );
    }

    #[test]
    fn empty_names_are_named_by_position() {
        assert_eq!(
            normalize(&["Email", "", "  ", "\u{FEFF}", "Name"]),
            ["Email", "column_2", "column_3", "column_4", "Name"]
        );
    }

    #[test]
    fn duplicates_get_numbered_suffixes() {
        assert_eq!(normalize(&["Email", "Email", "Email"]), ["Email", "Email_2", "Email_3"]);
    }

    #[test]
    fn duplicates_are_found_case_insensitively_and_after_trimming() {
        assert_eq!(normalize(&["Email", "email", " EMAIL "]), ["Email", "email_2", "EMAIL_3"]);
    }

    #[test]
    fn suffixes_already_taken_are_skipped() {
        assert_eq!(normalize(&["a", "a", "a_2"]), ["a", "a_3", "a_2"]);
        assert_eq!(normalize(&["a", "A_2", "a", "a"]), ["a", "A_2", "a_3", "a_4"]);
        // An empty column's generated name can collide too.
        assert_eq!(normalize(&["column_2", ""]), ["column_2", "column_2_2"]);
    }

    #[test]
    fn case_insensitive_duplicates_with_non_ascii_letters() {
        assert_eq!(normalize(&["Straße", "STRASSE", "straße"]), ["Straße", "STRASSE", "straße_2"]);
        assert_eq!(normalize(&["Émail", "émail"]), ["Émail", "émail_2"]);
    }
}
