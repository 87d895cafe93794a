//! Strikes and escalation: what a decision costs its sender, and how far repeated violations
//! have escalated.

use crate::context::{History, Strike, UnixSeconds};
use crate::decision::{Decision, Escalation, EscalationLevel};
use crate::model::{Action, Policy};

impl Policy {
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
