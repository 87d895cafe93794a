use super::*;
use crate::context::{History, Strike};
use crate::decision::Escalation;

use crate::context::Plan;

fn find(
    text: &str,
    needle: &str,
    category: Category,
    kind: Option<LinkKind>,
    conf: f32,
) -> Finding {
    let start = text.find(needle).expect("needle in text");
    Finding {
        category,
        kind,
        start,
        end: start + needle.len(),
        matched: needle.to_string(),
        normalized: None,
        confidence: conf,
        rule: format!("test.{category}"),
    }
}

fn msg() -> Context {
    Context::new(Surface::Message).plan("basic")
}

#[test]
fn tiers_pick_the_action() {
    let p = Policy::default();
    let t = "call 312 555 0148 now";
    let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
    let high = p.decide(t, &f(0.95), &msg());
    assert_eq!(high.action, Action::Block);
    assert!(high.violation && high.automated);
    assert_eq!(high.reasons.len(), 1);
    assert_eq!(high.reasons[0].rule, "pre_contract.phone");
    assert!(
        high.explanation
            .contains("\"312 555 0148\" looks like a phone number"),
        "{}",
        high.explanation
    );
    assert!(
        high.explanation.contains("What you may do"),
        "{}",
        high.explanation
    );
    assert_eq!(high.recipient_notice, None);
    let medium = p.decide(t, &f(0.6), &msg());
    assert_eq!(medium.action, Action::Mask);
    assert_eq!(
        medium.masked_text.as_deref(),
        Some("call [phone hidden] now")
    );
    assert!(medium.recipient_notice.is_some());
    let low = p.decide(t, &f(0.2), &msg());
    assert_eq!(low.action, Action::Allow);
    assert!(!low.violation);
    assert_eq!(low.reasons.len(), 1, "low findings are logged");
    assert_eq!(low.explanation, "");
    let on_profile = p.decide(t, &f(0.6), &Context::new(Surface::Profile));
    assert_eq!(on_profile.action, Action::HoldForReview);
    assert!(!on_profile.automated);
    assert_eq!(on_profile.strike, None, "a hold gives no strike by itself");
    // A confirmed hold weighs as a block, on a surface that gives strikes
    // (by default profiles do not).
    assert_eq!(p.strike_on_review(&on_profile, 7), None);
    let counting =
        Policy::from_toml_str("[escalation]\nsurfaces = [\"message\", \"profile\"]\n").unwrap();
    let s = counting.strike_on_review(&on_profile, 7).unwrap();
    assert_eq!((s.at, s.weight), (7, 2));
    assert_eq!(p.strike_on_review(&high, 7), None);
}

#[test]
fn contracts_and_plans_lift_the_rule() {
    let p = Policy::default();
    let t = "call 312 555 0148 now";
    let f = vec![find(t, "312 555 0148", Category::Phone, None, 0.95)];
    for stage in [Stage::ActiveContract, Stage::EndedContract] {
        let d = p.decide(t, &f, &msg().stage(stage));
        assert_eq!(d.action, Action::Allow);
        assert!(d.reasons[0].exception.is_some());
        // A profile is always pre-contract.
        let d = p.decide(t, &f, &Context::new(Surface::Profile).stage(stage));
        assert_eq!(d.action, Action::Block);
    }
    let d = p.decide(t, &f, &msg().plan("Enterprise"));
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.reasons[0].exception, Some(ExceptionKind::ExemptPlan));
    let d = p.decide(t, &f, &Context::new(Surface::JobPost).plan("business"));
    assert_eq!(d.action, Action::Allow);
    let d = p.decide(t, &f, &Context::new(Surface::Profile).plan("business"));
    assert_eq!(d.action, Action::Block);
    let mut ctx = msg();
    ctx.plan = Plan::new("unknown-plan");
    assert_eq!(p.decide(t, &f, &ctx).action, Action::Block);
}

