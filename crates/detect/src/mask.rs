//! Replacing findings in a text.

use crate::Finding;

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
    let mut sorted: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.start < f.end && f.end <= text.len())
        .collect();
    sorted.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut i = 0;
    while i < sorted.len() {
        let first = sorted[i];
        let mut end = first.end;
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].start < end {
            end = end.max(sorted[j].end);
            j += 1;
        }
        if first.start >= pos && text.is_char_boundary(first.start) && text.is_char_boundary(end) {
            out.push_str(&text[pos..first.start]);
            out.push_str(&replacement(first));
            pos = end;
        }
        i = j;
    }
    out.push_str(&text[pos..]);
    out
}
