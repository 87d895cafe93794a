//! Numbers a candidate run of tokens cannot see: keypad letters after a
//! toll-free prefix ("1-800-FLOWERS", "+1 800 GET HELP") and numbers given in
//! described parts ("area code 415, then 555 0132", "Vorwahl 030, dann
//! 1234567").

use super::validate::Validity;
use super::PhoneRecognizer;
use crate::recognize::util::LazyRegex;
use crate::recognize::util::{push, Hit};
use crate::views::Views;
use crate::{Category, Finding};

/// The two patterns, built once per recognizer.
#[derive(Debug)]
pub(super) struct Described {
    pub(super) vanity: LazyRegex,
    pub(super) parts: LazyRegex,
}

impl Described {
    pub(super) fn new() -> Described {
        Described {
            // A NANP toll-free prefix, then letters and digits in up to three
            // groups. The view is lowercase; case is checked on the original.
            vanity: LazyRegex::new(
                r"(?P<cc>\+?1[ .-]?)?(?P<open>\()?(?P<tf>8(?:00|33|44|55|66|77|88))\)?(?P<sep>[ .-]?)(?P<rest>[a-z0-9]{2,8}(?:[ .-][a-z0-9]{2,8}){0,2})(?-u:\b)",
            ),
            // "area code" in the supported languages, the code, a few words,
            // then the local number.
            parts: LazyRegex::new(
                r"(?-u:\b)(?:area\s+code|c[oó]digo\s+de\s+[aá]rea|prefijo|ddd|indicatif|vorwahl|код\s+города)\s*(?:is\s+|es\s+|é\s+|est\s+|ist\s+|:\s*)?\(?(?P<a>\d{2,5})\)?[^\d\n]{1,32}?(?P<b>\d{3,4}(?:[ .-]?\d{2,4}){0,2})(?-u:\b)",
            ),
        }
    }
}

/// The digit a keypad letter stands for.
fn keypad(c: char) -> Option<char> {
    let d = match c {
        'a'..='c' => '2',
        'd'..='f' => '3',
        'g'..='i' => '4',
        'j'..='l' => '5',
        'm'..='o' => '6',
        'p'..='s' => '7',
        't'..='v' => '8',
        'w'..='z' => '9',
        '0'..='9' => c,
        _ => return None,
    };
    Some(d)
}

impl PhoneRecognizer {
    /// Vanity and described numbers in the folded view.
    pub(super) fn scan_described(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let text = views.folded.text();
        let hit = |rule, normalized, confidence| Hit {
            category: Category::Phone,
            kind: None,
            normalized: Some(normalized),
            confidence,
            rule,
        };
        if text.contains("8") {
            for c in self.described.vanity.captures_iter(text) {
                let (Some(m), Some(tf), Some(rest)) = (c.get(0), c.name("tf"), c.name("rest"))
                else {
                    continue;
                };
                if text[..m.start()]
                    .chars()
                    .next_back()
                    .is_some_and(char::is_alphanumeric)
                {
                    continue;
                }
                // Groups up to the seventh key: "1-800-FLOWERS now" stops
                // before "now".
                let mut keyed = String::new();
                let mut end = rest.start();
                for g in rest.as_str().split([' ', '.', '-']) {
                    if keyed.len() >= 7 {
                        break;
                    }
                    if end > rest.start() {
                        end += 1;
                    }
                    keyed.extend(g.chars().filter_map(keypad));
                    end += g.len();
                }
                let end = end.min(rest.end());
                let shown = text.get(rest.start()..end).unwrap_or("");
                let letters = shown.chars().filter(char::is_ascii_lowercase).count();
                if letters < 3 || keyed.len() < 7 {
                    continue;
                }
                // A joined "800-FLOWERS" says phone; a spaced "800 bottles"
                // needs the letters in capitals.
                let joined = c
                    .name("sep")
                    .is_some_and(|s| s.as_str() == "-" || s.as_str() == ".");
                let caps = views
                    .folded
                    .to_original(rest.start(), end)
                    .and_then(|(s, e)| views.original.get(s..e))
                    .is_some_and(|o| !o.chars().any(|c| c.is_lowercase()));
                if !(joined || caps) {
                    continue;
                }
                // Extra letters are a spelling aid ("1-800-FLOWERS" has seven).
                let digits = format!("1{}{}", tf.as_str(), &keyed[..7]);
                let (validity, e164) = self.validate(&digits, true, true, &[], &[]);
                if validity != Validity::Valid {
                    continue;
                }
                let n = e164.unwrap_or_else(|| format!("+{digits}"));
                push(
                    views.original,
                    &views.folded,
                    m.start(),
                    end,
                    hit("phone.vanity", n, 0.8),
                    out,
                );
            }
        }
        // The regex's own literal prefilter finds "area code", "vorwahl"...
        // in one pass: no gate needed.
        for c in self.described.parts.captures_iter(text) {
            let (Some(m), Some(a), Some(b)) = (c.get(0), c.name("a"), c.name("b")) else {
                continue;
            };
            let digits: String = a
                .as_str()
                .chars()
                .chain(b.as_str().chars())
                .filter(char::is_ascii_digit)
                .collect();
            if !(7..=13).contains(&digits.len()) {
                continue;
            }
            // The text's language picks the region ("Vorwahl 030" is German).
            let hint: Vec<_> = self
                .hinted_regions(text, b.start(), b.end())
                .iter()
                .filter(|(_, ndd)| digits.starts_with(ndd.as_str()))
                .map(|(r, _)| *r)
                .collect();
            let (validity, e164) = self.validate(&digits, false, true, &[], &hint);
            if validity != Validity::Valid {
                continue;
            }
            let Some(n) = e164 else { continue };
            push(
                views.original,
                &views.folded,
                m.start(),
                m.end(),
                hit("phone.described", n, 0.8),
                out,
            );
        }
    }
}
