//! The operator dashboard's aggregates (messages per day, the review queue's size, age and time
//! to decision, webhook deliveries per endpoint and attempts per day) and the operator events
//! `call.ended` and `file.held` are written with their change.

use super::checks::*;
use super::*;

conformance!(dashboard_aggregates, call_ended_is_an_operator_event);

pub mod checks {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 86_400_000;

    fn at(c: &str, client_id: &str, body: &str, created_at: Millis, held_: bool) -> NewMessage {
        let m = if held_ {
            held(c, "mei", client_id, body)
        } else {
            msg(c, "avery", client_id, body)
        };
        NewMessage {
            created_at: Some(created_at),
            ..m
        }
    }

    /// Expected per-day counts of some timestamps.
    fn per_day(times: &[Millis]) -> Vec<DayCount> {
        let mut out: Vec<DayCount> = Vec::new();
        let mut days: Vec<i64> = times.iter().map(|t| t / DAY).collect();
        days.sort();
        for d in days {
            match out.last_mut() {
                Some(last) if last.day == d => last.count += 1,
                _ => out.push(DayCount { day: d, count: 1 }),
            }
        }
        out
    }

    pub async fn dashboard_aggregates(_db: &TestDb, s: &Store) {
        seed(s).await;
        let now = now_ms();
        let hook = s
            .create_webhook("wh_a", "https://hooks.example/in", "", &[], "whsec_x", now)
            .await
            .unwrap();
        assert_eq!(hook.id, "wh_a");
        let c = conv(s, &["avery", "mei"]).await;
        // Three messages: one delivered 30 h ago, a held one 5 h ago (decided by a moderator
        // now), a held one 2 h ago (still open), and a held one now (withdrawn: edited clean).
        let times = [now - 30 * HOUR, now - 5 * HOUR, now - 2 * HOUR, now];
        s.post_message(&at(&c, "1", "hello", times[0], false))
            .await
            .unwrap();
        s.post_message(&at(&c, "2", "ping me elsewhere", times[1], true))
            .await
            .unwrap();
        s.post_message(&at(&c, "3", "my whatsapp is ...", times[2], true))
            .await
            .unwrap();
        let w = s
            .post_message(&at(&c, "4", "email me", times[3], true))
            .await
            .unwrap()
            .message;
        assert_eq!(s.message_counts(0).await.unwrap(), per_day(&times));
        assert!(s.message_counts(now + DAY).await.unwrap().is_empty());

        s.edit_message(
            w.id,
            "mei",
            &MessageEdit {
                original: "see you here".into(),
                delivered: Some("see you here".into()),
                state: MessageState::Delivered,
                decision: decision("allow"),
            },
        )
        .await
        .unwrap();
        let open = s
            .moderation_queue(&QueueQuery {
                open: Some(true),
                kind: Some(ItemKind::HeldMessage),
                limit: 50,
                after: None,
            })
            .await
            .unwrap();
        assert_eq!(open.len(), 2, "{open:?}");
        let oldest = open.iter().min_by_key(|i| i.created_at).unwrap();
        assert_eq!(oldest.created_at, times[1]);
        let mut d = item_decision(oldest.id, "morgan", "approve");
        d.review = Some(Review {
            delivered: Some("ping me elsewhere".into()),
            decision: human("allow"),
        });
        d.now = now;
        s.resolve_item(&d).await.unwrap();

        let q = s.queue_aggregates(0, now).await.unwrap();
        assert_eq!(
            q.open,
            [OpenItems {
                kind: "held_message".into(),
                open: 1,
                oldest_created_at: Some(times[2]),
            }]
        );
        // Open for 2 hours: the 1-4 h bucket.
        assert_eq!(q.open_age, [0, 1, 0, 0, 0]);
        assert_eq!(q.open_at_start, 0);
        assert_eq!(q.opened, per_day(&times[1..]));
        // The decided item and the withdrawn one left the queue now.
        assert_eq!(q.resolved, per_day(&[now, now]));
        // Only the moderator's decision counts (5 hours: the 4-24 h bucket).
        assert_eq!(q.decision_times.decided, 1);
        assert_eq!(q.decision_times.buckets, [0, 0, 1, 0, 0]);
        assert_eq!(q.decision_times.max_ms, Some(5 * HOUR));
        assert_eq!(q.decision_times.mean_ms, Some(5 * HOUR));
        // From tomorrow's point of view: one item was open at the start, nothing else.
        let later = s.queue_aggregates(now + DAY, now + DAY).await.unwrap();
        assert_eq!(later.open_at_start, 1);
        assert!(later.opened.is_empty() && later.resolved.is_empty());
        assert_eq!(later.decision_times.decided, 0);
        assert_eq!(later.decision_times.mean_ms, None);
        assert_eq!(later.open_age, [0, 0, 0, 1, 0]);

        // Webhooks: three deliveries attempted (200, 500 then retried, 500 and given up).
        let claimed = s.claim_deliveries(now, now + 60_000, 3).await.unwrap();
        assert_eq!(claimed.len(), 3);
        let attempt = |d: &Delivery, code: i64, at: Millis| Attempt {
            id: 0,
            delivery_id: d.id,
            attempted_at: at,
            status_code: Some(code),
            latency_ms: 12,
            error: None,
            response: None,
        };
        let (d0, d1, d2) = (&claimed[0].0, &claimed[1].0, &claimed[2].0);
        s.record_attempt(d0, &attempt(d0, 200, now), &AttemptResult::Succeeded)
            .await
            .unwrap();
        s.record_attempt(
            d1,
            &attempt(d1, 500, now + 1),
            &AttemptResult::Retry { at: now + 5_000 },
        )
        .await
        .unwrap();
        s.record_attempt(d2, &attempt(d2, 500, now + 2), &AttemptResult::Failed)
            .await
            .unwrap();
        let all = s.list_deliveries("wh_a", None, 1000).await.unwrap();
        let w = s.webhook_aggregates(0, 2).await.unwrap();
        assert_eq!(
            w.endpoints,
            [EndpointDeliveries {
                endpoint_id: "wh_a".into(),
                succeeded: 1,
                failed: 1,
                pending: all.len() as i64 - 2,
                last_attempt_at: Some(now + 2),
            }]
        );
        assert_eq!(
            w.attempts
                .iter()
                .fold((0, 0), |t, a| (t.0 + a.attempts, t.1 + a.succeeded)),
            (3, 1)
        );
        assert_eq!(w.recent.len(), 2);
        assert_eq!(w.recent[0].delivery_id, d2.id);
        assert_eq!(w.recent[0].delivery_status, "failed");
        assert_eq!(w.recent[0].event_type, d2.event.kind);
        assert_eq!(w.recent[0].event_id, d2.event.id);
        assert_eq!(w.recent[1].delivery_id, d1.id);
        assert_eq!(w.recent[1].delivery_status, "pending");
        assert!(s
            .webhook_aggregates(now + DAY, 0)
            .await
            .unwrap()
            .endpoints
            .is_empty());
    }

