//! Validation with libphonenumber and the choice of region.

use super::context::{ceil_boundary, floor_boundary};
use super::PhoneRecognizer;
use rlibphonenumber::{NumberLengthType, PhoneNumber, PhoneNumberFormat, Region};

/// What the digits are, according to libphonenumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Validity {
    Invalid,
    Possible,
    Valid,
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
        "prefijo",
        "celular",
        "whatsapp",
    ],
    &[
        "meu", "minha", "me", "chama", "zap", "número", "numero", "liga", "ligue", "ligar",
        "celular", "telefone", "é", "o", "fala", "comigo", "manda", "mensagem", "você", "voce",
        "aqui", "no", "na", "obrigado", "whats", "ddd",
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
        "indicatif",
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
        "vorwahl",
        "dann",
    ],
    &[],
];

impl PhoneRecognizer {
    /// The configured regions suggested by the language of the number words in
    /// `start..end` of the folded text and of the words around it ("Meine
    /// Nummer ist null eins fünf eins ..." is German): empty when the text
    /// is English or its language is unclear.
    pub(super) fn hinted_regions(
        &self,
        text: &str,
        start: usize,
        end: usize,
    ) -> &[(Region, String)] {
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

    pub(super) fn validate(
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
}
