//! The request grammar: per enabled language, the patterns of asking phrases,
//! contact/move verbs and off-platform cues (rule name, regex source). Each
//! regex may have a `ch` group (the channel noun).

/// The patterns of the enabled `languages`; `ch` is the alternation of channel
/// nouns as a named group `ch`.
pub(super) fn patterns(languages: &[String], ch: &str) -> Vec<(&'static str, String)> {
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
                    r"(?i)(?-u:\b)(?:(?:add|text|call|email|e-mail|mail|message|msg|dm|ping|reach|contact|hit|find|ring|write|follow|whatsapp|telegram|skype)\s+(?:me|us)\s+(?:up\s+)?|hmu\s+)(?:on|at|via|through|over|in|by)\s+(?:my\s+|the\s+)?{ch}"
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
        // Instructions in job posts: "Candidates should email their CV",
        // "applicants must send their resume by email".
        pats.push((
            "request.instruction",
            format!(
                r"(?i)(?-u:\b)(?:candidates|applicants|applicant|interested\s+(?:candidates|applicants|freelancers|parties|people)|freelancers|bidders|you)\s+(?:should|must|can|need\s+to|are\s+(?:asked|requested|invited|welcome)\s+to|may|will\s+need\s+to|have\s+to)\s+(?:(?:email|e-mail|text|whatsapp|telegram|skype|dm)\s+(?:their|your|the|our|us|me|a|an)(?-u:\b)|(?:send|forward|submit|mail)\s+(?:their|your|us\s+their|us\s+your|me\s+their|me\s+your)\s+\w+(?:\s+\w+)?\s+(?:by|via|over|through|on|to)\s+(?:the\s+|our\s+)?{ch})"
            ),
        ));
        // "I'll send you a zoom link", "I'll send you a link for a call on
        // Google Meet": a call on another service.
        pats.push((
            "request.offer",
            format!(
                r"(?i)(?-u:\b)(?:i'?ll|i\s+will|let\s+me|lemme|i\s+can|i'?m\s+going\s+to)\s+(?:send|share|drop|text|email)\s+(?:you\s+|u\s+)?(?:an?|the|my)\s+(?:{ch}|meet|meeting)\s+(?:link|invite|invitation|meeting|call)"
            ),
        ));
        pats.push((
            "request.offer",
            format!(
                r"(?i)(?-u:\b)(?:i'?ll|i\s+will|let\s+me|lemme|i\s+can|i'?m\s+going\s+to)\s+(?:send|share|drop|text|email)\s+(?:you\s+|u\s+)?(?:an?|the|my)\s+(?:link|invite|invitation)(?:\s+(?:for|to)\s+(?:an?|the|our)\s+(?:call|meeting|chat|video\s+call|quick\s+call))?\s+(?:on|via|over|in|for|to)\s+{ch}"
            ),
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
        pats.push(("request.ask", format!(r"(?i)(?:(?:wie\s+(?:ist|lautet)|(?:gib\s+mir|geben\s+sie\s+mir|schick(?:e|en)?\s+(?:mir|sie\s+mir))(?:\s+(?:bitte|mal|doch|noch|gerne?|kurz))*)\s+(?:deine|ihre|dein|ihr|eine|einen)|(?:hast\s+du|haben\s+sie|bist\s+du\s+auf|sind\s+sie\s+auf|gibt\s+es)(?:\s+(?:deine|ihre|dein|ihr|eine|einen|ein|noch\s+eine|noch\s+einen))?)\s+{ch}")));
        pats.push(("request.move", format!(r"(?i)(?:lass\s+uns|lasst\s+uns|k[öo]nnen\s+wir|k[öo]nnten\s+wir|sollen\s+wir|wollen\s+wir|wenn\s+wir|schreib(?:e|en\s+sie)?\s+mir|ruf(?:e|en\s+sie)?\s+mich|kontaktier(?:e|en\s+sie)?\s+mich|meld(?:e|en\s+sie)?\s+(?:dich|sich))\s+(?:(?:doch|gern|gerne|einfach|lieber)\s+)*(?:auf|per|über|bei|via|an|im|in)\s+{ch}")));
        pats.push(("request.off_platform", r"(?i)au(?:ß|ss)erhalb\s+(?:der|dieser)\s+plattform|(?:geb[üu]hren|provision)\s+(?:zu\s+)?(?:sparen|umgehen|vermeiden)|kontaktier(?:e|en\s+sie)?\s+mich\s+direkt".to_string()));
    }
    if lang("ru") {
        pats.push(("request.ask", format!(r"(?i)(?:можешь|можете|мог\s+бы|могла\s+бы|могли\s+бы)\s+(?:мне\s+)?(?:дать|скинуть|написать|отправить|прислать|оставить|сказать)\s+(?:мне\s+)?(?:(?:свой|свою|твой|твою|ваш|вашу)\s+)?{ch}")));
        pats.push(("request.ask", format!(r"(?i)(?:какой|какая|какую|дай(?:те)?|скинь(?:те)?|напиши(?:те)?|отправь(?:те)?|оставь(?:те)?|пришли(?:те)?|есть)\s+(?:[уy]\s+(?:тебя|вас)\s+)?(?:(?:свой|свою|твой|твою|ваш|вашу)\s+)?{ch}")));
        pats.push(("request.move", format!(r"(?i)(?:давай(?:те)?|можем|можно|если\s+мы|может|перейд[её]м|пиши(?:те)?(?:\s+мне)?|напиши(?:те)?\s+мне|звони(?:те)?|добавь(?:те)?\s+меня)\s+(?:(?:общаться|пообщаемся|поговорим|перейдем|перейдём|продолжим|продолжить|перейти|спишемся|переписываться|списаться|созвониться)\s+)?(?:в|b|на|ha|нa|hа|по|пo)\s+{ch}")));
        pats.push((
            "request.off_platform",
            r"(?i)вне\s+(?:платформы|сайта)|без\s+комисси[ий]|(?:обойти|избежать)\s+комисси[юи]"
                .to_string(),
        ));
    }
    pats
}
