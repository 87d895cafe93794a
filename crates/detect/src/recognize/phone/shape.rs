//! Shape rejections and scoring: what is not a phone number (times, amounts,
//! dates, ranges, lists, identifiers), and the confidence of what is.

use super::context::{context, unit_after, Context, CUES};
use super::validate::Validity;
use super::{PhoneRecognizer, MIN_CONFIDENCE};
use crate::recognize::numbers::{Kind, Source, Tokens};
use crate::views::Views;
use crate::{Category, Finding};
use rlibphonenumber::Region;

/// Whether the digits only count up or down ("123456789", "9876543210").
fn progression(d: &str) -> bool {
    let b = d.as_bytes();
    let step = |x: u8, y: u8| (i16::from(y) - i16::from(x)).rem_euclid(10);
    b.len() > 2 && {
        let s = step(b[0], b[1]);
        (s == 1 || s == 9) && b.windows(2).all(|w| step(w[0], w[1]) == s)
    }
}

/// EAN-13 / ISBN-13 check digit.
fn ean13_ok(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 13 {
        return false;
    }
    let mut sum = 0u32;
    for (k, &c) in b.iter().enumerate() {
        let v = u32::from(c - b'0');
        sum += if k % 2 == 0 { v } else { 3 * v };
    }
    sum.is_multiple_of(10)
}

