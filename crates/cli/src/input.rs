//! Reading JSON Lines input: one record per line, every bad line reported with
//! its file and line number, nothing silently dropped.

use anyhow::Context;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// A line of input: its place and either its JSON value or why it is bad.
pub struct Line {
    /// Where it came from, for messages (`file:line`).
    pub source: String,
    /// 1-based line number.
    pub number: usize,
    pub value: Result<Value, LineError>,
}

/// Why a line could not be read.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LineError {
    /// A stable code: `invalid_utf8`, `invalid_json`, `not_an_object`,
    /// `missing_text`, `text_too_long`, `bad_field`.
    pub code: &'static str,
    pub message: String,
}

impl LineError {
    pub fn new(code: &'static str, message: impl Into<String>) -> LineError {
        LineError {
            code,
            message: message.into(),
        }
    }
}

/// Opens `path` (`-` for standard input) and returns its size when known.
pub fn open(path: &Path) -> anyhow::Result<(Box<dyn Read>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), None));
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata().ok().map(|m| m.len());
    Ok((Box::new(f), len))
}

/// The longest line read whole for a text limit of `max_text_bytes`: the text may be
/// JSON-escaped (`\uXXXX`, six bytes per byte at worst), plus room for the other fields.
pub fn line_cap(max_text_bytes: usize) -> usize {
    max_text_bytes.saturating_mul(6).saturating_add(64 * 1024)
}

/// Reads one line (up to and including `\n`) into `buf`, keeping at most `cap` bytes: the
/// rest of a longer line is read and dropped, never held in memory. Returns the line's full
/// length (0 at the end of input) and whether it was cut.
pub fn read_capped_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<(u64, bool)> {
    let mut total = 0u64;
    let mut cut = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((total, cut));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if take > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        reader.consume(take);
        total += take as u64;
        if done {
            return Ok((total, cut));
        }
    }
}

/// Calls `each` for every non-blank line of `reader`, with the number of bytes
/// read so far (for progress). A line longer than `max_line` bytes is not kept in memory:
/// it is reported as `text_too_long` and the run goes on with the next line.
pub fn for_each_line(
    name: &str,
    reader: impl Read,
    max_line: usize,
    mut each: impl FnMut(Line, u64) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let mut buf = Vec::new();
    let mut number = 0;
    let mut read = 0u64;
    loop {
        buf.clear();
        if buf.capacity() > 1 << 20 {
            // Give back the memory of a long line once it is done.
            buf.shrink_to(1 << 16);
        }
        let (n, cut) = read_capped_line(&mut reader, &mut buf, max_line)
            .with_context(|| format!("cannot read {name}"))?;
        if n == 0 {
            return Ok(());
        }
        read += n;
        number += 1;
        let value = if cut {
            Err(LineError::new(
                "text_too_long",
                format!("the line is {n} bytes; lines longer than {max_line} bytes are skipped"),
            ))
        } else {
            let bytes = trim_eol(&buf);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match std::str::from_utf8(bytes) {
                Err(e) => Err(LineError::new(
                    "invalid_utf8",
                    format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
                )),
                Ok(s) => serde_json::from_str::<Value>(s)
                    .map_err(|e| LineError::new("invalid_json", format!("invalid JSON: {e}"))),
            }
        };
        each(
            Line {
                source: format!("{name}:{number}"),
                number,
                value,
            },
            read,
        )?;
    }
}

fn trim_eol(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// The `text` field of a record, checked against the size limit.
pub fn text_field(v: &Value, max_bytes: usize) -> Result<&str, LineError> {
    let obj = v
        .as_object()
        .ok_or_else(|| LineError::new("not_an_object", "each line must be a JSON object"))?;
    let text = match obj.get("text") {
        None | Some(Value::Null) => {
            return Err(LineError::new(
                "missing_text",
                "the line has no \"text\" field",
            ))
        }
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(LineError::new("bad_field", "\"text\" must be a string")),
    };
    if text.len() > max_bytes {
        return Err(LineError::new(
            "text_too_long",
            format!("text is {} bytes; the limit is {max_bytes}", text.len()),
        ));
    }
    Ok(text)
}

/// An optional string field, or an error if it is present with another type.
pub fn str_field<'v>(v: &'v Value, name: &str) -> Result<Option<&'v str>, LineError> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(LineError::new(
            "bad_field",
            format!("\"{name}\" must be a string"),
        )),
    }
}

/// The `id` of a record as JSON (any scalar is kept as it is).
pub fn id_field(v: &Value) -> Value {
    v.get("id").cloned().unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_line_is_cut_and_the_next_one_read_whole() {
        let input = format!("{}\n{{\"text\":\"hi\"}}\n", "x".repeat(10_000));
        let mut r = BufReader::with_capacity(16, input.as_bytes());
        let mut buf = Vec::new();
        let (n, cut) = read_capped_line(&mut r, &mut buf, 100).unwrap();
        assert_eq!((n, cut, buf.len()), (10_001, true, 100));
        buf.clear();
        let (n, cut) = read_capped_line(&mut r, &mut buf, 100).unwrap();
        assert_eq!((n, cut), (14, false));
        assert_eq!(buf, b"{\"text\":\"hi\"}\n");
        buf.clear();
        assert_eq!(read_capped_line(&mut r, &mut buf, 100).unwrap(), (0, false));
    }

    #[test]
    fn over_long_lines_are_reported_and_skipped() {
        let input = format!("{}\n{{\"text\":\"hi\"}}\n", "y".repeat(5_000));
        let mut seen = Vec::new();
        for_each_line("in", input.as_bytes(), 1_000, |l, _| {
            seen.push((l.number, l.value.map_err(|e| e.code).is_ok()));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, [(1, false), (2, true)]);
    }
}
