//! A streaming CSV record reader: bytes in, records out, in chunks of any size.
//!
//! [`csv_core`] does the RFC 4180 parsing (quoted fields holding delimiters, line breaks and
//! doubled quotes; `\n`, `\r\n` and `\r` line ends, freely mixed). This reader adds what an import
//! needs around it:
//!
//! - **Chunking does not matter.** A chunk may end anywhere — inside a record, a quoted field or a
//!   CRLF pair — and the records, their line numbers and their verdicts are the same as if the
//!   whole file had come in one piece.
//! - **Bounded memory.** A record is kept only while it fits in `max_record_bytes`. Its size is
//!   counted in raw input bytes, from its first byte through its line end, with the line end
//!   counting one byte whether it is `\n`, `\r\n` or `\r` (a last record without a line end counts
//!   just its own bytes). A record over the limit is still parsed to its end, so quotes and line
//!   breaks inside it keep their meaning, but its bytes are dropped as they come and it is
//!   reported as [`Parsed::TooLong`]. The buffers therefore never grow past the limit (field
//!   bytes) and one field end per input byte within it.
//! - **Line numbers.** Each record carries the 1-based physical line it starts on, counted by `\n`
//!   bytes, so a quoted field spanning three lines moves the next record's line by three. A lone
//!   `\r` between records (old Mac files) ends a line too, so every record and blank line has a
//!   line of its own: the rejects report is keyed by it. (Inside a quoted field only `\n` counts.)
//! - **Blank lines are reported**, not skipped as csv-core does, so an import can count them: an
//!   empty line, or a line holding only `""`, is [`Parsed::Blank`].
//! - **NUL bytes are removed** from field data. Some CRM exports pad fields with them, nothing in a
//!   lead needs them, and databases (PostgreSQL text) refuse them.
//!
//! The reader does not decode text and does not skip a byte order mark: the caller drops
//! [`Encoding::bom_len`](super::Encoding::bom_len) bytes first (and transcodes UTF-16).

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};

/// Field bytes the reader starts with; the buffer doubles when a record needs more, up to the limit.
const INITIAL_FIELD_BYTES: usize = 1024;
/// Field ends the reader starts with; doubles when a record has more fields.
const INITIAL_FIELD_ENDS: usize = 64;

/// One record: its fields as bytes (not decoded), borrowed from the reader until the next record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The 1-based physical line the record starts on.
    pub line: u64,
    /// The fields' bytes, one after another.
    data: &'a [u8],
    /// Where each field ends in `data`.
    ends: &'a [usize],
}

impl<'a> Record<'a> {
    /// Number of fields. A record always has at least one.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th field (0-based). A field past the end of the record reads as empty, because rows
    /// shorter than the header are common and mean "nothing in the last columns".
    pub fn field(&self, i: usize) -> &'a [u8] {
        match self.ends.get(i) {
            Some(&end) => {
                let start = if i == 0 { 0 } else { self.ends[i - 1] };
                &self.data[start..end]
            }
            None => &[],
        }
    }

    /// The fields in order.
    pub fn fields(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let data = self.data;
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = &data[start..end];
            start = end;
            field
        })
    }

    /// A record that is one empty field: an empty line, or a line holding only `""`.
    fn is_blank(&self) -> bool {
        self.ends == [0]
    }
}

/// What the reader found in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    Record(Record<'a>),
    /// An empty line (or one holding only `""`), on this 1-based line.
    Blank {
        line: u64,
    },
    /// A record over the size limit, starting on `line`, `bytes` long in the input (counted as
    /// described in the [module documentation](self)). Its fields were dropped.
    TooLong {
        line: u64,
        bytes: u64,
    },
}

/// Where the reader stands in the input.
#[derive(Clone, Copy, Debug)]
enum Position {
    /// Between records. `after_cr`: the last record or blank line ended with `\r`, so a `\n` that
    /// follows completes its CRLF instead of being an empty line, and anything else follows a lone
    /// `\r`, which ended a line of its own.
    BetweenRecords {
        after_cr: bool,
    },
    InRecord(Progress),
}

