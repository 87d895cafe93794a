//! Street addresses, PO boxes and military addresses.
//!
//! Addresses are read on the original text, because capitals carry the signal
//! (a street *name* is capitalised; folding would lowercase it). Each pattern
//! follows a national format rather than example sentences:
//! - English-language (US, UK, CA, AU, IN): house number (or `Flat/Studio/Unit
//!   N,`), capitalised name words, a street-type word from
//!   `data/address/street_types.txt`, an optional `Apt./Suite N`, then
//!   optionally the city and a US state + ZIP, UK postcode, Canadian postal
//!   code, Australian state + postcode or Indian PIN;
//! - German/Dutch: `Name(straße|str.|weg|allee|platz|gasse|ring|straat|laan|
//!   plein|gracht...) N[-/N]` and optional `12345 City` / `1234 AB City`;
//! - French `N rue|avenue|boulevard... Name`, Spanish `Calle|Avenida|Plaza
//!   Name N`, Italian `Via|Viale|Piazza Name N`, Portuguese/Brazilian `Rua|
//!   Avenida|Travessa Name, N` (CEP `01310-100`), Polish `ul.|al. Name N`
//!   (`00-950 City`), each with its postcode form;
//! - `PO Box`, `Postfach`, `Apartado`, `Caixa Postal`, `Boîte postale`,
//!   `Postbus`... + number; `USS Name, FPO AE 12345`; `Unit/PSC N, Box N,
//!   APO/DPO/FPO AA|AE|AP 12345`.
//!
//! With a postcode the confidence is 0.9; without, only unambiguous street
//! types ("Street", "Straße", "rue", "Calle", "ul.") with a house number count
//! (0.75). A city or country alone, or a number before an ordinary word, is
//! not an address.

use super::util::data_lines;
use super::Recognizer;
use crate::recognize::util::LazyRegex;
use crate::views::{View, Views};
use crate::{Category, Finding};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind};

use street::street_start;

const STREET_TYPES: &str = include_str!("../../../data/address/street_types.txt");
const STREET_TYPES_DE_NL: &str = include_str!("../../../data/address/street_types_de_nl.txt");
const STREET_TYPES_ES_PT_IT_CA: &str =
    include_str!("../../../data/address/street_types_es_pt_it_ca.txt");

/// The words of a data file (comments and blank lines dropped), space-separated.
fn data_words(data: &str) -> String {
    data_lines(data).collect::<Vec<_>>().join(" ")
}

const US_STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR|GU|VI|AS|MP|FM|MH|PW|AA|AE|AP";

#[derive(Debug)]
struct Pattern {
    rule: &'static str,
    re: LazyRegex,
    /// Whether a match without the `tail` group still counts (strong street
    /// type checked on the `suf` group when present).
    standalone: bool,
}

#[derive(Debug)]
pub(crate) struct AddressRecognizer {
    patterns: Vec<Pattern>,
    strong: Vec<String>,
    /// Cheap prefilter: a digit followed within a few words by anything.
    digit: LazyRegex,
    /// Keywords each pattern needs (street words, PO box words...), found in
    /// one pass; `gate_of[keyword id]` is the pattern it unlocks.
    gate: AhoCorasick,
    gate_of: Vec<usize>,
    /// A distinctive postcode shape somewhere: unlocks `address.postcode_city`.
    postcode: LazyRegex,
}

/// Letter pairs after four digits that are units or acronyms, not Dutch
/// postcodes ("1000 MB", "2024 AI Summit"; SA, SD and SS are never issued).
const UNIT_PAIRS: &[&str] = &[
    "MB", "KB", "GB", "TB", "MS", "HZ", "PX", "KM", "CM", "MM", "KG", "MG", "ML", "PM", "AM", "PT",
    "EM", "VH", "VW", "MP", "HP", "KW", "MW", "FT", "IN", "LB", "OZ", "AI", "US", "UK", "EU", "UN",
    "PR", "HR", "IT", "QA", "UX", "UI", "VR", "AR", "TV", "PC", "OS", "DJ", "NY", "LA", "SF", "DC",
    "BC", "AD", "CE", "SA", "SD", "SS", "OK", "ID", "CV", "BI", "DB", "VM", "JS", "TS",
];

