//! Turning a file's bytes into text, whatever its encoding (`clay-facts`-independent: CRM and
//! spreadsheet exports come as UTF-8, UTF-8 with BOM, UTF-16 with BOM, or Windows-1252).

use app::ingest::Encoding;
use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use std::borrow::Cow;

/// Streams a file's bytes towards the CSV reader, which needs ASCII-compatible bytes: UTF-16 is
/// transcoded to UTF-8 as it arrives; the other encodings pass through unchanged and their fields
/// are decoded one by one ([`decode_field`]).
pub enum Transcoder {
    PassThrough,
    Utf16(Box<encoding_rs::Decoder>),
}

impl Transcoder {
    pub fn new(encoding: Encoding) -> Transcoder {
        match encoding {
            Encoding::Utf16Le => Transcoder::Utf16(Box::new(UTF_16LE.new_decoder_without_bom_handling())),
            Encoding::Utf16Be => Transcoder::Utf16(Box::new(UTF_16BE.new_decoder_without_bom_handling())),
            _ => Transcoder::PassThrough,
        }
    }

    /// The bytes to parse for `input`; `last` flushes a trailing partial character.
    pub fn bytes<'a>(&mut self, input: &'a [u8], scratch: &'a mut Vec<u8>, last: bool) -> &'a [u8] {
        match self {
            Transcoder::PassThrough => input,
            Transcoder::Utf16(decoder) => {
                scratch.clear();
                let needed = decoder.max_utf8_buffer_length(input.len()).unwrap_or(input.len() * 3 + 16);
                scratch.resize(needed, 0);
                let (_, _, written, _) = decoder.decode_to_utf8(input, scratch, last);
                scratch.truncate(written);
                scratch
            }
        }
    }
}

/// A field's text. UTF-8 files that turn out to hold a Windows-1252 byte further down (a file
/// pasted together from two exports) get that field read as Windows-1252 rather than mangled.
pub fn decode_field(bytes: &[u8], encoding: Encoding) -> Cow<'_, str> {
    match encoding {
        Encoding::Windows1252 => WINDOWS_1252.decode_without_bom_handling(bytes).0,
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => WINDOWS_1252.decode_without_bom_handling(bytes).0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_decode_by_encoding_with_a_latin_fallback() {
        assert_eq!(decode_field("Société".as_bytes(), Encoding::Utf8), "Société");
        assert_eq!(decode_field(b"Soci\xe9t\xe9", Encoding::Windows1252), "Société");
        assert_eq!(decode_field(b"Soci\xe9t\xe9", Encoding::Utf8), "Société");
        assert_eq!(decode_field(b"\x80 price", Encoding::Windows1252), "€ price");
    }

    #[test]
    fn utf16_is_transcoded_even_when_split_mid_character() {
        let text = "name,é\r\nAda,☃\r\n";
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut transcoder = Transcoder::new(Encoding::Utf16Le);
        let mut out = Vec::new();
        let mut scratch = Vec::new();
        for (i, chunk) in bytes.chunks(3).enumerate() {
            let last = (i + 1) * 3 >= bytes.len();
            out.extend_from_slice(transcoder.bytes(chunk, &mut scratch, last));
        }
        assert_eq!(String::from_utf8(out).unwrap(), text);
    }
}