#[test]
fn scoping_access_lets_only_the_email_through() {
    let p = Policy::default();
    let t = "add me to the repo: ann@corp.io, or call 312 555 0148";
    let email = find(t, "ann@corp.io", Category::Email, None, 0.99);
    let phone = find(t, "312 555 0148", Category::Phone, None, 0.95);
    let ctx = msg().purpose(Purpose::ScopingAccess {
        system: "GitHub".into(),
    });
    let d = p.decide(t, std::slice::from_ref(&email), &ctx);
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.recorded_exceptions.len(), 1);
    assert_eq!(d.recorded_exceptions[0].system.as_deref(), Some("GitHub"));
    assert!(d.explanation.contains("GitHub"), "{}", d.explanation);
    assert!(d
        .recipient_notice
        .as_deref()
        .unwrap_or("")
        .contains("GitHub"));
    let d = p.decide(t, &[email, phone], &ctx);
    assert_eq!(d.action, Action::Block);
    assert!(
        d.recorded_exceptions.is_empty(),
        "nothing shared when blocked"
    );
    assert!(!d.explanation.contains("ann@corp.io"), "{}", d.explanation);
    assert!(d.explanation.contains("312 555 0148"));
    // A legal-document purpose does nothing outside attachments.
    let d = p.decide(
        t,
        &[find(t, "ann@corp.io", Category::Email, None, 0.99)],
        &msg().purpose(Purpose::LegalDocument),
    );
    assert_eq!(d.action, Action::Block);
}

#[test]
fn attachments_are_never_masked() {
    let p = Policy::from_toml_str("[actions.\"*\"]\nphone = \"mask\"\n").unwrap();
    let t = "call 312 555 0148 now";
    let f = vec![find(t, "312 555 0148", Category::Phone, None, 0.95)];
    assert_eq!(p.decide(t, &f, &msg()).action, Action::Mask);
    let d = p.decide(t, &f, &Context::new(Surface::Attachment));
    assert_eq!(d.action, Action::HoldForReview);
    assert_eq!(d.masked_text, None);
}

#[test]
fn legal_document_attachment() {
    let p = Policy::default();
    let t = "NDA between Acme (legal@acme.io, +1 312 555 0148) and the contractor";
    let fs = vec![
        find(t, "legal@acme.io", Category::Email, None, 0.99),
        find(t, "+1 312 555 0148", Category::Phone, None, 0.99),
    ];
    let ctx = Context::new(Surface::Attachment).purpose(Purpose::LegalDocument);
    let d = p.decide(t, &fs, &ctx);
    assert_eq!(d.action, Action::Allow);
    assert_eq!(d.recorded_exceptions.len(), 2);
    // Undeclared, the same document is held for review (high confidence included).
    let d = p.decide(t, &fs, &Context::new(Surface::Attachment));
    assert_eq!(d.action, Action::HoldForReview);
    assert!(d.violation);
    assert_eq!(d.masked_text, None);
}

#[test]
fn attachments_are_held_not_blocked_by_default() {
    let p = Policy::default();
    let att = Context::new(Surface::Attachment);
    for (t, m, c, conf) in [
        (
            "mail anna.kowalski@gmail.com",
            "anna.kowalski@gmail.com",
            Category::Email,
            0.99,
        ),
        (
            "call +1 312 555 0148",
            "+1 312 555 0148",
            Category::Phone,
            0.95,
        ),
        (
            "call 312 555 0148 maybe",
            "312 555 0148",
            Category::Phone,
            0.6,
        ),
        (
            "move to WhatsApp, your number?",
            "your number",
            Category::Request,
            0.95,
        ),
    ] {
        let f = vec![find(t, m, c, None, conf)];
        assert_eq!(p.decide(t, &f, &att).action, Action::HoldForReview, "{t}");
        // Messages keep their own defaults.
        assert_ne!(p.decide(t, &f, &msg()).action, Action::HoldForReview, "{t}");
    }
}

