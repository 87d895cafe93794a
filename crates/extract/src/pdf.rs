//! PDF through `lopdf`: the text of each page (up to the page limit), the document
//! information (author, creator, producer, title, subject, keywords), and every URI of a link
//! annotation or action (`mailto:`, `tel:`, web links).

use lopdf::{Document, Object};

use crate::{ExtractError, Limits, Sink};

fn string_of(o: &Object) -> Option<String> {
    match o {
        Object::String(bytes, _) => Some(decode_pdf_string(bytes)),
        Object::Name(n) => Some(String::from_utf8_lossy(n).into_owned()),
        _ => None,
    }
}

/// PDF text strings: UTF-16BE with a BOM, else PDFDocEncoding (read as Latin-1).
fn decode_pdf_string(b: &[u8]) -> String {
    if let Some(rest) = b.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    b.iter().map(|&c| c as char).collect()
}

/// Every `/URI` in an object, looking into inline dictionaries and arrays (an annotation's
/// action is usually inline), a few levels deep.
fn uris(obj: &Object, sink: &mut Sink, depth: u8) {
    if depth > 4 {
        return;
    }
    match obj {
        Object::Dictionary(d) => {
            for (k, v) in d.iter() {
                if k.as_slice() == b"URI" {
                    if let Some(s) = string_of(v) {
                        sink.push("link", s);
                    }
                } else {
                    uris(v, sink, depth + 1);
                }
            }
        }
        Object::Array(a) => a.iter().for_each(|v| uris(v, sink, depth + 1)),
        _ => {}
    }
}

pub(crate) fn extract(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let doc = Document::load_mem(bytes).map_err(|e| ExtractError::Malformed(e.to_string()))?;
    // Document information: who made it.
    if let Ok(info) = doc
        .trailer
        .get(b"Info")
        .and_then(|o| o.as_reference())
        .and_then(|id| doc.get_dictionary(id))
    {
        for (k, v) in info.iter() {
            let key = String::from_utf8_lossy(k).to_ascii_lowercase();
            if matches!(key.as_str(), "creationdate" | "moddate" | "trapped") {
                continue;
            }
            if let Some(s) = string_of(v) {
                sink.push(format!("metadata:{key}"), s);
            }
        }
    }
    // Links: every /URI (link annotations and URI actions, wherever they sit).
    for obj in doc.objects.values() {
        uris(obj, sink, 0);
    }
    let pages = doc.get_pages();
    if pages.len() > limits.max_pages {
        sink.truncated = true;
    }
    for (&n, _) in pages.iter().take(limits.max_pages) {
        match doc.extract_text(&[n]) {
            Ok(t) => sink.push(format!("page {n}"), t),
            Err(e) => return Err(ExtractError::Malformed(format!("page {n}: {e}"))),
        }
    }
    Ok(())
}
