//! Handles given by mention: a platform name, then the ID ("my insta is
//! @sam", "telegram: samodev", "add me on skype sam.o").

use super::*;

impl HandleRecognizer {
    pub(super) fn scan_mentions(
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
        let phones: &[&LazyRegex] = if has_digits {
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
}
