//! The [`Policy`] an operator configures, and its building blocks.

use crate::context::Surface;
use parley_detect::{Category, LinkKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub(crate) use crate::texts::render;
pub use crate::texts::{Texts, PLACEHOLDERS, RECIPIENT_KEYS, SENDER_KEYS};

/// What happens to a text. Ordered by severity: when several findings call for
/// different actions, the most severe wins (`block` > `hold_for_review` >
/// `mask` > `allow_with_notice` > `allow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Delivered; the finding is only logged.
    Allow,
    /// Delivered with a reminder of the rule shown to one or both sides.
    AllowWithNotice,
    /// Delivered with the contact details replaced.
    Mask,
    /// Delivered only if a reviewer approves.
    HoldForReview,
    /// Not delivered; the sender sees which words broke which rule and what to do.
    Block,
}

impl Action {
    /// Every action, from the mildest.
    pub const ALL: [Action; 5] = [
        Action::Allow,
        Action::AllowWithNotice,
        Action::Mask,
        Action::HoldForReview,
        Action::Block,
    ];
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::AllowWithNotice => "allow_with_notice",
            Action::Mask => "mask",
            Action::HoldForReview => "hold_for_review",
            Action::Block => "block",
        }
    }
    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
    /// Whether the action means the text broke the rule (anything but
    /// `allow` and `allow_with_notice`).
    pub fn is_violation(self) -> bool {
        !matches!(self, Action::Allow | Action::AllowWithNotice)
    }
}

impl std::str::FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Action, String> {
        Action::parse(s.trim()).ok_or_else(|| {
            format!("unknown action {s:?} (expected allow, allow_with_notice, mask, block or hold_for_review)")
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A confidence tier, from the policy's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Below the medium threshold.
    Low,
    /// At or above the medium threshold, below the high one.
    Medium,
    /// At or above the high threshold.
    High,
}

impl Tier {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Low => "low",
            Tier::Medium => "medium",
            Tier::High => "high",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Confidence thresholds: `high >= self.high`, `medium >= self.medium`, low below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tiers {
    /// Lowest confidence of the high tier.
    pub high: f32,
    /// Lowest confidence of the medium tier.
    pub medium: f32,
}

impl Tiers {
    /// The tier of a confidence.
    pub fn of(&self, confidence: f32) -> Tier {
        if confidence >= self.high {
            Tier::High
        } else if confidence >= self.medium {
            Tier::Medium
        } else {
            Tier::Low
        }
    }
}

/// What an action-table entry applies to, besides the surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Every category (`"*"`).
    Any,
    /// One category.
    Category(Category),
    /// Links of one kind (`"link.KIND"`).
    Link(LinkKind),
}

impl Target {
    /// The key used in the policy file.
    pub fn key(&self) -> String {
        match self {
            Target::Any => "*".into(),
            Target::Category(c) => c.as_str().into(),
            Target::Link(k) => format!("link.{k}"),
        }
    }
}

/// Actions per tier; `None` falls through to a less specific entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierActions {
    /// For high-confidence findings.
    pub high: Option<Action>,
    /// For medium-confidence findings.
    pub medium: Option<Action>,
    /// For low-confidence findings.
    pub low: Option<Action>,
}

impl TierActions {
    /// The action set for a tier, if any.
    pub fn get(&self, tier: Tier) -> Option<Action> {
        match tier {
            Tier::High => self.high,
            Tier::Medium => self.medium,
            Tier::Low => self.low,
        }
    }
    fn merge(&mut self, other: &TierActions) {
        self.high = other.high.or(self.high);
        self.medium = other.medium.or(self.medium);
        self.low = other.low.or(self.low);
    }
}

/// The action table: (surface or every surface, target) → actions per tier.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionTable {
    /// Entries keyed by surface (`None` = every surface) and target.
    pub entries: BTreeMap<(Option<Surface>, Target), TierActions>,
}

impl ActionTable {
    /// Sets (merging per tier) an entry.
    pub fn set(&mut self, surface: Option<Surface>, target: Target, actions: TierActions) {
        self.entries
            .entry((surface, target))
            .or_default()
            .merge(&actions);
    }

    /// The action for a finding of `category` (and link `kind`) in `tier` on
    /// `surface`: the most specific entry that sets this tier wins (see the
    /// default policy file for the order); nothing means `allow`.
    pub fn lookup(
        &self,
        surface: Surface,
        category: Category,
        kind: Option<LinkKind>,
        tier: Tier,
    ) -> Action {
        let mut chain: [Option<(Option<Surface>, Target)>; 6] = [None; 6];
        if let (Category::Link, Some(k)) = (category, kind) {
            chain[0] = Some((Some(surface), Target::Link(k)));
            chain[1] = Some((None, Target::Link(k)));
        }
        chain[2] = Some((Some(surface), Target::Category(category)));
        chain[3] = Some((None, Target::Category(category)));
        chain[4] = Some((Some(surface), Target::Any));
        chain[5] = Some((None, Target::Any));
        chain
            .iter()
            .flatten()
            .find_map(|key| self.entries.get(key).and_then(|t| t.get(tier)))
            .unwrap_or(Action::Allow)
    }
}

