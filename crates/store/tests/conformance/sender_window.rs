//! Several nodes: the users' event heads (sockets' position checks), a sender's recent
//! messages (the split-message window read from the database) and the guarded post that
//! fails when that window moved since it was read.

use super::checks::*;
use super::*;

conformance!(
    event_heads_and_sender_windows,
    guarded_posts_fail_when_the_window_moved
);

pub mod checks {
    use super::*;

    pub async fn event_heads_and_sender_windows(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        assert!(s.event_heads(&[]).await.unwrap().is_empty());
        let before = s.sender_guard(&c, "avery", 0).await.unwrap();
        assert_eq!(before.head, 0);
        let m1 = s
            .post_message(&msg(&c, "avery", "1", "one"))
            .await
            .unwrap()
            .message;
        s.post_message(&msg(&c, "mei", "2", "other")).await.unwrap();
        let m3 = s
            .post_message(&msg(&c, "avery", "3", "three"))
            .await
            .unwrap()
            .message;
        let mut heads = s
            .event_heads(&["mei".into(), "avery".into(), "nobody".into()])
            .await
            .unwrap();
        heads.sort();
        assert_eq!(
            heads,
            vec![
                ("avery".to_string(), s.event_cursor("avery").await.unwrap()),
                ("mei".to_string(), s.event_cursor("mei").await.unwrap()),
            ]
        );
        assert_eq!(heads[1].1, 3, "mei has three message events");
        let recent = s.sender_recent(&c, "avery", 0, 10).await.unwrap();
        let ids: Vec<i64> = recent.iter().map(|m| m.id).collect();
        assert_eq!(ids, vec![m1.id, m3.id], "the sender's own, in order");
        let last = s.sender_recent(&c, "avery", 0, 1).await.unwrap();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].id, m3.id, "the newest ones");
        let g = s.sender_guard(&c, "avery", 0).await.unwrap();
        assert_eq!(g.head, m3.id);
        let later = s
            .sender_guard(&c, "avery", m3.created_at + 1)
            .await
            .unwrap();
        assert_eq!(later.head, 0, "nothing since");
    }

    pub async fn guarded_posts_fail_when_the_window_moved(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let g = s.sender_guard(&c, "avery", 0).await.unwrap();
        // Unchanged window: the guarded post goes through.
        let ok = s
            .post_message_guarded(&msg(&c, "avery", "1", "one"), &[], &[], Some(g))
            .await
            .unwrap();
        assert!(ok.posted.created);
        // A retry of the same post (same client_id) is not a move.
        let again = s
            .post_message_guarded(&msg(&c, "avery", "1", "one"), &[], &[], Some(g))
            .await
            .unwrap();
        assert!(!again.posted.created);
        // Another sender's message does not move avery's window.
        s.post_message(&msg(&c, "mei", "m", "hi")).await.unwrap();
        let r = s
            .post_message_guarded(&msg(&c, "avery", "2", "two"), &[], &[], Some(g))
            .await;
        if s.kind() == parley_store::BackendKind::Sqlite {
            // One node, one writer: the guard is not checked.
            assert!(r.is_ok());
            return;
        }
        // "one" landed after the guard was read: deciding "two" on it would miss "one".
        match r {
            Err(StoreError::Conflict(m)) => assert_eq!(m, parley_store::WINDOW_MOVED),
            other => panic!("expected the window-moved conflict: {other:?}"),
        }
        let fresh = s.sender_guard(&c, "avery", 0).await.unwrap();
        let posted = s
            .post_message_guarded(&msg(&c, "avery", "2", "two"), &[], &[], Some(fresh))
            .await
            .unwrap();
        assert!(posted.posted.created);
    }
}
