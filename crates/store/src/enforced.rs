//! Automated decisions committed together with their enforcements: a masked message and the
//! enforcement of its mask, a blocked message's decision and the enforcement of its block.
//! One transaction each, so that a failure part-way leaves nothing of the operation behind
//! (no message without its strike, no strike without its message).
//!
//! The caller drafts the enforcements ([`NewEnforcement`], with their strikes and any
//! restriction the escalation reaches) before the decision exists; the store completes each
//! draft with the ids the same transaction creates (see [`Store::post_message_enforced`]).

use serde::Serialize;

use crate::decisions::check_new_decision;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::post::{check_new_message, post_message_pg};
use crate::safety::{
    check_enforcement, enforcement_event_data, enforcement_of, fill_draft, Enforcement,
    NewEnforcement,
};
use crate::sql::BeginWrite;
use crate::{Backend, Store};

/// The outcome of [`Store::post_message_enforced`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostedEnforced {
    pub posted: Posted,
    /// The enforcements stored with the message, in the order of the drafts; empty on a retry
    /// (`posted.created == false`: they were stored with the first post).
    pub enforcements: Vec<Enforcement>,
}

/// The outcome of [`Store::record_decision_enforced`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecidedEnforced {
    /// The id of the recorded decision.
    pub decision_id: i64,
    /// The enforcements stored with it, in the order of the drafts.
    pub enforcements: Vec<Enforcement>,
}

impl Store {
    /// [`Store::post_message`] and [`Store::record_enforcements`] in one transaction: the
    /// message (version, decision, events, audit entry) and the enforcements of its decision
    /// (strikes, audit entries, `enforcement.created` in each user's event log) commit together
    /// or not at all. For a masked message: the `mask` enforcement with its strike, and the
    /// restriction the escalation reaches.
    ///
    /// Each draft is completed inside the transaction: `decision_id`, when `None`, becomes the
    /// id of the decision stored with the message; a draft whose `subject_kind` is `message`
    /// gets the new message's id as `message_id` and `subject_id` when they are `None`.
    ///
    /// Idempotent like `post_message`: a retry with the same `client_id` returns the stored
    /// message with `created == false` and records no enforcement (the first post did). On
    /// SQLite it is group-committed with other posts by the writer task.
    pub async fn post_message_enforced(
        &self,
        m: &NewMessage,
        enforcements: &[NewEnforcement],
    ) -> Result<PostedEnforced> {
        self.post_message_guarded(m, enforcements, &[], None).await
    }

    /// [`Store::post_message_enforced`] with files attached to the new message in the same
    /// transaction (`attachments`: file ids, in order). Each must be the author's file in the
    /// conversation and not attached yet: else `NotFound("attachment")` or
    /// `Conflict(ATTACHMENT_IN_USE)` and nothing is stored. A retry (the same `client_id`)
    /// answers the stored message and attaches nothing.
    pub async fn post_message_attached(
        &self,
        m: &NewMessage,
        enforcements: &[NewEnforcement],
        attachments: &[String],
    ) -> Result<PostedEnforced> {
        self.post_message_guarded(m, enforcements, attachments, None)
            .await
    }

    /// [`Store::post_message_attached`], failing with [`crate::WINDOW_MOVED`] when `guard`
    /// says the decision was made on a window of the sender's messages that has moved since
    /// (on PostgreSQL, under the (conversation, sender) advisory lock held to the commit;
    /// SQLite has one node and one writer, and no guard is checked).
    pub async fn post_message_guarded(
        &self,
        m: &NewMessage,
        enforcements: &[NewEnforcement],
        attachments: &[String],
        guard: Option<crate::WindowGuard>,
    ) -> Result<PostedEnforced> {
        let (decision, now) = check_new_message(m)?;
        let statements = enforcements
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        let (posted, enforcements) = match &self.backend {
            Backend::Sqlite { writer, .. } => {
                writer
                    .post_enforced(
                        m,
                        decision,
                        now,
                        enforcements.to_vec(),
                        statements,
                        attachments.to_vec(),
                    )
                    .await?
            }
            Backend::Postgres(p) => {
                let mut tx = p.begin_write(&self.faults).await?;
                if let Some(g) = &guard {
                    crate::sender_window::check_guard_pg(&mut tx, m, g).await?;
                }
                let posted = post_message_pg(&mut tx, m, &decision, now).await?;
                if posted.created && !attachments.is_empty() {
                    link_attachments_in_tx!(tx, posted.message.id, m, attachments, now);
                }
                let stored = if posted.created && !enforcements.is_empty() {
                    let decision_id = post_decision_id!(tx, posted.message.id);
                    let drafts: Vec<NewEnforcement> = enforcements
                        .iter()
                        .map(|e| fill_draft(e, decision_id, Some(posted.message.id)))
                        .collect();
                    record_enforcements_in_tx!(tx, drafts, statements)
                } else {
                    Vec::new()
                };
                tx.commit().await?;
                (posted, stored)
            }
        };
        Ok(PostedEnforced {
            posted,
            enforcements,
        })
    }

    /// [`Store::record_decision`] and [`Store::record_enforcements`] in one transaction: the
    /// decision (with its audit entry) and its enforcements (strikes, audit entries,
    /// `enforcement.created` events) commit together or not at all. For a blocked message
    /// (`subject_kind` `message`, no message id: the text is kept in the `block` draft's
    /// `blocked_text`), or a blocked or masked profile, job, proposal or invite text.
    ///
    /// Each draft's `decision_id`, when `None`, becomes the new decision's id; a `message`
    /// draft's `message_id` becomes `d.message_id` when that is set. Lock order as a post's:
    /// the conversation (when `d.conversation_id` is set), then the enforced users, then the
    /// audit head.
    pub async fn record_decision_enforced(
        &self,
        d: &NewDecision,
        enforcements: &[NewEnforcement],
    ) -> Result<DecidedEnforced> {
        let json = check_new_decision(d)?;
        let statements = enforcements
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        let now = now_ms();
        let mut users: Vec<&str> = enforcements.iter().map(|e| e.user_id.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            if let Some(c) = d.conversation_id.as_deref() {
                lock_conversation!(tx, c);
            }
            for u in &users {
                sqlx::query("UPDATE users SET event_seq = event_seq WHERE id = $1")
                    .bind(*u)
                    .execute(&mut *tx)
                    .await?;
            }
            let decision_id = insert_new_decision!(tx, d, json.as_str(), now);
            let drafts: Vec<NewEnforcement> = enforcements
                .iter()
                .map(|e| fill_draft(e, decision_id, d.message_id))
                .collect();
            let enforcements = record_enforcements_in_tx!(tx, drafts, statements);
            tx.commit().await?;
            Ok(DecidedEnforced {
                decision_id,
                enforcements,
            })
        })
    }
}
