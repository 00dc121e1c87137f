//! What the browser shows of a file before uploading it: the head, parsed as the server will
//! parse the whole file.

use super::{Parsed, RecordReader, normalize_headers, sniff_delimiter};

/// The first rows of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    pub delimiter: u8,
    pub headers: Vec<String>,
    /// Up to the requested number of data rows, cells in header order.
    pub rows: Vec<Vec<String>>,
    /// Data rows found in the head (more than `rows` holds when the head is long).
    pub rows_in_head: u64,
    /// Bytes of the head those rows took, to estimate the whole file's row count: of the decoded
    /// text, or of the file after [`Preview::in_file_bytes`].
    pub bytes_in_head: u64,
    /// Bytes of the header line(s), which hold no row: of the decoded text, or of the file (BOM
    /// included) after [`Preview::in_file_bytes`].
    pub header_bytes: u64,
    /// The head is the whole file: its rows are counted, not estimated.
    pub complete: bool,
}

impl Preview {
    /// Rows in a file of `file_bytes`: counted when the head is the whole file, else estimated
    /// from the head's bytes per row.
    pub fn estimated_rows(&self, file_bytes: u64) -> u64 {
        if self.complete {
            return self.rows_in_head;
        }
        if self.rows_in_head == 0 || self.bytes_in_head == 0 {
            return 0;
        }
        let per_row = self.bytes_in_head as f64 / self.rows_in_head as f64;
        (file_bytes.saturating_sub(self.header_bytes) as f64 / per_row).round() as u64
    }

    /// The same, its byte counts in the file's own bytes: `prefix` bytes before the text (a
    /// BOM), then `raw_per_decoded` bytes of the file for each byte of the decoded text (the
    /// head's average: 2 for ASCII text in UTF-16, 1 for UTF-8, at most 1 for Windows-1252), so
    /// that a file's size gives its rows in any encoding.
    pub fn in_file_bytes(mut self, prefix: u64, raw_per_decoded: f64) -> Self {
        let raw = |decoded: u64| (decoded as f64 * raw_per_decoded).round() as u64;
        self.bytes_in_head = raw(self.bytes_in_head);
        self.header_bytes = prefix + raw(self.header_bytes);
        self
    }

    pub fn delimiter_name(&self) -> &'static str {
        match self.delimiter {
            b'\t' => "tab",
            b';' => "semicolon",
            b'|' => "pipe",
            _ => "comma",
        }
    }
}

/// Parses the decoded head of a file. `complete` says the head is the whole file (otherwise
/// the last, probably cut, record is left out).
pub fn preview(head: &str, complete: bool, max_rows: usize) -> Option<Preview> {
    let delimiter = sniff_delimiter(head);
    let mut reader = RecordReader::new(delimiter, 100 * 1024);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut rows_in_head = 0u64;
    let mut header_bytes = 0u64;
    let mut last_row_end = 0u64;
    let mut take = |parsed: Parsed<'_>, bytes_so_far: u64| {
        let Parsed::Record(record) = parsed else {
            if matches!(parsed, Parsed::TooLong { .. }) && headers.is_some() {
                rows_in_head += 1;
            }
            return;
        };
        let cells: Vec<String> = record.fields().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
        match &headers {
            None => {
                headers = Some(normalize_headers(&cells));
                header_bytes = bytes_so_far;
            }
            Some(_) => {
                rows_in_head += 1;
                last_row_end = bytes_so_far;
                if rows.len() < max_rows {
                    rows.push(cells);
                }
            }
        }
    };
    // Feed line by line so the bytes before each record are known.
    let bytes = head.as_bytes();
    let mut consumed = 0u64;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        consumed += line.len() as u64;
        reader.feed(line, &mut |parsed| take(parsed, consumed));
    }
    if complete {
        reader.finish(&mut |parsed| take(parsed, consumed));
    }
    let headers = headers?;
    Some(Preview {
        delimiter,
        headers,
        rows,
        rows_in_head,
        bytes_in_head: last_row_end.saturating_sub(header_bytes),
        header_bytes,
        complete,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_of_a_file_previews_its_columns_and_rows() {
        let head = "Email;Company\r\na@example.com;\"Acme; Inc\"\r\nb@example.com;Beta\r\nc@exa";
        let preview = preview(head, false, 10).unwrap();
        assert_eq!(preview.delimiter_name(), "semicolon");
        assert_eq!(preview.headers, ["Email", "Company"]);
        assert_eq!(preview.rows, [vec!["a@example.com", "Acme; Inc"], vec!["b@example.com", "Beta"]]);
        assert_eq!(preview.rows_in_head, 2);
        // 2 rows in 47 bytes after a 15-byte header: a 2,000-byte file holds about 84.
        assert_eq!(preview.bytes_in_head, 47);
        assert_eq!(preview.estimated_rows(2_000), 84);
    }

    #[test]
    fn rows_are_estimated_in_the_file_s_own_bytes() {
        // 1,000 rows of 20 characters after a 6-byte header, as UTF-16 with a BOM: 2 + 2 × 20,006
        // bytes. The head read holds 100 of them, decoded to 1 byte a character.
        let rows: String = (0..1_000).map(|i| format!("lead{i:05}@exampl.co\n")).collect();
        let head = format!("email\n{}", &rows[..20 * 100]);
        let decoded = preview(&head, false, 10).unwrap();
        assert_eq!(decoded.estimated_rows(2 + 2 * 20_006), 2_000, "in decoded bytes, about double");
        assert_eq!(decoded.in_file_bytes(2, 2.0).estimated_rows(2 + 2 * 20_006), 1_000);
    }

    #[test]
    fn a_complete_small_file_keeps_its_last_row_and_an_empty_one_has_no_preview() {
        let preview = preview("email\na@example.com", true, 10).unwrap();
        assert_eq!(preview.rows.len(), 1);
        assert_eq!(preview.estimated_rows(19), 1, "counted, not estimated");
        assert!(super::preview("", true, 10).is_none());
    }
}