    /// Ending a call writes `call.ended` (metadata only) to the operator feed with the change.
    pub async fn call_ended_is_an_operator_event(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let now = now_ms();
        s.insert_call(&NewCall {
            id: "call1".into(),
            conversation_id: c.clone(),
            caller_id: "avery".into(),
            video: false,
            created_at: now - 60_000,
        })
        .await
        .unwrap();
        let mut rec = s.get_call("call1").await.unwrap();
        rec.parties = vec!["avery".into(), "mei".into()];
        rec.answered_at = Some(now - 50_000);
        rec.ended_at = Some(now);
        rec.end_reason = Some("completed".into());
        rec.duration_ms = Some(50_000);
        assert!(s.end_call(&rec).await.unwrap());
        assert!(!s.end_call(&rec).await.unwrap(), "ended once");
        let ended: Vec<OperatorEvent> = s
            .operator_events(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "call.ended")
            .collect();
        assert_eq!(ended.len(), 1, "{ended:?}");
        let e = &ended[0];
        assert_eq!(e.data["call_id"], "call1");
        assert_eq!(e.data["conversation_id"], c.as_str());
        assert_eq!(e.data["end_reason"], "completed");
        assert_eq!(e.data["duration_ms"], 50_000);
        assert_eq!(e.data["answered_at"], now - 50_000);
        assert_eq!(e.created_at, now);
        assert!(EVENT_TYPES.contains(&"call.ended") && EVENT_TYPES.contains(&"file.held"));
    }
}
