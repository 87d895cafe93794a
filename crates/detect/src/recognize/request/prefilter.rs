//! The keyword prefilter of the request grammar.
//!
//! Every rule's regex starts with an asking phrase or a verb; the literal
//! prefixes of its matches (extracted from the regex itself with
//! `regex-syntax`, so the list cannot drift from the grammar) go into one
//! Aho-Corasick automaton. A window runs only the rules whose keywords occur
//! in it, each with its own small regex, instead of one large `RegexSet`
//! whose lazy DFA kept rebuilding states on varied multilingual input.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::ParserBuilder;

/// The automaton over all rules' keywords and the rule each keyword leads to.
#[derive(Debug)]
pub(super) struct Prefilter {
    pub keywords: AhoCorasick,
    pub keyword_rule: Vec<usize>,
    /// Rules whose matches have no literal prefix (or an empty one).
    pub always: Vec<usize>,
}

impl Prefilter {
    pub(super) fn new(pats: &[(&'static str, String)]) -> Prefilter {
        let mut words: Vec<String> = Vec::new();
        let mut keyword_rule = Vec::new();
        let mut always = Vec::new();
        for (i, (_, p)) in pats.iter().enumerate() {
            match prefixes(p) {
                Some(ps) => {
                    for w in ps {
                        words.push(w);
                        keyword_rule.push(i);
                    }
                }
                None => always.push(i),
            }
        }
        let keywords = AhoCorasickBuilder::new()
            // A full DFA: built once, the fastest per byte (the default
            // contiguous NFA follows failure links on every mismatch).
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(&words)
            .expect("request keyword automaton");
        Prefilter {
            keywords,
            keyword_rule,
            always,
        }
    }
}

/// The literal prefixes every match of `pattern` starts with, lowercase
/// (the request grammar runs on the folded view, which is lowercase), or
/// `None` when a match may start with anything.
fn prefixes(pattern: &str) -> Option<Vec<String>> {
    // Case is folded in the view: extract from the pattern without `(?i)` so
    // the literals are not multiplied by their case variants.
    let src = pattern.replace("(?i)", "");
    let hir = ParserBuilder::new().build().parse(&src).ok()?;
    let mut ex = Extractor::new();
    ex.kind(ExtractKind::Prefix)
        .limit_class(16)
        .limit_repeat(4)
        .limit_literal_len(12)
        .limit_total(4096);
    let seq = ex.extract(&hir);
    let lits = seq.literals()?;
    let mut out = Vec::with_capacity(lits.len());
    for l in lits {
        // A literal cut inside a char keeps its whole chars.
        let b = l.as_bytes();
        let s = match std::str::from_utf8(b) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).ok()?,
        };
        let s = s.to_lowercase();
        // An empty literal matches everywhere: nothing to filter on.
        if s.trim().is_empty() {
            return None;
        }
        out.push(s);
    }
    out.sort();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_of_an_alternation_of_phrases() {
        let p = prefixes(r"(?i)(?-u:\b)(?:let'?s|can\s+we)\s+talk").expect("finite");
        assert!(p.iter().any(|w| w.starts_with("let")), "{p:?}");
        assert!(p.iter().any(|w| w.starts_with("can")), "{p:?}");
        assert_eq!(prefixes(r"(?i)\w+\s+talk"), None);
    }
}
