//! The number words of the configured languages (`data/words/numbers.tsv`) and their values.

use crate::views::is_alnum;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
/// FNV-1a: the word table is looked up for every word of every message, and
/// its keys are fixed and short, so a fast hash beats SipHash's DoS guard.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type WordMap = HashMap<&'static str, (WordValue, u8), BuildHasherDefault<Fnv>>;

const NUMBERS_TSV: &str = include_str!("../../../data/words/numbers.tsv");

/// What a number word means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordValue {
    /// A digit, or a number from 10 to 99 written as two digits
    /// ("douze" = 12, "veintiuno" = 21).
    Digit(u8),
    /// Tens ("forty" = 4): "40", or with a following digit word "48".
    Tens(u8),
    /// "oh"/"o": zero, but only next to other digits.
    Oh,
    /// "double"/"triple": repeat the next digit.
    Times(u8),
    /// "hundred": "eight hundred" = 800.
    Hundred,
}

/// The number words of the configured languages.
#[derive(Debug, Clone)]
pub(crate) struct NumberWords {
    /// Each word's value and the languages it belongs to (a bit per
    /// [`LANGS`] entry).
    words: WordMap,
    max_len: usize,
    /// For each first byte, a bit per word length (capped at 63) of the
    /// words starting with it: most words of a text fail this test without
    /// being hashed.
    shapes: Box<[u64; 256]>,
}

/// The languages number words come in; a word's language mask has bit `k`
/// set when it is a word of `LANGS[k]`.
pub(crate) const LANGS: [&str; 6] = ["en", "es", "pt", "fr", "de", "ru"];

impl NumberWords {
    /// The words of `languages` (ISO 639-1 codes).
    pub(crate) fn new(languages: &[String]) -> NumberWords {
        let mut words = WordMap::default();
        let mut max_len = 0;
        for line in NUMBERS_TSV.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let (Some(lang), Some(word), Some(meaning)) = (cols.next(), cols.next(), cols.next())
            else {
                continue;
            };
            if !languages.iter().any(|l| l == lang) {
                continue;
            }
            let value = match meaning {
                "oh" => WordValue::Oh,
                "x2" => WordValue::Times(2),
                "x3" => WordValue::Times(3),
                "x100" => WordValue::Hundred,
                t if t.starts_with('t') => match t[1..].parse::<u8>() {
                    Ok(d) if (2..10).contains(&d) => WordValue::Tens(d),
                    _ => continue,
                },
                d => match d.parse::<u8>() {
                    Ok(d) if d < 100 => WordValue::Digit(d),
                    _ => continue,
                },
            };
            let bit = LANGS
                .iter()
                .position(|l| *l == lang)
                .map_or(0, |k| 1u8 << k);
            max_len = max_len.max(word.len());
            words
                .entry(word)
                .and_modify(|e: &mut (WordValue, u8)| e.1 |= bit)
                .or_insert((value, bit));
        }
        let mut shapes = Box::new([0u64; 256]);
        for w in words.keys() {
            if let Some(&b) = w.as_bytes().first() {
                shapes[usize::from(b)] |= 1 << w.len().min(63);
            }
        }
        NumberWords {
            words,
            max_len,
            shapes,
        }
    }

    pub(super) fn get(&self, word: &str) -> Option<WordValue> {
        if word.len() > self.max_len || !self.may_be_word(word) {
            return None;
        }
        self.words.get(word).map(|e| e.0)
    }

    /// Whether some number word has the first byte and the length of `word`.
    fn may_be_word(&self, word: &str) -> bool {
        word.as_bytes()
            .first()
            .is_some_and(|&b| self.shapes[usize::from(b)] & (1 << word.len().min(63)) != 0)
    }

    /// Whether `text` (folded) may hold the seven digits of a phone number:
    /// a cheap upper bound on the digits its tokens stand for (every char of
    /// a token with a digit in it, leetspeak included; three for a number
    /// word, which "triple", tens or "hundred" may stand for). Texts below
    /// it cannot give a candidate, so they skip the tokenizer.
    pub(crate) fn may_hold_phone(&self, text: &str) -> bool {
        // Bytes, not chars: a run of ASCII alphanumerics and non-ASCII bytes
        // is at least one token; its byte length bounds its chars.
        let b = text.as_bytes();
        let in_run = |c: u8| c >= 0x80 || c.is_ascii_alphanumeric();
        let mut potential = 0usize;
        let mut i = 0;
        while i < b.len() && potential < 7 {
            if !in_run(b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            let mut digit = false;
            while i < b.len() && in_run(b[i]) {
                digit |= b[i].is_ascii_digit();
                i += 1;
            }
            // The run starts and ends next to ASCII bytes (or the ends of the
            // text): char boundaries.
            let Some(run) = text.get(start..i) else {
                return true;
            };
            if digit {
                potential += run.len();
            } else if run.is_ascii() {
                if self.number_word(run) {
                    potential += 3;
                }
            } else {
                // Non-ASCII punctuation may join words: look at each word.
                potential += 3 * run
                    .split(|c: char| !is_alnum(c))
                    .filter(|w| self.number_word(w))
                    .count();
            }
        }
        potential >= 7
    }

    /// Whether `word` reads as a number word (or the lone "o").
    fn number_word(&self, word: &str) -> bool {
        word == "o" || self.get(word).is_some() || self.compound(word).is_some()
    }

    /// The languages (a mask over [`LANGS`]) `word` is a number word of; 0
    /// for other words. German compounds ("achtundsiebzig") are German.
    pub(crate) fn langs(&self, word: &str) -> u8 {
        if word.len() > self.max_len + 8 {
            return 0;
        }
        match self.words.get(word) {
            Some(e) => e.1,
            None if self.compound(word).is_some() => 1 << 4,
            None => 0,
        }
    }

    /// A German compound of a unit and tens: "einundzwanzig" = 21,
    /// "achtundsiebzig" = 78.
    pub(super) fn compound(&self, word: &str) -> Option<u8> {
        // "und" by hand: a substring searcher costs more to set up than
        // these short words take to scan.
        let b = word.as_bytes();
        if b.len() < 6 {
            return None;
        }
        let at = b.windows(3).position(|w| w == b"und")?;
        let (unit, tens) = (word.get(..at)?, word.get(at + 3..)?);
        let u = match unit {
            "ein" => 1,
            _ => match self.get(unit)? {
                WordValue::Digit(d) if (1..10).contains(&d) => d,
                _ => return None,
            },
        };
        match self.get(tens)? {
            WordValue::Tens(t) if self.words.get(tens).is_some_and(|e| e.1 & (1 << 4) != 0) => {
                Some(t * 10 + u)
            }
            _ => None,
        }
    }
}
