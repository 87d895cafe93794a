//! The tamper-evident audit trail: an append-only log (`audit_log`) whose entries are chained by
//! SHA-256, so that editing, removing or reordering an entry is detected by
//! [`Store::verify_audit`].
//!
//! Each entry is `(seq, at, kind, actor_id, subject, data, prev_hash, hash)`:
//! - `seq` is gap-free from 1 and in commit order (appends serialise on the one-row
//!   `audit_head`: its row lock on PostgreSQL, the single writer connection on SQLite);
//! - `at` is Unix milliseconds; `actor_id` is `None` for automated entries;
//! - `subject` names what the entry is about (`message:123`, `user:diego`, `conversation:c_..`);
//! - `data` is canonical JSON text ([`canonical_json`]);
//! - `prev_hash` is the previous entry's `hash` ([`GENESIS_HASH`] for the first one);
//! - `hash` is [`entry_hash`]: lowercase hex SHA-256 of the compact JSON array
//!   `[seq, at, kind, actor_id|null, subject, data, prev_hash]`, with `data` as a JSON string
//!   holding the stored text exactly (serde_json's compact output: no spaces, only `"`, `\` and
//!   control characters escaped).
//!
//! Writers inside the store append with the [`audit_append!`] macro, in the caller's
//! transaction, so an entry commits or rolls back with the change it records.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Result, StoreError};
use crate::model::{now_ms, Millis};
use crate::sql::BeginWrite;
use crate::{Backend, Store};

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Largest `data` (canonical JSON text) of one entry, in bytes.
pub const MAX_AUDIT_DATA: usize = 64 * 1024;
const MAX_KIND: usize = 64;
const MAX_SUBJECT: usize = 256;
const MAX_ACTOR: usize = 128;
/// Entries read per query while verifying (memory stays bounded whatever the log's length).
const VERIFY_PAGE: i64 = 1000;