impl AddressRecognizer {
    pub(crate) fn new() -> AddressRecognizer {
        let mut strong = Vec::new();
        let mut all = Vec::new();
        for w in data_lines(STREET_TYPES).flat_map(|l| l.split_whitespace()) {
            let word = w.trim_start_matches('!');
            if w.starts_with('!') {
                strong.push(word.to_string());
            }
            all.push(regex::escape(word));
        }
        let en_words: Vec<String> = all.iter().map(|w| w.replace('\\', "")).collect();
        all.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let suffix = all.join("|");
        let name = r"(?:[A-Z][A-Za-z'’\-]*\.?|\d{1,3}(?:st|nd|rd|th))";
        let city = r"[A-Z][A-Za-z'’\-]*\.?(?:[ \t]+[A-Z][A-Za-z'’\-]*\.?){0,3}";
        let uk = r"[A-Z]{1,2}\d{1,2}[A-Z]?[ \t]?\d[A-Z]{2}";
        let ca =
            r"(?:(?:AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT)[ \t]+)?[A-Z]\d[A-Z][ \t]?\d[A-Z]\d";
        let au = r"(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)[ \t]+\d{4}";
        let postal = format!(
            r"(?:(?:{US_STATES})[ \t]+\d{{5}}(?:-\d{{4}})?|{uk}|{ca}|{au}|\d{{3}}[ \t]?\d{{3}})(?-u:\b)"
        );
        let tail_en = format!(r"(?P<tail>(?:,\s*|\s+)(?:{city}(?:,\s*|\s+|-)){{0,2}}{postal})");
        let unit = r"(?:[ \t]+(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|#|Flat|Fl\.?|Floor|Room)[ \t]*[A-Za-z0-9\-]{1,6})?";
        let num = r"(?-u:\b)\d{1,6}[A-Za-z]?(?:[\-/]\d{1,5}[A-Za-z]?)?";
        let en = format!(
            r"(?:(?-u:\b)(?:Flat|Studio|Apt\.?|Apartment|Suite|Unit|Room|Level|Floor)[ \t]+[A-Za-z0-9\-]{{1,6}},?\s+)?{num},?[ \t]+(?:(?:N|S|E|W|NE|NW|SE|SW)\.?[ \t]+)?(?:{name}[ \t]+){{1,4}}(?P<suf>(?i:{suffix}))\.?(?-u:\b)(?:[ \t]+(?:N|S|E|W|NE|NW|SE|SW)(?-u:\b)\.?)?{unit}{tail_en}?"
        );
        let en_flat = format!(
            r"(?-u:\b)(?:Flat|Studio|Apartment|Unit|Suite|Level|H\.?[ \t]?No\.?|House[ \t]+No\.?|Plot[ \t]+No\.?|Door[ \t]+No\.?)[ \t]*[A-Za-z0-9\-/]{{1,8}},?\s*(?:{name}(?:[ \t]+{name}){{0,3}},[ \t]*)?(?:{name}[ \t]+){{1,4}}(?P<suf>(?i:{suffix}))(?-u:\b){tail_en}"
        );
        // Street types per language family, from data files (regex-escaped).
        let alt = |d: &str| {
            let mut w: Vec<String> = data_words(d)
                .split_whitespace()
                .map(regex::escape)
                .collect();
            w.sort_by_key(|x| std::cmp::Reverse(x.len()));
            w.join("|")
        };
        let de_types = alt(STREET_TYPES_DE_NL);
        let es_types = alt(STREET_TYPES_ES_PT_IT_CA);
        let cap = r"\p{Lu}";
        let low = r"\p{Ll}";
        let de_city = format!(r"{cap}[\w\-]*(?:[ \t]+(?:{cap}|\()[\w\-)]*){{0,2}}");
        let de = format!(
            r"(?:{cap}{low}*[ \t\-])*{cap}?{low}*(?P<suf>(?i:{de_types}))[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?-u:\b))?(?:[ \t]?[\-/][ \t]?\d{{1,4}}[a-zA-Z]?)?(?-u:\b)(?P<tail>,?\s+(?:D-|NL-|A-|CH-)?(?:\d{{5}}|\d{{4}}[ \t]?[A-Z]{{2}}|\d{{4}})[ \t]+{de_city})?"
        );
        let fr = format!(
            r"(?-u:\b)\d{{1,4}}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?P<suf>(?i:rue|avenue|av\.|boulevard|bd|place|allée|allee|chemin|impasse|quai|route|cours|passage))[ \t]+(?:(?:de[ \t]+la|de[ \t]+l'|du|des|de|d'|la|le|les)[ \t]*)?{cap}[\w'’\-]*(?:[ \t]+{cap}[\w'’\-]*){{0,3}}(?P<tail>,?\s+\d{{5}}[ \t]+{de_city})?"
        );
        let es_it_pt = format!(
            r"(?-u:\b)(?P<suf>(?i:{es_types}))[ \t]+(?:(?:de[ \t]+la|de[ \t]+los|de[ \t]+las|del|de|della|delle|dei|degli|di|da|do|das|dos)[ \t]+)?{cap}[\w'’\-]*(?:[ \t]+(?:{cap}[\w'’\-]*|de|del|da|do|di|della)){{0,4}},?[ \t]+(?:n[º°o]\.?[ \t]*)?\d{{1,5}}[A-Za-z]?(?-u:\b)(?:,?[ \t]+(?i:piso|puerta|portal|escalera|apto\.?|apt\.?|bloco|sala|interno|int\.|scala)[ \t]*[\wº°]{{1,4}})*(?P<tail>(?:,?\s+[\-–]?[ \t]*{de_city}(?:[ \t]*[\-–][ \t]*[A-Z]{{2}})?)?,?[ \t]+(?:\d{{5}}-\d{{3}}|\d{{4}}-\d{{3}}|\d{{5}}|\d{{8}})(?:,?[ \t]+{de_city})?)?"
        );
        let pl = format!(
            r"(?-u:\b)(?P<suf>(?i:ul\.|ulica|al\.|aleja|os\.|osiedle|pl\.|plac))[ \t]*{cap}[\w\-]*(?:[ \t]+{cap}[\w\-]*){{0,3}}[ \t]+\d{{1,4}}[A-Za-z]?(?:/\d{{1,4}})?(?-u:\b)(?P<tail>,?\s+\d{{2}}-\d{{3}}[ \t]+{de_city})?"
        );
        let po = r"(?i)(?-u:\b)(?:P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]+Office[ \t]+Box|GPO[ \t]+Box|Postfach|Apartado(?:[ \t]+de[ \t]+correos|[ \t]+postal)?|Caixa[ \t]+Postal|Bo[iî]te[ \t]+postale|Casella[ \t]+postale|Skrytka[ \t]+pocztowa|Postbus|Locked[ \t]+Bag)[ \t]*(?:No\.?[ \t]*|#[ \t]*)?\d{1,6}(?:[ \t]\d{2,3}){0,3}(?-u:\b)";
        let mil = r"(?-u:\b)(?:(?:USS|USNS|USCGC)[ \t]+[A-Z][A-Za-z]+(?:[ \t]+[A-Z][A-Za-z]+)?|(?:Unit|PSC|CMR)[ \t]+\d{1,5},?[ \t]+Box[ \t]+\d{1,5}),?[ \t]+(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}(?-u:\b)";
        let ru = format!(
            r"(?:(?:г\.|город)[ \t]*{cap}[\p{{L}}\-]+,?[ \t]*)?(?P<suf>ул\.|улица|пр\.|пр-т|просп\.|проспект|пер\.|переулок|ш\.|шоссе|б-р|бульвар|наб\.|набережная|пл\.|площадь)[ \t]*{cap}[\p{{L}}\-]*(?:[ \t]+[\p{{L}}\-]+)?,?[ \t]*(?:д\.|дом)[ \t]*\d{{1,4}}(?:[ \t]*/[ \t]*\d{{1,4}})?(?:,?[ \t]*(?:к\.|корп\.|стр\.|кв\.)[ \t]*\d{{1,4}})*(?P<tail>,?\s+\d{{6}})?"
        );
        // Lowercase street names ("42 baker street") count only with a postcode.
        let city_l = r"[A-Za-z][A-Za-z'’\-]*\.?(?:[ \t]+[A-Za-z][A-Za-z'’\-]*\.?){0,3}";
        let en_lower = format!(
            r"{num},?[ \t]+(?:[a-z][a-z'’\-]*[ \t]+){{1,3}}(?P<suf>(?i:{suffix}))\.?(?-u:\b){unit}(?P<tail>(?i:(?:,\s*|\s+)(?:{city_l}(?:,\s*|\s+|-)){{0,2}}{postal}))"
        );
        // "Damrak 1, 1012 LG Amsterdam": a name and a house number, then a
        // postcode of a distinctive national shape (NL 1234 AB, PL 00-950,
        // PT 1000-001, BR 01310-100) and a city, is an address without any
        // street-type word.
        let pc = r"(?:NL-)?\d{4}[ \t]?[A-Z]{2}|\d{2}-\d{3}|\d{4}-\d{3}|\d{5}-\d{3}";
        let postcode_city = format!(
            r"(?P<street>\p{{L}}[\p{{L}}'’\-]+(?:[ \t]+\p{{L}}[\p{{L}}'’\-]+){{0,3}})[ \t]+\d{{1,4}}(?:[ \t]?[a-zA-Z](?-u:\b))?(?:[\-/]\d{{1,4}}[a-zA-Z]?)?,?[ \t]*\n?[ \t]*(?-u:\b)(?P<tail>{pc})(?-u:\b)[ \t,]+(?P<city>\p{{L}}[\p{{L}}'’\-]+)(?:[ \t]+\p{{Lu}}[\p{{L}}'’\-]+)?"
        );
        // Japanese block addresses: [〒postcode] [prefecture 都道府県] a city,
        // ward, town or village (市区町村郡), a district, then the block
        // numbers "1-2-3" or "2丁目3番4号" (the folded view has ASCII digits
        // and hyphens for fullwidth ones).
        let ja = r"(?P<tail>〒?[ \t]?\d{3}-\d{4}[ \t]*)?(?:\p{Han}{1,3}[都道府県])?\p{Han}{1,5}[市区町村郡](?:\p{Han}{1,5}[市区町村])?[\p{Han}\p{Hiragana}\p{Katakana}ー]{0,10}?\d{1,4}(?:丁目|-)\d{1,4}(?:(?:番地?|-)\d{1,4}号?|番地?)";
        let mk = |rule, p: &str, standalone| Pattern {
            rule,
            re: LazyRegex::new(p),
            standalone,
        };
        let words = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let gates: Vec<Vec<String>> = vec![
            words("apo fpo dpo"),
            words("box postfach apartado caixa boîte boite casella skrytka postbus bag"),
            words("flat studio apartment unit suite level h.no hno house plot door"),
            en_words,
            words(&data_words(STREET_TYPES_DE_NL)),
            words("rue avenue av. boulevard bd place allée allee chemin impasse quai route cours passage"),
            words(&data_words(STREET_TYPES_ES_PT_IT_CA)),
            words("ul. ulica al. aleja os. osiedle pl. plac"),
            words("ул. улица пр. пр-т просп проспект пер. переулок ш. шоссе б-р бульвар наб. набережная пл. площадь"),
        ];
        let en_gate = gates[3].clone();
        let mut gates = gates;
        gates.push(en_gate);
        gates.push(words("市 区 町 村 郡"));
        let mut gate_words = Vec::new();
        let mut gate_of = Vec::new();
        for (i, ws) in gates.into_iter().enumerate() {
            for w in ws {
                gate_words.push(w);
                gate_of.push(i);
            }
        }
        let gate = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            // A full DFA: built once, the fastest per byte (the default
            // contiguous NFA follows failure links on every mismatch).
            .kind(Some(AhoCorasickKind::DFA))
            .build(&gate_words)
            .expect("address gate automaton");
        AddressRecognizer {
            gate,
            gate_of,
            patterns: vec![
                mk("address.military", mil, true),
                mk("address.po_box", po, true),
                mk("address.flat", &en_flat, false),
                mk("address.street", &en, true),
                mk("address.street_de_nl", &de, true),
                mk("address.street_fr", &fr, true),
                mk("address.street_es_it_pt", &es_it_pt, true),
                mk("address.street_pl", &pl, true),
                mk("address.street_ru", &ru, true),
                mk("address.street", &en_lower, false),
                mk("address.block_ja", ja, true),
                mk("address.postcode_city", &postcode_city, false),
            ],
            postcode: LazyRegex::new(format!(r"(?:{pc})(?-u:\b)")),
            strong,
            digit: LazyRegex::new(r"\d"),
        }
    }

