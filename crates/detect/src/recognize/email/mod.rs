//! Email addresses, plain and written out.
//!
//! Candidates are the places where an "at" is written: `@` (also spaced),
//! `[at]`/`(at)`/`{at}`/`<at>`, or an at-word of an enabled language (`at`,
//! `arroba`, `arobase`, `Klammeraffe`, `собака`). From each, the user part is
//! read backwards and the domain forwards, where labels may be joined by `.`,
//! `[dot]`/`(dot)` or a dot-word (`dot`, `punto`, `ponto`, `point`, `Punkt`,
//! `точка`). A domain must end in a known public suffix, or be a known mail
//! provider ("sam at gmail"), or — for a tight `user@host` only — a plain word
//! (lower confidence, `email.no_tld`). Provider-implied forms ("my gmail is
//! name", "name on yahoo") are matched separately. Reserved domains, code
//! (`@media`, `@angular/core`, `pkg@1.2.3`, `react@latest`) and prose ("look at
//! the dot product") are left alone.

use super::util::{
    char_at, char_before, data_lines, has_known_suffix, is_reserved_domain, push, word_alt, Hit,
};
use super::Recognizer;
use crate::recognize::util::LazyRegex;
use crate::views::{View, Views};
use crate::{Category, Finding};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::collections::{HashMap, HashSet};

const PROVIDERS: &str = include_str!("../../../data/email/providers.txt");
const AT_DOT_WORDS: &str = include_str!("../../../data/email/at_dot_words.txt");
const STOPWORDS: &str = include_str!("../../../data/email/stopwords.txt");

/// Words after a tight `@` that are code, not a mail host (`react@latest`).
const CODE_HOSTS: &[&str] = &[
    "latest",
    "next",
    "beta",
    "alpha",
    "canary",
    "rc",
    "stable",
    "main",
    "master",
    "head",
    "dev",
    "types",
    "version",
    "local",
    "localhost",
    "host",
    "home",
    "media",
    "import",
    "include",
    "mixin",
    "extend",
    "keyframes",
    "font-face",
    "supports",
    "param",
    "return",
    "returns",
    "override",
    "deprecated",
    "author",
    "see",
    "since",
    "throws",
    "link",
    "todo",
    "example",
    "everyone",
    "here",
    "channel",
    "all",
];