impl PhoneRecognizer {
    pub(super) fn evaluate(
        &self,
        views: &Views<'_>,
        toks: &Tokens,
        i: usize,
        mut last: usize,
        latin: &std::cell::OnceCell<bool>,
    ) -> Option<Finding> {
        let text = views.folded.text();
        let tk = &toks.toks;
        let mut first = i;
        // A group followed by ":<digit>" is a time; one preceded by
        // "<digit>:" is a port or a time: cut them off.
        let followed_by_time = |k: usize| {
            let rest = text.get(tk[k].end..).unwrap_or("");
            let mut cs = rest.chars();
            cs.next() == Some(':') && cs.next().is_some_and(|c| c.is_ascii_digit())
        };
        let preceded_by_colon_digit = |k: usize| {
            let head = text.get(..tk[k].start).unwrap_or("");
            let mut cs = head.chars().rev();
            cs.next() == Some(':') && cs.next().is_some_and(|c| c.is_ascii_digit())
        };
        while last > first && followed_by_time(last) {
            last -= 1;
        }
        if followed_by_time(last) {
            return None;
        }
        while first < last && preceded_by_colon_digit(first) {
            first += 1;
        }
        if preceded_by_colon_digit(first) {
            return None;
        }

        // What precedes the first digit: "+", "(", a currency sign, a glued identifier.
        let head = text.get(..tk[first].start).unwrap_or("");
        let mut span_start = tk[first].start;
        let mut plus = false;
        {
            let mut rest = head;
            if let Some(r) = rest.strip_suffix('(') {
                rest = r;
                span_start -= 1;
            }
            let trimmed = rest.trim_end_matches(' ');
            if let Some(r) = trimmed.strip_suffix('+') {
                if rest.len() - trimmed.len() <= 1 {
                    plus = true;
                    span_start = r.len();
                    rest = r;
                }
            } else if matches!(
                tk[first].kind,
                Kind::Num {
                    src: Source::Words,
                    ..
                }
            ) && rest.len() - trimmed.len() == 1
            {
                // "plus four four ...": the "+" written as a word.
                for w in ["plus", "más", "mais", "mas", "плюс"] {
                    if let Some(r) = trimmed.strip_suffix(w) {
                        if !r.ends_with(char::is_alphanumeric) {
                            plus = true;
                            span_start = r.len();
                            rest = r;
                            break;
                        }
                    }
                }
            }
            let mut rc = rest.chars().rev();
            let c1 = rc.next();
            let c2 = rc.next();
            match c1 {
                Some(
                    '$' | '€' | '£' | '¥' | '₹' | '#' | '№' | '%' | '=' | '^' | '<' | '>' | '¢',
                ) if !plus => return None,
                Some('-' | '.' | ',') if !plus && !c2.is_some_and(char::is_alphanumeric) => {
                    return None
                }
                Some('-' | '.' | '/' | '_' | '&' | '?' | '=' | '@' | '\\')
                    if c2.is_some_and(char::is_alphanumeric) =>
                {
                    // Glued to an identifier or a path, except a WhatsApp link.
                    let h = rest.trim_end_matches('/');
                    let wa = c1 == Some('/')
                        && (h.ends_with("wa.me") || h.ends_with("whatsapp.com/send"));
                    if !wa {
                        return None;
                    }
                }
                // "f(1234567)", "a+1234567": code, unless it is "tel(...)".
                Some(c) if c.is_alphanumeric() => {
                    let word = rest
                        .rsplit(|c: char| !c.is_alphanumeric())
                        .next()
                        .unwrap_or("");
                    if !CUES.contains(&word) {
                        return None;
                    }
                }
                _ => {}
            }
        }

        // What follows the last digit.
        let mut span_end = tk[last].end;
        let mut resume_ext = None;
        {
            let tail = text.get(span_end..).unwrap_or("");
            let mut cs = tail.chars();
            let c1 = cs.next();
            let c2 = cs.next();
            if matches!(c1, Some('%' | '°' | '$' | '€' | '£'))
                || (matches!(c1, Some('.' | ',' | '-' | '/' | ':' | '_' | '@'))
                    && c2.is_some_and(|c| c.is_alphanumeric() && !c.is_ascii_whitespace())
                    && !(c1 == Some('.') && c2.is_some_and(char::is_alphabetic)))
            {
                // "12.5%", "1,234", a number continuing in a non-phone way.
                if !(c1 == Some('-') && c2.is_some_and(char::is_alphabetic)) {
                    return None;
                }
            }
            // Extension: "x123", "ext. 123".
            if let (Some(e), Some(n)) = (tk.get(last + 1), tk.get(last + 2)) {
                if e.kind == Kind::Ext && matches!(n.kind, Kind::Num { .. }) {
                    let g1 = text.get(span_end..e.start).unwrap_or("#");
                    let g2 = text.get(e.end..n.start).unwrap_or("#");
                    let small = |g: &str| {
                        g.len() <= 2 && g.chars().all(|c| matches!(c, ' ' | '.' | ':' | '#'))
                    };
                    let ext_digits = toks.digits_of(n).len();
                    if small(g1) && small(g2) && (1..=6).contains(&ext_digits) {
                        resume_ext = Some(n.end);
                    }
                }
            }
        }

        // Collect the digits and the shape.
        let mut digits = String::with_capacity(20);
        let mut groups: Vec<(usize, &str)> = Vec::new(); // (len, gap before)
        let (mut words, mut leet, mut split, mut filler) = (false, false, false, false);
        for k in first..=last {
            let t = &tk[k];
            let Kind::Num { src, .. } = t.kind else {
                filler = true;
                continue;
            };
            let d = toks.digits_of(t);
            let gap = if k > first {
                text.get(tk[k - 1].end..t.start).unwrap_or("")
            } else {
                ""
            };
            // "+49 (0) 30 ...": the trunk zero in parentheses is not dialled.
            let next_gap = tk
                .get(k + 1)
                .and_then(|n| text.get(t.end..n.start))
                .unwrap_or("");
            if plus && k > first && d == "0" && gap.ends_with('(') && next_gap.starts_with(')') {
                continue;
            }
            match src {
                Source::Words => words = true,
                Source::Leet => leet = true,
                Source::Digits => {}
            }
            if gap.contains('\n') {
                split = true;
            }
            digits.push_str(d);
            groups.push((d.len(), gap));
        }
        let n = digits.len();
        let intl_prefix = if plus {
            0
        } else if digits.starts_with("00") {
            2
        } else if digits.starts_with("011") {
            3
        } else {
            0
        };
        if n < 7 || n - intl_prefix > 15 {
            return None;
        }
        let singles = groups.iter().filter(|g| g.0 == 1).count();
        let spaced = groups.len() >= 4 && singles * 2 >= groups.len();
        let obfuscated = words || leet || split || spaced || filler;

        // Shapes that are not phone numbers.
        if !words {
            let dot_only = groups.iter().skip(1).all(|g| g.1 == ".");
            if dot_only && groups.len() == 4 && groups.iter().all(|g| g.0 <= 3) {
                return None; // IP address
            }
            // Decimal numbers: a chain of exactly two groups joined by ".".
            let mut chain = 1;
            for (k, g) in groups.iter().enumerate().skip(1) {
                if g.1 == "." {
                    chain += 1;
                } else {
                    if chain == 2 {
                        return None;
                    }
                    chain = 1;
                }
                if k == groups.len() - 1 && chain == 2 {
                    return None;
                }
            }
            // Dates: 2018-06-08, 08/06/2018, 8.6.2018.
            if groups.len() == 3 {
                let lens: Vec<usize> = groups.iter().map(|g| g.0).collect();
                let seps_same =
                    groups[1].1 == groups[2].1 && matches!(groups[1].1, "-" | "/" | ".");
                let date = matches!(lens.as_slice(), [4, 1 | 2, 1 | 2] | [1 | 2, 1 | 2, 4]);
                if seps_same && date {
                    return None;
                }
            }
        }

        // Two slashes or more: a date or a reference ("2024/0315/77").
        if !words && groups.iter().filter(|g| g.1 == "/").count() >= 2 {
            return None;
        }
        let ctx = context(text, span_start, span_end);
        if ctx == Context::Label {
            return None;
        }
        let cue = ctx == Context::Cue;
        // A round amount in thousands ("1 200 000", "3.400.000"), cue or not.
        if !plus && !words && groups.len() >= 2 && digits.ends_with("000") {
            let l0 = groups[0].0;
            let sep = groups[1].1.trim();
            if l0 <= 3
                && groups[1..].iter().all(|g| g.0 == 3 && g.1.trim() == sep)
                && matches!(sep, "" | "." | ",")
            {
                return None;
            }
        }
        if unit_after(text, span_end) {
            return None;
        }
        // Postcodes shaped "01310-200" (Brazil), "1100-048" (Portugal) and
        // "02110-1301" (a US ZIP+4): two hyphenated groups of 5+3, 4+3 or
        // 5+4 digits are not a phone number without a cue.
        if !cue
            && !plus
            && !words
            && groups.len() == 2
            && groups[1].1 == "-"
            && matches!((groups[0].0, groups[1].0), (5, 3) | (4, 3) | (5, 4))
        {
            return None;
        }
        if progression(&digits) {
            return None; // "1234567890", a placeholder or a counter
        }
        if !cue && !plus && n == 13 && groups.len() <= 5 && ean13_ok(&digits) {
            return None; // EAN-13 / ISBN-13
        }

        if !cue && !plus && !words {
            let lens: Vec<usize> = groups.iter().map(|g| g.0).collect();
            let sep = groups.get(1).map(|g| g.1.trim()).unwrap_or("");
            let same_sep = groups.iter().skip(1).all(|g| g.1.trim() == sep);
            // Ranges: "2019-2021", "1998 – 2004", "120-135".
            if lens.len() == 2
                && lens[0] <= 4
                && lens[1] <= 4
                && matches!(sep, "-" | "–" | "—" | "/")
            {
                return None;
            }
            // Thousands: "1 200 000", "1.500.000".
            let thousands = lens.len() >= 2
                && lens[0] <= 3
                && lens[1..].iter().all(|&l| l == 3)
                && same_sep
                && lens[0] < 3;
            if thousands {
                return None;
            }
            // Lists of small numbers: "7 14 21 28 35 42", "21 22 23 24 25".
            let small = lens.iter().all(|&l| l <= 2);
            let mixed = lens.contains(&1) && lens.contains(&2);
            let pairs = lens.iter().all(|&l| l == 2) && !digits.starts_with('0');
            if lens.len() >= 4 && small && (mixed || pairs) {
                return None;
            }
            // Groups that count up or down by a constant step: "120 150 180 210".
            if lens.len() >= 4 {
                let mut vals = Vec::with_capacity(lens.len());
                let mut pos = 0;
                for &l in &lens {
                    vals.push(digits.get(pos..pos + l).and_then(|g| g.parse::<i64>().ok()));
                    pos += l;
                }
                let vals: Option<Vec<i64>> = vals.into_iter().collect();
                if let Some(v) = vals {
                    let step = v[1] - v[0];
                    if step != 0 && v.windows(2).all(|w| w[1] - w[0] == step) {
                        return None;
                    }
                }
            }
        }

        let lens: Vec<usize> = if obfuscated {
            Vec::new()
        } else {
            groups.iter().map(|g| g.0).collect()
        };
        // A region with a trunk prefix is suggested only for numbers written
        // with it: "fünf null drei ..." without "0" is no German number.
        let needs_hint = !plus && !digits.starts_with("00");
        let hint: Vec<Region> = if needs_hint {
            self.hinted_regions(text, span_start, span_end)
        } else {
            &[]
        }
        .iter()
        .filter(|(_, ndd)| digits.starts_with(ndd.as_str()))
        .map(|(r, _)| *r)
        .collect();
        let hint = hint.as_slice();
        let (validity, e164) = self.validate(&digits, plus, cue, &lens, hint);
        let bare = !obfuscated && groups.len() == 1 && !plus;
        let formatted = !obfuscated && !bare;
        let nanp_shape = {
            let l: Vec<usize> = groups.iter().map(|g| g.0).collect();
            // Optionally after "1", "001" or "011" (the generic NANP shape).
            matches!(
                l.as_slice(),
                [3, 3, 4] | [1, 3, 3, 4] | [3, 3, 3, 4] | [4, 3, 3, 4]
            )
        };
        if let Some(e) = resume_ext {
            span_end = e;
        }
        let (start, end) = views.folded.to_original(span_start, span_end)?;
        let matched = views.original.get(start..end)?;
        // Invisible characters between the digits: nobody types those by accident.
        let hidden = matched.chars().any(|c| {
            matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{180e}')
        });
        // Digits of another form (fullwidth, other scripts, mathematical) in
        // a message written in Latin letters: a filter dodge, not a habit.
        let foreign = matched.chars().any(|c| !c.is_ascii() && c.is_numeric())
            && *latin.get_or_init(|| {
                views
                    .original
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .all(|c| (c as u32) < 0x250 || ('\u{ff21}'..='\u{ff5a}').contains(&c))
            });
        let hidden = hidden || foreign;
        // Deliberately disguised digits (words, leet, one digit at a time,
        // invisible separators) of phone length are a phone even in a range
        // libphonenumber does not know, unless they only count up or down.
        let strongly_spaced = groups.len() >= 7 && singles * 5 >= groups.len() * 4;
        let disguised =
            (words || leet || strongly_spaced || hidden) && (9..=13).contains(&(n - intl_prefix));
        // A short bare digit run with no cue ("01000001") is an ID, a code or
        // a postcode far more often than a phone number.
        if bare && !cue && n - intl_prefix < 9 {
            return None;
        }
        let mut conf: f32 = match validity {
            Validity::Valid if formatted => 0.9,
            Validity::Valid if obfuscated => 0.75,
            Validity::Valid => 0.65,
            // A "+" says "phone number" even when the range is unknown.
            Validity::Possible if formatted && (nanp_shape || plus) => 0.55,
            Validity::Possible if formatted => 0.45,
            Validity::Possible | Validity::Invalid if disguised => 0.55,
            Validity::Possible => 0.4,
            Validity::Invalid if obfuscated || formatted => 0.3,
            Validity::Invalid => 0.2,
        };
        if cue {
            conf += 0.25;
            // A bare run of phone length right after "call me at" is a phone
            // even in a range libphonenumber does not know.
            if bare && validity == Validity::Invalid && (9..=13).contains(&n) {
                conf += 0.05;
            }
        }
        // Groups joined by a filler word need both a cue and a valid number.
        if filler && !(cue && validity == Validity::Valid) {
            return None;
        }
        let conf = conf.min(0.99);
        if conf < MIN_CONFIDENCE {
            return None;
        }
        let rule = if words {
            "phone.words"
        } else if leet {
            "phone.leet"
        } else if split || filler {
            "phone.split"
        } else if spaced {
            "phone.spaced"
        } else if plus && groups.len() == 1 {
            "phone.e164"
        } else if bare {
            "phone.plain"
        } else {
            "phone.formatted"
        };
        let rule = if validity == Validity::Valid {
            rule.to_string()
        } else {
            format!("{rule}.unvalidated")
        };
        let matched = matched.to_string();
        let normalized = e164.or_else(|| Some(format!("+{}", &digits[intl_prefix..])));
        Some(Finding {
            category: Category::Phone,
            kind: None,
            start,
            end,
            matched,
            normalized,
            confidence: conf,
            rule,
        })
    }
}
