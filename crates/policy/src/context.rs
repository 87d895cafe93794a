//! Who writes, to whom, where and when: the [`Context`] of a decision.
//!
//! Every type here is serde (de)serializable with snake_case names and parses
//! from the strings the command line uses (`FromStr`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Seconds since the Unix epoch (UTC). Used for every timestamp of the crate.
pub type UnixSeconds = i64;

/// An error parsing a context value from a string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct ParseContextError {
    /// Which kind of value (surface, stage, purpose...).
    pub what: &'static str,
    /// The rejected text.
    pub value: String,
    /// The accepted values.
    pub expected: &'static str,
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// Every value, in a stable order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The snake_case name used in JSON, policy files and flags.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
            /// Parses the name returned by `as_str`.
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($s => Some($name::$var),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseContextError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s.trim()).ok_or_else(|| ParseContextError {
                    what: $what,
                    value: s.to_string(),
                    expected: concat!($($s, " "),+),
                })
            }
        }
    };
}

named_enum!(
    /// Where a text is written.
    Surface, "surface", {
        /// A freelancer's or client's public profile (always pre-contract).
        Profile => "profile",
        /// A public job post (always pre-contract).
        JobPost => "job_post",
        /// A freelancer's proposal on a job.
        Proposal => "proposal",
        /// A client's invitation to a job.
        Invite => "invite",
        /// A message in a conversation.
        Message => "message",
        /// The text of a file attached to a message.
        Attachment => "attachment",
    }
);

impl Surface {
    /// Profiles and job posts are public to many counterparts, so they are
    /// always treated as `pre_contract`, whatever stage the caller passes.
    pub fn is_public(self) -> bool {
        matches!(self, Surface::Profile | Surface::JobPost)
    }
}

named_enum!(
    /// The relationship stage between the client organisation and the freelancer.
    Stage, "stage", {
        /// No contract has started: the rule applies.
        PreContract => "pre_contract",
        /// A contract is running: the rule is lifted.
        ActiveContract => "active_contract",
        /// A contract has ended: the rule stays lifted for these two parties.
        EndedContract => "ended_contract",
    }
);

/// The client organisation's plan. Plan names are operator data (the policy
/// file lists them), so this is a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(from = "String", into = "String")]
pub struct Plan(pub String);

impl From<String> for Plan {
    fn from(s: String) -> Plan {
        Plan::new(s)
    }
}

impl From<Plan> for String {
    fn from(p: Plan) -> String {
        p.0
    }
}

impl Plan {
    /// A plan by name (lower-cased, trimmed).
    pub fn new(name: impl AsRef<str>) -> Plan {
        Plan(name.as_ref().trim().to_ascii_lowercase())
    }
    /// The plan name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Plan {
    type Err = ParseContextError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Plan::new(s))
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A purpose the sender declared for an exception.
///
/// Serialized as `"legal_document"` or `{"scoping_access": {"system": "GitHub"}}`;
/// also read from the flag form `"scoping_access:GitHub"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "PurposeRepr")]
pub enum Purpose {
    /// Contact details (an email) shared only to give the other party access
    /// to a system needed to scope the project (a repository, a design tool...).
    ScopingAccess {
        /// The system the access is for, as the sender named it.
        system: String,
    },
    /// The attachment is a legal document (an NDA) that must be shared before a contract.
    LegalDocument,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PurposeRepr {
    Flag(String),
    Tagged(TaggedPurpose),
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TaggedPurpose {
    ScopingAccess { system: String },
    LegalDocument,
}

impl TryFrom<PurposeRepr> for Purpose {
    type Error = ParseContextError;
    fn try_from(r: PurposeRepr) -> Result<Purpose, ParseContextError> {
        match r {
            PurposeRepr::Flag(s) => s.parse(),
            PurposeRepr::Tagged(TaggedPurpose::ScopingAccess { system }) => {
                Ok(Purpose::ScopingAccess { system })
            }
            PurposeRepr::Tagged(TaggedPurpose::LegalDocument) => Ok(Purpose::LegalDocument),
        }
    }
}

impl FromStr for Purpose {
    type Err = ParseContextError;
    /// `legal_document`, or `scoping_access:SYSTEM` (also `scoping_access=SYSTEM`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let err = || ParseContextError {
            what: "purpose",
            value: s.to_string(),
            expected: "legal_document scoping_access:SYSTEM",
        };
        if s == "legal_document" {
            return Ok(Purpose::LegalDocument);
        }
        let rest = s.strip_prefix("scoping_access").ok_or_else(err)?;
        let system = rest
            .strip_prefix(':')
            .or_else(|| rest.strip_prefix('='))
            .map(str::trim)
            .filter(|sys| !sys.is_empty())
            .ok_or_else(err)?;
        Ok(Purpose::ScopingAccess {
            system: system.to_string(),
        })
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Purpose::ScopingAccess { system } => write!(f, "scoping_access:{system}"),
            Purpose::LegalDocument => f.write_str("legal_document"),
        }
    }
}

