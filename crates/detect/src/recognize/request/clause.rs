//! What the words around a match say: negation, a rule reminder, a withdrawal,
//! a channel noun that is a topic of work.

use super::super::util::data_lines;
use std::collections::HashSet;
use std::sync::LazyLock;

/// A word list of `data/request/`: whole words, and stems (a trailing `*`).
struct Words {
    whole: HashSet<&'static str>,
    stems: Vec<&'static str>,
}

impl Words {
    fn new(data: &'static str) -> Words {
        let (stems, whole): (Vec<&str>, Vec<&str>) =
            data_lines(data).partition(|w| w.ends_with('*'));
        Words {
            whole: whole.into_iter().collect(),
            stems: stems.iter().map(|w| w.trim_end_matches('*')).collect(),
        }
    }

    fn any(&self, words: &[&str]) -> bool {
        words
            .iter()
            .any(|w| self.whole.contains(w) || self.stems.iter().any(|s| w.starts_with(s)))
    }
}

static FIRST: LazyLock<Words> =
    LazyLock::new(|| Words::new(include_str!("../../../data/request/first_person.txt")));
static SECOND: LazyLock<Words> =
    LazyLock::new(|| Words::new(include_str!("../../../data/request/second_person.txt")));
static BENEFIT: LazyLock<Words> =
    LazyLock::new(|| Words::new(include_str!("../../../data/request/benefit.txt")));
static RULE_TALK: LazyLock<Words> =
    LazyLock::new(|| Words::new(include_str!("../../../data/request/rule_talk.txt")));

/// First words of an off-platform phrase that name a place, not an action:
/// a sentence opening with them is not an imperative.
const PLACE_WORDS: &[&str] = &[
    "off",
    "outside",
    "away",
    "out",
    "fuera",
    "fora",
    "hors",
    "en",
    "außerhalb",
    "ausserhalb",
    "вне",
    "без",
];

/// Whether the match `start..end` sits in a statement about the rule rather
/// than a request or an offer addressed to the other person.
///
/// The sentence around the match is read as words. It is *addressed* when it
/// has a first-person word ("I", "we", "let's", "me", "mi", "nous", "wir",
/// "мы"), a second-person word, a question mark, a selling point ("cheaper",
/// "save"), or opens with the matched verb (an imperative: "Pay directly and
/// skip the fee"). It is *rule talk* when it has a word of policy text or a
/// third-person description (`data/request/rule_talk.txt`: "rules", "users",
/// "suspended", "not covered", "who"). A bare off-platform phrase
/// (`off_platform`) counts only in an addressed sentence; any match is a
/// statement in rule talk without a first-person proposal, a question or a
/// selling point.
pub(super) fn statement(text: &str, start: usize, end: usize, off_platform: bool) -> bool {
    let ends = ['.', '!', '?', '\n', ';'];
    let from = text
        .get(..start)
        .and_then(|b| b.rfind(ends))
        .map_or(0, |i| i + 1);
    let to = text
        .get(end..)
        .and_then(|a| a.find(ends).map(|i| end + i + 1))
        .unwrap_or(text.len());
    let Some(sentence) = text.get(from..to.min(text.len())) else {
        return false;
    };
    let lower = sentence.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // "let's", "let us", "lets go" propose; "lets you" / "lets users" describe.
    let lets = words.windows(2).any(|w| {
        (w[0] == "let" && matches!(w[1], "s" | "us"))
            || (w[0] == "lets" && !SECOND.any(&w[1..]) && !RULE_TALK.any(&w[1..]))
    });
    let first = lets || FIRST.any(&words);
    let question = sentence.contains(['?', '¿']);
    let benefit = BENEFIT.any(&words);
    let rule_talk = RULE_TALK.any(&words);
    // A question about the rule ("Can users pay outside the platform?") stays
    // rule talk for an off-platform phrase; other rules need none.
    if rule_talk && !first && !benefit && (!question || off_platform) {
        return true;
    }
    if !off_platform {
        return false;
    }
    // An imperative: the sentence opens with the matched verb ("Pay directly").
    let head = text.get(from..start).unwrap_or("").trim();
    let head = head.trim_start_matches(|c: char| !c.is_alphanumeric());
    let opening = text
        .get(start..end)
        .and_then(|m| m.split_whitespace().next())
        .unwrap_or("")
        .to_lowercase();
    let imperative = (head.is_empty() || head.eq_ignore_ascii_case("please"))
        && !opening.ends_with("ing")
        && !PLACE_WORDS.contains(&opening.as_str());
    let addressed = first || SECOND.any(&words) || question || benefit || imperative;
    !addressed
}