/// Rules for links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRules {
    /// Link kinds that are not contact information (pass at any stage).
    pub allowed_kinds: Vec<LinkKind>,
    /// The action for a portfolio link in a proposal.
    pub portfolio_in_proposal: Action,
    /// The action for a portfolio link on any other surface.
    pub portfolio_elsewhere: Action,
    /// Extra domains the detector classifies as a kind.
    pub domains: BTreeMap<LinkKind, Vec<String>>,
    /// Domains always treated as contact information of the kind.
    pub blocked_domains: BTreeMap<LinkKind, Vec<String>>,
}

/// Which exceptions a sender may declare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exceptions {
    /// Categories a declared `scoping_access` lets through (default: email only).
    pub scoping_access: Vec<Category>,
    /// Whether a declared `legal_document` lets an attachment through.
    pub legal_document: bool,
}

/// Strike weights and escalation thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationRules {
    /// Strikes expire after this many days without a new strike.
    pub clean_period_days: u32,
    /// Strike weight per action of a violating decision.
    pub weights: BTreeMap<Action, u32>,
    /// Points from which the sender is warned (0 disables the level).
    pub notice: u32,
    /// Points from which masking is raised to blocking (0 disables).
    pub block: u32,
    /// Points from which messaging is restricted (0 disables).
    pub restrict: u32,
    /// Points from which suspension is recommended to a reviewer (0 disables).
    pub suspend: u32,
    /// How long a messaging restriction lasts.
    pub restriction_hours: u32,
    /// The surfaces whose violations give strikes and escalate (masking raised
    /// to blocking by the sender's history, the warning in the explanation).
    /// Texts on other surfaces are still masked or blocked, without a strike.
    #[serde(default = "strike_surfaces")]
    pub surfaces: Vec<Surface>,
}

/// The surfaces that give strikes when a policy does not say: messages only.
fn strike_surfaces() -> Vec<Surface> {
    vec![Surface::Message]
}

impl EscalationRules {
    /// Whether violations on `surface` give strikes and escalate.
    pub fn gives_strikes(&self, surface: Surface) -> bool {
        self.surfaces.contains(&surface)
    }
}

/// The policy: everything an operator configures. Build it with
/// [`Policy::default`] or [`Policy::from_toml_str`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Every plan name (empty = any plan name is accepted in `exempt`).
    pub plans: Vec<String>,
    /// Plans exempt from the rule.
    pub exempt_plans: Vec<String>,
    /// Confidence thresholds.
    pub tiers: Tiers,
    /// Phone regions for the detector.
    pub regions: Vec<String>,
    /// Languages for the detector.
    pub languages: Vec<String>,
    /// The action table.
    pub actions: ActionTable,
    /// Link rules.
    pub links: LinkRules,
    /// Exceptions.
    pub exceptions: Exceptions,
    /// Escalation.
    pub escalation: EscalationRules,
    /// Texts.
    pub texts: Texts,
}

impl Policy {
    /// The base the default file is applied to: the values a key keeps when
    /// even the default file does not set it.
    pub(crate) fn skeleton() -> Policy {
        Policy {
            plans: Vec::new(),
            exempt_plans: Vec::new(),
            tiers: Tiers {
                high: 0.8,
                medium: 0.5,
            },
            regions: Vec::new(),
            languages: Vec::new(),
            actions: ActionTable::default(),
            links: LinkRules {
                allowed_kinds: Vec::new(),
                portfolio_in_proposal: Action::AllowWithNotice,
                portfolio_elsewhere: Action::AllowWithNotice,
                domains: BTreeMap::new(),
                blocked_domains: BTreeMap::new(),
            },
            exceptions: Exceptions {
                scoping_access: vec![Category::Email],
                legal_document: true,
            },
            escalation: EscalationRules {
                clean_period_days: 30,
                weights: BTreeMap::new(),
                notice: 0,
                block: 0,
                restrict: 0,
                suspend: 0,
                restriction_hours: 24,
                surfaces: strike_surfaces(),
            },
            texts: Texts::default(),
        }
    }