/// One strike in a sender's enforcement history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Strike {
    /// When the violation happened.
    pub at: UnixSeconds,
    /// How much it counts (from the policy's weights).
    pub weight: u32,
    /// The categories involved, for the record (e.g. `["phone"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// The sender's recent enforcement history. Storing it is the server's job;
/// the policy only reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct History {
    /// Strikes, in any order.
    #[serde(default)]
    pub strikes: Vec<Strike>,
    /// The end of a messaging restriction in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_until: Option<UnixSeconds>,
}

/// Everything about a text except the text: who writes, to whom, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// Where the text is written.
    pub surface: Surface,
    /// The stage between the two parties (ignored for profiles and job posts).
    #[serde(default = "default_stage")]
    pub stage: Stage,
    /// The client organisation's plan.
    #[serde(default)]
    pub plan: Plan,
    /// The purpose the sender declared, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// The sender's recent enforcement history.
    #[serde(default)]
    pub history: History,
    /// The time of the decision.
    #[serde(default)]
    pub now: UnixSeconds,
}

fn default_stage() -> Stage {
    Stage::PreContract
}

impl Context {
    /// A pre-contract context on `surface`, no plan, no purpose, no history, at time 0.
    pub fn new(surface: Surface) -> Context {
        Context {
            surface,
            stage: Stage::PreContract,
            plan: Plan::default(),
            purpose: None,
            history: History::default(),
            now: 0,
        }
    }

    /// The stage that counts: profiles and job posts are always `pre_contract`.
    pub fn effective_stage(&self) -> Stage {
        if self.surface.is_public() {
            Stage::PreContract
        } else {
            self.stage
        }
    }

    /// Sets the stage.
    pub fn stage(mut self, stage: Stage) -> Context {
        self.stage = stage;
        self
    }
    /// Sets the plan.
    pub fn plan(mut self, plan: impl AsRef<str>) -> Context {
        self.plan = Plan::new(plan);
        self
    }
    /// Sets the declared purpose.
    pub fn purpose(mut self, purpose: Purpose) -> Context {
        self.purpose = Some(purpose);
        self
    }
    /// Sets the history.
    pub fn history(mut self, history: History) -> Context {
        self.history = history;
        self
    }
    /// Sets the time.
    pub fn now(mut self, now: UnixSeconds) -> Context {
        self.now = now;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags() {
        assert_eq!("job_post".parse::<Surface>().unwrap(), Surface::JobPost);
        assert_eq!(
            "ended_contract".parse::<Stage>().unwrap(),
            Stage::EndedContract
        );
        assert!("draft".parse::<Stage>().is_err());
        assert_eq!(
            "scoping_access:GitHub".parse::<Purpose>().unwrap(),
            Purpose::ScopingAccess {
                system: "GitHub".into()
            }
        );
        assert!("scoping_access".parse::<Purpose>().is_err());
        assert_eq!(
            "legal_document".parse::<Purpose>().unwrap(),
            Purpose::LegalDocument
        );
        assert_eq!("Business".parse::<Plan>().unwrap(), Plan::new("business"));
    }

    #[test]
    fn serde_names() {
        let ctx = Context::new(Surface::JobPost)
            .plan("plus")
            .purpose(Purpose::ScopingAccess {
                system: "Figma".into(),
            });
        let json = serde_json::to_string(&ctx).unwrap();
        assert!(json.contains("\"surface\":\"job_post\""), "{json}");
        assert!(
            json.contains("\"scoping_access\":{\"system\":\"Figma\"}"),
            "{json}"
        );
        let back: Context = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ctx);
        let min: Context = serde_json::from_str(r#"{"surface":"message"}"#).unwrap();
        assert_eq!(min, Context::new(Surface::Message));
        let p: Purpose = serde_json::from_str(r#""legal_document""#).unwrap();
        assert_eq!(p, Purpose::LegalDocument);
        let p: Purpose = serde_json::from_str(r#""scoping_access:Jira""#).unwrap();
        assert_eq!(
            p,
            Purpose::ScopingAccess {
                system: "Jira".into()
            }
        );
        assert!(serde_json::from_str::<Purpose>(r#""vacation""#).is_err());
        let c: Context = serde_json::from_str(
            r#"{"surface":"invite","stage":"ended_contract","plan":"Business"}"#,
        )
        .unwrap();
        assert_eq!(c.plan.as_str(), "business");
        assert_eq!(serde_json::to_string(&c.plan).unwrap(), r#""business""#);
    }
}