/// Words that negate a request or make it a reminder of the rule, looked for
/// in the clause before the match.
const NEGATIONS: &[&str] = &[
    "don't",
    "dont",
    "do not",
    "never",
    "not",
    "no need",
    "please keep",
    "keep all",
    "can't",
    "cannot",
    "mustn't",
    "must not",
    "shouldn't",
    "should not",
    "won't",
    "avoid sharing",
    "prohibited",
    "forbidden",
    "not allowed",
    "against",
    "without",
    "no ",
    "nunca",
    "não",
    "nao",
    "ne ",
    "n'",
    "jamais",
    "nicht",
    "kein",
    "keine",
    "nie",
    "не ",
    "нельзя",
    "никогда",
];

/// Words that make "number of/de/von ..." a phone number after all.
const PHONE_WORDS: &[&str] = &[
    "téléphone",
    "telephone",
    "portable",
    "mobile",
    "teléfono",
    "telefono",
    "telefone",
    "telefon",
    "celular",
    "cellulare",
    "móvil",
    "movil",
    "handy",
    "mobil",
    "whatsapp",
    "contacto",
    "contato",
    "contact",
    "contatto",
    "telemóvel",
    "telemovel",
    "телефона",
];

/// Channel nouns that are also ordinary words ("a number in mind").
const AMBIGUOUS: &[&str] = &[
    "number",
    "num",
    "digits",
    "nummer",
    "numero",
    "número",
    "numéro",
    "номер",
    "contact",
    "address",
];

/// Clause openings that take a request back ("no need", "never mind").
const WITHDRAWALS: &[&str] = &[
    "no need",
    "never mind",
    "nevermind",
    "nvm",
    "scratch that",
    "nah",
    "forget that",
    "forget it",
    "on second thought",
    "on second thoughts",
    "no wait",
    "wait no",
    "not needed",
    "no hace falta",
    "no es necesario",
    "olvídalo",
    "olvidalo",
    "não precisa",
    "nao precisa",
    "deixa pra lá",
    "deixa pra la",
    "esquece",
    "pas besoin",
    "laisse tomber",
    "oublie",
    "nicht nötig",
    "nicht notig",
    "vergiss es",
    "egal",
    "не надо",
    "не нужно",
    "неважно",
    "забудь",
];

/// Clause openings that, with a place on the platform in the same clause,
/// send the exchange back to it ("just upload them here", "actually, use the
/// platform chat").
const REDIRECTS: &[&str] = &[
    "just",
    "actually",
    "instead",
    "rather",
    "better",
    "let's keep",
    "lets keep",
    "let's stay",
    "keep",
    "use",
    "simply",
    "post",
    "upload",
    "attach",
    "put",
    "drop",
    "solo",
    "mejor",
    "só",
    "so ",
    "melhor",
    "juste",
    "plutôt",
    "plutot",
    "einfach",
    "lieber",
    "besser",
    "просто",
    "лучше",
];

/// Places on the platform a redirect points to.
const PLATFORM_PLACES: &[&str] = &[
    "here",
    "platform",
    "this chat",
    "the chat",
    "in chat",
    "the site",
    "aquí",
    "aqui",
    "plataforma",
    "ici",
    "plateforme",
    "hier",
    "plattform",
    "здесь",
    "тут",
    "платформе",
    "платформу",
];

