//! Policy decisions not tied to a message post, and reading decisions back.

use crate::check::*;
use crate::error::Result;
use crate::model::*;
use crate::rows::*;
use crate::sql::{json_text, page_limit, BeginWrite};
use crate::{Backend, Store};

/// Checks a decision to record; returns its JSON text.
pub(crate) fn check_new_decision(d: &NewDecision) -> Result<String> {
    check_name("subject_kind", &d.subject_kind, MAX_SHORT)?;
    check_name("surface", &d.decision.surface, MAX_SHORT)?;
    check_name("action", &d.decision.action, MAX_SHORT)?;
    json_text(&d.decision.decision)
}

/// `insert_decision!` for a [`NewDecision`] `$d` (checked, its JSON text `$json`).
macro_rules! insert_new_decision {
    ($tx:ident, $d:expr, $json:expr, $now:expr) => {
        insert_decision!(
            $tx,
            $d.subject_kind.as_str(),
            $d.subject_id.as_deref(),
            $d.conversation_id.as_deref(),
            $d.message_id,
            $d.message_version,
            $d.actor_id.as_deref(),
            $d.decision,
            $json,
            $now
        )
    };
}

impl Store {
    /// Records a policy decision not tied to a stored message (profile, job, proposal, invite
    /// texts, rejected messages, draft checks). Returns its id.
    pub async fn record_decision(&self, d: &NewDecision) -> Result<i64> {
        let json = check_new_decision(d)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let id = insert_new_decision!(tx, d, json.as_str(), now);
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Decisions about one subject (e.g. `("profile", user id)`, `("message", message id)`), oldest first.
    pub async fn decisions_for(
        &self,
        subject_kind: &str,
        subject_id: &str,
    ) -> Result<Vec<DecisionRecord>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(decision),
                " FROM decisions WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id"
            ))
            .bind(subject_kind)
            .bind(subject_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(decision_of).collect()
        })
    }

    /// Decisions made by or about one user's texts, newest first.
    pub async fn decisions_by_actor(
        &self,
        actor_id: &str,
        limit: u32,
    ) -> Result<Vec<DecisionRecord>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(decision),
                " FROM decisions WHERE actor_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(actor_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(decision_of).collect()
        })
    }
}
