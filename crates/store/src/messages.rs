//! Messages after they are posted: reading, pages, edits (versions), deletion, review of held
//! messages.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{json_text, page_limit, BeginWrite};
use crate::{Backend, Store};

/// The event a member gets when a message changes state from `old` to `new`.
fn edit_event_kind(old: MessageState, new: MessageState, is_author: bool) -> &'static str {
    let visible = |s: MessageState| is_author || s == MessageState::Delivered;
    match (visible(old), visible(new)) {
        (false, true) => "message.created",
        (true, false) => "message.deleted",
        _ => "message.updated",
    }
}

impl Store {
    /// One message as `viewer` may see it: NotFound unless a member and the message is
    /// delivered or the viewer's own.
    pub async fn get_message(&self, id: i64, viewer: &str) -> Result<Message> {
        let m = self.get_message_any(id).await?;
        if !m.visible_to(viewer) || !self.is_member(&m.conversation_id, viewer).await? {
            return Err(StoreError::NotFound("message"));
        }
        Ok(m)
    }

    /// One message, whoever asks (moderation, audit).
    pub async fn get_message_any(&self, id: i64) -> Result<Message> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(|r| message_of(r, ""))
                .unwrap_or(Err(StoreError::NotFound("message")))
        })
    }

    /// A page of a conversation's messages as `viewer` sees them (delivered ones, plus the
    /// viewer's own held/rejected ones; deleted ones stay as tombstones with `deleted_at`),
    /// oldest first. NotFound unless a member.
    pub async fn list_messages(
        &self,
        conversation_id: &str,
        viewer: &str,
        page: &PageRequest,
    ) -> Result<MessagePage> {
        if !self.is_member(conversation_id, viewer).await? {
            return Err(StoreError::NotFound("conversation"));
        }
        let limit = page_limit(page.limit);
        on_read!(self, |p| {
            let (sql, cursor) = match page.after {
                Some(after) => (
                    concat!(
                        "SELECT ",
                        cols!(message),
                        " FROM messages WHERE conversation_id = $1 AND id > $2 \
                         AND (state = 'delivered' OR author_id = $3) ORDER BY id ASC LIMIT $4"
                    ),
                    after,
                ),
                None => (
                    concat!(
                        "SELECT ",
                        cols!(message),
                        " FROM messages WHERE conversation_id = $1 AND id < $2 \
                         AND (state = 'delivered' OR author_id = $3) ORDER BY id DESC LIMIT $4"
                    ),
                    page.before.unwrap_or(i64::MAX),
                ),
            };
            let rows = sqlx::query(sql)
                .bind(conversation_id)
                .bind(cursor)
                .bind(viewer)
                .bind(limit + 1)
                .fetch_all(p)
                .await?;
            let has_more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
            let mut messages = rows
                .iter()
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .map(|r| message_of(r, ""))
                .collect::<Result<Vec<_>>>()?;
            if page.after.is_none() {
                messages.reverse();
            }
            Ok(MessagePage { messages, has_more })
        })
    }

    /// Replaces the text of one's own message (the edit was checked again by the caller):
    /// the new version is appended to the history, the decision recorded, and members told
    /// (`message.updated`). NotFound if the editor cannot see it, Forbidden if not the author,
    /// Conflict if deleted.
    pub async fn edit_message(&self, id: i64, editor: &str, edit: &MessageEdit) -> Result<Message> {
        check_text("body", &edit.original)?;
        if let Some(d) = edit.delivered.as_deref() {
            check_text("delivered text", d)?;
        }
        if edit.state == MessageState::Delivered && edit.delivered.is_none() {
            return Err(StoreError::Invalid(
                "a delivered message needs its delivered text".into(),
            ));
        }
        if edit.state == MessageState::Rejected {
            return Err(StoreError::Invalid("an edit is delivered or held".into()));
        }
        let decision = json_text(&edit.decision.decision)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let (conv, old) = lock_message_for!(tx, id, editor);
            if old.author_id != editor {
                return Err(StoreError::Forbidden("only the author can edit a message"));
            }
            if old.deleted_at.is_some() {
                return Err(StoreError::Conflict("the message is deleted".into()));
            }
            let row = sqlx::query(concat!(
                "UPDATE messages SET original = $2, delivered = $3, state = $4, decision = $5, \
                 version = version + 1, edited_at = $6 WHERE id = $1 RETURNING ",
                cols!(message)
            ))
            .bind(id)
            .bind(edit.original.as_str())
            .bind(edit.delivered.as_deref())
            .bind(edit.state.as_str())
            .bind(decision.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let message = message_of(&row, "")?;
            insert_version!(tx, message, "edited", Some(editor), now);
            insert_message_decision!(
                tx,
                conv.as_str(),
                message,
                editor,
                edit.decision,
                decision.as_str(),
                now,
                decided_by: None
            );
            if old.state != message.state {
                refresh_last_message!(tx, conv.as_str());
            }
            let recipients = if old.state == MessageState::Delivered
                || message.state == MessageState::Delivered
            {
                members_sorted!(tx, conv.as_str())
            } else {
                vec![editor.to_string()]
            };
            // Each member is told what changed for them: a message that becomes visible is
            // new to the others, one that stops being visible is gone for them.
            for u in &recipients {
                let kind = edit_event_kind(old.state, message.state, *u == message.author_id);
                emit!(
                    tx,
                    [u],
                    kind,
                    conv.as_str(),
                    Some(message.id),
                    None::<&str>,
                    now
                );
            }
            tx.commit().await?;
            Ok(message)
        })
    }

    /// Deletes one's own message: the record and every version stay (a `deleted` version is
    /// appended); members are told (`message.deleted`). Deleting twice is a no-op.
    pub async fn delete_message(&self, id: i64, actor: &str) -> Result<Message> {
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let (conv, old) = lock_message_for!(tx, id, actor);
            if old.author_id != actor {
                return Err(StoreError::Forbidden(
                    "only the author can delete a message",
                ));
            }
            if old.deleted_at.is_some() {
                tx.commit().await?;
                return Ok(old);
            }
            let row = sqlx::query(concat!(
                "UPDATE messages SET deleted_at = $2, version = version + 1 WHERE id = $1 RETURNING ",
                cols!(message)
            ))
            .bind(id)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let message = message_of(&row, "")?;
            insert_version!(tx, message, "deleted", Some(actor), now);
            let recipients = if message.state == MessageState::Delivered {
                members_sorted!(tx, conv.as_str())
            } else {
                vec![actor.to_string()]
            };
            emit!(
                tx,
                recipients,
                "message.deleted",
                conv.as_str(),
                Some(message.id),
                None::<&str>,
                now
            );
            tx.commit().await?;
            Ok(message)
        })
    }

    /// A moderator's verdict on a held message: delivered (with `delivered` text) or rejected.
    /// Appends a `reviewed` version, records the (human) decision, marks the earlier decisions
    /// of this message reviewed, and tells members. Conflict unless the message is held.
    pub async fn review_message(
        &self,
        id: i64,
        reviewer_id: &str,
        delivered: Option<&str>,
        decision: &DecisionInput,
    ) -> Result<Message> {
        if let Some(d) = delivered {
            check_text("delivered text", d)?;
        }
        let state = if delivered.is_some() {
            MessageState::Delivered
        } else {
            MessageState::Rejected
        };
        let decision_json = json_text(&decision.decision)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let message = review_in_tx!(
                tx,
                id,
                reviewer_id,
                state,
                delivered,
                decision,
                decision_json.as_str(),
                now
            );
            tx.commit().await?;
            Ok(message)
        })
    }

    /// Every version of a message, oldest first (for moderation and audit; no access check).
    pub async fn message_versions(&self, id: i64) -> Result<Vec<MessageVersion>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(version),
                " FROM message_versions WHERE message_id = $1 ORDER BY version"
            ))
            .bind(id)
            .fetch_all(p)
            .await?;
            rows.iter().map(version_of).collect()
        })
    }

    /// Held messages waiting for review, oldest first.
    pub async fn held_messages(&self, limit: u32) -> Result<Vec<Message>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE state = 'held' AND deleted_at IS NULL ORDER BY id LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| message_of(r, "")).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_events_follow_visibility() {
        use MessageState::*;
        assert_eq!(
            edit_event_kind(Delivered, Delivered, false),
            "message.updated"
        );
        assert_eq!(edit_event_kind(Held, Delivered, false), "message.created");
        assert_eq!(edit_event_kind(Delivered, Held, false), "message.deleted");
        assert_eq!(edit_event_kind(Delivered, Held, true), "message.updated");
        assert_eq!(edit_event_kind(Held, Held, true), "message.updated");
    }
}
