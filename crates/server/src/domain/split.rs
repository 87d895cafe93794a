//! Completing a message's decision with the sender's recent messages (contact details split
//! over several messages; the windows themselves are kept by [`crate::window`]).

use crate::domain::decide::Checked;
use crate::domain::error::DomainResult;
use crate::window::{tail, window_worthy, Part, Split, SEPARATOR};
use crate::AppState;
use parley_detect::Finding;
use parley_policy::{Action, Purpose};
use parley_store::{Message, PageRequest, WindowGuard};
use std::collections::VecDeque;

impl AppState {
    /// Whether windows are read from the database on every check, never kept in memory: with
    /// several nodes (NATS configured) a sender's messages may arrive through any node.
    fn windows_shared(&self) -> bool {
        self.inner.config.nats_url.is_some() && self.inner.windows.enabled()
    }

    /// The start of the windows' time span at `now_ms`.
    fn window_since(&self, now_ms: i64) -> i64 {
        let secs = i64::try_from(self.inner.config.window_secs).unwrap_or(i64::MAX / 1000);
        now_ms.saturating_sub(secs.saturating_mul(1000))
    }

    /// With several nodes, what a post's decision is made on (read before the window, see
    /// [`parley_store::Store::post_message_guarded`]); None for one node.
    pub async fn window_guard(
        &self,
        conversation: &str,
        sender: &str,
    ) -> DomainResult<Option<WindowGuard>> {
        if !self.windows_shared() {
            return Ok(None);
        }
        let since = self.window_since(parley_store::now_ms());
        Ok(Some(
            self.store()
                .sender_guard(conversation, sender, since)
                .await?,
        ))
    }

    /// The sender's window in a conversation: memory, else the store (always the store with
    /// several nodes: the sender's own recent messages, by the index of migration 15).
    async fn window_parts(
        &self,
        conversation: &str,
        sender: &str,
        now_ms: i64,
    ) -> DomainResult<Vec<Part>> {
        let w = &self.inner.windows;
        if self.windows_shared() {
            let since = self.window_since(now_ms);
            let recent = self
                .store()
                .sender_recent(conversation, sender, since, 50)
                .await?;
            let mut parts: VecDeque<Part> = recent
                .iter()
                .filter(|m| window_worthy(m, sender))
                .map(|m| Part {
                    message_id: m.id,
                    client_id: m.client_id.clone(),
                    text: tail(&m.original),
                    at_ms: m.created_at,
                })
                .collect();
            w.trim(&mut parts, now_ms);
            return Ok(parts.into());
        }
        if let Some(p) = w.get(conversation, sender, now_ms) {
            return Ok(p);
        }
        let page = self
            .store()
            .list_messages(
                conversation,
                sender,
                &PageRequest {
                    before: None,
                    after: None,
                    limit: 50,
                },
            )
            .await?;
        let mut parts: VecDeque<Part> = page
            .messages
            .iter()
            .filter(|m| window_worthy(m, sender))
            .map(|m| Part {
                message_id: m.id,
                client_id: m.client_id.clone(),
                text: tail(&m.original),
                at_ms: m.created_at,
            })
            .collect();
        w.trim(&mut parts, now_ms);
        let parts: Vec<Part> = parts.into();
        w.load(conversation, sender, parts.clone());
        Ok(parts)
    }

    /// Completes the decision on a new text with the sender's recent messages: `alone` is the
    /// decision on the text by itself, returned as it is unless it allows the text and a
    /// finding split over the window reaches into it. `client_id`: the post's idempotency key
    /// (a retry of a stored message is answered by the store, not re-decided).
    pub async fn check_split(
        &self,
        conversation: &str,
        sender: &str,
        text: &str,
        client_id: Option<&str>,
        purpose: Option<Purpose>,
        alone: Checked,
    ) -> DomainResult<Checked> {
        if !self.inner.windows.enabled() || alone.action() != Action::Allow {
            return Ok(alone);
        }
        let now = parley_store::now_ms();
        let parts = self.window_parts(conversation, sender, now).await?;
        if parts.is_empty()
            || parts
                .iter()
                .any(|p| Some(p.client_id.as_str()) == client_id)
        {
            return Ok(alone);
        }
        let mut texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
        texts.push(text);
        let last = parts.len();
        let mut local: Vec<Finding> = Vec::new();
        let mut split = Split::default();
        for wf in self.inner.detector.scan_window_joined(&texts, SEPARATOR) {
            if wf.parts.len() < 2 {
                continue;
            }
            let Some(&(_, s, e)) = wf.parts.iter().find(|(i, _, _)| *i == last) else {
                continue;
            };
            let ids: Vec<i64> = wf
                .parts
                .iter()
                .filter(|(i, _, _)| *i < last)
                .map(|(i, _, _)| parts[*i].message_id)
                .collect();
            let mut f = wf.finding.clone();
            f.start = s;
            f.end = e;
            f.matched = text.get(s..e).unwrap_or_default().to_string();
            if f.matched.is_empty() {
                continue;
            }
            f.rule = format!("{}.split", f.rule);
            split.spans.push(((s, e), ids));
            local.push(f);
        }
        if local.is_empty() {
            return Ok(alone);
        }
        let mut joined = self
            .decide_message_findings(conversation, sender, text, &local, purpose)
            .await?;
        if joined.action() == Action::Allow {
            return Ok(alone);
        }
        joined.decision.explanation = format!(
            "These contact details were split over several messages ({} earlier). {}",
            split.message_ids().len(),
            joined.decision.explanation
        );
        joined.split = Some(split);
        Ok(joined)
    }

    /// Remembers a stored message for later windows (only one that passed untouched).
    pub fn remember_for_window(&self, m: &Message) {
        if self.inner.windows.enabled() && window_worthy(m, &m.author_id) {
            self.inner.windows.push(
                &m.conversation_id,
                &m.author_id,
                Part {
                    message_id: m.id,
                    client_id: m.client_id.clone(),
                    text: tail(&m.original),
                    at_ms: m.created_at,
                },
            );
        }
    }
}
