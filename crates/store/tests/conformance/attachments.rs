//! Files attached to messages: linked in the post's transaction, each file once, only the
//! author's file in the conversation; a refusal stores no message (SQLite's group-commit
//! writer included: a batch with a refused post is written again post by post).

use super::checks::*;
use super::*;

conformance!(attachments_link_in_the_post_transaction);

pub mod checks {
    use super::*;

    /// A finished upload of `owner` in `conv`: a file in state `scanning`.
    async fn file(s: &Store, owner: &str, conv: &str, name: &str) -> String {
        let now = now_ms();
        let u = match s
            .create_upload(
                &NewUpload {
                    owner_id: owner.into(),
                    conversation_id: conv.into(),
                    filename: name.into(),
                    filetype: "text/plain".into(),
                    purpose: None,
                    length: 3,
                    expires_at: now + 3_600_000,
                    max_pending: 10,
                    quota_bytes: 0,
                },
                now,
            )
            .await
            .unwrap()
        {
            UploadCreated::Created(u) => u,
            other => panic!("{other:?}"),
        };
        assert!(s.advance_upload(&u.id, 0, 3, now).await.unwrap());
        s.complete_upload(&u.id, &"ab".repeat(32), "text/plain", now)
            .await
            .unwrap()
            .id
    }

    async fn count(s: &Store, c: &str) -> usize {
        s.list_messages(c, "avery", &PageRequest::default())
            .await
            .unwrap()
            .messages
            .len()
    }

    pub async fn attachments_link_in_the_post_transaction(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let other = conv(s, &["avery", "diego"]).await;
        let a = file(s, "avery", &c, "a.txt").await;
        let b = file(s, "avery", &c, "b.txt").await;
        let meis = file(s, "mei", &c, "m.txt").await;
        let elsewhere = file(s, "avery", &other, "e.txt").await;

        let p = s
            .post_message_attached(
                &msg(&c, "avery", "1", "files"),
                &[],
                &[a.clone(), b.clone()],
            )
            .await
            .unwrap();
        assert!(p.posted.created);
        let id = p.posted.message.id;
        let link = s.attachment_link(&a).await.unwrap().unwrap();
        assert_eq!(link.message_id, id);
        assert_eq!(link.client_id, "1");
        let got = s.attachments_of(&[id]).await.unwrap();
        let names: Vec<_> = got.iter().map(|(m, f)| (*m, f.name.as_str())).collect();
        assert_eq!(names, [(id, "a.txt"), (id, "b.txt")]);
        assert_eq!(count(s, &c).await, 1);

        // A retry answers the stored message and links nothing more.
        let again = s
            .post_message_attached(
                &msg(&c, "avery", "1", "files"),
                &[],
                std::slice::from_ref(&a),
            )
            .await
            .unwrap();
        assert!(!again.posted.created);
        assert_eq!(again.posted.message.id, id);

        // Refusals store no message.
        for (files, want) in [
            (vec![a.clone()], "conflict"),
            (vec![meis.clone()], "attachment"),
            (vec![elsewhere.clone()], "attachment"),
            (vec!["f_nope".to_string()], "attachment"),
        ] {
            let e = s
                .post_message_attached(&msg(&c, "avery", "2", "again"), &[], &files)
                .await
                .unwrap_err();
            match (&e, want) {
                (StoreError::Conflict(m), "conflict") => assert_eq!(m, ATTACHMENT_IN_USE),
                (StoreError::NotFound("attachment"), "attachment") => {}
                _ => panic!("{files:?}: {e:?}"),
            }
            assert_eq!(count(s, &c).await, 1, "{files:?}");
            assert!(s
                .attachment_link(&files[0])
                .await
                .unwrap()
                .is_none_or(|l| l.message_id == id));
        }

        // Concurrent posts (SQLite batches them): the refused one alone fails.
        let (m1, m3, m4) = (
            msg(&c, "mei", "m1", "mine"),
            msg(&c, "avery", "3", "taken"),
            msg(&c, "avery", "4", "plain"),
        );
        let (f1, f3) = ([meis.clone()], [b.clone()]);
        let (x, y, z) = tokio::join!(
            s.post_message_attached(&m1, &[], &f1),
            s.post_message_attached(&m3, &[], &f3),
            s.post_message(&m4),
        );
        assert!(x.unwrap().posted.created);
        assert!(matches!(y, Err(StoreError::Conflict(_))));
        assert!(z.unwrap().created);
        assert_eq!(count(s, &c).await, 3);
        assert_eq!(s.attachment_link(&b).await.unwrap().unwrap().message_id, id);
    }
}
