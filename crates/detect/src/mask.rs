//! Replacing findings in a text.

use crate::Finding;

/// The regions covered by `findings` in a text of `len` bytes: the union of
/// their spans, sorted, each with the index of its first (leftmost) finding.
/// Spans outside the text are ignored.
pub fn merged_spans(findings: &[Finding], len: usize) -> Vec<(usize, usize, usize)> {
    let mut order: Vec<usize> = (0..findings.len())
        .filter(|&i| findings[i].start < findings[i].end && findings[i].end <= len)
        .collect();
    order.sort_by_key(|&i| (findings[i].start, std::cmp::Reverse(findings[i].end)));
    let mut out: Vec<(usize, usize, usize)> = Vec::new();
    for i in order {
        let f = &findings[i];
        match out.last_mut() {
            Some(last) if f.start < last.1 => last.1 = last.1.max(f.end),
            _ => out.push((f.start, f.end, i)),
        }
    }
    out
}

/// Returns `text` with every finding's span replaced by `replacement(finding)`.
///
/// Overlapping findings are merged: the replaced region is the union of their
/// spans, labelled by the first (leftmost) one.
///
/// ```
/// use parley_detect::{mask, Detector};
/// let d = Detector::builder().build().unwrap();
/// let text = "mail jo@example.org or call +1 312 555 0148";
/// let masked = mask(text, &d.scan(text), |f| format!("[{} hidden]", f.category));
/// assert_eq!(masked, "mail jo@example.org or call [phone hidden]");
/// ```
pub fn mask(text: &str, findings: &[Finding], replacement: impl Fn(&Finding) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (start, end, i) in merged_spans(findings, text.len()) {
        if !(text.is_char_boundary(start) && text.is_char_boundary(end)) {
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push_str(&replacement(&findings[i]));
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Checks the guarantees the detector makes about its findings for `text`:
/// every span is non-empty, inside the text, on `char` boundaries, equal to
/// `matched`, and every confidence lies in `[0, 1]`. Used by the tests and the
/// fuzz target; returns a description of the first broken guarantee.
pub fn check_findings(text: &str, findings: &[Finding]) -> Result<(), String> {
    for f in findings {
        if !(f.start < f.end && f.end <= text.len()) {
            return Err(format!(
                "span {}..{} outside text of {} bytes",
                f.start,
                f.end,
                text.len()
            ));
        }
        match text.get(f.start..f.end) {
            None => {
                return Err(format!(
                    "span {}..{} not on char boundaries",
                    f.start, f.end
                ))
            }
            Some(m) if m != f.matched => {
                return Err(format!("matched {:?} but span holds {m:?}", f.matched))
            }
            Some(_) => {}
        }
        if !(0.0..=1.0).contains(&f.confidence) {
            return Err(format!("confidence {} outside [0, 1]", f.confidence));
        }
    }
    Ok(())
}
