//! The store's operations. Each runs the same SQL on both backends: the `on_write!`/`on_read!`
//! macros expand a body once per backend, so it is type-checked against each driver.

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::error::{BackendError, Result, StoreError};
use crate::model::*;
use crate::{Backend, Store};

/// Runs `$body` with `$p` bound to the pool that takes writes.
macro_rules! on_write {
    ($self:expr, |$p:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite { write: $p, .. } => $body,
            Backend::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$p` bound to a pool for reads.
macro_rules! on_read {
    ($self:expr, |$p:ident| $body:block) => {
        match &$self.backend {
            Backend::Sqlite { read: $p, .. } => $body,
            Backend::Postgres($p) => $body,
        }
    };
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front, so
/// another process writing the same file makes us wait `busy_timeout` instead of failing the
/// transaction half-way), a plain `BEGIN` on PostgreSQL.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl std::future::Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>>
           + Send {
        self.begin()
    }
}

/// Typed column access on either driver's rows.
pub(crate) trait Get {
    fn s(&self, c: &str) -> Result<String>;
    fn os(&self, c: &str) -> Result<Option<String>>;
    fn i(&self, c: &str) -> Result<i64>;
    fn oi(&self, c: &str) -> Result<Option<i64>>;
    fn b(&self, c: &str) -> Result<bool>;
}

macro_rules! impl_get {
    ($t:ty) => {
        impl Get for $t {
            fn s(&self, c: &str) -> Result<String> {
                Ok(self.try_get::<String, _>(c)?)
            }
            fn os(&self, c: &str) -> Result<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(c)?)
            }
            fn i(&self, c: &str) -> Result<i64> {
                Ok(self.try_get::<i64, _>(c)?)
            }
            fn oi(&self, c: &str) -> Result<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(c)?)
            }
            fn b(&self, c: &str) -> Result<bool> {
                Ok(self.try_get::<bool, _>(c)?)
            }
        }
    };
}
impl_get!(sqlx::sqlite::SqliteRow);
impl_get!(sqlx::postgres::PgRow);

macro_rules! org_cols {
    () => {
        "id, name, plan, created_at, updated_at"
    };
}
macro_rules! user_cols {
    () => {
        "id, name, org_id, roles, country, time_zone, created_at, updated_at"
    };
}
macro_rules! profile_cols {
    () => {
        "user_id, headline, bio, created_at, updated_at"
    };
}
macro_rules! job_cols {
    () => {
        "id, org_id, author_id, title, description, status, created_at, updated_at"
    };
}
macro_rules! proposal_cols {
    () => {
        "id, job_id, freelancer_id, cover_letter, status, created_at, updated_at"
    };
}
macro_rules! invite_cols {
    () => {
        "id, job_id, org_id, sender_id, freelancer_id, message, status, created_at, updated_at"
    };
}
macro_rules! contract_cols {
    () => {
        "id, client_org_id, freelancer_id, status, job_id, created_at, updated_at"
    };
}
macro_rules! conv_cols {
    () => {
        "id, subject, ref_kind, ref_id, created_by, last_message_id, created_at, updated_at"
    };
}
/// Joins giving `rj.title`, the title of the job a conversation `c`'s reference belongs to
/// (directly, or through its proposal, invite or contract): one indexed lookup per table.
macro_rules! ref_title_joins {
    () => {
        " LEFT JOIN proposals rp ON c.ref_kind = 'proposal' AND rp.id = c.ref_id \
         LEFT JOIN invites ri ON c.ref_kind = 'invite' AND ri.id = c.ref_id \
         LEFT JOIN contracts rc ON c.ref_kind = 'contract' AND rc.id = c.ref_id \
         LEFT JOIN jobs rj ON rj.id = CASE c.ref_kind WHEN 'job' THEN c.ref_id \
           WHEN 'proposal' THEN rp.job_id WHEN 'invite' THEN ri.job_id \
           WHEN 'contract' THEN rc.job_id END "
    };
}
macro_rules! msg_cols {
    () => {
        "id, conversation_id, author_id, client_id, purpose, state, original, delivered, decision, version, created_at, edited_at, deleted_at"
    };
}
macro_rules! msg_cols_x {
    () => {
        "x.id, x.conversation_id, x.author_id, x.client_id, x.purpose, x.state, x.original, x.delivered, x.decision, x.version, x.created_at, x.edited_at, x.deleted_at"
    };
}
macro_rules! version_cols {
    () => {
        "message_id, version, kind, state, original, delivered, decision, actor_id, created_at"
    };
}
macro_rules! decision_cols {
    () => {
        "id, subject_kind, subject_id, conversation_id, message_id, message_version, actor_id, surface, action, automated, decision, created_at, reviewed_at, reviewer_id"
    };
}
macro_rules! token_cols {
    () => {
        "hash, user_id, label, created_at, expires_at, revoked_at"
    };
}

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

/// The audit entry of a message post's decision (the post paths insert the decision in inline
/// SQL). Only when the action is not `allow`: clean messages stay out of the chain, which keeps
/// the hot path at 5 round trips; their decisions remain in `decisions` and `message_versions`.
macro_rules! audit_post {
    ($tx:ident, $m:expr, $message:expr, $decision:expr, $now:expr) => {{
        if $m.decision.action != "allow" {
            let decision_id: i64 = sqlx::query_scalar(
                "SELECT id FROM decisions WHERE message_id = $1 AND message_version = 1 \
                 ORDER BY id DESC LIMIT 1",
            )
            .bind($message.id)
            .fetch_one(&mut *$tx)
            .await?;
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
            msg_cols!(),
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

/// The event a member gets when a message changes state from `old` to `new`.
fn edit_event_kind(old: MessageState, new: MessageState, is_author: bool) -> &'static str {
    let visible = |s: MessageState| is_author || s == MessageState::Delivered;
    match (visible(old), visible(new)) {
        (false, true) => "message.created",
        (true, false) => "message.deleted",
        _ => "message.updated",
    }
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(BackendError::msg(format!(
        "unexpected stored value in {what}"
    )))
}

pub(crate) fn json_text(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|_| StoreError::Invalid("decision is not valid JSON".into()))
}

pub(crate) fn json_value(s: String) -> Value {
    match serde_json::from_str(&s) {
        Ok(v) => v,
        Err(_) => Value::String(s),
    }
}

const MAX_ID: usize = 128;
const MAX_NAME: usize = 256;
pub(crate) const MAX_SHORT: usize = 64;
/// Largest text the store accepts in one field (the server enforces tighter limits).
pub const MAX_TEXT: usize = 256 * 1024;

pub(crate) fn check_id(what: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1 to {MAX_ID} bytes"
        )));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain spaces or control characters"
        )));
    }
    Ok(())
}

fn check_opt_id(what: &str, id: Option<&str>) -> Result<()> {
    match id {
        Some(id) => check_id(what, id),
        None => Ok(()),
    }
}

pub(crate) fn check_name(what: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() || s.len() > max {
        return Err(StoreError::Invalid(format!(
            "{what} must be non-empty and at most {max} bytes"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(())
}

fn check_opt_short(what: &str, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => check_name(what, s, MAX_SHORT),
        None => Ok(()),
    }
}

pub(crate) fn check_text(what: &str, s: &str) -> Result<()> {
    if s.len() > MAX_TEXT {
        return Err(StoreError::Invalid(format!(
            "{what} must be at most {MAX_TEXT} bytes"
        )));
    }
    // Same answer on both backends (PostgreSQL cannot store NUL in text).
    if s.contains('\0') {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain NUL characters"
        )));
    }
    Ok(())
}

fn or_default<'a>(s: &'a str, default: &'a str) -> &'a str {
    if s.is_empty() {
        default
    } else {
        s
    }
}

fn roles_text(roles: &[Role]) -> String {
    let mut r: Vec<Role> = roles.to_vec();
    r.sort();
    r.dedup();
    r.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

fn roles_parse(s: &str) -> Vec<Role> {
    s.split(',').filter_map(Role::parse).collect()
}

fn org_of(r: &impl Get) -> Result<Org> {
    Ok(Org {
        id: r.s("id")?,
        name: r.s("name")?,
        plan: r.s("plan")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

pub(crate) fn user_of(r: &impl Get) -> Result<User> {
    Ok(User {
        id: r.s("id")?,
        name: r.s("name")?,
        org_id: r.os("org_id")?,
        roles: roles_parse(&r.s("roles")?),
        country: r.os("country")?,
        time_zone: r.os("time_zone")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn profile_of(r: &impl Get) -> Result<Profile> {
    Ok(Profile {
        user_id: r.s("user_id")?,
        headline: r.s("headline")?,
        bio: r.s("bio")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn job_of(r: &impl Get) -> Result<Job> {
    Ok(Job {
        id: r.s("id")?,
        org_id: r.s("org_id")?,
        author_id: r.os("author_id")?,
        title: r.s("title")?,
        description: r.s("description")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn proposal_of(r: &impl Get) -> Result<Proposal> {
    Ok(Proposal {
        id: r.s("id")?,
        job_id: r.s("job_id")?,
        freelancer_id: r.s("freelancer_id")?,
        cover_letter: r.s("cover_letter")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn invite_of(r: &impl Get) -> Result<Invite> {
    Ok(Invite {
        id: r.s("id")?,
        job_id: r.os("job_id")?,
        org_id: r.s("org_id")?,
        sender_id: r.os("sender_id")?,
        freelancer_id: r.s("freelancer_id")?,
        message: r.s("message")?,
        status: r.s("status")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn contract_of(r: &impl Get) -> Result<Contract> {
    Ok(Contract {
        id: r.s("id")?,
        client_org_id: r.s("client_org_id")?,
        freelancer_id: r.s("freelancer_id")?,
        status: ContractStatus::parse(&r.s("status")?).ok_or_else(|| corrupt("contracts"))?,
        job_id: r.os("job_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

fn conversation_of(r: &impl Get) -> Result<Conversation> {
    let reference = match (r.os("ref_kind")?, r.os("ref_id")?) {
        (Some(k), Some(id)) => Some(ConversationRef {
            kind: RefKind::parse(&k).ok_or_else(|| corrupt("conversations"))?,
            id,
        }),
        _ => None,
    };
    Ok(Conversation {
        id: r.s("id")?,
        subject: r.os("subject")?,
        reference,
        created_by: r.os("created_by")?,
        last_message_id: r.oi("last_message_id")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
        ref_title: None,
    })
}

/// The human title of a reference of `kind` whose job (if any) has `job_title`.
fn ref_title(kind: RefKind, job_title: Option<String>) -> String {
    job_title.unwrap_or_else(|| {
        match kind {
            RefKind::Job => "Job",
            RefKind::Proposal => "Proposal",
            RefKind::Invite => "Invite",
            RefKind::Contract => "Contract",
        }
        .to_owned()
    })
}

/// [`conversation_of`] with `ref_title` from a `ref_title` column (the job's title).
fn conversation_titled(r: &impl Get) -> Result<Conversation> {
    let mut c = conversation_of(r)?;
    if let Some(reference) = &c.reference {
        c.ref_title = Some(ref_title(reference.kind, r.os("ref_title")?));
    }
    Ok(c)
}

/// A message from columns named `{p}id`, `{p}conversation_id`, ...
pub(crate) fn message_of(r: &impl Get, p: &str) -> Result<Message> {
    let c = |name: &str| format!("{p}{name}");
    Ok(Message {
        id: r.i(&c("id"))?,
        conversation_id: r.s(&c("conversation_id"))?,
        author_id: r.s(&c("author_id"))?,
        client_id: r.s(&c("client_id"))?,
        purpose: r.os(&c("purpose"))?,
        state: MessageState::parse(&r.s(&c("state"))?).ok_or_else(|| corrupt("messages"))?,
        original: r.s(&c("original"))?,
        delivered: r.os(&c("delivered"))?,
        decision: json_value(r.s(&c("decision"))?),
        version: r.i(&c("version"))?,
        created_at: r.i(&c("created_at"))?,
        edited_at: r.oi(&c("edited_at"))?,
        deleted_at: r.oi(&c("deleted_at"))?,
    })
}

pub(crate) fn version_of(r: &impl Get) -> Result<MessageVersion> {
    Ok(MessageVersion {
        message_id: r.i("message_id")?,
        version: r.i("version")?,
        kind: r.s("kind")?,
        state: MessageState::parse(&r.s("state")?).ok_or_else(|| corrupt("message_versions"))?,
        original: r.s("original")?,
        delivered: r.os("delivered")?,
        decision: json_value(r.s("decision")?),
        actor_id: r.os("actor_id")?,
        created_at: r.i("created_at")?,
    })
}

pub(crate) fn decision_of(r: &impl Get) -> Result<DecisionRecord> {
    Ok(DecisionRecord {
        id: r.i("id")?,
        subject_kind: r.s("subject_kind")?,
        subject_id: r.os("subject_id")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        message_version: r.oi("message_version")?,
        actor_id: r.os("actor_id")?,
        surface: r.s("surface")?,
        action: r.s("action")?,
        automated: r.b("automated")?,
        decision: json_value(r.s("decision")?),
        created_at: r.i("created_at")?,
        reviewed_at: r.oi("reviewed_at")?,
        reviewer_id: r.os("reviewer_id")?,
    })
}

fn token_of(r: &impl Get) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: r.s("hash")?,
        user_id: r.s("user_id")?,
        label: r.os("label")?,
        created_at: r.i("created_at")?,
        expires_at: r.i("expires_at")?,
        revoked_at: r.oi("revoked_at")?,
    })
}

fn event_of(r: &impl Get) -> Result<Event> {
    Ok(Event {
        seq: r.i("seq")?,
        kind: r.s("kind")?,
        conversation_id: r.os("conversation_id")?,
        message_id: r.oi("message_id")?,
        data: r.os("data")?.map(json_value),
        created_at: r.i("created_at")?,
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

pub(crate) fn random_hex(n_bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; n_bytes];
    getrandom::getrandom(&mut buf).map_err(|e| {
        StoreError::Backend(BackendError::msg(format!("no system randomness: {e}")))
    })?;
    Ok(hex(&buf))
}

/// The stored form of a token: hex SHA-256.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// `$first, $first+1, ...` (n of them).
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn page_limit(limit: u32) -> i64 {
    match limit {
        0 => 50,
        n => i64::from(n.min(500)),
    }
}

/// SQLite's path for the hottest write: one writer connection serialises writes, so no row
/// locks are needed: the insert checks membership and the idempotency key, and everything
/// after it runs as one multi-statement round trip with set-based event fan-out (2 round trips
/// per message in a group-committed batch).
/// Runs inside the caller's transaction (or savepoint) on the writer connection.
pub(crate) async fn post_message_sqlite(
    tx: &mut sqlx::SqliteConnection,
    m: &NewMessage,
    decision: &str,
    now: Millis,
) -> Result<Posted> {
    // The insert checks membership and the idempotency key itself: one round trip in the
    // common case; only when it inserts nothing does a second query tell why.
    let row = sqlx::query(concat!(
        "INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
         delivered, decision, version, created_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, 1, $9 \
         WHERE EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM messages WHERE conversation_id = $1 AND author_id = $2 AND client_id = $3) \
         RETURNING ",
        msg_cols!()
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .bind(m.purpose.as_deref())
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        let row = sqlx::query(concat!(
            "SELECT k.is_member, ",
            msg_cols_x!(),
            " FROM (SELECT COUNT(*) AS is_member FROM conversation_members \
             WHERE conversation_id = $1 AND user_id = $2) AS k \
             LEFT JOIN messages x ON x.conversation_id = $1 AND x.author_id = $2 AND x.client_id = $3"
        ))
        .bind(m.conversation_id.as_str())
        .bind(m.author_id.as_str())
        .bind(m.client_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        if row.i("is_member")? == 0 {
            return Err(StoreError::NotFound("conversation"));
        }
        if row.oi("id")?.is_none() {
            // Nothing inserted, yet a member and no earlier message: cannot happen with one
            // writer; say so rather than guess.
            return Err(StoreError::Backend(BackendError::msg(
                "message insert skipped without a reason",
            )));
        }
        return Ok(Posted {
            message: message_of(&row, "")?,
            created: false,
            event_seqs: Vec::new(),
        });
    };
    let message = message_of(&row, "")?;
    let delivered = m.state == MessageState::Delivered;
    // The only statement that returns rows is the recipients' sequence update.
    let seqs = sqlx::query(
        "INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
         VALUES ($1, 1, 'created', $2, $3, $4, $5, $6, $7); \
         INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
         actor_id, surface, action, automated, decision, created_at) \
         VALUES ('message', $8, $9, $1, 1, $6, $10, $11, $12, $5, $7); \
         UPDATE conversations SET last_message_id = $1, updated_at = $7 WHERE id = $9 AND $13; \
         UPDATE users SET event_seq = event_seq + 1 WHERE id IN \
         (SELECT user_id FROM conversation_members WHERE conversation_id = $9 AND ($13 OR user_id = $6)) \
         RETURNING id, event_seq; \
         INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
         SELECT u.id, u.event_seq, 'message.created', $9, $1, NULL, $7 \
         FROM conversation_members cm JOIN users u ON u.id = cm.user_id \
         WHERE cm.conversation_id = $9 AND ($13 OR cm.user_id = $6);",
    )
    .bind(message.id)
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(m.author_id.as_str())
    .bind(now)
    .bind(message.id.to_string())
    .bind(m.conversation_id.as_str())
    .bind(m.decision.surface.as_str())
    .bind(m.decision.action.as_str())
    .bind(m.decision.automated)
    .bind(delivered)
    .fetch_all(&mut *tx)
    .await?;
    audit_post!(tx, m, message, decision, now);
    let event_seqs = seqs
        .iter()
        .map(|r| Ok((r.s("id")?, r.i("event_seq")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Posted {
        message,
        created: true,
        event_seqs,
    })
}

/// PostgreSQL's path for posting (5 round trips, commit included): lock the conversation row
/// (serialises posts per conversation, so message ids are in commit order and duplicate
/// client_ids are seen), check membership and the idempotency key with a fresh snapshot, then
/// one statement inserts the message, its first version and decision, updates the
/// conversation, and appends the events, locking recipients' user rows in byte order (the
/// order every other writer uses).
async fn post_message_pg(
    tx: &mut sqlx::PgConnection,
    m: &NewMessage,
    decision: &str,
    now: Millis,
) -> Result<Posted> {
    if sqlx::query("SELECT id FROM conversations WHERE id = $1 FOR UPDATE")
        .bind(m.conversation_id.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound("conversation"));
    }
    let row = sqlx::query(concat!(
        "SELECT k.is_member, ",
        msg_cols_x!(),
        " FROM (SELECT EXISTS (SELECT 1 FROM conversation_members \
         WHERE conversation_id = $1 AND user_id = $2) AS is_member) AS k \
         LEFT JOIN messages x ON x.conversation_id = $1 AND x.author_id = $2 AND x.client_id = $3"
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .fetch_one(&mut *tx)
    .await?;
    if !row.b("is_member")? {
        return Err(StoreError::NotFound("conversation"));
    }
    if row.oi("id")?.is_some() {
        return Ok(Posted {
            message: message_of(&row, "")?,
            created: false,
            event_seqs: Vec::new(),
        });
    }
    let row = sqlx::query(concat!(
        "WITH msg AS (INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
         delivered, decision, version, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) RETURNING *), \
         v AS (INSERT INTO message_versions (message_id, version, kind, state, original, delivered, decision, actor_id, created_at) \
           SELECT id, 1, 'created', $5, $6, $7, $8, $2, $9 FROM msg), \
         d AS (INSERT INTO decisions (subject_kind, subject_id, conversation_id, message_id, message_version, \
           actor_id, surface, action, automated, decision, created_at) \
           SELECT 'message', id::text, $1, id, 1, $2, $10, $11, $12, $8, $9 FROM msg), \
         c AS (UPDATE conversations SET last_message_id = (SELECT id FROM msg), updated_at = $9 WHERE id = $1 AND $13), \
         r AS (SELECT u.id FROM users u JOIN conversation_members cm ON cm.user_id = u.id \
           WHERE cm.conversation_id = $1 AND ($13 OR u.id = $2) ORDER BY u.id COLLATE \"C\" FOR UPDATE OF u), \
         b AS (UPDATE users SET event_seq = users.event_seq + 1 FROM r WHERE users.id = r.id \
           RETURNING users.id, users.event_seq), \
         e AS (INSERT INTO events (user_id, seq, kind, conversation_id, message_id, data, created_at) \
           SELECT b.id, b.event_seq, 'message.created', $1, (SELECT id FROM msg), NULL, $9 FROM b) \
         SELECT ",
        msg_cols!(),
        " FROM msg"
    ))
    .bind(m.conversation_id.as_str())
    .bind(m.author_id.as_str())
    .bind(m.client_id.as_str())
    .bind(m.purpose.as_deref())
    .bind(m.state.as_str())
    .bind(m.original.as_str())
    .bind(m.delivered.as_deref())
    .bind(decision)
    .bind(now)
    .bind(m.decision.surface.as_str())
    .bind(m.decision.action.as_str())
    .bind(m.decision.automated)
    .bind(m.state == MessageState::Delivered)
    .fetch_one(&mut *tx)
    .await?;
    let message = message_of(&row, "")?;
    audit_post!(tx, m, message, decision, now);
    Ok(Posted {
        message,
        created: true,
        event_seqs: Vec::new(),
    })
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
            msg_cols!()
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

impl Store {
    // ---------------------------------------------------------------- organisations & users

    /// Creates or replaces an organisation (PUT semantics).
    pub async fn put_org(&self, id: &str, input: &OrgInput) -> Result<Upserted<Org>> {
        check_id("org id", id)?;
        check_name("name", &input.name, MAX_NAME)?;
        check_name("plan", &input.plan, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let existed = sqlx::query("SELECT id FROM orgs WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO orgs (id, name, plan, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, plan = excluded.plan, \
                 updated_at = excluded.updated_at RETURNING ",
                org_cols!()
            ))
            .bind(id)
            .bind(input.name.as_str())
            .bind(input.plan.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = org_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_org(&self, id: &str) -> Result<Org> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!("SELECT ", org_cols!(), " FROM orgs WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?;
            row.as_ref()
                .map(org_of)
                .unwrap_or(Err(StoreError::NotFound("org")))
        })
    }

    /// Creates or replaces a user (PUT semantics). `org_id`, if given, must exist.
    pub async fn put_user(&self, id: &str, input: &UserInput) -> Result<Upserted<User>> {
        check_id("user id", id)?;
        check_name("name", &input.name, MAX_NAME)?;
        check_opt_id("org_id", input.org_id.as_deref())?;
        check_opt_short("country", input.country.as_deref())?;
        check_opt_short("time_zone", input.time_zone.as_deref())?;
        let roles = roles_text(&input.roles);
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            if let Some(org) = input.org_id.as_deref() {
                if sqlx::query("SELECT id FROM orgs WHERE id = $1")
                    .bind(org)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Err(StoreError::Invalid(format!("org {org:?} does not exist")));
                }
            }
            let existed = sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO users (id, name, org_id, roles, country, time_zone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, org_id = excluded.org_id, \
                 roles = excluded.roles, country = excluded.country, time_zone = excluded.time_zone, \
                 updated_at = excluded.updated_at RETURNING ",
                user_cols!()
            ))
            .bind(id)
            .bind(input.name.as_str())
            .bind(input.org_id.as_deref())
            .bind(roles.as_str())
            .bind(input.country.as_deref())
            .bind(input.time_zone.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = user_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_user(&self, id: &str) -> Result<User> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                user_cols!(),
                " FROM users WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(user_of)
                .unwrap_or(Err(StoreError::NotFound("user")))
        })
    }

    /// Creates or replaces a user's profile. The user must exist.
    pub async fn put_profile(
        &self,
        user_id: &str,
        input: &ProfileInput,
    ) -> Result<Upserted<Profile>> {
        check_id("user id", user_id)?;
        check_text("headline", &input.headline)?;
        check_text("bio", &input.bio)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            if sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound("user"));
            }
            let existed = sqlx::query("SELECT user_id FROM profiles WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO profiles (user_id, headline, bio, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (user_id) DO UPDATE SET headline = excluded.headline, bio = excluded.bio, \
                 updated_at = excluded.updated_at RETURNING ",
                profile_cols!()
            ))
            .bind(user_id)
            .bind(input.headline.as_str())
            .bind(input.bio.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = profile_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_profile(&self, user_id: &str) -> Result<Profile> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                profile_cols!(),
                " FROM profiles WHERE user_id = $1"
            ))
            .bind(user_id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(profile_of)
                .unwrap_or(Err(StoreError::NotFound("profile")))
        })
    }

    // ---------------------------------------------------------------- jobs, proposals, invites, contracts

    /// Creates or replaces a job post. Its org (and author, if given) must exist.
    pub async fn put_job(&self, id: &str, input: &JobInput) -> Result<Upserted<Job>> {
        check_id("job id", id)?;
        check_id("org_id", &input.org_id)?;
        check_opt_id("author_id", input.author_id.as_deref())?;
        check_name("title", &input.title, MAX_NAME * 2)?;
        check_text("description", &input.description)?;
        let status = or_default(&input.status, "open");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let existed = sqlx::query("SELECT id FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO jobs (id, org_id, author_id, title, description, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                 ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, author_id = excluded.author_id, \
                 title = excluded.title, description = excluded.description, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                job_cols!()
            ))
            .bind(id)
            .bind(input.org_id.as_str())
            .bind(input.author_id.as_deref())
            .bind(input.title.as_str())
            .bind(input.description.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = job_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_job(&self, id: &str) -> Result<Job> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!("SELECT ", job_cols!(), " FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(p)
                .await?;
            row.as_ref()
                .map(job_of)
                .unwrap_or(Err(StoreError::NotFound("job")))
        })
    }

    /// Creates or replaces a proposal. Its job and freelancer must exist.
    pub async fn put_proposal(
        &self,
        id: &str,
        input: &ProposalInput,
    ) -> Result<Upserted<Proposal>> {
        check_id("proposal id", id)?;
        check_id("job_id", &input.job_id)?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_text("cover_letter", &input.cover_letter)?;
        let status = or_default(&input.status, "submitted");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let existed = sqlx::query("SELECT id FROM proposals WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO proposals (id, job_id, freelancer_id, cover_letter, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, freelancer_id = excluded.freelancer_id, \
                 cover_letter = excluded.cover_letter, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                proposal_cols!()
            ))
            .bind(id)
            .bind(input.job_id.as_str())
            .bind(input.freelancer_id.as_str())
            .bind(input.cover_letter.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = proposal_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_proposal(&self, id: &str) -> Result<Proposal> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                proposal_cols!(),
                " FROM proposals WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(proposal_of)
                .unwrap_or(Err(StoreError::NotFound("proposal")))
        })
    }

    /// Creates or replaces an invite. Its org, freelancer (and job, sender, if given) must exist.
    pub async fn put_invite(&self, id: &str, input: &InviteInput) -> Result<Upserted<Invite>> {
        check_id("invite id", id)?;
        check_opt_id("job_id", input.job_id.as_deref())?;
        check_id("org_id", &input.org_id)?;
        check_opt_id("sender_id", input.sender_id.as_deref())?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_text("message", &input.message)?;
        let status = or_default(&input.status, "sent");
        check_name("status", status, MAX_SHORT)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let existed = sqlx::query("SELECT id FROM invites WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO invites (id, job_id, org_id, sender_id, freelancer_id, message, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (id) DO UPDATE SET job_id = excluded.job_id, org_id = excluded.org_id, \
                 sender_id = excluded.sender_id, freelancer_id = excluded.freelancer_id, \
                 message = excluded.message, status = excluded.status, \
                 updated_at = excluded.updated_at RETURNING ",
                invite_cols!()
            ))
            .bind(id)
            .bind(input.job_id.as_deref())
            .bind(input.org_id.as_str())
            .bind(input.sender_id.as_deref())
            .bind(input.freelancer_id.as_str())
            .bind(input.message.as_str())
            .bind(status)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = invite_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_invite(&self, id: &str) -> Result<Invite> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                invite_cols!(),
                " FROM invites WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(invite_of)
                .unwrap_or(Err(StoreError::NotFound("invite")))
        })
    }

    /// Creates or replaces a contract between a client organisation and a freelancer.
    pub async fn put_contract(
        &self,
        id: &str,
        input: &ContractInput,
    ) -> Result<Upserted<Contract>> {
        check_id("contract id", id)?;
        check_id("client_org_id", &input.client_org_id)?;
        check_id("freelancer_id", &input.freelancer_id)?;
        check_opt_id("job_id", input.job_id.as_deref())?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let existed = sqlx::query("SELECT id FROM contracts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            let row = sqlx::query(concat!(
                "INSERT INTO contracts (id, client_org_id, freelancer_id, status, job_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) \
                 ON CONFLICT (id) DO UPDATE SET client_org_id = excluded.client_org_id, \
                 freelancer_id = excluded.freelancer_id, status = excluded.status, job_id = excluded.job_id, \
                 updated_at = excluded.updated_at RETURNING ",
                contract_cols!()
            ))
            .bind(id)
            .bind(input.client_org_id.as_str())
            .bind(input.freelancer_id.as_str())
            .bind(input.status.as_str())
            .bind(input.job_id.as_deref())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let value = contract_of(&row)?;
            tx.commit().await?;
            Ok(Upserted {
                value,
                created: !existed,
            })
        })
    }

    pub async fn get_contract(&self, id: &str) -> Result<Contract> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                contract_cols!(),
                " FROM contracts WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(contract_of)
                .unwrap_or(Err(StoreError::NotFound("contract")))
        })
    }

    // ---------------------------------------------------------------- relationship stage

    /// The stage between a client organisation and a freelancer: `active_contract` if any
    /// contract is active, `ended_contract` if any ended and none active, else `pre_contract`.
    pub async fn stage(&self, client_org_id: &str, freelancer_id: &str) -> Result<Stage> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), 0) AS active, \
                 COALESCE(SUM(CASE WHEN status = 'ended' THEN 1 ELSE 0 END), 0) AS ended \
                 FROM contracts WHERE client_org_id = $1 AND freelancer_id = $2",
            )
            .bind(client_org_id)
            .bind(freelancer_id)
            .fetch_one(p)
            .await?;
            Ok(Stage::from_counts(row.i("active")?, row.i("ended")?))
        })
    }

    /// For `sender` in `conversation_id`: every other member with the stage between them, from
    /// the contracts in either direction (sender's org as client and member as freelancer, or
    /// member's org as client and sender as freelancer). NotFound unless the sender is a member.
    /// The strictest wins: `Stage::strictest(result.iter().map(|m| m.stage))`.
    pub async fn member_stages(
        &self,
        conversation_id: &str,
        sender_id: &str,
    ) -> Result<Vec<MemberStage>> {
        on_read!(self, |p| {
            let sender = sqlx::query(
                "SELECT u.org_id FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.conversation_id = $1 AND m.user_id = $2",
            )
            .bind(conversation_id)
            .bind(sender_id)
            .fetch_optional(p)
            .await?
            .ok_or(StoreError::NotFound("conversation"))?;
            let sender_org = sender.os("org_id")?;
            let rows = sqlx::query(
                "SELECT u.id, u.org_id, u.roles, \
                 COALESCE(SUM(CASE WHEN c.status = 'active' THEN 1 ELSE 0 END), 0) AS active, \
                 COALESCE(SUM(CASE WHEN c.status = 'ended' THEN 1 ELSE 0 END), 0) AS ended \
                 FROM conversation_members m JOIN users u ON u.id = m.user_id \
                 LEFT JOIN contracts c ON ((c.client_org_id = $2 AND c.freelancer_id = u.id) \
                   OR (c.client_org_id = u.org_id AND c.freelancer_id = $3)) \
                 WHERE m.conversation_id = $1 AND m.user_id <> $3 \
                 GROUP BY u.id, u.org_id, u.roles ORDER BY u.id",
            )
            .bind(conversation_id)
            .bind(sender_org.as_deref())
            .bind(sender_id)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let org_id = r.os("org_id")?;
                    Ok(MemberStage {
                        user_id: r.s("id")?,
                        same_org: org_id.is_some() && org_id == sender_org,
                        org_id,
                        roles: roles_parse(&r.s("roles")?),
                        stage: Stage::from_counts(r.i("active")?, r.i("ended")?),
                    })
                })
                .collect()
        })
    }

    // ---------------------------------------------------------------- conversations

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
            let mut tx = p.begin_write().await?;
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
                conv_cols!()
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

    /// Several users at once (unknown ids are skipped), ordered by id; at most 1000 ids.
    pub async fn get_users(&self, ids: &[String]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > 1000 {
            return Err(StoreError::Invalid("at most 1000 ids at once".into()));
        }
        let sql = format!(
            concat!(
                "SELECT ",
                user_cols!(),
                " FROM users WHERE id IN ({}) ORDER BY id"
            ),
            placeholders(1, ids.len())
        );
        on_read!(self, |p| {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            let rows = q.fetch_all(p).await?;
            rows.iter().map(user_of).collect()
        })
    }

    // ---------------------------------------------------------------- messages

    /// Stores a message (and its first version and decision) and appends `message.created` to
    /// every member's event log (only the author's when held). Idempotent on
    /// (conversation, author, client_id): a retry returns the stored message with
    /// `created == false`. NotFound unless the author is a member.
    pub async fn post_message(&self, m: &NewMessage) -> Result<Posted> {
        check_id("client_id", &m.client_id)?;
        check_text("body", &m.original)?;
        if let Some(d) = m.delivered.as_deref() {
            check_text("delivered text", d)?;
        }
        check_opt_short("purpose", m.purpose.as_deref())?;
        match (m.state, m.delivered.is_some()) {
            (MessageState::Delivered, true) | (MessageState::Held, _) => {}
            (MessageState::Delivered, false) => {
                return Err(StoreError::Invalid(
                    "a delivered message needs its delivered text".into(),
                ))
            }
            (MessageState::Rejected, _) => {
                return Err(StoreError::Invalid(
                    "a new message is delivered or held".into(),
                ))
            }
        }
        let decision = json_text(&m.decision.decision)?;
        let now = m.created_at.unwrap_or_else(now_ms);
        match &self.backend {
            Backend::Sqlite { writer, .. } => writer.post(m, decision, now).await,
            Backend::Postgres(p) => {
                let mut tx = p.begin_write().await?;
                let r = post_message_pg(&mut tx, m, &decision, now).await?;
                tx.commit().await?;
                Ok(r)
            }
        }
    }

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
                msg_cols!(),
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
                        msg_cols!(),
                        " FROM messages WHERE conversation_id = $1 AND id > $2 \
                         AND (state = 'delivered' OR author_id = $3) ORDER BY id ASC LIMIT $4"
                    ),
                    after,
                ),
                None => (
                    concat!(
                        "SELECT ",
                        msg_cols!(),
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
            let mut tx = p.begin_write().await?;
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
                msg_cols!()
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
            let mut tx = p.begin_write().await?;
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
                msg_cols!()
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
            let mut tx = p.begin_write().await?;
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
                version_cols!(),
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
                msg_cols!(),
                " FROM messages WHERE state = 'held' AND deleted_at IS NULL ORDER BY id LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(|r| message_of(r, "")).collect()
        })
    }

    // ---------------------------------------------------------------- read markers

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
            let mut tx = p.begin_write().await?;
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

    // ---------------------------------------------------------------- decisions

    /// Records a policy decision not tied to a stored message (profile, job, proposal, invite
    /// texts, rejected messages, draft checks). Returns its id.
    pub async fn record_decision(&self, d: &NewDecision) -> Result<i64> {
        check_name("subject_kind", &d.subject_kind, MAX_SHORT)?;
        check_name("surface", &d.decision.surface, MAX_SHORT)?;
        check_name("action", &d.decision.action, MAX_SHORT)?;
        let json = json_text(&d.decision.decision)?;
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            let id = insert_decision!(
                tx,
                d.subject_kind.as_str(),
                d.subject_id.as_deref(),
                d.conversation_id.as_deref(),
                d.message_id,
                d.message_version,
                d.actor_id.as_deref(),
                d.decision,
                json.as_str(),
                now
            );
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
                decision_cols!(),
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
                decision_cols!(),
                " FROM decisions WHERE actor_id = $1 ORDER BY id DESC LIMIT $2"
            ))
            .bind(actor_id)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(decision_of).collect()
        })
    }

    // ---------------------------------------------------------------- tokens

    /// Issues a random token for a user (256 bits, `pt_` + hex); only its SHA-256 is stored.
    pub async fn create_token(
        &self,
        user_id: &str,
        expires_at: Millis,
        label: Option<&str>,
    ) -> Result<IssuedToken> {
        if let Some(l) = label {
            check_name("label", l, MAX_NAME)?;
        }
        let token = format!("pt_{}", random_hex(32)?);
        let hash = token_hash(&token);
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write().await?;
            if sqlx::query("SELECT id FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound("user"));
            }
            let row = sqlx::query(concat!(
                "INSERT INTO tokens (hash, user_id, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ",
                token_cols!()
            ))
            .bind(hash.as_str())
            .bind(user_id)
            .bind(label)
            .bind(now)
            .bind(expires_at)
            .fetch_one(&mut *tx)
            .await?;
            let info = token_of(&row)?;
            tx.commit().await?;
            Ok(IssuedToken { token, info })
        })
    }

    /// The token's record if it is known, not revoked and not expired at `now`; otherwise
    /// NotFound("token") (the same answer for every failure, so nothing leaks).
    pub async fn authenticate(&self, token: &str, now: Millis) -> Result<TokenInfo> {
        if token.is_empty() || token.len() > 256 {
            return Err(StoreError::NotFound("token"));
        }
        let hash = token_hash(token);
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                token_cols!(),
                " FROM tokens WHERE hash = $1"
            ))
            .bind(hash.as_str())
            .fetch_optional(p)
            .await?;
            let info = match row {
                Some(r) => token_of(&r)?,
                None => return Err(StoreError::NotFound("token")),
            };
            if info.revoked_at.is_some() || info.expires_at <= now {
                return Err(StoreError::NotFound("token"));
            }
            Ok(info)
        })
    }

    /// Revokes a token by its value. NotFound if unknown; revoking twice is a no-op.
    pub async fn revoke_token(&self, token: &str) -> Result<()> {
        self.revoke_token_id(&token_hash(token)).await
    }

    /// Revokes a token by its id (its hash, as in [`TokenInfo::id`]).
    pub async fn revoke_token_id(&self, id: &str) -> Result<()> {
        let now = now_ms();
        on_write!(self, |p| {
            let n = sqlx::query(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE hash = $1",
            )
            .bind(id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound("token"));
            }
            Ok(())
        })
    }

    /// Revokes every live token of a user; returns how many.
    pub async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64> {
        let now = now_ms();
        on_write!(self, |p| {
            Ok(sqlx::query(
                "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected())
        })
    }

    /// A user's tokens (without the secrets), newest first.
    pub async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                token_cols!(),
                " FROM tokens WHERE user_id = $1 ORDER BY created_at DESC, hash"
            ))
            .bind(user_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(token_of).collect()
        })
    }

    // ---------------------------------------------------------------- events

    /// The user's events after `cursor` (0 for all), oldest first, at most `limit`.
    pub async fn events_since(&self, user_id: &str, cursor: i64, limit: u32) -> Result<Vec<Event>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT seq, kind, conversation_id, message_id, data, created_at FROM events \
                 WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(user_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(event_of).collect()
        })
    }

    /// Like [`Store::events_since`], each event with its message as `user_id` may see it (the
    /// rule of [`Store::get_message`]: a member, and the message delivered or their own), in one
    /// query: the hot path of live delivery. `None` when the event has no message or the user may
    /// not see it.
    pub async fn events_with_messages(
        &self,
        user_id: &str,
        cursor: i64,
        limit: u32,
    ) -> Result<Vec<(Event, Option<Message>)>> {
        let limit = page_limit(limit);
        on_read!(self, |p| {
            let rows = sqlx::query(
                "SELECT e.seq, e.kind, e.conversation_id, e.message_id, e.data, e.created_at, \
                 (cm.user_id IS NOT NULL) AS viewer_is_member, \
                 x.id AS m_id, x.conversation_id AS m_conversation_id, x.author_id AS m_author_id, \
                 x.client_id AS m_client_id, x.purpose AS m_purpose, x.state AS m_state, \
                 x.original AS m_original, x.delivered AS m_delivered, x.decision AS m_decision, \
                 x.version AS m_version, x.created_at AS m_created_at, x.edited_at AS m_edited_at, \
                 x.deleted_at AS m_deleted_at \
                 FROM events e LEFT JOIN messages x ON x.id = e.message_id \
                 LEFT JOIN conversation_members cm \
                   ON cm.conversation_id = x.conversation_id AND cm.user_id = e.user_id \
                 WHERE e.user_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
            )
            .bind(user_id)
            .bind(cursor)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter()
                .map(|r| {
                    let e = event_of(r)?;
                    let m = if r.oi("m_id")?.is_some() && r.b("viewer_is_member")? {
                        Some(message_of(r, "m_")?).filter(|m| m.visible_to(user_id))
                    } else {
                        None
                    };
                    Ok((e, m))
                })
                .collect()
        })
    }

    /// The user's latest event sequence number (the cursor to resume from).
    pub async fn event_cursor(&self, user_id: &str) -> Result<i64> {
        on_read!(self, |p| {
            let seq: Option<i64> = sqlx::query_scalar("SELECT event_seq FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(p)
                .await?;
            seq.ok_or(StoreError::NotFound("user"))
        })
    }

    /// Deletes events older than `before` (retention); returns how many.
    pub async fn prune_events(&self, before: Millis) -> Result<u64> {
        on_write!(self, |p| {
            Ok(sqlx::query("DELETE FROM events WHERE created_at < $1")
                .bind(before)
                .execute(p)
                .await?
                .rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("id", "org_1").is_ok());
        assert!(check_id("id", "").is_err());
        assert!(check_id("id", "a b").is_err());
        assert!(check_id("id", "a\u{0}").is_err());
        assert!(check_id("id", &"x".repeat(129)).is_err());
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn roles_round_trip() {
        let r = roles_text(&[Role::Freelancer, Role::Client, Role::Client]);
        assert_eq!(r, "client,freelancer");
        assert_eq!(roles_parse(&r), vec![Role::Client, Role::Freelancer]);
        assert_eq!(roles_parse(""), Vec::<Role>::new());
    }

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

    #[test]
    fn stage_order() {
        assert_eq!(Stage::from_counts(1, 3), Stage::ActiveContract);
        assert_eq!(Stage::from_counts(0, 1), Stage::EndedContract);
        assert_eq!(Stage::from_counts(0, 0), Stage::PreContract);
        assert_eq!(
            Stage::strictest([Stage::ActiveContract, Stage::PreContract]),
            Some(Stage::PreContract)
        );
    }
}
