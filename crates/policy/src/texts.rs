//! Texts shown to people, with `{placeholders}`, and how they are rendered.

use parley_detect::Category;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Texts shown to people, with `{placeholders}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Texts {
    /// How each category is named in a sentence ("a phone number").
    pub labels: BTreeMap<Category, String>,
    /// The rule each category breaks, in words.
    pub rules: BTreeMap<Category, String>,
    /// What replaces a masked finding ("[phone hidden]").
    pub masks: BTreeMap<Category, String>,
    /// Texts for the sender (keys: [`SENDER_KEYS`]).
    pub sender: BTreeMap<String, String>,
    /// Texts for the recipient (keys: [`RECIPIENT_KEYS`]).
    pub recipient: BTreeMap<String, String>,
}

/// The keys of `[texts.sender]`.
pub const SENDER_KEYS: &[&str] = &[
    "block",
    "hold_for_review",
    "mask",
    "allow_with_notice",
    "finding",
    "help",
    "scheduler",
    "scoping_access",
    "legal_document",
    "warning",
    "restricted",
];

/// The keys of `[texts.recipient]`.
pub const RECIPIENT_KEYS: &[&str] = &[
    "notice",
    "masked",
    "portfolio",
    "scoping_access",
    "legal_document",
];

/// The placeholders a text may use.
pub const PLACEHOLDERS: &[&str] = &[
    "category", "label", "rule", "matched", "kind", "tier", "surface", "action", "system",
    "points", "level", "until",
];

impl Texts {
    /// A sender text by key ("" if unset).
    pub fn sender(&self, key: &str) -> &str {
        self.sender.get(key).map(String::as_str).unwrap_or("")
    }
    /// A recipient text by key ("" if unset).
    pub fn recipient(&self, key: &str) -> &str {
        self.recipient.get(key).map(String::as_str).unwrap_or("")
    }
}

/// Replaces `{name}` placeholders with `value(name)`; unknown names are left as they are.
pub(crate) fn render(template: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match value(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