#[test]
fn links() {
    let p = Policy::default();
    let t = "files: https://drive.example.net/x portfolio: https://behance.net/ann meet: https://zoom.us/j/1";
    let share = find(
        t,
        "https://drive.example.net/x",
        Category::Link,
        Some(LinkKind::FileShare),
        0.9,
    );
    let folio = find(
        t,
        "https://behance.net/ann",
        Category::Link,
        Some(LinkKind::Portfolio),
        0.9,
    );
    let meet = find(
        t,
        "https://zoom.us/j/1",
        Category::Link,
        Some(LinkKind::Meeting),
        0.9,
    );
    let d = p.decide(t, std::slice::from_ref(&share), &msg());
    assert_eq!(d.action, Action::Allow);
    assert!(d.reasons.is_empty());
    let d = p.decide(
        t,
        std::slice::from_ref(&folio),
        &Context::new(Surface::Proposal),
    );
    assert_eq!(d.action, Action::AllowWithNotice);
    assert!(!d.violation);
    assert!(d
        .recipient_notice
        .as_deref()
        .unwrap_or("")
        .contains("behance.net/ann"));
    let d = p.decide(t, &[share, folio, meet], &Context::new(Surface::Proposal));
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.reasons.len(), 2);
    assert_eq!(d.reasons[1].rule, "pre_contract.link.meeting");

    let strict = Policy::from_toml_str(
        "[links]\nportfolio_elsewhere = \"block\"\n[links.blocked_domains]\nmessaging = [\"example.net\"]\n",
    )
    .unwrap();
    let t2 = "see https://behance.net/ann";
    let folio = find(
        t2,
        "https://behance.net/ann",
        Category::Link,
        Some(LinkKind::Portfolio),
        0.9,
    );
    let d = strict.decide(t2, std::slice::from_ref(&folio), &msg());
    assert_eq!(d.action, Action::Block);
    assert!(
        d.explanation.contains("behance.net/ann"),
        "{}",
        d.explanation
    );
    assert_eq!(
        strict
            .decide(t2, &[folio], &Context::new(Surface::Proposal))
            .action,
        Action::AllowWithNotice
    );
    let t3 = "files: https://drive.example.net/x";
    let share = find(
        t3,
        "https://drive.example.net/x",
        Category::Link,
        Some(LinkKind::FileShare),
        0.9,
    );
    let d = strict.decide(t3, &[share], &msg());
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.reasons[0].kind, Some(LinkKind::Messaging));
}

#[test]
fn profile_link_and_its_handle() {
    let t = "see https://linkedin.com/in/ann-k please";
    let url = "https://linkedin.com/in/ann-k";
    let fs = vec![
        find(t, url, Category::Handle, Some(LinkKind::Social), 0.9),
        find(t, url, Category::Link, Some(LinkKind::Social), 0.95),
    ];
    let d = Policy::default().decide(t, &fs, &msg());
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.reasons.len(), 2);
    assert_eq!(d.explanation.matches(url).count(), 1, "{}", d.explanation);
    let open =
        Policy::from_toml_str("[links]\nallowed_kinds = [\"file_share\", \"social\"]\n").unwrap();
    let d = open.decide(t, &fs, &msg());
    assert_eq!(d.action, Action::Allow);
    assert!(d.reasons.is_empty());
}

#[test]
fn requests_remind_at_medium_confidence() {
    let p = Policy::default();
    let t = "what is your whatsapp?";
    let f = |c| vec![find(t, "what is your whatsapp", Category::Request, None, c)];
    let d = p.decide(t, &f(0.6), &msg());
    assert_eq!(d.action, Action::AllowWithNotice);
    assert!(!d.violation);
    assert!(d.recipient_notice.is_some());
    assert!(!d.explanation.is_empty());
    assert_eq!(p.decide(t, &f(0.9), &msg()).action, Action::Block);
}

