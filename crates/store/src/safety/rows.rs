//! Trust and safety rows: column lists, row conversions, input checks, and the insert of an
//! enforcement (with its strike, audit entry and event data) used by several operations.

use super::*;
use crate::check::*;
use crate::error::{Result, StoreError};
use crate::rows::message_of;
use crate::sql::{corrupt, json_text, json_value, Get};

// ------------------------------------------------------------------------------------- rows

pub(crate) fn item_of(r: &impl Get) -> Result<ModerationItem> {
    let action = r.os("resolution_action")?;
    let resolution = match action {
        Some(action) => Some(Resolution {
            action,
            note: r.os("resolution_note")?,
            moderator_id: r.os("resolved_by")?,
            at: r.oi("resolved_at")?.unwrap_or(r.i("updated_at")?),
        }),
        None => None,
    };
    Ok(ModerationItem {
        id: r.i("id")?,
        kind: ItemKind::parse(&r.s("kind")?).ok_or_else(|| corrupt("moderation_items"))?,
        open: r.s("status")? == "open",
        priority: r.i("priority")?,
        target_kind: r.s("target_kind")?,
        target_id: r.s("target_id")?,
        subject_user_id: r.os("subject_user_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
        resolution,
    })
}

pub(crate) fn report_of(r: &impl Get) -> Result<Report> {
    Ok(Report {
        id: r.i("id")?,
        item_id: r.i("item_id")?,
        reporter_id: r.s("reporter_id")?,
        target_kind: r.s("target_kind")?,
        target_id: r.s("target_id")?,
        reason: r.s("reason")?,
        note: r.os("note")?,
        created_at: r.i("created_at")?,
    })
}

pub(crate) fn enforcement_of(r: &impl Get) -> Result<Enforcement> {
    Ok(Enforcement {
        id: r.i("id")?,
        user_id: r.s("user_id")?,
        kind: r.s("kind")?,
        automated: r.b("automated")?,
        subject_kind: r.s("subject_kind")?,
        subject_id: r.os("subject_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        decision_id: r.oi("decision_id")?,
        item_id: r.oi("item_id")?,
        moderator_id: r.os("moderator_id")?,
        statement: json_value(r.s("statement")?),
        created_at: r.i("created_at")?,
        ends_at: r.oi("ends_at")?,
        appealable_until: r.i("appealable_until")?,
        lifted_at: r.oi("lifted_at")?,
        blocked_text: r.os("blocked_text")?,
        blocked_purpose: r.os("blocked_purpose")?,
        delivered_message_id: r.oi("delivered_message_id")?,
    })
}

pub(crate) fn strike_of(r: &impl Get) -> Result<StrikeRecord> {
    Ok(StrikeRecord {
        id: r.i("id")?,
        user_id: r.s("user_id")?,
        enforcement_id: r.oi("enforcement_id")?,
        weight: r.i("weight")?,
        categories: r
            .s("categories")?
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect(),
        at: r.i("at")?,
        expires_at: r.i("expires_at")?,
        removed_at: r.oi("removed_at")?,
        removed_reason: r.os("removed_reason")?,
    })
}

pub(crate) fn appeal_of(r: &impl Get) -> Result<Appeal> {
    Ok(Appeal {
        id: r.i("id")?,
        enforcement_id: r.i("enforcement_id")?,
        appellant_id: r.s("appellant_id")?,
        statement: r.s("statement")?,
        item_id: r.i("item_id")?,
        status: r.s("status")?,
        decided_by: r.os("decided_by")?,
        decided_at: r.oi("decided_at")?,
        note: r.os("note")?,
        created_at: r.i("created_at")?,
    })
}

/// Every message of a list of rows, in row order.
pub(crate) fn messages_of(rows: &[impl Get]) -> Result<Vec<Message>> {
    rows.iter().map(|r| message_of(r, "")).collect()
}

pub(crate) const ENFORCEMENT_KINDS: &[&str] = &[
    "block",
    "mask",
    "strike",
    "warning",
    "restriction",
    "suspension",
];
pub(crate) const ITEM_ACTIONS: &[&str] = &["approve", "reject", "warn", "restrict", "suspend"];

pub(crate) fn check_note(what: &str, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) if s.len() > MAX_NOTE => Err(StoreError::Invalid(format!(
            "{what} must be at most {MAX_NOTE} bytes"
        ))),
        Some(s) => check_text(what, s),
        None => Ok(()),
    }
}

pub(crate) fn check_enforcement(e: &NewEnforcement) -> Result<String> {
    check_id("user_id", &e.user_id)?;
    if !ENFORCEMENT_KINDS.contains(&e.kind.as_str()) {
        return Err(StoreError::Invalid(format!(
            "unknown enforcement kind {:?}",
            e.kind
        )));
    }
    check_name("subject_kind", &e.subject_kind, MAX_SHORT)?;
    if let Some(t) = &e.blocked_text {
        check_text("blocked text", t)?;
    }
    if let Some(s) = &e.strike {
        if s.weight < 0 || s.categories.iter().any(|c| c.contains(',')) {
            return Err(StoreError::Invalid("malformed strike".into()));
        }
    }
    json_text(&e.statement)
}

