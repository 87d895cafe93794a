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
use crate::views::{View, Views};
use crate::{Category, Finding};
use regex::Regex;
use std::collections::{HashMap, HashSet};

const PLATFORMS: &str = include_str!("../../data/handle/platforms.txt");
const WORK_WORDS: &str = include_str!("../../data/handle/work_words.txt");
const STOPWORDS: &str = include_str!("../../data/email/stopwords.txt");
/// Number words (owned by the phone recognizer): never an ID ("zap: dois um ...").
const NUMBER_WORDS: &str = include_str!("../../data/words/numbers.tsv");

/// Messengers reachable by phone number.
const PHONE_PLATFORMS: &[&str] = &[
    "whatsapp", "signal", "telegram", "viber", "imo", "line", "wechat",
];

#[derive(Debug)]
pub(crate) struct HandleRecognizer {
    /// Any platform mention: the prefilter for the patterns below.
    mention: Regex,
    /// Platform given an ID: `[my] PLATFORM [id] (:|is|=) [@]ID`.
    given: Regex,
    /// `(add|find|...) me on PLATFORM [as|:] [@]ID`.
    add_me: Regex,
    /// `@ID on PLATFORM` / `ID on PLATFORM`.
    id_on: Regex,
    /// `PLATFORM ..., my id is ID`: an ID announced later in the clause.
    later_id: Regex,
    /// Phone number next to a messenger.
    phone_before: Regex,
    phone_after: Regex,
    skype_live: Regex,
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
            mention: Regex::new(&format!(r"(?i){plat}")).expect("handle regex"),
            given: Regex::new(&given).expect("handle regex"),
            add_me: Regex::new(&add_me).expect("handle regex"),
            id_on: Regex::new(&id_on).expect("handle regex"),
            later_id: Regex::new(&later_id).expect("handle regex"),
            phone_before: Regex::new(&phone_before).expect("handle regex"),
            phone_after: Regex::new(&phone_after).expect("handle regex"),
            skype_live: Regex::new(r"(?i)(?-u:\b)live:[a-z0-9_.\-]{3,}[a-z0-9_]")
                .expect("skype regex"),
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

