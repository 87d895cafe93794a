//! [`Policy::decide`]: findings + context → a [`Decision`] that explains itself.

use crate::context::{Context, History, Purpose, Stage, Strike, Surface, UnixSeconds};
use crate::model::{render, Action, Policy, Tier};
use parley_detect::{Category, Finding, LinkKind};
use serde::{Deserialize, Serialize};

/// Why a finding was let through although it is contact information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// The client organisation's plan is exempt.
    ExemptPlan,
    /// A contract between the two parties is running.
    ActiveContract,
    /// A contract between the two parties has ended (the rule stays lifted).
    EndedContract,
    /// Declared access to a system needed for scoping.
    ScopingAccess,
    /// Declared legal document.
    LegalDocument,
    /// A portfolio link (allowed in proposals).
    Portfolio,
}

/// One finding that mattered to the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The policy rule, e.g. `pre_contract.phone` or `pre_contract.link.meeting`.
    pub rule: String,
    /// The rule in words (from `[texts.rules]`).
    pub rule_text: String,
    /// The detector rule that fired, e.g. `phone.e164`.
    pub detector_rule: String,
    /// The category (for a link on a blocked domain: `link` with the blocked kind).
    pub category: Category,
    /// The link kind, for links.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<LinkKind>,
    /// Evidence span start (byte offset in the text).
    pub start: usize,
    /// Evidence span end (exclusive).
    pub end: usize,
    /// The evidence.
    pub matched: String,
    /// The detector's confidence.
    pub confidence: f32,
    /// The confidence tier.
    pub tier: Tier,
    /// The action this finding alone calls for.
    pub action: Action,
    /// False when a person decides (hold for review).
    pub automated: bool,
    /// The exception applied, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exception: Option<ExceptionKind>,
}

/// A share let through by a declared exception, to be recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedException {
    /// `scoping_access` or `legal_document`.
    pub kind: ExceptionKind,
    /// The system named for scoping access.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub system: Option<String>,
    /// What was shared.
    pub category: Category,
    /// Span start.
    pub start: usize,
    /// Span end.
    pub end: usize,
    /// The shared text.
    pub matched: String,
}

/// How far a sender's repeated violations have escalated.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EscalationLevel {
    /// No active strikes above the notice threshold.
    #[default]
    None,
    /// The sender is warned.
    Notice,
    /// Masking is raised to blocking.
    Block,
    /// Messaging is restricted for a while.
    Restrict,
    /// Suspension is recommended to a reviewer.
    Suspend,
}

impl EscalationLevel {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationLevel::None => "none",
            EscalationLevel::Notice => "notice",
            EscalationLevel::Block => "block",
            EscalationLevel::Restrict => "restrict",
            EscalationLevel::Suspend => "suspend",
        }
    }
}

/// A sender's escalation state at a time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Escalation {
    /// The level reached.
    pub level: EscalationLevel,
    /// Sum of the weights of the active strikes.
    pub points: u32,
    /// Number of active (unexpired) strikes.
    pub active_strikes: usize,
    /// When the active strikes expire if no new one comes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub strikes_expire_at: Option<UnixSeconds>,
    /// The end of the messaging restriction in force (the server enforces it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub restricted_until: Option<UnixSeconds>,
    /// Whether suspension is recommended to a reviewer.
    pub recommend_suspension: bool,
}

/// What happens to a text, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The surface the text was written on (decides whether it gives a strike,
    /// see `[escalation] surfaces`). Decisions stored before it was recorded
    /// read back as `message`.
    #[serde(default = "message_surface")]
    pub surface: Surface,
    /// The action.
    pub action: Action,
    /// False exactly when the action is `allow` or `allow_with_notice`.
    pub violation: bool,
    /// False when a person makes the final call (`hold_for_review`).
    pub automated: bool,
    /// The text with contact details replaced, when the action is `mask`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub masked_text: Option<String>,
    /// One per finding that mattered (allowed link kinds are left out).
    pub reasons: Vec<Reason>,
    /// For the sender: which words, which rule, and what they may do instead.
    pub explanation: String,
    /// For the recipient, when the text is delivered with a reminder.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub recipient_notice: Option<String>,
    /// Shares let through by a declared exception, to be recorded.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub recorded_exceptions: Vec<RecordedException>,
    /// The strike this decision gives the sender, if any (the server stores it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub strike: Option<Strike>,
    /// The sender's escalation after this decision, when it is a violation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub escalation: Option<Escalation>,
}

fn message_surface() -> Surface {
    Surface::Message
}

