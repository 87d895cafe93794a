//! Building blocks of write transactions, shared by the operations: events, locks, decision
//! records with their audit entries, message versions, and the message state changes a
//! moderator makes. Each is a macro over the caller's transaction `$tx` (a SQLite or
//! PostgreSQL transaction or connection), so the same code runs on both drivers.

/// Appends one event per user (sorted ids: locks always taken in the same order).
macro_rules! emit {
    ($tx:ident, $users:expr, $kind:expr, $conv:expr, $msg:expr, $data:expr, $now:expr) => {{
        for u in $users.iter() {
            let seq: i64 = sqlx::query_scalar(
                "UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            )
            .bind(u.as_str())
            .fetch_one(&mut *$tx)
            .await?;
            sqlx::query(
                "INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(u.as_str())
            .bind(seq)
            .bind($kind)
            .bind($conv)
            .bind($msg)
            .bind($data)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// The members of a conversation, sorted.
macro_rules! members_sorted {
    ($tx:ident, $conv:expr) => {{
        let mut v: Vec<String> = sqlx::query_scalar(
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1",
        )
        .bind($conv)
        .fetch_all(&mut *$tx)
        .await?;
        v.sort();
        v
    }};
}

/// Takes the conversation's row lock (PostgreSQL) before any message write; NotFound if absent.
macro_rules! lock_conversation {
    ($tx:ident, $conv:expr) => {{
        let n = sqlx::query("UPDATE conversations SET updated_at = updated_at WHERE id = $1")
            .bind($conv)
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("conversation"));
        }
    }};
}

/// Inserts a decision record and appends its `decision` entry to the audit log (same
/// transaction); evaluates to the decision's id. The audit entry's actor is the person who
/// decided: by default `$actor` when the decision is not automated, else nobody; the
/// `decided_by:` form names it explicitly (an edit held by the policy was decided by the
/// machine, although not `automated` in the policy's sense).
macro_rules! insert_decision {
    ($tx:ident, $kind:expr, $subject:expr, $conv:expr, $msg:expr, $ver:expr, $actor:expr, $d:expr, $json:expr, $now:expr) => {{
        let d_actor: Option<&str> = $actor;
        let d_by = if $d.automated { None } else { d_actor };
        insert_decision!($tx, $kind, $subject, $conv, $msg, $ver, d_actor, $d, $json, $now, decided_by: d_by)
    }};
    ($tx:ident, $kind:expr, $subject:expr, $conv:expr, $msg:expr, $ver:expr, $actor:expr, $d:expr, $json:expr, $now:expr, decided_by: $by:expr) => {{
        let d_kind: &str = $kind;
        let d_subject_owned = $subject;
        let d_subject: Option<&str> = d_subject_owned.as_deref();
        let d_conv: Option<&str> = $conv;
        let d_msg: Option<i64> = $msg;
        let d_ver: Option<i64> = $ver;
        let d_actor: Option<&str> = $actor;
        let d_by: Option<&str> = $by;
        let d_json: &str = $json;
        let d_now: i64 = $now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
             actor_id, surface, action, automated, decision, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(d_kind)
        .bind(d_subject)
        .bind(d_conv)
        .bind(d_msg)
        .bind(d_ver)
        .bind(d_actor)
        .bind($d.surface.as_str())
        .bind($d.action.as_str())
        .bind($d.automated)
        .bind(d_json)
        .bind(d_now)
        .fetch_one(&mut *$tx)
        .await?;
        let d_data = crate::audit::decision_data(
            id,
            d_kind,
            d_subject,
            d_conv,
            d_msg,
            d_ver,
            d_actor,
            $d.surface.as_str(),
            $d.action.as_str(),
            $d.automated,
            d_json,
        );
        let d_audit_subject = crate::audit::decision_subject(d_kind, d_subject, d_msg);
        audit_append!($tx, "decision", d_by, &d_audit_subject, &d_data, d_now);
        id
    }};
}

/// `insert_decision!` for a version of a message: the decision `$d` on `$m` (its current
/// version) in conversation `$conv`, taken by `$actor`; `decided_by:` as there.
macro_rules! insert_message_decision {
    ($tx:ident, $conv:expr, $m:expr, $actor:expr, $d:expr, $json:expr, $now:expr $(, decided_by: $by:expr)?) => {
        insert_decision!(
            $tx,
            "message",
            Some($m.id.to_string()),
            Some($conv),
            Some($m.id),
            Some($m.version),
            Some($actor),
            $d,
            $json,
            $now
            $(, decided_by: $by)?
        )
    };
}

/// The id of the decision a post stored with message `$id` (its version 1).
macro_rules! post_decision_id {
    ($tx:ident, $id:expr) => {{
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM decisions WHERE message_id = $1 AND message_version = 1 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind($id)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

/// The audit entry of a message post's decision (the post paths insert the decision in inline
/// SQL). Only when the action is not `allow`: clean messages stay out of the chain, which keeps
/// the hot path at 5 round trips; their decisions remain in `decisions` and `message_versions`.
macro_rules! audit_post {
    ($tx:ident, $m:expr, $message:expr, $decision:expr, $now:expr) => {{
        if $m.state == MessageState::Delivered {
            let created = serde_json::json!({
                "message_id": $message.id, "conversation_id": $m.conversation_id,
                "author_id": $m.author_id, "action": $m.decision.action.as_str(),
            });
            outbox_emit!($tx, "message.created", &created, $now);
        }
        if $m.decision.action != "allow" {
            let decision_id = post_decision_id!($tx, $message.id);
            let id_text = $message.id.to_string();
            let data = crate::audit::decision_data(
                decision_id,
                "message",
                Some(id_text.as_str()),
                Some($m.conversation_id.as_str()),
                Some($message.id),
                Some(1),
                Some($m.author_id.as_str()),
                $m.decision.surface.as_str(),
                $m.decision.action.as_str(),
                $m.decision.automated,
                $decision,
            );
            let subject = format!("message:{}", $message.id);
            audit_append!($tx, "decision", None, &subject, &data, $now);
        }
    }};
}

/// Locks the conversation of message `$id` (as `lock_conversation!`) and
/// evaluates to its id; `NotFound("message")` when there is no such message.
macro_rules! lock_message_conversation {
    ($tx:ident, $id:expr) => {{
        let conv: Option<String> =
            sqlx::query_scalar("SELECT conversation_id FROM messages WHERE id = $1")
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await?;
        let conv = conv.ok_or(StoreError::NotFound("message"))?;
        lock_conversation!($tx, conv.as_str());
        conv
    }};
}

/// Locks the conversation of message `$id` and loads the message as `$user`
/// sees it: `NotFound("message")` unless `$user` is a member who may see it.
/// Evaluates to `(conversation_id, message)`.
macro_rules! lock_message_for {
    ($tx:ident, $id:expr, $user:expr) => {{
        let conv = lock_message_conversation!($tx, $id);
        let row = sqlx::query(concat!(
            "SELECT ",
            cols!(message),
            " FROM messages WHERE id = $1"
        ))
        .bind($id)
        .fetch_one(&mut *$tx)
        .await?;
        let old = message_of(&row, "")?;
        let is_member = sqlx::query(
            "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(conv.as_str())
        .bind($user)
        .fetch_optional(&mut *$tx)
        .await?
        .is_some();
        if !is_member || !old.visible_to($user) {
            return Err(StoreError::NotFound("message"));
        }
        (conv, old)
    }};
}

macro_rules! insert_version {
    ($tx:ident, $m:expr, $kind:expr, $actor:expr, $now:expr) => {{
        sqlx::query(
            "INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind($m.id)
        .bind($m.version)
        .bind($kind)
        .bind($m.state.as_str())
        .bind($m.original.as_str())
        .bind($m.delivered.as_deref())
        .bind(json_text(&$m.decision)?)
        .bind($actor)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// After a message changes state: the conversation's last delivered message.
macro_rules! refresh_last_message {
    ($tx:ident, $conv:expr) => {{
        sqlx::query(
            "UPDATE conversations SET last_message_id = \
             (SELECT MAX(id) FROM messages WHERE conversation_id = $1 AND state = 'delivered') WHERE id = $1",
        )
        .bind($conv)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// After a moderator changed message `$m`'s state: the conversation's last message and
/// update time are refreshed and every member is told (in sorted order, the lock order): the
/// author gets `message.updated`, the others `$others`. Evaluates to the sorted members.
macro_rules! announce_moderated {
    ($tx:ident, $conv:expr, $m:expr, $others:expr, $now:expr) => {{
        refresh_last_message!($tx, $conv);
        sqlx::query("UPDATE conversations SET updated_at = $2 WHERE id = $1")
            .bind($conv)
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        let all = members_sorted!($tx, $conv);
        for u in &all {
            let kind = if *u == $m.author_id {
                "message.updated"
            } else {
                $others
            };
            emit!($tx, [u], kind, $conv, Some($m.id), None::<&str>, $now);
        }
        all
    }};
}

/// The body of [`Store::review_message`] inside a caller's write transaction (also used by the
/// moderation queue, which resolves its item in the same transaction): a held message becomes
/// delivered (`$delivered` is `Some`) or rejected, with a `reviewed` version, the human decision
/// recorded, and events (`message.created` to recipients, `message.updated` to the author).
/// Evaluates to the updated message; `Conflict` unless the message is held.
macro_rules! review_in_tx {
    ($tx:ident, $id:expr, $reviewer:expr, $state:expr, $delivered:expr, $decision:expr, $decision_json:expr, $now:expr) => {{
        let conv = lock_message_conversation!($tx, $id);
        let row = sqlx::query(concat!(
            "UPDATE messages SET state = $2, delivered = $3, decision = $4, version = version + 1 \
             WHERE id = $1 AND state = 'held' AND deleted_at IS NULL RETURNING ",
            cols!(message)
        ))
        .bind($id)
        .bind($state.as_str())
        .bind($delivered)
        .bind($decision_json)
        .fetch_optional(&mut *$tx)
        .await?;
        let message = match row {
            Some(r) => message_of(&r, "")?,
            None => {
                return Err(StoreError::Conflict(
                    "the message is not held for review".into(),
                ))
            }
        };
        insert_version!($tx, message, "reviewed", Some($reviewer), $now);
        sqlx::query(
            "UPDATE decisions SET reviewed_at = $2, reviewer_id = $3 WHERE message_id = $1 AND reviewed_at IS NULL",
        )
        .bind($id)
        .bind($now)
        .bind($reviewer)
        .execute(&mut *$tx)
        .await?;
        insert_message_decision!(
            $tx,
            conv.as_str(),
            message,
            $reviewer,
            $decision,
            $decision_json,
            $now
        );
        let author = [message.author_id.clone()];
        if $state == MessageState::Delivered {
            announce_moderated!($tx, conv.as_str(), message, "message.created", $now);
        } else {
            emit!(
                $tx,
                author,
                "message.updated",
                conv.as_str(),
                Some(message.id),
                None::<&str>,
                $now
            );
        }
        message
    }};
}

/// Moves a message from state `$from` to `$to` by a moderator (removal of a delivered message,
/// restoration of a rejected one) with a `reviewed` version, the decision, and events: the
/// author gets `message.updated`, the others `message.created` (restored) or `message.deleted`
/// (removed). Evaluates to `Some((message, members))`, or `None` when the message is not in
/// state `$from` (or deleted).
macro_rules! moderate_message {
    ($tx:ident, $id:expr, $from:expr, $to:expr, $decision:expr, $decision_json:expr, $moderator:expr, $now:expr) => {{
        let conv = lock_message_conversation!($tx, $id);
        let row = sqlx::query(concat!(
            "UPDATE messages SET state = $3, delivered = COALESCE(delivered, original), decision = $4, \
             version = version + 1 WHERE id = $1 AND state = $2 AND deleted_at IS NULL RETURNING ",
            cols!(message)
        ))
        .bind($id)
        .bind($from)
        .bind($to)
        .bind($decision_json)
        .fetch_optional(&mut *$tx)
        .await?;
        match row {
            None => None,
            Some(r) => {
                let m = message_of(&r, "")?;
                insert_version!($tx, m, "reviewed", Some($moderator), $now);
                insert_message_decision!(
                    $tx,
                    conv.as_str(),
                    m,
                    $moderator,
                    $decision,
                    $decision_json,
                    $now
                );
                let others = if m.state == MessageState::Delivered {
                    "message.created"
                } else {
                    "message.deleted"
                };
                let all = announce_moderated!($tx, conv.as_str(), m, others, $now);
                Some((m, all))
            }
        }
    }};
}
