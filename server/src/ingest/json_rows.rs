//! JSON input: newline-delimited objects, or one array of objects. Objects are cut out of the
//! stream one at a time (a top-level scan that respects strings and nesting), so an array of a
//! million objects never sits in memory whole. Runs on a blocking thread.

use super::{
    Batcher, Event, MAX_ROW_BYTES, ParseError, Setup,
    lead::{LeadBuilder, RejectReason},
    mapping_for,
};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Lines,
    Array,
}

pub(super) fn parse(
    mut source: super::Source,
    mut batcher: Batcher,
    setup: Setup,
    shape: Shape,
) -> Result<(), ParseError> {
    let mut splitter = Splitter::new(shape);
    let mut rows = Rows { setup, builder: None, saw_data: false };
    // Some tools write JSON with a UTF-8 byte order mark (PowerShell's `Out-File`, Excel).
    let head = source.head(UTF8_BOM.len())?;
    batcher.bytes_seen += head.len() as u64;
    for piece in splitter.feed(head.strip_prefix(UTF8_BOM).unwrap_or(&head))? {
        rows.take(piece, &mut batcher)?;
    }
    while let Some(chunk) = source.next()? {
        batcher.bytes_seen += chunk.len() as u64;
        for piece in splitter.feed(&chunk)? {
            rows.take(piece, &mut batcher)?;
        }
    }
    for piece in splitter.finish()? {
        rows.take(piece, &mut batcher)?;
    }
    if !rows.saw_data {
        return Err(ParseError::Unreadable(match shape {
            Shape::Lines => "the body is empty: no JSON objects, one per line".into(),
            Shape::Array => "the JSON array is empty".into(),
        }));
    }
    batcher.flush()
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Keys a file's objects may bring in all: each is a column of every later row, so a file with a
/// new key in every object would otherwise grow without end. An object that would pass it is
/// rejected.
const MAX_COLUMNS: usize = 1_000;

/// One element cut out of the stream. Its `line` is where it starts in NDJSON, and its position
/// (1-based) in an array, whose elements often share a line (`[{…},{…}]`): each element has a
/// number of its own, which the rejects report is keyed by.
enum Piece {
    Element { line: u64, text: Vec<u8> },
    TooLong { line: u64 },
    Blank,
}

struct Rows {
    setup: Setup,
    builder: Option<LeadBuilder>,
    saw_data: bool,
}

impl Rows {
    fn take(&mut self, piece: Piece, batcher: &mut Batcher) -> Result<(), ParseError> {
        let (line, text) = match piece {
            Piece::Blank => {
                batcher.blank();
                return Ok(());
            }
            Piece::TooLong { line } => {
                self.saw_data = true;
                return batcher.reject(line, RejectReason::RowTooLong, String::new());
            }
            Piece::Element { line, text } => (line, text),
        };
        self.saw_data = true;
        let raw = || String::from_utf8_lossy(&text).chars().take(10_000).collect::<String>();
        let object = match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return batcher.reject(line, RejectReason::NotAnObject, raw()),
            Err(_) => return batcher.reject(line, RejectReason::InvalidJson, raw()),
        };
        if self.builder.is_none() {
            // The first object's keys are the columns the mapping is detected from.
            let headers = columns_for(object.keys().cloned().collect(), self.setup.mapping_override.as_deref());
            let mapping = mapping_for(&headers, self.setup.mapping_override.as_deref())?;
            let routing = self.setup.routing.compile(&headers)?;
            batcher.send(Event::Format {
                encoding: "UTF-8".into(),
                delimiter: None,
                headers: headers.clone(),
                mapping: mapping.clone(),
            })?;
            self.builder = Some(LeadBuilder::new(headers, mapping, routing));
        }
        let Some(builder) = self.builder.as_mut() else { return Ok(()) };
        // Later objects may bring keys the first lacked: they become columns too, and the
        // routing rules that name them apply from the object that brings them.
        let new_keys: Vec<&String> = object.keys().filter(|key| !builder.headers().contains(key)).collect();
        if builder.headers().len() + new_keys.len() > MAX_COLUMNS {
            return batcher.reject(line, RejectReason::TooManyKeys, raw());
        }
        if !new_keys.is_empty() {
            for key in new_keys {
                builder.add_column(key.clone());
            }
            builder.set_routing(self.setup.routing.compile(builder.headers())?);
        }
        let cells: Vec<String> =
            builder.headers().iter().map(|h| object.get(h).map(cell_text).unwrap_or_default()).collect();
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        match builder.build(&cells) {
            Ok(lead) => batcher.lead(line, lead),
            Err(reason) => batcher.reject(line, reason, raw()),
        }
    }
}