/// The record being read.
#[derive(Clone, Copy, Debug)]
struct Progress {
    line: u64,
    /// Raw input bytes of the record so far.
    bytes: u64,
    /// Over the limit: csv-core still parses, but into scratch space that is overwritten.
    discarding: bool,
}

/// A streaming CSV record reader on top of [`csv_core::Reader`]; see the [module documentation](self).
pub struct RecordReader {
    csv: Reader,
    max_record_bytes: usize,
    /// Field bytes of the record being read: `fields[..fields_len]`.
    fields: Vec<u8>,
    fields_len: usize,
    /// Field ends of the record being read: `ends[..ends_len]`.
    ends: Vec<usize>,
    ends_len: usize,
    position: Position,
    /// The 1-based physical line at the current position.
    line: u64,
    bytes_read: u64,
}

impl RecordReader {
    pub fn new(delimiter: u8, max_record_bytes: usize) -> RecordReader {
        let mut csv = ReaderBuilder::new().delimiter(delimiter).build();
        // csv-core drops a UTF-8 BOM only if its first call's input holds all three bytes, which
        // would make the result depend on chunking. A newline at the start of a record is a no-op
        // that counts as that first call, so it never drops one; the caller skips the BOM.
        csv.read_record(b"\n", &mut [0], &mut [0]);
        RecordReader {
            csv,
            max_record_bytes,
            fields: vec![0; INITIAL_FIELD_BYTES.min(max_record_bytes).max(1)],
            fields_len: 0,
            ends: vec![0; INITIAL_FIELD_ENDS],
            ends_len: 0,
            position: Position::BetweenRecords { after_cr: false },
            line: 1,
            bytes_read: 0,
        }
    }

