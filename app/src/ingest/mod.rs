//! Reading lead files: pure, so the browser previews a file exactly as the server will import it.
//!
//! The pipeline, in the order a file goes through it:
//!
//! 1. **Encoding.** [`sniff_encoding`] looks at the first bytes. The caller skips the byte order
//!    mark ([`Encoding::bom_len`]) and decodes or transcodes as it sees fit; this module never
//!    decodes.
//! 2. **Records.** [`sniff_delimiter`] picks the delimiter from the decoded head; a
//!    [`RecordReader`] then turns chunks of bytes, of any size, into [`Record`]s with their line
//!    numbers, reporting blank lines and records over the size limit instead of failing on them.
//! 3. **Headers.** The first record's fields, through [`normalize_headers`]: trimmed of whitespace
//!    and invisible characters, empty ones named, duplicates made unique.
//! 4. **Column roles.** [`detect_roles`] guesses which column is the email, the name, the company…;
//!    [`apply_mapping_override`] applies what people corrected. The result is a [`Mapping`].
//! 5. **Routing.** A [`Router`] compiles the routing [`Rule`]s against the headers once, then sends
//!    each row to a Clay table or holds it ([`Route`]).
//!
//! No I/O, no async, no features: the same code runs natively and in WASM.

mod columns;
mod header;
mod preview;
mod records;
mod rules;
mod sniff;

pub use columns::{Mapping, MappingError, Role, apply_mapping_override, detect_roles};
pub use header::normalize_headers;
pub use preview::{Preview, preview};
pub use records::{Parsed, Record, RecordReader};
pub use rules::{Condition, Fallback, Route, Router, Rule, RuleError, credits_per_row, validate};
pub use sniff::{Encoding, sniff_delimiter, sniff_encoding};
