//! What a file is before it can be parsed: its text encoding (from the raw bytes) and its field
//! delimiter (from the decoded text). Both look only at the head of the file, so a preview in the
//! browser and the server's streaming import decide the same way from the same first kilobytes.

/// The text encodings Kiln reads. Anything else is read as one of these, which is what the usual
/// exports (Excel, CRMs, Google Sheets, databases) produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl Encoding {
    /// Length of the byte order mark the caller skips before decoding and parsing.
    pub fn bom_len(self) -> usize {
        match self {
            Encoding::Utf8Bom => UTF8_BOM.len(),
            Encoding::Utf16Le | Encoding::Utf16Be => 2,
            Encoding::Utf8 | Encoding::Windows1252 => 0,
        }
    }

    /// The name shown to people, e.g. in an import's summary.
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Windows1252 => "Windows-1252",
        }
    }
}

const UTF8_BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];
const UTF16_LE_BOM: [u8; 2] = [0xFF, 0xFE];
const UTF16_BE_BOM: [u8; 2] = [0xFE, 0xFF];

/// From the first bytes of a file: a BOM decides (EF BB BF, FF FE, FE FF); otherwise UTF-8 if the
/// head is valid UTF-8 (a multi-byte sequence cut off at the very end of `head` still counts as
/// valid), else Windows-1252 (the usual Excel/CRM export; Latin-1 is a subset for printable text).
pub fn sniff_encoding(head: &[u8]) -> Encoding {
    if head.starts_with(&UTF8_BOM) {
        Encoding::Utf8Bom
    } else if head.starts_with(&UTF16_LE_BOM) {
        Encoding::Utf16Le
    } else if head.starts_with(&UTF16_BE_BOM) {
        Encoding::Utf16Be
    } else if is_utf8_up_to_cut(head) {
        Encoding::Utf8
    } else {
        Encoding::Windows1252
    }
}

/// Whether `head` is valid UTF-8, allowing the head to end inside a character: the caller took
/// the first N bytes of the file, which can split a multi-byte sequence.
fn is_utf8_up_to_cut(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        // `error_len() == None` means "unexpected end of input": all bytes before are valid and
        // the rest is the start of a well-formed sequence.
        Err(error) => error.error_len().is_none(),
    }
}

/// Delimiters Kiln recognises, in order of preference when they fit equally well.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Lines of the head that are enough to tell the delimiter.
const SAMPLE_LINES: usize = 20;

/// The delimiter among `,` `;` `\t` `|`, from the head of the (already decoded) text: the candidate
/// that appears the same non-zero number of times on most of the first lines (up to ~20 lines),
/// counting only outside double-quoted sections (quotes can span lines); ties prefer `,` then `;`
/// then tab then `|`. Default `,` when nothing fits (a one-column file).
///
/// "Most" means more than half of the sampled lines. A candidate's fit is how many lines share its
/// most common count; when two fit on as many lines, the one with more occurrences per line wins
/// (a tab-separated file whose `City, State` column puts one comma on every line is still
/// tab-separated), and only then the preference order.
pub fn sniff_delimiter(head: &str) -> u8 {
    let lines = count_delimiters_per_line(head);
    DELIMITERS
        .iter()
        .enumerate()
        .filter_map(|(candidate, &delimiter)| {
            let (lines_agreeing, per_line) = most_common_count(&lines, candidate)?;
            let preference = DELIMITERS.len() - candidate;
            (lines_agreeing * 2 > lines.len()).then_some(((lines_agreeing, per_line, preference), delimiter))
        })
        .max_by_key(|&(fit, _)| fit)
        .map_or(b',', |(_, delimiter)| delimiter)
}

/// Occurrences of each candidate per non-empty line, outside quotes. A line break inside quotes
/// belongs to a field, so a quoted multi-line value counts as part of one line. The last line is
/// left out when the head ends in the middle of it, unless it is the only one.
fn count_delimiters_per_line(head: &str) -> Vec<[usize; DELIMITERS.len()]> {
    let mut lines = Vec::new();
    let mut counts = [0; DELIMITERS.len()];
    let mut line_has_text = false;
    let mut in_quotes = false;
    for &byte in head.as_bytes() {
        match byte {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if line_has_text {
                    lines.push(counts);
                    if lines.len() == SAMPLE_LINES {
                        return lines;
                    }
                }
                counts = [0; DELIMITERS.len()];
                line_has_text = false;
                continue;
            }
            b'\r' => continue,
            _ if !in_quotes => {
                if let Some(candidate) = DELIMITERS.iter().position(|&d| d == byte) {
                    counts[candidate] += 1;
                }
            }
            _ => {}
        }
        line_has_text = true;
    }
    if line_has_text && lines.is_empty() {
        lines.push(counts);
    }
    lines
}