    fn strong_type(&self, rule: &str, suf: &str) -> bool {
        let s = suf.to_lowercase();
        let s = s.trim_end_matches('.');
        match rule {
            "address.street" => self.strong.iter().any(|w| w == s),
            "address.street_de_nl" => matches!(
                s,
                "straße"
                    | "strasse"
                    | "str"
                    | "gasse"
                    | "allee"
                    | "chaussee"
                    | "straat"
                    | "laan"
                    | "gracht"
                    | "plein"
            ),
            "address.street_fr" => !matches!(s, "route" | "cours" | "passage" | "place"),
            "address.street_es_it_pt" => !matches!(
                s,
                "via"
                    | "corso"
                    | "largo"
                    | "camino"
                    | "ronda"
                    | "plaza"
                    | "paseo"
                    | "estrada"
                    | "carretera"
            ),
            _ => true,
        }
    }
}

/// Whether the street just matched is used as a modifier ("3 Main Street
/// locations", "45 Main Street renovation"): a lowercase word follows that is
/// not a connector. Only asked of addresses without a postcode.
fn modifies_noun(text: &str, end: usize) -> bool {
    let rest = text.get(end..).unwrap_or("");
    if !rest.starts_with([' ', '\t']) {
        return false;
    }
    let word: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphabetic())
        .collect();
    let Some(first) = word.chars().next() else {
        return false;
    };
    first.is_lowercase()
        && !matches!(
            word.as_str(),
            "in" | "on"
                | "at"
                | "and"
                | "or"
                | "near"
                | "by"
                | "to"
                | "for"
                | "is"
                | "was"
                | "please"
                | "now"
                | "today"
                | "tomorrow"
                | "next"
                | "from"
                | "with"
                | "if"
                | "but"
                | "so"
                | "then"
                | "apt"
                | "suite"
                | "unit"
                | "floor"
                | "which"
                | "where"
                | "opposite"
                | "behind"
                | "across"
                | "i"
                | "we"
                | "you"
                | "it"
                | "thanks"
                | "thank"
                | "asap"
                | "instead"
                | "as"
                | "after"
                | "before"
                | "between"
                | "around"
                | "downtown"
                | "north"
                | "south"
                | "east"
                | "west"
                | "y"
                | "e"
                | "et"
                | "und"
                | "en"
                | "em"
                | "no"
                | "na"
                | "im"
                | "am"
        )
}

