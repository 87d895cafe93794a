//! Reports (merged per target) and the review queue.

use super::rows::*;
use super::*;
use crate::check::*;
use crate::error::{Result, StoreError};
use crate::sql::{page_limit, BeginWrite, Get};
use crate::{Backend, Store};

impl Store {
    /// Files a report. The reporter must be able to see the target (a member of the message's
    /// or the conversation's conversation; any existing user): NotFound otherwise. Merges into
    /// the target's open report item if there is one (`merged`); the same reporter reporting
    /// the same open item again keeps their first report.
    pub async fn file_report(&self, r: &NewReport, now: Millis) -> Result<FiledReport> {
        check_id("reporter_id", &r.reporter_id)?;
        check_name("reason", &r.reason, MAX_SHORT)?;
        check_note("note", r.note.as_deref())?;
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let (target_kind, target_id, subject, conv, message_id) = match &r.target {
                ReportTarget::Message(id) => {
                    let row = sqlx::query(
                        "SELECT m.conversation_id, m.author_id, m.state, \
                         (SELECT COUNT(*) FROM conversation_members cm WHERE cm.conversation_id = m.conversation_id \
                          AND cm.user_id = $2) AS member FROM messages m WHERE m.id = $1",
                    )
                    .bind(*id)
                    .bind(r.reporter_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or(StoreError::NotFound("message"))?;
                    let author = row.s("author_id")?;
                    let visible = row.s("state")? == "delivered" || author == r.reporter_id;
                    if row.i("member")? == 0 || !visible {
                        return Err(StoreError::NotFound("message"));
                    }
                    if author == r.reporter_id {
                        return Err(StoreError::Invalid(
                            "you cannot report your own message".into(),
                        ));
                    }
                    (
                        "message",
                        id.to_string(),
                        Some(author),
                        Some(row.s("conversation_id")?),
                        Some(*id),
                    )
                }
                ReportTarget::User(u) => {
                    check_id("user_id", u)?;
                    if u == &r.reporter_id {
                        return Err(StoreError::Invalid("you cannot report yourself".into()));
                    }
                    if sqlx::query("SELECT id FROM users WHERE id = $1")
                        .bind(u.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_none()
                    {
                        return Err(StoreError::NotFound("user"));
                    }
                    ("user", u.clone(), Some(u.clone()), None, None)
                }
                ReportTarget::Conversation(c) => {
                    check_id("conversation_id", c)?;
                    if sqlx::query(
                        "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
                    )
                    .bind(c.as_str())
                    .bind(r.reporter_id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                    {
                        return Err(StoreError::NotFound("conversation"));
                    }
                    ("conversation", c.clone(), None, Some(c.clone()), None)
                }
            };
            let existing = sqlx::query(concat!(
                "SELECT ",
                cols!(item),
                " FROM moderation_items WHERE kind = 'report' AND target_kind = $1 AND target_id = $2 AND status = 'open'"
            ))
            .bind(target_kind)
            .bind(target_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let (item_id, merged) = match existing {
                Some(row) => {
                    let item = item_of(&row)?;
                    (item.id, true)
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO moderation_items (kind, status, priority, target_kind, target_id, \
                         subject_user_id, conversation_id, message_id, created_at, updated_at) \
                         VALUES ('report', 'open', $1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                    )
                    .bind(r.priority.clamp(0, 100))
                    .bind(target_kind)
                    .bind(target_id.as_str())
                    .bind(subject.as_deref())
                    .bind(conv.as_deref())
                    .bind(message_id)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    (id, false)
                }
            };
            let prior = sqlx::query(concat!(
                "SELECT ",
                cols!(report),
                " FROM reports WHERE item_id = $1 AND reporter_id = $2"
            ))
            .bind(item_id)
            .bind(r.reporter_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let report = match prior {
                Some(row) => report_of(&row)?,
                None => {
                    let row = sqlx::query(concat!(
                        "INSERT INTO reports (item_id, reporter_id, target_kind, target_id, reason, note, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
                        cols!(report)
                    ))
                    .bind(item_id)
                    .bind(r.reporter_id.as_str())
                    .bind(target_kind)
                    .bind(target_id.as_str())
                    .bind(r.reason.as_str())
                    .bind(r.note.as_deref())
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
                    let report = report_of(&row)?;
                    if merged {
                        // More reporters, more urgent (a higher reason priority also wins).
                        sqlx::query(
                            "UPDATE moderation_items SET updated_at = $2, priority = CASE \
                             WHEN (CASE WHEN priority >= $3 THEN priority ELSE $3 END) + 5 > 100 THEN 100 \
                             ELSE (CASE WHEN priority >= $3 THEN priority ELSE $3 END) + 5 END WHERE id = $1",
                        )
                        .bind(item_id)
                        .bind(now)
                        .bind(r.priority.clamp(0, 100))
                        .execute(&mut *tx)
                        .await?;
                    }
                    audit_append!(
                        tx,
                        "report",
                        Some(r.reporter_id.as_str()),
                        format!("{target_kind}:{target_id}"),
                        &serde_json::json!({"report_id": report.id, "item_id": item_id,
                            "reason": report.reason, "merged": merged}),
                        now
                    );
                    report
                }
            };
            let item = sqlx::query(concat!(
                "SELECT ",
                cols!(item),
                " FROM moderation_items WHERE id = $1"
            ))
            .bind(item_id)
            .fetch_one(&mut *tx)
            .await?;
            let item = item_of(&item)?;
            tx.commit().await?;
            Ok(FiledReport {
                report,
                item,
                merged,
            })
        })
    }

    /// The reports merged into one item, oldest first.
    pub async fn item_reports(&self, item_id: i64) -> Result<Vec<Report>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(report),
                " FROM reports WHERE item_id = $1 ORDER BY id"
            ))
            .bind(item_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(report_of).collect()
        })
    }

    /// Queue items in queue order: priority (highest first), then age (oldest first).
    pub async fn moderation_queue(&self, q: &QueueQuery) -> Result<Vec<ModerationItem>> {
        let limit = page_limit(q.limit);
        let status = q.open.map(|o| if o { "open" } else { "resolved" });
        let kind = q.kind.map(ItemKind::as_str);
        let (cp, cc, ci) = match q.after {
            Some(c) => (Some(c.priority), c.created_at, c.id),
            None => (None, 0, 0),
        };
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(item),
                " FROM moderation_items WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR kind = $2) \
                 AND ($3 IS NULL OR priority < $3 OR (priority = $3 AND (created_at > $4 OR (created_at = $4 AND id > $5)))) \
                 ORDER BY priority DESC, created_at, id LIMIT $6"
            ))
            .bind(status)
            .bind(kind)
            .bind(cp)
            .bind(cc)
            .bind(ci)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(item_of).collect()
        })
    }

    /// One queue item.
    pub async fn moderation_item(&self, id: i64) -> Result<ModerationItem> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                cols!(item),
                " FROM moderation_items WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(item_of)
                .unwrap_or(Err(StoreError::NotFound("moderation item")))
        })
    }

    /// Messages around one message in its conversation, oldest first: up to `n` before it, the
    /// message itself, and up to `n` after it (every state; moderators see everything).
    pub async fn messages_around(&self, message_id: i64, n: u32) -> Result<Vec<Message>> {
        let n = i64::from(n.min(50));
        on_read!(self, |p| {
            let conv: Option<String> =
                sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
                    .bind(message_id)
                    .fetch_optional(p)
                    .await?;
            let conv = conv.ok_or(StoreError::NotFound("message"))?;
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
            ))
            .bind(conv.as_str())
            .bind(message_id)
            .bind(n)
            .fetch_all(p)
            .await?;
            let mut before = messages_of(&rows)?;
            before.reverse();
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = $1 AND id >= $2 ORDER BY id LIMIT $3"
            ))
            .bind(conv.as_str())
            .bind(message_id)
            .bind(n + 1)
            .fetch_all(p)
            .await?;
            before.extend(messages_of(&rows)?);
            Ok(before)
        })
    }

    /// The last `n` messages of a conversation, oldest first (every state).
    pub async fn recent_messages(&self, conversation_id: &str, n: u32) -> Result<Vec<Message>> {
        let n = i64::from(n.min(50));
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                cols!(message),
                " FROM messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(conversation_id)
            .bind(n)
            .fetch_all(p)
            .await?;
            let mut v = messages_of(&rows)?;
            v.reverse();
            Ok(v)
        })
    }
}
