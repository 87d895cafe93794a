//! The phone recognizer: numbers of any country, however written.
//!
//! # Choice of libphonenumber port
//!
//! Numbers are validated with `rlibphonenumber` (a port of Google's
//! libphonenumber with current metadata, v9.0.4x), not the `phonenumber`
//! crate. Both parse and validate; `rlibphonenumber` also ports the matcher,
//! keeps its metadata current through an automated pipeline, and parses without
//! allocating, which matters on a hot path that may validate a candidate
//! against several default regions. Its build cost is moderate (about 30 s
//! cold on two cores): the default `protox` feature compiles the metadata
//! `.proto` files in pure Rust; turning it off needs a system `protoc`, which
//! operators should not have to install, so the default features are kept.
//! We do not use its text matcher: candidates come from our own views (number
//! words, leetspeak, spaced and split digits), which the matcher cannot see.
//!
//! # How a number is found
//!
//! The folded view is tokenized ([`super::numbers::tokenize`]): digit runs,
//! number words and leetspeak become numeric tokens. A candidate is a run of
//! numeric tokens separated by short phone-like gaps (spaces, `-`, `.`, `/`,
//! brackets, stars, emoji, up to two line breaks, filler words such as "and
//! then"; ", " only between number words), with an optional leading `+` (or
//! "plus") and a trailing extension (`x12`, `ext. 12`).
//!
//! Shapes that are not phones are rejected before validation: decimals and
//! thousands ("1 200 000", "50,967.05"), dates and times, IP addresses and
//! ports, ranges ("2019-2021"), lists and counting sequences ("21 22 23 24",
//! "1234567890"), EAN-13/ISBN-13 check digits, amounts and identifiers (`$`,
//! `#`, a sign, glued to letters or a path, inside a function call), quantities
//! followed by a unit, and numbers after a label word (invoice, order, ticket,
//! ISBN, epoch, id, ...; German "-nummer" compounds) with no contact cue nearer.
//! Cues ("call", "text", "whatsapp", "cell", "my number", "llámame", ...) and
//! labels count only within the candidate's clause.
//!
//! The digits are then parsed as an international number (`+`, `00`, `011`),
//! as a national number of each configured region in turn (the first valid
//! one whose national format groups the digits as written wins; a later region
//! without a cue needs a trunk `0` or grouping; the regions of the text's
//! language — number words and the words around — come first), and as an international number
//! missing its `+`. E.164 is the normalized value.
//!
//! Confidence: valid and written as a plain formatted number 0.9; valid and
//! disguised (words, leet, spaced, split) 0.75; valid bare digit run 0.65;
//! merely possible with a `+` or the NANP shape 0.55; disguised digits of phone
//! length (9-13) that libphonenumber rejects (random ranges, fictional
//! numbers) 0.55 — words, leet, one digit at a time, invisible separators, or
//! fullwidth digits in a Latin-script message; a contact cue adds 0.25.
//! Candidates below 0.5 are dropped. Rules: `phone.formatted`, `phone.e164`,
//! `phone.plain`, `phone.spaced`, `phone.words`, `phone.leet`, `phone.split`,
//! with `.unvalidated` appended when libphonenumber did not validate it.

use super::numbers::{tokenize, Kind, NumberWords, LANGS};
use super::Recognizer;
use crate::error::BuildError;
use crate::views::Views;
use crate::Finding;
use candidates::extend;
use rlibphonenumber::{PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region, PHONE_NUMBER_UTIL};

/// Findings below this confidence are not reported.
const MIN_CONFIDENCE: f32 = 0.5;

/// Recognizes phone numbers.
#[derive(Debug)]
pub(crate) struct PhoneRecognizer {
    regions: Vec<Region>,
    /// For each of [`LANGS`], the configured regions where it is spoken, in
    /// configuration order: tried first when the text is in that language.
    /// Each with its trunk prefix ("0" in Germany, "" in Spain).
    lang_regions: [Vec<(Region, String)>; 6],
    words: NumberWords,
    described: described::Described,
}

impl PhoneRecognizer {
    /// A recognizer trying `regions` (ISO 3166-1 alpha-2, first is the
    /// default) for national numbers and reading the number words of
    /// `languages`.
    pub(crate) fn new(regions: &[String], languages: &[String]) -> Result<Self, BuildError> {
        let mut rs = Vec::with_capacity(regions.len());
        for r in regions {
            let region: Region = r
                .parse()
                .map_err(|_| BuildError::UnknownRegion(r.clone()))?;
            // A well-formed code libphonenumber has no metadata for is unknown too.
            if PHONE_NUMBER_UTIL
                .get_country_code_for_region(region)
                .is_none()
            {
                return Err(BuildError::UnknownRegion(r.clone()));
            }
            rs.push(region);
        }
        let lang_regions = LANGS.map(|l| {
            // Regions and the trunk prefix their national numbers are
            // written with.
            let spoken: &[(&str, &str)] = match l {
                "es" => &[
                    ("ES", ""),
                    ("MX", ""),
                    ("AR", "0"),
                    ("CO", ""),
                    ("CL", ""),
                    ("PE", "0"),
                    ("VE", "0"),
                    ("EC", "0"),
                    ("UY", "0"),
                ],
                "pt" => &[("BR", ""), ("PT", "")],
                "fr" => &[("FR", "0"), ("BE", "0"), ("CH", "0"), ("LU", "")],
                "de" => &[("DE", "0"), ("AT", "0"), ("CH", "0")],
                "ru" => &[("RU", "8"), ("KZ", "8"), ("BY", "8")],
                _ => &[],
            };
            rs.iter()
                .filter_map(|r| {
                    spoken
                        .iter()
                        .find(|(c, _)| c.parse::<Region>().ok().as_ref() == Some(r))
                        .map(|(_, ndd)| (*r, ndd.to_string()))
                })
                .collect::<Vec<_>>()
        });
        Ok(PhoneRecognizer {
            regions: rs,
            lang_regions,
            words: NumberWords::new(languages),
            described: described::Described::new(),
        })
    }
}

