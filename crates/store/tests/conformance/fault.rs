//! The one-transaction rule: an operation that decides something commits the decision and all
//! its consequences (message, versions, decision records, enforcements, strikes, events, audit
//! entries, queue items) together or not at all. Each check makes statement 1, 2, 3... of the
//! operation fail in turn (`Store::fail_write_statement`, feature `fault-injection`; statements
//! are counted across transactions), checks after every failure that the store is exactly as
//! before, and finally lets the operation run through and checks what it wrote.
//! `the_harness_catches_two_transactions` shows that an operation split in two transactions
//! (a post, then its enforcement) fails these checks.

use std::future::Future;

use super::checks::*;
use super::*;

conformance!(
    masked_post_commits_with_its_enforcement,
    blocked_decision_commits_with_its_enforcement,
    moderator_decision_is_one_transaction,
    appeal_filing_and_decision_are_one_transaction,
    the_harness_catches_two_transactions,
    concurrent_masked_posts_keep_their_enforcements,
);

const USERS: &[&str] = &["avery", "sam", "priya", "mei", "diego", "morgan", "jordan"];

/// Everything an operation in conversation `conv` could leave behind, as text.
async fn snapshot(s: &Store, conv: &str) -> Vec<String> {
    let mut out = vec![
        format!("{:?}", s.audit_head().await.unwrap()),
        format!("{:?}", s.audit_counts(0).await.unwrap()),
        format!("{:?}", s.decision_counts(0).await.unwrap()),
        format!("{:?}", s.get_conversation(conv).await.unwrap()),
        format!(
            "{:?}",
            s.conversation_messages_all(conv, 0, 1000).await.unwrap()
        ),
        format!(
            "{:?}",
            s.conversation_versions(conv, 0, i64::MAX).await.unwrap()
        ),
        format!(
            "{:?}",
            s.conversation_decisions(conv, 0, 1000).await.unwrap()
        ),
        format!(
            "{:?}",
            s.moderation_queue(&QueueQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
        ),
    ];
    for u in USERS {
        if let Ok(cursor) = s.event_cursor(u).await {
            out.push(format!("{u} events {cursor}"));
            out.push(format!("{:?}", s.events_since(u, 0, 500).await.unwrap()));
            out.push(format!("{:?}", s.enforcements_of(u, 500).await.unwrap()));
            out.push(format!("{:?}", s.strikes_of(u).await.unwrap()));
        }
    }
    out
}

/// Runs `op` with a fault at statement 1, 2, 3... of its transaction until it runs through:
/// every failure is `Unavailable` and leaves the store as it was. Returns the result of the
/// clean run and how many statements failed before it.
async fn at_every_statement<T, F, Fut>(s: &Store, conv: &str, mut op: F) -> (T, u32)
where
    T: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let before = snapshot(s, conv).await;
    for n in 1..500u32 {
        s.fail_write_statement(n);
        let r = op().await;
        if !s.injected_fault_fired() {
            s.fail_write_statement(0);
            let v = r.unwrap_or_else(|e| panic!("the clean run failed: {e:?}"));
            eprintln!(
                "  ran clean after failing at each of its {} statements",
                n - 1
            );
            return (v, n - 1);
        }
        match &r {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("statement {n}: expected the injected failure, got {other:?}"),
        }
        let after = snapshot(s, conv).await;
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b, a, "statement {n} failed and left this behind");
        }
        let v = s.verify_audit().await.unwrap();
        assert_eq!(v.first_bad, None, "statement {n}: the audit chain");
    }
    panic!("the operation never ran through");
}

/// Like [`at_every_statement`], but says whether some failure left something behind.
async fn some_failure_leaves_something<T, F, Fut>(s: &Store, conv: &str, mut op: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let before = snapshot(s, conv).await;
    for n in 1..500u32 {
        s.fail_write_statement(n);
        let r = op().await;
        if !s.injected_fault_fired() {
            s.fail_write_statement(0);
            return false;
        }
        assert!(
            r.is_err(),
            "statement {n} failed, yet the operation succeeded"
        );
        if snapshot(s, conv).await != before {
            return true;
        }
    }
    false
}

pub mod checks {
    use super::*;

    fn strike(now: Millis) -> NewStrike {
        NewStrike {
            weight: 1,
            categories: vec!["phone".into()],
            at: now,
            expires_at: now + 30 * 86_400_000,
        }
    }

    /// Mei's message with a phone number, masked.
    fn masked(c: &str) -> NewMessage {
        NewMessage {
            delivered: Some("call me at [phone number hidden]".into()),
            decision: decision("mask"),
            ..msg(c, "mei", "m1", "call me at 415 555 0134")
        }
    }

