//! IDs and handles on other platforms (Skype, WhatsApp, Telegram, ...).
//!
//! Candidates are mentions of a platform, matched from `data/handle/platforms.txt`
//! with optional separators between letters ("sk-ype", "whats app", spaced
//! letters) and case- and script-folded by the views. A mention becomes a
//! handle only in a pattern that *gives* an ID: `skype: name`, `my wechat is
//! name`, `add me on telegram @name`, `insta @name`, `@name on insta`,
//! `name_88 on wechat`, or a phone number next to a messenger (`+61 412 345 678
//! is my WhatsApp`). Platform-free forms: Skype `live:` IDs and Discord
//! `name#1234` tags. The ID must not be an ordinary or work word, so
//! "WhatsApp API integration", "Telegram bot", "We post on Instagram 3x a week"
//! are left alone. Normalized `platform:id`. Profile links are handled by the
//! link recognizer (which reports them as handles too).

use super::util::{char_at, data_lines, is_word_boundary, push, windows, Hit};
use super::Recognizer;
use crate::recognize::util::LazyRegex;
use crate::views::{View, Views};
use crate::{Category, Finding};
use std::collections::{HashMap, HashSet};

const PLATFORMS: &str = include_str!("../../../data/handle/platforms.txt");
const WORK_WORDS: &str = include_str!("../../../data/handle/work_words.txt");
const STOPWORDS: &str = include_str!("../../../data/email/stopwords.txt");
/// Number words (owned by the phone recognizer): never an ID ("zap: dois um ...").
const NUMBER_WORDS: &str = include_str!("../../../data/words/numbers.tsv");

/// Messengers reachable by phone number.
const PHONE_PLATFORMS: &[&str] = &[
    "whatsapp", "signal", "telegram", "viber", "imo", "line", "wechat",
];

