//! Identifiers, validated once at the edge: a route turns the text of a path or a body into one
//! of these, and the domain takes them as they are.
//!
//! Text ids (`UserId`, `OrgId`, `ConversationId`, ...) are 1 to 128 bytes without spaces or
//! control characters (what the store accepts). Numeric ids of the trust-and-safety records are
//! shown with a prefix (`en_12`, `mi_3`, `ap_4`, `rp_5`) and read with or without it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;

/// Longest text id.
pub const MAX_ID: usize = 128;

/// A malformed identifier (what it is and why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// Checks a text id: 1 to [`MAX_ID`] bytes, no spaces or control characters.
pub fn check_text_id(what: &str, id: &str) -> Result<(), IdError> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(IdError(format!("{what} must be 1 to {MAX_ID} bytes")));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdError(format!(
            "{what} must not contain spaces or control characters"
        )));
    }
    Ok(())
}

/// A text identifier type: `parse` validates, `as_str` reads.
pub trait TextId: Sized {
    const WHAT: &'static str;
    fn from_checked(s: String) -> Self;
    fn parse(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        check_text_id(Self::WHAT, &s)?;
        Ok(Self::from_checked(s))
    }
}

/// Declares a validated text id (a `String` newtype; serde reads it through `parse`).
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, pattern = r"^\S{1,128}$")]
        pub struct $name(String);

        impl TextId for $name {
            const WHAT: &'static str = $what;
            fn from_checked(s: String) -> Self {
                $name(s)
            }
        }
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$name as TextId>::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(
    /// A user of the marketplace (the operator's id).
    UserId,
    "user id"
);
text_id!(
    /// An organisation (a client company).
    OrgId,
    "org id"
);
text_id!(
    /// A conversation.
    ConversationId,
    "conversation id"
);
text_id!(
    /// A contract, job, proposal or invite of the marketplace.
    ObjectId,
    "id"
);

/// A message (a positive integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(transparent)]
pub struct MessageId(i64);

impl MessageId {
    /// A message id from a path segment; `None` unless a positive integer.
    pub fn parse(s: &str) -> Option<MessageId> {
        s.parse::<i64>().ok().and_then(MessageId::new)
    }
    pub fn new(n: i64) -> Option<MessageId> {
        (n > 0).then_some(MessageId(n))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `mi_12` (or `12`) -> 12.
pub fn parse_prefixed(s: &str, prefix: &str) -> Option<i64> {
    s.strip_prefix(prefix)
        .unwrap_or(s)
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// Declares a numeric trust-and-safety id shown as `PREFIX_N`.
macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
        #[schema(value_type = String, example = $example)]
        pub struct $name(pub i64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            /// `PREFIX_N` or `N`; `None` unless N is a positive integer.
            pub fn parse(s: &str) -> Option<$name> {
                parse_prefixed(s, $prefix).map($name)
            }
            pub fn get(self) -> i64 {
                self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

prefixed_id!(
    /// A moderation queue item (`mi_N`).
    ItemId,
    "mi_",
    "mi_1"
);
prefixed_id!(
    /// An enforcement (`en_N`).
    EnforcementId,
    "en_",
    "en_1"
);
prefixed_id!(
    /// An appeal (`ap_N`).
    AppealId,
    "ap_",
    "ap_1"
);
prefixed_id!(
    /// A report (`rp_N`).
    ReportId,
    "rp_",
    "rp_1"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ids_are_checked() {
        assert!(UserId::parse("u1").is_ok());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("a b").is_err());
        assert!(UserId::parse("x".repeat(129)).is_err());
        assert!(serde_json::from_str::<UserId>("\"a\\u0000\"").is_err());
        assert_eq!(
            serde_json::to_string(&UserId::parse("u").unwrap()).unwrap(),
            "\"u\""
        );
    }

    #[test]
    fn prefixed_ids_read_and_show() {
        assert_eq!(ItemId::parse("mi_12"), Some(ItemId(12)));
        assert_eq!(ItemId::parse("12"), Some(ItemId(12)));
        assert_eq!(ItemId::parse("mi_x"), None);
        assert_eq!(ItemId::parse("mi_0"), None);
        assert_eq!(
            serde_json::to_string(&EnforcementId(3)).unwrap(),
            "\"en_3\""
        );
        assert_eq!(MessageId::parse("7").map(MessageId::get), Some(7));
        assert_eq!(MessageId::parse("-1"), None);
    }
}