    pub async fn masked_post_commits_with_its_enforcement(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let now = now_ms();
        let m = masked(&c);
        // The mask (with its strike) and the restriction the escalation reached.
        let mut mask = enforcement("mei", "mask", now);
        mask.conversation_id = Some(c.clone());
        mask.strike = Some(strike(now));
        let mut restriction = enforcement("mei", "restriction", now);
        restriction.subject_kind = "user".into();
        restriction.ends_at = Some(now + 86_400_000);
        let drafts = [mask, restriction];
        let (p, failed) = at_every_statement(s, &c, || s.post_message_enforced(&m, &drafts)).await;
        assert!(failed >= 8, "only {failed} failure points");
        assert!(p.posted.created);
        let id = p.posted.message.id;
        assert_eq!(
            s.get_message(id, "avery")
                .await
                .unwrap()
                .delivered
                .as_deref(),
            Some("call me at [phone number hidden]")
        );
        let decision_id = s.decisions_for("message", &id.to_string()).await.unwrap()[0].id;
        let [e_mask, e_restriction] = &p.enforcements[..] else {
            panic!("{:?}", p.enforcements)
        };
        assert_eq!(e_mask.kind, "mask");
        assert_eq!(e_mask.message_id, Some(id));
        assert_eq!(e_mask.subject_id, Some(id.to_string()));
        assert_eq!(e_mask.decision_id, Some(decision_id));
        assert_eq!(e_restriction.kind, "restriction");
        assert_eq!(e_restriction.message_id, None);
        assert_eq!(e_restriction.decision_id, Some(decision_id));
        assert_eq!(s.strikes_of("mei").await.unwrap().len(), 1);
        let kinds: Vec<String> = s
            .events_since("mei", 0, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "message.created",
                "enforcement.created",
                "enforcement.created"
            ]
        );
        let audit = s.audit_entries(0, 50).await.unwrap();
        let kinds: Vec<&str> = audit.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["decision", "enforcement", "enforcement"]);
        // A retry is answered from the first post and records nothing more.
        let again = s.post_message_enforced(&m, &drafts).await.unwrap();
        assert!(!again.posted.created);
        assert_eq!(again.posted.message.id, id);
        assert!(again.enforcements.is_empty());
        assert_eq!(s.strikes_of("mei").await.unwrap().len(), 1);
        assert_eq!(s.enforcements_of("mei", 50).await.unwrap().len(), 2);
    }

    pub async fn blocked_decision_commits_with_its_enforcement(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let now = now_ms();
        let mut block = enforcement("mei", "block", now);
        block.conversation_id = Some(c.clone());
        block.blocked_text = Some("my number is 415 555 0134".into());
        block.strike = Some(strike(now));
        let d = attempt_decision(&c, decision("block"));
        let drafts = [block];
        let (r, failed) =
            at_every_statement(s, &c, || s.record_decision_enforced(&d, &drafts)).await;
        assert!(failed >= 6, "only {failed} failure points");
        let [e] = &r.enforcements[..] else {
            panic!("{:?}", r.enforcements)
        };
        assert_eq!(e.decision_id, Some(r.decision_id));
        assert_eq!(e.message_id, None);
        assert_eq!(e.blocked_text.as_deref(), Some("my number is 415 555 0134"));
        let recorded = s.conversation_decisions(&c, 0, 10).await.unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].id, r.decision_id);
        assert_eq!(recorded[0].action, "block");
        assert_eq!(s.strikes_of("mei").await.unwrap().len(), 1);
        let ev = s.events_since("mei", 0, 10).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "enforcement.created");
        let kinds: Vec<String> = s
            .audit_entries(0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["decision", "enforcement"]);
        assert!(
            s.conversation_messages_all(&c, 0, 10)
                .await
                .unwrap()
                .is_empty(),
            "a blocked text is not stored as a message"
        );
    }

    pub async fn moderator_decision_is_one_transaction(_db: &TestDb, s: &Store) {
        let (c, h) = seeded_held_message(s).await;
        let item = s
            .moderation_queue(&QueueQuery {
                open: Some(true),
                kind: Some(ItemKind::HeldMessage),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .find(|i| i.message_id == Some(h.id))
            .expect("the held message is queued");
        let now = now_ms();
        let mut d = item_decision(item.id, "morgan", "reject");
        d.review = Some(Review {
            delivered: None,
            decision: human("reject"),
        });
        let mut warning = enforcement("mei", "warning", now);
        warning.automated = false;
        warning.moderator_id = Some("morgan".into());
        warning.conversation_id = Some(c.clone());
        warning.message_id = Some(h.id);
        warning.strike = Some(strike(now));
        d.enforcements = vec![warning];
        let (r, failed) = at_every_statement(s, &c, || s.resolve_item(&d)).await;
        assert!(failed >= 10, "only {failed} failure points");
        assert!(!r.item.open);
        assert_eq!(
            r.reviewed.as_ref().map(|m| m.state),
            Some(MessageState::Rejected)
        );
        assert_eq!(r.enforcements.len(), 1);
        assert_eq!(s.strikes_of("mei").await.unwrap().len(), 1);
        let kinds: Vec<String> = s
            .audit_entries(0, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(kinds.ends_with(&[
            "decision".to_string(),
            "enforcement".to_string(),
            "moderation.decision".to_string()
        ]));
        // Decided once.
        assert!(matches!(
            s.resolve_item(&d).await,
            Err(StoreError::Conflict(m)) if m == ALREADY_RESOLVED
        ));
    }

    pub async fn appeal_filing_and_decision_are_one_transaction(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        s.put_user(
            "jordan",
            &UserInput {
                name: "Jordan Blake".into(),
                roles: vec![Role::Moderator],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let now = now_ms();
        let mut block = enforcement("mei", "block", now);
        block.conversation_id = Some(c.clone());
        block.automated = false;
        block.moderator_id = Some("morgan".into());
        block.blocked_text = Some("my number is 415 555 0134".into());
        block.strike = Some(strike(now));
        let b = s
            .record_decision_enforced(&attempt_decision(&c, decision("block")), &[block])
            .await
            .unwrap()
            .enforcements
            .remove(0);
        // Filing: the appeal, its queue item and its audit entry together.
        let (a, failed) = at_every_statement(s, &c, || {
            s.file_appeal(b.id, "mei", "It was the client's office number", now)
        })
        .await;
        assert!(failed >= 4, "only {failed} failure points");
        assert_eq!(a.status, "open");
        assert_eq!(s.appeal_of_item(a.item_id).await.unwrap(), a);
        // Deciding: lifted, strike removed, the blocked text delivered, the item closed.
        let mut d = item_decision(a.item_id, "jordan", "approve");
        d.overturn = Some(true);
        d.delivery_decision = Some(human("allow"));
        let (r, failed) = at_every_statement(s, &c, || s.resolve_item(&d)).await;
        assert!(failed >= 10, "only {failed} failure points");
        let m = r.delivered.expect("the blocked text is delivered");
        assert_eq!(m.original, "my number is 415 555 0134");
        assert_eq!(
            s.get_message(m.id, "avery").await.unwrap().state,
            MessageState::Delivered
        );
        let e = s.get_enforcement(b.id).await.unwrap();
        assert!(e.lifted_at.is_some());
        assert_eq!(e.delivered_message_id, Some(m.id));
        assert!(s.user_safety("mei", now).await.unwrap().strikes.is_empty());
        assert_eq!(
            s.appeal_of_item(a.item_id).await.unwrap().status,
            "overturned"
        );
        assert_eq!(s.verify_audit().await.unwrap().first_bad, None);
    }

    /// The old way of storing a masked message (the post, then its enforcement in a second
    /// transaction) leaves a message without its strike when the second write fails: the
    /// checks above would see it.
    pub async fn the_harness_catches_two_transactions(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let now = now_ms();
        let m = masked(&c);
        let mut mask = enforcement("mei", "mask", now);
        mask.strike = Some(strike(now));
        let drafts = [mask];
        let two_steps = || async {
            let p = s.post_message(&m).await?;
            s.record_enforcements(&drafts).await?;
            Ok(p)
        };
        assert!(some_failure_leaves_something(s, &c, two_steps).await);
    }

    /// Masked posts sent at once (on SQLite, group-committed by the writer in shared
    /// transactions) each get their own enforcement, linked to their own message and decision.
    pub async fn concurrent_masked_posts_keep_their_enforcements(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let now = now_ms();
        let mut tasks = Vec::new();
        for i in 0..24 {
            let s = s.clone();
            let m = NewMessage {
                client_id: format!("c{i}"),
                ..masked(&c)
            };
            let mut mask = enforcement("mei", "mask", now);
            mask.strike = Some(strike(now));
            tasks.push(tokio::spawn(async move {
                s.post_message_enforced(&m, &[mask]).await.unwrap()
            }));
        }
        for t in tasks {
            let p = t.await.unwrap();
            let id = p.posted.message.id;
            let decision_id = s.decisions_for("message", &id.to_string()).await.unwrap()[0].id;
            assert_eq!(p.enforcements.len(), 1);
            assert_eq!(p.enforcements[0].message_id, Some(id));
            assert_eq!(p.enforcements[0].decision_id, Some(decision_id));
        }
        assert_eq!(s.strikes_of("mei").await.unwrap().len(), 24);
        assert_eq!(s.verify_audit().await.unwrap().first_bad, None);
    }
}