/// The non-zero count of one candidate that the most lines share, as (lines sharing it, count);
/// `None` when the candidate appears on no line.
fn most_common_count(lines: &[[usize; DELIMITERS.len()]], candidate: usize) -> Option<(usize, usize)> {
    let lines_with = |count: usize| lines.iter().filter(|line| line[candidate] == count).count();
    lines.iter().map(|line| line[candidate]).filter(|&count| count > 0).map(|count| (lines_with(count), count)).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_decides_the_encoding() {
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBFemail\n"), Encoding::Utf8Bom);
        assert_eq!(sniff_encoding(b"\xFF\xFEe\0m\0"), Encoding::Utf16Le);
        assert_eq!(sniff_encoding(b"\xFE\xFF\0e\0m"), Encoding::Utf16Be);
        // A BOM wins even when what follows is not valid in that encoding.
        assert_eq!(sniff_encoding(b"\xEF\xBB\xBF\xE9"), Encoding::Utf8Bom);
    }

    #[test]
    fn valid_utf8_is_utf8() {
        assert_eq!(sniff_encoding("name,city\nRené,Zürich\n".as_bytes()), Encoding::Utf8);
        assert_eq!(sniff_encoding(b"plain ascii"), Encoding::Utf8);
        assert_eq!(sniff_encoding(b""), Encoding::Utf8);
    }

    #[test]
    fn a_utf8_sequence_cut_at_the_end_of_the_head_is_still_utf8() {
        let text = "name\nRené €".as_bytes();
        // '€' is three bytes; cut after one and after two of them.
        assert_eq!(sniff_encoding(&text[..text.len() - 2]), Encoding::Utf8);
        assert_eq!(sniff_encoding(&text[..text.len() - 1]), Encoding::Utf8);
    }

    #[test]
    fn invalid_utf8_is_windows_1252() {
        // "René" as Windows-1252: a lone 0xE9 followed by ASCII.
        assert_eq!(sniff_encoding(b"name\nRen\xE9,Paris\n"), Encoding::Windows1252);
        // A lone 0xE9 at the very end is a plausible cut UTF-8 lead byte, but not in the middle.
        assert_eq!(sniff_encoding(b"caf\xE9 ok"), Encoding::Windows1252);
        // 0x93/0x94 are Windows-1252 curly quotes and never start a UTF-8 sequence.
        assert_eq!(sniff_encoding(b"\x93quoted\x94"), Encoding::Windows1252);
    }

    #[test]
    fn bom_lengths_and_labels() {
        let expected = [
            (Encoding::Utf8, 0, "UTF-8"),
            (Encoding::Utf8Bom, 3, "UTF-8 (BOM)"),
            (Encoding::Utf16Le, 2, "UTF-16LE"),
            (Encoding::Utf16Be, 2, "UTF-16BE"),
            (Encoding::Windows1252, 0, "Windows-1252"),
        ];
        for (encoding, bom_len, label) in expected {
            assert_eq!(encoding.bom_len(), bom_len, "{encoding:?}");
            assert_eq!(encoding.label(), label);
        }
    }

    #[test]
    fn every_delimiter_is_sniffed() {
        assert_eq!(sniff_delimiter("email,name\na@x.com,Ada\nb@x.com,Bo\n"), b',');
        assert_eq!(sniff_delimiter("email;name\na@x.com;Ada\nb@x.com;Bo\n"), b';');
        assert_eq!(sniff_delimiter("email\tname\na@x.com\tAda\nb@x.com\tBo\n"), b'\t');
        assert_eq!(sniff_delimiter("email|name\na@x.com|Ada\nb@x.com|Bo\n"), b'|');
    }

    #[test]
    fn a_one_column_file_defaults_to_comma() {
        assert_eq!(sniff_delimiter("email\na@x.com\nb@x.com\n"), b',');
        assert_eq!(sniff_delimiter(""), b',');
        // A semicolon on one line out of four is not a delimiter.
        assert_eq!(sniff_delimiter("notes\nhi; there\nfoo\nbar\n"), b',');
    }

    #[test]
    fn consistency_beats_raw_frequency() {
        // Decimal commas vary from line to line; the semicolons do not.
        let head = "name;price;qty\nA;1,5;2\nB;10,25,0;3\nC;7;1\n";
        assert_eq!(sniff_delimiter(head), b';');
    }

    #[test]
    fn delimiters_inside_quotes_do_not_count_even_across_lines() {
        let head = "name;note\n\"Ada\";\"a, b, c\"\n\"Bo\";\"multi\nline, with, commas\"\nCy;plain\n";
        assert_eq!(sniff_delimiter(head), b';');
        let head = "name,note\nAda,\"x;y;z\"\nBo,\"1;2\"\n";
        assert_eq!(sniff_delimiter(head), b',');
    }

    #[test]
    fn ties_prefer_comma_then_semicolon_then_tab_then_pipe() {
        assert_eq!(sniff_delimiter("a,b;c\n1,2;3\n"), b',');
        assert_eq!(sniff_delimiter("a;b\tc|d\n1;2\t3|4\n"), b';');
        assert_eq!(sniff_delimiter("a\tb|c\n1\t2|3\n"), b'\t');
    }

    #[test]
    fn more_occurrences_per_line_break_a_tie_in_consistency() {
        // A tab-separated file with a "City, State" column: one comma on every line, three tabs.
        let head = "name\tcity\tstate\temail\nAda\tAustin, TX\tTX\ta@x\nBo\tBoise, ID\tID\tb@x\n";
        assert_eq!(sniff_delimiter(head), b'\t');
    }

    #[test]
    fn crlf_blank_lines_and_a_cut_last_line_are_handled() {
        assert_eq!(sniff_delimiter("a;b;c\r\n\r\n1;2;3\r\n4;5;6\r\n"), b';');
        // The head was cut in the middle of the third line, which has fewer pipes.
        assert_eq!(sniff_delimiter("a|b|c\n1|2|3\n4|5"), b'|');
        // A head that is a single unterminated line still decides.
        assert_eq!(sniff_delimiter("email\tfirst\tlast"), b'\t');
    }

    #[test]
    fn only_the_first_twenty_lines_are_sampled() {
        let mut head = String::from("a;b\n");
        for _ in 0..30 {
            head.push_str("1;2\n");
        }
        for _ in 0..100 {
            head.push_str("1,2,3\n");
        }
        assert_eq!(sniff_delimiter(&head), b';');
    }
}
