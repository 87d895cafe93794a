//! Applying the detector and the policy to what a user writes: one decision per recipient
//! (the strictest wins), completed by the sender's history and, for messages, by the
//! sender's recent messages (see [`crate::domain::split`]).

use crate::cache::SendContext;
use crate::domain::error::{DomainError, DomainResult, Violation};
use crate::window::Split;
use crate::AppState;
use parley_policy::{Action, Context, Decision, History, Purpose, Stage, Surface};
use parley_store::{DecisionInput, MemberStage, Role, StoreError};
use serde_json::{json, Value};
use std::sync::Arc;

/// A decision with the context it was made in.
pub struct Checked {
    pub decision: Decision,
    pub stage: Stage,
    pub plan: String,
    /// Set when the decision was completed by the sender's earlier messages (see
    /// [`crate::window`]).
    pub split: Option<Split>,
}

impl Checked {
    pub fn action(&self) -> Action {
        self.decision.action
    }
    /// What recipients see when delivered.
    pub fn delivered(&self, text: &str) -> String {
        match self.decision.action {
            Action::Mask => self
                .decision
                .masked_text
                .clone()
                .unwrap_or_else(|| text.to_string()),
            _ => text.to_string(),
        }
    }
    pub fn record_json(&self) -> Value {
        let mut v = json!({
            "decision": self.decision,
            "stage": self.stage.as_str(),
            "plan": self.plan,
        });
        if let Some(split) = &self.split {
            split.annotate(&mut v["decision"]["reasons"], None);
            v["split_message_ids"] = json!(split.message_ids());
        }
        v
    }
    /// The findings as the API shows them (with `message_ids` when split; `this`: the id of
    /// the decided message once stored).
    pub fn findings_json(&self, this: Option<i64>) -> Value {
        let mut f = json!(self.decision.reasons);
        if let Some(split) = &self.split {
            split.annotate(&mut f, this);
        }
        f
    }
    pub fn input(&self, surface: &str) -> DecisionInput {
        DecisionInput {
            surface: surface.into(),
            action: self.decision.action.as_str().into(),
            automated: self.decision.automated,
            decision: self.record_json(),
        }
    }
    /// The refusal of a blocked (or held) text.
    pub fn violation_error(&self) -> DomainError {
        DomainError::PolicyViolation(Box::new(Violation {
            action: self.decision.action.as_str().to_string(),
            findings: self.findings_json(None),
            explanation: self.decision.explanation.clone(),
        }))
    }
    /// The decision as its author sees it (`this`: the decided message's id once stored).
    pub fn summary(&self, this: Option<i64>) -> crate::domain::views::DecisionSummary {
        crate::domain::views::DecisionSummary {
            action: json!(self.decision.action.as_str()),
            violation: json!(self.decision.violation),
            explanation: json!(self.decision.explanation),
            findings: self.findings_json(this),
            recipient_notice: json!(self.decision.recipient_notice),
            stage: json!(self.stage.as_str()),
        }
    }
}

fn policy_stage(s: parley_store::Stage) -> Stage {
    match s {
        parley_store::Stage::PreContract => Stage::PreContract,
        parley_store::Stage::EndedContract => Stage::EndedContract,
        parley_store::Stage::ActiveContract => Stage::ActiveContract,
    }
}

/// Parses a declared purpose (`scoping_access:GitHub`, `legal_document`).
pub fn parse_purpose(p: Option<&str>) -> DomainResult<Option<Purpose>> {
    match p.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<Purpose>()
            .map(Some)
            .map_err(|e| DomainError::invalid(e.to_string())),
    }
}