fn host_of(url: &str) -> String {
    let s = url.trim();
    let s = s.split_once("://").map_or(s, |(_, rest)| rest);
    let s = s.split(['/', '?', '#']).next().unwrap_or("");
    let s = s.rsplit('@').next().unwrap_or("");
    let s = s.split(':').next().unwrap_or("");
    s.trim_end_matches('.').to_ascii_lowercase()
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

fn human(s: &str) -> String {
    s.replace('_', " ")
}

impl Policy {
    /// The blocked kind of a link finding, if its domain is on a blocked list.
    fn blocked_kind(&self, f: &Finding) -> Option<LinkKind> {
        if self.links.blocked_domains.is_empty() {
            return None;
        }
        let host = host_of(f.normalized.as_deref().unwrap_or(&f.matched));
        if host.is_empty() {
            return None;
        }
        self.links
            .blocked_domains
            .iter()
            .find(|(_, ds)| ds.iter().any(|d| domain_matches(&host, d)))
            .map(|(k, _)| *k)
    }

    /// Decides what happens to `text`, given the detector's `findings` on it
    /// and the context. Pure: same inputs, same decision.
    ///
    /// ```
    /// use parley_detect::{Category, Finding};
    /// use parley_policy::{Action, Context, Policy, Stage, Surface};
    ///
    /// let policy = Policy::default();
    /// let text = "call me on +1 312 555 0148";
    /// let phone = Finding {
    ///     category: Category::Phone, kind: None, start: 11, end: 26,
    ///     matched: "+1 312 555 0148".into(), normalized: Some("+13125550148".into()),
    ///     confidence: 0.95, rule: "phone.e164".into(),
    /// };
    /// let pre = policy.decide(text, &[phone.clone()], &Context::new(Surface::Message));
    /// assert_eq!(pre.action, Action::Block);
    /// assert!(pre.violation);
    /// assert!(pre.explanation.contains("+1 312 555 0148"));
    ///
    /// let during = Context::new(Surface::Message).stage(Stage::ActiveContract);
    /// assert_eq!(policy.decide(text, &[phone], &during).action, Action::Allow);
    /// ```
    pub fn decide(&self, text: &str, findings: &[Finding], ctx: &Context) -> Decision {
        let surface = ctx.surface;
        let stage = ctx.effective_stage();
        // The rule applies in pre_contract only; an exempt plan lifts it in
        // conversations and on the client's own job posts, never on a
        // freelancer's public profile.
        let lifted = match stage {
            Stage::ActiveContract => Some(ExceptionKind::ActiveContract),
            Stage::EndedContract => Some(ExceptionKind::EndedContract),
            Stage::PreContract
                if surface != Surface::Profile && self.is_exempt_plan(ctx.plan.as_str()) =>
            {
                Some(ExceptionKind::ExemptPlan)
            }
            Stage::PreContract => None,
        };

        let mut reasons: Vec<Reason> = Vec::new();
        let mut masked_findings: Vec<(usize, &Finding)> = Vec::new();
        let mut recorded: Vec<RecordedException> = Vec::new();
        for f in findings {
            // Spans that do not fit the text cannot be evidence (the detector
            // never produces them).
            if f.start >= f.end
                || f.end > text.len()
                || !text.is_char_boundary(f.start)
                || !text.is_char_boundary(f.end)
            {
                continue;
            }
            let matched = &text[f.start..f.end];
            let tier = self.tiers.of(f.confidence);
            let mut category = f.category;
            let mut kind = f.kind;
            let mut exception = None;
            let blocked = if f.category == Category::Link || f.kind.is_some() {
                self.blocked_kind(f)
            } else {
                None
            };
            // A handle the detector read off a profile link carries the link's
            // kind: when that kind is allowed, the link and its handle pass.
            if blocked.is_none()
                && category == Category::Handle
                && kind.is_some_and(|k| self.links.allowed_kinds.contains(&k))
            {
                continue;
            }
            let mut action = if let Some(b) = blocked {
                category = Category::Link;
                kind = Some(b);
                self.actions.lookup(surface, category, kind, tier)
            } else if category == Category::Link {
                match kind.unwrap_or(LinkKind::Other) {
                    LinkKind::Portfolio => {
                        exception = Some(ExceptionKind::Portfolio);
                        if surface == Surface::Proposal {
                            self.links.portfolio_in_proposal
                        } else {
                            self.links.portfolio_elsewhere
                        }
                    }
                    k if self.links.allowed_kinds.contains(&k) => continue,
                    _ => self.actions.lookup(surface, category, kind, tier),
                }
            } else {
                self.actions.lookup(surface, category, kind, tier)
            };

            // A portfolio link the operator does not allow on this surface is
            // an ordinary violation, explained like any other.
            if exception == Some(ExceptionKind::Portfolio) && action.is_violation() {
                exception = None;
            }
            // A file cannot be delivered with parts hidden: masking an
            // attachment holds it for review instead.
            if surface == Surface::Attachment && action == Action::Mask {
                action = Action::HoldForReview;
            }
            if let Some(l) = lifted {
                action = Action::Allow;
                exception = Some(l);
            } else if action != Action::Allow {
                match &ctx.purpose {
                    Some(Purpose::ScopingAccess { system })
                        if !surface.is_public()
                            && self.exceptions.scoping_access.contains(&category) =>
                    {
                        action = Action::Allow;
                        exception = Some(ExceptionKind::ScopingAccess);
                        recorded.push(RecordedException {
                            kind: ExceptionKind::ScopingAccess,
                            system: Some(system.clone()),
                            category,
                            start: f.start,
                            end: f.end,
                            matched: matched.to_string(),
                        });
                    }
                    Some(Purpose::LegalDocument)
                        if surface == Surface::Attachment && self.exceptions.legal_document =>
                    {
                        action = Action::Allow;
                        exception = Some(ExceptionKind::LegalDocument);
                        recorded.push(RecordedException {
                            kind: ExceptionKind::LegalDocument,
                            system: None,
                            category,
                            start: f.start,
                            end: f.end,
                            matched: matched.to_string(),
                        });
                    }
                    _ => {}
                }
            }

            let rule = match (category, kind) {
                (Category::Link, Some(k)) => format!("pre_contract.link.{k}"),
                (c, _) => format!("pre_contract.{c}"),
            };
            if action >= Action::Mask {
                masked_findings.push((reasons.len(), f));
            }
            reasons.push(Reason {
                rule,
                rule_text: self.texts.rules.get(&category).cloned().unwrap_or_default(),
                detector_rule: f.rule.clone(),
                category,
                kind,
                start: f.start,
                end: f.end,
                matched: matched.to_string(),
                confidence: f.confidence,
                tier,
                action,
                automated: action != Action::HoldForReview,
                exception,
            });
        }

        let mut action = reasons
            .iter()
            .map(|r| r.action)
            .max()
            .unwrap_or(Action::Allow);
        let violation = action.is_violation();

        // Escalation: the sender's standing before this text can raise masking
        // to blocking; the strike of this text then gives the new standing.
        // Only on the surfaces the policy says give strikes: elsewhere a
        // violation is handled on its own (no strike, no raise, no warning).
        let mut strike = None;
        let mut escalation = None;
        if violation && self.escalation.gives_strikes(surface) {
            let before = self.escalation(&ctx.history, ctx.now);
            let restricted = before.restricted_until.is_some_and(|u| u > ctx.now);
            if action == Action::Mask && (before.level >= EscalationLevel::Block || restricted) {
                action = Action::Block;
            }
            let probe = Decision {
                surface,
                action,
                violation,
                automated: true,
                masked_text: None,
                reasons: reasons.clone(),
                explanation: String::new(),
                recipient_notice: None,
                recorded_exceptions: Vec::new(),
                strike: None,
                escalation: None,
            };
            strike = self.strike_for(&probe, ctx.now);
            let mut history = ctx.history.clone();
            history.strikes.extend(strike.clone());
            escalation = Some(self.escalation(&history, ctx.now));
        }

        let masked_text = (action == Action::Mask).then(|| {
            let fs: Vec<Finding> = masked_findings
                .iter()
                .map(|(ri, f)| {
                    let mut f = (*f).clone();
                    f.category = reasons[*ri].category;
                    f
                })
                .collect();
            parley_detect::mask(text, &fs, |f| {
                self.texts
                    .masks
                    .get(&f.category)
                    .cloned()
                    .unwrap_or_else(|| format!("[{} hidden]", f.category))
            })
        });

        // Nothing is shared when the text is blocked: nothing to record.
        if action == Action::Block {
            recorded.clear();
        }
        let mut d = Decision {
            surface,
            action,
            violation,
            automated: action != Action::HoldForReview,
            masked_text,
            reasons,
            explanation: String::new(),
            recipient_notice: None,
            recorded_exceptions: recorded,
            strike,
            escalation,
        };
        d.explanation = self.explain_sender(&d, ctx);
        d.recipient_notice = self.explain_recipient(&d, ctx);
        d
    }

    fn fill(&self, template: &str, ctx: &Context, d: &Decision, r: Option<&Reason>) -> String {
        render(template, |name| {
            Some(match name {
                "surface" => human(ctx.surface.as_str()),
                "action" => human(d.action.as_str()),
                "system" => match &ctx.purpose {
                    Some(Purpose::ScopingAccess { system }) => system.clone(),
                    _ => String::new(),
                },
                "points" => d.escalation.as_ref().map_or(0, |e| e.points).to_string(),
                "level" => d
                    .escalation
                    .as_ref()
                    .map_or("none", |e| e.level.as_str())
                    .to_string(),
                "until" => d
                    .escalation
                    .as_ref()
                    .and_then(|e| e.restricted_until)
                    .map_or(String::new(), |u| u.to_string()),
                _ => {
                    let r = r?;
                    match name {
                        "category" => r.category.to_string(),
                        "label" => self
                            .texts
                            .labels
                            .get(&r.category)
                            .cloned()
                            .unwrap_or_else(|| r.category.to_string()),
                        "rule" => r.rule_text.clone(),
                        "matched" => r.matched.clone(),
                        "kind" => r.kind.map(|k| human(k.as_str())).unwrap_or_default(),
                        "tier" => r.tier.to_string(),
                        _ => return None,
                    }
                }
            })
        })
    }

    fn explain_sender(&self, d: &Decision, ctx: &Context) -> String {
        let mut lines: Vec<String> = Vec::new();
        let t = &self.texts;
        if d.action != Action::Allow {
            lines.push(self.fill(t.sender(d.action.as_str()), ctx, d, None));
        }
        let mut shown: Vec<(usize, usize)> = Vec::new();
        for r in &d.reasons {
            // One line per piece of evidence, even when several findings
            // (a link and the handle read from it) cover the same words.
            if r.exception.is_none()
                && r.action != Action::Allow
                && !shown.contains(&(r.start, r.end))
            {
                shown.push((r.start, r.end));
                lines.push(self.fill(t.sender("finding"), ctx, d, Some(r)));
            }
        }
        for r in d.reasons.iter().filter(|_| d.action != Action::Block) {
            let key = match r.exception {
                Some(ExceptionKind::ScopingAccess) => "scoping_access",
                Some(ExceptionKind::LegalDocument) => "legal_document",
                _ => continue,
            };
            lines.push(self.fill(t.sender(key), ctx, d, Some(r)));
        }
        if d.violation {
            lines.push(self.fill(t.sender("help"), ctx, d, None));
            if let Some(e) = &d.escalation {
                if e.restricted_until.is_some_and(|u| u > ctx.now) {
                    lines.push(self.fill(t.sender("restricted"), ctx, d, None));
                } else if e.level >= EscalationLevel::Notice {
                    lines.push(self.fill(t.sender("warning"), ctx, d, None));
                }
            }
        }
        lines.retain(|l| !l.trim().is_empty());
        lines.join("\n")
    }

    fn explain_recipient(&self, d: &Decision, ctx: &Context) -> Option<String> {
        if matches!(d.action, Action::Block | Action::HoldForReview) {
            return None;
        }
        let t = &self.texts;
        let mut lines: Vec<String> = Vec::new();
        if d.action == Action::Mask {
            lines.push(self.fill(t.recipient("masked"), ctx, d, None));
        }
        let mut notice = false;
        for r in &d.reasons {
            match (r.exception, r.action) {
                (Some(ExceptionKind::Portfolio), Action::AllowWithNotice | Action::Mask) => {
                    lines.push(self.fill(t.recipient("portfolio"), ctx, d, Some(r)))
                }
                (None, Action::AllowWithNotice) => notice = true,
                _ => {}
            }
        }
        if notice && d.action == Action::AllowWithNotice {
            lines.push(self.fill(t.recipient("notice"), ctx, d, None));
        }
        if let Some(r) = d
            .reasons
            .iter()
            .find(|r| r.exception == Some(ExceptionKind::ScopingAccess))
        {
            lines.push(self.fill(t.recipient("scoping_access"), ctx, d, Some(r)));
        }
        if d.reasons
            .iter()
            .any(|r| r.exception == Some(ExceptionKind::LegalDocument))
        {
            lines.push(self.fill(t.recipient("legal_document"), ctx, d, None));
        }
        lines.retain(|l| !l.trim().is_empty());
        lines.dedup();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    /// The strike a decision gives its sender at time `at`, if any: violating
    /// decisions on a surface listed in `[escalation] surfaces` give the weight
    /// the policy sets for their action.
    ///
    /// ```
    /// use parley_detect::{Category, Finding};
    /// use parley_policy::{Context, Policy, Surface};
    ///
    /// let policy = Policy::default();
    /// let text = "call me on +1 312 555 0148";
    /// let phone = Finding {
    ///     category: Category::Phone, kind: None, start: 11, end: 26,
    ///     matched: "+1 312 555 0148".into(), normalized: Some("+13125550148".into()),
    ///     confidence: 0.95, rule: "phone.e164".into(),
    /// };
    /// let message = policy.decide(text, &[phone.clone()], &Context::new(Surface::Message));
    /// assert_eq!(policy.strike_for(&message, 7).map(|s| s.weight), Some(2));
    /// // By default only messages give strikes: a blocked profile text does not.
    /// let profile = policy.decide(text, &[phone], &Context::new(Surface::Profile));
    /// assert!(profile.violation);
    /// assert_eq!(policy.strike_for(&profile, 7), None);
    /// ```
    pub fn strike_for(&self, decision: &Decision, at: UnixSeconds) -> Option<Strike> {
        if !decision.violation || !self.escalation.gives_strikes(decision.surface) {
            return None;
        }
        let weight = self
            .escalation
            .weights
            .get(&decision.action)
            .copied()
            .unwrap_or(0);
        (weight > 0).then(|| {
            let mut categories: Vec<String> = decision
                .reasons
                .iter()
                .filter(|r| r.action.is_violation())
                .map(|r| r.category.to_string())
                .collect();
            categories.sort();
            categories.dedup();
            Strike {
                at,
                weight,
                categories,
            }
        })
    }

    /// The strike for a held text a reviewer has confirmed as a violation:
    /// it weighs as a block. `None` if the decision was not held, or was on a
    /// surface that gives no strikes.
    pub fn strike_on_review(&self, decision: &Decision, at: UnixSeconds) -> Option<Strike> {
        if decision.action != Action::HoldForReview {
            return None;
        }
        let blocked = Decision {
            action: Action::Block,
            ..decision.clone()
        };
        self.strike_for(&blocked, at)
    }

    /// The sender's escalation at `now`: strikes count while no clean period
    /// (`clean_period_days` without a new strike) has passed since the
    /// previous one; a clean period clears everything before it.
    ///
    /// ```
    /// use parley_policy::{EscalationLevel, History, Policy, Strike};
    ///
    /// let policy = Policy::default();
    /// let day = 86_400;
    /// let strike = |at| Strike { at, weight: 2, categories: vec!["phone".into()] };
    /// let history = History { strikes: vec![strike(0), strike(day), strike(2 * day)], restricted_until: None };
    /// let now = policy.escalation(&history, 2 * day);
    /// assert_eq!(now.points, 6);
    /// assert_eq!(now.level, EscalationLevel::Restrict);
    /// assert_eq!(now.restricted_until, Some(2 * day + 24 * 3600));
    /// // After the clean period (30 days by default) everything has expired.
    /// assert_eq!(policy.escalation(&history, 40 * day).level, EscalationLevel::None);
    /// ```
    pub fn escalation(&self, history: &History, now: UnixSeconds) -> Escalation {
        let clean = i64::from(self.escalation.clean_period_days).saturating_mul(86_400);
        // Strikes stamped after `now` (clock skew between servers) count as recent.
        let mut strikes: Vec<&Strike> = history.strikes.iter().collect();
        strikes.sort_by_key(|s| s.at);
        let mut start = 0;
        for i in 1..strikes.len() {
            if strikes[i].at.saturating_sub(strikes[i - 1].at) > clean {
                start = i;
            }
        }
        let mut active = &strikes[start..];
        let last = active.last().map(|s| s.at);
        if last.is_some_and(|l| now.saturating_sub(l) > clean) {
            active = &[];
        }
        let points: u32 = active.iter().map(|s| s.weight).fold(0, u32::saturating_add);
        let e = &self.escalation;
        let reached = |threshold: u32| threshold > 0 && points >= threshold;
        let level = if reached(e.suspend) {
            EscalationLevel::Suspend
        } else if reached(e.restrict) {
            EscalationLevel::Restrict
        } else if reached(e.block) {
            EscalationLevel::Block
        } else if reached(e.notice) {
            EscalationLevel::Notice
        } else {
            EscalationLevel::None
        };
        let mut restricted_until = history.restricted_until.filter(|u| *u > now);
        if level >= EscalationLevel::Restrict {
            if let Some(l) = active.last().map(|s| s.at) {
                let until = l.saturating_add(i64::from(e.restriction_hours).saturating_mul(3600));
                if until > now {
                    restricted_until = Some(restricted_until.map_or(until, |r| r.max(until)));
                }
            }
        }
        Escalation {
            level,
            points,
            active_strikes: active.len(),
            strikes_expire_at: active.last().map(|s| s.at.saturating_add(clean)),
            restricted_until,
            recommend_suspension: level >= EscalationLevel::Suspend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::context::Plan;

    fn find(
        text: &str,
        needle: &str,
        category: Category,
        kind: Option<LinkKind>,
        conf: f32,
    ) -> Finding {
        let start = text.find(needle).expect("needle in text");
        Finding {
            category,
            kind,
            start,
            end: start + needle.len(),
            matched: needle.to_string(),
            normalized: None,
            confidence: conf,
            rule: format!("test.{category}"),
        }
    }

    fn msg() -> Context {
        Context::new(Surface::Message).plan("basic")
    }

    #[test]
    fn tiers_pick_the_action() {
        let p = Policy::default();
        let t = "call 312 555 0148 now";
        let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
        let high = p.decide(t, &f(0.95), &msg());
        assert_eq!(high.action, Action::Block);
        assert!(high.violation && high.automated);
        assert_eq!(high.reasons.len(), 1);
        assert_eq!(high.reasons[0].rule, "pre_contract.phone");
        assert!(
            high.explanation
                .contains("\"312 555 0148\" looks like a phone number"),
            "{}",
            high.explanation
        );
        assert!(
            high.explanation.contains("What you may do"),
            "{}",
            high.explanation
        );
        assert_eq!(high.recipient_notice, None);
        let medium = p.decide(t, &f(0.6), &msg());
        assert_eq!(medium.action, Action::Mask);
        assert_eq!(
            medium.masked_text.as_deref(),
            Some("call [phone hidden] now")
        );
        assert!(medium.recipient_notice.is_some());
        let low = p.decide(t, &f(0.2), &msg());
        assert_eq!(low.action, Action::Allow);
        assert!(!low.violation);
        assert_eq!(low.reasons.len(), 1, "low findings are logged");
        assert_eq!(low.explanation, "");
        let on_profile = p.decide(t, &f(0.6), &Context::new(Surface::Profile));
        assert_eq!(on_profile.action, Action::HoldForReview);
        assert!(!on_profile.automated);
        assert_eq!(on_profile.strike, None, "a hold gives no strike by itself");
        // A confirmed hold weighs as a block, on a surface that gives strikes
        // (by default profiles do not).
        assert_eq!(p.strike_on_review(&on_profile, 7), None);
        let counting =
            Policy::from_toml_str("[escalation]\nsurfaces = [\"message\", \"profile\"]\n").unwrap();
        let s = counting.strike_on_review(&on_profile, 7).unwrap();
        assert_eq!((s.at, s.weight), (7, 2));
        assert_eq!(p.strike_on_review(&high, 7), None);
    }

    #[test]
    fn contracts_and_plans_lift_the_rule() {
        let p = Policy::default();
        let t = "call 312 555 0148 now";
        let f = vec![find(t, "312 555 0148", Category::Phone, None, 0.95)];
        for stage in [Stage::ActiveContract, Stage::EndedContract] {
            let d = p.decide(t, &f, &msg().stage(stage));
            assert_eq!(d.action, Action::Allow);
            assert!(d.reasons[0].exception.is_some());
            // A profile is always pre-contract.
            let d = p.decide(t, &f, &Context::new(Surface::Profile).stage(stage));
            assert_eq!(d.action, Action::Block);
        }
        let d = p.decide(t, &f, &msg().plan("Enterprise"));
        assert_eq!(d.action, Action::Allow);
        assert_eq!(d.reasons[0].exception, Some(ExceptionKind::ExemptPlan));
        let d = p.decide(t, &f, &Context::new(Surface::JobPost).plan("business"));
        assert_eq!(d.action, Action::Allow);
        let d = p.decide(t, &f, &Context::new(Surface::Profile).plan("business"));
        assert_eq!(d.action, Action::Block);
        let mut ctx = msg();
        ctx.plan = Plan::new("unknown-plan");
        assert_eq!(p.decide(t, &f, &ctx).action, Action::Block);
    }

    #[test]
    fn scoping_access_lets_only_the_email_through() {
        let p = Policy::default();
        let t = "add me to the repo: ann@corp.io, or call 312 555 0148";
        let email = find(t, "ann@corp.io", Category::Email, None, 0.99);
        let phone = find(t, "312 555 0148", Category::Phone, None, 0.95);
        let ctx = msg().purpose(Purpose::ScopingAccess {
            system: "GitHub".into(),
        });
        let d = p.decide(t, std::slice::from_ref(&email), &ctx);
        assert_eq!(d.action, Action::Allow);
        assert_eq!(d.recorded_exceptions.len(), 1);
        assert_eq!(d.recorded_exceptions[0].system.as_deref(), Some("GitHub"));
        assert!(d.explanation.contains("GitHub"), "{}", d.explanation);
        assert!(d
            .recipient_notice
            .as_deref()
            .unwrap_or("")
            .contains("GitHub"));
        let d = p.decide(t, &[email, phone], &ctx);
        assert_eq!(d.action, Action::Block);
        assert!(
            d.recorded_exceptions.is_empty(),
            "nothing shared when blocked"
        );
        assert!(!d.explanation.contains("ann@corp.io"), "{}", d.explanation);
        assert!(d.explanation.contains("312 555 0148"));
        // A legal-document purpose does nothing outside attachments.
        let d = p.decide(
            t,
            &[find(t, "ann@corp.io", Category::Email, None, 0.99)],
            &msg().purpose(Purpose::LegalDocument),
        );
        assert_eq!(d.action, Action::Block);
    }

    #[test]
    fn attachments_are_never_masked() {
        let p = Policy::from_toml_str("[actions.\"*\"]\nphone = \"mask\"\n").unwrap();
        let t = "call 312 555 0148 now";
        let f = vec![find(t, "312 555 0148", Category::Phone, None, 0.95)];
        assert_eq!(p.decide(t, &f, &msg()).action, Action::Mask);
        let d = p.decide(t, &f, &Context::new(Surface::Attachment));
        assert_eq!(d.action, Action::HoldForReview);
        assert_eq!(d.masked_text, None);
    }

    #[test]
    fn legal_document_attachment() {
        let p = Policy::default();
        let t = "NDA between Acme (legal@acme.io, +1 312 555 0148) and the contractor";
        let fs = vec![
            find(t, "legal@acme.io", Category::Email, None, 0.99),
            find(t, "+1 312 555 0148", Category::Phone, None, 0.99),
        ];
        let ctx = Context::new(Surface::Attachment).purpose(Purpose::LegalDocument);
        let d = p.decide(t, &fs, &ctx);
        assert_eq!(d.action, Action::Allow);
        assert_eq!(d.recorded_exceptions.len(), 2);
        let d = p.decide(t, &fs, &Context::new(Surface::Attachment));
        assert_eq!(d.action, Action::Block);
    }

    #[test]
    fn links() {
        let p = Policy::default();
        let t = "files: https://drive.example.net/x portfolio: https://behance.net/ann meet: https://zoom.us/j/1";
        let share = find(
            t,
            "https://drive.example.net/x",
            Category::Link,
            Some(LinkKind::FileShare),
            0.9,
        );
        let folio = find(
            t,
            "https://behance.net/ann",
            Category::Link,
            Some(LinkKind::Portfolio),
            0.9,
        );
        let meet = find(
            t,
            "https://zoom.us/j/1",
            Category::Link,
            Some(LinkKind::Meeting),
            0.9,
        );
        let d = p.decide(t, std::slice::from_ref(&share), &msg());
        assert_eq!(d.action, Action::Allow);
        assert!(d.reasons.is_empty());
        let d = p.decide(
            t,
            std::slice::from_ref(&folio),
            &Context::new(Surface::Proposal),
        );
        assert_eq!(d.action, Action::AllowWithNotice);
        assert!(!d.violation);
        assert!(d
            .recipient_notice
            .as_deref()
            .unwrap_or("")
            .contains("behance.net/ann"));
        let d = p.decide(t, &[share, folio, meet], &Context::new(Surface::Proposal));
        assert_eq!(d.action, Action::Block);
        assert_eq!(d.reasons.len(), 2);
        assert_eq!(d.reasons[1].rule, "pre_contract.link.meeting");

        let strict = Policy::from_toml_str(
            "[links]\nportfolio_elsewhere = \"block\"\n[links.blocked_domains]\nmessaging = [\"example.net\"]\n",
        )
        .unwrap();
        let t2 = "see https://behance.net/ann";
        let folio = find(
            t2,
            "https://behance.net/ann",
            Category::Link,
            Some(LinkKind::Portfolio),
            0.9,
        );
        let d = strict.decide(t2, std::slice::from_ref(&folio), &msg());
        assert_eq!(d.action, Action::Block);
        assert!(
            d.explanation.contains("behance.net/ann"),
            "{}",
            d.explanation
        );
        assert_eq!(
            strict
                .decide(t2, &[folio], &Context::new(Surface::Proposal))
                .action,
            Action::AllowWithNotice
        );
        let t3 = "files: https://drive.example.net/x";
        let share = find(
            t3,
            "https://drive.example.net/x",
            Category::Link,
            Some(LinkKind::FileShare),
            0.9,
        );
        let d = strict.decide(t3, &[share], &msg());
        assert_eq!(d.action, Action::Block);
        assert_eq!(d.reasons[0].kind, Some(LinkKind::Messaging));
    }

    #[test]
    fn profile_link_and_its_handle() {
        let t = "see https://linkedin.com/in/ann-k please";
        let url = "https://linkedin.com/in/ann-k";
        let fs = vec![
            find(t, url, Category::Handle, Some(LinkKind::Social), 0.9),
            find(t, url, Category::Link, Some(LinkKind::Social), 0.95),
        ];
        let d = Policy::default().decide(t, &fs, &msg());
        assert_eq!(d.action, Action::Block);
        assert_eq!(d.reasons.len(), 2);
        assert_eq!(d.explanation.matches(url).count(), 1, "{}", d.explanation);
        let open = Policy::from_toml_str("[links]\nallowed_kinds = [\"file_share\", \"social\"]\n")
            .unwrap();
        let d = open.decide(t, &fs, &msg());
        assert_eq!(d.action, Action::Allow);
        assert!(d.reasons.is_empty());
    }

    #[test]
    fn requests_remind_at_medium_confidence() {
        let p = Policy::default();
        let t = "what is your whatsapp?";
        let f = |c| vec![find(t, "what is your whatsapp", Category::Request, None, c)];
        let d = p.decide(t, &f(0.6), &msg());
        assert_eq!(d.action, Action::AllowWithNotice);
        assert!(!d.violation);
        assert!(d.recipient_notice.is_some());
        assert!(!d.explanation.is_empty());
        assert_eq!(p.decide(t, &f(0.9), &msg()).action, Action::Block);
    }

    #[test]
    fn escalation_raises_and_expires() {
        let p = Policy::default();
        let day = 86_400;
        let t = "call 312 555 0148 now";
        let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
        // First medium violation: masked, one strike point, notice level.
        let d = p.decide(t, &f(0.6), &msg().now(10 * day));
        assert_eq!(d.action, Action::Mask);
        let s = d.strike.clone().unwrap();
        assert_eq!((s.at, s.weight), (10 * day, 1));
        assert_eq!(
            d.escalation.as_ref().unwrap().level,
            EscalationLevel::Notice
        );
        assert_eq!(p.strike_for(&d, 10 * day), Some(s.clone()));
        assert!(
            d.explanation.contains("Strike points: 1"),
            "{}",
            d.explanation
        );
        // With 3 points already, masking becomes blocking.
        let hist = History {
            strikes: vec![
                Strike {
                    at: 8 * day,
                    weight: 2,
                    categories: vec![],
                },
                s.clone(),
            ],
            restricted_until: None,
        };
        let d = p.decide(t, &f(0.6), &msg().history(hist.clone()).now(11 * day));
        assert_eq!(d.action, Action::Block);
        let e = d.escalation.unwrap();
        assert_eq!(e.points, 5);
        assert_eq!(e.level, EscalationLevel::Block);
        // After a clean period the strikes are gone.
        let d = p.decide(t, &f(0.6), &msg().history(hist.clone()).now(60 * day));
        assert_eq!(d.action, Action::Mask);
        assert_eq!(d.escalation.unwrap().points, 1);
        // Enough points: restriction, then suspension recommended.
        let many = History {
            strikes: (0..5)
                .map(|i| Strike {
                    at: i * day,
                    weight: 2,
                    categories: vec![],
                })
                .collect(),
            restricted_until: None,
        };
        let e = p.escalation(&many, 4 * day);
        assert_eq!(e.level, EscalationLevel::Suspend);
        assert!(e.recommend_suspension);
        assert_eq!(e.restricted_until, Some(4 * day + 24 * 3600));
        let e = p.escalation(&many, 4 * day + 25 * 3600);
        assert_eq!(e.restricted_until, None);
        assert_eq!(p.escalation(&History::default(), 0), Escalation::default());
        // Clean texts give no strike and no escalation.
        let d = p.decide("hello", &[], &msg().history(many));
        assert_eq!(
            (d.action, d.strike, d.escalation),
            (Action::Allow, None, None)
        );
    }

    #[test]
    fn strikes_only_on_the_policys_surfaces() {
        let day = 86_400;
        let t = "call 312 555 0148 now";
        let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
        // Enough points to raise masking to blocking, and a restriction in force.
        let hist = History {
            strikes: vec![Strike {
                at: 9 * day,
                weight: 4,
                categories: vec![],
            }],
            restricted_until: Some(11 * day),
        };
        let masking = Policy::from_toml_str("[actions.\"*\"]\nphone = \"mask\"\n").unwrap();
        assert_eq!(masking.escalation.surfaces, [Surface::Message]);
        for surface in [
            Surface::Profile,
            Surface::JobPost,
            Surface::Proposal,
            Surface::Invite,
        ] {
            let ctx = Context::new(surface).history(hist.clone()).now(10 * day);
            // Blocked: no strike, no escalation, no strike points quoted.
            let d = Policy::default().decide(t, &f(0.95), &ctx);
            assert_eq!(d.action, Action::Block);
            assert!(d.violation);
            assert_eq!((&d.strike, &d.escalation), (&None, &None), "{surface}");
            assert_eq!(Policy::default().strike_for(&d, 10 * day), None);
            assert!(
                !d.explanation.contains("Strike points"),
                "{}",
                d.explanation
            );
            assert!(!d.explanation.contains("restricted"), "{}", d.explanation);
            // Masked: the sender's history does not raise it to a block.
            let d = masking.decide(t, &f(0.95), &ctx);
            assert_eq!(d.action, Action::Mask, "{surface}");
            assert_eq!(d.strike, None);
        }
        // A message with the same history: raised, struck, warned.
        let ctx = msg().history(hist.clone()).now(10 * day);
        let d = masking.decide(t, &f(0.95), &ctx);
        assert_eq!(d.action, Action::Block);
        assert_eq!(d.strike.as_ref().map(|s| s.weight), Some(2));
        assert!(d.escalation.is_some());
        // A held profile text confirmed by a reviewer gives no strike either.
        let held = Policy::default().decide(t, &f(0.6), &Context::new(Surface::Profile));
        assert_eq!(held.action, Action::HoldForReview);
        assert_eq!(Policy::default().strike_on_review(&held, 7), None);

        // An operator who counts profiles too.
        let p =
            Policy::from_toml_str("[escalation]\nsurfaces = [\"message\", \"profile\"]\n").unwrap();
        let d = p.decide(t, &f(0.95), &Context::new(Surface::Profile).now(10 * day));
        assert_eq!(d.strike.as_ref().map(|s| s.weight), Some(2));
        assert!(
            d.explanation.contains("Strike points: 2"),
            "{}",
            d.explanation
        );
        let s = p.strike_on_review(&held, 7).unwrap();
        assert_eq!(s.weight, 2);
        let d = p.decide(t, &f(0.95), &Context::new(Surface::Proposal).now(10 * day));
        assert_eq!((d.action, d.strike), (Action::Block, None));
        // And one who counts none: messages give no strikes either.
        let none = Policy::from_toml_str("[escalation]\nsurfaces = []\n").unwrap();
        let d = none.decide(t, &f(0.95), &msg().history(hist).now(10 * day));
        assert_eq!(
            (d.action, d.strike, d.escalation),
            (Action::Block, None, None)
        );
        // A decision stored before it carried its surface reads back as a message.
        let json = serde_json::json!({
            "action": "block", "violation": true, "automated": true,
            "reasons": [], "explanation": "x"
        });
        let old: Decision = serde_json::from_value(json).unwrap();
        assert_eq!(old.surface, Surface::Message);
    }

    #[test]
    fn bad_spans_are_ignored() {
        let p = Policy::default();
        let t = "héllo";
        let bad = Finding {
            category: Category::Phone,
            kind: None,
            start: 2,
            end: 40,
            matched: "x".into(),
            normalized: None,
            confidence: 1.0,
            rule: "x".into(),
        };
        let d = p.decide(t, &[bad], &msg());
        assert_eq!(d.action, Action::Allow);
    }

    #[test]
    fn decision_serializes() {
        let p = Policy::default();
        let t = "call 312 555 0148 now";
        let d = p.decide(
            t,
            &[find(t, "312 555 0148", Category::Phone, None, 0.6)],
            &msg(),
        );
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains("\"action\":\"mask\""), "{json}");
        let back: Decision = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://Chat.Example.com:443/x?y"),
            "chat.example.com"
        );
        assert_eq!(host_of("chat.example.com/abc"), "chat.example.com");
        assert!(domain_matches("a.chat.example.com", "chat.example.com"));
        assert!(!domain_matches("xchat.example.com", "chat.example.com"));
    }
}