/// Inserts one enforcement (and its strike); evaluates to the stored enforcement.
macro_rules! insert_enforcement {
    ($tx:ident, $e:expr, $statement:expr, $item:expr) => {{
        let e: &NewEnforcement = $e;
        let row = sqlx::query(concat!(
            "INSERT INTO enforcements (user_id, kind, automated, subject_kind, subject_id, conversation_id, \
             message_id, decision_id, item_id, moderator_id, statement, created_at, ends_at, appealable_until, \
             blocked_text, blocked_purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             RETURNING ",
            cols!(enforcement)
        ))
        .bind(e.user_id.as_str())
        .bind(e.kind.as_str())
        .bind(e.automated)
        .bind(e.subject_kind.as_str())
        .bind(e.subject_id.as_deref())
        .bind(e.conversation_id.as_deref())
        .bind(e.message_id)
        .bind(e.decision_id)
        .bind($item)
        .bind(e.moderator_id.as_deref())
        .bind($statement)
        .bind(e.created_at)
        .bind(e.ends_at)
        .bind(e.appealable_until)
        .bind(e.blocked_text.as_deref())
        .bind(e.blocked_purpose.as_deref())
        .fetch_one(&mut *$tx)
        .await?;
        let stored = enforcement_of(&row)?;
        if let Some(s) = &e.strike {
            sqlx::query(
                "INSERT INTO strikes (user_id, enforcement_id, weight, categories, at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(e.user_id.as_str())
            .bind(stored.id)
            .bind(s.weight)
            .bind(s.categories.join(","))
            .bind(s.at)
            .bind(s.expires_at)
            .execute(&mut *$tx)
            .await?;
        }
        audit_append!(
            $tx,
            "enforcement",
            e.moderator_id.as_deref(),
            format!("enforcement:{}", stored.id),
            &serde_json::json!({
                "user_id": stored.user_id, "kind": stored.kind, "automated": stored.automated,
                "subject_kind": stored.subject_kind, "subject_id": stored.subject_id,
                "decision_id": stored.decision_id, "item_id": stored.item_id,
                "ends_at": stored.ends_at, "strike": e.strike,
                // The statement may quote what the user wrote or a moderator's note: only its
                // digest goes into a log nobody can erase (the text stays in `enforcements`).
                "statement_sha256": crate::audit::sha256_hex(
                    crate::audit::canonical_json(&stored.statement).as_bytes()
                ),
                "appeal_deadline": stored.appealable_until,
            }),
            e.created_at
        );
        stored
    }};
}

/// The data of an `enforcement.created` / `enforcement.updated` event: the enforcement's public
/// view as its user sees it (`appealable` as of `$now`; `$appealed` when it has an appeal).
pub(crate) fn enforcement_event_data(
    e: &Enforcement,
    appealed: bool,
    now: Millis,
) -> Result<String> {
    json_text(&serde_json::json!({"enforcement": {
        "id": e.id,
        "kind": e.kind,
        "statement": e.statement,
        "created_at": e.created_at,
        "ends_at": e.ends_at,
        "lifted_at": e.lifted_at,
        "conversation_id": e.conversation_id,
        "message_id": e.message_id,
        "delivered_message_id": e.delivered_message_id,
        "appealable_until": e.appealable_until,
        "appealable": !appealed && now <= e.appealable_until && e.lifted_at.is_none(),
    }}))
}

/// Appends `$kind` (`enforcement.created` or `enforcement.updated`) for each enforcement to its
/// user's event log, in the caller's transaction, the users' rows locked in sorted order.
macro_rules! emit_enforcements {
    ($tx:ident, $kind:expr, $list:expr, $appealed:expr, $now:expr) => {{
        let mut list: Vec<&Enforcement> = $list.iter().collect();
        list.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.id.cmp(&b.id)));
        for e in list {
            let data = enforcement_event_data(e, $appealed, $now)?;
            emit!(
                $tx,
                [e.user_id.clone()],
                $kind,
                e.conversation_id.as_deref(),
                None::<i64>,
                Some(data.as_str()),
                $now
            );
        }
    }};
}

/// An enforcement drafted before the decision it enforces exists, completed inside the
/// transaction that creates that decision: `decision_id` when `None`, and for a `message`
/// subject the `message_id` (and `subject_id`, its text form) when `None`.
pub(crate) fn fill_draft(
    e: &NewEnforcement,
    decision_id: i64,
    message_id: Option<i64>,
) -> NewEnforcement {
    let mut e = e.clone();
    e.decision_id.get_or_insert(decision_id);
    if let (Some(m), "message") = (message_id, e.subject_kind.as_str()) {
        e.message_id.get_or_insert(m);
        e.subject_id.get_or_insert_with(|| m.to_string());
    }
    e
}

/// Records enforcements `$list` (with their strikes and audit entries; `$statements` from
/// [`check_enforcement`], in the same order) and appends `enforcement.created` for each to its
/// user's event log, in the caller's transaction. Evaluates to the stored enforcements.
macro_rules! record_enforcements_in_tx {
    ($tx:ident, $list:expr, $statements:expr) => {{
        let mut out = Vec::with_capacity($list.len());
        for (e, st) in $list.iter().zip($statements.iter()) {
            out.push(insert_enforcement!($tx, e, st.as_str(), None::<i64>));
        }
        let now = out.iter().map(|e| e.created_at).max().unwrap_or(0);
        emit_enforcements!($tx, "enforcement.created", out, false, now);
        out
    }};
}