#[derive(Debug)]
pub(crate) struct HandleRecognizer {
    /// Any platform mention: the prefilter for the patterns below.
    mention: LazyRegex,
    /// Platform given an ID: `[my] PLATFORM [id] (:|is|=) [@]ID`.
    given: LazyRegex,
    /// `(add|find|...) me on PLATFORM [as|:] [@]ID`.
    add_me: LazyRegex,
    /// `@ID on PLATFORM` / `ID on PLATFORM`.
    id_on: LazyRegex,
    /// `PLATFORM ..., my id is ID`: an ID announced later in the clause.
    later_id: LazyRegex,
    /// Phone number next to a messenger.
    phone_before: LazyRegex,
    phone_after: LazyRegex,
    skype_live: LazyRegex,
    aliases: HashMap<String, String>,
    bad_ids: HashSet<String>,
    /// Work words alone ("followers", "bot"), for the word after an ID.
    work: HashSet<String>,
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

impl HandleRecognizer {
    pub(crate) fn new() -> HandleRecognizer {
        let mut aliases = HashMap::new();
        let mut pats: Vec<(usize, String, bool)> = Vec::new();
        for line in data_lines(PLATFORMS) {
            let Some((platform, list)) = line.split_once(':') else {
                continue;
            };
            for alias in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                aliases.insert(squash(alias), platform.trim().to_string());
                let letters: Vec<String> = alias
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .map(|c| regex::escape(&c.to_string()))
                    .collect();
                let pat = if letters.len() >= 4 {
                    letters.join(r"[\s\-_.*·']?")
                } else {
                    letters.join("")
                };
                pats.push((letters.len(), pat, alias.is_ascii()));
            }
        }
        pats.sort_by_key(|p| std::cmp::Reverse(p.0));
        pats.dedup();
        let join = |ascii: bool| {
            pats.iter()
                .filter(|p| p.2 == ascii)
                .map(|p| p.1.as_str())
                .collect::<Vec<_>>()
                .join("|")
        };
        // ASCII aliases between ASCII word boundaries (fast DFA path); others
        // bare, with the boundary checked on each match.
        let plat = format!(r"(?:(?-u:\b)(?:{})(?-u:\b)|{})", join(true), join(false));
        let id = r"[\p{L}\p{N}_](?:[\p{L}\p{N}_.\-]*[\p{L}\p{N}_])?";
        let my = r"(?:(?:my|our|mi|mis|meu|minha|mon|ma|mein|meine|мой|моя|мой\s+ник\s+в)\s+)";
        let label = r"(?:\s*(?P<lab>id|i\.d\.|handle|user\s*name|username|user|name|nick|nickname|account|acc|number|no\.?|#|tag|addy|contact))?";
        let sep = r"\s*(?P<sep>:+|=|->|→|—|–|-|(?-u:\b)is(?-u:\b)|(?-u:\b)es(?-u:\b)|é|(?-u:\b)est(?-u:\b)|(?-u:\b)ist(?-u:\b)|это)\s*";
        let given = format!(
            r"(?i)(?P<my>{my})?(?P<plat>{plat}){label}(?:\s+(?:me|us)(?:\s+(?:at|on))?)?(?:{sep}|\s*)(?P<at>@)?(?P<id>live:[\p{{L}}\p{{N}}_.\-]+|{id})"
        );
        let add_me = format!(
            r"(?i)(?:(?-u:\b)(?:add|find|follow|message|msg|dm|ping|text|reach|contact|hit|search|catch)\s+(?:me|us)(?:\s+up|\s+out)?|(?-u:\b)(?:i'?m|i\s+am|we'?re|we\s+are|reach\s+out)(?:\s+to\s+me)?)\s+(?:on|at|via|in|over)\s+(?P<plat>{plat}){label}\s*(?P<sep>[:\-—–]|(?-u:\b)as(?-u:\b)|(?-u:\b)at(?-u:\b))?\s*(?P<at>@)?(?P<id>{id})"
        );
        let id_on = format!(
            r"(?i)(?P<at>@)?(?P<id>{id})\s+(?:on|at|in|via|auf|en|em|sur|в|b)\s+(?P<plat>{plat})"
        );
        let later_id = format!(
            r"(?i)(?P<plat>{plat})(?P<gap>[^!?;\n]{{0,60}}?)(?-u:\b)(?:(?:my|our|mi|meu|minha|mon|ma|mein|meine|мой|моя)\s+(?:{plat}\s+)?(?P<lab>id|i\.d\.|handle|user\s*name|username|user\s*id|nick|nickname|login|tag|ник|логин)(?-u:\b)|(?P<find>(?:find|add|search\s+for|look\s+for)\s+(?:me|us)(?:\s+up)?\s+(?:as|under|by)(?-u:\b)))\s*(?P<sep>:+|=|(?-u:\b)is(?-u:\b)|(?-u:\b)es(?-u:\b)|é|(?-u:\b)est(?-u:\b)|(?-u:\b)ist(?-u:\b)|это|—|–|-)?\s*(?P<at>@)?(?P<id>{id})"
        );
        let phone = r"\+?\d[\d \-().]{5,18}\d";
        let phone_before = format!(
            r"(?i)(?P<ph>{phone})\s*(?:[(,\-—–/]\s*)?(?:(?:is|on|via|for|also|and|too|es|é|ist|est)\s+)*(?:my\s+|mi\s+|meu\s+|mon\s+|mein\s+)?(?P<plat>{plat})"
        );
        let phone_after = format!(
            r"(?i)(?P<plat>{plat}){label}(?:\s+(?:me|us))?\s*(?:[:=\-—–]|(?-u:\b)is(?-u:\b)|(?-u:\b)on(?-u:\b)|(?-u:\b)at(?-u:\b))?\s*(?P<ph>{phone})"
        );
        let mut bad_ids: HashSet<String> = data_lines(WORK_WORDS)
            .chain(data_lines(STOPWORDS))
            .flat_map(|l| l.split_whitespace())
            .map(str::to_string)
            .collect();
        for line in data_lines(NUMBER_WORDS) {
            if let Some(w) = line.split('\t').nth(1) {
                bad_ids.insert(w.trim().to_string());
            }
        }
        for w in [
            "too",
            "also",
            "please",
            "only",
            "now",
            "soon",
            "later",
            "today",
            "tomorrow",
            "yes",
            "no",
            "not",
            "ok",
            "okay",
            "fine",
            "great",
            "down",
            "broken",
            "blocked",
            "banned",
            "closed",
            "open",
            "available",
            "active",
            "same",
            "below",
            "above",
            "preferred",
            "required",
            "optional",
            "welcome",
            "sure",
            "easier",
            "faster",
            "better",
            "there",
            "instead",
            "works",
            "using",
            "use",
        ] {
            bad_ids.insert(w.to_string());
        }
        HandleRecognizer {
            mention: LazyRegex::new(format!(r"(?i){plat}")),
            given: LazyRegex::new(&given),
            add_me: LazyRegex::new(&add_me),
            id_on: LazyRegex::new(&id_on),
            later_id: LazyRegex::new(&later_id),
            phone_before: LazyRegex::new(&phone_before),
            phone_after: LazyRegex::new(&phone_after),
            skype_live: LazyRegex::new(r"(?i)(?-u:\b)live:[a-z0-9_.\-]{3,}[a-z0-9_]"),
            aliases,
            bad_ids,
            work: data_lines(WORK_WORDS)
                .flat_map(|l| l.split_whitespace())
                .map(str::to_string)
                .collect(),
        }
    }

    /// The platform named by a match of the alias pattern, if it is a whole word.
    fn platform(&self, text: &str, m: regex::Match<'_>) -> Option<&str> {
        if !is_word_boundary(text, m.start(), m.end()) {
            return None;
        }
        self.aliases.get(&squash(m.as_str())).map(String::as_str)
    }

    /// Whether the word after `end` makes the "ID" a quantity or topic
    /// ("10k followers", "2 bots").
    fn topic_follows(&self, text: &str, end: usize) -> bool {
        let next: String = text
            .get(end..)
            .unwrap_or("")
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        self.work.contains(&next)
    }