    fn scan_mentions(
        &self,
        views: &Views<'_>,
        view: &View,
        (ws, we): (usize, usize),
        out: &mut Vec<Finding>,
    ) {
        let Some(text) = view.text().get(ws..we) else {
            return;
        };
        // Matches may overlap: "@whatsapp whatsapp@co" first matches
        // "whatsapp whatsapp" (rejected), then must try "whatsapp@co". So the
        // next search starts right after this match's platform name, not
        // after the whole match.
        let mut pos = 0;
        while let Some(c) = self.given.captures_at(text, pos) {
            let Some(whole) = c.get(0) else {
                break;
            };
            pos = c
                .name("plat")
                .map_or(whole.end(), |p| p.end())
                .max(whole.start() + 1);
            while pos < text.len() && !text.is_char_boundary(pos) {
                pos += 1;
            }
            let (Some(p), Some(idm)) = (c.name("plat"), c.name("id")) else {
                continue;
            };
            let has_at = c.name("at").is_some();
            let Some(sep) = c.name("sep") else {
                // No separator: only "insta @name", "tg @name", "LINE ID samo88".
                let id = idm.as_str();
                let labelled = (c.name("lab").is_some() || squash(p.as_str()).ends_with("id"))
                    && id.chars().any(|c| c.is_ascii_digit() || "_.".contains(c));
                if (has_at || labelled) && id.chars().any(char::is_alphabetic) {
                    if let Some(platform) = self.platform(text, p) {
                        if self.id_ok(idm.as_str(), true) {
                            let (s, e) = (p.start() + ws, idm.end() + ws);
                            self.report(
                                views,
                                view,
                                s,
                                e,
                                platform,
                                idm.as_str(),
                                0.85,
                                "handle.platform_at",
                                out,
                            );
                        }
                    }
                }
                continue;
            };
            let Some(platform) = self.platform(text, p) else {
                continue;
            };
            let has_my = c.name("my").is_some();
            let s = sep.as_str().trim().to_lowercase();
            let word_sep = s.chars().all(char::is_alphabetic);
            if word_sep && !has_my {
                continue; // "Telegram is great"
            }
            let weak_alias = squash(p.as_str()).chars().count() <= 3;
            let id = idm.as_str().trim_end_matches(['.', '-']);
            let handle_like = id.chars().any(|c| c.is_ascii_digit() || "_.".contains(c));
            if weak_alias && !(has_at || has_my || handle_like) {
                continue;
            }
            if s == "-" && !(has_at || handle_like) {
                continue; // "Telegram - bot builder"
            }
            if matches!(char_at(text, idm.end()), Some('@' | '#' | '/')) {
                continue; // an email address or a Discord tag: reported apart
            }
            if !has_at && self.topic_follows(text, idm.end()) {
                continue; // "Instagram: 10k followers"
            }
            if !self.id_ok(id, has_at || has_my) {
                continue;
            }
            let start = c.get(0).map_or(p.start(), |m| m.start());
            let start = if has_my { p.start() } else { start };
            let conf = if has_at || handle_like { 0.9 } else { 0.8 };
            let id = id.trim_start_matches("live:");
            let (platform, id) = if idm.as_str().to_lowercase().starts_with("live:") {
                ("skype", format!("live:{id}"))
            } else {
                (platform, id.to_string())
            };
            self.report(
                views,
                view,
                start + ws,
                idm.start() + idm.as_str().trim_end_matches(['.', '-']).len() + ws,
                platform,
                &id,
                conf,
                "handle.platform_id",
                out,
            );
        }
        // Cheap gates: each pattern needs its own small words or characters.
        let lower = text.to_ascii_lowercase();
        let has_me = [
            " me ",
            " us ",
            "i'm ",
            "im ",
            "i am ",
            "we're ",
            "we are ",
            "reach out",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let has_on = !lower.is_ascii()
            || [
                " on ", " at ", " in ", " via ", " auf ", " en ", " em ", " sur ",
            ]
            .iter()
            .any(|w| lower.contains(w));
        let has_digits = text.bytes().filter(u8::is_ascii_digit).count() >= 6;
        let has_my = !lower.is_ascii()
            || ["my ", "our ", " me ", " us "]
                .iter()
                .any(|w| lower.contains(w));
        let later = if has_my { Some(&self.later_id) } else { None };
        for c in later.into_iter().flat_map(|re| re.captures_iter(text)) {
            let (Some(p), Some(idm)) = (c.name("plat"), c.name("id")) else {
                continue;
            };
            let Some(platform) = self.platform(text, p) else {
                continue;
            };
            let has_at = c.name("at").is_some();
            let has_sep = c.name("sep").is_some() || c.name("find").is_some();
            let id = idm.as_str().trim_end_matches(['.', '-']);
            // Past the end of the platform's sentence, only a handle-like ID
            // counts ("Skype works for me. My ID: sam.oduya").
            let crossed = c.name("gap").is_some_and(|g| {
                let g = g.as_str();
                g.match_indices('.')
                    .any(|(i, _)| g[i + 1..].starts_with(char::is_whitespace))
            });
            let handle_like = id.chars().any(|c| c.is_ascii_digit() || "_.".contains(c));
            // A plain word is an ID only when it ends the clause ("my id is
            // samo"), not when the sentence goes on ("my id is useless now").
            let ends_clause = text[idm.end()..]
                .trim_start_matches([' ', '\t'])
                .chars()
                .next()
                .is_none_or(|c| ",.!?;)\n".contains(c));
            if !(has_at || handle_like || has_sep && ends_clause && !crossed)
                || crossed && !has_sep
                || !self.id_ok(id, true)
            {
                continue;
            }
            if matches!(char_at(text, idm.end()), Some('@' | '#' | '/')) {
                continue; // an email address or a Discord tag: reported apart
            }
            if !has_at && self.topic_follows(text, idm.end()) {
                continue;
            }
            let Some(lab) = c.name("lab").or(c.name("find")) else {
                continue;
            };
            self.report(
                views,
                view,
                lab.start() + ws,
                idm.start() + id.len() + ws,
                platform,
                id,
                if has_at || handle_like { 0.85 } else { 0.8 },
                "handle.later_id",
                out,
            );
        }
        let add_me = if has_me { Some(&self.add_me) } else { None };
        for c in add_me.into_iter().flat_map(|re| re.captures_iter(text)) {
            let (Some(p), Some(idm)) = (c.name("plat"), c.name("id")) else {
                continue;
            };
            let Some(platform) = self.platform(text, p) else {
                continue;
            };
            let has_at = c.name("at").is_some();
            let has_sep = c.name("sep").is_some_and(|m| !m.as_str().trim().is_empty());
            let id = idm.as_str();
            let handle_like = id.chars().any(|c| c.is_ascii_digit() || "_.".contains(c));
            if !(has_at || handle_like || has_sep) || !self.id_ok(id, has_at) {
                continue;
            }
            let start = c.get(0).map_or(p.start(), |m| m.start());
            self.report(
                views,
                view,
                start + ws,
                idm.end() + ws,
                platform,
                id,
                0.9,
                "handle.add_me",
                out,
            );
        }
        let id_on = if has_on { Some(&self.id_on) } else { None };
        for c in id_on.into_iter().flat_map(|re| re.captures_iter(text)) {
            let (Some(p), Some(idm)) = (c.name("plat"), c.name("id")) else {
                continue;
            };
            let Some(platform) = self.platform(text, p) else {
                continue;
            };
            let has_at = c.name("at").is_some();
            let id = idm.as_str();
            let handle_like = id.chars().any(|c| c.is_ascii_digit() || "_".contains(c))
                || id.contains('.') && !id.ends_with('.');
            if !(has_at || handle_like) || !self.id_ok(id, has_at) {
                continue;
            }
            if !has_at && id.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if squash(p.as_str()).chars().count() <= 2 && !has_at {
                continue;
            }
            let start = c.get(0).map_or(idm.start(), |m| m.start());
            self.report(
                views,
                view,
                start + ws,
                p.end() + ws,
                platform,
                id,
                0.85,
                "handle.id_on_platform",
                out,
            );
        }
        let phones: &[&Regex] = if has_digits {
            &[&self.phone_before, &self.phone_after]
        } else {
            &[]
        };
        for re in phones {
            for c in re.captures_iter(text) {
                let (Some(p), Some(ph)) = (c.name("plat"), c.name("ph")) else {
                    continue;
                };
                let Some(platform) = self.platform(text, p) else {
                    continue;
                };
                if !PHONE_PLATFORMS.contains(&platform) {
                    continue;
                }
                // "+49 (0)30 ...": the trunk zero is not dialled after a country code.
                let raw = if ph.as_str().starts_with('+') {
                    ph.as_str().replacen("(0)", "", 1)
                } else {
                    ph.as_str().to_string()
                };
                let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                if !(7..=15).contains(&digits.len()) {
                    continue;
                }
                let plus = if ph.as_str().starts_with('+') {
                    "+"
                } else {
                    ""
                };
                self.report(
                    views,
                    view,
                    ph.start() + ws,
                    ph.end() + ws,
                    platform,
                    &format!("{plus}{digits}"),
                    0.85,
                    "handle.messenger_phone",
                    out,
                );
            }
        }
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
    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        self.scan_view(views, &views.folded, out);
        if views.collapsed.text() != views.folded.text() {
            self.scan_view(views, &views.collapsed, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles(text: &str) -> Vec<String> {
        let r = HandleRecognizer::new();
        let views = Views::new(text);
        let mut out = Vec::new();
        r.scan(&views, &mut out);
        out.into_iter().filter_map(|f| f.normalized).collect()
    }

    #[test]
    fn finds_ids() {
        assert!(handles("skype: live:.cid.7a3b9f2c").contains(&"skype:live:.cid.7a3b9f2c".into()));
        assert!(handles("my skype id is sam.oduya.dev").contains(&"skype:sam.oduya.dev".into()));
        assert!(handles("telegram: @samodev").contains(&"telegram:samodev".into()));
        assert!(handles("Discord — samo#0420").contains(&"discord:samo#0420".into()));
        assert!(handles("insta: @sam.builds").contains(&"instagram:sam.builds".into()));
        assert!(handles("my wechat is samo_88").contains(&"wechat:samo_88".into()));
        assert!(handles("snapchat: samobuilds").contains(&"snapchat:samobuilds".into()));
        assert!(handles("add me on telegram @samo").contains(&"telegram:samo".into()));
        assert!(handles("@sam.builds on insta").contains(&"instagram:sam.builds".into()));
        assert!(handles("sk-ype: samo_dev").contains(&"skype:samo_dev".into()));
        assert!(handles("+61 412 345 678 is my WhatsApp").contains(&"whatsapp:+61412345678".into()));
        assert!(handles("+1 312 555 0148 (signal too)").contains(&"signal:+13125550148".into()));
    }

    #[test]
    fn leaves_work_topics() {
        for t in [
            "I need a WhatsApp API integration",
            "Need a Telegram bot development expert",
            "Need a Discord bot moderation expert for a 3-week project.",
            "Instagram growth strategy",
            "We post on Instagram 3x a week; need a content calendar.",
            "Telegram Mini App development with TON payments",
            "Our WeChat mini program is broken after the last update.",
            "Looking for help with LinkedIn ad campaigns; budget $600.",
            "Need a Signal protocol review expert for a 3-week project.",
            "Telegram is great for communities",
            "Fixed issue #1234 in the tracker",
        ] {
            assert!(handles(t).is_empty(), "{t}: {:?}", handles(t));
        }
    }
}