#[derive(Debug)]
pub(crate) struct EmailRecognizer {
    at_sep: LazyRegex,
    domain: LazyRegex,
    dot_split: LazyRegex,
    /// A dot separator at the end of a text: extends the user part backwards.
    dot_tail: LazyRegex,
    prefilter: AhoCorasick,
    provider_my: LazyRegex,
    provider_on: LazyRegex,
    providers: HashMap<String, String>,
    stop: HashSet<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AtForm {
    /// `@` with no space on either side.
    Tight,
    /// `@` with spaces.
    Spaced,
    /// `[at]`, `(at)`, `(@)`...
    Bracket,
    /// an at-word between spaces.
    Word,
}

fn alt(words: &[String]) -> String {
    let mut w: Vec<&String> = words.iter().collect();
    w.sort_by_key(|s| std::cmp::Reverse(s.len()));
    w.iter()
        .map(|s| regex::escape(s))
        .collect::<Vec<_>>()
        .join("|")
}

impl EmailRecognizer {
    pub(crate) fn new(languages: &[String]) -> EmailRecognizer {
        let mut at_words = Vec::new();
        let mut dot_words = Vec::new();
        for line in data_lines(AT_DOT_WORDS) {
            let mut it = line.split_whitespace();
            let (Some(lang), Some(kind), Some(word)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            if !languages.iter().any(|l| l == lang) {
                continue;
            }
            let list = if kind == "at" {
                &mut at_words
            } else {
                &mut dot_words
            };
            if !list.contains(&word.to_string()) {
                list.push(word.to_string());
            }
        }
        let mut bracket_at = vec!["@".to_string(), "at".to_string()];
        bracket_at.extend(at_words.iter().cloned());
        let mut bracket_dot = vec![r"\.".to_string(), "dot".to_string()];
        bracket_dot.extend(dot_words.iter().map(|w| regex::escape(w)));
        let bracket_dot = bracket_dot.join("|");
        let word_at = if at_words.is_empty() {
            String::new()
        } else {
            format!(
                "|{}",
                word_alt(
                    &at_words
                        .iter()
                        .map(|w| regex::escape(w))
                        .collect::<Vec<_>>()
                )
            )
        };
        let word_dot = if dot_words.is_empty() {
            String::new()
        } else {
            format!(r"|\s+(?:{})\s+", alt(&dot_words))
        };
        let at_sep = format!(
            r"(?i)[\[\(\{{<]\s*(?:{})\s*[\]\)\}}>]{word_at}|[@＠]",
            alt(&bracket_at)
        );
        let label = r"[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?";
        let dot_sep =
            format!(r"\s*[\[\(\{{<]\s*(?:{bracket_dot})\s*[\]\)\}}>]\s*{word_dot}|[ \t]\.[ \t]|\.");
        let domain = format!(r"(?i)^{label}(?:(?:{dot_sep}){label})*");

        let mut providers = HashMap::new();
        for line in data_lines(PROVIDERS) {
            if let Some((name, dom)) = line.split_once(char::is_whitespace) {
                providers.insert(name.trim().to_string(), dom.trim().to_string());
            }
        }
        let mut names: Vec<String> = providers.keys().cloned().collect();
        names.sort();
        let prov = alt(&names);
        let handle = r"[\p{L}\p{N}][\p{L}\p{N}._\-]*[\p{L}\p{N}_]";
        let provider_my = format!(
            r"(?i)(?-u:\b)(?:(?:my|mi|meu|minha|mon|ma|mein|meine|мой|моя)\s+)?(?P<p>{prov})(?-u:\b)(?:\s+(?:address|account|id|adresse|cuenta|conta|konto|адрес))?\s*(?P<sep>:|=|(?-u:\b)as(?-u:\b)|(?-u:\b)is(?-u:\b)|(?-u:\b)es(?-u:\b)|é|(?-u:\b)est(?-u:\b)|(?-u:\b)ist(?-u:\b)|—|–)\s*@?(?P<h>{handle})"
        );
        let provider_on = format!(
            r"(?i)(?-u:\b)(?P<h>{handle}(?:\s+{handle})?)\s+(?:on|via|auf|en|em|sur|в|b)\s+(?P<p>{prov})(?-u:\b)"
        );
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            // A full DFA: built once, the fastest per byte (the default
            // contiguous NFA follows failure links on every mismatch).
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::LeftmostFirst)
            .build(&names)
            .expect("provider names build an automaton");
        EmailRecognizer {
            at_sep: LazyRegex::new(&at_sep),
            domain: LazyRegex::new(&domain),
            dot_split: LazyRegex::new(format!("(?i){dot_sep}")),
            dot_tail: LazyRegex::new(format!(
                r"(?i)(?:\s*[\[\(\{{<]\s*(?:{bracket_dot})\s*[\]\)\}}>]\s*{word_dot})$"
            )),
            prefilter,
            provider_my: LazyRegex::new(&provider_my),
            provider_on: LazyRegex::new(&provider_on),
            providers,
            stop: data_lines(STOPWORDS)
                .flat_map(|l| l.split_whitespace())
                .map(str::to_string)
                .collect(),
        }
    }

    fn is_stop(&self, w: &str) -> bool {
        self.stop.contains(&w.to_lowercase())
    }

    /// Whether a lone word could be a user name rather than an ordinary word.
    fn handle_like(&self, w: &str) -> bool {
        if self.is_stop(w) || w.chars().count() < 2 {
            return false;
        }
        w.chars().any(|c| c.is_ascii_digit() || "._-".contains(c))
            || (w.chars().count() >= 4 && !w.ends_with("ed") && !w.ends_with("ing"))
    }

