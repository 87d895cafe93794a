//! Requests for contact details and proposals to continue off the platform.
//!
//! A small grammar, per enabled language, over three word classes: *asking*
//! phrases ("what's your", "send me your", "cuál es tu", "qual é o seu",
//! "quel est ton", "wie ist deine", "какой у тебя") followed by a *channel*
//! noun (`data/request/channels.txt`: email, number, WhatsApp, correo,
//! Telefonnummer, почта...); *contact/move* verbs with a channel ("let's move
//! to Skype", "can we talk on WhatsApp", "add me on Skype", "escríbeme por
//! WhatsApp", "schreib mir per WhatsApp"); and off-platform cues ("off the
//! platform", "contact me directly", "to avoid fees", "fuera de la
//! plataforma", "außerhalb der Plattform", "вне платформы"). A match is
//! dropped when its clause is negated or a rule reminder ("don't share your
//! number", "please keep all communication on this platform", "no", "nicht",
//! "не") or when the channel noun is a topic of work ("email marketing",
//! "contact form", "phone number validation").

use super::util::{data_lines, is_word_boundary, push, windows, word_alt, Hit};
use super::Recognizer;
use crate::views::Views;
use crate::{Category, Finding};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexSet};
use std::collections::HashSet;

const CHANNELS: &str = include_str!("../../data/request/channels.txt");
const NOT_CHANNEL: &str = include_str!("../../data/request/not_channel.txt");

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

/// Off-platform cue words that, with the channel nouns, anchor the windows the
/// grammar runs in.
const TRIGGERS: &[&str] = &[
    "platform",
    "site",
    "upwork",
    "fiverr",
    "freelancer",
    "marketplace",
    "website",
    "fee",
    "fees",
    "commission",
    "cut",
    "charge",
    "charges",
    "offline",
    "elsewhere",
    "directly",
    "privately",
    "personally",
    "outside",
    "text",
    "sms",
    "cv",
    "resume",
    "résumé",
    "plataforma",
    "página",
    "pagina",
    "web",
    "comisión",
    "comision",
    "comisiones",
    "tarifa",
    "tarifas",
    "directamente",
    "taxa",
    "comissão",
    "comissao",
    "plateforme",
    "frais",
    "directement",
    "plattform",
    "gebühren",
    "gebuhren",
    "provision",
    "direkt",
    "платформе",
    "платформу",
    "сайта",
    "комисси",
];