    /// Parses `input`, calling `on` for every record completed within it.
    pub fn feed(&mut self, input: &[u8], on: &mut dyn FnMut(Parsed<'_>)) {
        self.bytes_read += input.len() as u64;
        let mut rest = input;
        while !rest.is_empty() {
            rest = match self.position {
                Position::BetweenRecords { after_cr } => self.skip_line_ends(rest, after_cr, on),
                Position::InRecord(progress) => self.read_some(rest, progress, on),
            };
        }
    }

    /// End of input: completes a last record that has no line end. Feed nothing after it.
    pub fn finish(&mut self, on: &mut dyn FnMut(Parsed<'_>)) {
        let Position::InRecord(progress) = self.position else { return };
        loop {
            match self.parse(&[], progress.discarding).0 {
                ReadRecordResult::Record => {
                    self.complete(progress, on);
                    break;
                }
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                _ => break,
            }
        }
        self.position = Position::BetweenRecords { after_cr: false };
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Consumes the line ends before the next record, reporting empty lines, and returns the input
    /// from the record's first byte on. csv-core would skip these lines silently.
    fn skip_line_ends<'i>(&mut self, input: &'i [u8], after_cr: bool, on: &mut dyn FnMut(Parsed<'_>)) -> &'i [u8] {
        let mut after_cr = after_cr;
        for (i, &byte) in input.iter().enumerate() {
            match byte {
                b'\n' => {
                    if !after_cr {
                        on(Parsed::Blank { line: self.line });
                    }
                    after_cr = false;
                    self.line += 1;
                }
                b'\r' => {
                    if after_cr {
                        self.line += 1;
                    }
                    on(Parsed::Blank { line: self.line });
                    after_cr = true;
                }
                _ => {
                    if after_cr {
                        self.line += 1;
                    }
                    self.position = Position::InRecord(Progress { line: self.line, bytes: 0, discarding: false });
                    return &input[i..];
                }
            }
        }
        self.position = Position::BetweenRecords { after_cr };
        &[]
    }

    /// Reads as much of the current record as one csv-core call takes and returns the rest of the
    /// input.
    fn read_some<'i>(&mut self, input: &'i [u8], mut progress: Progress, on: &mut dyn FnMut(Parsed<'_>)) -> &'i [u8] {
        let (result, consumed) = self.parse(input, progress.discarding);
        progress.bytes += consumed as u64;
        if let ReadRecordResult::Record = result {
            self.complete(progress, on);
            let after_cr = input[..consumed].last() == Some(&b'\r');
            self.position = Position::BetweenRecords { after_cr };
        } else {
            if !progress.discarding {
                // Over the limit, or at it with the field bytes full: the rest is dropped as it comes.
                progress.discarding = self.is_too_long(&progress) || !self.make_room(&result);
                if progress.discarding {
                    self.clear_record();
                }
            }
            self.position = Position::InRecord(progress);
        }
        &input[consumed..]
    }

    /// One csv-core call, appending to the record's buffers, or writing over them when the record
    /// is being discarded. Returns csv-core's verdict and the input bytes it consumed.
    fn parse(&mut self, input: &[u8], discarding: bool) -> (ReadRecordResult, usize) {
        let (fields, ends) = if discarding {
            (&mut self.fields[..], &mut self.ends[..])
        } else {
            (&mut self.fields[self.fields_len..], &mut self.ends[self.ends_len..])
        };
        let lines_before = self.csv.line();
        let (result, consumed, written, ended) = self.csv.read_record(input, fields, ends);
        self.line += self.csv.line() - lines_before;
        if !discarding {
            self.fields_len += written;
            self.ends_len += ended;
        }
        (result, consumed)
    }

    /// Grows the buffer csv-core filled; `false` when the field bytes are already at the limit.
    fn make_room(&mut self, result: &ReadRecordResult) -> bool {
        match result {
            ReadRecordResult::OutputFull => self.grow_fields(),
            ReadRecordResult::OutputEndsFull => {
                self.grow_ends();
                true
            }
            _ => true,
        }
    }

    fn grow_fields(&mut self) -> bool {
        let len = self.fields.len();
        if len >= self.max_record_bytes {
            return false;
        }
        self.fields.resize(len.saturating_mul(2).min(self.max_record_bytes), 0);
        true
    }

    fn grow_ends(&mut self) {
        self.ends.resize(self.ends.len() * 2, 0);
    }

    fn is_too_long(&self, progress: &Progress) -> bool {
        progress.bytes > self.max_record_bytes as u64
    }

    /// Reports the record csv-core just ended and makes room for the next.
    fn complete(&mut self, progress: Progress, on: &mut dyn FnMut(Parsed<'_>)) {
        if progress.discarding || self.is_too_long(&progress) {
            on(Parsed::TooLong { line: progress.line, bytes: progress.bytes });
        } else {
            let ends = &mut self.ends[..self.ends_len];
            let data_len = remove_nul_bytes(&mut self.fields[..self.fields_len], ends);
            let record = Record { line: progress.line, data: &self.fields[..data_len], ends };
            on(if record.is_blank() { Parsed::Blank { line: record.line } } else { Parsed::Record(record) });
        }
        self.clear_record();
    }

    fn clear_record(&mut self) {
        self.fields_len = 0;
        self.ends_len = 0;
    }
}

/// Removes NUL bytes from a record's field data in place, moving the field ends to match, and
/// returns the new data length. Costs one `memchr` scan when there are none, the usual case.
fn remove_nul_bytes(data: &mut [u8], ends: &mut [usize]) -> usize {
    if memchr::memchr(0, data).is_none() {
        return data.len();
    }
    let (mut read, mut write) = (0, 0);
    for end in ends.iter_mut() {
        while read < *end {
            if data[read] != 0 {
                data[write] = data[read];
                write += 1;
            }
            read += 1;
        }
        *end = write;
    }
    write
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An owned copy of what the reader reports, to compare runs.
    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Event {
        Record(u64, Vec<String>),
        Blank(u64),
        TooLong(u64, u64),
    }

    fn event(parsed: Parsed<'_>) -> Event {
        match parsed {
            Parsed::Record(record) => {
                Event::Record(record.line, record.fields().map(|f| String::from_utf8_lossy(f).into_owned()).collect())
            }
            Parsed::Blank { line } => Event::Blank(line),
            Parsed::TooLong { line, bytes } => Event::TooLong(line, bytes),
        }
    }

    /// Feeds `chunks` in order and finishes.
    fn read_chunks<'c>(delimiter: u8, max: usize, chunks: impl IntoIterator<Item = &'c [u8]>) -> Vec<Event> {
        let mut reader = RecordReader::new(delimiter, max);
        let mut events = Vec::new();
        for chunk in chunks {
            reader.feed(chunk, &mut |parsed| events.push(event(parsed)));
        }
        reader.finish(&mut |parsed| events.push(event(parsed)));
        events
    }

    fn read(input: &[u8]) -> Vec<Event> {
        read_chunks(b',', 1 << 20, [input])
    }

    fn read_bytewise(input: &[u8]) -> Vec<Event> {
        read_chunks(b',', 1 << 20, input.chunks(1))
    }

    fn record(line: u64, fields: &[&str]) -> Event {
        Event::Record(line, fields.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn plain_records_with_lf() {
        assert_eq!(read(b"email,name\na@x.com,Ada\n"), [record(1, &["email", "name"]), record(2, &["a@x.com", "Ada"])]);
    }

    #[test]
    fn crlf_lf_and_mixed_line_ends_give_the_same_records() {
        let expected = [record(1, &["a", "b"]), record(2, &["1", "2"]), record(3, &["3", "4"])];
        assert_eq!(read(b"a,b\r\n1,2\r\n3,4\r\n"), expected);
        assert_eq!(read(b"a,b\n1,2\n3,4\n"), expected);
        assert_eq!(read(b"a,b\r\n1,2\n3,4\r\n"), expected);
    }

    #[test]
    fn quoted_fields_hold_delimiters_line_breaks_and_doubled_quotes() {
        let input = b"name,note\n\"Doe, Jane\",\"said \"\"hi\"\"\nthen left\"\n\"\",\"\"\"\"\n";
        assert_eq!(
            read(input),
            [record(1, &["name", "note"]), record(2, &["Doe, Jane", "said \"hi\"\nthen left"]), record(4, &["", "\""]),]
        );
    }

    #[test]
    fn a_quoted_crlf_is_kept_in_the_field_and_counts_as_a_line() {
        assert_eq!(read(b"a,\"x\r\ny\"\r\nb,c\r\n"), [record(1, &["a", "x\r\ny"]), record(3, &["b", "c"])]);
    }

    #[test]
    fn other_delimiters() {
        for delimiter in [b';', b'\t', b'|'] {
            let text = format!("a{d}\"b{d}c\"\n1{d}2\n", d = delimiter as char);
            let events = read_chunks(delimiter, 1024, [text.as_bytes()]);
            let expected_second = format!("b{}c", delimiter as char);
            assert_eq!(events, [record(1, &["a", &expected_second]), record(2, &["1", "2"])]);
        }
        // With `;` a comma is plain data.
        assert_eq!(read_chunks(b';', 1024, [&b"a,b;c\n"[..]]), [record(1, &["a,b", "c"])]);
    }

    #[test]
    fn a_last_record_without_a_line_end_needs_finish() {
        let mut reader = RecordReader::new(b',', 1024);
        let mut events = Vec::new();
        reader.feed(b"a,b\n1,2", &mut |parsed| events.push(event(parsed)));
        assert_eq!(events, [record(1, &["a", "b"])]);
        reader.finish(&mut |parsed| events.push(event(parsed)));
        assert_eq!(events, [record(1, &["a", "b"]), record(2, &["1", "2"])]);
        // A second finish reports nothing more.
        reader.finish(&mut |parsed| events.push(event(parsed)));
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn finish_completes_an_unterminated_quoted_field_and_a_trailing_empty_field() {
        assert_eq!(read(b"a,\"open"), [record(1, &["a", "open"])]);
        assert_eq!(read(b"a,"), [record(1, &["a", ""])]);
    }

    #[test]
    fn finish_after_a_final_line_end_reports_nothing() {
        assert_eq!(read(b"a\n"), [record(1, &["a"])]);
        assert_eq!(read(b"a\r\n"), [record(1, &["a"])]);
        assert_eq!(read(b""), []);
    }

    #[test]
    fn blank_lines_are_reported_with_their_line_numbers() {
        let input = b"\na,b\n\n1,2\r\n\r\n\r\n3,4\n\"\"\n5,6\n\n";
        assert_eq!(
            read(input),
            [
                Event::Blank(1),
                record(2, &["a", "b"]),
                Event::Blank(3),
                record(4, &["1", "2"]),
                Event::Blank(5),
                Event::Blank(6),
                record(7, &["3", "4"]),
                Event::Blank(8),
                record(9, &["5", "6"]),
                Event::Blank(10),
            ]
        );
    }

    #[test]
    fn a_line_of_empty_fields_or_spaces_is_not_blank() {
        assert_eq!(read(b",\n \n"), [record(1, &["", ""]), record(2, &[" "])]);
    }

    #[test]
    fn a_crlf_split_across_two_chunks_is_one_line_end() {
        let events = read_chunks(b',', 1024, [&b"a,b\r"[..], b"\n1,2\r", b"\n", b"\r", b"\n3,4"]);
        assert_eq!(events, [record(1, &["a", "b"]), record(2, &["1", "2"]), Event::Blank(3), record(4, &["3", "4"])]);
    }

    #[test]
    fn a_lone_cr_ends_a_record() {
        assert_eq!(read(b"a\rb\n"), [record(1, &["a"]), record(2, &["b"])]);
        assert_eq!(
            read(b"a\r\rb\r\r\nc"),
            [record(1, &["a"]), Event::Blank(2), record(3, &["b"]), Event::Blank(4), record(5, &["c"])]
        );
    }

    #[test]
    fn line_numbers_follow_multi_line_quoted_fields() {
        let input = b"id,bio\n1,\"line one\nline two\nline three\"\n2,short\n3,\"x\n\"\n4,end\n";
        let lines: Vec<u64> = read(input)
            .iter()
            .map(|e| match e {
                Event::Record(line, _) => *line,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(lines, [1, 2, 5, 6, 8]);
    }

    #[test]
    fn nul_bytes_are_removed_from_fields() {
        let input = b"a\0b,\0,c\0\0\n\0\n\"q\0\",x\n";
        assert_eq!(read(input), [record(1, &["ab", "", "c"]), Event::Blank(2), record(3, &["q", "x"])]);
    }

    #[test]
    fn a_byte_order_mark_is_left_to_the_caller_whatever_the_chunking() {
        let input = b"\xEF\xBB\xBFemail\n";
        let expected = [record(1, &["\u{FEFF}email"])];
        assert_eq!(read(input), expected);
        assert_eq!(read_bytewise(input), expected);
    }

    #[test]
    fn bytes_read_counts_all_input() {
        let mut reader = RecordReader::new(b',', 1024);
        reader.feed(b"a,b\r", &mut |_| {});
        reader.feed(b"\n\n1", &mut |_| {});
        assert_eq!(reader.bytes_read(), 7);
    }

    #[test]
    fn record_accessors() {
        let mut reader = RecordReader::new(b',', 1024);
        let mut checked = false;
        reader.feed(b"x,,zz\n", &mut |parsed| {
            let Parsed::Record(record) = parsed else { panic!("expected a record, got {parsed:?}") };
            assert_eq!(record.len(), 3);
            assert!(!record.is_empty());
            assert_eq!(record.field(0), b"x");
            assert_eq!(record.field(1), b"");
            assert_eq!(record.field(2), b"zz");
            assert_eq!(record.field(3), b"", "past the end reads as empty");
            assert_eq!(record.fields().collect::<Vec<_>>(), [&b"x"[..], b"", b"zz"]);
            checked = true;
        });
        assert!(checked);
    }

    #[test]
    fn many_fields_grow_the_field_ends() {
        let row = vec!["v"; 1000].join(",");
        let events = read(format!("{row}\n{row}\n").as_bytes());
        assert_eq!(events.len(), 2);
        assert!(matches!(&events[1], Event::Record(2, fields) if fields.len() == 1000));
    }

    const MAX: usize = 100 * 1024;

    #[test]
    fn a_huge_field_is_too_long_and_the_records_after_it_are_read() {
        let huge = "x".repeat(200 * 1024);
        let input = format!("email,note\na@x,{huge}\nb@x,ok\n");
        let expected =
            [record(1, &["email", "note"]), Event::TooLong(2, 4 + huge.len() as u64 + 1), record(3, &["b@x", "ok"])];
        assert_eq!(read_chunks(b',', MAX, [input.as_bytes()]), expected);
        assert_eq!(read_chunks(b',', MAX, input.as_bytes().chunks(777)), expected);
    }

    #[test]
    fn a_huge_quoted_field_with_line_breaks_is_skipped_as_one_record() {
        let huge = "line, with \"\"quotes\"\"\n".repeat(10_000);
        let newlines = huge.matches('\n').count() as u64;
        let input = format!("email,note\r\na@x,\"{huge}\"\r\nb@x,ok\r\n");
        let bytes = (4 + huge.len() + 2 + 1) as u64;
        let expected = [record(1, &["email", "note"]), Event::TooLong(2, bytes), record(3 + newlines, &["b@x", "ok"])];
        assert_eq!(read_chunks(b',', MAX, [input.as_bytes()]), expected);
        assert_eq!(read_chunks(b',', MAX, input.as_bytes().chunks(4096)), expected);
    }

    #[test]
    fn a_too_long_record_at_the_end_of_input_is_reported_by_finish() {
        let input = format!("a\n{}", "y".repeat(50));
        assert_eq!(read_chunks(b',', 20, [input.as_bytes()]), [record(1, &["a"]), Event::TooLong(2, 50)]);
    }

    #[test]
    fn memory_stays_within_the_limit() {
        let mut reader = RecordReader::new(b',', MAX);
        let huge = format!("\"{}\"\n", "z\n".repeat(300 * 1024));
        for chunk in huge.as_bytes().chunks(10_000) {
            reader.feed(chunk, &mut |_| {});
        }
        assert!(reader.fields.len() <= MAX, "field buffer grew to {}", reader.fields.len());
        let many_fields = format!("{}\n", ",".repeat(300 * 1024));
        reader.feed(many_fields.as_bytes(), &mut |_| {});
        assert!(reader.ends.len() <= 2 * (MAX + 1), "field ends grew to {}", reader.ends.len());
    }

    #[test]
    fn the_limit_counts_the_line_end_as_one_byte() {
        // "abcd\n" and "abcd\r\n" are both 5 bytes: fine at 5, too long at 4.
        for input in [&b"abcd\n"[..], b"abcd\r\n"] {
            assert_eq!(read_chunks(b',', 5, [input]), [record(1, &["abcd"])]);
            assert_eq!(read_chunks(b',', 4, [input]), [Event::TooLong(1, 5)]);
            assert_eq!(read_chunks(b',', 4, input.chunks(1)), [Event::TooLong(1, 5)]);
        }
        // Without a line end, only the record's own bytes count.
        assert_eq!(read_chunks(b',', 4, [&b"abcd"[..]]), [record(1, &["abcd"])]);
    }

    #[test]
    fn a_zero_limit_rejects_every_record_but_still_reports_blank_lines() {
        assert_eq!(
            read_chunks(b',', 0, [&b"a\n\nb"[..]]),
            [Event::TooLong(1, 2), Event::Blank(2), Event::TooLong(3, 1)]
        );
    }

    #[test]
    fn one_byte_chunks_match_one_chunk() {
        let input = "h1,h2\r\n\"a,\"\"b\"\"\r\nc\",d\n\n\r\ne\0,\"\"\r\n\"é\",ü\rlast,\"open";
        assert_eq!(read_bytewise(input.as_bytes()), read(input.as_bytes()));
    }

    /// Writes fields as one CSV record, quoting those that need it.
    fn csv_line(fields: &[String]) -> String {
        let quoted: Vec<String> =
            fields
                .iter()
                .map(|f| {
                    if f.contains([',', '"', '\r', '\n']) {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.clone()
                    }
                })
                .collect();
        quoted.join(",")
    }

    /// Splits `input` at the given (cyclically repeated) chunk sizes.
    fn chunked<'i>(input: &'i [u8], sizes: &[usize]) -> Vec<&'i [u8]> {
        let mut chunks = Vec::new();
        let mut rest = input;
        for &size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        chunks
    }

    fn field() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(vec!['a', 'Z', ' ', ',', '"', '\r', '\n', 'é', ';']), 0..12)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_records(
            records in prop::collection::vec(prop::collection::vec(field(), 1..6), 0..12),
            line_end in prop::sample::select(vec!["\n", "\r\n"]),
            final_line_end in any::<bool>(),
            sizes in prop::collection::vec(1usize..9, 1..20),
            max in prop::sample::select(vec![8usize, 30, 1 << 16]),
        ) {
            let mut text = records.iter().map(|r| csv_line(r)).collect::<Vec<_>>().join(line_end);
            if final_line_end {
                text.push_str(line_end);
            }
            let input = text.as_bytes();
            let whole = read_chunks(b',', max, [input]);
            prop_assert_eq!(&read_chunks(b',', max, chunked(input, &sizes)), &whole);
            prop_assert_eq!(&read_chunks(b',', max, input.chunks(1)), &whole);
        }

        #[test]
        fn records_read_back_as_written(
            records in prop::collection::vec(prop::collection::vec(field(), 1..6), 0..12),
            sizes in prop::collection::vec(1usize..9, 1..20),
        ) {
            let text = records.iter().map(|r| csv_line(r) + "\r\n").collect::<String>();
            let mut line = 1;
            let mut expected = Vec::new();
            for fields in &records {
                expected.push(if fields.len() == 1 && fields[0].is_empty() {
                    Event::Blank(line)
                } else {
                    Event::Record(line, fields.clone())
                });
                line += fields.iter().map(|f| f.matches('\n').count() as u64).sum::<u64>() + 1;
            }
            prop_assert_eq!(read_chunks(b',', 1 << 16, chunked(text.as_bytes(), &sizes)), expected);
        }

        #[test]
        fn every_record_and_blank_line_has_a_line_of_its_own(
            input in prop::collection::vec(prop::sample::select(b"a,\"\r\n\0;x".to_vec()), 0..200),
            max in 0usize..40,
        ) {
            let lines: Vec<u64> = read_chunks(b',', max, [&input[..]])
                .iter()
                .map(|event| match event {
                    Event::Record(line, _) | Event::Blank(line) | Event::TooLong(line, _) => *line,
                })
                .collect();
            prop_assert!(lines.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", lines);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_chunking_does_not_matter(
            input in prop::collection::vec(prop::sample::select(b"a,\"\r\n\0;x".to_vec()), 0..200),
            sizes in prop::collection::vec(1usize..9, 1..20),
            max in 0usize..40,
        ) {
            let whole = read_chunks(b',', max, [&input[..]]);
            prop_assert_eq!(read_chunks(b',', max, chunked(&input, &sizes)), whole);
        }
    }
}