impl Recognizer for AddressRecognizer {
    fn warm(&self) {
        self.digit.compile();
        self.postcode.compile();
        for p in &self.patterns {
            p.re.compile();
        }
    }

    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let text = views.original;
        if !self.digit.is_match(text) {
            return;
        }
        let mut taken: Vec<(usize, usize)> = Vec::new();
        self.scan_text(text, text, None, &mut taken, out);
        // Look-alike letters and fullwidth digits: scan the folded view too,
        // with the capitals of the original put back.
        if !text.is_ascii() {
            let restored = restore_case(text, &views.folded);
            if restored != text {
                self.scan_text(text, &restored, Some(&views.folded), &mut taken, out);
            }
        }
    }
}

/// The folded view's text with each letter uppercased where the original
/// character it comes from is uppercase (when that keeps its byte length, so
/// offsets still map through the view).
fn restore_case(original: &str, view: &View) -> String {
    let folded = view.text();
    let mut s = String::with_capacity(folded.len());
    for (i, c) in folded.char_indices() {
        let upper = c.is_lowercase()
            && view
                .to_original(i, i + c.len_utf8())
                .and_then(|(os, _)| original.get(os..))
                .and_then(|o| o.chars().next())
                .is_some_and(char::is_uppercase);
        let mut up = c.to_uppercase();
        match (upper, up.next(), up.next()) {
            (true, Some(u), None) if u.len_utf8() == c.len_utf8() => s.push(u),
            _ => s.push(c),
        }
    }
    s
}