/// Appends one entry to the audit log inside the caller's write transaction and evaluates to
/// its `seq` (`i64`). Usable in any store function that returns `Result<_, StoreError>`, on
/// either backend (`$tx` is a `sqlx::Transaction` or `&mut` connection of SQLite or PostgreSQL):
///
/// ```ignore
/// audit_append!(tx, kind: &str, actor: Option<&str>, subject: &str or String, data: &serde_json::Value, now: i64) -> i64
/// ```
///
/// `Invalid` when the kind, actor, subject or data are malformed or too large (nothing written).
macro_rules! audit_append {
    ($tx:expr, $kind:expr, $actor:expr, $subject:expr, $data:expr, $now:expr) => {{
        let audit_kind: &str = $kind;
        let audit_actor: ::std::option::Option<&str> = $actor;
        let audit_subject_text = $subject;
        let audit_subject: &str = ::std::convert::AsRef::<str>::as_ref(&audit_subject_text);
        let audit_data: &::serde_json::Value = $data;
        let audit_at: i64 = $now;
        let audit_text =
            $crate::audit::check_entry(audit_kind, audit_actor, audit_subject, audit_data)?;
        // Takes the head's row lock (PostgreSQL) before reading it: appends are serialised.
        let (audit_head_seq, audit_prev): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
                .fetch_one(&mut *$tx)
                .await?;
        let audit_seq = audit_head_seq + 1;
        let audit_hash = $crate::audit::entry_hash(
            audit_seq,
            audit_at,
            audit_kind,
            audit_actor,
            audit_subject,
            &audit_text,
            &audit_prev,
        );
        // A trigger moves audit_head to this entry.
        sqlx::query(
            "INSERT INTO audit_log (seq, at, kind, actor_id, subject, data, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(audit_seq)
        .bind(audit_at)
        .bind(audit_kind)
        .bind(audit_actor)
        .bind(audit_subject)
        .bind(audit_text.as_str())
        .bind(audit_prev.as_str())
        .bind(audit_hash.as_str())
        .execute(&mut *$tx)
        .await?;
        // The operator events this entry is (webhooks, the feed), in the same transaction.
        for (ob_type, ob_data) in
            $crate::outbox::events_of_audit(audit_kind, audit_subject, audit_actor, audit_data)
        {
            outbox_emit!($tx, ob_type, &ob_data, audit_at);
        }
        audit_seq
    }};
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// Unix milliseconds.
    pub at: Millis,
    /// `decision`, `report`, `appeal`, `enforcement`, `export`, `policy`...
    pub kind: String,
    /// The person who acted; `None` for automated entries.
    pub actor_id: Option<String>,
    /// What the entry is about: `message:123`, `user:diego`, `conversation:c_..`.
    pub subject: String,
    /// The entry's data (parsed from its stored canonical JSON text).
    pub data: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditVerification {
    /// Entries checked and found intact (all of them when `first_bad` is `None`).
    pub entries: u64,
    /// The first entry that fails, with the reason: changed content, a broken link to the
    /// previous entry, or a missing entry (then `seq` is the first missing one).
    pub first_bad: Option<(i64, String)>,
    /// The hash of the last intact entry ([`GENESIS_HASH`] when empty). Recording it outside
    /// the database (a log, a ticket) lets a later check prove the log was not rewritten from
    /// that point on, which the chain alone cannot (someone able to rewrite the whole tail and
    /// the head would go unnoticed).
    pub last_hash: String,
}

/// Canonical JSON text of a value: compact, object keys sorted (by bytes), whatever order
/// the value was built in (independent of serde_json's `preserve_order` feature).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = map.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Lowercase hex SHA-256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The hash of an entry: SHA-256 over the compact JSON array
/// `[seq, at, kind, actor|null, subject, data, prev_hash]` (`data` as a JSON string).
pub fn entry_hash(
    seq: i64,
    at: i64,
    kind: &str,
    actor: Option<&str>,
    subject: &str,
    data: &str,
    prev_hash: &str,
) -> String {
    let encoded = Value::Array(vec![
        Value::from(seq),
        Value::from(at),
        Value::from(kind),
        actor.map_or(Value::Null, Value::from),
        Value::from(subject),
        Value::from(data),
        Value::from(prev_hash),
    ])
    .to_string();
    sha256_hex(encoded.as_bytes())
}

/// Validates an entry and returns its data as canonical JSON text.
pub(crate) fn check_entry(
    kind: &str,
    actor: Option<&str>,
    subject: &str,
    data: &Value,
) -> Result<String> {
    if kind.is_empty()
        || kind.len() > MAX_KIND
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(StoreError::Invalid(format!(
            "audit kind must be 1 to {MAX_KIND} characters among a-z 0-9 . _ -"
        )));
    }
    if let Some(a) = actor {
        if a.is_empty()
            || a.len() > MAX_ACTOR
            || a.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(StoreError::Invalid(format!(
                "audit actor must be 1 to {MAX_ACTOR} bytes without spaces"
            )));
        }
    }
    if subject.is_empty() || subject.len() > MAX_SUBJECT || subject.chars().any(|c| c.is_control())
    {
        return Err(StoreError::Invalid(format!(
            "audit subject must be 1 to {MAX_SUBJECT} bytes without control characters"
        )));
    }
    let text = canonical_json(data);
    if text.len() > MAX_AUDIT_DATA {
        return Err(StoreError::Invalid(format!(
            "audit data must be at most {MAX_AUDIT_DATA} bytes"
        )));
    }
    Ok(text)
}

/// Data of a decision's audit entry: the decision's record without its JSON, which may quote
/// contact details the user wrote (personal data has no place in a log nobody can erase); the
/// JSON is bound to the chain by its SHA-256 (`decision_sha256`, over the text stored in
/// `decisions.decision`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decision_data(
    decision_id: i64,
    subject_kind: &str,
    subject_id: Option<&str>,
    conversation_id: Option<&str>,
    message_id: Option<i64>,
    message_version: Option<i64>,
    actor_id: Option<&str>,
    surface: &str,
    action: &str,
    automated: bool,
    decision_text: &str,
) -> Value {
    serde_json::json!({
        "decision_id": decision_id,
        "subject_kind": subject_kind,
        "subject_id": subject_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "message_version": message_version,
        "actor_id": actor_id,
        "surface": surface,
        "action": action,
        "automated": automated,
        "decision_sha256": sha256_hex(decision_text.as_bytes()),
    })
}

