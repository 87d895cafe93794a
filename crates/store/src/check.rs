//! Validation of the inputs the store accepts (ids, names, texts), the same answer on both
//! backends.

use crate::error::{Result, StoreError};

pub(crate) const MAX_ID: usize = 128;
pub(crate) const MAX_NAME: usize = 256;
pub(crate) const MAX_SHORT: usize = 64;
/// Largest text the store accepts in one field (the server enforces tighter limits).
pub const MAX_TEXT: usize = 256 * 1024;

pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1 to {MAX_ID} bytes"
        )));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain spaces or control characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_opt_id(what: &str, id: Option<&str>) -> Result<()> {
    match id {
        Some(id) => check_id(what, id),
        None => Ok(()),
    }
}

pub(crate) fn check_name(what: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(StoreError::Invalid(format!(
            "{what} must be non-empty and at most {max} bytes"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

pub(crate) fn check_opt_short(what: &str, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => check_name(what, s, MAX_SHORT),
        None => Ok(()),
    }
}

pub(crate) fn check_text(what: &str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT {
        return Err(StoreError::Invalid(format!(
            "{what} must be at most {MAX_TEXT} bytes"
        )));
    }
    // Same answer on both backends (PostgreSQL cannot store NUL in text).
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain NUL characters"
        )));
    }
    Ok(())
}

pub(crate) fn or_default<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.is_empty() {
        default
    } else {
        s
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("id", "org_1").is_ok());
        assert!(check_id("id", "").is_err());
        assert!(check_id("id", "a b").is_err());
        assert!(check_id("id", "a\u{0}").is_err());
        assert!(check_id("id", &"x".repeat(129)).is_err());
    }
}
