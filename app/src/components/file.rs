//! Files chosen or dropped in the browser: reading their head for a preview, and uploading them
//! with progress. Browser-only code, called from event handlers and effects.

use crate::ingest::{Encoding, Preview, preview, sniff_encoding};
use leptos::wasm_bindgen::{JsCast, JsValue, closure::Closure};
use web_sys::{File, ProgressEvent, TextDecoder, XmlHttpRequest};

/// How much of a file the preview reads.
pub const HEAD_BYTES: f64 = 256.0 * 1024.0;

/// A file's head, decoded and parsed as the server will parse the whole file.
pub struct FileHead {
    pub encoding: Encoding,
    pub preview: Option<Preview>,
}

/// Reads the first bytes of `file` and previews them.
pub async fn read_head(file: &File, max_rows: usize) -> Result<FileHead, String> {
    let size = file.size();
    let blob = file.slice_with_f64_and_f64(0.0, HEAD_BYTES.min(size)).map_err(describe)?;
    let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer()).await.map_err(describe)?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    let encoding = sniff_encoding(&bytes);
    let bom = encoding.bom_len().min(bytes.len());
    let text = decode(&bytes[bom..], encoding)?;
    let raw_per_decoded = if text.is_empty() { 1.0 } else { (bytes.len() - bom) as f64 / text.len() as f64 };
    let preview =
        preview(&text, size <= HEAD_BYTES, max_rows).map(|preview| preview.in_file_bytes(bom as u64, raw_per_decoded));
    Ok(FileHead { encoding, preview })
}

/// Decodes with the browser's own decoders (no decoding tables in the WASM bundle).
fn decode(bytes: &[u8], encoding: Encoding) -> Result<String, String> {
    let label = match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => "utf-8",
        Encoding::Utf16Le => "utf-16le",
        Encoding::Utf16Be => "utf-16be",
        Encoding::Windows1252 => "windows-1252",
    };
    let decoder = TextDecoder::new_with_label(label).map_err(describe)?;
    decoder.decode_with_u8_array(bytes).map_err(describe)
}

fn describe(error: JsValue) -> String {
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// What an upload reports as it goes.
pub enum UploadEvent {
    Progress {
        sent: f64,
        total: f64,
    },
    /// The server answered: its status and body.
    Done {
        status: u16,
        body: String,
    },
    Failed(String),
    /// Stopped by [`Upload::cancel`].
    Aborted,
}

/// An upload under way; dropping it does not stop it, [`Upload::cancel`] does.
pub struct Upload {
    request: XmlHttpRequest,
    // The callbacks live as long as the request.
    _callbacks: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Upload {
    /// Sends `file` as the body of a POST to `url` (XMLHttpRequest, for upload progress, which
    /// `fetch` cannot report).
    pub fn start(
        url: &str,
        file: &File,
        content_type: &str,
        on_event: impl Fn(UploadEvent) + 'static,
    ) -> Result<Upload, String> {
        let request = XmlHttpRequest::new().map_err(describe)?;
        request.open("POST", url).map_err(describe)?;
        request.set_request_header("Content-Type", content_type).map_err(describe)?;
        let on_event = std::rc::Rc::new(on_event);
        let progress = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                if let Ok(event) = event.dyn_into::<ProgressEvent>() {
                    on_event(UploadEvent::Progress { sent: event.loaded(), total: event.total() });
                }
            })
        };
        let done = {
            let on_event = on_event.clone();
            let request = request.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                let body = request.response_text().ok().flatten().unwrap_or_default();
                on_event(UploadEvent::Done { status: request.status().unwrap_or(0), body });
            })
        };
        let failed = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                on_event(UploadEvent::Failed("the connection to Kiln was lost during the upload".into()))
            })
        };
        let aborted = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| on_event(UploadEvent::Aborted))
        };
        let upload = request.upload().map_err(describe)?;
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
        request.set_onload(Some(done.as_ref().unchecked_ref()));
        request.set_onerror(Some(failed.as_ref().unchecked_ref()));
        request.set_onabort(Some(aborted.as_ref().unchecked_ref()));
        request.send_with_opt_blob(Some(file)).map_err(describe)?;
        Ok(Upload { request, _callbacks: vec![progress, done, failed, aborted] })
    }

    pub fn cancel(&self) {
        let _ = self.request.abort();
    }
}
