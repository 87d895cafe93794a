//! Zip containers: office documents (DOCX, XLSX, PPTX, OpenDocument), whose text, comments,
//! metadata and hyperlinks are XML entries; and zip archives, whose entries are extracted one
//! level deep. Every entry is bounded: count, expanded size, and compression ratio.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use crate::{ExtractError, Limits, Sink};

fn open(bytes: &[u8]) -> Result<zip::ZipArchive<Cursor<&[u8]>>, ExtractError> {
    zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ExtractError::Malformed(e.to_string()))
}

/// Reads entry `i` within the limits; `budget` is what is left of the expanded bytes.
fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    i: usize,
    limits: &Limits,
    budget: &mut u64,
) -> Result<Option<(String, Vec<u8>)>, ExtractError> {
    let mut entry = zip
        .by_index(i)
        .map_err(|e| ExtractError::Malformed(e.to_string()))?;
    if entry.is_dir() {
        return Ok(None);
    }
    let name = entry.name().to_string();
    let claimed = entry.size();
    let packed = entry.compressed_size().max(1);
    if claimed / packed > limits.max_ratio {
        return Err(ExtractError::Bomb(format!(
            "{name} expands {}x (more than {}x)",
            claimed / packed,
            limits.max_ratio
        )));
    }
    if claimed > *budget {
        return Err(ExtractError::Bomb(format!(
            "the entries expand to more than {} bytes",
            limits.max_expanded_bytes
        )));
    }
    // The claimed size may lie: read at most what is left of the budget, plus one byte.
    let mut out = Vec::with_capacity(claimed.min(1 << 20) as usize);
    (&mut entry)
        .take(*budget + 1)
        .read_to_end(&mut out)
        .map_err(|e| ExtractError::Malformed(format!("{name}: {e}")))?;
    let n = out.len() as u64;
    if n > *budget || n / packed > limits.max_ratio {
        return Err(ExtractError::Bomb(format!(
            "{name} expands beyond the limits"
        )));
    }
    *budget -= n;
    Ok(Some((name, out)))
}

fn entries(zip: &zip::ZipArchive<Cursor<&[u8]>>, limits: &Limits) -> Result<usize, ExtractError> {
    if zip.len() > limits.max_entries {
        return Err(ExtractError::Bomb(format!(
            "{} entries (at most {})",
            zip.len(),
            limits.max_entries
        )));
    }
    Ok(zip.len())
}

/// The text of an XML document, and the values of its link attributes (`Target` of external
/// relationships, `xlink:href`, `r:id`-less `href`s).
pub(crate) fn xml_text(xml: &[u8], place: &str, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut buf = Vec::new();
    let mut text = String::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let local = e.local_name();
                let local = local.as_ref();
                // Paragraphs, rows, cells and line breaks separate words.
                if matches!(
                    local,
                    b"p" | b"br" | b"tab" | b"tr" | b"row" | b"c" | b"h" | b"si" | b"table-cell"
                ) {
                    text.push_str("\n\n");
                }
                for a in e.attributes().flatten() {
                    let key = a.key.local_name();
                    if matches!(key.as_ref(), b"Target" | b"href" | b"HyperlinkBase")
                        || (key.as_ref() == b"val" && local == b"instrText")
                    {
                        let v = crate::text::unescape(&String::from_utf8_lossy(&a.value));
                        if !v.starts_with('#') && !v.ends_with(".xml") && !v.ends_with(".rels") {
                            sink.push(format!("{place} link"), v);
                        }
                    }
                }
            }
            Ok(Event::Text(t)) => {
                text.push_str(&crate::text::unescape(&String::from_utf8_lossy(&t)));
            }
            Ok(Event::CData(t)) => text.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::GeneralRef(r)) => {
                text.push_str(&crate::text::unescape(&format!(
                    "&{};",
                    String::from_utf8_lossy(&r)
                )));
            }
            Ok(_) => {}
            Err(e) => {
                return Err(ExtractError::Malformed(format!("{place}: {e}")));
            }
        }
        buf.clear();
    }
    sink.push(place, text);
    Ok(())
}

/// An office document: every XML entry's text and links (document body, headers, footers,
/// comments, shared strings, sheets, slides, notes, `docProps/core.xml` and `app.xml` or
/// `meta.xml` metadata, relationships with external targets).
pub(crate) fn document(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut zip = open(bytes)?;
    let n = entries(&zip, limits)?;
    let mut budget = limits.max_expanded_bytes;
    let mut xml_seen = 0;
    for i in 0..n {
        let Some((name, data)) = read_entry(&mut zip, i, limits, &mut budget)? else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".xml") || lower.ends_with(".rels") {
            xml_seen += 1;
            // Styles, themes and settings hold no words people wrote.
            if [
                "styles.xml",
                "theme",
                "settings.xml",
                "fonttable.xml",
                "websettings.xml",
            ]
            .iter()
            .any(|s| lower.contains(s))
            {
                continue;
            }
            xml_text(&data, &name, sink)?;
        }
    }
    if xml_seen == 0 {
        return Err(ExtractError::Malformed(
            "no XML parts in the document".into(),
        ));
    }
    Ok(())
}

/// A zip archive: every entry's name, and the entries whose type is known extracted like a
/// file of their own (not a zip in a zip: one level deep).
pub(crate) fn archive(bytes: &[u8], limits: &Limits, sink: &mut Sink) -> Result<(), ExtractError> {
    let mut zip = open(bytes)?;
    let n = entries(&zip, limits)?;
    let mut budget = limits.max_expanded_bytes;
    for i in 0..n {
        let Some((name, data)) = read_entry(&mut zip, i, limits, &mut budget)? else {
            continue;
        };
        sink.push("archive entry name", &name);
        let base = name.rsplit('/').next().unwrap_or(&name);
        match crate::check_type(&data, base, "") {
            crate::TypeVerdict::Ok(kind) => {
                let mut inner = Sink::new(limits);
                crate::extract_kind(kind, &data, limits, &mut inner, 1)?;
                sink.truncated |= inner.truncated;
                for p in inner.parts {
                    sink.push(format!("{name}: {}", p.place), p.text);
                }
            }
            crate::TypeVerdict::Mismatch(why) => {
                return Err(ExtractError::TypeMismatch(format!("{name}: {why}")))
            }
            crate::TypeVerdict::Executable(why) => {
                return Err(ExtractError::Refused(format!("{name}: {why}")))
            }
        }
    }
    Ok(())
}