impl AddressRecognizer {
    /// Runs the patterns on `text` (the original, or a view of it when `view`
    /// is given) and reports matches not overlapping `taken`.
    fn scan_text(
        &self,
        original: &str,
        text: &str,
        view: Option<&View>,
        taken: &mut Vec<(usize, usize)>,
        out: &mut Vec<Finding>,
    ) {
        let mut wanted = [false; 16];
        for m in self.gate.find_overlapping_iter(text) {
            if let Some(&i) = self.gate_of.get(m.pattern().as_usize()) {
                if let Some(w) = wanted.get_mut(i) {
                    *w = true;
                }
            }
        }
        if let Some(w) = wanted.get_mut(self.patterns.len().saturating_sub(1)) {
            *w = self.postcode.is_match(text);
        }
        for (_, p) in self
            .patterns
            .iter()
            .enumerate()
            .filter(|(i, _)| wanted.get(*i).copied().unwrap_or(true))
        {
            for c in p.re.captures_iter(text) {
                let Some(m) = c.get(0) else {
                    continue;
                };
                let mut start = m.start();
                if p.rule == "address.postcode_city" {
                    let (Some(street), Some(tail)) = (c.name("street"), c.name("tail")) else {
                        continue;
                    };
                    match street_start(street.as_str()) {
                        Some(off) => start = street.start() + off,
                        None => continue,
                    }
                    let letters: String = tail
                        .as_str()
                        .chars()
                        .filter(char::is_ascii_alphabetic)
                        .collect();
                    if letters.len() == 2 && UNIT_PAIRS.contains(&letters.as_str()) {
                        continue;
                    }
                    // A numeric postcode (00-950, 1000-001) needs a capitalised city.
                    let city_cap = c
                        .name("city")
                        .and_then(|m| m.as_str().chars().next())
                        .is_some_and(char::is_uppercase);
                    if letters.is_empty() && !city_cap {
                        continue;
                    }
                }
                let has_tail = c
                    .name("tail")
                    .is_some_and(|t| !t.as_str().trim().is_empty());
                let confidence = match c.name("suf") {
                    _ if has_tail => 0.9,
                    None if p.standalone => 0.85,
                    Some(s)
                        if p.standalone
                            && self.strong_type(p.rule, s.as_str())
                            && !modifies_noun(text, m.end()) =>
                    {
                        0.75
                    }
                    _ => continue,
                };
                let matched = text[start..m.end()].trim_end_matches([',', ' ', '\t']);
                if matched.is_empty() {
                    continue;
                }
                let (s, e) = match view {
                    None => (start, start + matched.len()),
                    Some(v) => match v.to_original(start, start + matched.len()) {
                        Some(span) => span,
                        None => continue,
                    },
                };
                let Some(orig) = original.get(s..e) else {
                    continue;
                };
                if taken.iter().any(|&(ts, te)| s < te && ts < e) {
                    continue;
                }
                taken.push((s, e));
                out.push(Finding {
                    category: Category::Address,
                    kind: None,
                    start: s,
                    end: e,
                    matched: orig.to_string(),
                    normalized: None,
                    confidence,
                    rule: p.rule.to_string(),
                });
            }
        }
    }
}

mod street;

#[cfg(test)]
mod tests;
