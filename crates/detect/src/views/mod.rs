//! The normalization layer: several *views* of one text.
//!
//! A [`View`] is a rewritten copy of the original text in which every byte
//! remembers the span of the original text it came from, so a recognizer can
//! match on the view and report a span of the original. Views are built once
//! per scan and shared by all recognizers (see [`Views`]).
//!
//! Building is a single pass per view. A plain-ASCII text takes a fast path
//! (lowercasing only); everything Unicode-specific runs only on non-ASCII chars.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

mod chars;

pub(crate) use chars::is_alnum;
use chars::{confusable, decimal_digit, dingbat_digit, is_dropped, is_dropped_in, nfkc_stable};

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
        self.push_span(c, (orig_start as u32, orig_end as u32));
    }

    fn push_span(&mut self, c: char, span: (u32, u32)) {
        let n = c.len_utf8();
        self.text.push(c);
        for _ in 0..n {
            self.map.push(span);
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

    /// The original span of view byte `i` (`None` out of range).
    fn span_at(&self, i: usize) -> Option<(u32, u32)> {
        self.map.get(i).copied()
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
        let folded = fold(original);
        let collapsed = collapse(&folded);
        Views {
            original,
            folded,
            collapsed,
        }
    }
}

/// Builds the folded view (see [`Views::folded`]).
pub fn fold(original: &str) -> View {
    if original.is_ascii() {
        // Lowercasing only: one byte in, one byte out.
        return View {
            text: original.to_ascii_lowercase(),
            map: (0..original.len() as u32).map(|i| (i, i + 1)).collect(),
        };
    }
    let v = View::with_capacity(original.len());
    let mut f = Folder {
        out: v,
        word: Vec::new(),
    };
    for (i, c) in original.char_indices() {
        let span = (i as u32, (i + c.len_utf8()) as u32);
        if c.is_ascii() {
            f.feed(c, span);
            continue;
        }
        // One category lookup decides the common cases.
        let gc = c.general_category();
        if is_dropped_in(c, gc) {
            continue;
        }
        let digit = if gc == GeneralCategory::DecimalNumber {
            decimal_digit(c)
        } else {
            dingbat_digit(c)
        };
        if let Some(d) = digit {
            f.feed(char::from(b'0' + d), span);
            continue;
        }
        // Most letters of most scripts are their own compatibility form:
        // only the others go through the (costly) NFKC iterator.
        if nfkc_stable(c) || is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            f.feed(c, span);
            continue;
        }
        for k in std::iter::once(c).nfkc() {
            if k.is_ascii() {
                f.feed(k, span);
            } else if is_dropped(k) {
                continue;
            } else if let Some(d) = decimal_digit(k) {
                f.feed(char::from(b'0' + d), span);
            } else {
                f.feed(k, span);
            }
        }
    }
    f.flush();
    f.out
}

/// Buffers one word (a run of alphanumerics) so that confusable folding can be
/// decided per word: a word is folded to Latin only if it already contains a
/// Latin letter (mixed-script spoofing such as "gmаil" with a Cyrillic `а`) or
/// if every one of its letters has a Latin look-alike (whole-word spoofing such
/// as "раураl"). Real Cyrillic or Greek words ("три", "δύο") are left alone.
struct Folder {
    out: View,
    word: Vec<(char, (u32, u32))>,
}

impl Folder {
    fn feed(&mut self, c: char, span: (u32, u32)) {
        if is_alnum(c) {
            self.word.push((c, span));
        } else {
            self.flush();
            push_lower(&mut self.out, c, span);
        }
    }

    fn flush(&mut self) {
        if self.word.is_empty() {
            return;
        }
        // An ASCII word has nothing to fold but its case.
        if self.word.iter().all(|&(c, _)| c.is_ascii()) {
            for &(c, span) in &self.word {
                self.out.push_span(c.to_ascii_lowercase(), span);
            }
            self.word.clear();
            return;
        }
        let has_latin = self.word.iter().any(|&(c, _)| c.is_ascii_alphabetic());
        let all_confusable = self
            .word
            .iter()
            .all(|&(c, _)| c.is_ascii() || confusable(c).is_some());
        let fold = has_latin || all_confusable;
        for &(c, span) in &self.word {
            let c = if fold { confusable(c).unwrap_or(c) } else { c };
            push_lower(&mut self.out, c, span);
        }
        self.word.clear();
    }
}

