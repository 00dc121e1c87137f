//! Routing rules: which Clay table a row goes to.
//!
//! A rule looks at one column of a row (`Country equals Germany`, `Title matches ^vp\b`) and names
//! a table; the first rule that matches decides, and a row no rule takes goes to the fallback — a
//! table, or held back for someone to look at. Rules are saved without a file ([`validate`]) and
//! compiled once per file against its headers ([`Router::new`]), so routing a row is a handful of
//! comparisons with no allocation for ASCII text.

use serde::{Deserialize, Serialize};

/// What a rule asks of its column's cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum Condition {
    /// The whole cell is this value.
    Equals(String),
    /// The whole cell is one of these values.
    OneOf(Vec<String>),
    /// The cell contains this text.
    Contains(String),
    /// The regular expression (regex-lite syntax) matches somewhere in the cell.
    Matches(String),
    /// The cell is empty or only whitespace, or the row or the file has no such column.
    IsEmpty,
}

/// Rows whose `column` meets `condition` go to the Clay table `table_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub column: String,
    pub condition: Condition,
    pub table_id: i64,
}

/// Where a row that no rule takes goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "table_id")]
pub enum Fallback {
    Table(i64),
    /// Held back in Kiln, not sent.
    Hold,
}

/// Where one row goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    Table(i64),
    Hold,
}

impl From<Fallback> for Route {
    fn from(fallback: Fallback) -> Route {
        match fallback {
            Fallback::Table(table_id) => Route::Table(table_id),
            Fallback::Hold => Route::Hold,
        }
    }
}

/// A rule that cannot work, by its 1-based position in the list people edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule {position}: {message}")]
    Invalid { position: usize, message: String },
}

/// A condition ready to test cells: values trimmed and lower-cased, the regex compiled.
#[derive(Debug)]
enum Test {
    Equals(String),
    OneOf(Vec<String>),
    Contains(String),
    Matches(regex_lite::Regex),
    IsEmpty,
}

impl Test {
    /// Compiles a condition; the error message says what is wrong, without the rule's position.
    fn compile(condition: &Condition) -> Result<Test, String> {
        Ok(match condition {
            Condition::Equals(value) => Test::Equals(required_value(value, "equals")?),
            Condition::Contains(value) => Test::Contains(required_value(value, "contains")?),
            Condition::OneOf(values) => {
                let values: Vec<String> =
                    values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()).map(lowercase).collect();
                if values.is_empty() {
                    return Err("\"one of\" needs at least one value".to_owned());
                }
                Test::OneOf(values)
            }
            Condition::Matches(pattern) => {
                if pattern.trim().is_empty() {
                    return Err("\"matches\" needs a pattern".to_owned());
                }
                let regex = regex_lite::RegexBuilder::new(pattern)
                    .case_insensitive(true)
                    .build()
                    .map_err(|error| format!("bad pattern \"{pattern}\": {error}"))?;
                Test::Matches(regex)
            }
            Condition::IsEmpty => Test::IsEmpty,
        })
    }

    /// Whether a cell (already trimmed) passes.
    fn passes(&self, cell: &str) -> bool {
        match self {
            Test::Equals(value) => equals_ignoring_case(cell, value),
            Test::OneOf(values) => values.iter().any(|value| equals_ignoring_case(cell, value)),
            Test::Contains(value) => contains_ignoring_case(cell, value),
            Test::Matches(regex) => regex.is_match(cell),
            Test::IsEmpty => cell.is_empty(),
        }
    }
}

/// The trimmed, lower-cased value a condition compares with, or an error when there is none.
fn required_value(value: &str, op: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() { Err(format!("\"{op}\" needs a value")) } else { Ok(lowercase(value)) }
}