/// Prepares libphonenumber for every region now rather than on first use.
///
/// libphonenumber loads its metadata on the first parse and compiles a
/// region's patterns the first time a number of that region is looked at
/// (1-5 ms each), then keeps them for the process behind its own thread-safe
/// caches. A detector therefore starts at once and pays for a region only
/// when a text needs it; a long-running server calls this on a background
/// thread at start so that no request ever pays (about 0.7 s for all regions,
/// on a release build, and the memory of every region's patterns).
///
/// Runs once per process: later calls return at once.
pub fn warm_phone_metadata() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(warm_all_regions);
}

fn warm_all_regions() {
    let _ = PhoneNumber::parse("+12015550123", None).map(|n| n.is_valid());
    for r in PHONE_NUMBER_UTIL.get_supported_regions() {
        for t in [PhoneNumberType::FixedLine, PhoneNumberType::Mobile] {
            if let Ok(n) = PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(r, t) {
                let national = n.format_as(PhoneNumberFormat::National);
                let _ = PhoneNumber::parse(national.as_ref(), Some(r)).map(|m| m.is_valid());
                let e164 = n.format_as(PhoneNumberFormat::E164);
                let _ = PhoneNumber::parse(e164.as_ref(), None)
                    .map(|m| (m.is_valid(), m.is_possible_with_reason().is_ok()));
            }
        }
    }
}

impl Recognizer for PhoneRecognizer {
    fn warm(&self) {
        self.described.vanity.compile();
        self.described.parts.compile();
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        self.scan_described(views, out);
        let text = views.folded.text();
        // Fast exit: a phone needs seven digits or number words.
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        if digits < 7 && !text.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80) {
            return;
        }
        if !self.words.may_hold_phone(text) {
            return;
        }
        let toks = tokenize(text, &self.words);
        if toks.digits.len() < 7 {
            return;
        }
        // Whether the message's letters are all Latin: computed once, if needed.
        let latin = std::cell::OnceCell::new();
        let mut i = 0;
        while i < toks.toks.len() {
            if !matches!(toks.toks[i].kind, Kind::Num { .. }) {
                i += 1;
                continue;
            }
            let (last, next) = extend(text, &toks, i);
            if let Some(f) = self.evaluate(views, &toks, i, last, &latin) {
                out.push(f);
            }
            i = next.max(i + 1);
        }
    }
}

mod candidates;
mod context;
mod described;
mod shape;
mod validate;

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<Finding> {
        let r = PhoneRecognizer::new(
            &["US", "GB", "IN", "DE"].map(String::from),
            &["en", "es", "pt", "fr", "de", "ru"].map(String::from),
        )
        .expect("builds");
        let views = Views::new(text);
        let mut out = Vec::new();
        r.scan(&views, &mut out);
        out
    }

    #[test]
    fn finds_formatted_and_obfuscated() {
        let f = scan("Call me at (312) 555-0148 after lunch");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].matched, "(312) 555-0148");
        assert_eq!(f[0].normalized.as_deref(), Some("+13125550148"));
        let f = scan("five zero three, five five five, zero one seven two");
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule, "phone.words");
        let f = scan("text 3l2 555 Ol48");
        assert_eq!(f[0].normalized.as_deref(), Some("+13125550148"));
    }

    #[test]
    fn rejects_numbers_that_are_not_phones() {
        for t in [
            "Invoice #5238133486 for milestone 8.",
            "Deadline 2018-06-08 at 19:51.",
            "Server at 192.168.121.53:7371 returns 502.",
            "Coordinates -60.566285, -97.943941 for the map demo.",
            "Price is $50,967.05 per unit, 20 units.",
            "The account was created at epoch 1730961505.",
            "EAN 3863794026543 on the packaging mockup.",
            "ISBN 978-0-14-294019-8 for the book cover.",
            "Totals: 760 + 934 + 3419 = check the sheet",
        ] {
            assert!(scan(t).is_empty(), "{t}: {:?}", scan(t));
        }
    }

    proptest::proptest! {
        #[test]
        fn spans_are_exact_on_any_input(text in "[0-9a-zO-l +().,:#$/\\-\u{200b}\u{ff10}-\u{ff19}٠-٩éжΑ\n]{0,60}") {
            for f in scan(&text) {
                proptest::prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                proptest::prop_assert_eq!(&text[f.start..f.end], f.matched.as_str());
            }
        }

        #[test]
        fn spans_are_exact_on_phone_like_input(parts in proptest::collection::vec(proptest::sample::select(vec![
            "five", "oh", "double", "forty", "y", "and", "(", ")", "+", "x", "ext", "0", "12", "555",
            "0148", " ", "\n", ", ", ".", "-", "O1", "l4l", "З", "١٢", "\u{200b}", "ｌ", "plus", "call",
            "#", ":", "/", "3️⃣", "ß", "𝟑",
        ]), 0..40)) {
            let text: String = parts.concat();
            for f in scan(&text) {
                proptest::prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
                proptest::prop_assert_eq!(&text[f.start..f.end], f.matched.as_str());
            }
        }

        #[test]
        fn never_panics_on_any_string(text in "\\PC{0,80}") {
            let _ = scan(&text);
        }
    }

    #[test]
    fn unknown_region_is_an_error() {
        let e = PhoneRecognizer::new(&["ZZ".to_string()], &[]).unwrap_err();
        assert_eq!(e, BuildError::UnknownRegion("ZZ".into()));
    }
}
