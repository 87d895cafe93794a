//! Number words and the numeric token stream the phone recognizer reads.
//!
//! [`NumberWords`] knows the digit words of the configured languages
//! (`data/words/numbers.tsv`: "five", "cinco", "fünf", "пять", "oh", "double").
//! [`tokenize`] turns the folded view into alphanumeric tokens, reading number
//! words, leetspeak inside digit runs ("3l2" = 312, "Ol48" = 0148) and
//! "double five" as digits. Only whole words count: "phone" holds "one" and
//! "often" holds "ten", but neither is a token of its own.

use crate::views::is_alnum;

mod words;

pub(crate) use words::{NumberWords, WordValue, LANGS};

/// Where a numeric token's digits came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Written as digits (of any script).
    Digits,
    /// Written as number words.
    Words,
    /// Letters standing for digits inside a digit run ("3l2", "Ol48").
    Leet,
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Digits: `digits[ds..de]` of the token stream.
    Num { ds: u32, de: u32, src: Source },
    /// An extension marker ("x", "ext", "extension").
    Ext,
    /// Any other word.
    Word,
}

/// One alphanumeric token of the folded view: `start..end` is its byte span
/// in the folded view.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

/// Tokens of a folded text and the digits they stand for.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub toks: Vec<Token>,
    pub digits: String,
}

impl Tokens {
    /// The digits of a numeric token (empty for others).
    pub fn digits_of(&self, t: &Token) -> &str {
        match t.kind {
            Kind::Num { ds, de, .. } => self.digits.get(ds as usize..de as usize).unwrap_or(""),
            _ => "",
        }
    }
}

#[derive(Clone, Copy)]
enum Raw {
    Num(Source),
    /// "hundred": multiplies the digit word before it.
    Hundred,
    /// A lone "o": zero only next to digits written as digits (in Spanish,
    /// Portuguese and Italian it means "or": "uno o dos").
    LoneO,
    /// Leet of two chars ("O1"): digits only next to other digits.
    Weak,
    Tens(u8),
    Oh,
    Times(u8),
    Ext,
    Word,
}

/// Splits the (folded, lowercase) `text` into tokens, reading number words,
/// "oh", "double"/"triple" and leetspeak as digits.
pub(crate) fn tokenize(text: &str, words: &NumberWords) -> Tokens {
    // First pass: raw alphanumeric runs.
    let mut raw: Vec<(usize, usize, Raw, String)> = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        if !is_alnum(c) {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        while i < text.len() {
            match text[i..].chars().next() {
                Some(c) if is_alnum(c) => i += c.len_utf8(),
                _ => break,
            }
        }
        let tok = &text[start..i];
        classify(tok, start, words, &mut raw);
    }
    // Second pass: "oh" next to digits, "double five", then build tokens.
    let mut out = Tokens::default();
    let is_num = |r: Option<&(usize, usize, Raw, String)>, gap_ok: bool| {
        gap_ok
            && matches!(
                r,
                Some((_, _, Raw::Num(_), _)) | Some((_, _, Raw::Times(_), _))
            )
    };
    let mut k = 0;
    while k < raw.len() {
        let (s, e, r, ref d) = raw[k];
        match r {
            Raw::Num(src) => {
                // French "quatre-vingt(s)" = 80 and its compounds.
                if let Some(&(vs, ve, Raw::Tens(2), _)) = raw.get(k + 1) {
                    let vingt = text.get(vs..ve).is_some_and(|w| w.starts_with("vingt"));
                    if vingt && text.get(s..e) == Some("quatre") && close(e, vs) {
                        k = tens(text, &raw, k + 1, 8, s, ve, &mut out);
                        continue;
                    }
                }
                // French "dix-sept" .. "dix-neuf" = 17 .. 19.
                if let Some((v, ve, n)) = teen(text, &raw, k) {
                    push_num(&mut out, s, ve, &v.to_string(), Source::Words);
                    k = n;
                    continue;
                }
                // "eight hundred" = 800.
                if let Some(&(hs, he, Raw::Hundred, _)) = raw.get(k + 1) {
                    if src == Source::Words && d.len() == 1 && d != "0" && close(e, hs) {
                        push_num(&mut out, s, he, &format!("{d}00"), Source::Words);
                        k += 2;
                        continue;
                    }
                }
                push_num(&mut out, s, e, d, src)
            }
            Raw::Hundred => out.toks.push(Token {
                start: s,
                end: e,
                kind: Kind::Word,
            }),
            Raw::Tens(t) => {
                k = tens(text, &raw, k, t, s, e, &mut out);
                continue;
            }
            Raw::LoneO => {
                let digit_like = |r: Option<&(usize, usize, Raw, String)>| {
                    matches!(r, Some((_, _, Raw::Num(Source::Digits | Source::Leet), _)))
                };
                let prev = k.checked_sub(1).and_then(|p| raw.get(p));
                let next = raw.get(k + 1);
                let prev_ok = digit_like(prev) && prev.is_some_and(|p| close(p.1, s));
                let next_ok = digit_like(next) && next.is_some_and(|n| close(e, n.0));
                if prev_ok || next_ok {
                    push_num(&mut out, s, e, "0", Source::Leet);
                } else {
                    out.toks.push(Token {
                        start: s,
                        end: e,
                        kind: Kind::Word,
                    });
                }
            }
            Raw::Weak => {
                let prev = k.checked_sub(1).and_then(|p| raw.get(p));
                let next = raw.get(k + 1);
                let prev_ok = is_num(prev, prev.is_some_and(|p| close(p.1, s)));
                let next_ok = is_num(next, next.is_some_and(|n| close(e, n.0)));
                if prev_ok || next_ok {
                    push_num(&mut out, s, e, d, Source::Leet);
                } else {
                    out.toks.push(Token {
                        start: s,
                        end: e,
                        kind: Kind::Word,
                    });
                }
            }
            Raw::Oh => {
                let prev = k.checked_sub(1).and_then(|p| raw.get(p));
                let next = raw.get(k + 1);
                let prev_ok = is_num(prev, prev.is_some_and(|p| close(p.1, s)));
                let next_ok = is_num(next, next.is_some_and(|n| close(e, n.0)));
                if prev_ok || next_ok {
                    push_num(&mut out, s, e, "0", Source::Words);
                } else {
                    out.toks.push(Token {
                        start: s,
                        end: e,
                        kind: Kind::Word,
                    });
                }
            }
            Raw::Times(n) => {
                // "double five" / "triple 5": the next token, if one digit.
                if let Some(&(ns, ne, Raw::Oh, _)) = raw.get(k + 1) {
                    if close(e, ns) {
                        let rep = "0".repeat(n as usize);
                        push_num(&mut out, s, ne, &rep, Source::Words);
                        k += 2;
                        continue;
                    }
                }
                if let Some(&(ns, ne, Raw::Num(_), ref nd)) = raw.get(k + 1) {
                    if nd.len() == 1 && close(e, ns) {
                        let rep = nd.repeat(n as usize);
                        push_num(&mut out, s, ne, &rep, Source::Words);
                        k += 2;
                        continue;
                    }
                }
                out.toks.push(Token {
                    start: s,
                    end: e,
                    kind: Kind::Word,
                });
            }
            Raw::Ext => out.toks.push(Token {
                start: s,
                end: e,
                kind: Kind::Ext,
            }),
            Raw::Word => out.toks.push(Token {
                start: s,
                end: e,
                kind: Kind::Word,
            }),
        }
        k += 1;
    }
    out
}