    /// Whether `plan` is exempt from the rule.
    pub fn is_exempt_plan(&self, plan: &str) -> bool {
        self.exempt_plans.iter().any(|p| p == plan)
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", v.join(", "))
}

impl Policy {
    /// Writes the policy as a policy file (without comments) that
    /// [`Policy::from_toml_str`] reads back into an equal policy.
    pub fn to_toml_string(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(o, "version = 1\n\n[plans]");
        let _ = writeln!(o, "known = {}", list(&self.plans));
        let _ = writeln!(o, "exempt = {}", list(&self.exempt_plans));
        let _ = writeln!(
            o,
            "\n[tiers]\nhigh = {:?}\nmedium = {:?}",
            self.tiers.high, self.tiers.medium
        );
        let _ = writeln!(
            o,
            "\n[detector]\nregions = {}\nlanguages = {}",
            list(&self.regions),
            list(&self.languages)
        );
        let mut surface: Option<Option<Surface>> = None;
        for ((s, target), ta) in &self.actions.entries {
            if surface != Some(*s) {
                let name = s.map_or("*", |s| s.as_str());
                let _ = writeln!(o, "\n[actions.{}]", quote(name));
                surface = Some(*s);
            }
            let tiers: Vec<String> = [("high", ta.high), ("medium", ta.medium), ("low", ta.low)]
                .into_iter()
                .filter_map(|(t, a)| a.map(|a| format!("{t} = {}", quote(a.as_str()))))
                .collect();
            let _ = writeln!(o, "{} = {{ {} }}", quote(&target.key()), tiers.join(", "));
        }
        let l = &self.links;
        let _ = writeln!(
            o,
            "\n[links]\nallowed_kinds = {}\nportfolio_in_proposal = {}\nportfolio_elsewhere = {}",
            list(l.allowed_kinds.iter().map(|k| k.as_str())),
            quote(l.portfolio_in_proposal.as_str()),
            quote(l.portfolio_elsewhere.as_str())
        );
        for (section, map) in [
            ("domains", &l.domains),
            ("blocked_domains", &l.blocked_domains),
        ] {
            let _ = writeln!(o, "\n[links.{section}]");
            for (k, ds) in map {
                let _ = writeln!(o, "{k} = {}", list(ds));
            }
        }
        let _ = writeln!(
            o,
            "\n[exceptions]\nscoping_access = {}\nlegal_document = {}",
            list(self.exceptions.scoping_access.iter().map(|c| c.as_str())),
            self.exceptions.legal_document
        );
        let e = &self.escalation;
        let weights: Vec<String> = e
            .weights
            .iter()
            .map(|(a, w)| format!("{a} = {w}"))
            .collect();
        let _ = writeln!(
            o,
            "\n[escalation]\nclean_period_days = {}\nweights = {{ {} }}\nnotice = {}\nblock = {}\nrestrict = {}\nsuspend = {}\nrestriction_hours = {}\nsurfaces = {}",
            e.clean_period_days,
            weights.join(", "),
            e.notice,
            e.block,
            e.restrict,
            e.suspend,
            e.restriction_hours,
            list(e.surfaces.iter().map(|s| s.as_str()))
        );
        let t = &self.texts;
        for (section, map) in [
            ("labels", &t.labels),
            ("rules", &t.rules),
            ("masks", &t.masks),
        ] {
            let _ = writeln!(o, "\n[texts.{section}]");
            for (c, s) in map {
                let _ = writeln!(o, "{c} = {}", quote(s));
            }
        }
        for (section, map) in [("sender", &t.sender), ("recipient", &t.recipient)] {
            let _ = writeln!(o, "\n[texts.{section}]");
            for (k, s) in map {
                let _ = writeln!(o, "{k} = {}", quote(s));
            }
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_placeholders() {
        let s = render("a {x} b {y} {", |n| (n == "x").then(|| "X".to_string()));
        assert_eq!(s, "a X b {y} {");
        assert_eq!(render("é{x}é", |_| Some("ü".into())), "éüé");
    }

    #[test]
    fn lookup_order() {
        let mut t = ActionTable::default();
        let all = |a| TierActions {
            high: Some(a),
            medium: Some(a),
            low: Some(a),
        };
        t.set(None, Target::Any, all(Action::Mask));
        t.set(Some(Surface::Message), Target::Any, all(Action::Block));
        t.set(
            None,
            Target::Category(Category::Request),
            all(Action::Allow),
        );
        t.set(
            None,
            Target::Link(LinkKind::Meeting),
            TierActions {
                high: Some(Action::HoldForReview),
                ..Default::default()
            },
        );
        use Category::*;
        let m = Surface::Message;
        assert_eq!(t.lookup(m, Phone, None, Tier::High), Action::Block);
        assert_eq!(
            t.lookup(Surface::Profile, Phone, None, Tier::High),
            Action::Mask
        );
        assert_eq!(t.lookup(m, Request, None, Tier::High), Action::Allow);
        assert_eq!(
            t.lookup(m, Link, Some(LinkKind::Meeting), Tier::High),
            Action::HoldForReview
        );
        assert_eq!(
            t.lookup(m, Link, Some(LinkKind::Meeting), Tier::Low),
            Action::Block
        );
        assert_eq!(
            ActionTable::default().lookup(m, Phone, None, Tier::High),
            Action::Allow
        );
    }
}