/// The columns of a JSON file, from its first object's `keys`: JSON leaves empty values out, so a
/// key the mapping override names may first come in a later object; it is a column from the start
/// (empty until then), rather than a mapping that cannot be used.
fn columns_for(mut keys: Vec<String>, mapping_override: Option<&str>) -> Vec<String> {
    let Some(spec) = mapping_override else { return keys };
    while let Err(app::ingest::MappingError::UnknownColumn(name)) =
        app::ingest::apply_mapping_override(&app::ingest::detect_roles(&keys), &keys, spec)
    {
        // A position (`#3`) past the first object's keys is the user's mistake, not a late key.
        if name.starts_with('#') || keys.contains(&name) {
            break;
        }
        keys.push(name);
    }
    keys
}

/// A JSON value as a cell: strings as they are, `null` empty, anything else as JSON text.
fn cell_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Cuts a byte stream into top-level JSON elements: one per line, or the elements of one array.
struct Splitter {
    shape: Shape,
    /// The element being collected (never more than `MAX_ROW_BYTES`).
    current: Vec<u8>,
    /// The current element is over the limit: skip to its end without keeping it.
    skipping: bool,
    line: u64,
    element_line: u64,
    /// Array elements cut out so far.
    elements: u64,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// For arrays: before `[`, inside, or after `]`.
    array: ArrayState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    Before,
    Inside,
    After,
}

impl Splitter {
    fn new(shape: Shape) -> Self {
        Splitter {
            shape,
            current: Vec::new(),
            skipping: false,
            line: 1,
            element_line: 1,
            elements: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            array: ArrayState::Before,
        }
    }

    fn feed(&mut self, input: &[u8]) -> Result<Vec<Piece>, ParseError> {
        let mut pieces = Vec::new();
        for &byte in input {
            self.step(byte, &mut pieces)?;
        }
        Ok(pieces)
    }

    fn finish(&mut self) -> Result<Vec<Piece>, ParseError> {
        let mut pieces = Vec::new();
        match self.shape {
            // A body ending with a line end has no line after it.
            Shape::Lines if self.current.is_empty() && !self.skipping => {}
            Shape::Lines => self.end_element(&mut pieces),
            Shape::Array => {
                if self.array == ArrayState::Before {
                    return Err(ParseError::Unreadable("the body is not a JSON array of objects".into()));
                }
                if self.array == ArrayState::Inside {
                    return Err(ParseError::Unreadable("the JSON array is not closed: the body ends inside it".into()));
                }
            }
        }
        Ok(pieces)
    }

    fn push(&mut self, byte: u8) {
        if self.skipping {
            return;
        }
        if self.current.is_empty() {
            self.element_line = self.line;
        }
        if self.current.len() >= MAX_ROW_BYTES {
            self.skipping = true;
            self.current.clear();
            return;
        }
        self.current.push(byte);
    }

    fn end_element(&mut self, pieces: &mut Vec<Piece>) {
        let blank = !self.skipping && self.current.iter().all(u8::is_ascii_whitespace);
        let line = match self.shape {
            Shape::Lines => self.element_line,
            Shape::Array if blank => 0,
            Shape::Array => {
                self.elements += 1;
                self.elements
            }
        };
        if self.skipping {
            pieces.push(Piece::TooLong { line });
        } else if blank {
            if self.shape == Shape::Lines {
                pieces.push(Piece::Blank);
            }
        } else {
            let length = self.current.trim_ascii_end().len();
            self.current.truncate(length);
            pieces.push(Piece::Element { line, text: std::mem::take(&mut self.current) });
        }
        self.current.clear();
        self.skipping = false;
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
    }

    fn step(&mut self, byte: u8, pieces: &mut Vec<Piece>) -> Result<(), ParseError> {
        let newline = byte == b'\n';
        match self.shape {
            Shape::Lines => {
                if newline {
                    self.end_element(pieces);
                } else if byte != b'\r' || self.in_string {
                    self.track(byte);
                    self.push(byte);
                }
            }
            Shape::Array => self.step_array(byte, pieces)?,
        }
        if newline {
            self.line += 1;
        }
        Ok(())
    }

