//! Character classes of the folded view: chars dropped from it, fast alphanumeric and NFKC
//! checks for the common scripts, digit values of every script, and Latin look-alikes.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
/// Chars removed from the folded view: format characters (Unicode category Cf:
/// zero-width space/joiners, word joiner, soft hyphen, BOM, bidi controls, tag
/// characters), variation selectors, the combining keycap and other enclosing
/// marks, and combining diacritics (strike-through and "Zalgo" decorations).
pub(super) fn is_dropped(c: char) -> bool {
    is_dropped_in(c, c.general_category())
}

/// [`is_dropped`] for a char whose general category `gc` is known.
pub(super) fn is_dropped_in(c: char, gc: GeneralCategory) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' | '\u{0300}'..='\u{036F}')
        || matches!(gc, GeneralCategory::Format | GeneralCategory::EnclosingMark)
}

/// Whether `c` is alphanumeric (`char::is_alphanumeric`), answered without a
/// table search for ASCII and the letters of the common scripts, which are
/// most of every text (the general lookup costs a few hundred instructions).
pub(crate) fn is_alnum(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        return c.is_ascii_alphanumeric();
    }
    match cp {
        // Latin-1 letters (not the signs × and ÷), Latin Extended-A and -B.
        0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F => true,
        // Greek capitals and small letters (no U+03A2), Cyrillic letters.
        0x391..=0x3A1 | 0x3A3..=0x3C9 | 0x400..=0x481 | 0x48A..=0x52F => true,
        // Arabic letters and Arabic-Indic digits, Devanagari letters.
        0x621..=0x64A | 0x660..=0x669 | 0x904..=0x939 => true,
        // Kana, CJK ideographs, Hangul syllables.
        0x3041..=0x3096 | 0x30A1..=0x30FA | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3 => true,
        // General punctuation, CJK symbols and punctuation, emoji: never.
        0x2000..=0x206F | 0x3000..=0x3003 | 0x1F300..=0x1FAFF => false,
        _ => c.is_alphanumeric(),
    }
}

/// Whether `c` is certainly its own NFKC form, without a table look-up: the
/// letters of the scripts most texts are written in (a unit test checks
/// every char of these ranges).
pub(super) fn nfkc_stable(c: char) -> bool {
    matches!(c as u32,
        0xC0..=0xFF | 0x391..=0x3A1 | 0x3A3..=0x3C9 | 0x400..=0x4FF | 0x621..=0x64A
        | 0x900..=0x957 | 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3)
}

/// The value of a Unicode decimal digit (category Nd) of any script. Nd chars
/// come in contiguous runs of ten starting at a zero, so the value is the
/// distance from the start of the run, modulo ten (some runs are adjacent).
pub(super) fn decimal_digit(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    if c.is_ascii() || c.general_category() != GeneralCategory::DecimalNumber {
        return None;
    }
    let mut back = 0u32;
    let mut cp = c as u32;
    while back < 60 {
        let Some(prev) = cp.checked_sub(1).and_then(char::from_u32) else {
            break;
        };
        if prev.general_category() != GeneralCategory::DecimalNumber {
            break;
        }
        back += 1;
        cp -= 1;
    }
    Some((back % 10) as u8)
}

/// Enclosed digits that compatibility folding leaves alone or wraps in
/// punctuation: parenthesized "⑴" and "⒈" (NFKC gives "(1)" and "1."), and
/// the dingbat circled digits "❶", "➀", "➊", "⓿", "⓵".
pub(super) fn dingbat_digit(c: char) -> Option<u8> {
    let cp = c as u32;
    let d = match cp {
        0x2474..=0x247C => cp - 0x2474 + 1,
        0x2488..=0x2490 => cp - 0x2488 + 1,
        0x2776..=0x277E => cp - 0x2776 + 1,
        0x2780..=0x2788 => cp - 0x2780 + 1,
        0x278A..=0x2792 => cp - 0x278A + 1,
        0x24F5..=0x24FD => cp - 0x24F5 + 1,
        0x24FF | 0x1F10B | 0x1F10C => 0,
        _ => return None,
    };
    u8::try_from(d).ok()
}

/// A Latin look-alike of a Cyrillic, Greek, small-capital or other letter.
/// Applied before lowercasing, so uppercase look-alikes map to their own
/// uppercase Latin letter. Never maps to or from digits or `@`.
pub(super) fn confusable(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic
        'а' => 'a',
        'А' => 'A',
        'В' => 'B',
        'в' => 'b',
        'с' => 'c',
        'С' => 'C',
        'ԁ' => 'd',
        'е' => 'e',
        'Е' => 'E',
        'ё' => 'e',
        'Һ' | 'Н' => 'H',
        'һ' => 'h',
        'і' => 'i',
        'І' | 'Ӏ' => 'I',
        'ј' => 'j',
        'Ј' => 'J',
        'к' => 'k',
        'К' => 'K',
        'М' => 'M',
        'м' => 'm',
        'о' => 'o',
        'О' => 'O',
        'р' => 'p',
        'Р' => 'P',
        'ԛ' => 'q',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'т' => 't',
        'Т' => 'T',
        'у' => 'y',
        'У' | 'Ү' => 'Y',
        'ԝ' => 'w',
        'Ԝ' => 'W',
        'х' => 'x',
        'Х' => 'X',
        // Greek
        'α' => 'a',
        'Α' => 'A',
        'Β' => 'B',
        'β' => 'b',
        'Ε' => 'E',
        'ε' => 'e',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'ι' => 'i',
        'Κ' => 'K',
        'κ' => 'k',
        'Μ' => 'M',
        'Ν' => 'N',
        'ν' => 'v',
        'Ο' => 'O',
        'ο' => 'o',
        'Ρ' => 'P',
        'ρ' => 'p',
        'Τ' => 'T',
        'τ' => 't',
        'Υ' => 'Y',
        'υ' => 'u',
        'Χ' => 'X',
        'χ' => 'x',
        // Small capitals and other Latin look-alikes (IPA, Latin extended)
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ꜰ' => 'f',
        'ɢ' | 'ɡ' => 'g',
        'ʜ' => 'h',
        'ɪ' | 'ı' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ǫ' => 'q',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        'ɑ' => 'a',
        'ɩ' => 'i',
        _ => return None,
    })
}