impl AppState {
    /// Plan of an organisation ("" when none or unknown).
    pub async fn plan_of(&self, org_id: Option<&str>) -> DomainResult<String> {
        let Some(org) = org_id else {
            return Ok(String::new());
        };
        match self.store().get_org(org).await {
            Ok(o) => Ok(o.plan),
            Err(StoreError::NotFound(_)) => Ok(String::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs detector + policy on one text.
    pub fn decide(
        &self,
        text: &str,
        surface: Surface,
        stage: Stage,
        plan: &str,
        purpose: Option<Purpose>,
    ) -> Checked {
        self.decide_with(text, surface, stage, plan, purpose, History::default())
    }

    /// The policy on one text whose findings are known.
    pub fn decide_findings(
        &self,
        text: &str,
        findings: &[parley_detect::Finding],
        surface: Surface,
        stage: Stage,
        plan: &str,
        purpose: Option<Purpose>,
    ) -> Checked {
        let ctx = self.policy_context(surface, stage, plan, purpose);
        self.decide_in(text, findings, &ctx)
    }

    /// The policy context of a text at the server's time (no enforcement history).
    fn policy_context(
        &self,
        surface: Surface,
        stage: Stage,
        plan: &str,
        purpose: Option<Purpose>,
    ) -> Context {
        let ctx = Context::new(surface)
            .stage(stage)
            .plan(plan)
            .now(self.now_ms().div_euclid(1000));
        match purpose {
            Some(p) => ctx.purpose(p),
            None => ctx,
        }
    }

    /// [`AppState::decide`] for an author with an enforcement history.
    pub fn decide_with(
        &self,
        text: &str,
        surface: Surface,
        stage: Stage,
        plan: &str,
        purpose: Option<Purpose>,
        history: History,
    ) -> Checked {
        let findings = self.inner.detector.scan(text);
        let ctx = self
            .policy_context(surface, stage, plan, purpose)
            .history(history);
        self.decide_in(text, &findings, &ctx)
    }

    /// The policy on one text in a full context (e.g. with the sender's history: strikes raise
    /// masking to blocking and lead to restrictions, through the policy's escalation rules).
    pub fn decide_in(
        &self,
        text: &str,
        findings: &[parley_detect::Finding],
        ctx: &Context,
    ) -> Checked {
        Checked {
            decision: self.inner.policy.decide(text, findings, ctx),
            stage: ctx.stage,
            plan: ctx.plan.to_string(),
            split: None,
        }
    }

    /// A message from `sender` in a conversation: one decision per recipient (the stage between
    /// them and the client organisation's plan), the strictest wins. NotFound unless a member.
    pub async fn decide_message(
        &self,
        conversation_id: &str,
        sender: &str,
        text: &str,
        purpose: Option<Purpose>,
    ) -> DomainResult<Checked> {
        let findings = self.inner.detector.scan(text);
        self.decide_message_findings(conversation_id, sender, text, &findings, purpose)
            .await
    }

    /// [`AppState::decide_message`] with the findings known.
    pub async fn decide_message_findings(
        &self,
        conversation_id: &str,
        sender: &str,
        text: &str,
        findings: &[parley_detect::Finding],
        purpose: Option<Purpose>,
    ) -> DomainResult<Checked> {
        let ctx = self.send_context(conversation_id, sender).await?;
        let mut worst: Option<Checked> = None;
        for (stage, plan) in &ctx.pairs {
            let c = self.decide_findings(
                text,
                findings,
                Surface::Message,
                *stage,
                plan,
                purpose.clone(),
            );
            let stricter = match &worst {
                None => true,
                Some(w) => c.action() > w.action(),
            };
            if stricter {
                worst = Some(c);
            }
        }
        // Alone in the conversation: nobody to protect, but still checked as pre-contract.
        let worst = match worst {
            Some(w) => w,
            None => self.decide_findings(
                text,
                findings,
                Surface::Message,
                Stage::PreContract,
                &ctx.own_plan,
                purpose.clone(),
            ),
        };
        // The sender's history only changes violating decisions (masking raised to blocking,
        // the strike and escalation), the same way for every recipient: the strictest context
        // is decided again, and only for senders who have a history (clean posts read nothing).
        if !worst.decision.violation {
            return Ok(worst);
        }
        let history = crate::domain::standing::history_of(self, sender).await?;
        if history == History::default() {
            return Ok(worst);
        }
        let with_history = self
            .policy_context(Surface::Message, worst.stage, &worst.plan, purpose)
            .history(history);
        Ok(self.decide_in(text, findings, &with_history))
    }

    /// The members, stages and plans `sender`'s messages in a conversation are decided with:
    /// cached (see [`crate::cache`]), read from the store on a miss. NotFound unless a member.
    pub async fn send_context(
        &self,
        conversation_id: &str,
        sender: &str,
    ) -> DomainResult<Arc<SendContext>> {
        let ticket = match self.inner.caches.context(conversation_id, sender) {
            Ok(c) => return Ok(c),
            Err(t) => t,
        };
        let members = self.store().member_stages(conversation_id, sender).await?;
        let me = self.store().get_user(sender).await?;
        let mut pairs = Vec::with_capacity(members.len());
        for m in &members {
            pairs.push(self.pair_context(&me, m).await?);
        }
        let own_plan = self.plan_of(me.org_id.as_deref()).await?;
        let mut all: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
        all.push(sender.to_string());
        all.sort();
        let ctx = Arc::new(SendContext {
            members: all,
            pairs,
            own_plan,
        });
        self.inner
            .caches
            .put_context(ticket, conversation_id, sender, ctx.clone());
        Ok(ctx)
    }

    /// The stage and plan between a sender and one recipient. Colleagues of one organisation
    /// are not a client/freelancer pair: the rule does not apply between them.
    async fn pair_context(
        &self,
        sender: &parley_store::User,
        m: &MemberStage,
    ) -> DomainResult<(Stage, String)> {
        if m.same_org {
            let plan = self.plan_of(sender.org_id.as_deref()).await?;
            return Ok((Stage::ActiveContract, plan));
        }
        // The client organisation of the pair: the sender's if the sender acts as a client
        // (has an org and the recipient is a freelancer or has no org), else the recipient's.
        let sender_is_client = sender.org_id.is_some()
            && (sender.has_role(Role::Client) || !sender.has_role(Role::Freelancer))
            && (m.org_id.is_none() || m.roles.contains(&Role::Freelancer));
        let client_org = if sender_is_client {
            sender.org_id.as_deref()
        } else {
            m.org_id.as_deref().or(sender.org_id.as_deref())
        };
        let plan = self.plan_of(client_org).await?;
        Ok((policy_stage(m.stage), plan))
    }
}