    fn step_array(&mut self, byte: u8, pieces: &mut Vec<Piece>) -> Result<(), ParseError> {
        match self.array {
            ArrayState::Before => match byte {
                b'[' => self.array = ArrayState::Inside,
                b if b.is_ascii_whitespace() => {}
                _ => return Err(ParseError::Unreadable("the body is not a JSON array of objects".into())),
            },
            ArrayState::Inside => {
                let top_level = self.depth == 0 && !self.in_string;
                if top_level && (byte == b',' || byte == b']') {
                    if byte == b']' {
                        self.array = ArrayState::After;
                        if !self.current.iter().all(u8::is_ascii_whitespace) || self.skipping {
                            self.end_element(pieces);
                        }
                        self.current.clear();
                    } else {
                        self.end_element(pieces);
                    }
                } else if !(top_level && byte.is_ascii_whitespace() && self.current.is_empty()) {
                    self.track(byte);
                    self.push(byte);
                }
            }
            ArrayState::After => {
                if !byte.is_ascii_whitespace() {
                    return Err(ParseError::Unreadable("there is text after the end of the JSON array".into()));
                }
            }
        }
        Ok(())
    }

    /// Follows strings and nesting, so delimiters inside values do not end an element.
    fn track(&mut self, byte: u8) {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(shape: Shape, input: &str, chunk: usize) -> Vec<String> {
        let mut splitter = Splitter::new(shape);
        let mut out = Vec::new();
        let mut collect = |pieces: Vec<Piece>| {
            for piece in pieces {
                out.push(match piece {
                    Piece::Element { line, text } => format!("{line}:{}", String::from_utf8(text).unwrap()),
                    Piece::TooLong { line } => format!("{line}:too long"),
                    Piece::Blank => "blank".into(),
                });
            }
        };
        for part in input.as_bytes().chunks(chunk) {
            collect(splitter.feed(part).unwrap());
        }
        collect(splitter.finish().unwrap());
        out
    }

    #[test]
    fn lines_split_on_newlines_whatever_the_chunks() {
        let input = "{\"a\":1}\r\n\n{\"b\":\"x\\ny\"}\n{\"c\":2}";
        for chunk in [1, 2, 5, 100] {
            assert_eq!(
                split(Shape::Lines, input, chunk),
                ["1:{\"a\":1}", "blank", "3:{\"b\":\"x\\ny\"}", "4:{\"c\":2}"]
            );
        }
    }

    #[test]
    fn a_final_line_end_is_not_a_blank_line() {
        assert_eq!(split(Shape::Lines, "{\"a\":1}\n", 100), ["1:{\"a\":1}"]);
        assert_eq!(split(Shape::Lines, "{\"a\":1}\n\n", 100), ["1:{\"a\":1}", "blank"]);
        assert_eq!(split(Shape::Lines, "{\"a\":1}\n  ", 100), ["1:{\"a\":1}", "blank"]);
    }

    #[test]
    fn array_elements_are_numbered_by_position_even_on_one_line() {
        for chunk in [1, 4, 100] {
            assert_eq!(
                split(Shape::Array, "[{\"a\":1},{\"a\":2} ,\n{\"a\":3}]", chunk),
                ["1:{\"a\":1}", "2:{\"a\":2}", "3:{\"a\":3}"]
            );
        }
    }

    #[test]
    fn arrays_split_on_top_level_commas_only() {
        let input = "[\n {\"a\":\"x,]y\",\"b\":[1,2]},\n {\"c\":{\"d\":\"}\"}}, 3\n]";
        for chunk in [1, 3, 100] {
            assert_eq!(
                split(Shape::Array, input, chunk),
                ["1:{\"a\":\"x,]y\",\"b\":[1,2]}", "2:{\"c\":{\"d\":\"}\"}}", "3:3"]
            );
        }
        assert!(split(Shape::Array, "[]", 1).is_empty());
    }

    #[test]
    fn oversized_elements_are_skipped_not_kept() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_ROW_BYTES + 10));
        let input = format!("[{big},{{\"b\":1}}]");
        assert_eq!(split(Shape::Array, &input, 4096), ["1:too long", "2:{\"b\":1}"]);
    }

    #[test]
    fn bodies_that_are_not_arrays_are_refused() {
        let mut splitter = Splitter::new(Shape::Array);
        assert!(splitter.feed(b"{\"a\":1}").is_err());
        let mut splitter = Splitter::new(Shape::Array);
        splitter.feed(b"[{\"a\":1}").unwrap();
        assert!(splitter.finish().is_err());
    }
}