#[derive(Debug)]
pub(crate) struct RequestRecognizer {
    /// Channel nouns and off-platform cues: where to look.
    trigger: AhoCorasick,
    /// (rule, regex) pairs; each regex may have a `ch` group (the channel).
    rules: Vec<(&'static str, Regex)>,
    /// All rules at once: one pass tells which rules to run for captures.
    set: RegexSet,
    not_channel: HashSet<String>,
}

impl RequestRecognizer {
    pub(crate) fn new(languages: &[String]) -> RequestRecognizer {
        let ch: Vec<String> = data_lines(CHANNELS).map(regex::escape).collect();
        let mut cues: Vec<String> = data_lines(CHANNELS).map(str::to_lowercase).collect();
        cues.extend(TRIGGERS.iter().map(|t| t.to_string()));
        let trigger = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&cues)
            .expect("trigger automaton");
        let ch = format!(r"(?P<ch>{})", word_alt(&ch));
        let lang = |l: &str| languages.iter().any(|x| x == l);
        // The channel alternation without its group name, for a second use in one rule.
        let ch2 = ch.replace("(?P<ch>", "(?:");
        let mut pats: Vec<(&'static str, String)> = Vec::new();
        if lang("en") {
            let your = r"(?:your|ur|you're|youre|yr)\s+(?:(?:personal|private|direct|best|work|cell|mobile)\s+)?";
            pats.push((
                "request.ask",
                format!(
                    r"(?i)(?-u:\b)(?:wh?at'?s|wuts|wh?at\s+is|may\s+i\s+(?:have|get|ask\s+for)|can\s+i\s+(?:have|get|ask\s+for)|could\s+i\s+(?:have|get)|send(?:\s+(?:me|us))?|give\s+(?:me|us)|share|drop(?:\s+(?:me|us))?|dm\s+me|pass\s+me|tell\s+me|text\s+me|email\s+me|leave|provide|include|need|want|forward|write\s+down|give)\s+{your}{ch}"
                ),
            ));
            pats.push((
                "request.ask",
                format!(
                    r"(?i)(?-u:\b)(?:is\s+there|do\s+(?:you|u)\s+have|have\s+(?:you|u)\s+got|(?:you|u)\s+got|got|any)\s+(?:an?\s+|any\s+|another\s+|some\s+)?(?:other\s+|better\s+|good\s+|direct\s+|personal\s+|private\s+)?{ch}\s+(?:(?:where|that|at\s+which|on\s+which)\s+)?(?:i|we)\s+(?:can|could|should|may|might)\s+(?:use\s+to\s+)?(?:reach|contact|call|text|email|message|ping|get\s+(?:hold\s+of|in\s+touch\s+with)|write\s+to|find|add)\s+(?:you|u)(?-u:\b)"
                ),
            ));
            pats.push((
                "request.ask",
                format!(
                    r"(?i)(?-u:\b)(?:(?:what'?s|what\s+is|whats)\s+(?:the|your)\s+(?:best|easiest|right|quickest|fastest|preferred|good)\s+{ch}\s+(?:to|for)\s+(?:reach|contact|call|text|email|message|ping)\s+(?:you|u)|(?:is\s+there|do\s+(?:you|u)\s+have|any)\s+(?:an?\s+|any\s+)?{ch2}\s+(?:i|we)\s+(?:can|could|should|may)\s+(?:send|forward|mail|email)\s+(?:it|this|that|them|the\s+\w+|files?|documents?|docs)\s+to)"
                ),
            ));
            pats.push((
                "request.ask",
                format!(r"(?i)(?-u:\b)(?:do|are|r)\s+(?:you|u)\s+(?:have|use|(?:also\s+|available\s+|reachable\s+|active\s+)?on)\s+(?:an?\s+)?{ch}"),
            ));
            pats.push((
                "request.move",
                format!(
                    r"(?i)(?-u:\b)(?:let'?s|let\s+us|can\s+we|could\s+we|is\s+it\s+(?:ok|okay|alright|fine|cool)\s+if\s+we|(?:ok|okay)\s+if\s+we|(?:do\s+you\s+)?mind\s+if\s+we|would\s+it\s+be\s+(?:ok|okay|possible|easier)\s+(?:if\s+we|to)|what\s+if\s+we|maybe\s+we\s+(?:can|could|should)|can\s+i|could\s+i|may\s+i|shall\s+we|should\s+we|we\s+can|we\s+could|we\s+should|i'?d\s+(?:prefer|rather|like)\s+to|i\s+prefer\s+to|prefer\s+to|better\s+to|want\s+to|wanna|happy\s+to|would\s+you\s+(?:like\s+to|mind)|how\s+about\s+we)\s+(?:talk|chat|continue|move|switch|connect|speak|discuss|communicate|go|take\s+(?:this|it)|hop|jump|carry\s+on|get\s+on|catch\s+up|text|call|moved|switched|continued|talked|chatted|went|took\s+(?:this|it))(?:\s+(?:this\s+conversation|our\s+conversation|the\s+conversation|this\s+chat|the\s+chat|this|it|things|more|further))?\s+(?:on|to|via|over|through|in|onto|by)\s+(?:a\s+|the\s+)?{ch}"
                ),
            ));
            pats.push((
                "request.contact_me",
                format!(
                    r"(?i)(?-u:\b)(?:(?:add|text|call|email|e-mail|mail|message|msg|dm|ping|reach|contact|hit|find|ring|write|follow|whatsapp|telegram|skype)\s+(?:me|us)\s+(?:up\s+)?|hmu\s+)(?:on|at|via|through|over|in|by)\s+(?:my\s+)?{ch}"
                ),
            ));
            pats.push((
                "request.contact_me",
                r"(?i)(?-u:\b)(?:text|email|e-mail|whatsapp|telegram|skype|sms)\s+(?:me|us)(?-u:\b)|(?-u:\b)(?:contact|reach|email|call|text|message|write\s+to|pay)\s+(?:me|us|you|him|her|them|our\s+\w+)\s+(?:directly|privately|personally|outside)(?-u:\b)|(?-u:\b)(?:how|where)\s+(?:can|could|do|should)\s+i\s+(?:reach|contact|call|text|email|find)\s+you\s+(?:directly|outside|privately|off)|(?-u:\b)best\s+way\s+to\s+(?:reach|contact)\s+you\s+(?:directly|outside|privately)|(?-u:\b)(?:email|e-mail|mail|text|whatsapp|telegram)\s+(?:me\s+|us\s+)?(?:your|ur)\s+(?:cv|resume|résumé|portfolio|details|info|application|number|contact|rates)"
                    .to_string(),
            ));
            pats.push((
                "request.offer",
                format!(
                    r"(?i)(?-u:\b)(?:(?:i'?ll|i\s+will|let\s+me|lemme|i\s+can|i\s+could|i'?d\s+like\s+to)\s+(?:send|give|share|text|dm|pass|drop)\s+(?:you\s+|u\s+)?my\s+(?:(?:personal|private|direct|work)\s+)?|(?:i'?ll|i\s+will|lemme|let\s+me|i\s+can)\s+(?:call|text|ring|whatsapp|message|dm|email|add)\s+(?:you|u)\s+(?:on|at|via|over|through)\s+(?:my\s+|your\s+|ur\s+)?){ch}"
                ),
            ));
            pats.push((
                "request.contact_me",
                format!(
                    r"(?i)(?-u:\b)(?:send|shoot|drop)\s+(?:me|us)\s+(?:an?\s+)?(?:email|e-mail|mail|text|sms|whatsapp|telegram)(?-u:\b)|(?-u:\b)reach\s+out\s+(?:to\s+(?:me|us)\s+)?(?:on|via|at|over|through)\s+{ch}"
                ),
            ));
            pats.push((
                "request.off_platform",
                r"(?i)(?-u:\b)(?:off|outside(?:\s+of)?|away\s+from|off\s+of|out\s+of|leave)\s+(?:the\s+|this\s+)?(?:platform|site|upwork|fiverr|freelancer|marketplace|website)(?-u:\b)|(?-u:\b)take\s+(?:this|it|things)\s+(?:offline|elsewhere|outside|private)(?-u:\b)|(?-u:\b)(?:skip|avoid|bypass|save(?:\s+on)?|cut|dodge|get\s+around|circumvent|escape|no)\s+(?:the\s+|their\s+|any\s+|all\s+)?(?:\d{1,2}\s*%\s+)?(?:platform'?s?\s+|site'?s?\s+|upwork'?s?\s+|service\s+)?(?:fees?|commission|cut|charges?)(?-u:\b)|(?-u:\b)pay(?:ing)?\s+(?:me\s+|us\s+|you\s+)?(?:directly|outside|off[\s-]platform|via\s+paypal|through\s+paypal|by\s+bank\s+transfer\s+directly)(?-u:\b)"
                    .to_string(),
            ));
        }
        if lang("es") {
            pats.push(("request.ask", format!(r"(?i)(?:(?:puedes|podr[ií]as|puede|podr[ií]a)\s+(?:pasarme|darme|enviarme|mandarme|compartirme|dejarme)|me\s+(?:puedes|podr[ií]as|puede|podr[ií]a)\s+(?:pasar|dar|enviar|mandar|compartir|dejar))\s+(?:tu|su)\s+{ch}")));
            pats.push(("request.ask", format!(r"(?i)(?:(?:cu[aá]l\s+es|dame|d[eé]me|p[aá]same|p[aá]seme|env[ií]a(?:me)?|m[aá]nda(?:me)?|comparte(?:me)?|me\s+(?:das|pasas|env[ií]as|mandas|compartes))\s+(?:tu|su)|(?:tienes|tiene\s+usted|usas|usa\s+usted)(?:\s+(?:tu|su|un|una|alg[uú]n|alguna|otro|otra))?|(?:^|[¿?!.,;:]\s*)hay\s+(?:un|una|alg[uú]n|alguna|otro|otra))\s+{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:(?:est[aá]\s+bien|te\s+parece(?:\s+bien)?|le\s+parece(?:\s+bien)?|qu[eé]\s+tal|y|te\s+molesta)\s+si\s+(?:seguimos|continuamos|hablamos|pasamos|nos\s+comunicamos)|(?:podemos|podr[ií]amos|prefiero|prefieres|quieres|mejor)\s+(?:seguir|continuar|hablar|pasar|conversar|comunicarnos|escribirnos))\s+(?:por|en|al|a|v[ií]a)\s+(?:el\s+|la\s+|mi\s+)?{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:hablemos|sigamos|continuemos|escr[ií]beme|escr[ií]bame|ll[aá]mame|ll[aá]meme|cont[aá]ctame|cont[aá]cteme|agr[eé]game|a[nñ][aá]deme|h[aá]blame|podemos\s+hablar|pasemos)\s+(?:por|en|al|a|v[ií]a)\s+(?:mi\s+)?{ch}")));
            pats.push(("request.off_platform", r"(?i)fuera\s+de\s+(?:la\s+|esta\s+)?(?:plataforma|p[aá]gina|web)|(?:evitar|ahorrar(?:nos)?|saltar(?:nos)?)\s+(?:la\s+|las\s+)?(?:comisi[oó]n|comisiones|tarifas?)|cont[aá]ctame\s+directamente".to_string()));
        }
        if lang("pt") {
            pats.push(("request.ask", format!(r"(?i)(?:pode|poderia|podes)\s+me\s+(?:passar|mandar|enviar|dar)\s+(?:o\s+|a\s+)?(?:seu|sua|teu|tua)\s+{ch}")));
            pats.push(("request.ask", format!(r"(?i)(?:(?:qual\s+[ée]\s+(?:o\s+|a\s+)?(?:seu|sua|teu|tua)|me\s+(?:passa|manda|envia|d[aá])\s+(?:o\s+|a\s+)?(?:seu|sua|teu|tua)|passa\s+(?:o\s+|a\s+)?(?:seu|sua|teu|tua)|manda\s+(?:o\s+|a\s+)?(?:seu|sua|teu|tua)|(?:voc[eê]|vc|tu)\s+tem|tens)(?:\s+(?:algum|alguma|um|uma|outro|outra|seu|sua))?|(?:^|[?!.,;:]\s*)tem\s+(?:algum|alguma|um|uma|outro|outra))\s+{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:(?:tudo\s+bem|pode\s+ser|(?:tudo\s+)?ok|que\s+tal)\s+se\s+(?:a\s+gente\s+)?(?:continuarmos|conversarmos|falarmos|seguirmos|continuar|conversar|falar|seguir|continua|conversa|fala)|(?:podemos|poder[ií]amos|prefiro|prefere|quer|melhor)\s+(?:continuar|conversar|falar|seguir))\s+(?:por|pelo|pela|no|na|via|em)\s+(?:meu\s+|minha\s+)?{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:vamos\s+(?:conversar|falar|continuar)|fala\s+comigo|me\s+chama|chama|me\s+adiciona|podemos\s+(?:conversar|falar))\s+(?:no|na|pelo|pela|por|em|via)\s+(?:meu\s+)?{ch}")));
            pats.push(("request.off_platform", r"(?i)fora\s+da\s+plataforma|(?:evitar|economizar|fugir\s+d)a?\s+(?:a\s+)?(?:taxa|comiss[aã]o)".to_string()));
        }
        if lang("fr") {
            pats.push(("request.ask", format!(r"(?i)(?:tu\s+peux|vous\s+pouvez|peux[\s-]tu|pouvez[\s-]vous|pourrais[\s-]tu|pourriez[\s-]vous)\s+me\s+(?:donner|passer|envoyer|laisser|filer|communiquer)\s+(?:ton|ta|votre|tes|vos)\s+{ch}")));
            pats.push(("request.ask", format!(r"(?i)(?:(?:quel\s+est|quelle\s+est|donne[sz]?[\s-]moi|envoie[sz]?[\s-]moi|passe[sz]?[\s-]moi|file[sz]?[\s-]moi)\s+(?:ton|ta|votre|tes|vos)|(?:tu\s+as|vous\s+avez|as-tu|avez-vous|y\s+a[\s-]t[\s-]il|est[\s-]ce\s+qu'il\s+y\s+a)(?:\s+(?:ton|ta|votre|tes|vos|un|une|un\s+autre|une\s+autre))?)\s+{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:(?:(?:ça|ca|cela)\s+(?:te|vous)\s+(?:va|dérange|derange)|est[\s-]ce\s+(?:que\s+)?(?:ça|ca)\s+(?:te|vous)\s+va)\s+si\s+(?:on\s+)?(?:continue|passe|parle|discute|échange|echange)|(?:on\s+peut|on\s+pourrait|peut[\s-]on|pouvons[\s-]nous|pourrait[\s-]on|est[\s-]ce\s+qu'on\s+peut|je\s+pr[ée]f[èe]re|on\s+continue)\s*(?:continuer|parler|discuter|passer|[ée]changer)?)\s+(?:sur|par|via|en|au)\s+{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:parlons|continuons|discutons|contacte[sz]?[\s-]moi|[eé]cris[\s-]moi|[eé]crivez[\s-]moi|appelle[sz]?[\s-]moi|ajoute[sz]?[\s-]moi|on\s+peut\s+(?:parler|discuter))\s+(?:sur|par|via|en|au)\s+{ch}")));
            pats.push(("request.off_platform", r"(?i)(?:en\s+dehors|hors)\s+de\s+(?:la\s+|cette\s+)?plateforme|[eé]viter\s+(?:les\s+)?(?:frais|commissions?)|contacte[sz]?[\s-]moi\s+directement".to_string()));
        }
        if lang("de") {
            pats.push(("request.ask", format!(r"(?i)(?:kannst\s+du|k[öo]nntest\s+du|k[öo]nnten\s+sie|k[öo]nnen\s+sie|w[üu]rdest\s+du)\s+mir\s+(?:deine|ihre|dein|ihr)\s+{ch}")));
            pats.push(("request.ask", format!(r"(?i)(?:(?:wie\s+(?:ist|lautet)|gib\s+mir|geben\s+sie\s+mir|schick(?:e|en)?\s+(?:mir|sie\s+mir))\s+(?:deine|ihre|dein|ihr|eine|einen)|(?:hast\s+du|haben\s+sie|bist\s+du\s+auf|sind\s+sie\s+auf|gibt\s+es)(?:\s+(?:deine|ihre|dein|ihr|eine|einen|ein|noch\s+eine|noch\s+einen))?)\s+{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:lass\s+uns|lasst\s+uns|k[öo]nnen\s+wir|k[öo]nnten\s+wir|sollen\s+wir|wollen\s+wir|wenn\s+wir|schreib(?:e|en\s+sie)?\s+mir|ruf(?:e|en\s+sie)?\s+mich|kontaktier(?:e|en\s+sie)?\s+mich|meld(?:e|en\s+sie)?\s+(?:dich|sich))\s+(?:(?:doch|gern|gerne|einfach|lieber)\s+)*(?:auf|per|über|bei|via|an|im|in)\s+{ch}")));
            pats.push(("request.off_platform", r"(?i)au(?:ß|ss)erhalb\s+(?:der|dieser)\s+plattform|(?:geb[üu]hren|provision)\s+(?:zu\s+)?(?:sparen|umgehen|vermeiden)|kontaktier(?:e|en\s+sie)?\s+mich\s+direkt".to_string()));
        }
        if lang("ru") {
            pats.push(("request.ask", format!(r"(?i)(?:можешь|можете|мог\s+бы|могла\s+бы|могли\s+бы)\s+(?:мне\s+)?(?:дать|скинуть|написать|отправить|прислать|оставить|сказать)\s+(?:мне\s+)?(?:(?:свой|свою|твой|твою|ваш|вашу)\s+)?{ch}")));
            pats.push(("request.ask", format!(r"(?i)(?:какой|какая|какую|дай(?:те)?|скинь(?:те)?|напиши(?:те)?|отправь(?:те)?|оставь(?:те)?|пришли(?:те)?|есть)\s+(?:[уy]\s+(?:тебя|вас)\s+)?(?:(?:свой|свою|твой|твою|ваш|вашу)\s+)?{ch}")));
            pats.push(("request.move", format!(r"(?i)(?:давай(?:те)?|можем|можно|если\s+мы|может|перейд[её]м|пиши(?:те)?(?:\s+мне)?|напиши(?:те)?\s+мне|звони(?:те)?|добавь(?:те)?\s+меня)\s+(?:(?:общаться|пообщаемся|поговорим|перейдем|перейдём|продолжим|продолжить|перейти|спишемся|переписываться|списаться|созвониться)\s+)?(?:в|b|на|ha|нa|hа|по|пo)\s+{ch}")));
            pats.push(("request.off_platform", r"(?i)вне\s+(?:платформы|сайта)|без\s+комисси[ий]|(?:обойти|избежать)\s+комисси[юи]".to_string()));
        }
        let set = RegexSet::new(pats.iter().map(|(_, p)| p)).expect("request regex set");
        RequestRecognizer {
            trigger,
            set,
            rules: pats
                .into_iter()
                .map(|(r, p)| (r, Regex::new(&p).expect("request regex")))
                .collect(),
            not_channel: data_lines(NOT_CHANNEL)
                .flat_map(|l| l.split_whitespace())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Whether the clause before `start` negates the request or is a reminder.
    fn negated(text: &str, start: usize) -> bool {
        let mut from = start.saturating_sub(48);
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
    fn stays_here(text: &str, end: usize) -> bool {
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
    fn withdrawn(text: &str, end: usize) -> bool {
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
    fn topic(&self, text: &str, ch: &str, ch_end: usize) -> bool {
        let next: String = text[ch_end..]
            .trim_start_matches([' ', '-'])
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_lowercase();
        if self.not_channel.contains(&next) || next == "of" {
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
}

impl Recognizer for RequestRecognizer {
    fn scan(&self, views: &Views<'_>, out: &mut Vec<Finding>) {
        let view = &views.folded;
        let full = view.text();
        let anchors = self
            .trigger
            .find_iter(full)
            .filter(|m| {
                is_word_boundary(full, m.start(), m.end()) || !full[m.start()..m.end()].is_ascii()
            })
            .map(|m| (m.start(), m.end()));
        for (ws, we) in windows(full, anchors, 96, 48) {
            self.scan_window(views, ws, we, out);
        }
    }
}

impl RequestRecognizer {
    fn scan_window(&self, views: &Views<'_>, ws: usize, we: usize, out: &mut Vec<Finding>) {
        let view = &views.folded;
        let Some(text) = view.text().get(ws..we) else {
            return;
        };
        let hits = self.set.matches(text);
        if !hits.matched_any() {
            return;
        }
        for (rule, re) in hits.iter().filter_map(|i| self.rules.get(i)) {
            for c in re.captures_iter(text) {
                let Some(m) = c.get(0) else {
                    continue;
                };
                if let Some(ch) = c.name("ch") {
                    if !is_word_boundary(text, ch.start(), ch.end())
                        || self.topic(text, ch.as_str(), ch.end())
                    {
                        continue;
                    }
                }
                if Self::negated(text, m.start())
                    || Self::stays_here(text, m.end())
                    || Self::withdrawn(text, m.end())
                {
                    continue;
                }
                push(
                    views.original,
                    view,
                    m.start() + ws,
                    m.end() + ws,
                    Hit {
                        category: Category::Request,
                        kind: None,
                        normalized: None,
                        confidence: 0.8,
                        rule,
                    },
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> bool {
        let langs: Vec<String> = ["en", "es", "pt", "fr", "de", "ru"]
            .map(String::from)
            .to_vec();
        let r = RequestRecognizer::new(&langs);
        let views = Views::new(text);
        let mut out = Vec::new();
        r.scan(&views, &mut out);
        !out.is_empty()
    }

    #[test]
    fn requests() {
        for t in [
            "What's your email?",
            "Can we talk on WhatsApp instead?",
            "Send me your phone number please",
            "Add me on Skype so we can chat",
            "Let's move off the platform to save on fees",
            "Do you use Telegram or Signal?",
            "Email your CV to our recruiter directly",
            "¿Cuál es tu correo?",
            "Drop me your IG and I'll DM you",
            "Please include your WhatsApp number in your proposal",
            "text me so we skip the fee",
            "contact me directly",
            "qual é o seu whatsapp?",
            "quel est ton numéro ?",
            "Wie ist deine Telefonnummer?",
            "какой у тебя телеграм?",
            "escríbeme por whatsapp",
            "lass uns auf WhatsApp schreiben",
        ] {
            assert!(found(t), "{t}");
        }
    }

    #[test]
    fn not_requests() {
        for t in [
            "Please keep all communication on this platform until we start.",
            "Don't share your phone number here.",
            "Please do not send me your email, use the chat.",
            "Looking for someone to write 5 cold email sequences for SaaS outreach.",
            "We need an email marketing expert.",
            "Add a contact-us form with reCAPTCHA to the Webflow site.",
            "Can you add your phone number validation to the form?",
            "Let's do the interview on an Upwork call at 4pm GMT.",
            "I'll message you here once the draft is ready.",
            "What's your number of years of experience?",
        ] {
            assert!(!found(t), "{t}");
        }
    }
}
