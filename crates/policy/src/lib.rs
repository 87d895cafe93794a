//! # parley-policy
//!
//! Turns the detector's findings into a decision for a given context: who
//! writes, to whom, where and when. The detector says what is in a text; the
//! policy says what happens to it.
//!
//! - [`Policy`]: what an operator configures, read from a TOML file
//!   ([`Policy::from_toml_str`]) on top of the built-in default
//!   ([`DEFAULT_POLICY_TOML`], [`Policy::default`]).
//! - [`Context`]: surface, stage, plan, declared purpose, the sender's history, the time.
//! - [`Policy::decide`]: a pure function of text, findings and context giving a
//!   [`Decision`] that explains itself.
//! - Escalation: [`Policy::strike_for`] and [`Policy::escalation`], on the
//!   surfaces listed in `[escalation] surfaces`; storing the history is the
//!   server's job. Times are Unix seconds ([`UnixSeconds`]).
//!
//! ```
//! use parley_policy::{Action, Context, Policy, Purpose, Surface};
//!
//! let policy = Policy::default();
//! let detector = policy.detector_builder().build().unwrap();
//! let text = "Here is the brief, see you on the platform";
//! let ctx = Context::new(Surface::Message).plan("basic");
//! let decision = policy.decide(text, &detector.scan(text), &ctx);
//! assert_eq!(decision.action, Action::Allow);
//! assert!(!decision.violation);
//! ```
//!
//! A bad policy file reports every problem with its line:
//!
//! ```
//! use parley_policy::Policy;
//!
//! let err = Policy::from_toml_str("[tiers]\nhigh = 1.5\n[plans]\nexempt = [\"gold\"]\n").unwrap_err();
//! assert_eq!(err.problems.len(), 2);
//! assert_eq!(err.problems[0].line, 2);
//! assert!(err.to_string().starts_with("line 2, column 8: tiers.high"));
//! ```

mod context;
mod decide;
mod decision;
mod escalation;
mod file;
mod model;
mod texts;

pub use context::{
    Context, History, ParseContextError, Plan, Purpose, Stage, Strike, Surface, UnixSeconds,
};
pub use decision::{
    Decision, Escalation, EscalationLevel, ExceptionKind, Reason, RecordedException,
};
pub use file::{PolicyFileError, Problem};
pub use model::{
    Action, ActionTable, EscalationRules, Exceptions, LinkRules, Policy, Target, Texts, Tier,
    TierActions, Tiers, PLACEHOLDERS, RECIPIENT_KEYS, SENDER_KEYS,
};

use std::sync::OnceLock;

/// The built-in default policy, as the commented TOML file
/// `parley policy print-default` writes out.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../default-policy.toml");

impl Default for Policy {
    /// The policy of [`DEFAULT_POLICY_TOML`] (parsed once, then cloned).
    fn default() -> Policy {
        static DEFAULT: OnceLock<Policy> = OnceLock::new();
        DEFAULT
            .get_or_init(
                || match file::apply(Policy::skeleton(), DEFAULT_POLICY_TOML) {
                    Ok(p) => p,
                    // The default file is checked by a unit test; fall back to the
                    // skeleton rather than panic.
                    Err(_) => Policy::skeleton(),
                },
            )
            .clone()
    }
}

impl Policy {
    /// Reads a policy file. Keys it leaves out keep their default values
    /// (the default action table is merged per entry and tier; lists and
    /// texts given in the file replace the default ones). Fails with every
    /// problem found, each with its line and column.
    ///
    /// ```
    /// use parley_policy::{Action, Context, Policy, Surface};
    ///
    /// let policy = Policy::from_toml_str(r#"
    /// [plans]
    /// known = ["free", "team", "corporate"]
    /// exempt = ["corporate"]
    ///
    /// [actions.message]
    /// phone = "hold_for_review"
    /// "#).unwrap();
    /// assert!(policy.is_exempt_plan("corporate"));
    /// assert_eq!(policy.tiers.high, 0.8); // kept from the default
    ///
    /// let err = Policy::from_toml_str("[actions.message]\nphone = \"delete\"\n").unwrap_err();
    /// assert_eq!(err.problems[0].line, 2);
    /// assert!(err.problems[0].reason.contains("unknown action \"delete\""));
    /// ```
    pub fn from_toml_str(src: &str) -> Result<Policy, PolicyFileError> {
        file::apply(Policy::default(), src)
    }

    /// A detector builder with the policy's phone regions, languages and
    /// extra domains per link kind (blocked domains are applied by the policy
    /// itself, in [`Policy::decide`]).
    ///
    /// ```
    /// use parley_policy::Policy;
    ///
    /// let policy = Policy::from_toml_str("[detector]\nregions = [\"GB\"]\nlanguages = [\"en\"]\n").unwrap();
    /// let detector = policy.detector_builder().build().unwrap();
    /// let _findings = detector.scan("ring me on 07911 123456");
    /// ```
    pub fn detector_builder(&self) -> parley_detect::DetectorBuilder {
        let mut b = parley_detect::Detector::builder()
            .regions(self.regions.iter().cloned())
            .languages(self.languages.iter().cloned());
        for (kind, domains) in &self.links.domains {
            for d in domains {
                b = b.domain(*kind, d.clone());
            }
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_and_is_the_default() {
        let parsed = file::apply(Policy::skeleton(), DEFAULT_POLICY_TOML);
        assert!(parsed.is_ok(), "{}", parsed.unwrap_err());
        let parsed = parsed.unwrap();
        assert_eq!(parsed, Policy::default());
        assert_eq!(Policy::from_toml_str(DEFAULT_POLICY_TOML).unwrap(), parsed);
        assert_eq!(Policy::from_toml_str("").unwrap(), parsed);
        assert_eq!(parsed.exempt_plans, ["business", "enterprise"]);
        for key in SENDER_KEYS {
            assert!(!parsed.texts.sender(key).is_empty(), "sender text {key}");
        }
        for key in RECIPIENT_KEYS {
            assert!(
                !parsed.texts.recipient(key).is_empty(),
                "recipient text {key}"
            );
        }
        for c in parley_detect::Category::ALL {
            assert!(parsed.texts.labels.contains_key(&c));
            assert!(parsed.texts.rules.contains_key(&c));
            assert!(parsed.texts.masks.contains_key(&c));
        }
    }

    #[test]
    fn detector_builder_builds() {
        assert!(Policy::default().detector_builder().build().is_ok());
    }
}
