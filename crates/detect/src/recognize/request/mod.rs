//! Requests for contact details and proposals to continue off the platform.
//!
//! A small grammar, per enabled language, over three word classes: *asking*
//! phrases ("what's your", "send me your", "cuál es tu", "qual é o seu",
//! "quel est ton", "wie ist deine", "какой у тебя") followed by a *channel*
//! noun (`data/request/channels.txt`: email, number, WhatsApp, correo,
//! Telefonnummer, почта...); *contact/move* verbs with a channel ("let's move
//! to Skype", "can we talk on WhatsApp", "add me on Skype", "escríbeme por
//! WhatsApp", "schreib mir per WhatsApp"); and off-platform cues ("off the
//! platform", "contact me directly", "to avoid fees", "fuera de la
//! plataforma", "außerhalb der Plattform", "вне платформы"). A match is
//! dropped when its clause is negated or a rule reminder ("don't share your
//! number", "please keep all communication on this platform", "no", "nicht",
//! "не") or when the channel noun is a topic of work ("email marketing",
//! "contact form", "phone number validation").

mod clause;
mod grammar;
mod prefilter;

use prefilter::Prefilter;

use super::util::{data_lines, is_word_boundary, push, windows, word_alt, Hit};
use super::Recognizer;
use crate::recognize::util::LazyRegex;
use crate::views::Views;
use crate::{Category, Finding};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::collections::HashSet;
use std::sync::OnceLock;

const CHANNELS: &str = include_str!("../../../data/request/channels.txt");
const EUPHEMISMS: &str = include_str!("../../../data/request/euphemisms.txt");
const NOT_CHANNEL: &str = include_str!("../../../data/request/not_channel.txt");

/// Off-platform cue words that, with the channel nouns, anchor the windows the
/// grammar runs in.
const TRIGGERS: &[&str] = &[
    "platform",
    "site",
    "upwork",
    "fiverr",
    "freelancer",
    "marketplace",
    "website",
    "fee",
    "fees",
    "commission",
    "cut",
    "charge",
    "charges",
    "offline",
    "meet",
    "elsewhere",
    "directly",
    "privately",
    "personally",
    "outside",
    "text",
    "sms",
    "cv",
    "resume",
    "résumé",
    "plataforma",
    "página",
    "pagina",
    "web",
    "comisión",
    "comision",
    "comisiones",
    "tarifa",
    "tarifas",
    "directamente",
    "taxa",
    "comissão",
    "comissao",
    "plateforme",
    "frais",
    "directement",
    "plattform",
    "gebühren",
    "gebuhren",
    "provision",
    "direkt",
    "платформе",
    "платформу",
    "сайта",
    "комисси",
];

