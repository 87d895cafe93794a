//! [`Policy::decide`]: findings + context → a [`Decision`] that explains itself.

use crate::context::{Context, Purpose, Stage, Surface};
use crate::decision::EscalationLevel;
use crate::decision::*;
use crate::model::{render, Action, Policy};
use parley_detect::{Category, Finding, LinkKind};

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
        // A scheduler link (Calendly and the like) that was not let through: the platform
        // schedules interviews itself.
        if d.reasons.iter().any(|r| {
            r.exception.is_none()
                && r.kind == Some(LinkKind::Scheduler)
                && matches!(
                    r.action,
                    Action::Block | Action::Mask | Action::HoldForReview
                )
        }) {
            lines.push(self.fill(t.sender("scheduler"), ctx, d, None));
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
}

#[cfg(test)]
mod tests;
