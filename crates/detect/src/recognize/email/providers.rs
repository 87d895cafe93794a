//! Provider-implied emails: "my gmail is name", "gmail: name", "name on yahoo".

use super::*;

impl EmailRecognizer {
    pub(super) fn scan_providers(&self, original: &str, view: &View, out: &mut Vec<Finding>) {
        let text = view.text();
        if self.prefilter.find(text).is_none() {
            return;
        }
        for c in self.provider_my.captures_iter(text) {
            let (Some(p), Some(h), Some(sep)) = (c.name("p"), c.name("h"), c.name("sep")) else {
                continue;
            };
            let whole = c.get(0).map_or(p.start(), |m| m.start());
            let has_my = whole < p.start();
            if !has_my && !matches!(sep.as_str().to_lowercase().as_str(), ":" | "=" | "as") {
                continue;
            }
            if char_at(text, h.end()) == Some('@') || char_at(text, h.end()) == Some('.') {
                continue; // a full address follows; the main scan reports it
            }
            let handle = h.as_str();
            let plain_ok = has_my && handle.chars().count() >= 3 && !self.is_stop(handle);
            let strong = handle
                .chars()
                .any(|c| c.is_ascii_digit() || "._".contains(c));
            if !(self.handle_like(handle) || plain_ok)
                || !has_my && !strong && sep.as_str().eq_ignore_ascii_case("as")
            {
                continue;
            }
            let Some(pd) = self.providers.get(&p.as_str().to_lowercase()) else {
                continue;
            };
            push(
                original,
                view,
                p.start(),
                h.end(),
                Hit {
                    category: Category::Email,
                    kind: None,
                    normalized: Some(format!("{}@{pd}", handle.to_lowercase())),
                    confidence: 0.8,
                    rule: "email.provider_implied",
                },
                out,
            );
        }
        for c in self.provider_on.captures_iter(text) {
            let (Some(p), Some(h)) = (c.name("p"), c.name("h")) else {
                continue;
            };
            if char_at(text, p.end()) == Some('.')
                && char_at(text, p.end() + 1).is_some_and(char::is_alphanumeric)
            {
                continue;
            }
            let words: Vec<(usize, &str)> = h
                .as_str()
                .split_whitespace()
                .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
                .collect();
            let words: Vec<(usize, &str)> = words
                .into_iter()
                .filter(|(_, w)| !self.is_stop(w))
                .collect();
            let Some(&(last_start, last)) = words.last() else {
                continue;
            };
            let before = text[..h.start()].trim_end();
            let cue_before = before.is_empty() || before.ends_with([':', '-', '—']) || {
                let mut from = before.len().saturating_sub(16);
                while !before.is_char_boundary(from) {
                    from -= 1;
                }
                let lb = before[from..].to_lowercase();
                [
                    "email", "e-mail", "mail", "contact", "write to", "reach me", " is", "correo",
                ]
                .iter()
                .any(|c| lb.ends_with(c))
            };
            let (start, local) = if words.len() == 2 && (before.is_empty() || before.ends_with(':'))
            {
                let (s0, w0) = words[0];
                (s0, format!("{w0}{last}"))
            } else {
                (last_start, last.to_string())
            };
            let strong = last
                .chars()
                .any(|c| c.is_ascii_digit() || "._-".contains(c));
            if !(strong || cue_before && self.handle_like(last)) {
                continue;
            }
            if start < h.start()
                || words.len() == 2 && start == last_start && !strong && !cue_before
            {
                continue;
            }
            let Some(pd) = self.providers.get(&p.as_str().to_lowercase()) else {
                continue;
            };
            push(
                original,
                view,
                start,
                p.end(),
                Hit {
                    category: Category::Email,
                    kind: None,
                    normalized: Some(format!("{}@{pd}", local.to_lowercase())),
                    confidence: 0.75,
                    rule: "email.provider_implied",
                },
                out,
            );
        }
    }
}