    /// Whether `id` could be an ID rather than an ordinary word.
    fn id_ok(&self, id: &str, strong: bool) -> bool {
        let lower = id.to_lowercase();
        let n = id.chars().count();
        if self.bad_ids.contains(&lower) || n < 2 || (!strong && n < 3) {
            return false;
        }
        // "Skype: deprecated", "Snap: enabled": a participle, not a name.
        if !strong
            && n >= 5
            && id.chars().all(char::is_alphabetic)
            && (lower.ends_with("ed") || lower.ends_with("ing"))
        {
            return false;
        }
        if lower.starts_with("live:") {
            return true;
        }
        let has_letter = id.chars().any(char::is_alphabetic);
        if !has_letter {
            return false; // numbers are phones, handled apart
        }
        strong
            || id.chars().any(|c| c.is_ascii_digit() || "_.".contains(c))
            || id.chars().count() >= 3
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        views: &Views<'_>,
        view: &View,
        start: usize,
        end: usize,
        platform: &str,
        id: &str,
        confidence: f32,
        rule: &str,
        out: &mut Vec<Finding>,
    ) {
        let id = id.trim_end_matches(['.', '-']).to_lowercase();
        push(
            views.original,
            view,
            start,
            end,
            Hit {
                category: Category::Handle,
                kind: None,
                normalized: Some(format!("{platform}:{id}")),
                confidence,
                rule,
            },
            out,
        );
    }

    fn scan_view(&self, views: &Views<'_>, view: &View, out: &mut Vec<Finding>) {
        let text = view.text();
        let anchors = self
            .mention
            .find_iter(text)
            .filter(|m| weak_mention_ok(text, m.start(), m.end()))
            .map(|m| (m.start(), m.end()));
        for w in windows(text, anchors, 96, 96) {
            self.scan_mentions(views, view, w, out);
        }
        self.scan_tags(views, view, out);
    }

    fn scan_tags(&self, views: &Views<'_>, view: &View, out: &mut Vec<Finding>) {
        let text = view.text();
        if text.contains('#') {
            let mentions_discord = text.contains("discord") || text.contains("Discord");
            let bytes = text.as_bytes();
            for (i, _) in text.match_indices('#') {
                // name#1234: 4 digits, then not a word char; 2-32 name chars before.
                let digits = bytes.get(i + 1..i + 5);
                if !digits.is_some_and(|d| d.iter().all(u8::is_ascii_digit)) {
                    continue;
                }
                if bytes
                    .get(i + 5)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    continue;
                }
                let mut s = i;
                while s > 0 && i - s < 32 {
                    let b = bytes[s - 1];
                    if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.' {
                        s -= 1;
                    } else {
                        break;
                    }
                }
                if i - s < 2
                    || !matches!(
                        s.checked_sub(1).map(|p| bytes[p]),
                        None | Some(b' ' | b'\t' | b'\n' | b':' | b'(' | b'@')
                    )
                {
                    continue;
                }
                let name = &text[s..i];
                if !name.bytes().any(|b| b.is_ascii_lowercase()) {
                    continue;
                }
                let conf = if mentions_discord { 0.9 } else { 0.7 };
                let id = format!("{}#{}", name, &text[i + 1..i + 5]);
                self.report(
                    views,
                    view,
                    s,
                    i + 5,
                    "discord",
                    &id,
                    conf,
                    "handle.discord_tag",
                    out,
                );
            }
        }
        if text.contains(':') {
            for m in self.skype_live.find_iter(text) {
                self.report(
                    views,
                    view,
                    m.start(),
                    m.end(),
                    "skype",
                    m.as_str(),
                    0.9,
                    "handle.skype_live",
                    out,
                );
            }
        }
    }
}

/// Short aliases ("x", "ig", "tg", "sc", "wa") are everywhere in ordinary text;
/// one only anchors a window when an ID could follow it (`ig: name`, `tg @name`)
/// or it is named as a channel (`my ig`, `on tg`, `ig is`).
fn weak_mention_ok(text: &str, start: usize, end: usize) -> bool {
    let m = &text[start..end];
    if m.chars().filter(|c| c.is_alphanumeric()).count() > 3 {
        return true;
    }
    let next = text[end..].trim_start_matches([' ', '\t']);
    if next.starts_with([':', '@', '=', '-', '–', '—', '#', '('])
        || next.starts_with("is ")
        || next.starts_with("id")
        || next.starts_with("me ")
        || next.starts_with("me:")
    {
        return true;
    }
    let mut from = start.saturating_sub(12);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = format!(" {}", text[from..start].trim_end().to_ascii_lowercase());
    [
        "my", "on", "me", "via", "in", "our", "mi", "meu", "mon", "mein",
    ]
    .iter()
    .any(|w| {
        before.ends_with(w)
            && before[..before.len() - w.len()].ends_with(|c: char| !c.is_alphanumeric())
            || before == *w
    })
}

impl Recognizer for HandleRecognizer {
    fn warm(&self) {
        self.mention.compile();
        self.given.compile();
        self.add_me.compile();
        self.id_on.compile();
        self.later_id.compile();
        self.phone_before.compile();
        self.phone_after.compile();
        self.skype_live.compile();
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        self.scan_view(views, &views.folded, out);
        if views.collapsed.text() != views.folded.text() {
            self.scan_view(views, &views.collapsed, out);
        }
    }
}

mod mentions;
#[cfg(test)]
mod tests;
