//! A moderator's decision on a queue item, with everything it implies, in one transaction.

use super::rows::*;
use super::*;
use crate::check::*;
use crate::error::{Result, StoreError};
use crate::rows::*;
use crate::sql::{json_text, BeginWrite};
use crate::{Backend, Store};

impl Store {
    /// Resolves a queue item with everything the decision implies, in one transaction: the
    /// held message reviewed (delivered or rejected, with events), the human decision recorded,
    /// enforcements and strikes stored, an appeal upheld or overturned (enforcements of the
    /// appealed decision lifted, their strikes removed, a blocked text delivered as a new
    /// message with `message.created` to the members), the item closed, all audited.
    /// Conflict([`ALREADY_RESOLVED`]) when the item is closed, Conflict([`SAME_REVIEWER`]) when
    /// the moderator who enforced a decision decides its appeal.
    pub async fn resolve_item(&self, d: &ItemDecision) -> Result<ResolvedItem> {
        check_id("moderator_id", &d.moderator_id)?;
        if !ITEM_ACTIONS.contains(&d.action.as_str()) {
            return Err(StoreError::Invalid(format!(
                "unknown action {:?}",
                d.action
            )));
        }
        check_note("note", d.note.as_deref())?;
        let statements = d
            .enforcements
            .iter()
            .map(check_enforcement)
            .collect::<Result<Vec<_>>>()?;
        let decision_json = json_text(&d.decision.decision)?;
        let review_json = match &d.review {
            Some(r) => {
                if let Some(t) = &r.delivered {
                    check_text("delivered text", t)?;
                }
                Some(json_text(&r.decision.decision)?)
            }
            None => None,
        };
        let delivery_json = match &d.delivery_decision {
            Some(x) => Some(json_text(&x.decision)?),
            None => None,
        };
        let now = d.now;
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            // Lock order as every message write: the conversation first, then the item
            // (PostgreSQL row locks; SQLite has one writer).
            let conv: Option<Option<String>> =
                sqlx::query_scalar("SELECT conversation_id FROM moderation_items WHERE id = $1")
                    .bind(d.item_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(Some(c)) = &conv {
                lock_conversation!(tx, c.as_str());
            }
            let row = sqlx::query(concat!(
                "UPDATE moderation_items SET updated_at = updated_at WHERE id = $1 RETURNING ",
                cols!(item)
            ))
            .bind(d.item_id)
            .fetch_optional(&mut *tx)
            .await?;
            let item = match row {
                Some(r) => item_of(&r)?,
                None => return Err(StoreError::NotFound("moderation item")),
            };
            if !item.open {
                return Err(StoreError::Conflict(ALREADY_RESOLVED.into()));
            }
            let mut notify: Vec<String> = Vec::new();
            // Appeals: the appealed enforcement, checked before anything changes.
            let appealed = if item.kind == ItemKind::Appeal {
                let a = sqlx::query(concat!(
                    "SELECT ",
                    cols!(appeal),
                    " FROM appeals WHERE item_id = $1"
                ))
                .bind(item.id)
                .fetch_one(&mut *tx)
                .await?;
                let a = appeal_of(&a)?;
                let e = sqlx::query(concat!(
                    "SELECT ",
                    cols!(enforcement),
                    " FROM enforcements WHERE id = $1"
                ))
                .bind(a.enforcement_id)
                .fetch_one(&mut *tx)
                .await?;
                let e = enforcement_of(&e)?;
                if e.moderator_id.as_deref() == Some(d.moderator_id.as_str()) {
                    return Err(StoreError::Conflict(SAME_REVIEWER.into()));
                }
                Some((a, e))
            } else {
                None
            };
            // A held message: review it (events included).
            let reviewed = match (&d.review, item.message_id) {
                (Some(r), Some(mid)) if item.kind == ItemKind::HeldMessage => {
                    let state = if r.delivered.is_some() {
                        MessageState::Delivered
                    } else {
                        MessageState::Rejected
                    };
                    let rj = review_json.as_deref().unwrap_or("{}");
                    let m = review_in_tx!(
                        tx,
                        mid,
                        d.moderator_id.as_str(),
                        state,
                        r.delivered.as_deref(),
                        &r.decision,
                        rj,
                        now
                    );
                    if state == MessageState::Delivered {
                        let members = members_sorted!(tx, m.conversation_id.as_str());
                        notify.extend(members);
                    } else {
                        notify.push(m.author_id.clone());
                    }
                    Some(m)
                }
                (Some(_), _) => {
                    return Err(StoreError::Invalid(
                        "only a held message can be reviewed".into(),
                    ))
                }
                _ => None,
            };
            // The human decision about the item (reviews recorded theirs on the message).
            let decision_id = if reviewed.is_none() {
                let subject = format!("mi_{}", item.id);
                Some(insert_decision!(
                    tx,
                    "moderation_item",
                    Some(subject.as_str()),
                    item.conversation_id.as_deref(),
                    item.message_id,
                    None::<i64>,
                    Some(d.moderator_id.as_str()),
                    d.decision,
                    decision_json.as_str(),
                    now
                ))
            } else {
                None
            };
            let mut enforcements = Vec::with_capacity(d.enforcements.len());
            for (e, st) in d.enforcements.iter().zip(&statements) {
                let mut e = e.clone();
                if e.decision_id.is_none() {
                    e.decision_id = decision_id;
                }
                enforcements.push(insert_enforcement!(tx, &e, st.as_str(), Some(item.id)));
            }
            // Reports: remove the reported message.
            let mut removed = None;
            if let (Some(rd), Some(mid), ItemKind::Report) =
                (&d.removal_decision, item.message_id, item.kind)
            {
                let rj = json_text(&rd.decision)?;
                if let Some((m, members)) = moderate_message!(
                    tx,
                    mid,
                    "delivered",
                    "rejected",
                    rd,
                    rj.as_str(),
                    d.moderator_id.as_str(),
                    now
                ) {
                    notify.extend(members);
                    removed = Some(m);
                }
            }
            // Appeals: the outcome.
            let mut delivered = None;
            // Enforcements whose user hears `enforcement.updated`: the appealed one, and the
            // ones an overturn lifted with it.
            let mut updated: Vec<i64> = Vec::new();
            if let Some((a, e)) = &appealed {
                updated.push(e.id);
                let overturn = d.overturn.unwrap_or(false);
                sqlx::query(
                    "UPDATE appeals SET status = $2, decided_by = $3, decided_at = $4, note = $5 WHERE id = $1",
                )
                .bind(a.id)
                .bind(if overturn { "overturned" } else { "upheld" })
                .bind(d.moderator_id.as_str())
                .bind(now)
                .bind(d.note.as_deref())
                .execute(&mut *tx)
                .await?;
                if overturn {
                    // The appealed enforcement, and the automated restriction its strike
                    // triggered (same decision), are lifted together; an overturned
                    // restriction leaves the block behind it standing.
                    let triggered = matches!(e.kind.as_str(), "block" | "mask" | "strike");
                    let lifted: Vec<i64> = sqlx::query_scalar(
                        "UPDATE enforcements SET lifted_at = $3 WHERE user_id = $2 AND lifted_at IS NULL \
                         AND (id = $1 OR ($5 AND kind = 'restriction' AND automated = $6 \
                         AND ((decision_id IS NOT NULL AND decision_id = $4) \
                         OR (item_id IS NOT NULL AND item_id = $7)))) RETURNING id",
                    )
                    .bind(e.id)
                    .bind(e.user_id.as_str())
                    .bind(now)
                    .bind(e.decision_id)
                    .bind(triggered)
                    .bind(true)
                    .bind(e.item_id)
                    .fetch_all(&mut *tx)
                    .await?;
                    updated.extend(lifted.iter().copied());
                    for id in &lifted {
                        sqlx::query(
                            "UPDATE strikes SET removed_at = $2, removed_reason = 'appeal overturned' \
                             WHERE enforcement_id = $1 AND removed_at IS NULL",
                        )
                        .bind(*id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    }
                    // A masked message is shown as written (members get `message.updated`).
                    if let (Some(mid), "mask") = (e.message_id, e.kind.as_str()) {
                        let dd = d.delivery_decision.as_ref().unwrap_or(&d.decision);
                        let dj = json_text(&dd.decision)?;
                        let conv = lock_message_conversation!(tx, mid);
                        let row = sqlx::query(concat!(
                            "UPDATE messages SET delivered = original, decision = $2, version = version + 1 \
                             WHERE id = $1 AND state = 'delivered' AND deleted_at IS NULL \
                             AND delivered <> original RETURNING ",
                            cols!(message)
                        ))
                        .bind(mid)
                        .bind(dj.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(r) = row {
                            let m = message_of(&r, "")?;
                            insert_version!(tx, m, "reviewed", Some(d.moderator_id.as_str()), now);
                            insert_message_decision!(
                                tx,
                                conv.as_str(),
                                m,
                                d.moderator_id.as_str(),
                                dd,
                                dj.as_str(),
                                now
                            );
                            let members = members_sorted!(tx, conv.as_str());
                            emit!(
                                tx,
                                members,
                                "message.updated",
                                conv.as_str(),
                                Some(m.id),
                                None::<&str>,
                                now
                            );
                            notify.extend(members);
                            delivered = Some(m);
                        }
                    }
                    // A removed or rejected message is restored; a blocked text that was never
                    // stored is delivered as a new message.
                    if let (Some(mid), None) = (e.message_id, &delivered) {
                        let dd = d.delivery_decision.as_ref().unwrap_or(&d.decision);
                        let dj = json_text(&dd.decision)?;
                        if let Some((m, members)) = moderate_message!(
                            tx,
                            mid,
                            "rejected",
                            "delivered",
                            dd,
                            dj.as_str(),
                            d.moderator_id.as_str(),
                            now
                        ) {
                            notify.extend(members);
                            delivered = Some(m);
                        }
                    }
                    if let (Some(text), Some(conv), None, None) = (
                        e.blocked_text.as_deref(),
                        e.conversation_id.as_deref(),
                        e.delivered_message_id,
                        e.message_id,
                    ) {
                        lock_conversation!(tx, conv);
                        let member = sqlx::query(
                            "SELECT user_id FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
                        )
                        .bind(conv)
                        .bind(e.user_id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                        if member {
                            let dj = delivery_json.as_deref().unwrap_or("{}");
                            let row = sqlx::query(concat!(
                                "INSERT INTO messages (conversation_id, author_id, client_id, purpose, state, original, \
                                 delivered, decision, version, created_at) VALUES ($1, $2, $3, $4, 'delivered', $5, $5, $6, 1, $7) \
                                 RETURNING ",
                                cols!(message)
                            ))
                            .bind(conv)
                            .bind(e.user_id.as_str())
                            .bind(format!("appeal-{}", a.id))
                            .bind(e.blocked_purpose.as_deref())
                            .bind(text)
                            .bind(dj)
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                            let m = message_of(&row, "")?;
                            insert_version!(tx, m, "created", Some(d.moderator_id.as_str()), now);
                            if let Some(dd) = &d.delivery_decision {
                                insert_decision!(
                                    tx,
                                    "message",
                                    Some(m.id.to_string()),
                                    Some(conv),
                                    Some(m.id),
                                    Some(1i64),
                                    Some(d.moderator_id.as_str()),
                                    dd,
                                    dj,
                                    now
                                );
                            }
                            sqlx::query(
                                "UPDATE conversations SET last_message_id = $2, updated_at = $3 WHERE id = $1",
                            )
                            .bind(conv)
                            .bind(m.id)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            let members = members_sorted!(tx, conv);
                            emit!(
                                tx,
                                members,
                                "message.created",
                                conv,
                                Some(m.id),
                                None::<&str>,
                                now
                            );
                            notify.extend(members);
                            sqlx::query(
                                "UPDATE enforcements SET delivered_message_id = $2 WHERE id = $1",
                            )
                            .bind(e.id)
                            .bind(m.id)
                            .execute(&mut *tx)
                            .await?;
                            delivered = Some(m);
                        }
                    }
                }
                audit_append!(
                    tx,
                    "appeal.decided",
                    Some(d.moderator_id.as_str()),
                    format!("enforcement:{}", e.id),
                    &serde_json::json!({"appeal_id": a.id, "item_id": item.id,
                        "outcome": if overturn { "overturned" } else { "upheld" },
                        "delivered_message_id": delivered.as_ref().map(|m: &Message| m.id)}),
                    now
                );
            }
            let row = sqlx::query(concat!(
                "UPDATE moderation_items SET status = 'resolved', resolution_action = $2, resolution_note = $3, \
                 resolved_by = $4, resolved_at = $5, updated_at = $5 WHERE id = $1 RETURNING ",
                cols!(item)
            ))
            .bind(item.id)
            .bind(d.action.as_str())
            .bind(d.note.as_deref())
            .bind(d.moderator_id.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let item = item_of(&row)?;
            audit_append!(
                tx,
                "moderation.decision",
                Some(d.moderator_id.as_str()),
                format!("mi_{}", item.id),
                &serde_json::json!({"kind": item.kind, "action": d.action,
                    "note_sha256": d.note.as_deref().map(|n| crate::audit::sha256_hex(n.as_bytes())),
                    "target": format!("{}:{}", item.target_kind, item.target_id),
                    "decision_id": decision_id,
                    "enforcements": enforcements.iter().map(|e| e.id).collect::<Vec<_>>()}),
                now
            );
            if let (Some(m), Some((_, e))) = (&delivered, &appealed) {
                sqlx::query("UPDATE enforcements SET delivered_message_id = $2 WHERE id = $1")
                    .bind(e.id)
                    .bind(m.id)
                    .execute(&mut *tx)
                    .await?;
            }
            // The users hear of the new enforcements and of the decided appeal, live.
            emit_enforcements!(tx, "enforcement.created", enforcements, false, now);
            updated.sort_unstable();
            updated.dedup();
            let mut changed = Vec::with_capacity(updated.len());
            for id in &updated {
                let r = sqlx::query(concat!(
                    "SELECT ",
                    cols!(enforcement),
                    " FROM enforcements WHERE id = $1"
                ))
                .bind(*id)
                .fetch_one(&mut *tx)
                .await?;
                changed.push(enforcement_of(&r)?);
            }
            // The appealed one has its appeal; a restriction lifted with it is no longer appealable.
            emit_enforcements!(tx, "enforcement.updated", changed, true, now);
            notify.extend(enforcements.iter().map(|e| e.user_id.clone()));
            notify.extend(changed.iter().map(|e| e.user_id.clone()));
            tx.commit().await?;
            notify.sort();
            notify.dedup();
            Ok(ResolvedItem {
                item,
                reviewed,
                removed,
                delivered,
                enforcements,
                notify,
            })
        })
    }
}
