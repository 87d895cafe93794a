//! Images: the text fields of their EXIF metadata (description, artist, copyright, user
//! comment, the Windows `XP*` fields, ...) and of an XMP packet; then the pixels, decoded with
//! bounds ([`crate::pixels`]): the text of QR codes, and the text in the picture through OCR
//! when the sink has an OCR program ([`crate::ocr`]).

use crate::{ocr, pixels, ExtractError, Limits, Sink};

/// Most bytes of an XMP packet read.
const MAX_XMP: usize = 1024 * 1024;

/// EXIF tags of the Windows `XP*` fields (UTF-16LE in BYTE arrays).
const XP_TAGS: [(u16, &str); 5] = [
    (0x9c9b, "XPTitle"),
    (0x9c9c, "XPComment"),
    (0x9c9d, "XPAuthor"),
    (0x9c9e, "XPKeywords"),
    (0x9c9f, "XPSubject"),
];

pub fn extract(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    metadata(bytes, sink);
    let Some(img) = pixels::decode(bytes, limits)? else {
        return Ok(());
    };
    pixels::qr_codes(&img, sink);
    if let Some(o) = sink.ocr.clone() {
        ocr::read(&img, &o, sink)?;
    }
    Ok(())
}

/// EXIF and XMP text only.
pub fn metadata(bytes: &[u8], sink: &mut Sink) {
    exif(bytes, sink);
    xmp(bytes, sink);
}

fn exif(bytes: &[u8], sink: &mut Sink) {
    let mut cursor = std::io::Cursor::new(bytes);
    // No EXIF, or EXIF that does not parse: nothing to read (the picture itself may be fine).
    let Ok(exif) = exif::Reader::new().read_from_container(&mut cursor) else {
        return;
    };
    for f in exif.fields() {
        let place = format!("metadata:exif:{}", f.tag);
        match &f.value {
            exif::Value::Ascii(parts) => {
                for p in parts {
                    sink.push(place.clone(), String::from_utf8_lossy(p));
                }
            }
            exif::Value::Undefined(b, _) if f.tag == exif::Tag::UserComment => {
                // 8 bytes of character code, then the comment.
                let (code, text) = b.split_at(b.len().min(8));
                let text = if code.starts_with(b"UNICODE") {
                    utf16(text)
                } else {
                    String::from_utf8_lossy(text).into_owned()
                };
                sink.push(place, text.trim_matches('\0'));
            }
            exif::Value::Byte(b) => {
                if let Some((_, name)) = XP_TAGS.iter().find(|(n, _)| f.tag.number() == *n) {
                    sink.push(format!("metadata:exif:{name}"), utf16(b).trim_matches('\0'));
                }
            }
            _ => {}
        }
    }
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// The text and attribute values of an XMP packet (`<x:xmpmeta ...>...</x:xmpmeta>`).
fn xmp(bytes: &[u8], sink: &mut Sink) {
    let Some(start) = find(bytes, b"<x:xmpmeta") else {
        return;
    };
    let rest = &bytes[start..bytes.len().min(start + MAX_XMP)];
    let end = find(rest, b"</x:xmpmeta>").map_or(rest.len(), |e| e + 12);
    let packet = String::from_utf8_lossy(&rest[..end]);
    let mut out = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in packet.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
                out.push(' ');
            }
            (true, '>') => {
                in_tag = false;
                // Attribute values (`dc:creator="..."`, `rdf:resource="mailto:..."`).
                for (i, v) in tag.split('"').enumerate() {
                    if i % 2 == 1 && !v.trim().is_empty() {
                        out.push_str(v);
                        out.push(' ');
                    }
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    let text = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'");
    let text: Vec<&str> = text.split_whitespace().collect();
    sink.push("metadata:xmp", text.join(" "));
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn xmp_text_and_attributes() {
        let img = b"\x89PNG....<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:Description dc:creator=\"Ana Lima\"><dc:rights>Call +1 415 555 0100 &amp; ask</dc:rights></rdf:Description></x:xmpmeta>....";
        let mut sink = Sink::new(&Limits::default());
        metadata(img, &mut sink);
        let t = &sink.parts[0];
        assert_eq!(t.place, "metadata:xmp");
        assert!(t.text.contains("Ana Lima"), "{}", t.text);
        assert!(t.text.contains("+1 415 555 0100 & ask"), "{}", t.text);
    }

    #[test]
    fn no_metadata_no_parts() {
        let mut sink = Sink::new(&Limits::default());
        metadata(b"\xff\xd8\xff\xe0 not really", &mut sink);
        assert!(sink.parts.is_empty());
        // Pixels that do not decode: a malformed picture.
        assert!(matches!(
            extract(
                b"\xff\xd8\xff\xe0 not really",
                &Limits::default(),
                &mut sink
            ),
            Err(ExtractError::Malformed(_))
        ));
    }
}
