//! Ids and display names that cannot pass for someone else.
//!
//! - An id the operator gives a new record (`PUT /v1/{orgs,users,contracts,jobs,proposals,invites}/{id}`)
//!   is 1 to 128 characters of the id alphabet: ASCII letters and digits, `-`, `_`, `.`, `:`
//!   and `@`. No look-alike letters from other scripts, no `/`, no spaces.
//! - A display name (a user's or an organisation's) has no control characters and no
//!   invisible format characters (Unicode category Cf: the bidirectional controls U+202A–U+202E
//!   and U+2066–U+2069, zero-width spaces and joiners, U+FEFF...), and no word of it mixes
//!   scripts the way look-alike spoofs do (`Аvery` with a Cyrillic `А`): each word must be
//!   single-script in the sense of Unicode TS #39 (Japanese and Chinese mixes count as one).

use crate::ApiError;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::MixedScript;

/// The longest id, bytes.
pub const MAX_ID: usize = 128;

/// True for a character of the id alphabet.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '@')
}

/// 400 unless `id` is 1 to [`MAX_ID`] characters of the id alphabet.
pub fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(ApiError::bad_request(format!(
            "{field} must be 1 to {MAX_ID} characters"
        )));
    }
    if let Some(c) = id.chars().find(|c| !is_id_char(*c)) {
        return Err(ApiError::bad_request(format!(
            "{field} may only contain ASCII letters, digits and - _ . : @ (found {})",
            describe(c)
        )));
    }
    Ok(())
}

/// 400 when `name` contains a control or invisible format character, or a word that mixes
/// scripts.
pub fn check_name(field: &str, name: &str) -> Result<(), ApiError> {
    if let Some(c) = name
        .chars()
        .find(|c| c.is_control() || c.general_category() == GeneralCategory::Format)
    {
        return Err(ApiError::bad_request(format!(
            "{field} must not contain control or invisible formatting characters (found {})",
            describe(c)
        )));
    }
    if let Some(w) = name
        .split(|c: char| c.is_whitespace())
        .find(|w| !w.is_single_script())
    {
        return Err(ApiError::bad_request(format!(
            "{field} mixes writing systems in the word {w:?} (letters from different scripts \
             that look alike are used to impersonate people)"
        )));
    }
    Ok(())
}

fn describe(c: char) -> String {
    if c.is_control() || c.general_category() == GeneralCategory::Format || c.is_whitespace() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("{c:?} U+{:04X}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_in_the_alphabet() {
        for ok in ["avery", "ct-eve", "u_1.2", "org:acme", "a@b.example", "A9"] {
            assert!(check_id("id", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "av\u{0435}ry",
            "a/b",
            "a b",
            "x\u{200b}",
            "\u{202e}evil",
            "é",
            &"a".repeat(129),
        ] {
            assert!(check_id("id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_without_invisible_characters_or_mixed_script_words() {
        for ok in [
            "Avery Chen",
            "Zoë Ødegård-Núñez",
            "Мария Иванова",
            "山田 太郎",
            "やまだ たろう",
            "田中さん",
            "O'Brien & Sons, Ltd. 2",
            "Dr. José María",
        ] {
            assert!(check_name("name", ok).is_ok(), "{ok}");
        }
        for bad in [
            "Avery\u{202e}nehC",
            "Ave\u{200b}ry",
            "Avery\u{2066}",
            "\u{feff}Avery",
            "Avery\u{0007}",
            "\u{0410}very Chen",
            "Avery Ch\u{0435}n",
            "P\u{0430}yPal",
        ] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
    }
}