/// Pushes `c` lowercased, skipping the case tables for scripts without case.
fn push_lower(out: &mut View, c: char, span: (u32, u32)) {
    let cp = c as u32;
    if cp < 0x80 {
        out.push_span(c.to_ascii_lowercase(), span);
    } else if matches!(cp, 0x600..=0x6FF | 0x900..=0x97F | 0x2000..=0x206F | 0x3000..=0x9FFF | 0xAC00..=0xD7A3 | 0x1F300..=0x1FAFF)
    {
        out.push_span(c, span);
    } else {
        for l in c.to_lowercase() {
            out.push_span(l, span);
        }
    }
}

/// Builds the collapsed view (see [`Views::collapsed`]) from the folded one.
///
/// A run of at least three single-character tokens (a letter or digit standing
/// alone), each separated from the next by whitespace and/or one punctuation
/// mark, is joined: whitespace and joiners (`-`, `_`, `/`, `|`, `,`, `*`, ...)
/// are dropped; `@` is kept; `.` is kept when it stands between spaces
/// ("y a h o o . c o m") and dropped when it glues digits ("3.1.2"). Everything
/// else is copied from the folded view unchanged, so ordinary prose (whose words
/// are longer than one letter) is never glued.
pub fn collapse(folded: &View) -> View {
    let text = folded.text();
    // Tokens: (start, end, is_single_alnum)
    let mut tokens: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        if is_alnum(c) {
            let start = i;
            let mut n = 0;
            while i < text.len() {
                match text[i..].chars().next() {
                    Some(c) if is_alnum(c) => {
                        i += c.len_utf8();
                        n += 1;
                    }
                    _ => break,
                }
            }
            tokens.push((start, i, n == 1));
        } else {
            i += c.len_utf8();
        }
    }
    if tokens.iter().filter(|t| t.2).count() < 3 {
        return folded.clone();
    }
    let mut out = View::with_capacity(text.len());
    // Decide which gaps between consecutive single tokens are joinable.
    let gap_kind = |a: usize, b: usize| -> Option<Option<char>> {
        // Returns Some(kept_char) if joinable.
        let gap = &text[a..b];
        if gap.len() > 6 || gap.contains('\n') {
            return None;
        }
        let mut punct: Option<char> = None;
        let mut space = false;
        for c in gap.chars() {
            if c.is_whitespace() {
                space = true;
            } else if punct.is_none()
                && matches!(
                    c,
                    '-' | '_'
                        | '/'
                        | '|'
                        | ','
                        | '*'
                        | '+'
                        | '~'
                        | '.'
                        | '@'
                        | '·'
                        | '–'
                        | '—'
                        | '\''
                        | ':'
                )
            {
                punct = Some(c);
            } else {
                return None;
            }
        }
        Some(match punct {
            Some('@') => Some('@'),
            Some('.') if space => Some('.'),
            _ => None,
        })
    };
    // Mark runs: for each token index, whether it joins with the next.
    let mut joins: Vec<Option<Option<char>>> = vec![None; tokens.len()];
    let mut k = 0;
    while k < tokens.len() {
        if !tokens[k].2 {
            k += 1;
            continue;
        }
        let mut e = k;
        while e + 1 < tokens.len() && tokens[e + 1].2 {
            match gap_kind(tokens[e].1, tokens[e + 1].0) {
                Some(_) => e += 1,
                None => break,
            }
        }
        // A run glued by one mark to a longer token ("127.0.0.1", "2 x 1,250")
        // belongs to that token: leave it alone.
        let glued = |a: usize, b: usize| {
            let gap = &text[a..b];
            gap.chars().count() == 1 && !gap.contains(char::is_whitespace) && gap != "@"
        };
        let glued_before = k > 0 && glued(tokens[k - 1].1, tokens[k].0);
        let glued_after = e + 1 < tokens.len() && glued(tokens[e].1, tokens[e + 1].0);
        if e - k + 1 >= 3 && !glued_before && !glued_after {
            for j in k..e {
                joins[j] = gap_kind(tokens[j].1, tokens[j + 1].0);
            }
        }
        k = e + 1;
    }
    let mut pos = 0;
    for (j, &(_, e, _)) in tokens.iter().enumerate() {
        copy(folded, &mut out, pos, e);
        pos = e;
        if let Some(kept) = joins[j] {
            let next = tokens[j + 1].0;
            if let Some(c) = kept {
                if let Some(off) = text[e..next].find(c) {
                    if let Some(span) = folded.span_at(e + off) {
                        out.push_span(c, span);
                    }
                }
            }
            pos = next;
        }
    }
    copy(folded, &mut out, pos, text.len());
    out
}