type RawTok = (usize, usize, Raw, String);

fn close(a: usize, b: usize) -> bool {
    b.saturating_sub(a) <= 3
}

/// A number from 10 to 19 written as words at `raw[k]` ("douze", French
/// "dix-huit"): its value, its end and the index after it.
fn teen(text: &str, raw: &[RawTok], k: usize) -> Option<(u8, usize, usize)> {
    let &(s, e, Raw::Num(Source::Words), ref d) = raw.get(k)? else {
        return None;
    };
    let v: u8 = d.parse().ok().filter(|v| (10..20).contains(v))?;
    if text.get(s..e) == Some("dix") {
        if let Some(&(ns, ne, Raw::Num(Source::Words), ref nd)) = raw.get(k + 1) {
            if matches!(nd.as_str(), "7" | "8" | "9") && close(e, ns) {
                return Some((10 + nd.parse::<u8>().ok()?, ne, k + 2));
            }
        }
    }
    Some((v, e, k + 1))
}

/// Reads tens (`t` tens, span `s..e`, last raw token `k`) and what completes
/// them: "forty-eight", "treinta y ocho", "vingt et un", and in French
/// "soixante-dix-huit" = 78, "quatre-vingt-dix-neuf" = 99. Pushes the number
/// and returns the index of the next raw token.
fn tens(
    text: &str,
    raw: &[RawTok],
    k: usize,
    t: u8,
    s: usize,
    e: usize,
    out: &mut Tokens,
) -> usize {
    let mut n = k + 1;
    if let Some((cs, ce, Raw::Word, _)) = raw.get(n) {
        let w = text.get(*cs..*ce).unwrap_or("");
        if matches!(w, "y" | "e" | "et" | "and" | "und" | "i") && close(e, *cs) {
            n += 1;
        }
    }
    let from = if n == k + 1 { e } else { raw[n - 1].1 };
    if let Some(&(ns, ne, Raw::Num(Source::Words), ref nd)) = raw.get(n) {
        if close(from, ns) {
            if nd.len() == 1 && nd != "0" {
                push_num(out, s, ne, &format!("{t}{nd}"), Source::Words);
                return n + 1;
            }
            // Only French counts by twenties: "soixante-douze" = 72.
            let french = matches!(
                text.get(raw[k].0..raw[k].1),
                Some("soixante" | "vingt" | "vingts")
            );
            if (t == 6 || t == 8) && french {
                if let Some((v, ve, nn)) = teen(text, raw, n) {
                    push_num(out, s, ve, &(t * 10 + v).to_string(), Source::Words);
                    return nn;
                }
            }
        }
    }
    push_num(out, s, e, &format!("{t}0"), Source::Words);
    k + 1
}

