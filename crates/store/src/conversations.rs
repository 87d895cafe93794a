//! Conversations, their members, the inbox list, and read markers.

use crate::check::*;
use crate::error::{Result, StoreError};
use crate::model::*;
use crate::rows::*;
use crate::sql::{page_limit, placeholders, random_hex, BeginWrite, Get};
use crate::{Backend, Store};

impl Store {
    /// Creates a conversation with its members (at least one; duplicates ignored). Every member
    /// and the referenced object, if any, must exist.
    pub async fn create_conversation(&self, input: &NewConversation) -> Result<Conversation> {
        let mut members: Vec<&str> = Vec::with_capacity(input.members.len());
        for m in &input.members {
            check_id("member id", m)?;
            if !members.contains(&m.as_str()) {
                members.push(m);
            }
        }
        if members.is_empty() || members.len() > 1000 {
            return Err(StoreError::Invalid(
                "a conversation needs 1 to 1000 members".into(),
            ));
        }
        if let Some(s) = input.subject.as_deref() {
            check_name("subject", s, MAX_NAME * 2)?;
        }
        check_opt_id("created_by", input.created_by.as_deref())?;
        if let Some(r) = &input.reference {
            check_id("ref id", &r.id)?;
        }
        let id = format!("c_{}", random_hex(10)?);
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let mut title = None;
            if let Some(r) = &input.reference {
                let sql = match r.kind {
                    RefKind::Job => "SELECT title FROM jobs WHERE id = $1",
                    RefKind::Proposal => {
                        "SELECT j.title FROM proposals x LEFT JOIN jobs j ON j.id = x.job_id WHERE x.id = $1"
                    }
                    RefKind::Invite => {
                        "SELECT j.title FROM invites x LEFT JOIN jobs j ON j.id = x.job_id WHERE x.id = $1"
                    }
                    RefKind::Contract => {
                        "SELECT j.title FROM contracts x LEFT JOIN jobs j ON j.id = x.job_id WHERE x.id = $1"
                    }
                };
                match sqlx::query(sql)
                    .bind(r.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(row) => title = Some(ref_title(r.kind, row.os("title")?)),
                    None => {
                        return Err(StoreError::Invalid(format!(
                            "{} {:?} does not exist",
                            r.kind.as_str(),
                            r.id
                        )))
                    }
                }
            }
            for u in members.iter().copied().chain(input.created_by.as_deref()) {
                if sqlx::query("SELECT id FROM users WHERE id = $1")
                    .bind(u)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Err(StoreError::Invalid(format!("user {u:?} does not exist")));
                }
            }
            let row = sqlx::query(concat!(
                "INSERT INTO conversations (id, subject, ref_kind, ref_id, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
                cols!(conversation)
            ))
            .bind(id.as_str())
            .bind(input.subject.as_deref())
            .bind(input.reference.as_ref().map(|r| r.kind.as_str()))
            .bind(input.reference.as_ref().map(|r| r.id.as_str()))
            .bind(input.created_by.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for u in &members {
                sqlx::query(
                    "INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES ($1, $2, $3)",
                )
                .bind(id.as_str())
                .bind(*u)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let mut conv = conversation_of(&row)?;
            conv.ref_title = title;
            let event = serde_json::json!({"conversation_id": id, "members": members,
                "ref": input.reference.as_ref().map(|r| serde_json::json!({"kind": r.kind.as_str(), "id": r.id})),
                "created_by": input.created_by});
            outbox_emit!(tx, "conversation.created", &event, now);
            tx.commit().await?;
            Ok(conv)
        })
    }

    /// A conversation, for any caller (integration API, moderators).
    pub async fn get_conversation(&self, id: &str) -> Result<Conversation> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT c.id, c.subject, c.ref_kind, c.ref_id, c.created_by, c.last_message_id, \
                 c.created_at, c.updated_at, rj.title AS ref_title FROM conversations c",
                ref_title_joins!(),
                "WHERE c.id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(conversation_titled)
                .unwrap_or(Err(StoreError::NotFound("conversation")))
        })
    }

    /// A conversation as seen by `viewer`: NotFound unless a member.
    pub async fn get_conversation_for(&self, id: &str, viewer: &str) -> Result<Conversation> {
        if !self.is_member(id, viewer).await? {
            return Err(StoreError::NotFound("conversation"));
        }
        self.get_conversation(id).await
    }

    pub async fn is_member(&self, conversation_id: &str, user_id: &str) -> Result<bool> {
        on_read!(self, |p| {
            Ok(sqlx::query(
                "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(p)
            .await?
            .is_some())
        })
    }

    /// The members of a conversation, ordered by user id (empty if it does not exist).
    pub async fn conversation_members(&self, conversation_id: &str) -> Result<Vec<Member>> {
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT user_id, joined_at, last_read_message_id, last_read_at FROM conversation_members \
                 WHERE conversation_id = $1 ORDER BY user_id",
            )
            .bind(conversation_id)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(Member {
                        user_id: r.s("user_id")?,
                        joined_at: r.i("joined_at")?,
                        last_read_message_id: r.i("last_read_message_id")?,
                        last_read_at: r.oi("last_read_at")?,
                    })
                })
                .collect()
        })
    }

    /// The user's conversations, most recently active first (by `updated_at`, then id), each
    /// with its last delivered message and the user's unread count. `before`: the cursor of the
    /// previous page's last item ([`ConversationSummary::cursor`]); only conversations after it.
    pub async fn list_conversations(
        &self,
        user_id: &str,
        before: Option<&ConversationCursor>,
        limit: u32,
    ) -> Result<Vec<ConversationSummary>> {
        let limit = page_limit(limit);
        let (before_at, before_id) = match before {
            Some(c) => (c.updated_at, c.id.as_str()),
            None => (i64::MAX, ""),
        };
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT c.id, c.subject, c.ref_kind, c.ref_id, c.created_by, c.last_message_id, \
                 c.created_at, c.updated_at, rj.title AS ref_title, m.last_read_message_id AS my_last_read, \
                 (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = c.id \
                   AND x.id > m.last_read_message_id AND x.author_id <> $1 \
                   AND x.state = 'delivered' AND x.deleted_at IS NULL) AS unread, \
                 lm.id AS lm_id, lm.conversation_id AS lm_conversation_id, lm.author_id AS lm_author_id, \
                 lm.client_id AS lm_client_id, lm.purpose AS lm_purpose, lm.state AS lm_state, \
                 lm.original AS lm_original, lm.delivered AS lm_delivered, lm.decision AS lm_decision, \
                 lm.version AS lm_version, lm.created_at AS lm_created_at, lm.edited_at AS lm_edited_at, \
                 lm.deleted_at AS lm_deleted_at \
                 FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id \
                 LEFT JOIN messages lm ON lm.id = c.last_message_id",
                ref_title_joins!(),
                "WHERE m.user_id = $1 AND (c.updated_at < $2 OR (c.updated_at = $2 AND c.id < $3)) \
                 ORDER BY c.updated_at DESC, c.id DESC LIMIT $4",
            ))
            .bind(user_id)
            .bind(before_at)
            .bind(before_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            let mut list = rows
                .iter()
                .map(|r| {
                    let last_message = match r.oi("lm_id")? {
                        Some(_) => Some(message_of(r, "lm_")?),
                        None => None,
                    };
                    Ok(ConversationSummary {
                        conversation: conversation_titled(r)?,
                        members: Vec::new(),
                        last_message,
                        unread: r.i("unread")?,
                        last_read_message_id: r.i("my_last_read")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if !list.is_empty() {
                let sql = format!(
                    "SELECT conversation_id, user_id FROM conversation_members \
                     WHERE conversation_id IN ({}) ORDER BY user_id",
                    placeholders(1, list.len())
                );
                let mut q = sqlx::query(&sql);
                for c in &list {
                    q = q.bind(c.conversation.id.as_str());
                }
                let rows = q.fetch_all(p).await?;
                let mut by_conv: std::collections::HashMap<String, Vec<String>> =
                    std::collections::HashMap::new();
                for r in &rows {
                    by_conv
                        .entry(r.s("conversation_id")?)
                        .or_default()
                        .push(r.s("user_id")?);
                }
                for c in &mut list {
                    c.members = by_conv.remove(&c.conversation.id).unwrap_or_default();
                }
            }
            Ok(list)
        })
    }

    /// Moves the user's read marker forward to `message_id` (clamped to the conversation's last
    /// message; never backwards) and tells members (`read`). NotFound unless a member.
    pub async fn mark_read(
        &self,
        conversation_id: &str,
        user_id: &str,
        message_id: i64,
    ) -> Result<ReadMarker> {
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let current: Option<i64> = sqlx::query_scalar(
                "SELECT last_read_message_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let current = current.ok_or(StoreError::NotFound("conversation"))?;
            let last: i64 = sqlx::query_scalar(
                "SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation_id = $1",
            )
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await?;
            let target = message_id.min(last);
            // Conditional update: a concurrent marker (another node) never moves it backwards.
            let moved = target > current
                && sqlx::query(
                    "UPDATE conversation_members SET last_read_message_id = $3, last_read_at = $4 \
                     WHERE conversation_id = $1 AND user_id = $2 AND last_read_message_id < $3",
                )
                .bind(conversation_id)
                .bind(user_id)
                .bind(target)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
            let marker = if moved {
                let members = members_sorted!(tx, conversation_id);
                let data =
                    serde_json::json!({ "user_id": user_id, "message_id": target }).to_string();
                emit!(
                    tx,
                    members,
                    "read",
                    conversation_id,
                    Some(target),
                    Some(data.as_str()),
                    now
                );
                target
            } else {
                let now_at: Option<i64> = sqlx::query_scalar(
                    "SELECT last_read_message_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
                )
                .bind(conversation_id)
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?;
                now_at.unwrap_or(current)
            };
            let unread: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND id > $2 AND author_id <> $3 \
                 AND state = 'delivered' AND deleted_at IS NULL",
            )
            .bind(conversation_id)
            .bind(marker)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(ReadMarker {
                conversation_id: conversation_id.to_string(),
                user_id: user_id.to_string(),
                last_read_message_id: marker,
                unread,
            })
        })
    }

    /// Delivered, undeleted messages by others after the user's read marker. NotFound unless a member.
    pub async fn unread_count(&self, conversation_id: &str, user_id: &str) -> Result<i64> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = m.conversation_id \
                   AND x.id > m.last_read_message_id AND x.author_id <> m.user_id \
                   AND x.state = 'delivered' AND x.deleted_at IS NULL) AS unread \
                 FROM conversation_members m WHERE m.conversation_id = $1 AND m.user_id = $2",
            )
            .bind(conversation_id)
            .bind(user_id)
            .fetch_optional(p)
            .await?
            .ok_or(StoreError::NotFound("conversation"))?;
            row.i("unread")
        })
    }
}