/// The audit subject of a decision: `message:<id>` for messages, else `<kind>:<id>` or `<kind>`.
pub(crate) fn decision_subject(
    subject_kind: &str,
    subject_id: Option<&str>,
    message_id: Option<i64>,
) -> String {
    match (message_id, subject_id) {
        (Some(m), _) => format!("message:{m}"),
        (None, Some(id)) => format!("{subject_kind}:{id}"),
        (None, None) => subject_kind.to_string(),
    }
}

type RawEntry = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
);

fn entry_of(r: RawEntry) -> AuditEntry {
    let (seq, at, kind, actor_id, subject, data, prev_hash, hash) = r;
    let data = serde_json::from_str(&data).unwrap_or(Value::String(data));
    AuditEntry {
        seq,
        at,
        kind,
        actor_id,
        subject,
        data,
        prev_hash,
        hash,
    }
}

const ENTRY_COLS: &str = "seq, at, kind, actor_id, subject, data, prev_hash, hash";

/// Checks a page of stored entries against the chain so far.
struct Verifier {
    next_seq: i64,
    prev_hash: String,
    entries: u64,
}

impl Verifier {
    /// `Err((seq, reason))` at the first entry that fails.
    fn check(&mut self, r: &RawEntry) -> std::result::Result<(), (i64, String)> {
        let (seq, at, kind, actor, subject, data, prev_hash, hash) = r;
        if *seq < self.next_seq {
            return Err((
                *seq,
                format!("unexpected entry with seq {seq} (entries start at 1 and never repeat)"),
            ));
        }
        if *seq != self.next_seq {
            return Err((
                self.next_seq,
                format!(
                    "entry {} is missing (the next stored entry is {seq})",
                    self.next_seq
                ),
            ));
        }
        if *prev_hash != self.prev_hash {
            return Err((
                *seq,
                format!(
                    "{kind} entry: prev_hash does not match the hash of entry {} (an entry was changed, removed or inserted before it)",
                    seq - 1
                ),
            ));
        }
        let computed = entry_hash(*seq, *at, kind, actor.as_deref(), subject, data, prev_hash);
        if computed != *hash {
            return Err((
                *seq,
                format!(
                    "{kind} entry: its content does not match its hash (the entry was changed)"
                ),
            ));
        }
        self.next_seq += 1;
        self.prev_hash.clone_from(hash);
        self.entries += 1;
        Ok(())
    }
}

impl Store {
    /// Appends one entry to the audit log in its own transaction; returns its `seq`.
    /// `actor` is `None` for automated entries. `Invalid` when malformed or too large.
    pub async fn append_audit(
        &self,
        kind: &str,
        actor: Option<&str>,
        subject: &str,
        data: &Value,
    ) -> Result<i64> {
        let now = now_ms();
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let seq = audit_append!(tx, kind, actor, subject, data, now);
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// Up to `limit` entries (default 50, at most 500) with `seq > after_seq`, oldest first.
    pub async fn audit_entries(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        let limit = match limit {
            0 => 50,
            n => i64::from(n.min(500)),
        };
        let sql =
            format!("SELECT {ENTRY_COLS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        on_read!(self, |p| {
            let rows: Vec<RawEntry> = sqlx::query_as(&sql)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(p)
                .await?;
            Ok(rows.into_iter().map(entry_of).collect())
        })
    }