fn push_num(out: &mut Tokens, start: usize, end: usize, digits: &str, src: Source) {
    let ds = out.digits.len() as u32;
    out.digits.push_str(digits);
    let de = out.digits.len() as u32;
    out.toks.push(Token {
        start,
        end,
        kind: Kind::Num { ds, de, src },
    });
}

/// Classifies one alphanumeric run, pushing one or more raw tokens.
fn classify(
    tok: &str,
    start: usize,
    words: &NumberWords,
    raw: &mut Vec<(usize, usize, Raw, String)>,
) {
    let end = start + tok.len();
    let bytes = tok.as_bytes();
    if bytes.iter().all(u8::is_ascii_digit) {
        raw.push((start, end, Raw::Num(Source::Digits), tok.to_string()));
        return;
    }
    let has_digit = bytes.iter().any(u8::is_ascii_digit);
    if !has_digit {
        // One look-up of the word (most words are not number words).
        let value = words.get(tok);
        if let Some(v) = value.is_none().then(|| words.compound(tok)).flatten() {
            raw.push((start, end, Raw::Num(Source::Words), v.to_string()));
            return;
        }
        let r = match value {
            Some(WordValue::Digit(_)) => Raw::Num(Source::Words),
            Some(WordValue::Tens(t)) => Raw::Tens(t),
            Some(WordValue::Oh) => Raw::Oh,
            Some(WordValue::Times(n)) => Raw::Times(n),
            Some(WordValue::Hundred) => Raw::Hundred,
            // A lone "o" next to digits written as digits: "+44 (O) 20".
            None if tok == "o" => Raw::LoneO,
            None if matches!(
                tok,
                "x" | "ext" | "extn" | "extension" | "durchwahl" | "доб"
            ) =>
            {
                Raw::Ext
            }
            None => Raw::Word,
        };
        let d = match value {
            Some(WordValue::Digit(d)) => d.to_string(),
            _ => String::new(),
        };
        raw.push((start, end, r, d));
        return;
    }
    // Digits mixed with letters. Cyrillic look-alikes of digits first
    // ("З" for 3, "б" for 6); other non-ASCII letters make it a word.
    if !tok.is_ascii() {
        let mapped: String = tok
            .chars()
            .map(|c| match c {
                'з' | 'З' => '3',
                'б' => '6',
                'o' | 'о' | 'ο' => '0',
                'l' | 'i' => '1',
                c => c,
            })
            .collect();
        let real = tok.chars().filter(char::is_ascii_digit).count();
        if mapped.bytes().all(|b| b.is_ascii_digit()) && real >= 2 {
            raw.push((start, end, Raw::Num(Source::Leet), mapped));
        } else {
            raw.push((start, end, Raw::Word, String::new()));
        }
        return;
    }
    // An extension glued to its digits: "x12".
    for p in ["ext", "x"] {
        if let Some(rest) = tok.strip_prefix(p) {
            if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
                let mid = start + p.len();
                raw.push((start, mid, Raw::Ext, String::new()));
                raw.push((mid, end, Raw::Num(Source::Digits), rest.to_string()));
                return;
            }
        }
    }
    // Leetspeak: every letter is o (0), l or i (1), or, inside the token, one
    // of s (5), b (8), z (2), g (9), t (7), a (4), e (3); at most one "x"
    // between digits marks an extension ("8565xO476").
    let n = bytes.len();
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut seg_start = 0;
    let mut ok = true;
    for (j, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' | b'o' | b'l' | b'i' => {}
            b's' | b'b' | b'z' | b'g' | b't' | b'a' | b'e' if j > 0 && j + 1 < n => {}
            b'x' if j > 0 && j + 1 < n && parts.is_empty() => {
                parts.push((seg_start, j));
                seg_start = j + 1;
            }
            _ => {
                ok = false;
                break;
            }
        }
    }
    parts.push((seg_start, n));
    let real = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if !ok || real == 0 {
        raw.push((start, end, Raw::Word, String::new()));
        return;
    }
    // "O1", "4l": one digit and one letter count only next to other digits.
    let weak = real == 1 && n <= 2;
    for (k, &(a, b)) in parts.iter().enumerate() {
        if k > 0 {
            raw.push((start + a - 1, start + a, Raw::Ext, String::new()));
        }
        if a >= b {
            continue;
        }
        let seg = &tok[a..b];
        let digits: String = seg
            .bytes()
            .map(|c| match c {
                b'o' => '0',
                b'l' | b'i' => '1',
                b's' => '5',
                b'b' => '8',
                b'z' => '2',
                b'g' => '9',
                b't' => '7',
                b'a' => '4',
                b'e' => '3',
                c => char::from(c),
            })
            .collect();
        let kind = if weak {
            Raw::Weak
        } else if seg.bytes().all(|c| c.is_ascii_digit()) {
            Raw::Num(Source::Digits)
        } else {
            Raw::Num(Source::Leet)
        };
        raw.push((start + a, start + b, kind, digits));
    }
}

#[cfg(test)]
mod tests;