/// Lower case character by character, the same way for rule values and cells (`str::to_lowercase`
/// treats a final sigma specially, which would make equal words compare unequal).
fn lowercase(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// `cell` equals `lower` (already lower case), ignoring the cell's case.
fn equals_ignoring_case(cell: &str, lower: &str) -> bool {
    if cell.is_ascii() {
        cell.eq_ignore_ascii_case(lower)
    } else {
        cell.chars().flat_map(char::to_lowercase).eq(lower.chars())
    }
}

/// `cell` contains `lower` (already lower case), ignoring the cell's case. Cells are short, so a
/// window scan beats building a searcher; only non-ASCII cells are lower-cased into a new string.
fn contains_ignoring_case(cell: &str, lower: &str) -> bool {
    if cell.is_ascii() && lower.is_ascii() {
        let needle = lower.as_bytes();
        needle.is_empty() || cell.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
    } else {
        lowercase(cell).contains(lower)
    }
}

/// One rule compiled against a file.
#[derive(Debug)]
struct CompiledRule {
    /// `None` when the file has no such column.
    column: Option<usize>,
    test: Test,
    table_id: i64,
}

impl CompiledRule {
    fn matches(&self, fields: &[&str]) -> bool {
        match self.column {
            // A row shorter than the header has nothing in its last columns.
            Some(column) => self.test.passes(fields.get(column).map_or("", |cell| cell.trim())),
            None => matches!(self.test, Test::IsEmpty),
        }
    }
}

/// Rules compiled against one file's headers: columns resolved (case-insensitive, trimmed) once,
/// regexes compiled once (regex-lite, case-insensitive), values lower-cased once.
///
/// Case-insensitivity is full Unicode for `Equals`, `OneOf` and `Contains`, and ASCII-only for
/// `Matches` (regex-lite has no Unicode case tables; `É` does not match `é` there).
#[derive(Debug)]
pub struct Router {
    rules: Vec<CompiledRule>,
    fallback: Route,
}

impl Router {
    /// A rule naming a column the file lacks never matches (except IsEmpty, which matches); a bad
    /// regex is an error naming the rule's 1-based position. Rules that [`validate`] refuses are
    /// refused here too, with the same message.
    pub fn new(rules: &[Rule], fallback: Fallback, headers: &[String]) -> Result<Router, RuleError> {
        let headers: Vec<String> = headers.iter().map(|header| lowercase(header.trim())).collect();
        let rules = rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let test = compile_rule(index, rule)?;
                let name = lowercase(rule.column.trim());
                let column = headers.iter().position(|header| *header == name);
                Ok(CompiledRule { column, test, table_id: rule.table_id })
            })
            .collect::<Result<_, RuleError>>()?;
        Ok(Router { rules, fallback: fallback.into() })
    }

    /// The first matching rule's table, else the fallback. All comparisons are case-insensitive
    /// and ignore surrounding whitespace of the cell. `Equals`/`OneOf` compare whole values,
    /// `Contains` substrings, `Matches` searches the regex anywhere (anchors allowed), `IsEmpty` is
    /// true for empty/whitespace-only cells. Returns the index of the rule that matched too (None
    /// for the fallback) so a preview can count rows per rule.
    ///
    /// The index is 0-based, into the rules given to [`Router::new`].
    pub fn route(&self, fields: &[&str]) -> (Route, Option<usize>) {
        match self.rules.iter().position(|rule| rule.matches(fields)) {
            Some(index) => (Route::Table(self.rules[index].table_id), Some(index)),
            None => (self.fallback, None),
        }
    }
}

/// The data credits a row is expected to use when a sample of the file is routed: each row its
/// table's credits per lead, a held row none. `None` for an empty sample.
pub fn credits_per_row(router: &Router, sample: &[Vec<String>], credits_per_lead: impl Fn(i64) -> f64) -> Option<f64> {
    if sample.is_empty() {
        return None;
    }
    let total: f64 = sample
        .iter()
        .map(|row| {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            match router.route(&cells).0 {
                Route::Table(id) => credits_per_lead(id),
                Route::Hold => 0.0,
            }
        })
        .sum();
    Some(total / sample.len() as f64)
}

