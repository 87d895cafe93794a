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

use super::numbers::{tokenize, Kind, NumberWords, Source, Tokens, LANGS};
use super::Recognizer;
use crate::detector::BuildError;
use crate::views::Views;
use crate::{Category, Finding};
use rlibphonenumber::{
    NumberLengthType, PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region, PHONE_NUMBER_UTIL,
};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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
        // Load the metadata and compile the regions' patterns now rather
        // than on the first scans (libphonenumber compiles a region's
        // patterns on first use, 1-5 ms each, then caches them for the
        // process). Release builds warm every region, as "+81 ..." may name
        // any country (about 0.7 s, once per process); debug builds (tests)
        // warm the configured ones only.
        let _ = PhoneNumber::parse("+12015550123", None).map(|n| n.is_valid());
        let warm: Vec<Region> = if cfg!(debug_assertions) {
            rs.clone()
        } else {
            PHONE_NUMBER_UTIL.get_supported_regions().collect()
        };
        for &r in &warm {
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
        })
    }
}

/// What the digits are, according to libphonenumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Validity {
    Invalid,
    Possible,
    Valid,
}

impl Recognizer for PhoneRecognizer {
    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let text = views.folded.text();
        // Fast exit: a phone needs seven digits or number words.
        let digits = text.bytes().filter(u8::is_ascii_digit).count();
        if digits < 7 && !text.bytes().any(|b| b.is_ascii_alphabetic() || b >= 0x80) {
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

/// Whether `gap` (the text between two numeric tokens) may separate the
/// parts of one phone number: whitespace (at most two line breaks) and a few
/// marks people put between digit groups (dashes, dots, slashes, brackets,
/// stars, bullets, emoji); ", " and ";" only next to number words.
fn gap_ok(gap: &str, words_both_sides: bool) -> bool {
    if gap.is_empty() {
        return true;
    }
    let (mut marks, mut newlines, mut n) = (0, 0, 0);
    for c in gap.chars() {
        n += 1;
        match c {
            ' ' | '\t' | '\u{a0}' | '\r' => {}
            '\n' => newlines += 1,
            '-' | '.' | '(' | ')' | '[' | ']' | '{' | '}' | '/' | '\\' | '_' | '|' | '~' | '*' => {
                marks += 1
            }
            ',' | ';' if words_both_sides => marks += 1,
            c if !c.is_ascii()
                && matches!(
                    c.general_category(),
                    GeneralCategory::DashPunctuation
                        | GeneralCategory::OtherSymbol
                        | GeneralCategory::OtherPunctuation
                        | GeneralCategory::ModifierSymbol
                ) =>
            {
                marks += 1
            }
            _ => return false,
        }
    }
    marks <= 3 && n <= 8 && newlines <= 2
}

/// Words people put between the parts of a number they split up.
const FILLERS: &[&str] = &[
    "and",
    "then",
    "y",
    "e",
    "et",
    "und",
    "и",
    "dash",
    "hyphen",
    "space",
    "dot",
    "point",
    "punto",
    "ponto",
    "guion",
    "tiret",
    "strich",
    "точка",
];

/// Extends a candidate from numeric token `i`: returns the index of its last
/// numeric token and the index to resume scanning from. A filler word
/// ("312 555 and 0148") may sit between two groups.
fn extend(text: &str, toks: &Tokens, i: usize) -> (usize, usize) {
    let mut j = i;
    while let Kind::Num { src: psrc, .. } = toks.toks[j].kind {
        let mut nx = j + 1;
        let Some(mut t) = toks.toks.get(nx) else {
            break;
        };
        // Up to two filler words between two groups.
        let small = |a: usize, b: usize| gap_ok(text.get(a..b).unwrap_or("#"), false);
        let mut fillers = 0;
        while t.kind == Kind::Word && fillers < 2 {
            let w = text.get(t.start..t.end).unwrap_or("");
            let Some(n) = toks.toks.get(nx + 1) else {
                break;
            };
            if !FILLERS.contains(&w) || !small(toks.toks[nx - 1].end, t.start) {
                break;
            }
            nx += 1;
            t = n;
            fillers += 1;
        }
        if fillers > 0 && !small(toks.toks[nx - 1].end, t.start) {
            break;
        }
        let Kind::Num { src: nsrc, .. } = t.kind else {
            break;
        };
        let gap = text.get(toks.toks[nx - 1].end..t.start).unwrap_or("#");
        let words = psrc == Source::Words || nsrc == Source::Words;
        if !gap_ok(gap, words) {
            break;
        }
        // A group in parentheses is an area code or trunk right after the
        // first group ("+1 (312) 555", "+49 (0) 30"), closed right after it;
        // not "8 336 817 (2022)".
        if gap.contains('(') && !gap.contains(')') {
            let closes = toks
                .toks
                .get(nx + 1)
                .and_then(|n| text.get(t.end..n.start))
                .or_else(|| text.get(t.end..))
                .is_some_and(|g| g.trim_start().starts_with(')'));
            if !closes || j != i {
                break;
            }
        }
        j = nx;
    }
    (j, j + 1)
}

const CUES: &[&str] = &[
    "call",
    "calls",
    "calling",
    "text",
    "texts",
    "texting",
    "txt",
    "sms",
    "phone",
    "phones",
    "tel",
    "tele",
    "telephone",
    "mobile",
    "mob",
    "cell",
    "cellphone",
    "cel",
    "celular",
    "movil",
    "móvil",
    "whatsapp",
    "whatsap",
    "whats",
    "wa",
    "zap",
    "viber",
    "signal",
    "telegram",
    "imessage",
    "facetime",
    "ring",
    "dial",
    "reach",
    "contact",
    "ph",
    "fax",
    "wechat",
    "ping",
    "hotline",
    "llamame",
    "llámame",
    "llama",
    "llamar",
    "ligue",
    "liga",
    "ligar",
    "telefone",
    "telefono",
    "teléfono",
    "appelle",
    "appelez",
    "appeler",
    "portable",
    "tél",
    "téléphone",
    "telefon",
    "handy",
    "anrufen",
    "ruf",
    "mobil",
    "звони",
    "позвони",
    "звоните",
    "телефон",
    "тел",
    "мобильный",
    "ватсап",
    "вотсап",
    "whatsapp's",
    "digits",
    "landline",
    "hmu",
    "buzz",
    "tlf",
    "tfno",
    "fone",
    "wpp",
    "wapp",
    "wsp",
    "zapzap",
    "kakaotalk",
    "kakao",
    "helpline",
    "handynummer",
    "mobilnummer",
    "sms'",
];

/// Words that make the next number something else than a phone.
const LABELS: &[&str] = &[
    "invoice",
    "inv",
    "order",
    "orders",
    "ticket",
    "tickets",
    "tracking",
    "track",
    "isbn",
    "ean",
    "upc",
    "gtin",
    "sku",
    "asin",
    "epoch",
    "timestamp",
    "unix",
    "id",
    "ids",
    "ref",
    "reference",
    "serial",
    "sn",
    "account",
    "acct",
    "iban",
    "bic",
    "swift",
    "routing",
    "transaction",
    "txn",
    "receipt",
    "case",
    "claim",
    "policy",
    "po",
    "model",
    "part",
    "item",
    "batch",
    "lot",
    "version",
    "ver",
    "build",
    "release",
    "port",
    "ip",
    "commit",
    "hash",
    "pr",
    "issue",
    "bug",
    "job",
    "task",
    "zip",
    "postcode",
    "pin",
    "otp",
    "verification",
    "confirmation",
    "booking",
    "reservation",
    "shipment",
    "parcel",
    "awb",
    "vin",
    "license",
    "licence",
    "passport",
    "ssn",
    "ein",
    "vat",
    "tax",
    "total",
    "totals",
    "price",
    "budget",
    "cost",
    "usd",
    "eur",
    "amount",
    "balance",
    "sum",
    "salary",
    "lat",
    "lon",
    "lng",
    "latitude",
    "longitude",
    "coordinates",
    "coords",
    "dimensions",
    "size",
    "resolution",
    "page",
    "pages",
    "row",
    "rows",
    "meeting",
    "room",
    "pid",
    "uid",
    "user",
    "customer",
    "member",
    "card",
    "code",
    "pedido",
    "factura",
    "rechnung",
    "bestellung",
    "commande",
    "facture",
    "заказ",
    "заказа",
    "счет",
    "счёт",
    "счета",
    "счёта",
    "договора",
    "билета",
    "auftrag",
    "kunde",
    "artikel",
    "contract",
    "agreement",
    "document",
    "doc",
    "file",
    "record",
];

/// "Number" in the supported languages.
const NUMBER_WORDS: &[&str] = &[
    "number",
    "numbers",
    "no",
    "nr",
    "num",
    "número",
    "numero",
    "nummer",
    "numéro",
    "номер",
];

/// Words that make "number" someone's number.
const POSSESSIVES: &[&str] = &[
    "my",
    "our",
    "your",
    "his",
    "her",
    "their",
    "mi",
    "su",
    "tu",
    "meu",
    "minha",
    "seu",
    "mon",
    "ma",
    "notre",
    "votre",
    "meine",
    "mein",
    "unsere",
    "deine",
    "ihre",
    "мой",
    "наш",
    "твой",
    "phone",
    "cell",
    "mobile",
    "whatsapp",
    "contact",
    "telephone",
    "private",
    "personal",
    "direct",
];

/// Units or nouns after a number that make it a quantity.
const UNITS: &[&str] = &[
    "usd",
    "eur",
    "euro",
    "euros",
    "dollars",
    "pesos",
    "reais",
    "rupees",
    "rubles",
    "рублей",
    "руб",
    "px",
    "dpi",
    "pt",
    "em",
    "ms",
    "kb",
    "mb",
    "gb",
    "tb",
    "km",
    "kg",
    "mm",
    "cm",
    "usd",
    "eur",
    "gbp",
    "inr",
    "visitors",
    "users",
    "views",
    "downloads",
    "followers",
    "words",
    "records",
    "items",
    "units",
    "pcs",
    "times",
    "hours",
    "hrs",
    "minutes",
    "mins",
    "days",
    "years",
    "bytes",
];

/// Offsets of the marks that end a clause (". ", ", ", "; ", "! ", "? "):
/// a cue does not reach across them.
fn clause_ends(s: &str) -> impl Iterator<Item = usize> + '_ {
    s.as_bytes()
        .windows(2)
        .enumerate()
        .filter(|(_, w)| matches!(w[0], b'.' | b',' | b';' | b'!' | b'?') && w[1] == b' ')
        .map(|(k, _)| k)
}

/// What the words around a candidate say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Neutral,
    Cue,
    Label,
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The context before `start` (nearest word first: a label or a cue decides;
/// "number"/"no"/"nr" is a cue unless a label qualifies it) and after `end`.
fn context(text: &str, start: usize, end: usize) -> Context {
    let from = floor_boundary(text, start.saturating_sub(60));
    let before = text.get(from..start).unwrap_or("");
    // Only the same clause counts: "call me, we have 1 200 000 users".
    let before = match clause_ends(before).last() {
        Some(k) => before.get(k + 2..).unwrap_or(""),
        None => before,
    };
    // "number" right before the digits is a cue when it is someone's:
    // "my number", "Number:", not "the contract number".
    let mut pending: Option<usize> = None;
    for (n, w) in before
        .rsplit(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && !w.bytes().any(|b| b.is_ascii_digit()))
        .enumerate()
    {
        if n >= 5 {
            break;
        }
        if let Some(p) = pending {
            if n == p + 1 {
                if POSSESSIVES.contains(&w) {
                    return Context::Cue;
                }
                if LABELS.contains(&w) {
                    return Context::Label;
                }
                pending = None;
                continue;
            }
        }
        if LABELS.contains(&w) {
            return Context::Label;
        }
        // German compounds: "Telefonnummer" is a cue, "Rechnungsnummer" a label.
        if let Some(head) = w.strip_suffix("nummer").filter(|h| !h.is_empty()) {
            return if [
                "telefon",
                "handy",
                "ruf",
                "mobil",
                "whatsapp",
                "tel",
                "fax",
                "mobilfunk",
            ]
            .iter()
            .any(|c| head.starts_with(c))
            {
                Context::Cue
            } else {
                Context::Label
            };
        }
        if CUES.contains(&w) {
            return Context::Cue;
        }
        if NUMBER_WORDS.contains(&w) && n <= 1 {
            pending = Some(n);
        }
    }
    let to = ceil_boundary(text, end + 40);
    let after = text.get(end..to).unwrap_or("");
    let after = match clause_ends(after).next() {
        Some(k) => after.get(..k).unwrap_or(""),
        None => after,
    };
    let mut prev = "";
    for w in after
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(4)
    {
        if CUES.contains(&w) {
            return Context::Cue;
        }
        // "... is my number", "... es mi número".
        if NUMBER_WORDS.contains(&w) && POSSESSIVES.contains(&prev) {
            return Context::Cue;
        }
        prev = w;
    }
    // "Number: 312 ..." at the start of the clause.
    if pending.is_some() {
        Context::Cue
    } else {
        Context::Neutral
    }
}

/// Whether the word right after `end` is a unit ("px", "visitors").
fn unit_after(text: &str, end: usize) -> bool {
    let to = ceil_boundary(text, end + 16);
    let after = text.get(end..to).unwrap_or("");
    let trimmed = after.trim_start_matches([' ', '\u{a0}']);
    if after.len() - trimmed.len() > 1 {
        return false;
    }
    let w = trimmed
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("");
    UNITS.contains(&w)
}

/// Whether the digits only count up or down ("123456789", "9876543210").
fn progression(d: &str) -> bool {
    let b = d.as_bytes();
    let step = |x: u8, y: u8| (i16::from(y) - i16::from(x)).rem_euclid(10);
    b.len() > 2 && {
        let s = step(b[0], b[1]);
        (s == 1 || s == 9) && b.windows(2).all(|w| step(w[0], w[1]) == s)
    }
}

/// Whether `n`'s national format groups its digits into groups of `lens`.
/// A trunk `0` the writer left out is ignored ("98451 27730" for "098451 27730").
fn same_grouping(n: &PhoneNumber, lens: &[usize], digits: &str) -> bool {
    let national = n.format_as(PhoneNumberFormat::National);
    let skip_trunk = national.starts_with('0') && !digits.starts_with('0');
    let mut it = national
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .enumerate()
        .map(|(i, l)| if i == 0 && skip_trunk { l - 1 } else { l })
        .filter(|&l| l > 0);
    lens.iter().all(|&l| it.next() == Some(l)) && it.next().is_none()
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

/// Words that tell which language a message is written in (besides number
/// words): one list per entry of [`LANGS`].
const LANG_WORDS: [&[&str]; 6] = [
    &[
        "my", "me", "is", "call", "the", "at", "number", "phone", "cell", "text", "on", "you", "i",
        "it's", "here", "please", "reach", "and", "or", "mobile", "whatsapp",
    ],
    &[
        "mi",
        "número",
        "numero",
        "llámame",
        "llamame",
        "llama",
        "llamar",
        "es",
        "al",
        "móvil",
        "movil",
        "teléfono",
        "telefono",
        "escríbeme",
        "escribeme",
        "mío",
        "aquí",
        "tengo",
        "por",
        "favor",
        "el",
        "la",
        "con",
        "yo",
        "mándame",
        "celular",
        "whatsapp",
    ],
    &[
        "meu", "minha", "me", "chama", "zap", "número", "numero", "liga", "ligue", "ligar",
        "celular", "telefone", "é", "o", "fala", "comigo", "manda", "mensagem", "você", "voce",
        "aqui", "no", "na", "obrigado", "whats",
    ],
    &[
        "mon",
        "ma",
        "mes",
        "numéro",
        "appelez",
        "appelle",
        "appeler",
        "moi",
        "au",
        "est",
        "c'est",
        "voici",
        "joindre",
        "portable",
        "téléphone",
        "tél",
        "je",
        "vous",
        "suis",
        "écrivez",
        "écris",
        "le",
        "mobile",
    ],
    &[
        "meine",
        "mein",
        "nummer",
        "ruf",
        "rufen",
        "rufe",
        "mich",
        "an",
        "ist",
        "unter",
        "handy",
        "telefon",
        "ich",
        "bin",
        "du",
        "sie",
        "erreichbar",
        "schreib",
        "mir",
        "die",
        "der",
        "und",
        "telefonnummer",
        "handynummer",
    ],
    &[],
];

impl PhoneRecognizer {
    /// The configured regions suggested by the language of the number words in
    /// `start..end` of the folded text and of the words around it ("Meine
    /// Nummer ist null eins fünf eins ..." is German): empty when the text
    /// is English or its language is unclear.
    fn hinted_regions(&self, text: &str, start: usize, end: usize) -> &[(Region, String)] {
        if self.lang_regions.iter().all(Vec::is_empty) {
            return &[];
        }
        let mut votes = [0u32; 6];
        let span = text.get(start..end).unwrap_or("");
        for w in span
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            let m = self.words.langs(w);
            for (k, v) in votes.iter_mut().enumerate() {
                if m & (1 << k) != 0 {
                    *v += 2;
                }
            }
        }
        let from = floor_boundary(text, start.saturating_sub(80));
        let to = ceil_boundary(text, end + 60);
        let around = [
            text.get(from..start).unwrap_or(""),
            text.get(end..to).unwrap_or(""),
        ];
        for part in around {
            for w in part
                .split(|c: char| !c.is_alphabetic() && c != '\'')
                .filter(|w| !w.is_empty())
            {
                if w.chars().any(|c| matches!(c, '\u{400}'..='\u{4ff}')) {
                    votes[5] += 1;
                    continue;
                }
                for (k, list) in LANG_WORDS.iter().enumerate() {
                    if list.contains(&w) {
                        votes[k] += 1;
                    }
                }
            }
        }
        let best = votes.iter().copied().max().unwrap_or(0);
        if best == 0 || votes.iter().filter(|&&v| v == best).count() > 1 {
            return &[];
        }
        match votes.iter().position(|&v| v == best) {
            Some(k) => &self.lang_regions[k],
            None => &[],
        }
    }

    fn validate(
        &self,
        digits: &str,
        plus: bool,
        cue: bool,
        lens: &[usize],
        hint: &[Region],
    ) -> (Validity, Option<String>) {
        let e164 = |n: &PhoneNumber| n.format_as(PhoneNumberFormat::E164).into_owned();
        let possible = |n: &PhoneNumber| {
            matches!(
                n.is_possible_with_reason(),
                Ok(NumberLengthType::IsPossible)
            )
        };
        let intl = if plus {
            Some(digits)
        } else if let Some(rest) = digits.strip_prefix("00") {
            Some(rest)
        } else if digits.len() > 11 {
            digits.strip_prefix("011")
        } else {
            None
        };
        let mut best: (Validity, Option<String>) = (Validity::Invalid, None);
        if let Some(rest) = intl {
            let s = format!("+{rest}");
            if let Ok(n) = PhoneNumber::parse(&s, None) {
                if n.is_valid() {
                    return (Validity::Valid, Some(e164(&n)));
                }
                if possible(&n) {
                    best = (Validity::Possible, Some(e164(&n)));
                }
            }
            if plus {
                return best;
            }
        }
        let grouped = lens.len() > 1;
        let mut first_valid: Option<String> = None;
        // An international number written without its "+".
        let intl_no_plus = || {
            let n = PhoneNumber::parse(format!("+{digits}"), None).ok()?;
            n.is_valid().then(|| e164(&n))
        };
        // Eleven digits or more, not a trunk "0" nor a NANP "1": more likely a
        // country code than a long national number of a later region.
        let intl_first = digits.len() >= 11
            && !digits.starts_with('0')
            && !(digits.len() == 11 && digits.starts_with('1'));
        // The regions the text's language suggests come first.
        let order = hint
            .iter()
            .chain(self.regions.iter().filter(|r| !hint.contains(r)));
        // A number the text's region reads as possible (its trunk "0" and
        // length fit) keeps that country even when a later region would
        // validate the digits: "Meine Nummer ist 0151 2345678" is German.
        let mut hinted_possible: Option<String> = None;
        for (k, &r) in order.enumerate() {
            if k == 1 && intl_first {
                if let Some(e) = intl_no_plus() {
                    return (Validity::Valid, Some(e));
                }
            }
            if let Ok(n) = PhoneNumber::parse(digits, Some(r)) {
                if best.1.is_none() && !hint.contains(&r) {
                    // Not valid (yet): still report the number as the default
                    // region reads it.
                    best.1 = Some(e164(&n));
                }
                // Without a cue, a number that is valid only in a later region
                // must carry that region's trunk prefix ("0...") or be written
                // in groups and be long: a bare "4294967295" or a short
                // "555 0148" is not a German number.
                let plausible = self.regions.first() == Some(&r)
                    || cue
                    || hint.contains(&r)
                    || digits.starts_with('0')
                    || (grouped && digits.len() >= 9);
                if n.is_valid() && plausible {
                    // Several regions may accept the digits ("06 12 34 56 78"
                    // is French and German, "98451 27730" American and
                    // Indian): prefer the region whose own national format
                    // groups the digits as they were written.
                    if !grouped || same_grouping(&n, lens, digits) {
                        return (Validity::Valid, hinted_possible.or_else(|| Some(e164(&n))));
                    }
                    if first_valid.is_none() {
                        first_valid = hinted_possible.clone().or_else(|| Some(e164(&n)));
                    }
                    continue;
                }
                if hint.contains(&r)
                    && hinted_possible.is_none()
                    && digits.starts_with('0')
                    && possible(&n)
                {
                    hinted_possible = Some(e164(&n));
                }
                if best.0 == Validity::Invalid && possible(&n) {
                    best = (Validity::Possible, Some(e164(&n)));
                }
            }
        }
        if first_valid.is_some() {
            return (Validity::Valid, first_valid);
        }
        if digits.len() >= 10 && !digits.starts_with('0') && !intl_first {
            if let Some(e) = intl_no_plus() {
                return (Validity::Valid, Some(e));
            }
        }
        best
    }

    fn evaluate(
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
        // Postcodes shaped "01310-200" (Brazil) and "1100-048" (Portugal):
        // two hyphenated groups of 5+3 or 4+3 digits are not a phone number
        // without a cue.
        if !cue
            && !plus
            && !words
            && groups.len() == 2
            && groups[1].1 == "-"
            && matches!((groups[0].0, groups[1].0), (5, 3) | (4, 3))
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
