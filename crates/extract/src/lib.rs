//! # parley-extract
//!
//! Everything a file says, as text: the body of PDF, DOCX, XLSX, PPTX, ODT, RTF, CSV, TXT,
//! HTML and Markdown files, their hyperlinks (`mailto:`, `tel:`, URLs), their metadata
//! (author, company, comments), vCard fields, the EXIF and XMP text of images, the text of
//! QR codes in images and (with an OCR program) the text in the picture, and the entries
//! of a zip archive one level deep;
//! plus the type sniffed from the bytes, which must agree with the name and the declared type.
//!
//! Every input is untrusted: parsers are bounded by [`Limits`] (entries, expanded size,
//! compression ratio, pages, text), and the server runs this in a separate process
//! (`parley extract`) with a time and memory limit, so a hostile file can at worst fail.
//!
//! ```
//! let out = parley_extract::extract(b"Call me: +1 415 555 0100", "note.txt", "text/plain",
//!     &parley_extract::Limits::default()).unwrap();
//! assert_eq!(out.kind, "text");
//! assert_eq!(out.parts[0].place, "file name");
//! assert!(out.parts[1].text.contains("555 0100"));
//! ```

mod image;
mod ocr;
mod office;
mod pdf;
mod pixels;
mod sniff;
mod text;

pub use ocr::{probe as probe_ocr, Ocr};

use serde::{Deserialize, Serialize};

pub use sniff::{check_type, TypeVerdict};

/// Bounds on the work one file may cause.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    /// Most text kept overall, bytes (the rest is cut and `truncated` set).
    pub max_text_bytes: usize,
    /// Most entries read from a zip container (office documents, archives).
    pub max_entries: usize,
    /// Most bytes expanded out of a zip container in all.
    pub max_expanded_bytes: u64,
    /// Largest expansion ratio of one zip entry (a higher one is a bomb).
    pub max_ratio: u64,
    /// Most PDF pages read.
    pub max_pages: usize,
    /// Largest picture decoded, pixels (width x height as its header claims; more is refused
    /// as a bomb before decoding).
    #[serde(default = "default_max_pixels")]
    pub max_pixels: u64,
}

fn default_max_pixels() -> u64 {
    40_000_000
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_text_bytes: 8 * 1024 * 1024,
            max_entries: 2000,
            max_expanded_bytes: 256 * 1024 * 1024,
            max_ratio: 200,
            max_pages: 500,
            max_pixels: default_max_pixels(),
        }
    }
}

/// One place text was found, with where (`page 3`, `link`, `metadata:creator`,
/// `word/document.xml`, `archive:notes.txt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub place: String,
    pub text: String,
}

/// What a file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extracted {
    /// The format read: `text`, `csv`, `markdown`, `html`, `rtf`, `vcard`, `pdf`, `docx`,
    /// `xlsx`, `pptx`, `odt` (and other OpenDocument), `zip`, `image`, `binary`.
    pub kind: String,
    /// The media type sniffed from the bytes, when they have a signature.
    pub sniffed: Option<String>,
    pub parts: Vec<Part>,
    /// Some text was left out (limits).
    pub truncated: bool,
}

/// Why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "code", content = "message", rename_all = "snake_case")]
pub enum ExtractError {
    /// The bytes are not a valid file of their format.
    #[error("malformed file: {0}")]
    Malformed(String),
    /// The file expands beyond the limits (a decompression bomb, or simply too much).
    #[error("over the limits: {0}")]
    Bomb(String),
    /// The bytes are of a type that does not match the name or the declared type.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// An executable or script.
    #[error("refused: {0}")]
    Refused(String),
    /// A step took longer than its limit (text recognition).
    #[error("timeout: {0}")]
    Timeout(String),
}

/// What extraction may do beyond parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Read the text in pictures with this OCR program (none: no OCR).
    pub ocr: Option<Ocr>,
}

/// Collects parts within the text limit.
pub(crate) struct Sink {
    pub parts: Vec<Part>,
    left: usize,
    pub truncated: bool,
    /// OCR for pictures ([`Options::ocr`]).
    pub ocr: Option<Ocr>,
}

impl Sink {
    pub fn new(limits: &Limits) -> Sink {
        Sink {
            parts: Vec::new(),
            left: limits.max_text_bytes,
            truncated: false,
            ocr: None,
        }
    }
    pub fn push(&mut self, place: impl Into<String>, text: impl AsRef<str>) {
        let t = text.as_ref().trim();
        if t.is_empty() {
            return;
        }
        if self.left == 0 {
            self.truncated = true;
            return;
        }
        let mut cut = t.len().min(self.left);
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut < t.len() {
            self.truncated = true;
        }
        self.left -= cut;
        self.parts.push(Part {
            place: place.into(),
            text: t[..cut].to_string(),
        });
    }
}