/// Whether the clause before `start` negates the request or is a reminder.
/// `whole_clause`: look back to the start of the clause, not only 48 bytes
/// ("We cannot help with payments made by bank transfer outside the site").
pub(super) fn negated(text: &str, start: usize, whole_clause: bool) -> bool {
    let mut from = start.saturating_sub(if whole_clause { 160 } else { 48 });
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let before = &text[from..start];
    let clause = before
        .rsplit(['.', '!', '?', ';', '\n', ','])
        .next()
        .unwrap_or(before)
        .to_lowercase();
    let clause = format!(" {clause}");
    NEGATIONS.iter().any(|n| {
        clause.match_indices(n).any(|(i, _)| {
            // word start: preceded by a non-letter
            clause[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphabetic())
        })
    })
}

/// Whether the words right after the match keep it on the platform
/// ("text me here", "call me through the platform").
pub(super) fn stays_here(text: &str, end: usize) -> bool {
    let mut to = (end + 32).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let after = text[end..to].trim_start().to_lowercase();
    [
        "here",
        "on the platform",
        "on this platform",
        "through the platform",
        "via the platform",
        "in the chat",
        "in this chat",
    ]
    .iter()
    .any(|w| after.starts_with(w))
}

/// Whether a later clause of the same message takes the request back or
/// sends it to the platform ("Email me the files? No need, just upload
/// them here."). Only clause *openings* count, so "Email me the files,
/// it's faster than here" stays a request.
pub(super) fn withdrawn(text: &str, end: usize) -> bool {
    let mut to = (end + 120).min(text.len());
    while !text.is_char_boundary(to) {
        to += 1;
    }
    let after = text[end..to].to_lowercase();
    // Clauses after the one holding the match.
    let mut clauses = after.split(['.', '!', '?', ';', '\n', ',', '—', '–', '(']);
    clauses.next();
    clauses.map(str::trim_start).any(|c| {
        WITHDRAWALS.iter().any(|w| c.starts_with(w))
            || REDIRECTS.iter().any(|w| c.starts_with(w))
                && PLATFORM_PLACES.iter().any(|p| {
                    c.match_indices(p).any(|(i, _)| {
                        c[..i]
                            .chars()
                            .next_back()
                            .is_none_or(|ch| !ch.is_alphabetic())
                            && c[i + p.len()..]
                                .chars()
                                .next()
                                .is_none_or(|ch| !ch.is_alphabetic())
                    })
                })
    })
}

/// Whether a channel noun is a topic of work here ("email marketing").
pub(super) fn topic(not_channel: &HashSet<String>, text: &str, ch: &str, ch_end: usize) -> bool {
    let next: String = text[ch_end..]
        .trim_start_matches([' ', '-'])
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_lowercase();
    if not_channel.contains(&next) || next == "of" {
        return true;
    }
    // A bare "number"/"Nummer" followed by "in mind", "for the order",
    // "für die Bestellung" is a quantity or a reference, not a channel.
    let noun = ch.to_lowercase();
    if !AMBIGUOUS.contains(&noun.as_str()) {
        return false;
    }
    let rest = text[ch_end..].trim_start().to_lowercase();
    let mut words = rest.split_whitespace();
    let (w1, w2) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let w2 = w2.trim_end_matches(|c: char| !c.is_alphanumeric());
    match w1 {
        "in" => w2 == "mind",
        // ... unless what follows names a way to reach someone:
        // "numéro de téléphone", "número de celular", "numero di cellulare".
        "de" | "del" | "du" | "da" | "do" | "di" | "von" | "der" | "des" | "vom" | "zur"
        | "zum" => !PHONE_WORDS.contains(&w2),
        "for" | "für" | "fur" | "para" | "pour" | "per" | "для" => !matches!(
            w2,
            "me" | "us" | "you" | "mí" | "mi" | "moi" | "mich" | "uns"
        ),
        _ => false,
    }
}
