//! The normalization layer: several *views* of one text.
//!
//! A [`View`] is a rewritten copy of the original text in which every byte
//! remembers the span of the original text it came from, so a recognizer can
//! match on the view and report a span of the original. Views are built once
//! per scan and shared by all recognizers (see [`Views`]).

/// A rewritten text whose every byte maps back to a byte span of the original.
#[derive(Debug, Clone, Default)]
pub struct View {
    text: String,
    /// For byte `i` of `text`: the original span `(start, end)` of the source
    /// char (or chars) it was produced from.
    map: Vec<(u32, u32)>,
}

impl View {
    /// An empty view with room for `cap` bytes.
    pub fn with_capacity(cap: usize) -> View {
        View {
            text: String::with_capacity(cap),
            map: Vec::with_capacity(cap),
        }
    }

    /// The identity view of `original`.
    pub fn identity(original: &str) -> View {
        let mut v = View::with_capacity(original.len());
        for (i, c) in original.char_indices() {
            v.push(c, i, i + c.len_utf8());
        }
        v
    }

    /// The view's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The view's length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the view is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Appends `c`, produced from the original byte span `orig_start..orig_end`.
    pub fn push(&mut self, c: char, orig_start: usize, orig_end: usize) {
        let n = c.len_utf8();
        self.text.push(c);
        for _ in 0..n {
            self.map.push((orig_start as u32, orig_end as u32));
        }
    }

    /// Appends a string, every byte of which came from `orig_start..orig_end`.
    pub fn push_str(&mut self, s: &str, orig_start: usize, orig_end: usize) {
        self.text.push_str(s);
        for _ in 0..s.len() {
            self.map.push((orig_start as u32, orig_end as u32));
        }
    }

    /// The last char pushed, if any.
    pub fn last_char(&self) -> Option<char> {
        self.text.chars().next_back()
    }

    /// Maps the view's byte span `start..end` back to a span of the original
    /// text. Returns `None` for an empty or out-of-range span.
    pub fn to_original(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end || end > self.map.len() {
            return None;
        }
        let (s, _) = self.map[start];
        let (_, e) = self.map[end - 1];
        Some((s as usize, e as usize))
    }
}

/// All views of one text, built once per scan.
#[derive(Debug, Clone)]
pub struct Views<'t> {
    /// The original text.
    pub original: &'t str,
    /// Unicode-folded: compatibility forms (fullwidth, mathematical, circled,
    /// superscript), every decimal digit script to ASCII digits, keycap digits,
    /// confusable letters to Latin, zero-width and format characters removed,
    /// lowercased. `@` and digits are never turned into letters.
    pub folded: View,
    /// The folded view with letters and digits that were spaced out or
    /// separated by punctuation joined up ("s a m o @ y a h o o . c o m" ->
    /// "samo@yahoo.com", "3-1-2" -> "312"), for recognizers that look for
    /// tokens people break apart.
    pub collapsed: View,
}

impl<'t> Views<'t> {
    /// Builds every view of `original`.
    pub fn new(original: &'t str) -> Views<'t> {
        Views {
            original,
            folded: View::identity(original),
            collapsed: View::identity(original),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_back() {
        let v = View::identity("aé b");
        assert_eq!(v.to_original(1, 3), Some((1, 3)));
        assert_eq!(v.to_original(0, v.len()), Some((0, 5)));
        assert_eq!(v.to_original(2, 2), None);
    }
}
