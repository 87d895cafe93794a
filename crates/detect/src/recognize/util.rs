//! Small helpers shared by the email, link, handle, request and address recognizers.

use crate::views::View;
use crate::{Category, Finding, LinkKind};
use regex::Regex;
use std::sync::OnceLock;

/// A regex compiled the first time it is used, then kept: building a
/// detector stays cheap (`parley scan --text hi` compiles only the few
/// patterns its text reaches), and a scan after the first that needs a
/// pattern never compiles it again. [`LazyRegex::compile`] compiles it now
/// (`Detector::warm`). Every pattern is built from the crate's own sources and
/// embedded data lists; the unit tests compile them all.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    src: String,
    re: OnceLock<Regex>,
}

impl LazyRegex {
    pub(crate) fn new(src: impl Into<String>) -> LazyRegex {
        LazyRegex {
            src: src.into(),
            re: OnceLock::new(),
        }
    }

    /// The compiled regex (compiled now if it was not yet).
    pub(crate) fn compile(&self) -> &Regex {
        self.re.get_or_init(|| {
            // The sources are constants of this crate and its embedded data
            // (tested); a failure here is a bug in the crate, not in input.
            Regex::new(&self.src).unwrap_or_else(|e| panic!("detector pattern: {e}"))
        })
    }
}

impl std::ops::Deref for LazyRegex {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        self.compile()
    }
}

/// Everything a recognizer needs to report a finding found on a view.
pub(crate) struct Hit<'a> {
    pub category: Category,
    pub kind: Option<LinkKind>,
    pub normalized: Option<String>,
    pub confidence: f32,
    pub rule: &'a str,
}

/// Maps the view span `start..end` back to the original text and pushes a finding.
/// Does nothing if the span does not map to a non-empty span on char boundaries.
pub(crate) fn push(
    original: &str,
    view: &View,
    start: usize,
    end: usize,
    hit: Hit<'_>,
    out: &mut Vec<Finding>,
) {
    let Some((s, e)) = view.to_original(start, end) else {
        return;
    };
    let Some(matched) = original.get(s..e) else {
        return;
    };
    if matched.is_empty() {
        return;
    }
    out.push(Finding {
        category: hit.category,
        kind: hit.kind,
        start: s,
        end: e,
        matched: matched.to_string(),
        normalized: hit.normalized,
        confidence: hit.confidence,
        rule: hit.rule.to_string(),
    });
}

/// Parses a data list: one entry a line, `#` starts a comment, blank lines skipped.
pub(crate) fn data_lines(data: &str) -> impl Iterator<Item = &str> {
    data.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
}

/// Whether `domain` (lowercase, dot-separated, no trailing dot) ends in a
/// suffix of the public suffix list whose last label is alphabetic.
pub(crate) fn has_known_suffix(domain: &str) -> bool {
    let d = domain.trim_end_matches('.');
    let Some((_, tld)) = d.rsplit_once('.') else {
        return false;
    };
    if tld.len() < 2 || !tld.bytes().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    match psl::suffix(d.as_bytes()) {
        Some(s) => s.is_known() && s.as_bytes().len() < d.len(),
        None => false,
    }
}

/// Reserved names that never reach anyone: example domains, `.test`, `.invalid`,
/// `.example`, `.localhost`, `.local`, and placeholder domains (`domain.com`).
pub(crate) fn is_reserved_domain(domain: &str) -> bool {
    let d = domain.trim_end_matches('.');
    let last = d.rsplit('.').next().unwrap_or(d);
    if matches!(last, "test" | "invalid" | "example" | "localhost" | "local") {
        return true;
    }
    [
        "example.com",
        "example.org",
        "example.net",
        "domain.com",
        "yourdomain.com",
        "mydomain.com",
        "yourcompany.com",
        "yoursite.com",
        "yourwebsite.com",
    ]
    .iter()
    .any(|r| {
        d.strip_suffix(r)
            .is_some_and(|head| head.is_empty() || head.ends_with('.'))
    })
}

/// The char before byte `i` of `s`, if any.
pub(crate) fn char_before(s: &str, i: usize) -> Option<char> {
    s.get(..i).and_then(|p| p.chars().next_back())
}