#[test]
fn escalation_raises_and_expires() {
    let p = Policy::default();
    let day = 86_400;
    let t = "call 312 555 0148 now";
    let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
    // First medium violation: masked, one strike point, notice level.
    let d = p.decide(t, &f(0.6), &msg().now(10 * day));
    assert_eq!(d.action, Action::Mask);
    let s = d.strike.clone().unwrap();
    assert_eq!((s.at, s.weight), (10 * day, 1));
    assert_eq!(
        d.escalation.as_ref().unwrap().level,
        EscalationLevel::Notice
    );
    assert_eq!(p.strike_for(&d, 10 * day), Some(s.clone()));
    assert!(
        d.explanation.contains("Strike points: 1"),
        "{}",
        d.explanation
    );
    // With 3 points already, masking becomes blocking.
    let hist = History {
        strikes: vec![
            Strike {
                at: 8 * day,
                weight: 2,
                categories: vec![],
            },
            s.clone(),
        ],
        restricted_until: None,
    };
    let d = p.decide(t, &f(0.6), &msg().history(hist.clone()).now(11 * day));
    assert_eq!(d.action, Action::Block);
    let e = d.escalation.unwrap();
    assert_eq!(e.points, 5);
    assert_eq!(e.level, EscalationLevel::Block);
    // After a clean period the strikes are gone.
    let d = p.decide(t, &f(0.6), &msg().history(hist.clone()).now(60 * day));
    assert_eq!(d.action, Action::Mask);
    assert_eq!(d.escalation.unwrap().points, 1);
    // Enough points: restriction, then suspension recommended.
    let many = History {
        strikes: (0..5)
            .map(|i| Strike {
                at: i * day,
                weight: 2,
                categories: vec![],
            })
            .collect(),
        restricted_until: None,
    };
    let e = p.escalation(&many, 4 * day);
    assert_eq!(e.level, EscalationLevel::Suspend);
    assert!(e.recommend_suspension);
    assert_eq!(e.restricted_until, Some(4 * day + 24 * 3600));
    let e = p.escalation(&many, 4 * day + 25 * 3600);
    assert_eq!(e.restricted_until, None);
    assert_eq!(p.escalation(&History::default(), 0), Escalation::default());
    // Clean texts give no strike and no escalation.
    let d = p.decide("hello", &[], &msg().history(many));
    assert_eq!(
        (d.action, d.strike, d.escalation),
        (Action::Allow, None, None)
    );
}

#[test]
fn strikes_only_on_the_policys_surfaces() {
    let day = 86_400;
    let t = "call 312 555 0148 now";
    let f = |c| vec![find(t, "312 555 0148", Category::Phone, None, c)];
    // Enough points to raise masking to blocking, and a restriction in force.
    let hist = History {
        strikes: vec![Strike {
            at: 9 * day,
            weight: 4,
            categories: vec![],
        }],
        restricted_until: Some(11 * day),
    };
    let masking = Policy::from_toml_str("[actions.\"*\"]\nphone = \"mask\"\n").unwrap();
    assert_eq!(masking.escalation.surfaces, [Surface::Message]);
    for surface in [
        Surface::Profile,
        Surface::JobPost,
        Surface::Proposal,
        Surface::Invite,
    ] {
        let ctx = Context::new(surface).history(hist.clone()).now(10 * day);
        // Blocked: no strike, no escalation, no strike points quoted.
        let d = Policy::default().decide(t, &f(0.95), &ctx);
        assert_eq!(d.action, Action::Block);
        assert!(d.violation);
        assert_eq!((&d.strike, &d.escalation), (&None, &None), "{surface}");
        assert_eq!(Policy::default().strike_for(&d, 10 * day), None);
        assert!(
            !d.explanation.contains("Strike points"),
            "{}",
            d.explanation
        );
        assert!(!d.explanation.contains("restricted"), "{}", d.explanation);
        // Masked: the sender's history does not raise it to a block.
        let d = masking.decide(t, &f(0.95), &ctx);
        assert_eq!(d.action, Action::Mask, "{surface}");
        assert_eq!(d.strike, None);
    }
    // A message with the same history: raised, struck, warned.
    let ctx = msg().history(hist.clone()).now(10 * day);
    let d = masking.decide(t, &f(0.95), &ctx);
    assert_eq!(d.action, Action::Block);
    assert_eq!(d.strike.as_ref().map(|s| s.weight), Some(2));
    assert!(d.escalation.is_some());
    // A held profile text confirmed by a reviewer gives no strike either.
    let held = Policy::default().decide(t, &f(0.6), &Context::new(Surface::Profile));
    assert_eq!(held.action, Action::HoldForReview);
    assert_eq!(Policy::default().strike_on_review(&held, 7), None);

    // An operator who counts profiles too.
    let p = Policy::from_toml_str("[escalation]\nsurfaces = [\"message\", \"profile\"]\n").unwrap();
    let d = p.decide(t, &f(0.95), &Context::new(Surface::Profile).now(10 * day));
    assert_eq!(d.strike.as_ref().map(|s| s.weight), Some(2));
    assert!(
        d.explanation.contains("Strike points: 2"),
        "{}",
        d.explanation
    );
    let s = p.strike_on_review(&held, 7).unwrap();
    assert_eq!(s.weight, 2);
    let d = p.decide(t, &f(0.95), &Context::new(Surface::Proposal).now(10 * day));
    assert_eq!((d.action, d.strike), (Action::Block, None));
    // And one who counts none: messages give no strikes either.
    let none = Policy::from_toml_str("[escalation]\nsurfaces = []\n").unwrap();
    let d = none.decide(t, &f(0.95), &msg().history(hist).now(10 * day));
    assert_eq!(
        (d.action, d.strike, d.escalation),
        (Action::Block, None, None)
    );
    // A decision stored before it carried its surface reads back as a message.
    let json = serde_json::json!({
        "action": "block", "violation": true, "automated": true,
        "reasons": [], "explanation": "x"
    });
    let old: Decision = serde_json::from_value(json).unwrap();
    assert_eq!(old.surface, Surface::Message);
}

