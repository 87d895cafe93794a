//! The words around a candidate: contact cues, labels, units.

pub(super) const CUES: &[&str] = &[
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
pub(super) enum Context {
    Neutral,
    Cue,
    Label,
}

pub(super) fn floor_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(super) fn ceil_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// The context before `start` (nearest word first: a label or a cue decides;
/// "number"/"no"/"nr" is a cue unless a label qualifies it) and after `end`.
pub(super) fn context(text: &str, start: usize, end: usize) -> Context {
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
pub(super) fn unit_after(text: &str, end: usize) -> bool {
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