    fn scan_view(&self, original: &str, view: &View, collapsed: bool, out: &mut Vec<Finding>) {
        let text = view.text();
        for m in self.at_sep.find_iter(text) {
            let sep = m.as_str();
            let form = if sep.starts_with(['[', '(', '{', '<']) {
                AtForm::Bracket
            } else if sep == "@" || sep == "＠" {
                AtForm::Tight
            } else {
                AtForm::Word
            };
            // User part: backwards from the separator.
            let mut ls = m.start();
            let before = text[..ls].trim_end_matches([' ', '\t']);
            let spaced_before = before.len() != ls;
            ls = before.len();
            let le = ls;
            for (i, c) in before.char_indices().rev() {
                if c.is_alphanumeric() || "._%+-".contains(c) {
                    ls = i;
                } else {
                    break;
                }
            }
            while ls < le && text[ls..le].starts_with(['.', '-', '+']) {
                ls += 1;
            }
            let local = &text[ls..le];
            if local.is_empty() || !local.chars().any(char::is_alphanumeric) {
                continue;
            }
            if matches!(
                char_before(text, ls),
                Some('/' | '\\' | '@' | '#' | '$' | '`')
            ) {
                continue;
            }
            // Domain: forwards.
            let after = &text[m.end()..];
            let rest = after.trim_start_matches([' ', '\t']);
            let spaced_after = rest.len() != after.len();
            let ds = text.len() - rest.len();
            let Some(dm) = self.domain.find(rest) else {
                continue;
            };
            let de = ds + dm.end();
            let form = match form {
                AtForm::Tight if spaced_before || spaced_after => AtForm::Spaced,
                AtForm::Word if !(spaced_before && spaced_after) => continue,
                f => f,
            };
            let mut labels: Vec<String> = self
                .dot_split
                .split(dm.as_str())
                .map(|l| l.to_lowercase())
                .collect();
            if labels.iter().any(|l| l.is_empty()) {
                continue;
            }
            // "g.m.a.i.l": letters written one by one are one label.
            // (A tight address with a real suffix is kept as written: "x@a.b.c.io".)
            if form != AtForm::Tight || !has_known_suffix(&labels.join(".")) {
                if let Some(joined) = dotted_letters(&labels) {
                    labels = joined;
                }
            }
            // "sam dot oduya at gmail dot com": dot words in the user part too.
            let mut local_l = local.to_lowercase();
            if form != AtForm::Tight {
                for _ in 0..3 {
                    let mut from = ls.saturating_sub(24);
                    while !text.is_char_boundary(from) {
                        from -= 1;
                    }
                    let Some(dm) = self.dot_tail.find(&text[from..ls]) else {
                        break;
                    };
                    let te = from + dm.start();
                    let mut ts = te;
                    for (i, c) in text[..te].char_indices().rev() {
                        if c.is_alphanumeric() || "_-".contains(c) {
                            ts = i;
                        } else {
                            break;
                        }
                    }
                    let part = &text[ts..te];
                    if part.is_empty() || self.is_stop(part) {
                        break;
                    }
                    local_l = format!("{}.{local_l}", part.to_lowercase());
                    ls = ts;
                }
            }
            let local_l = if form == AtForm::Tight {
                local_l
            } else {
                let parts: Vec<String> = local_l.split('.').map(str::to_string).collect();
                dotted_letters(&parts).map_or(local_l, |p| p.join("."))
            };
            let mut domain = labels.join(".");
            let mut de = de;
            // "sam@gmail dot whatsapp": a provider followed by labels that
            // make no real domain is still the provider's address.
            if is_reserved_domain(&domain) {
                continue;
            }
            if labels.len() >= 2 && !has_known_suffix(&domain) {
                if let Some(sep) = self.dot_split.find(dm.as_str()) {
                    let first = dm.as_str()[..sep.start()].to_lowercase();
                    if first == labels[0] && self.providers.contains_key(&first) {
                        de = ds + sep.start();
                        labels.truncate(1);
                        domain = first;
                    }
                }
            }
            if is_reserved_domain(&domain) {
                continue;
            }
            let next = char_at(text, de);
            if matches!(next, Some('(' | '/')) {
                continue;
            }
            if next == Some(':') && char_at(text, de + 1).is_some_and(|c| !c.is_whitespace()) {
                continue; // git@host:org/repo
            }
            let (normalized, confidence, rule) = if labels.len() >= 2 {
                if !has_known_suffix(&domain) {
                    continue;
                }
                // A stopword user part only as a role account ("jobs at acme
                // dot io"); the domain's first label is never a stopword.
                let role = ROLE_ACCOUNTS.contains(&local.to_lowercase().as_str());
                if form == AtForm::Word
                    && (self.is_stop(local) && !role || self.is_stop(&labels[0]))
                {
                    continue;
                }
                if form != AtForm::Tight && self.is_stop(&labels[0]) {
                    continue;
                }
                let (conf, rule) = match form {
                    AtForm::Tight => (0.97, "email.address"),
                    AtForm::Spaced => (0.9, "email.spaced_at"),
                    AtForm::Bracket => (0.95, "email.bracketed"),
                    AtForm::Word => (0.9, "email.at_dot_words"),
                };
                (format!("{local_l}@{domain}"), conf, rule)
            } else if let Some(pd) = self.providers.get(&domain) {
                let ok = match form {
                    AtForm::Tight | AtForm::Bracket => !self.is_stop(local),
                    AtForm::Spaced | AtForm::Word => {
                        self.handle_like(local) || (!self.is_stop(local) && email_cue(text, ls))
                    }
                };
                if !ok {
                    continue;
                }
                let conf = if form == AtForm::Word { 0.75 } else { 0.85 };
                (format!("{local_l}@{pd}"), conf, "email.provider_no_tld")
            } else {
                let ok = match form {
                    AtForm::Tight => {
                        domain.chars().count() >= 3
                            && domain.chars().all(|c| c.is_alphabetic() || c == '-')
                            && !CODE_HOSTS.contains(&domain.as_str())
                            && local.chars().count() >= 2
                            && !self.is_stop(local)
                    }
                    AtForm::Bracket => {
                        domain.chars().count() >= 3
                            && !self.is_stop(&domain)
                            && !self.is_stop(local)
                    }
                    _ => false,
                };
                if !ok {
                    continue;
                }
                (format!("{local_l}@{domain}"), 0.6, "email.no_tld")
            };
            // On the collapsed view only complete addresses with a known suffix
            // count: joining letters must not invent a provider-only address.
            if collapsed && labels.len() < 2 {
                continue;
            }
            push(
                original,
                view,
                ls,
                de,
                Hit {
                    category: Category::Email,
                    kind: None,
                    normalized: Some(normalized),
                    confidence,
                    rule,
                },
                out,
            );
        }
    }
}

/// Role mailboxes that are also ordinary words: a user part only before a
/// complete written-out domain ("jobs at acme dot io").
const ROLE_ACCOUNTS: &[&str] = &[
    "jobs",
    "job",
    "careers",
    "hiring",
    "hr",
    "info",
    "hello",
    "contact",
    "sales",
    "support",
    "admin",
    "team",
    "office",
    "mail",
    "inbox",
    "recruiting",
    "billing",
];

/// Labels with runs of three or more single letters or digits joined into one
/// word ("g.m.a.i.l" -> "gmail", "h.o.t.m.a.i.l.com" -> "hotmail.com");
/// `None` when there is no such run.
fn dotted_letters(labels: &[String]) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    let mut run = String::new();
    let mut run_len = 0;
    let mut joined = false;
    let flush =
        |out: &mut Vec<String>, run: &mut String, run_len: &mut usize, joined: &mut bool| {
            if *run_len >= 3 {
                out.push(std::mem::take(run));
                *joined = true;
            } else {
                out.extend(run.chars().map(String::from));
                run.clear();
            }
            *run_len = 0;
        };
    for l in labels {
        if l.chars().count() == 1 {
            run.push_str(l);
            run_len += 1;
        } else {
            flush(&mut out, &mut run, &mut run_len, &mut joined);
            out.push(l.clone());
        }
    }
    flush(&mut out, &mut run, &mut run_len, &mut joined);
    joined.then_some(out)
}

/// Whether the text just before `at` announces an address ("email: ", "mail me at").
fn email_cue(text: &str, at: usize) -> bool {
    let mut from = at.saturating_sub(24);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = text[from..at].to_lowercase();
    [
        "mail",
        "correo",
        "courriel",
        "почта",
        "contact",
        "write to",
        "reach me",
    ]
    .iter()
    .any(|c| before.contains(c))
}

impl Recognizer for EmailRecognizer {
    fn warm(&self) {
        self.at_sep.compile();
        self.domain.compile();
        self.dot_split.compile();
        self.dot_tail.compile();
        self.provider_my.compile();
        self.provider_on.compile();
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        self.scan_view(views.original, &views.folded, false, out);
        self.scan_providers(views.original, &views.folded, out);
        if views.collapsed.text() != views.folded.text() {
            self.scan_view(views.original, &views.collapsed, true, out);
        }
    }
}

mod providers;
#[cfg(test)]
mod tests;