/// The char at byte `i` of `s`, if any.
pub(crate) fn char_at(s: &str, i: usize) -> Option<char> {
    s.get(i..).and_then(|p| p.chars().next())
}

/// An alternation of `words` (already regex-escaped) that matches whole words:
/// ASCII words between ASCII word boundaries (which keep the regex on its fast
/// DFA path), other words without boundaries and tried first — callers that need it check
/// the boundary with [`is_word_boundary`].
pub(crate) fn word_alt(words: &[String]) -> String {
    let mut w: Vec<&String> = words.iter().collect();
    w.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let (ascii, other): (Vec<&String>, Vec<&String>) = w.into_iter().partition(|s| s.is_ascii());
    let join = |v: Vec<&String>| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("|");
    match (ascii.is_empty(), other.is_empty()) {
        // Non-ASCII words first: at one position "numéro" must win over the
        // ASCII "num" (an ASCII boundary holds before "é").
        (false, false) => format!(r"(?:{}|(?-u:\b)(?:{})(?-u:\b))", join(other), join(ascii)),
        (false, true) => format!(r"(?-u:\b)(?:{})(?-u:\b)", join(ascii)),
        (true, false) => format!("(?:{})", join(other)),
        (true, true) => "(?:$^)".to_string(),
    }
}

/// Whether `start..end` of `text` is a whole word (no letter or digit touching it).
pub(crate) fn is_word_boundary(text: &str, start: usize, end: usize) -> bool {
    !char_before(text, start).is_some_and(char::is_alphanumeric)
        && !char_at(text, end).is_some_and(char::is_alphanumeric)
}

/// Merged windows of `text` around anchor spans: from `before` bytes before
/// each anchor to `after` bytes after it, widened to char boundaries. Lets a
/// recognizer run its heavier patterns only near cheap anchors, so its cost
/// stays linear in the text with a small constant.
pub(crate) fn windows(
    text: &str,
    anchors: impl Iterator<Item = (usize, usize)>,
    before: usize,
    after: usize,
) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in anchors {
        let mut ws = s.saturating_sub(before);
        while ws > 0 && !text.is_char_boundary(ws) {
            ws -= 1;
        }
        let mut we = e.saturating_add(after).min(text.len());
        while we < text.len() && !text.is_char_boundary(we) {
            we += 1;
        }
        match out.last_mut() {
            Some(last) if ws <= last.1 => last.1 = last.1.max(we),
            _ => out.push((ws, we)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::{address, email, handle, link, request, Recognizer};
    use crate::views::Views;
    use proptest::prelude::*;

    fn all() -> &'static [Box<dyn Recognizer>] {
        static ALL: std::sync::OnceLock<Vec<Box<dyn Recognizer>>> = std::sync::OnceLock::new();
        ALL.get_or_init(build)
    }

    fn build() -> Vec<Box<dyn Recognizer>> {
        let langs: Vec<String> = ["en", "es", "pt", "fr", "de", "ru"]
            .map(String::from)
            .to_vec();
        vec![
            Box::new(email::EmailRecognizer::new(&langs)),
            Box::new(link::LinkRecognizer::new(&[])),
            Box::new(handle::HandleRecognizer::new()),
            Box::new(request::RequestRecognizer::new(&langs)),
            Box::new(address::AddressRecognizer::new()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn spans_are_exact_and_nothing_panics(
            text in r"(?s)(?:[ a-zA-Z0-9@.:/#\[\]()_\-,]|at|dot|skype|whatsapp|telegram|Street|str\.|straße|собака|ｓ|＠|\u{200b}|é|\n){0,80}"
        ) {
            let recognizers = all();
            let views = Views::new(&text);
            let mut out = Vec::new();
            for r in recognizers {
                r.scan(&views, &mut out);
            }
            for f in out {
                prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                prop_assert!(f.start < f.end && f.end <= text.len());
                prop_assert_eq!(&text[f.start..f.end], f.matched.as_str());
                prop_assert!((0.0..=1.0).contains(&f.confidence));
            }
        }
    }
}
