//! Replace-instructions: "sam#gmail.com (replace # with @)", "oduya&yahoo.com,
//! swap the & for an at sign", "cambia # por @". The writer hides the `@`
//! behind another sign and tells the reader to swap it back; the detector
//! does the swap and scans the result for emails.

use regex::Regex;
use std::sync::LazyLock;

static INSTRUCTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:replace|swap|change|substitute|switch|use|put|read|cambia|reemplaza|sustituye|troca|substitua|substitui|remplace[rz]?|changez|change|ersetze|ersetzen\s+sie|замени(?:те)?)\s+(?:the\s+|el\s+|la\s+|o\s+|a\s+|le\s+|das\s+|den\s+|die\s+)?["'“‘«]?(?P<sym>[#&%$*!~^+=|/_]|\(\)|\[\])["'”’»]?\s*(?:sign\s+|symbol\s+)?(?:with|for|by|to|into|por|pelo|pela|par|durch|mit|на)\s+(?:an?\s+|el\s+|un\s+|uma?\s+|une?\s+|ein(?:e|en)?\s+)?["'“‘«]?(?:@|at\s*sign|at(?-u:\b)|arroba|arobase|klammeraffe|собак[уа])"#,
    )
    .expect("replace-instruction regex")
});

/// The text with the sign the instruction names turned into `@`, when the
/// text holds such an instruction and the swap keeps every byte offset (a
/// one-byte sign). `None` otherwise.
pub(crate) fn swapped(text: &str) -> Option<String> {
    if !text.contains([
        '#', '&', '%', '$', '*', '!', '~', '^', '+', '=', '|', '/', '_',
    ]) {
        return None;
    }
    // One search: the lazy DFA finds the instruction (ASCII word boundaries
    // only, so it never gives up on non-ASCII text), captures only then.
    let caps = INSTRUCTION.captures(text)?;
    let sym = caps.name("sym")?.as_str();
    if sym.len() != 1 {
        return None;
    }
    let inst = caps.get(0)?;
    // Swap the sign everywhere but in the instruction itself.
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..inst.start()].replace(sym, "@"));
    out.push_str(&text[inst.start()..inst.end()]);
    out.push_str(&text[inst.end()..].replace(sym, "@"));
    (out.len() == text.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_the_named_sign() {
        assert_eq!(
            swapped("sam#gmail.com (replace # with @)").as_deref(),
            Some("sam@gmail.com (replace # with @)")
        );
        assert!(swapped("oduya&yahoo.com - swap the & for an at sign").is_some());
        assert_eq!(swapped("use #hashtags and & freely"), None);
    }
}