/// Reads a file: checks its type against `name` and `declared` (a mismatch or an executable
/// is an error), then extracts its text, links and metadata within `limits`.
pub fn extract(
    bytes: &[u8],
    name: &str,
    declared: &str,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    extract_with(bytes, name, declared, limits, &Options::default())
}

/// [`extract`] with [`Options`] (OCR of pictures).
pub fn extract_with(
    bytes: &[u8],
    name: &str,
    declared: &str,
    limits: &Limits,
    options: &Options,
) -> Result<Extracted, ExtractError> {
    let verdict = check_type(bytes, name, declared);
    let kind = match verdict {
        TypeVerdict::Ok(kind) => kind,
        TypeVerdict::Mismatch(why) => return Err(ExtractError::TypeMismatch(why)),
        TypeVerdict::Executable(why) => return Err(ExtractError::Refused(why)),
    };
    let mut sink = Sink::new(limits);
    sink.ocr = options.ocr.clone();
    sink.push("file name", name);
    extract_kind(kind, bytes, limits, &mut sink, 0)?;
    Ok(Extracted {
        kind: kind.to_string(),
        sniffed: infer::get(bytes).map(|t| t.mime_type().to_string()),
        parts: sink.parts,
        truncated: sink.truncated,
    })
}

/// Extracts a file of a known kind into `sink`; `depth` is 1 inside an archive.
pub(crate) fn extract_kind(
    kind: &str,
    bytes: &[u8],
    limits: &Limits,
    sink: &mut Sink,
    depth: u8,
) -> Result<(), ExtractError> {
    match kind {
        "text" | "csv" | "markdown" => text::plain(bytes, sink),
        "html" => text::html(bytes, sink),
        "rtf" => text::rtf(bytes, sink),
        "vcard" => text::vcard(bytes, sink),
        "pdf" => pdf::extract(bytes, limits, sink),
        "docx" | "xlsx" | "pptx" | "odt" | "ods" | "odp" => office::document(bytes, limits, sink),
        "zip" if depth == 0 => office::archive(bytes, limits, sink),
        "image" => image::extract(bytes, limits, sink),
        // Other binary types carry no extractable text; a zip inside a zip is not opened (one
        // level deep).
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;

/// How `parley extract` is called.
pub const USAGE: &str = "usage: parley extract FILE [--name NAME] [--type TYPE] [--max-memory BYTES] [--ocr PROGRAM] [--ocr-timeout SECS]";

/// The extractor process (`parley extract FILE --name NAME --type TYPE [--max-memory BYTES]
/// [--ocr PROGRAM --ocr-timeout SECS]`): limits its own address space, reads the file, and
/// prints one JSON object on stdout: `{"ok": Extracted}` or `{"error": {"code", "message"}}`
/// (exit 0 either way: both are verdicts). A panic in a parser is caught and reported as
/// `malformed`. With `--ocr`, pictures are read by that OCR program (Tesseract) within
/// `--ocr-timeout` seconds (default 10). Exit 2 on bad usage.
pub fn run_cli(args: &[String]) -> i32 {
    let mut file = None;
    let (mut name, mut declared, mut memory) = (None, String::new(), None::<u64>);
    let (mut ocr, mut ocr_timeout) = (None::<String>, 10.0f64);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let ok = match a.as_str() {
            "--name" => {
                name = it.next().cloned();
                name.is_some()
            }
            "--type" => {
                declared = it.next().cloned().unwrap_or_default();
                true
            }
            "--max-memory" => {
                memory = it.next().and_then(|v| v.parse().ok());
                memory.is_some()
            }
            "--ocr" => {
                ocr = it.next().cloned().filter(|p| !p.is_empty());
                ocr.is_some()
            }
            "--ocr-timeout" => match it.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(t) if t.is_finite() && t > 0.0 => {
                    ocr_timeout = t;
                    true
                }
                _ => false,
            },
            _ if file.is_none() && !a.starts_with("--") => {
                file = Some(a.clone());
                true
            }
            _ => false,
        };
        if !ok {
            eprintln!("{USAGE}");
            return 2;
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return 2;
    };
    if let Some(m) = memory {
        if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, m, m) {
            eprintln!("parley extract: cannot limit memory: {e}");
            return 2;
        }
    }
    let name = name.unwrap_or_else(|| {
        std::path::Path::new(&file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("parley extract: {file}: {e}");
            return 2;
        }
    };
    let options = Options {
        ocr: ocr.map(|p| Ocr {
            program: p.into(),
            timeout: std::time::Duration::from_secs_f64(ocr_timeout),
        }),
    };
    let limits = Limits::default();
    let out =
        std::panic::catch_unwind(|| extract_with(&bytes, &name, &declared, &limits, &options))
            .unwrap_or_else(|_| {
                Err(ExtractError::Malformed(
                    "the parser failed on this file".into(),
                ))
            });
    let v = match out {
        Ok(x) => serde_json::json!({ "ok": x }),
        Err(e) => serde_json::json!({ "error": e }),
    };
    println!("{v}");
    0
}
