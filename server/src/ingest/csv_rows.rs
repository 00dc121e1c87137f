//! CSV files: sniff the encoding and delimiter from the head, then stream records through the
//! lead builder. Runs on a blocking thread.

use super::{
    Batcher, Event, MAX_ROW_BYTES, ParseError, SNIFF_BYTES, Setup,
    lead::{LeadBuilder, RejectReason},
    mapping_for,
    text::{Transcoder, decode_field},
};
use app::ingest::{Encoding, Parsed, RecordReader, normalize_headers, sniff_delimiter, sniff_encoding};
use std::borrow::Cow;

/// The longest raw row kept for the rejects report.
const MAX_RAW_CHARS: usize = 10_000;

pub(super) fn parse(mut source: super::Source, mut batcher: Batcher, setup: Setup) -> Result<(), ParseError> {
    let head = source.head(SNIFF_BYTES)?;
    let encoding = sniff_encoding(&head);
    let mut transcoder = Transcoder::new(encoding);
    let mut scratch = Vec::new();
    let body = &head[encoding.bom_len().min(head.len())..];
    let first = transcoder.bytes(body, &mut scratch, false).to_vec();
    let delimiter = sniff_delimiter(&String::from_utf8_lossy(&first));

    let mut rows = Rows { encoding, delimiter, builder: None, setup, error: None, saw_data: false };
    let mut reader = RecordReader::new(delimiter, MAX_ROW_BYTES);
    batcher.bytes_seen = head.len() as u64;
    reader.feed(&first, &mut |parsed| rows.take(parsed, &mut batcher));
    rows.check()?;
    while let Some(chunk) = source.next()? {
        batcher.bytes_seen += chunk.len() as u64;
        let bytes = transcoder.bytes(&chunk, &mut scratch, false);
        reader.feed(bytes, &mut |parsed| rows.take(parsed, &mut batcher));
        rows.check()?;
    }
    let tail = transcoder.bytes(&[], &mut scratch, true);
    reader.feed(tail, &mut |parsed| rows.take(parsed, &mut batcher));
    reader.finish(&mut |parsed| rows.take(parsed, &mut batcher));
    rows.check()?;

    match (&rows.builder, rows.saw_data) {
        (None, _) => Err(ParseError::Unreadable("the file is empty: no header row and no data".into())),
        (Some(_), false) => Err(ParseError::Unreadable("the file has a header row but no data rows".into())),
        (Some(_), true) => batcher.flush(),
    }
}

/// The state of one file's records: the header once seen, then rows.
struct Rows {
    encoding: Encoding,
    delimiter: u8,
    builder: Option<LeadBuilder>,
    setup: Setup,
    /// The first fatal problem; records after it are ignored.
    error: Option<ParseError>,
    saw_data: bool,
}

impl Rows {
    fn check(&mut self) -> Result<(), ParseError> {
        self.error.take().map_or(Ok(()), Err)
    }

    fn take(&mut self, parsed: Parsed<'_>, batcher: &mut Batcher) {
        if self.error.is_some() {
            return;
        }
        let result = match parsed {
            Parsed::Blank { .. } => {
                batcher.blank();
                Ok(())
            }
            Parsed::TooLong { line, .. } if self.builder.is_none() => {
                Err(ParseError::Unreadable(format!("the header row (line {line}) is over 100 KB")))
            }
            Parsed::TooLong { line, .. } => {
                self.saw_data = true;
                batcher.reject(line, RejectReason::RowTooLong, String::new())
            }
            Parsed::Record(record) => {
                let fields: Vec<Cow<'_, str>> = record.fields().map(|f| decode_field(f, self.encoding)).collect();
                if self.builder.is_none() {
                    self.header(&fields, batcher)
                } else {
                    self.saw_data = true;
                    self.row(record.line, &fields, batcher)
                }
            }
        };
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    fn header(&mut self, fields: &[Cow<'_, str>], batcher: &mut Batcher) -> Result<(), ParseError> {
        let raw: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        let headers = normalize_headers(&raw);
        let mapping = mapping_for(&headers, self.setup.mapping_override.as_deref())?;
        let routing = self.setup.routing.compile(&headers)?;
        batcher.send(Event::Format {
            encoding: self.encoding.label().to_owned(),
            delimiter: Some(delimiter_name(self.delimiter)),
            headers: headers.clone(),
            mapping: mapping.clone(),
        })?;
        self.builder = Some(LeadBuilder::new(headers, mapping, routing));
        Ok(())
    }

    fn row(&mut self, line: u64, fields: &[Cow<'_, str>], batcher: &mut Batcher) -> Result<(), ParseError> {
        let Some(builder) = self.builder.as_mut() else { return Ok(()) };
        let columns = builder.headers().len();
        // Spreadsheets often pad rows with empty trailing cells; those are harmless.
        let extra_empty = fields.len() > columns && fields[columns..].iter().all(|f| f.trim().is_empty());
        if fields.len() != columns && !extra_empty {
            return batcher.reject(line, RejectReason::WrongFieldCount, raw_row(fields));
        }
        let cells: Vec<&str> = fields[..columns].iter().map(|f| f.as_ref()).collect();
        match builder.build(&cells) {
            Ok(lead) => batcher.lead(line, lead),
            Err(reason) => batcher.reject(line, reason, raw_row(fields)),
        }
    }
}

/// The row's cells as a JSON array, cut to a sane size, for the rejects report.
fn raw_row(fields: &[Cow<'_, str>]) -> String {
    let mut kept = Vec::with_capacity(fields.len());
    let mut budget = MAX_RAW_CHARS;
    for field in fields {
        let take: String = field.chars().take(budget).collect();
        budget = budget.saturating_sub(take.chars().count());
        kept.push(take);
    }
    serde_json::to_string(&kept).unwrap_or_default()
}

fn delimiter_name(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "tab".to_owned(),
        other => (other as char).to_string(),
    }
}