/// Checks one rule; errors carry its 1-based position.
fn compile_rule(index: usize, rule: &Rule) -> Result<Test, RuleError> {
    let invalid = |message: String| RuleError::Invalid { position: index + 1, message };
    if rule.column.trim().is_empty() {
        return Err(invalid("no column named".to_owned()));
    }
    Test::compile(&rule.condition).map_err(invalid)
}

/// Validates rules without a file (used when saving): regexes compile, values non-empty where
/// needed (Equals/Contains/Matches need a value, OneOf at least one), column names non-empty.
///
/// Values are judged after trimming; blank entries of a `OneOf` are ignored.
pub fn validate(rules: &[Rule]) -> Result<(), RuleError> {
    rules.iter().enumerate().try_for_each(|(index, rule)| compile_rule(index, rule).map(drop))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(column: &str, condition: Condition, table_id: i64) -> Rule {
        Rule { column: column.to_owned(), condition, table_id }
    }

    fn headers() -> Vec<String> {
        ["Email", " Country ", "Title", "Notes"].map(str::to_owned).to_vec()
    }

    fn router(rules: &[Rule]) -> Router {
        Router::new(rules, Fallback::Hold, &headers()).unwrap()
    }

    #[test]
    fn a_sample_s_expected_credits_follow_its_routes() {
        let row = |country: &str| vec!["a@x".to_owned(), country.to_owned(), String::new(), String::new()];
        let router = router(&[rule("Country", Condition::OneOf(vec!["FR".into(), "DE".into()]), 7)]);
        let credits = |table| if table == 7 { 4.0 } else { 100.0 };
        let sample = [row("FR"), row("US"), row("de"), row("US")];
        assert_eq!(credits_per_row(&router, &sample, credits), Some(2.0), "two of four at 4, two held");
        let to_table = Router::new(&[], Fallback::Table(9), &headers()).unwrap();
        assert_eq!(credits_per_row(&to_table, &sample, credits), Some(100.0));
        assert_eq!(credits_per_row(&router, &[], credits), None);
    }

    /// Routes a row with `cell` in column `Country` (index 1) through a single rule.
    fn country_passes(condition: Condition, cell: &str) -> bool {
        router(&[rule("Country", condition, 7)]).route(&["a@x", cell, "", ""]) == (Route::Table(7), Some(0))
    }

    #[test]
    fn equals_compares_the_whole_value_ignoring_case_and_spaces() {
        let equals = || Condition::Equals(" Germany ".to_owned());
        assert!(country_passes(equals(), "Germany"));
        assert!(country_passes(equals(), "  GERMANY\t"));
        assert!(country_passes(equals(), "germany"));
        assert!(!country_passes(equals(), "East Germany"));
        assert!(!country_passes(equals(), ""));
    }

    #[test]
    fn equals_ignores_case_beyond_ascii() {
        assert!(country_passes(Condition::Equals("Österreich".to_owned()), "ÖSTERREICH"));
        assert!(country_passes(Condition::Equals("ΟΔΟΣ".to_owned()), "οδοσ"));
        assert!(!country_passes(Condition::Equals("Österreich".to_owned()), "Osterreich"));
    }

    #[test]
    fn one_of_compares_whole_values() {
        let one_of = || Condition::OneOf(vec!["DE".to_owned(), " at ".to_owned(), "".to_owned(), "CH".to_owned()]);
        for cell in ["de", "AT", " ch "] {
            assert!(country_passes(one_of(), cell), "{cell}");
        }
        for cell in ["", "DEU", "FR"] {
            assert!(!country_passes(one_of(), cell), "{cell}");
        }
    }

    #[test]
    fn contains_finds_substrings_ignoring_case() {
        let contains = || Condition::Contains("King".to_owned());
        assert!(country_passes(contains(), "United Kingdom"));
        assert!(country_passes(contains(), "UNITED KINGDOM"));
        assert!(country_passes(contains(), "king"));
        assert!(!country_passes(contains(), "Kin"));
        assert!(country_passes(Condition::Contains("ÜR".to_owned()), "Zürich"));
        assert!(country_passes(Condition::Contains("zur".to_owned()), "ZUR Zürich"));
    }

    #[test]
    fn matches_searches_anywhere_and_allows_anchors() {
        let matches = |pattern: &str| Condition::Matches(pattern.to_owned());
        assert!(country_passes(matches("many"), "Germany"));
        assert!(country_passes(matches("^ger"), "  GERMANY "), "the cell is trimmed before matching");
        assert!(!country_passes(matches("^many"), "Germany"));
        assert!(country_passes(matches("(?:de|at)$"), "at"));
        assert!(country_passes(matches(r"^\s*$"), "   "));
        assert!(!country_passes(matches("^x$"), "  x y"));
    }

    #[test]
    fn is_empty_is_true_for_empty_and_whitespace_cells() {
        assert!(country_passes(Condition::IsEmpty, ""));
        assert!(country_passes(Condition::IsEmpty, " \t "));
        assert!(!country_passes(Condition::IsEmpty, " x "));
    }

    #[test]
    fn columns_are_found_ignoring_case_and_spaces() {
        let router = router(&[rule("  COUNTRY", Condition::Equals("de".to_owned()), 3)]);
        assert_eq!(router.route(&["", "DE", "", ""]), (Route::Table(3), Some(0)));
    }

    #[test]
    fn a_missing_column_never_matches_except_is_empty() {
        let rules = [
            rule("Region", Condition::Equals("emea".to_owned()), 1),
            rule("Region", Condition::Matches(".*".to_owned()), 2),
            rule("Region", Condition::IsEmpty, 3),
        ];
        assert_eq!(router(&rules).route(&["a@x", "emea", "", ""]), (Route::Table(3), Some(2)));
    }

    #[test]
    fn a_short_row_reads_as_empty_in_its_missing_columns() {
        let rules = [rule("Notes", Condition::Contains("x".to_owned()), 1), rule("Notes", Condition::IsEmpty, 2)];
        assert_eq!(router(&rules).route(&["a@x"]), (Route::Table(2), Some(1)));
        assert_eq!(router(&rules).route(&[]), (Route::Table(2), Some(1)));
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = [
            rule("Title", Condition::Contains("ceo".to_owned()), 10),
            rule("Country", Condition::Equals("de".to_owned()), 20),
            rule("Title", Condition::Contains("c".to_owned()), 30),
        ];
        let router = router(&rules);
        assert_eq!(router.route(&["", "DE", "CEO", ""]), (Route::Table(10), Some(0)));
        assert_eq!(router.route(&["", "DE", "CTO", ""]), (Route::Table(20), Some(1)));
        assert_eq!(router.route(&["", "FR", "CTO", ""]), (Route::Table(30), Some(2)));
    }

    #[test]
    fn unmatched_rows_go_to_the_fallback() {
        let rules = [rule("Country", Condition::Equals("de".to_owned()), 1)];
        let hold = Router::new(&rules, Fallback::Hold, &headers()).unwrap();
        assert_eq!(hold.route(&["", "FR", "", ""]), (Route::Hold, None));
        let table = Router::new(&rules, Fallback::Table(99), &headers()).unwrap();
        assert_eq!(table.route(&["", "FR", "", ""]), (Route::Table(99), None));
        let no_rules = Router::new(&[], Fallback::Table(5), &[]).unwrap();
        assert_eq!(no_rules.route(&["anything"]), (Route::Table(5), None));
    }

    #[test]
    fn a_bad_regex_names_the_rule_position() {
        let rules = [
            rule("Title", Condition::Equals("x".to_owned()), 1),
            rule("Title", Condition::Matches("(vp".to_owned()), 2),
        ];
        let error = Router::new(&rules, Fallback::Hold, &headers()).unwrap_err();
        let RuleError::Invalid { position, ref message } = error;
        assert_eq!(position, 2);
        assert!(message.contains("(vp"), "{message}");
        assert!(error.to_string().starts_with("rule 2: "), "{error}");
        assert_eq!(validate(&rules), Err(error));
    }

    #[test]
    fn validate_requires_values_and_columns() {
        let invalid =
            |condition: Condition| validate(&[rule("Title", Condition::IsEmpty, 1), rule("Title", condition, 2)]);
        for condition in [
            Condition::Equals("".to_owned()),
            Condition::Equals("  ".to_owned()),
            Condition::Contains("".to_owned()),
            Condition::Matches(" ".to_owned()),
            Condition::OneOf(vec![]),
            Condition::OneOf(vec![" ".to_owned(), "".to_owned()]),
        ] {
            assert!(matches!(invalid(condition.clone()), Err(RuleError::Invalid { position: 2, .. })), "{condition:?}");
        }
        let error = validate(&[rule(" ", Condition::IsEmpty, 1)]).unwrap_err();
        assert_eq!(error, RuleError::Invalid { position: 1, message: "no column named".to_owned() });
        assert!(Router::new(&[rule("", Condition::IsEmpty, 1)], Fallback::Hold, &headers()).is_err());
    }

    #[test]
    fn validate_accepts_good_rules() {
        let rules = [
            rule("Country", Condition::Equals("DE".to_owned()), 1),
            rule("Country", Condition::OneOf(vec!["AT".to_owned(), "".to_owned()]), 2),
            rule("Title", Condition::Contains("vp".to_owned()), 3),
            rule("Title", Condition::Matches(r"^(vp|head)\b".to_owned()), 4),
            rule("Notes", Condition::IsEmpty, 5),
        ];
        assert_eq!(validate(&rules), Ok(()));
        assert_eq!(validate(&[]), Ok(()));
    }

    #[test]
    fn rules_and_fallbacks_serialise_with_tagged_json() {
        let rules = vec![
            rule("Country", Condition::Equals("DE".to_owned()), 1),
            rule("Country", Condition::OneOf(vec!["AT".to_owned(), "CH".to_owned()]), 2),
            rule("Notes", Condition::IsEmpty, 3),
        ];
        let json = serde_json::to_value(&rules).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"column": "Country", "condition": {"op": "equals", "value": "DE"}, "table_id": 1},
                {"column": "Country", "condition": {"op": "one_of", "value": ["AT", "CH"]}, "table_id": 2},
                {"column": "Notes", "condition": {"op": "is_empty"}, "table_id": 3},
            ])
        );
        assert_eq!(serde_json::from_value::<Vec<Rule>>(json).unwrap(), rules);
        let condition: Condition = serde_json::from_str(r#"{"op":"matches","value":"^vp"}"#).unwrap();
        assert_eq!(condition, Condition::Matches("^vp".to_owned()));
        let contains: Condition = serde_json::from_str(r#"{"op":"contains","value":"x"}"#).unwrap();
        assert_eq!(contains, Condition::Contains("x".to_owned()));

        assert_eq!(
            serde_json::to_value(Fallback::Table(42)).unwrap(),
            serde_json::json!({"kind": "table", "table_id": 42})
        );
        assert_eq!(serde_json::to_value(Fallback::Hold).unwrap(), serde_json::json!({"kind": "hold"}));
        assert_eq!(serde_json::from_str::<Fallback>(r#"{"kind":"table","table_id":7}"#).unwrap(), Fallback::Table(7));
        assert_eq!(serde_json::from_str::<Fallback>(r#"{"kind":"hold"}"#).unwrap(), Fallback::Hold);
    }
}
