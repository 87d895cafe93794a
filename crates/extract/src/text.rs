//! Text formats: plain text, CSV and Markdown as they are; HTML without its markup but with its
//! link targets; RTF without control words; vCard fields one per line.

use crate::{ExtractError, Sink};

/// UTF-8 (a BOM dropped; invalid sequences replaced) or UTF-16 with a BOM.
pub(crate) fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let utf16 = |rest: &[u8], le: bool| {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn plain(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    sink.push("text", decode(bytes));
    Ok(())
}

/// Decodes the character references and the common named entities of HTML and XML.
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // `;` is ASCII: its index is a char boundary whatever precedes it.
        let end = rest.bytes().take(12).position(|b| b == b';');
        let decoded = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "commat" => Some('@'),
                "period" => Some('.'),
                _ => {
                    let n = if let Some(h) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        name.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// HTML: the text between tags (block tags become line breaks), and every `href`, `src` and
/// `content` attribute value (links, `mailto:`, `tel:`, meta tags), unescaped.
pub(crate) fn html(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    let src = decode(bytes);
    let mut text = String::with_capacity(src.len() / 2);
    let mut links: Vec<String> = Vec::new();
    let mut rest = src.as_str();
    while let Some(open) = rest.find('<') {
        text.push_str(&unescape(&rest[..open]));
        let after = &rest[open..];
        let Some(close) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[1..close];
        let lower = tag.to_ascii_lowercase();
        for attr in ["href", "src", "content", "title", "alt"] {
            let mut from = 0;
            while let Some(p) = lower[from..].find(attr) {
                let at = from + p + attr.len();
                from = at;
                let v = tag[at..].trim_start();
                let Some(v) = v.strip_prefix('=') else {
                    continue;
                };
                let v = v.trim_start();
                let value = match v.chars().next() {
                    Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or_default(),
                    _ => v.split([' ', '\t', '\n', '>']).next().unwrap_or_default(),
                };
                if !value.is_empty() {
                    links.push(unescape(value));
                }
            }
        }
        let name = lower
            .trim_start_matches('/')
            .split([' ', '\t', '\n', '/'])
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "p" | "br"
                | "div"
                | "li"
                | "tr"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "td"
                | "th"
        ) {
            text.push('\n');
        }
        rest = &after[close + 1..];
    }
    text.push_str(&unescape(rest));
    sink.push("text", text);
    for l in links {
        sink.push("link", l);
    }
    Ok(())
}

/// RTF: text without control words and groups' markup; `\'hh` bytes read as Windows-1252
/// (ASCII kept), `\uN` as Unicode; field instructions (`HYPERLINK "mailto:..."`) kept.
pub(crate) fn rtf(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    let src = decode(bytes);
    let mut out = String::with_capacity(src.len() / 2);
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' | '\r' | '\n' => {}
            '\\' => match chars.peek().copied() {
                Some('\'') => {
                    chars.next();
                    let h: String = chars.by_ref().take(2).collect();
                    if let Ok(b) = u8::from_str_radix(&h, 16) {
                        out.push(if b.is_ascii() { b as char } else { ' ' });
                    }
                }
                Some(c2) if c2.is_ascii_alphabetic() => {
                    let mut word = String::new();
                    while let Some(&a) = chars.peek() {
                        if a.is_ascii_alphabetic() {
                            word.push(a);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    let mut num = String::new();
                    while let Some(&d) = chars.peek() {
                        if d.is_ascii_digit() || (d == '-' && num.is_empty()) {
                            num.push(d);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    if chars.peek() == Some(&' ') {
                        chars.next();
                    }
                    match word.as_str() {
                        "par" | "line" | "row" | "cell" | "tab" => out.push('\n'),
                        "u" => {
                            if let Some(ch) = num
                                .parse::<i32>()
                                .ok()
                                .and_then(|n| char::from_u32(n.rem_euclid(65536) as u32))
                            {
                                out.push(ch);
                            }
                            // The fallback character after \uN.
                            if chars.peek().is_some_and(|c| *c != '\\' && *c != '{') {
                                chars.next();
                            }
                        }
                        _ => {}
                    }
                }
                Some(c2) => {
                    chars.next();
                    if matches!(c2, '\\' | '{' | '}') {
                        out.push(c2);
                    }
                }
                None => {}
            },
            c => out.push(c),
        }
    }
    sink.push("text", out);
    Ok(())
}

/// vCard: every property value, one line each, with its name (`TEL`, `EMAIL`, `ADR`, `IMPP`,
/// `URL`, `X-SOCIALPROFILE`...), folded lines joined.
pub(crate) fn vcard(bytes: &[u8], sink: &mut Sink) -> Result<(), ExtractError> {
    let src = decode(bytes);
    let mut unfolded = String::with_capacity(src.len());
    for line in src.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(cont) = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            unfolded.push_str(cont);
        } else {
            unfolded.push('\n');
            unfolded.push_str(line);
        }
    }
    let mut text = String::new();
    for line in unfolded.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let prop = name.split(';').next().unwrap_or(name).to_ascii_uppercase();
        let prop = prop.rsplit('.').next().unwrap_or(&prop).to_string();
        if matches!(
            prop.as_str(),
            "BEGIN" | "END" | "VERSION" | "PRODID" | "REV" | "UID"
        ) {
            continue;
        }
        let value = value
            .replace("\\,", ",")
            .replace("\\;", ";")
            .replace(';', " ");
        text.push_str(&format!("{prop}: {}\n", value.trim()));
    }
    sink.push("vcard", text);
    Ok(())
}
