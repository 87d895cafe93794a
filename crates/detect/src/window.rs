//! Scanning a window of recent texts as one, so contact details split across
//! several messages are found.
//!
//! The server keeps the last few texts a sender wrote in a conversation and
//! passes them here; each finding comes back with the pieces of each text it
//! covers.

use crate::{Detector, Finding};

/// A finding in a window of texts: the finding (its span and `matched` refer
/// to the joined text) and the part of each text it covers.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFinding {
    /// The finding, with `start..end` in the joined text.
    pub finding: Finding,
    /// `(index of the text in the window, start, end)` for every text the
    /// finding covers, spans in that text's own bytes, in window order.
    pub parts: Vec<(usize, usize, usize)>,
}

impl WindowFinding {
    /// Whether the finding spans more than one text (a split attempt).
    pub fn is_split(&self) -> bool {
        self.parts.len() > 1
    }
}

/// The separator put between texts of a window: a line break, as if each
/// message were a line.
pub const WINDOW_SEPARATOR: &str = "\n";

impl Detector {
    /// Scans `texts` (oldest first) joined by line breaks ([`WINDOW_SEPARATOR`]), and maps
    /// every finding back to the texts it covers.
    ///
    /// ```
    /// use parley_detect::Detector;
    /// let d = Detector::builder().build().unwrap();
    /// let found = d.scan_window(&["my number is 312", "555", "0148"]);
    /// let split: Vec<_> = found.iter().filter(|f| f.is_split()).collect();
    /// assert_eq!(split.len(), 1);
    /// assert_eq!(split[0].parts, vec![(0, 13, 16), (1, 0, 3), (2, 0, 4)]);
    /// ```
    pub fn scan_window(&self, texts: &[&str]) -> Vec<WindowFinding> {
        self.scan_window_joined(texts, WINDOW_SEPARATOR)
    }

    /// Scans `texts` (oldest first) joined by `separator`, and maps every finding back to
    /// the texts it covers (spans in each text's own bytes; the separator belongs to no
    /// text).
    ///
    /// The separator matters: the detector reads an address across a space
    /// (`diego.ramos @gmail.com`) but not across a line break, so a caller that wants a
    /// split email found joins with a space.
    ///
    /// ```
    /// use parley_detect::Detector;
    /// let d = Detector::builder().build().unwrap();
    /// let texts = ["write to diego.ramos", "@gmail.com"];
    /// // Joined by a line break the address is not read across the two texts.
    /// assert!(!d.scan_window(&texts).iter().any(|f| f.is_split()));
    /// // Joined by a space it is, and each text gets its part.
    /// let found = d.scan_window_joined(&texts, " ");
    /// let split: Vec<_> = found.iter().filter(|f| f.is_split()).collect();
    /// assert_eq!(split.len(), 1);
    /// assert_eq!(split[0].parts, vec![(0, 9, 20), (1, 0, 10)]);
    /// ```
    pub fn scan_window_joined(&self, texts: &[&str], separator: &str) -> Vec<WindowFinding> {
        let mut joined =
            String::with_capacity(texts.iter().map(|t| t.len() + separator.len()).sum());
        let mut starts = Vec::with_capacity(texts.len());
        for (i, t) in texts.iter().enumerate() {
            if i > 0 {
                joined.push_str(separator);
            }
            starts.push(joined.len());
            joined.push_str(t);
        }
        self.scan(&joined)
            .into_iter()
            .map(|finding| {
                let parts = texts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| {
                        let (s, e) = (starts[i], starts[i] + t.len());
                        let (a, b) = (finding.start.max(s), finding.end.min(e));
                        (a < b).then(|| (i, a - s, b - s))
                    })
                    .collect();
                WindowFinding { finding, parts }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_window_finds_nothing() {
        let d = Detector::builder().build().unwrap();
        assert!(d.scan_window(&[]).is_empty());
        assert!(d.scan_window(&["", ""]).is_empty());
    }

    #[test]
    fn finding_inside_one_part_points_to_that_part_only() {
        // The finding lies wholly before the second part and after the first: neither
        // offset computation may run for a part it does not touch.
        let d = Detector::builder().build().unwrap();
        let w = d.scan_window(&["hello there", "mail me at ana.souza@gmail.com", "thanks"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].parts.len(), 1, "{w:?}");
        let (i, a, b) = w[0].parts[0];
        assert_eq!(i, 1);
        assert_eq!(
            &"mail me at ana.souza@gmail.com"[a..b],
            "ana.souza@gmail.com"
        );
    }
}