fn copy(from: &View, to: &mut View, start: usize, end: usize) {
    if start >= end {
        return;
    }
    let (Some(slice), Some(spans)) = (from.text().get(start..end), from.map.get(start..end)) else {
        return;
    };
    to.text.push_str(slice);
    to.map.extend_from_slice(spans);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back<'a>(text: &'a str, v: &View, needle: &str) -> &'a str {
        let s = v.text().find(needle).expect("needle in view");
        let (a, b) = v.to_original(s, s + needle.len()).expect("span");
        &text[a..b]
    }

    #[test]
    fn identity_maps_back() {
        let v = View::identity("aé b");
        assert_eq!(v.to_original(1, 3), Some((1, 3)));
        assert_eq!(v.to_original(0, v.len()), Some((0, 5)));
        assert_eq!(v.to_original(2, 2), None);
    }

    #[test]
    fn folds_compatibility_digits_and_format_chars() {
        let t = "ＣＡＬＬ ３１２\u{200b}555\u{2060}0148 ٣١٢ ३१२ ๓๑๒ 𝟑𝟏𝟐 ①② x² ⑶⑴ ❸❶ ➊⓿";
        let v = fold(t);
        assert_eq!(v.text(), "call 3125550148 312 312 312 312 12 x2 31 31 10");
        assert_eq!(back(t, &v, "3125550148"), "３１２\u{200b}555\u{2060}0148");
    }

    #[test]
    fn keycaps_and_bidi() {
        let t = "3\u{fe0f}\u{20e3}1\u{fe0f}\u{20e3}\u{202e}2";
        assert_eq!(fold(t).text(), "312");
    }

    #[test]
    fn confusables_only_in_spoofed_words() {
        // Cyrillic а in a Latin word, and a whole word of look-alikes.
        assert_eq!(fold("gmаil.com").text(), "gmail.com");
        assert_eq!(fold("ѕкуре").text(), "skype");
        // Real Russian and Greek words stay.
        assert_eq!(fold("три пять").text(), "три пять");
        assert_eq!(fold("Δύο").text(), "δύο");
        assert_eq!(fold("ᴡʜᴀᴛsᴀᴘᴘ").text(), "whatsapp");
        // @ and non-Latin digits never become letters.
        assert_eq!(fold("а@٠").text(), "a@0");
    }

    #[test]
    fn collapses_spaced_runs_only() {
        let c = collapse(&fold("write s a m o @ y a h o o . c o m now"));
        assert_eq!(c.text(), "write samo@yahoo.com now");
        let c = collapse(&fold("call 3 1 2 - 5 5 5 - 0 1 4 8"));
        assert_eq!(c.text(), "call 3125550148");
        let c = collapse(&fold("3-1-2.5.5.5"));
        assert_eq!(c.text(), "312555");
        let c = collapse(&fold("run it at 127.0.0.1:5000, 2 x 1,250"));
        assert_eq!(c.text(), "run it at 127.0.0.1:5000, 2 x 1,250");
        let c = collapse(&fold("I am a good fit, see it at 9 am"));
        assert_eq!(c.text(), "i am a good fit, see it at 9 am");
        let t = "mail: r a l p h 6 5 @ m a i l . r u";
        let v = Views::new(t);
        assert_eq!(v.collapsed.text(), "mail: ralph65@mail.ru");
        assert_eq!(
            back(t, &v.collapsed, "ralph65@mail.ru"),
            "r a l p h 6 5 @ m a i l . r u"
        );
    }

    #[test]
    fn nfkc_stable_chars_are_their_own_nfkc() {
        for c in (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|&c| nfkc_stable(c))
        {
            let n: String = std::iter::once(c).nfkc().collect();
            assert_eq!(n, c.to_string(), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn fast_char_classes_agree_with_std() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_alnum(c), c.is_alphanumeric(), "{c:?} U+{:04X}", c as u32);
            let mut v = View::default();
            push_lower(&mut v, c, (0, 1));
            assert_eq!(
                v.text(),
                c.to_lowercase().collect::<String>(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in [
            "",
            "\u{200b}",
            "é",
            "\u{20e3}",
            "a\u{0301}",
            "ﷺ",
            "𝟘𝟙",
            "ǅ",
            "ß",
        ] {
            let v = Views::new(t);
            let _ = v.folded.to_original(0, v.folded.len());
            let _ = v.collapsed.to_original(0, v.collapsed.len());
        }
    }
}