#[derive(Debug)]
pub(crate) struct RequestRecognizer {
    /// Channel nouns and off-platform cues: where to look.
    trigger: AhoCorasick,
    /// (rule, regex) pairs; each regex may have a `ch` group (the channel).
    rules: Vec<(&'static str, LazyRegex, ChannelGroup)>,
    /// Per rule that ends with its channel: the rule without the channel,
    /// anchored at the start (where the channel begins, found without a
    /// capture search).
    prefixes: Vec<Option<LazyRegex>>,
    /// The (rule, source) pairs the prefilter is extracted from.
    sources: Vec<(&'static str, String)>,
    /// The keyword prefilter, built with the rules' regexes on first use.
    prefilter: OnceLock<Prefilter>,
    not_channel: HashSet<String>,
    /// The channel alternation alone. With `prefixes`, the channel of a rule
    /// that ends with it is found by two DFA searches over the match instead
    /// of a capture search (the bounded backtracker clears a visited set the
    /// size of the rule's NFA times the match on every match).
    ch_alone: LazyRegex,
}

/// Where a rule's `ch` group is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ChannelGroup {
    None,
    AtEnd,
    Inside,
}

impl ChannelGroup {
    fn of(src: &str, ch: &str) -> ChannelGroup {
        match src.matches("(?P<ch>").count() {
            0 => ChannelGroup::None,
            1 if src.ends_with(ch) && !top_level_alternation(src) => ChannelGroup::AtEnd,
            _ => ChannelGroup::Inside,
        }
    }
}

/// Whether a regex source has a `|` outside every group and class (then a
/// match may come from a branch without the channel).
fn top_level_alternation(src: &str) -> bool {
    let (mut depth, mut class, mut escaped) = (0usize, false, false);
    for c in src.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => class = true,
            ']' if class => class = false,
            _ if class => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

impl RequestRecognizer {
    pub(crate) fn new(languages: &[String]) -> RequestRecognizer {
        let channels = || data_lines(CHANNELS).chain(data_lines(EUPHEMISMS));
        let ch: Vec<String> = channels().map(regex::escape).collect();
        let mut cues: Vec<String> = channels().map(str::to_lowercase).collect();
        cues.extend(TRIGGERS.iter().map(|t| t.to_string()));
        let trigger = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            // A full DFA: built once, the fastest per byte (the default
            // contiguous NFA follows failure links on every mismatch).
            .kind(Some(AhoCorasickKind::DFA))
            // Every occurrence, overlapping ones too: "deine mail" holds the
            // cue "e mail" (not at a word start, so dropped) and "mail".
            .match_kind(MatchKind::Standard)
            .build(&cues)
            .expect("trigger automaton");
        let alt = word_alt(&ch);
        let ch = format!(r"(?P<ch>{alt})");
        let pats = grammar::patterns(languages, &ch);
        RequestRecognizer {
            trigger,
            rules: pats
                .iter()
                .map(|(r, p)| (*r, LazyRegex::new(p.as_str()), ChannelGroup::of(p, &ch)))
                .collect(),
            prefixes: pats
                .iter()
                .map(|(_, p)| {
                    let rest = p.strip_prefix("(?i)")?.strip_suffix(ch.as_str())?;
                    (ChannelGroup::of(p, &ch) == ChannelGroup::AtEnd)
                        .then(|| LazyRegex::new(format!("(?i)^(?:{rest})")))
                })
                .collect(),
            ch_alone: LazyRegex::new(format!("(?i){alt}")),
            sources: pats,
            prefilter: OnceLock::new(),
            not_channel: data_lines(NOT_CHANNEL)
                .flat_map(|l| l.split_whitespace())
                .map(str::to_string)
                .collect(),
        }
    }
}

impl Recognizer for RequestRecognizer {
    /// Builds the prefilter and compiles every rule now.
    fn warm(&self) {
        self.prefilter();
        self.ch_alone.compile();
        for (_, re, _) in &self.rules {
            re.compile();
        }
        for p in self.prefixes.iter().flatten() {
            p.compile();
        }
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let view = &views.folded;
        let full = view.text();
        let anchors = self
            .trigger
            .find_overlapping_iter(full)
            .filter(|m| {
                is_word_boundary(full, m.start(), m.end()) || !full[m.start()..m.end()].is_ascii()
            })
            .map(|m| (m.start(), m.end()));
        // Overlapping matches come in order of their ends: windows want starts.
        let mut anchors: Vec<(usize, usize)> = anchors.collect();
        anchors.sort_unstable();
        for (ws, we) in windows(full, anchors.into_iter(), 96, 48) {
            self.scan_window(views, ws, we, out);
        }
    }
}

impl RequestRecognizer {
    fn prefilter(&self) -> &Prefilter {
        self.prefilter.get_or_init(|| Prefilter::new(&self.sources))
    }

    /// The span of the `ch` group of rule `i`'s match `start..end` in `text`,
    /// if the match has one. A rule that ends with its channel: its prefix
    /// matched at the start (leftmost-first, so the split the whole rule
    /// would choose when a channel follows it), then the channel there, which
    /// must reach the end of the match; otherwise the capture search.
    fn channel(&self, i: usize, text: &str, start: usize, end: usize) -> Option<(usize, usize)> {
        let (_, re, group) = self.rules.get(i)?;
        if *group == ChannelGroup::None {
            return None;
        }
        if let (Some(Some(prefix)), Some(m)) = (self.prefixes.get(i), text.get(start..end)) {
            if let Some(p) = prefix.find(m) {
                let c = self.ch_alone.find_at(m, p.end());
                if let Some(c) = c.filter(|c| c.start() == p.end() && c.end() == m.len()) {
                    return Some((start + c.start(), start + c.end()));
                }
            }
        }
        let c = re.captures_at(text, start)?;
        let ch = c.name("ch")?;
        (c.get(0)?.start() == start).then_some((ch.start(), ch.end()))
    }

    fn scan_window(&self, views: &Views<'_>, ws: usize, we: usize, out: &mut Vec<Finding>) {
        let view = &views.folded;
        let Some(text) = view.text().get(ws..we) else {
            return;
        };
        // Which rules may match here: those with one of their keywords in
        // the window (overlapping search, so a keyword inside another still
        // counts), and those without keywords.
        let pre = self.prefilter();
        let mut run = vec![false; self.rules.len()];
        for &i in &pre.always {
            run[i] = true;
        }
        for k in pre.keywords.find_overlapping_iter(text) {
            if let Some(&i) = pre.keyword_rule.get(k.pattern().as_usize()) {
                run[i] = true;
            }
        }
        let chosen = run.iter().enumerate().filter(|(_, r)| **r).map(|(i, _)| i);
        for (i, (rule, re, _)) in chosen.filter_map(|i| Some((i, self.rules.get(i)?))) {
            for m in re.find_iter(text) {
                if let Some((cs, ce)) = self.channel(i, text, m.start(), m.end()) {
                    let ch = &text[cs..ce];
                    if !is_word_boundary(text, cs, ce)
                        || clause::topic(&self.not_channel, text, ch, ce)
                    {
                        continue;
                    }
                }
                if clause::negated(text, m.start(), *rule == "request.off_platform")
                    || clause::statement(text, m.start(), m.end(), *rule == "request.off_platform")
                    || clause::stays_here(text, m.end())
                    || clause::withdrawn(text, m.end())
                {
                    continue;
                }
                push(
                    views.original,
                    view,
                    m.start() + ws,
                    m.end() + ws,
                    Hit {
                        category: Category::Request,
                        kind: None,
                        normalized: None,
                        confidence: 0.8,
                        rule,
                    },
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> bool {
        let langs: Vec<String> = ["en", "es", "pt", "fr", "de", "ru"]
            .map(String::from)
            .to_vec();
        let r = RequestRecognizer::new(&langs);
        let views = Views::new(text);
        let mut out = Vec::new();
        r.scan(&views, &mut out);
        !out.is_empty()
    }

    #[test]
    fn requests() {
        for t in [
            "What's your email?",
            "Can we talk on WhatsApp instead?",
            "Send me your phone number please",
            "Add me on Skype so we can chat",
            "Let's move off the platform to save on fees",
            "Do you use Telegram or Signal?",
            "Email your CV to our recruiter directly",
            "¿Cuál es tu correo?",
            "Drop me your IG and I'll DM you",
            "Please include your WhatsApp number in your proposal",
            "text me so we skip the fee",
            "contact me directly",
            "qual é o seu whatsapp?",
            "quel est ton numéro ?",
            "Wie ist deine Telefonnummer?",
            "какой у тебя телеграм?",
            "escríbeme por whatsapp",
            "lass uns auf WhatsApp schreiben",
        ] {
            assert!(found(t), "{t}");
        }
    }

    /// The channel found by the suffix search is the one the capture search
    /// finds, for every match of every rule that ends with its channel, over
    /// the dev corpus, the request tables and the rule-talk corpus.
    #[test]
    fn channel_suffix_agrees_with_captures() {
        let langs: Vec<String> = ["en", "es", "pt", "fr", "de", "ru"]
            .map(String::from)
            .to_vec();
        let r = RequestRecognizer::new(&langs);
        let sources = [
            include_str!("../../../tests/data/dev.jsonl"),
            include_str!("../../../tests/data/probes.jsonl"),
            include_str!("../../../tests/data/rule_talk.jsonl"),
            include_str!("../../../tests/cases/request.jsonl"),
            include_str!("../../../tests/cases/families/request_instructions.jsonl"),
            include_str!("../../../tests/cases/families/messenger.jsonl"),
        ];
        let (mut at_end, mut checked) = (0, 0);
        for p in &r.prefixes {
            at_end += usize::from(p.is_some());
        }
        assert!(at_end > 10, "only {at_end} rules end with their channel");
        for line in sources.iter().flat_map(|s| s.lines()) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let Some(t) = v.get("text").and_then(|t| t.as_str()) else {
                continue;
            };
            let views = Views::new(t);
            let text = views.folded.text();
            for (i, (rule, re, _)) in r.rules.iter().enumerate() {
                if r.prefixes[i].is_none() {
                    continue;
                }
                for m in re.find_iter(text) {
                    let fast = r.channel(i, text, m.start(), m.end());
                    let slow = re.captures_at(text, m.start()).and_then(|c| c.name("ch"));
                    assert_eq!(fast, slow.map(|c| (c.start(), c.end())), "{rule} on {t:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} matches compared");
    }

    #[test]
    fn top_level_alternation_is_seen() {
        assert!(top_level_alternation("a|b"));
        assert!(top_level_alternation("(?i)(?:a)|b"));
        assert!(!top_level_alternation("(?i)(?:a|b)c"));
        assert!(!top_level_alternation(r"(?i)[|(]x\|y"));
    }

    #[test]
    fn every_rule_has_keywords() {
        let langs: Vec<String> = ["en", "es", "pt", "fr", "de", "ru"]
            .map(String::from)
            .to_vec();
        let r = RequestRecognizer::new(&langs);
        let pre = r.prefilter();
        assert!(
            pre.always.is_empty(),
            "rules without a prefilter: {:?}",
            pre.always
        );
        assert!(pre.keyword_rule.len() >= r.rules.len());
    }

    #[test]
    fn not_requests() {
        for t in [
            "Please keep all communication on this platform until we start.",
            "Don't share your phone number here.",
            "Please do not send me your email, use the chat.",
            "Looking for someone to write 5 cold email sequences for SaaS outreach.",
            "We need an email marketing expert.",
            "Add a contact-us form with reCAPTCHA to the Webflow site.",
            "Can you add your phone number validation to the form?",
            "Let's do the interview on an Upwork call at 4pm GMT.",
            "I'll message you here once the draft is ready.",
            "What's your number of years of experience?",
        ] {
            assert!(!found(t), "{t}");
        }
    }
}