#[test]
fn bad_spans_are_ignored() {
    let p = Policy::default();
    let t = "héllo";
    let bad = Finding {
        category: Category::Phone,
        kind: None,
        start: 2,
        end: 40,
        matched: "x".into(),
        normalized: None,
        confidence: 1.0,
        rule: "x".into(),
    };
    let d = p.decide(t, &[bad], &msg());
    assert_eq!(d.action, Action::Allow);
}

#[test]
fn decision_serializes() {
    let p = Policy::default();
    let t = "call 312 555 0148 now";
    let d = p.decide(
        t,
        &[find(t, "312 555 0148", Category::Phone, None, 0.6)],
        &msg(),
    );
    let json = serde_json::to_string(&d).unwrap();
    assert!(json.contains("\"action\":\"mask\""), "{json}");
    let back: Decision = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn hosts() {
    assert_eq!(
        host_of("https://Chat.Example.com:443/x?y"),
        "chat.example.com"
    );
    assert_eq!(host_of("chat.example.com/abc"), "chat.example.com");
    assert!(domain_matches("a.chat.example.com", "chat.example.com"));
    assert!(!domain_matches("xchat.example.com", "chat.example.com"));
}

#[test]
fn a_blocked_scheduler_link_points_to_schedule() {
    let p = Policy::default();
    let t = "Book a slot: https://calendly.com/anna-k/30min";
    let link = "https://calendly.com/anna-k/30min";
    let f = vec![find(
        t,
        link,
        Category::Link,
        Some(LinkKind::Scheduler),
        0.95,
    )];
    let d = p.decide(t, &f, &msg());
    assert_eq!(d.action, Action::Block);
    assert!(
        d.explanation
            .contains("use \"Schedule\" in the conversation"),
        "{}",
        d.explanation
    );
    // Another kind of link does not get the scheduling hint.
    let f = vec![find(t, link, Category::Link, Some(LinkKind::Meeting), 0.95)];
    let d = p.decide(t, &f, &msg());
    assert!(!d.explanation.contains("\"Schedule\""), "{}", d.explanation);
    // Nor does an allowed one (after a contract starts).
    let f = vec![find(
        t,
        link,
        Category::Link,
        Some(LinkKind::Scheduler),
        0.95,
    )];
    let d = p.decide(t, &f, &msg().stage(Stage::ActiveContract));
    assert!(!d.explanation.contains("\"Schedule\""), "{}", d.explanation);
}
