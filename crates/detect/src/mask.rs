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
