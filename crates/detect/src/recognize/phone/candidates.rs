//! Candidates: runs of numeric tokens joined by phone-like gaps.

use crate::recognize::numbers::{Kind, Source, Tokens};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// Whether `gap` (the text between two numeric tokens) may separate the
/// parts of one phone number: whitespace (at most two line breaks) and a few
/// marks people put between digit groups (dashes, dots, slashes, brackets,
/// stars, bullets, emoji); ", " and ";" only next to number words.
fn gap_ok(gap: &str, words_both_sides: bool) -> bool {
    if gap.is_empty() {
        return true;
    }
    let (mut marks, mut newlines, mut n) = (0, 0, 0);
    for c in gap.chars() {
        n += 1;
        match c {
            ' ' | '\t' | '\u{a0}' | '\r' => {}
            '\n' => newlines += 1,
            '-' | '.' | '(' | ')' | '[' | ']' | '{' | '}' | '/' | '\\' | '_' | '|' | '~' | '*' => {
                marks += 1
            }
            ',' | ';' if words_both_sides => marks += 1,
            c if !c.is_ascii()
                && matches!(
                    c.general_category(),
                    GeneralCategory::DashPunctuation
                        | GeneralCategory::OtherSymbol
                        | GeneralCategory::OtherPunctuation
                        | GeneralCategory::ModifierSymbol
                ) =>
            {
                marks += 1
            }
            _ => return false,
        }
    }
    marks <= 3 && n <= 8 && newlines <= 2
}

/// Words people put between the parts of a number they split up.
const FILLERS: &[&str] = &[
    "and",
    "then",
    "y",
    "e",
    "et",
    "und",
    "и",
    "dash",
    "hyphen",
    "space",
    "dot",
    "point",
    "punto",
    "ponto",
    "guion",
    "tiret",
    "strich",
    "точка",
];

/// Extends a candidate from numeric token `i`: returns the index of its last
/// numeric token and the index to resume scanning from. A filler word
/// ("312 555 and 0148") may sit between two groups.
pub(super) fn extend(text: &str, toks: &Tokens, i: usize) -> (usize, usize) {
    let mut j = i;
    while let Kind::Num { src: psrc, .. } = toks.toks[j].kind {
        let mut nx = j + 1;
        let Some(mut t) = toks.toks.get(nx) else {
            break;
        };
        // Up to two filler words between two groups.
        let small = |a: usize, b: usize| gap_ok(text.get(a..b).unwrap_or("#"), false);
        let mut fillers = 0;
        while t.kind == Kind::Word && fillers < 2 {
            let w = text.get(t.start..t.end).unwrap_or("");
            let Some(n) = toks.toks.get(nx + 1) else {
                break;
            };
            if !FILLERS.contains(&w) || !small(toks.toks[nx - 1].end, t.start) {
                break;
            }
            nx += 1;
            t = n;
            fillers += 1;
        }
        if fillers > 0 && !small(toks.toks[nx - 1].end, t.start) {
            break;
        }
        let Kind::Num { src: nsrc, .. } = t.kind else {
            break;
        };
        let gap = text.get(toks.toks[nx - 1].end..t.start).unwrap_or("#");
        let words = psrc == Source::Words || nsrc == Source::Words;
        if !gap_ok(gap, words) {
            break;
        }
        // A group in parentheses is an area code or trunk right after the
        // first group ("+1 (312) 555", "+49 (0) 30"), closed right after it;
        // not "8 336 817 (2022)".
        if gap.contains('(') && !gap.contains(')') {
            let closes = toks
                .toks
                .get(nx + 1)
                .and_then(|n| text.get(t.end..n.start))
                .or_else(|| text.get(t.end..))
                .is_some_and(|g| g.trim_start().starts_with(')'));
            if !closes || j != i {
                break;
            }
        }
        j = nx;
    }
    (j, j + 1)
}
