//! The outbox of operator events (the webhooks' source and the operator event feed): each event
//! is written in the transaction of the change it reports, with one pending delivery per
//! enabled webhook endpoint that subscribes to its type ([`outbox_emit!`]).
//!
//! Most events come from the audit trail: [`audit_append!`] hands every entry to
//! [`events_of_audit`], which says which operator events (if any) the entry is, so a change that
//! is audited is reported in its own transaction whatever path made it. A capability adds an
//! event type with one line in [`EVENT_TYPES`] (and, when its change is audited, one arm in
//! [`events_of_audit`]; otherwise one `outbox_emit!` beside its write).
//!
//! Event data never carries a message's text nor the contact details that were detected: ids,
//! actions, categories and times only.

use serde_json::{json, Value};

/// Every event type a webhook endpoint can subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "conversation.created",
    "message.created",
    "message.blocked",
    "message.masked",
    "message.held",
    "message.released",
    "report.created",
    "review.decided",
    "enforcement.created",
    "enforcement.lifted",
    "appeal.created",
    "appeal.decided",
    "user.restricted",
    "file.held",
    "file.infected",
    "call.ended",
    "webhook.endpoint.disabled",
    "webhook.test",
];

/// Writes one operator event and its deliveries inside the caller's write transaction;
/// evaluates to the event's feed position (`i64`).
///
/// ```ignore
/// outbox_emit!(tx, type: &str, data: &serde_json::Value, now: i64) -> i64
/// outbox_emit!(tx, type, data, now, only: endpoint_id)   // one endpoint (test events)
/// ```
macro_rules! outbox_emit {
    ($tx:expr, $type:expr, $data:expr, $now:expr) => {
        outbox_emit!($tx, $type, $data, $now, only: ::std::option::Option::<&str>::None)
    };
    ($tx:expr, $type:expr, $data:expr, $now:expr, only: $only:expr) => {{
        let ob_type: &str = $type;
        let ob_data: &::serde_json::Value = $data;
        let ob_now: i64 = $now;
        let ob_only: ::std::option::Option<&str> = $only;
        let ob_event_id = format!("msg_{}", $crate::sql::random_hex(16)?);
        let ob_text = ob_data.to_string();
        let ob_seq: i64 = sqlx::query_scalar(
            "INSERT INTO operator_events (event_id, type, data, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(ob_event_id.as_str())
        .bind(ob_type)
        .bind(ob_text.as_str())
        .bind(ob_now)
        .fetch_one(&mut *$tx)
        .await?;
        sqlx::query(
            "INSERT INTO webhook_deliveries \
             (endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at) \
             SELECT id, $1, 'pending', 0, $2, $2, $2 FROM webhook_endpoints \
             WHERE ($4 IS NULL AND disabled_at IS NULL AND (events = '' OR events LIKE $3)) \
                OR id = $4",
        )
        .bind(ob_seq)
        .bind(ob_now)
        .bind(format!("%,{ob_type},%"))
        .bind(ob_only)
        .execute(&mut *$tx)
        .await?;
        ob_seq
    }};
}

fn id_of(subject: &str, prefix: &str) -> Option<i64> {
    subject.strip_prefix(prefix)?.parse().ok()
}

/// The operator events an audit entry is (see the module doc).
pub(crate) fn events_of_audit(
    kind: &str,
    subject: &str,
    actor: Option<&str>,
    data: &Value,
) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    match kind {
        "decision" if data["subject_kind"] == "message" => {
            let action = data["action"].as_str().unwrap_or("");
            let automated = data["automated"].as_bool().unwrap_or(false);
            let ty = match (action, automated) {
                ("block", _) => Some("message.blocked"),
                ("mask", _) => Some("message.masked"),
                ("hold", _) => Some("message.held"),
                ("allow" | "notice", false) => Some("message.released"),
                _ => None,
            };
            if let Some(ty) = ty {
                out.push((
                    ty,
                    json!({
                        "message_id": data["message_id"],
                        "conversation_id": data["conversation_id"],
                        "decision_id": data["decision_id"],
                        "surface": data["surface"],
                        "action": action,
                        "automated": automated,
                        "moderator_id": if automated { None } else { actor },
                    }),
                ));
            }
        }
        "decision" if data["action"] == "block" || data["action"] == "mask" => {
            // A blocked or masked integration text (profile, job, proposal, invite).
            let ty = if data["action"] == "block" {
                "message.blocked"
            } else {
                "message.masked"
            };
            out.push((
                ty,
                json!({
                    "subject_kind": data["subject_kind"], "subject_id": data["subject_id"],
                    "decision_id": data["decision_id"], "surface": data["surface"],
                    "action": data["action"], "automated": data["automated"],
                }),
            ));
        }
        "report" => out.push((
            "report.created",
            json!({"report_id": data["report_id"], "item_id": data["item_id"],
                "reason": data["reason"], "merged": data["merged"], "target": subject,
                "reporter_id": actor}),
        )),
        "moderation.decision" => out.push((
            "review.decided",
            json!({"item_id": subject, "kind": data["kind"], "action": data["action"],
                "target": data["target"], "moderator_id": actor,
                "enforcement_ids": data["enforcements"]}),
        )),
        "enforcement" => {
            let e = json!({"enforcement_id": id_of(subject, "enforcement:"),
                "user_id": data["user_id"], "kind": data["kind"], "automated": data["automated"],
                "subject_kind": data["subject_kind"], "subject_id": data["subject_id"],
                "ends_at": data["ends_at"]});
            if matches!(data["kind"].as_str(), Some("restriction" | "suspension")) {
                out.push(("user.restricted", e.clone()));
            }
            out.push(("enforcement.created", e));
        }
        "appeal.filed" => out.push((
            "appeal.created",
            json!({"appeal_id": data["appeal_id"], "item_id": data["item_id"],
                "enforcement_id": id_of(subject, "enforcement:"), "appellant_id": actor}),
        )),
        "appeal.decided" => {
            let enforcement_id = id_of(subject, "enforcement:");
            out.push((
                "appeal.decided",
                json!({"appeal_id": data["appeal_id"], "enforcement_id": enforcement_id,
                    "outcome": data["outcome"], "moderator_id": actor}),
            ));
            if data["outcome"] == "overturned" {
                out.push((
                    "enforcement.lifted",
                    json!({"enforcement_id": enforcement_id, "appeal_id": data["appeal_id"]}),
                ));
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_entries_map_to_events_without_texts() {
        let d = json!({"subject_kind": "message", "action": "block", "automated": true,
            "message_id": null, "conversation_id": "c1", "decision_id": 4, "surface": "message",
            "decision_sha256": "ab"});
        let ev = events_of_audit("decision", "message:4", None, &d);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].0, "message.blocked");
        assert!(ev[0].1.get("decision_sha256").is_none());
        let allow = json!({"subject_kind": "message", "action": "allow", "automated": true});
        assert!(events_of_audit("decision", "message:4", None, &allow).is_empty());
        let r = json!({"kind": "restriction", "user_id": "u", "automated": true});
        let ev = events_of_audit("enforcement", "enforcement:9", None, &r);
        let types: Vec<_> = ev.iter().map(|e| e.0).collect();
        assert_eq!(types, ["user.restricted", "enforcement.created"]);
        assert_eq!(ev[1].1["enforcement_id"], 9);
        let o = json!({"appeal_id": 1, "outcome": "overturned"});
        assert_eq!(
            events_of_audit("appeal.decided", "enforcement:9", None, &o).len(),
            2
        );
        for (ty, _) in [ev, events_of_audit("report", "message:1", None, &json!({}))].concat() {
            assert!(EVENT_TYPES.contains(&ty), "{ty}");
        }
        assert!(events_of_audit("export", "x", None, &json!({})).is_empty());
    }
}