    /// The most recent entry about `subject` (e.g. `policy`, `conversation:c_..`), if any.
    pub async fn latest_audit_entry(&self, subject: &str) -> Result<Option<AuditEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLS} FROM audit_log WHERE subject = $1 ORDER BY seq DESC LIMIT 1"
        );
        on_read!(self, |p| {
            let row: Option<RawEntry> =
                sqlx::query_as(&sql).bind(subject).fetch_optional(p).await?;
            Ok(row.map(entry_of))
        })
    }

    /// The last `seq` and `hash` of the log (`(0, GENESIS_HASH)` when empty), as recorded in
    /// the head row.
    pub async fn audit_head(&self) -> Result<(i64, String)> {
        on_read!(self, |p| {
            let head: (i64, String) =
                sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(p)
                    .await?;
            Ok(head)
        })
    }

    /// Recomputes the whole chain, reading it in pages (constant memory), up to the head as it
    /// was when the check started (entries appended meanwhile are left for the next check).
    /// Reports the first entry that fails: changed content, a broken link, a missing entry
    /// (also at the end: the head records more entries than the log holds).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let (head_seq, head_hash) = match self.audit_head().await {
            Ok(h) => h,
            Err(StoreError::NotFound(_)) => {
                return Ok(AuditVerification {
                    entries: 0,
                    first_bad: Some((1, "the audit head row is missing".into())),
                    last_hash: GENESIS_HASH.into(),
                })
            }
            Err(e) => return Err(e),
        };
        let sql = format!(
            "SELECT {ENTRY_COLS} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        );
        let mut v = Verifier {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            entries: 0,
        };
        let done = |v: Verifier, bad: Option<(i64, String)>| AuditVerification {
            entries: v.entries,
            first_bad: bad,
            last_hash: v.prev_hash,
        };
        // Entries stored with seq < 1 (impossible through the store) are reported too.
        loop {
            let page: Vec<RawEntry> = on_read!(self, |p| {
                sqlx::query_as(&sql)
                    .bind(if v.next_seq == 1 {
                        i64::MIN
                    } else {
                        v.next_seq
                    })
                    .bind(head_seq)
                    .bind(VERIFY_PAGE)
                    .fetch_all(p)
                    .await?
            });
            let n = page.len();
            for r in &page {
                if let Err(bad) = v.check(r) {
                    return Ok(done(v, Some(bad)));
                }
            }
            if (n as i64) < VERIFY_PAGE {
                break;
            }
        }
        if v.next_seq <= head_seq {
            let bad = (
                v.next_seq,
                format!(
                    "entries {} to {head_seq} are missing (the log ends at {})",
                    v.next_seq,
                    v.next_seq - 1
                ),
            );
            return Ok(done(v, Some(bad)));
        }
        if v.prev_hash != head_hash {
            let bad = (
                head_seq,
                "the head's hash does not match the last entry (the last entry was replaced)"
                    .to_string(),
            );
            return Ok(done(v, Some(bad)));
        }
        Ok(done(v, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_is_compact() {
        let v = json!({"b": 1, "a": {"d": [1, "x"], "c": null}, "é": "\"q\""});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"d":[1,"x"]},"b":1,"é":"\"q\""}"#
        );
    }

    #[test]
    fn entry_hash_is_sha256_of_the_json_array() {
        let h = entry_hash(1, 5, "decision", None, "message:1", "{}", GENESIS_HASH);
        let expected = sha256_hex(
            format!(r#"[1,5,"decision",null,"message:1","{{}}","{GENESIS_HASH}"]"#).as_bytes(),
        );
        assert_eq!(h, expected);
        // Every field counts.
        assert_ne!(
            h,
            entry_hash(1, 5, "decision", Some("x"), "message:1", "{}", GENESIS_HASH)
        );
        assert_ne!(
            h,
            entry_hash(2, 5, "decision", None, "message:1", "{}", GENESIS_HASH)
        );
        // No ambiguity between fields: moving text from one field to the next changes the hash.
        assert_ne!(
            entry_hash(1, 5, "a", None, "bc", "{}", GENESIS_HASH),
            entry_hash(1, 5, "ab", None, "c", "{}", GENESIS_HASH)
        );
    }

    #[test]
    fn entries_are_validated() {
        let d = json!({});
        assert!(check_entry("decision", None, "message:1", &d).is_ok());
        assert!(check_entry("", None, "message:1", &d).is_err());
        assert!(check_entry("Decision", None, "message:1", &d).is_err());
        assert!(check_entry("decision", Some(""), "message:1", &d).is_err());
        assert!(check_entry("decision", Some("a b"), "message:1", &d).is_err());
        assert!(check_entry("decision", None, "", &d).is_err());
        assert!(check_entry("decision", None, "a\nb", &d).is_err());
        let big = json!({"x": "y".repeat(MAX_AUDIT_DATA)});
        assert!(check_entry("decision", None, "message:1", &big).is_err());
        // Control characters in data are escaped in the JSON text (storable on PostgreSQL).
        let nul = check_entry("decision", None, "message:1", &json!({"x": "a\u{0}b"})).unwrap();
        assert_eq!(nul, r#"{"x":"a\u0000b"}"#);
    }
}
