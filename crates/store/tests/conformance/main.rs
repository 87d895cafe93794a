//! The store's conformance suite: every check runs against SQLite in memory, SQLite in a
//! temporary file, and PostgreSQL (a fresh database per test, dropped afterwards).
//!
//! PostgreSQL: `PARLEY_TEST_POSTGRES_URL`, else `postgres://postgres@127.0.0.1:5432/test`. If none
//! answers, the PostgreSQL runs are skipped with a loud message, unless
//! `PARLEY_TEST_REQUIRE_POSTGRES=1`, which makes that a failure (for CI).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parley_store::*;
use serde_json::json;
use sqlx::Connection;

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

struct TestDb {
    label: &'static str,
    url: String,
    reopenable: bool,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    async fn all(test: &str) -> Vec<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("parley.db");
        let mut v = vec![
            TestDb {
                label: "sqlite-memory",
                url: "sqlite::memory:".into(),
                reopenable: false,
                pg: None,
                _dir: None,
            },
            TestDb {
                label: "sqlite-file",
                url: format!("sqlite://{}", path.display()),
                reopenable: true,
                pg: None,
                _dir: Some(dir),
            },
        ];
        if let Some(pg) = postgres_db(test).await {
            v.push(pg);
        }
        v
    }

    async fn open(&self) -> Store {
        Store::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("{}: connect: {e:?}", self.label))
    }

    async fn finish(self, store: Store) {
        store.close().await;
        if let Some((admin, name)) = &self.pg {
            let mut c = sqlx::PgConnection::connect(admin).await.expect("pg admin");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut c)
                .await
                .expect("drop test database");
        }
    }
}

fn with_database(url: &str, db: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (url, None),
    };
    let start = main.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match main[start..].find('/') {
        Some(i) => &main[..start + i],
        None => main,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

fn unique_suffix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn postgres_db(test: &str) -> Option<TestDb> {
    let explicit = std::env::var("PARLEY_TEST_POSTGRES_URL").ok();
    let admin = explicit.clone().unwrap_or_else(|| DEFAULT_PG.to_string());
    let require = std::env::var("PARLEY_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let conn =
        tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin)).await;
    let mut conn = match conn {
        Ok(Ok(c)) => c,
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_string(),
            };
            if require {
                panic!("PostgreSQL required but {admin} does not answer: {why}");
            }
            eprintln!(
                "\n!!!!!!!! SKIPPING POSTGRESQL for {test}: {admin} does not answer ({why}). \
                 Only SQLite was tested. Set PARLEY_TEST_POSTGRES_URL or start PostgreSQL. !!!!!!!!\n"
            );
            return None;
        }
    };
    let name = format!("parley_test_{}", unique_suffix());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    Some(TestDb {
        label: "postgres",
        url: with_database(&admin, &name),
        reopenable: true,
        pg: Some((admin, name)),
        _dir: None,
    })
}

/// One `#[tokio::test]` per check, each running the check against every backend.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for db in TestDb::all(stringify!($name)).await {
                eprintln!("{} on {}", stringify!($name), db.label);
                let store = db.open().await;
                checks::$name(&db, &store).await;
                db.finish(store).await;
            }
        }
    )*};
}

conformance!(
    migrations_apply_and_are_idempotent,
    upserts_create_then_replace,
    upserts_validate_input,
    stage_from_contracts,
    member_stages_in_conversation,
    conversations_and_membership,
    non_members_get_not_found,
    message_idempotency_by_client_id,
    edits_keep_versions,
    deletion_keeps_the_record,
    cursor_pagination,
    held_messages_visibility_and_review,
    read_markers_and_unread_counts,
    conversation_list,
    tokens_hash_expiry_revocation,
    decisions_recorded,
    audit_chain_grows_and_verifies,
    audit_tampering_is_detected,
    metrics_counts,
    event_log_and_cursor,
    acknowledged_message_is_durable,
    concurrent_posts,
    two_stores_on_one_database,
    held_messages_become_queue_items,
    reports_merge_and_resolve,
    strikes_and_restrictions_in_force,
    appeals_overturn_and_reviewers,
    moderation_stats_count_flags,
    conversation_ref_titles,
);

/// The one-transaction rule under injected faults.
mod fault;

/// The operator dashboard's aggregates; operator events of calls.
mod dashboard;

/// Files attached to messages.
mod attachments;

/// Several nodes: event heads, sender windows, guarded posts.
mod sender_window;

#[test]
fn database_url_rewrite() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

mod checks {
    use super::*;

    pub fn decision(action: &str) -> DecisionInput {
        DecisionInput {
            surface: "message".into(),
            action: action.into(),
            automated: true,
            decision: json!({"action": action, "findings": [], "policy": "test"}),
        }
    }

    pub fn msg(conv: &str, author: &str, client_id: &str, body: &str) -> NewMessage {
        NewMessage {
            conversation_id: conv.into(),
            author_id: author.into(),
            client_id: client_id.into(),
            purpose: None,
            original: body.into(),
            delivered: Some(body.into()),
            state: MessageState::Delivered,
            decision: decision("allow"),
            created_at: None,
        }
    }

    pub fn held(conv: &str, author: &str, client_id: &str, body: &str) -> NewMessage {
        NewMessage {
            delivered: None,
            state: MessageState::Held,
            decision: decision("hold"),
            ..msg(conv, author, client_id, body)
        }
    }

    /// The demo marketplace in miniature: Northwind (client Avery, colleague Sam), Contoso
    /// (client Priya), freelancers Mei and Diego, moderator Morgan.
    pub async fn seed(s: &Store) {
        for (id, name, plan) in [
            ("northwind", "Northwind Labs", "basic"),
            ("contoso", "Contoso Enterprise", "enterprise"),
        ] {
            s.put_org(
                id,
                &OrgInput {
                    name: name.into(),
                    plan: plan.into(),
                },
            )
            .await
            .unwrap();
        }
        for (id, name, org, roles) in [
            ("avery", "Avery Chen", Some("northwind"), vec![Role::Client]),
            ("sam", "Sam Ortiz", Some("northwind"), vec![Role::Client]),
            (
                "priya",
                "Priya Natarajan",
                Some("contoso"),
                vec![Role::Client],
            ),
            ("mei", "Mei Tanaka", None, vec![Role::Freelancer]),
            (
                "diego",
                "Diego Ramos",
                None,
                vec![Role::Freelancer, Role::Client],
            ),
            ("morgan", "Morgan Lee", None, vec![Role::Moderator]),
        ] {
            s.put_user(
                id,
                &UserInput {
                    name: name.into(),
                    org_id: org.map(Into::into),
                    roles,
                    country: Some("US".into()),
                    time_zone: Some("America/New_York".into()),
                },
            )
            .await
            .unwrap();
        }
    }

    /// [`seed`], then a conversation between Avery (client) and Mei (freelancer): the setup
    /// of most message checks.
    pub async fn seeded_conv(s: &Store) -> String {
        seed(s).await;
        conv(s, &["avery", "mei"]).await
    }

    /// [`seeded_conv`] where Avery said hello (client id `1`) and Mei's answer
    /// `my whatsapp is ...` (client id `2`) was held; the conversation and the held message.
    pub async fn seeded_held_message(s: &Store) -> (String, Message) {
        let c = seeded_conv(s).await;
        s.post_message(&msg(&c, "avery", "1", "hello"))
            .await
            .unwrap();
        let h = s
            .post_message(&held(&c, "mei", "2", "my whatsapp is ..."))
            .await
            .unwrap()
            .message;
        (c, h)
    }

    /// A decision about Mei's profile, Mei acting.
    pub fn profile_decision(decision: DecisionInput) -> NewDecision {
        NewDecision {
            subject_kind: "profile".into(),
            subject_id: Some("mei".into()),
            conversation_id: None,
            message_id: None,
            message_version: None,
            actor_id: Some("mei".into()),
            decision,
        }
    }

    /// A decision about a message Mei tried to send in `conv` that was not stored (blocked).
    pub fn attempt_decision(conv: &str, decision: DecisionInput) -> NewDecision {
        NewDecision {
            subject_kind: "message".into(),
            subject_id: None,
            conversation_id: Some(conv.to_string()),
            message_id: None,
            message_version: None,
            actor_id: Some("mei".into()),
            decision,
        }
    }

    /// One page of up to 500 messages of `conv` as `viewer` sees them.
    pub async fn all_messages(s: &Store, conv: &str, viewer: &str) -> MessagePage {
        s.list_messages(
            conv,
            viewer,
            &PageRequest {
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    }

    pub async fn conv(s: &Store, members: &[&str]) -> String {
        s.create_conversation(&NewConversation {
            members: members.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .id
    }

    pub async fn migrations_apply_and_are_idempotent(db: &TestDb, s: &Store) {
        s.migrate().await.unwrap();
        s.migrate().await.unwrap();
        seed(s).await;
        if db.reopenable {
            // A second process/node starting on the same database: migrations are a no-op.
            let again = db.open().await;
            assert_eq!(again.get_org("northwind").await.unwrap().plan, "basic");
            again.close().await;
        }
        s.ping().await.unwrap();
    }

    pub async fn upserts_create_then_replace(_db: &TestDb, s: &Store) {
        let o = s
            .put_org(
                "o1",
                &OrgInput {
                    name: "One".into(),
                    plan: "basic".into(),
                },
            )
            .await
            .unwrap();
        assert!(o.created);
        let o2 = s
            .put_org(
                "o1",
                &OrgInput {
                    name: "One Inc".into(),
                    plan: "enterprise".into(),
                },
            )
            .await
            .unwrap();
        assert!(!o2.created);
        assert_eq!(o2.value.name, "One Inc");
        assert_eq!(o2.value.plan, "enterprise");
        assert_eq!(o2.value.created_at, o.value.created_at);
        assert_eq!(s.get_org("o1").await.unwrap(), o2.value);

        let input = UserInput {
            name: "Dana".into(),
            org_id: Some("o1".into()),
            roles: vec![Role::Freelancer, Role::Client, Role::Freelancer],
            country: Some("DE".into()),
            time_zone: Some("Europe/Berlin".into()),
        };
        let u = s.put_user("u1", &input).await.unwrap();
        assert!(u.created);
        assert_eq!(u.value.roles, vec![Role::Client, Role::Freelancer]);
        assert!(u.value.has_role(Role::Client) && u.value.has_role(Role::Freelancer));
        let u2 = s.put_user("u1", &input).await.unwrap();
        assert!(!u2.created);
        let u3 = s
            .put_user(
                "u1",
                &UserInput {
                    org_id: None,
                    roles: vec![],
                    ..input.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(u3.value.org_id, None);
        assert!(u3.value.roles.is_empty());
        assert_eq!(s.get_user("u1").await.unwrap(), u3.value);

        let p = s
            .put_profile(
                "u1",
                &ProfileInput {
                    headline: "Rust dev".into(),
                    bio: "Hi".into(),
                },
            )
            .await
            .unwrap();
        assert!(p.created);
        let p = s
            .put_profile(
                "u1",
                &ProfileInput {
                    headline: "Rust dev".into(),
                    bio: "Hello".into(),
                },
            )
            .await
            .unwrap();
        assert!(!p.created);
        assert_eq!(s.get_profile("u1").await.unwrap().bio, "Hello");

        s.put_user(
            "f1",
            &UserInput {
                name: "Fay".into(),
                roles: vec![Role::Freelancer],
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let job_in = JobInput {
            org_id: "o1".into(),
            author_id: Some("u1".into()),
            title: "Landing page redesign".into(),
            description: "Figma to HTML".into(),
            status: String::new(),
        };
        let j = s.put_job("j1", &job_in).await.unwrap();
        assert!(j.created);
        assert_eq!(j.value.status, "open");
        let j = s
            .put_job(
                "j1",
                &JobInput {
                    status: "closed".into(),
                    ..job_in
                },
            )
            .await
            .unwrap();
        assert!(!j.created);
        assert_eq!(s.get_job("j1").await.unwrap().status, "closed");

        let pr_in = ProposalInput {
            job_id: "j1".into(),
            freelancer_id: "f1".into(),
            cover_letter: "I can do it".into(),
            status: String::new(),
        };
        assert!(s.put_proposal("p1", &pr_in).await.unwrap().created);
        let pr = s.put_proposal("p1", &pr_in).await.unwrap();
        assert!(!pr.created);
        assert_eq!(pr.value.status, "submitted");
        assert_eq!(s.get_proposal("p1").await.unwrap(), pr.value);

        let inv_in = InviteInput {
            job_id: Some("j1".into()),
            org_id: "o1".into(),
            sender_id: Some("u1".into()),
            freelancer_id: "f1".into(),
            message: "Please apply".into(),
            status: String::new(),
        };
        assert!(s.put_invite("i1", &inv_in).await.unwrap().created);
        let inv = s
            .put_invite(
                "i1",
                &InviteInput {
                    status: "accepted".into(),
                    ..inv_in
                },
            )
            .await
            .unwrap();
        assert!(!inv.created);
        assert_eq!(s.get_invite("i1").await.unwrap().status, "accepted");

        let c_in = ContractInput {
            client_org_id: "o1".into(),
            freelancer_id: "f1".into(),
            status: ContractStatus::Offered,
            job_id: Some("j1".into()),
        };
        assert!(s.put_contract("k1", &c_in).await.unwrap().created);
        let c = s
            .put_contract(
                "k1",
                &ContractInput {
                    status: ContractStatus::Active,
                    ..c_in
                },
            )
            .await
            .unwrap();
        assert!(!c.created);
        assert_eq!(
            s.get_contract("k1").await.unwrap().status,
            ContractStatus::Active
        );
    }

    pub async fn upserts_validate_input(_db: &TestDb, s: &Store) {
        let bad = |r: Result<Upserted<Org>>| matches!(r, Err(StoreError::Invalid(_)));
        assert!(bad(s
            .put_org(
                "",
                &OrgInput {
                    name: "x".into(),
                    plan: "p".into()
                }
            )
            .await));
        assert!(bad(s
            .put_org(
                "a b",
                &OrgInput {
                    name: "x".into(),
                    plan: "p".into()
                }
            )
            .await));
        assert!(bad(s
            .put_org(
                &"x".repeat(500),
                &OrgInput {
                    name: "x".into(),
                    plan: "p".into()
                }
            )
            .await));
        assert!(bad(s
            .put_org(
                "o",
                &OrgInput {
                    name: " ".into(),
                    plan: "p".into()
                }
            )
            .await));
        assert!(bad(s
            .put_org(
                "o",
                &OrgInput {
                    name: "x".into(),
                    plan: String::new()
                }
            )
            .await));
        // References to missing objects.
        let r = s
            .put_user(
                "u",
                &UserInput {
                    name: "U".into(),
                    org_id: Some("nope".into()),
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        assert!(matches!(
            s.get_user("u").await,
            Err(StoreError::NotFound(_))
        ));
        let r = s
            .put_contract(
                "k",
                &ContractInput {
                    client_org_id: "nope".into(),
                    freelancer_id: "nope".into(),
                    status: ContractStatus::Active,
                    job_id: None,
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        let r = s
            .put_job(
                "j",
                &JobInput {
                    org_id: "nope".into(),
                    title: "T".into(),
                    ..Default::default()
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        let r = s.put_profile("nope", &ProfileInput::default()).await;
        assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
        // Not found, not a backend error.
        assert!(matches!(
            s.get_org("nope").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.get_contract("nope").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.get_invite("nope").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.get_proposal("nope").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.get_job("nope").await,
            Err(StoreError::NotFound(_))
        ));
        // NUL characters: refused the same way on every backend; garbage ids are not
        // backend errors.
        let r = s
            .put_profile(
                "nope",
                &ProfileInput {
                    headline: "a\0b".into(),
                    bio: String::new(),
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        for r in [
            s.get_org("a\0b").await.map(|_| ()),
            s.get_user("a\0b").await.map(|_| ()),
            s.get_conversation("a\0b").await.map(|_| ()),
            s.is_member("a\0b", "b\0c").await.map(|_| ()),
            s.authenticate("pt_\0", 0).await.map(|_| ()),
        ] {
            assert!(
                matches!(
                    r,
                    Err(StoreError::NotFound(_)) | Err(StoreError::Invalid(_)) | Ok(())
                ),
                "{r:?}"
            );
        }
        // Hostile text is data, not SQL.
        let o = s
            .put_org(
                "evil",
                &OrgInput {
                    name: "'); DROP TABLE orgs; --".into(),
                    plan: "basic".into(),
                },
            )
            .await
            .unwrap();
        assert_eq!(o.value.name, "'); DROP TABLE orgs; --");
        assert_eq!(
            s.get_org("evil").await.unwrap().name,
            "'); DROP TABLE orgs; --"
        );
    }

    async fn contract(s: &Store, id: &str, org: &str, freelancer: &str, status: ContractStatus) {
        s.put_contract(
            id,
            &ContractInput {
                client_org_id: org.into(),
                freelancer_id: freelancer.into(),
                status,
                job_id: None,
            },
        )
        .await
        .unwrap();
    }

    pub async fn stage_from_contracts(_db: &TestDb, s: &Store) {
        seed(s).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::PreContract
        );
        contract(s, "k1", "northwind", "mei", ContractStatus::Offered).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::PreContract
        );
        contract(s, "k1", "northwind", "mei", ContractStatus::Active).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::ActiveContract
        );
        contract(s, "k2", "northwind", "mei", ContractStatus::Ended).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::ActiveContract
        );
        contract(s, "k1", "northwind", "mei", ContractStatus::Ended).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::EndedContract
        );
        contract(s, "k3", "northwind", "mei", ContractStatus::Offered).await;
        assert_eq!(
            s.stage("northwind", "mei").await.unwrap(),
            Stage::EndedContract
        );
        // Other pairs are unaffected.
        assert_eq!(s.stage("contoso", "mei").await.unwrap(), Stage::PreContract);
        assert_eq!(
            s.stage("northwind", "diego").await.unwrap(),
            Stage::PreContract
        );
        assert_eq!(s.stage("nope", "nobody").await.unwrap(), Stage::PreContract);
    }

    pub async fn member_stages_in_conversation(_db: &TestDb, s: &Store) {
        seed(s).await;
        contract(s, "k1", "northwind", "mei", ContractStatus::Active).await;
        contract(s, "k2", "contoso", "diego", ContractStatus::Ended).await;
        let c = conv(s, &["avery", "sam", "mei", "diego"]).await;
        let st = s.member_stages(&c, "avery").await.unwrap();
        let get = |u: &str| st.iter().find(|m| m.user_id == u).unwrap().clone();
        assert_eq!(st.len(), 3);
        assert!(st.iter().all(|m| m.user_id != "avery"));
        assert_eq!(get("mei").stage, Stage::ActiveContract);
        assert_eq!(get("diego").stage, Stage::PreContract);
        assert_eq!(get("sam").stage, Stage::PreContract);
        assert!(get("sam").same_org);
        assert!(!get("mei").same_org);
        assert_eq!(get("diego").roles, vec![Role::Client, Role::Freelancer]);
        assert_eq!(
            Stage::strictest(st.iter().map(|m| m.stage)),
            Some(Stage::PreContract)
        );
        // From the freelancer's side, the contract counts in the other direction.
        let st = s.member_stages(&c, "mei").await.unwrap();
        assert_eq!(
            st.iter().find(|m| m.user_id == "avery").unwrap().stage,
            Stage::ActiveContract
        );
        assert_eq!(
            st.iter().find(|m| m.user_id == "sam").unwrap().stage,
            Stage::ActiveContract
        );
        assert_eq!(
            st.iter().find(|m| m.user_id == "diego").unwrap().stage,
            Stage::PreContract
        );
        // Ended contract between Contoso and Diego.
        let c2 = conv(s, &["priya", "diego"]).await;
        let st = s.member_stages(&c2, "diego").await.unwrap();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0].stage, Stage::EndedContract);
        let st = s.member_stages(&c2, "priya").await.unwrap();
        assert_eq!(st[0].stage, Stage::EndedContract);
        // Active one-to-one.
        let c3 = conv(s, &["avery", "mei"]).await;
        let st = s.member_stages(&c3, "avery").await.unwrap();
        assert_eq!(
            Stage::strictest(st.iter().map(|m| m.stage)),
            Some(Stage::ActiveContract)
        );
        // Not a member.
        assert!(matches!(
            s.member_stages(&c3, "priya").await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.member_stages("c_nope", "avery").await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn conversations_and_membership(_db: &TestDb, s: &Store) {
        seed(s).await;
        s.put_job(
            "job1",
            &JobInput {
                org_id: "northwind".into(),
                title: "Landing page redesign".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let c = s
            .create_conversation(&NewConversation {
                members: vec!["avery".into(), "mei".into(), "avery".into()],
                subject: Some("Landing page".into()),
                reference: Some(ConversationRef {
                    kind: RefKind::Job,
                    id: "job1".into(),
                }),
                created_by: Some("avery".into()),
            })
            .await
            .unwrap();
        assert!(c.id.starts_with("c_"));
        assert_eq!(
            c.reference,
            Some(ConversationRef {
                kind: RefKind::Job,
                id: "job1".into()
            })
        );
        assert_eq!(s.get_conversation(&c.id).await.unwrap(), c);
        assert_eq!(s.get_conversation_for(&c.id, "mei").await.unwrap(), c);
        let members = s.conversation_members(&c.id).await.unwrap();
        assert_eq!(
            members
                .iter()
                .map(|m| m.user_id.as_str())
                .collect::<Vec<_>>(),
            ["avery", "mei"]
        );
        assert!(s.is_member(&c.id, "avery").await.unwrap());
        assert!(!s.is_member(&c.id, "priya").await.unwrap());
        assert!(!s.is_member("c_nope", "avery").await.unwrap());
        // Direct conversation.
        let d = conv(s, &["priya", "diego"]).await;
        assert_eq!(s.get_conversation(&d).await.unwrap().reference, None);
        assert_ne!(d, c.id);
        // Invalid: unknown member, unknown ref, no members.
        let r = s
            .create_conversation(&NewConversation {
                members: vec!["avery".into(), "ghost".into()],
                ..Default::default()
            })
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        let r = s
            .create_conversation(&NewConversation {
                members: vec!["avery".into()],
                reference: Some(ConversationRef {
                    kind: RefKind::Contract,
                    id: "nope".into(),
                }),
                ..Default::default()
            })
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
        let r = s.create_conversation(&NewConversation::default()).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }

    pub async fn non_members_get_not_found(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let m = s
            .post_message(&msg(&c, "avery", "1", "hello"))
            .await
            .unwrap()
            .message;
        let nf =
            |r: Result<(), StoreError>| assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
        nf(s.get_conversation_for(&c, "priya").await.map(|_| ()));
        nf(s.list_messages(&c, "priya", &PageRequest::default())
            .await
            .map(|_| ()));
        nf(s.post_message(&msg(&c, "priya", "1", "hi"))
            .await
            .map(|_| ()));
        nf(s.get_message(m.id, "priya").await.map(|_| ()));
        nf(s.edit_message(
            m.id,
            "priya",
            &MessageEdit {
                original: "x".into(),
                delivered: Some("x".into()),
                state: MessageState::Delivered,
                decision: decision("allow"),
            },
        )
        .await
        .map(|_| ()));
        nf(s.delete_message(m.id, "priya").await.map(|_| ()));
        nf(s.mark_read(&c, "priya", m.id).await.map(|_| ()));
        nf(s.unread_count(&c, "priya").await.map(|_| ()));
        nf(s.member_stages(&c, "priya").await.map(|_| ()));
        // Unknown conversation: the same answer.
        nf(s.post_message(&msg("c_nope", "avery", "1", "hi"))
            .await
            .map(|_| ()));
        nf(s.list_messages("c_nope", "avery", &PageRequest::default())
            .await
            .map(|_| ()));
        nf(s.get_message(999_999, "avery").await.map(|_| ()));
        assert!(s
            .list_conversations("priya", None, 50)
            .await
            .unwrap()
            .is_empty());
        // A member who is not the author: forbidden.
        let r = s.delete_message(m.id, "mei").await;
        assert!(matches!(r, Err(StoreError::Forbidden(_))), "{r:?}");
    }

    pub async fn message_idempotency_by_client_id(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let a = s
            .post_message(&msg(&c, "avery", "k-1", "hello"))
            .await
            .unwrap();
        assert!(a.created);
        let b = s
            .post_message(&msg(&c, "avery", "k-1", "hello"))
            .await
            .unwrap();
        assert!(!b.created);
        assert_eq!(a.message, b.message);
        // A retry with a different body still answers the stored message.
        let b2 = s
            .post_message(&msg(&c, "avery", "k-1", "changed"))
            .await
            .unwrap();
        assert!(!b2.created);
        assert_eq!(b2.message.original, "hello");
        // Same client_id from another author, or in another conversation: distinct messages.
        let m = s.post_message(&msg(&c, "mei", "k-1", "hi")).await.unwrap();
        assert!(m.created);
        let c2 = conv(s, &["avery", "mei"]).await;
        assert!(
            s.post_message(&msg(&c2, "avery", "k-1", "hello"))
                .await
                .unwrap()
                .created
        );
        let page = s
            .list_messages(&c, "avery", &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.messages.len(), 2);
        // One decision and one version for the deduplicated message.
        assert_eq!(s.message_versions(a.message.id).await.unwrap().len(), 1);
        assert_eq!(
            s.decisions_for("message", &a.message.id.to_string())
                .await
                .unwrap()
                .len(),
            1
        );
        // client_id validated.
        let r = s.post_message(&msg(&c, "avery", "", "x")).await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{r:?}");
    }

    pub async fn edits_keep_versions(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let m = s
            .post_message(&msg(&c, "mei", "1", "first draft"))
            .await
            .unwrap()
            .message;
        assert_eq!(m.version, 1);
        let e = s
            .edit_message(
                m.id,
                "mei",
                &MessageEdit {
                    original: "call me at 555 0100".into(),
                    delivered: Some("call me at [hidden]".into()),
                    state: MessageState::Delivered,
                    decision: decision("mask"),
                },
            )
            .await
            .unwrap();
        assert_eq!(e.version, 2);
        assert_eq!(e.id, m.id);
        assert!(e.edited_at.is_some());
        assert_eq!(e.original, "call me at 555 0100");
        assert_eq!(e.delivered.as_deref(), Some("call me at [hidden]"));
        assert_eq!(e.decision["action"], "mask");
        let e3 = s
            .edit_message(
                m.id,
                "mei",
                &MessageEdit {
                    original: "third".into(),
                    delivered: Some("third".into()),
                    state: MessageState::Delivered,
                    decision: decision("allow"),
                },
            )
            .await
            .unwrap();
        assert_eq!(e3.version, 3);
        let v = s.message_versions(m.id).await.unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(
            (v[0].version, v[0].kind.as_str(), v[0].original.as_str()),
            (1, "created", "first draft")
        );
        assert_eq!(
            (v[1].version, v[1].kind.as_str(), v[1].original.as_str()),
            (2, "edited", "call me at 555 0100")
        );
        assert_eq!(v[1].delivered.as_deref(), Some("call me at [hidden]"));
        assert_eq!(v[1].decision["action"], "mask");
        assert_eq!(v[2].original, "third");
        assert_eq!(v[2].actor_id.as_deref(), Some("mei"));
        let d = s.decisions_for("message", &m.id.to_string()).await.unwrap();
        assert_eq!(
            d.iter().map(|d| d.message_version).collect::<Vec<_>>(),
            [Some(1), Some(2), Some(3)]
        );
        // Only the author edits.
        let r = s
            .edit_message(
                m.id,
                "avery",
                &MessageEdit {
                    original: "x".into(),
                    delivered: Some("x".into()),
                    state: MessageState::Delivered,
                    decision: decision("allow"),
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Forbidden(_))), "{r:?}");
        assert_eq!(
            s.get_message(m.id, "avery").await.unwrap().original,
            "third"
        );
    }

    pub async fn deletion_keeps_the_record(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let m = s
            .post_message(&msg(&c, "avery", "1", "to be deleted"))
            .await
            .unwrap()
            .message;
        s.post_message(&msg(&c, "avery", "2", "stays"))
            .await
            .unwrap();
        let d = s.delete_message(m.id, "avery").await.unwrap();
        assert!(d.deleted_at.is_some());
        assert_eq!(d.original, "to be deleted");
        // Deleting again is a no-op.
        let d2 = s.delete_message(m.id, "avery").await.unwrap();
        assert_eq!(d2.deleted_at, d.deleted_at);
        assert_eq!(d2.version, d.version);
        // The record stays: a tombstone in the list, the text in the versions.
        let page = s
            .list_messages(&c, "mei", &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.messages.len(), 2);
        assert!(page.messages[0].deleted_at.is_some());
        let any = s.get_message_any(m.id).await.unwrap();
        assert_eq!(any.original, "to be deleted");
        let v = s.message_versions(m.id).await.unwrap();
        assert_eq!(
            v.iter().map(|v| v.kind.as_str()).collect::<Vec<_>>(),
            ["created", "deleted"]
        );
        assert_eq!(v[1].original, "to be deleted");
        // A deleted message cannot be edited; unread counts skip it.
        let r = s
            .edit_message(
                m.id,
                "avery",
                &MessageEdit {
                    original: "x".into(),
                    delivered: Some("x".into()),
                    state: MessageState::Delivered,
                    decision: decision("allow"),
                },
            )
            .await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        assert_eq!(s.unread_count(&c, "mei").await.unwrap(), 1);
    }

    pub async fn cursor_pagination(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let other = conv(s, &["avery", "mei"]).await;
        let mut ids = Vec::new();
        for i in 0..25 {
            let author = if i % 2 == 0 { "avery" } else { "mei" };
            ids.push(
                s.post_message(&msg(&c, author, &format!("m{i}"), &format!("message {i}")))
                    .await
                    .unwrap()
                    .message
                    .id,
            );
            // Interleave another conversation's messages: they never show up here.
            s.post_message(&msg(&other, "avery", &format!("o{i}"), "elsewhere"))
                .await
                .unwrap();
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let page = |before: Option<i64>, after: Option<i64>| PageRequest {
            before,
            after,
            limit: 10,
        };
        let p1 = s.list_messages(&c, "mei", &page(None, None)).await.unwrap();
        assert!(p1.has_more);
        assert_eq!(
            p1.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[15..25]
        );
        assert_eq!(p1.messages.last().unwrap().original, "message 24");
        let p2 = s
            .list_messages(&c, "mei", &page(Some(p1.messages[0].id), None))
            .await
            .unwrap();
        assert!(p2.has_more);
        assert_eq!(
            p2.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[5..15]
        );
        let p3 = s
            .list_messages(&c, "mei", &page(Some(p2.messages[0].id), None))
            .await
            .unwrap();
        assert!(!p3.has_more);
        assert_eq!(
            p3.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[0..5]
        );
        // Forward from a cursor (catching up), newest last too.
        let f1 = s
            .list_messages(&c, "mei", &page(None, Some(ids[2])))
            .await
            .unwrap();
        assert!(f1.has_more);
        assert_eq!(
            f1.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[3..13]
        );
        let f2 = s
            .list_messages(
                &c,
                "mei",
                &PageRequest {
                    before: None,
                    after: Some(ids[20]),
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert!(!f2.has_more);
        assert_eq!(
            f2.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
            ids[21..25]
        );
        let none = s
            .list_messages(&c, "mei", &page(None, Some(ids[24])))
            .await
            .unwrap();
        assert!(none.messages.is_empty() && !none.has_more);
        // Exactly one page: no "more".
        let all = s
            .list_messages(
                &c,
                "mei",
                &PageRequest {
                    before: None,
                    after: None,
                    limit: 25,
                },
            )
            .await
            .unwrap();
        assert_eq!(all.messages.len(), 25);
        assert!(!all.has_more);
        // Limit 0 means the default (50); huge limits are capped.
        let d = s
            .list_messages(&c, "mei", &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(d.messages.len(), 25);
        let big = s
            .list_messages(
                &c,
                "mei",
                &PageRequest {
                    before: None,
                    after: None,
                    limit: u32::MAX,
                },
            )
            .await
            .unwrap();
        assert_eq!(big.messages.len(), 25);
    }

    pub async fn held_messages_visibility_and_review(_db: &TestDb, s: &Store) {
        let (c, h) = seeded_held_message(s).await;
        assert_eq!(h.state, MessageState::Held);
        assert_eq!(h.delivered, None);
        // The author sees it; the recipient does not.
        assert_eq!(
            s.list_messages(&c, "mei", &PageRequest::default())
                .await
                .unwrap()
                .messages
                .len(),
            2
        );
        assert_eq!(
            s.list_messages(&c, "avery", &PageRequest::default())
                .await
                .unwrap()
                .messages
                .len(),
            1
        );
        assert!(matches!(
            s.get_message(h.id, "avery").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.unread_count(&c, "avery").await.unwrap(), 0);
        let conv_row = s.get_conversation(&c).await.unwrap();
        assert_ne!(conv_row.last_message_id, Some(h.id));
        // The review queue.
        let q = s.held_messages(10).await.unwrap();
        assert_eq!(q.iter().map(|m| m.id).collect::<Vec<_>>(), [h.id]);
        let human = DecisionInput {
            surface: "message".into(),
            action: "allow".into(),
            automated: false,
            decision: json!({"action": "allow", "note": "false alarm"}),
        };
        let r = s
            .review_message(h.id, "morgan", Some("my whatsapp is ..."), &human)
            .await
            .unwrap();
        assert_eq!(r.state, MessageState::Delivered);
        assert_eq!(r.version, 2);
        assert!(s.held_messages(10).await.unwrap().is_empty());
        assert_eq!(
            s.get_message(h.id, "avery")
                .await
                .unwrap()
                .delivered
                .as_deref(),
            Some("my whatsapp is ...")
        );
        assert_eq!(s.unread_count(&c, "avery").await.unwrap(), 1);
        assert_eq!(
            s.get_conversation(&c).await.unwrap().last_message_id,
            Some(h.id)
        );
        let d = s.decisions_for("message", &h.id.to_string()).await.unwrap();
        assert_eq!(d.len(), 2);
        assert!(d[0].automated && d[0].reviewed_at.is_some());
        assert_eq!(d[0].reviewer_id.as_deref(), Some("morgan"));
        assert!(!d[1].automated);
        // Reviewing again: conflict. Rejecting another one keeps it private.
        assert!(matches!(
            s.review_message(h.id, "morgan", None, &human).await,
            Err(StoreError::Conflict(_))
        ));
        let h2 = s
            .post_message(&held(&c, "mei", "3", "email me"))
            .await
            .unwrap()
            .message;
        let r2 = s
            .review_message(h2.id, "morgan", None, &human)
            .await
            .unwrap();
        assert_eq!(r2.state, MessageState::Rejected);
        assert!(matches!(
            s.get_message(h2.id, "avery").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.get_message(h2.id, "mei").await.unwrap().state,
            MessageState::Rejected
        );
        let v = s.message_versions(h2.id).await.unwrap();
        assert_eq!(
            v.iter().map(|v| v.kind.as_str()).collect::<Vec<_>>(),
            ["created", "reviewed"]
        );
        // A delivered message edited into a held one disappears for the recipient.
        let m = s
            .post_message(&msg(&c, "mei", "4", "fine"))
            .await
            .unwrap()
            .message;
        s.edit_message(
            m.id,
            "mei",
            &MessageEdit {
                original: "ping me on telegram".into(),
                delivered: None,
                state: MessageState::Held,
                decision: decision("hold"),
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            s.get_message(m.id, "avery").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.get_conversation(&c).await.unwrap().last_message_id,
            Some(h.id)
        );
        // Events follow visibility: gone for the recipient, updated for the author; and an
        // edit that makes a held message deliverable is new to the recipient.
        let last_kind = |ev: Vec<Event>| ev.last().map(|e| (e.kind.clone(), e.message_id));
        assert_eq!(
            last_kind(s.events_since("avery", 0, 500).await.unwrap()),
            Some(("message.deleted".to_string(), Some(m.id)))
        );
        assert_eq!(
            last_kind(s.events_since("mei", 0, 500).await.unwrap()),
            Some(("message.updated".to_string(), Some(m.id)))
        );
        s.edit_message(
            m.id,
            "mei",
            &MessageEdit {
                original: "fine again".into(),
                delivered: Some("fine again".into()),
                state: MessageState::Delivered,
                decision: decision("allow"),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            last_kind(s.events_since("avery", 0, 500).await.unwrap()),
            Some(("message.created".to_string(), Some(m.id)))
        );
        assert_eq!(
            s.get_conversation(&c).await.unwrap().last_message_id,
            Some(m.id)
        );
    }

    pub async fn read_markers_and_unread_counts(_db: &TestDb, s: &Store) {
        seed(s).await;
        let c = conv(s, &["avery", "mei", "diego"]).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            ids.push(
                s.post_message(&msg(&c, "avery", &i.to_string(), "hi"))
                    .await
                    .unwrap()
                    .message
                    .id,
            );
        }
        assert_eq!(s.unread_count(&c, "mei").await.unwrap(), 3);
        assert_eq!(
            s.unread_count(&c, "avery").await.unwrap(),
            0,
            "own messages are not unread"
        );
        let r = s.mark_read(&c, "mei", ids[1]).await.unwrap();
        assert_eq!(r.last_read_message_id, ids[1]);
        assert_eq!(r.unread, 1);
        assert_eq!(s.unread_count(&c, "mei").await.unwrap(), 1);
        // Never backwards.
        let r = s.mark_read(&c, "mei", ids[0]).await.unwrap();
        assert_eq!(r.last_read_message_id, ids[1]);
        // Clamped to the last message: a huge id does not swallow future messages.
        let r = s.mark_read(&c, "mei", i64::MAX).await.unwrap();
        assert_eq!(r.last_read_message_id, ids[2]);
        assert_eq!(r.unread, 0);
        s.post_message(&msg(&c, "diego", "d", "new")).await.unwrap();
        assert_eq!(s.unread_count(&c, "mei").await.unwrap(), 1);
        assert_eq!(s.unread_count(&c, "diego").await.unwrap(), 3);
        let members = s.conversation_members(&c).await.unwrap();
        let mei = members.iter().find(|m| m.user_id == "mei").unwrap();
        assert_eq!(mei.last_read_message_id, ids[2]);
        assert!(mei.last_read_at.is_some());
        // Others learn about it through their event log.
        let ev = s.events_since("avery", 0, 100).await.unwrap();
        let reads: Vec<_> = ev.iter().filter(|e| e.kind == "read").collect();
        assert_eq!(reads.len(), 2, "{ev:?}");
        assert_eq!(reads[1].data.as_ref().unwrap()["user_id"], "mei");
        assert_eq!(reads[1].message_id, Some(ids[2]));
    }

    pub async fn conversation_list(_db: &TestDb, s: &Store) {
        seed(s).await;
        let c1 = conv(s, &["avery", "mei"]).await;
        let c2 = conv(s, &["avery", "diego"]).await;
        let c3 = conv(s, &["priya", "diego"]).await;
        s.post_message(&NewMessage {
            created_at: Some(now_ms() + 10),
            ..msg(&c1, "mei", "1", "one")
        })
        .await
        .unwrap();
        s.post_message(&NewMessage {
            created_at: Some(now_ms() + 20),
            ..msg(&c2, "diego", "1", "two")
        })
        .await
        .unwrap();
        let last = s
            .post_message(&NewMessage {
                created_at: Some(now_ms() + 30),
                ..msg(&c1, "mei", "2", "three")
            })
            .await
            .unwrap()
            .message;
        s.post_message(&held(&c2, "diego", "2", "held one"))
            .await
            .unwrap();
        let list = s.list_conversations("avery", None, 50).await.unwrap();
        assert_eq!(
            list.iter()
                .map(|c| c.conversation.id.as_str())
                .collect::<Vec<_>>(),
            [c1.as_str(), c2.as_str()]
        );
        assert_eq!(list[0].unread, 2);
        assert_eq!(list[0].members, ["avery", "mei"]);
        assert_eq!(list[1].members, ["avery", "diego"]);
        let users = s
            .get_users(&["mei".to_string(), "ghost".to_string(), "avery".to_string()])
            .await
            .unwrap();
        assert_eq!(
            users.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["Avery Chen", "Mei Tanaka"]
        );
        assert!(s.get_users(&[]).await.unwrap().is_empty());
        assert_eq!(list[0].last_message.as_ref().unwrap().id, last.id);
        assert_eq!(list[1].unread, 1, "held messages are not unread");
        assert_eq!(list[1].last_message.as_ref().unwrap().original, "two");
        // Pagination by (updated_at, id), also through ties.
        let next = s
            .list_conversations("avery", Some(&list[0].cursor()), 50)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].conversation.id, c2);
        let tied: Vec<String> = {
            let mut v = Vec::new();
            for _ in 0..5 {
                v.push(conv(s, &["morgan", "mei"]).await);
            }
            v
        };
        let mut seen = Vec::new();
        let mut cursor: Option<ConversationCursor> = None;
        loop {
            let page = s
                .list_conversations("morgan", cursor.as_ref(), 2)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(|c| c.cursor());
            seen.extend(page.into_iter().map(|c| c.conversation.id));
        }
        let mut want = tied.clone();
        want.sort();
        let mut got = seen.clone();
        got.sort();
        assert_eq!(got, want, "every conversation exactly once");
        let one = s.list_conversations("avery", None, 1).await.unwrap();
        assert_eq!(one.len(), 1);
        // An empty conversation lists without a last message.
        let l = s.list_conversations("priya", None, 50).await.unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].conversation.id, c3);
        assert!(l[0].last_message.is_none());
        assert_eq!(l[0].unread, 0);
        s.mark_read(&c1, "avery", last.id).await.unwrap();
        let list = s.list_conversations("avery", None, 50).await.unwrap();
        assert_eq!(list[0].unread, 0);
        assert_eq!(list[0].last_read_message_id, last.id);
    }

    pub async fn tokens_hash_expiry_revocation(_db: &TestDb, s: &Store) {
        seed(s).await;
        let now = now_ms();
        let t = s
            .create_token("avery", now + 3_600_000, Some("web"))
            .await
            .unwrap();
        assert!(t.token.starts_with("pt_") && t.token.len() >= 64);
        // Only the hash is stored.
        assert_ne!(t.info.id, t.token);
        assert_eq!(t.info.id.len(), 64);
        assert!(!t.info.id.contains(&t.token[3..]));
        let a = s.authenticate(&t.token, now).await.unwrap();
        assert_eq!(a.user_id, "avery");
        assert_eq!(a.label.as_deref(), Some("web"));
        assert!(matches!(
            s.authenticate("pt_wrong", now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.authenticate("", now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.authenticate(&"x".repeat(10_000), now).await,
            Err(StoreError::NotFound(_))
        ));
        // Expiry.
        assert!(matches!(
            s.authenticate(&t.token, now + 3_600_000).await,
            Err(StoreError::NotFound(_))
        ));
        let expired = s.create_token("avery", now - 1, None).await.unwrap();
        assert!(matches!(
            s.authenticate(&expired.token, now).await,
            Err(StoreError::NotFound(_))
        ));
        // Revocation.
        let t2 = s
            .create_token("avery", now + 3_600_000, None)
            .await
            .unwrap();
        assert_ne!(t2.token, t.token);
        s.revoke_token(&t.token).await.unwrap();
        s.revoke_token(&t.token).await.unwrap();
        assert!(matches!(
            s.authenticate(&t.token, now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(s.authenticate(&t2.token, now).await.is_ok());
        assert!(matches!(
            s.revoke_token("pt_unknown").await,
            Err(StoreError::NotFound(_))
        ));
        let t3 = s
            .create_token("avery", now + 3_600_000, None)
            .await
            .unwrap();
        assert_eq!(s.revoke_user_tokens("avery").await.unwrap(), 3);
        assert!(matches!(
            s.authenticate(&t2.token, now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.authenticate(&t3.token, now).await,
            Err(StoreError::NotFound(_))
        ));
        let listed = s.list_tokens("avery").await.unwrap();
        assert_eq!(listed.len(), 4);
        assert!(listed.iter().all(|t| t.revoked_at.is_some()));
        // By id.
        let t4 = s.create_token("mei", now + 1000, None).await.unwrap();
        s.revoke_token_id(&t4.info.id).await.unwrap();
        assert!(matches!(
            s.authenticate(&t4.token, now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.create_token("ghost", now + 1000, None).await,
            Err(StoreError::NotFound(_))
        ));
    }

    pub async fn decisions_recorded(_db: &TestDb, s: &Store) {
        seed(s).await;
        let d = profile_decision(DecisionInput {
            surface: "profile".into(),
            action: "block".into(),
            automated: true,
            decision: json!({"action": "block", "findings": [{"category": "phone", "start": 3, "end": 15}], "explanation": "no phone numbers"}),
        });
        let id1 = s.record_decision(&d).await.unwrap();
        let id2 = s
            .record_decision(&NewDecision {
                decision: DecisionInput {
                    action: "allow".into(),
                    automated: false,
                    ..d.decision.clone()
                },
                ..d.clone()
            })
            .await
            .unwrap();
        assert!(id2 > id1);
        let got = s.decisions_for("profile", "mei").await.unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, id1);
        assert_eq!(got[0].action, "block");
        assert!(got[0].automated);
        assert!(!got[1].automated);
        assert_eq!(got[0].decision, d.decision.decision);
        assert_eq!(got[0].decision["findings"][0]["category"], "phone");
        assert!(got[0].created_at > 0);
        // Blocked message attempts are recorded even though nothing is stored.
        let c = conv(s, &["avery", "mei"]).await;
        s.record_decision(&attempt_decision(&c, decision("block")))
            .await
            .unwrap();
        let m = s
            .post_message(&msg(&c, "mei", "1", "hello"))
            .await
            .unwrap()
            .message;
        let by = s.decisions_by_actor("mei", 10).await.unwrap();
        assert_eq!(by.len(), 4);
        assert_eq!(by[0].message_id, Some(m.id), "newest first");
        assert_eq!(by[1].action, "block");
        assert_eq!(by[1].conversation_id.as_deref(), Some(c.as_str()));
        let r = s
            .record_decision(&NewDecision {
                subject_kind: String::new(),
                ..d
            })
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))));
    }

    /// Runs one SQL statement on a second, raw connection to the test database (what someone
    /// with database access could do behind the store's back). `None` for SQLite in memory.
    async fn raw_sql(db: &TestDb, sql: &str) -> Option<Result<u64, sqlx::Error>> {
        if !db.reopenable {
            return None;
        }
        Some(if db.pg.is_some() {
            let mut c = sqlx::PgConnection::connect(&db.url).await.expect("raw pg");
            let r = sqlx::query(sql).execute(&mut c).await;
            let _ = c.close().await;
            r.map(|r| r.rows_affected())
        } else {
            let mut c = sqlx::SqliteConnection::connect(&db.url)
                .await
                .expect("raw sqlite");
            let r = sqlx::query(sql).execute(&mut c).await;
            let _ = c.close().await;
            r.map(|r| r.rows_affected())
        })
    }

    fn assert_chain(entries: &[AuditEntry]) {
        let mut prev = GENESIS_HASH.to_string();
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "gap-free from 1");
            assert_eq!(
                e.prev_hash, prev,
                "entry {} links to the previous one",
                e.seq
            );
            let h = entry_hash(
                e.seq,
                e.at,
                &e.kind,
                e.actor_id.as_deref(),
                &e.subject,
                &canonical_json(&e.data),
                &e.prev_hash,
            );
            assert_eq!(e.hash, h, "entry {} hash", e.seq);
            prev = e.hash.clone();
        }
    }

    /// The audit chain grows with explicit appends and with every stored decision (messages
    /// posted with `allow` excepted), links each entry to the previous one, and verifies.
    pub async fn audit_chain_grows_and_verifies(_db: &TestDb, s: &Store) {
        seed(s).await;
        let v = s.verify_audit().await.unwrap();
        assert_eq!(v.entries, 0);
        assert_eq!(v.first_bad, None);
        assert_eq!(v.last_hash, GENESIS_HASH);
        assert_eq!(s.audit_head().await.unwrap(), (0, GENESIS_HASH.to_string()));

        let seq = s
            .append_audit(
                "policy",
                None,
                "policy:default",
                &json!({"digest": "sha256:ab", "z": 1, "a": [true, null]}),
            )
            .await
            .unwrap();
        assert_eq!(seq, 1);
        let seq = s
            .append_audit("export", Some("morgan"), "conversation:c_1", &json!({}))
            .await
            .unwrap();
        assert_eq!(seq, 2);
        // Malformed entries are refused and take no seq.
        for (kind, actor, subject) in [
            ("", None, "x:1"),
            ("Bad Kind", None, "x:1"),
            ("export", Some("two words"), "x:1"),
            ("export", None, ""),
        ] {
            assert!(matches!(
                s.append_audit(kind, actor, subject, &json!({})).await,
                Err(StoreError::Invalid(_))
            ));
        }
        assert!(matches!(
            s.append_audit(
                "export",
                None,
                "x:1",
                &json!({"big": "x".repeat(MAX_AUDIT_DATA)})
            )
            .await,
            Err(StoreError::Invalid(_))
        ));

        // Decisions: record_decision (automated: no actor; contact details stay out of the log).
        let d = profile_decision(DecisionInput {
            surface: "profile".into(),
            action: "block".into(),
            automated: true,
            decision: json!({"action": "block", "findings": [{"matched": "+1 555 0100"}]}),
        });
        let decision_id = s.record_decision(&d).await.unwrap();
        // A clean message stays out of the chain; a held one is in it.
        let c = conv(s, &["avery", "mei"]).await;
        s.post_message(&msg(&c, "avery", "1", "hello"))
            .await
            .unwrap();
        let h = s
            .post_message(&held(&c, "mei", "2", "call me"))
            .await
            .unwrap()
            .message;
        // A retry of the same post is not a new decision.
        s.post_message(&held(&c, "mei", "2", "call me"))
            .await
            .unwrap();
        // A human review names the reviewer.
        let human = DecisionInput {
            surface: "message".into(),
            action: "block".into(),
            automated: false,
            decision: json!({"action": "block", "note": "contact details"}),
        };
        s.review_message(h.id, "morgan", None, &human)
            .await
            .unwrap();
        // An edit re-checked by the policy and held: decided by the machine, not the editor.
        let m = s
            .post_message(&msg(&c, "avery", "3", "hi"))
            .await
            .unwrap()
            .message;
        s.edit_message(
            m.id,
            "avery",
            &MessageEdit {
                original: "call me".into(),
                delivered: None,
                state: MessageState::Held,
                decision: DecisionInput {
                    automated: false,
                    ..decision("hold")
                },
            },
        )
        .await
        .unwrap();

        let all = s.audit_entries(0, 100).await.unwrap();
        assert_chain(&all);
        let kinds: Vec<(&str, Option<&str>, &str)> = all
            .iter()
            .map(|e| (e.kind.as_str(), e.actor_id.as_deref(), e.subject.as_str()))
            .collect();
        let held_subject = format!("message:{}", h.id);
        let edited_subject = format!("message:{}", m.id);
        assert_eq!(
            kinds,
            [
                ("policy", None, "policy:default"),
                ("export", Some("morgan"), "conversation:c_1"),
                ("decision", None, "profile:mei"),
                ("decision", None, held_subject.as_str()),
                ("decision", Some("morgan"), held_subject.as_str()),
                ("decision", None, edited_subject.as_str()),
            ]
        );
        assert_eq!(
            all[0].data,
            json!({"a": [true, null], "digest": "sha256:ab", "z": 1})
        );
        let profile = &all[2].data;
        assert_eq!(profile["decision_id"], decision_id);
        assert_eq!(profile["action"], "block");
        assert_eq!(profile["actor_id"], "mei");
        assert_eq!(profile["automated"], true);
        assert!(
            !all[2].data.to_string().contains("555"),
            "the decision's text is not copied into the log"
        );
        let stored = &s.decisions_for("profile", "mei").await.unwrap()[0];
        assert_eq!(
            profile["decision_sha256"],
            sha256_hex(serde_json::to_string(&stored.decision).unwrap().as_bytes())
        );
        let posted = &all[3].data;
        assert_eq!(posted["action"], "hold");
        assert_eq!(posted["message_id"], h.id);
        assert_eq!(posted["conversation_id"], c.as_str());
        let decisions = s.decisions_for("message", &h.id.to_string()).await.unwrap();
        assert_eq!(posted["decision_id"], decisions[0].id);
        assert_eq!(all[5].data["message_version"], 2);
        // Paging.
        let page = s.audit_entries(2, 2).await.unwrap();
        assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);

        let v = s.verify_audit().await.unwrap();
        assert_eq!(v.first_bad, None);
        assert_eq!(v.entries, 6);
        assert_eq!(v.last_hash, all[5].hash);
        assert_eq!(s.audit_head().await.unwrap(), (6, all[5].hash.clone()));

        // Concurrent appends (several connections on PostgreSQL) stay gap-free and chained.
        let mut tasks = Vec::new();
        for i in 0..24 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.append_audit(
                    "report",
                    Some("mei"),
                    &format!("user:u{i}"),
                    &json!({"i": i}),
                )
                .await
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap().unwrap());
        }
        seqs.sort();
        assert_eq!(seqs, (7..=30).collect::<Vec<i64>>());
        assert_chain(&s.audit_entries(0, 100).await.unwrap());
        let v = s.verify_audit().await.unwrap();
        assert_eq!((v.entries, v.first_bad), (30, None));
    }

    /// Aggregates for the operator's metrics: decisions per day, surface, action, automated;
    /// per category of their reasons; audit entries per kind.
    pub async fn metrics_counts(_db: &TestDb, s: &Store) {
        seed(s).await;
        let with_reasons = |action: &str, cats: &[&str]| DecisionInput {
            surface: "profile".into(),
            action: action.into(),
            automated: true,
            decision: json!({"decision": {"action": action,
                "reasons": cats.iter().map(|c| json!({"category": c, "matched": "x"})).collect::<Vec<_>>()}}),
        };
        for (action, cats) in [
            ("block", &["phone", "email", "phone"][..]),
            ("block", &["phone"][..]),
            ("mask", &["email"][..]),
            ("allow", &[][..]),
        ] {
            s.record_decision(&profile_decision(with_reasons(action, cats)))
                .await
                .unwrap();
        }
        let c = conv(s, &["avery", "mei"]).await;
        s.post_message(&msg(&c, "avery", "1", "hi")).await.unwrap();
        s.post_message(&held(&c, "mei", "2", "x")).await.unwrap();
        s.append_audit("report", Some("mei"), "user:avery", &json!({}))
            .await
            .unwrap();

        let today = now_ms() / 86_400_000;
        let d = s.decision_counts(0).await.unwrap();
        let find = |surface: &str, action: &str| {
            d.iter()
                .filter(|x| x.surface == surface && x.action == action)
                .map(|x| x.count)
                .sum::<i64>()
        };
        assert_eq!(find("profile", "block"), 2);
        assert_eq!(find("profile", "mask"), 1);
        assert_eq!(find("profile", "allow"), 1);
        assert_eq!(find("message", "allow"), 1);
        assert_eq!(find("message", "hold"), 1);
        assert!(d.iter().all(|x| x.day == today && x.automated));
        assert!(s
            .decision_counts(now_ms() + 86_400_000)
            .await
            .unwrap()
            .is_empty());

        let mut cats: Vec<(String, String, i64)> = s
            .decision_category_counts(0)
            .await
            .unwrap()
            .into_iter()
            .map(|x| (x.action, x.category, x.count))
            .collect();
        cats.sort();
        assert_eq!(
            cats,
            [
                ("block".to_string(), "email".to_string(), 1),
                ("block".to_string(), "phone".to_string(), 2),
                ("mask".to_string(), "email".to_string(), 1),
            ]
        );

        let mut kinds: Vec<(String, i64)> = s
            .audit_counts(0)
            .await
            .unwrap()
            .into_iter()
            .map(|x| (x.kind, x.count))
            .collect();
        kinds.sort();
        // 4 recorded decisions + the held post (the allowed post is not in the chain).
        assert_eq!(
            kinds,
            [("decision".to_string(), 5), ("report".to_string(), 1)]
        );
        for outcome in ["overturned", "upheld", "upheld"] {
            s.append_audit(
                "appeal.decided",
                Some("morgan"),
                "appeal:1",
                &json!({"outcome": outcome}),
            )
            .await
            .unwrap();
        }
        s.append_audit("appeal.decided", None, "appeal:2", &json!({}))
            .await
            .unwrap();
        let outcomes = s
            .audit_field_counts("appeal.decided", "outcome", 0)
            .await
            .unwrap();
        assert_eq!(
            outcomes,
            [
                (today, String::new(), 1),
                (today, "overturned".to_string(), 1),
                (today, "upheld".to_string(), 2),
            ]
        );
        assert!(matches!(
            s.audit_field_counts("appeal.decided", "x') OR 1=1 --", 0)
                .await,
            Err(StoreError::Invalid(_))
        ));
    }

    /// The log cannot be changed through SQL while its triggers are in place; someone who drops
    /// them and edits or deletes entries is caught by `verify_audit`, which names the entry.
    pub async fn audit_tampering_is_detected(db: &TestDb, s: &Store) {
        for i in 1..=5 {
            s.append_audit("report", None, &format!("user:u{i}"), &json!({"n": i}))
                .await
                .unwrap();
        }
        let Some(r) = raw_sql(db, "UPDATE audit_log SET data = '{}' WHERE seq = 2").await else {
            // SQLite in memory: no other connection can reach the database.
            return;
        };
        assert!(r.is_err(), "{}: update refused", db.label);
        let refused = [
            "DELETE FROM audit_log WHERE seq = 5",
            "DELETE FROM audit_head",
            "UPDATE audit_head SET seq = 1, hash = 'x'",
            "INSERT INTO audit_log (seq, at, kind, actor_id, subject, data, prev_hash, hash) \
             VALUES (9, 0, 'x', NULL, 'x', '{}', 'x', 'x')",
        ];
        for sql in refused {
            assert!(
                raw_sql(db, sql).await.unwrap().is_err(),
                "{}: refused: {sql}",
                db.label
            );
        }
        if db.pg.is_some() {
            assert!(raw_sql(db, "TRUNCATE audit_log").await.unwrap().is_err());
        }
        assert_eq!(s.verify_audit().await.unwrap().first_bad, None);

        // Drop the guards, as someone with full access to the database could.
        let drops: &[&str] = if db.pg.is_some() {
            &["DROP TRIGGER audit_log_no_change ON audit_log"]
        } else {
            &[
                "DROP TRIGGER audit_log_no_update",
                "DROP TRIGGER audit_log_no_delete",
            ]
        };
        for sql in drops {
            raw_sql(db, sql).await.unwrap().unwrap();
        }
        let original = s.audit_entries(0, 10).await.unwrap();
        let e2 = &original[1];

        // Changed content.
        raw_sql(
            db,
            r#"UPDATE audit_log SET data = '{"n":20}' WHERE seq = 2"#,
        )
        .await
        .unwrap()
        .unwrap();
        let v = s.verify_audit().await.unwrap();
        let (seq, reason) = v.first_bad.expect("tampering detected");
        assert_eq!(seq, 2, "{reason}");
        assert!(reason.contains("report"), "{reason}");
        assert_eq!(v.entries, 1);
        // Put back exactly as it was: intact again (the check is about content, nothing else).
        raw_sql(db, r#"UPDATE audit_log SET data = '{"n":2}' WHERE seq = 2"#)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(s.verify_audit().await.unwrap().first_bad, None);

        // Changed content with its hash recomputed: the next entry's link breaks.
        let forged = entry_hash(
            2,
            e2.at,
            "report",
            None,
            "user:u2",
            r#"{"n":20}"#,
            &e2.prev_hash,
        );
        raw_sql(
            db,
            &format!(
                r#"UPDATE audit_log SET data = '{{"n":20}}', hash = '{forged}' WHERE seq = 2"#
            ),
        )
        .await
        .unwrap()
        .unwrap();
        let (seq, reason) = s.verify_audit().await.unwrap().first_bad.unwrap();
        assert_eq!(seq, 3, "{reason}");
        assert!(reason.contains("prev_hash"), "{reason}");
        raw_sql(
            db,
            &format!(
                r#"UPDATE audit_log SET data = '{{"n":2}}', hash = '{}' WHERE seq = 2"#,
                e2.hash
            ),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(s.verify_audit().await.unwrap().first_bad, None);

        // A deleted entry.
        raw_sql(db, "DELETE FROM audit_log WHERE seq = 3")
            .await
            .unwrap()
            .unwrap();
        let v = s.verify_audit().await.unwrap();
        let (seq, reason) = v.first_bad.unwrap();
        assert_eq!(seq, 3, "{reason}");
        assert!(reason.contains("missing"), "{reason}");
        assert_eq!(v.entries, 2);
        assert_eq!(v.last_hash, e2.hash);
        // The tail cut off: the head still records 5 entries.
        raw_sql(db, "DELETE FROM audit_log WHERE seq >= 2")
            .await
            .unwrap()
            .unwrap();
        let (seq, reason) = s.verify_audit().await.unwrap().first_bad.unwrap();
        assert_eq!(seq, 2, "{reason}");
        assert!(reason.contains("missing"), "{reason}");
    }

    pub async fn event_log_and_cursor(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        assert_eq!(s.event_cursor("mei").await.unwrap(), 0);
        let m1 = s
            .post_message(&msg(&c, "avery", "1", "one"))
            .await
            .unwrap()
            .message;
        let cursor = s.event_cursor("mei").await.unwrap();
        assert_eq!(cursor, 1);
        let h = s
            .post_message(&held(&c, "avery", "2", "held"))
            .await
            .unwrap()
            .message;
        let m3 = s
            .post_message(&msg(&c, "avery", "3", "three"))
            .await
            .unwrap()
            .message;
        s.edit_message(
            m3.id,
            "avery",
            &MessageEdit {
                original: "3!".into(),
                delivered: Some("3!".into()),
                state: MessageState::Delivered,
                decision: decision("allow"),
            },
        )
        .await
        .unwrap();
        s.delete_message(m1.id, "avery").await.unwrap();
        // Retries add nothing.
        s.post_message(&msg(&c, "avery", "3", "three"))
            .await
            .unwrap();
        let missed = s.events_since("mei", cursor, 100).await.unwrap();
        let kinds: Vec<_> = missed
            .iter()
            .map(|e| (e.kind.as_str(), e.message_id))
            .collect();
        assert_eq!(
            kinds,
            [
                ("message.created", Some(m3.id)),
                ("message.updated", Some(m3.id)),
                ("message.deleted", Some(m1.id))
            ]
        );
        assert!(
            missed.windows(2).all(|w| w[1].seq == w[0].seq + 1),
            "gap-free"
        );
        assert!(missed
            .iter()
            .all(|e| e.conversation_id.as_deref() == Some(&c[..])));
        // The author's log also has the held message (for their other devices).
        let mine = s.events_since("avery", 0, 100).await.unwrap();
        assert!(mine.iter().any(|e| e.message_id == Some(h.id)));
        assert!(!s
            .events_since("mei", 0, 100)
            .await
            .unwrap()
            .iter()
            .any(|e| e.message_id == Some(h.id)));
        // Events with their messages in one read: the same events, each message as
        // get_message shows it to that user (None when the user may not see it).
        for user in ["avery", "mei"] {
            let plain = s.events_since(user, 0, 100).await.unwrap();
            let joined = s.events_with_messages(user, 0, 100).await.unwrap();
            let events: Vec<Event> = joined.iter().map(|(e, _)| e.clone()).collect();
            assert_eq!(events, plain, "{user}");
            for (e, m) in &joined {
                let want = match e.message_id {
                    Some(id) => s.get_message(id, user).await.ok(),
                    None => None,
                };
                assert_eq!(m.as_ref(), want.as_ref(), "{user} {e:?}");
            }
        }
        assert!(s
            .events_with_messages("avery", 0, 100)
            .await
            .unwrap()
            .iter()
            .any(|(e, m)| e.message_id == Some(h.id) && m.is_some()));
        // Limit and resume.
        let first = s.events_since("avery", 0, 2).await.unwrap();
        assert_eq!(first.len(), 2);
        let rest = s.events_since("avery", first[1].seq, 100).await.unwrap();
        assert_eq!(first.len() + rest.len(), mine.len());
        assert_eq!(
            s.event_cursor("avery").await.unwrap(),
            mine.last().unwrap().seq
        );
        assert!(matches!(
            s.event_cursor("ghost").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(s.prune_events(0).await.unwrap(), 0);
        assert!(s.prune_events(now_ms() + 1_000_000).await.unwrap() > 0);
        assert!(s.events_since("avery", 0, 100).await.unwrap().is_empty());
        // Sequence numbers keep growing after pruning.
        s.post_message(&msg(&c, "avery", "9", "after"))
            .await
            .unwrap();
        let after = s.events_since("avery", 0, 100).await.unwrap();
        assert_eq!(after.len(), 1);
        assert!(after[0].seq > mine.last().unwrap().seq);
        // A post reports each recipient's event (SQLite), as the log has it.
        let p = s
            .post_message(&msg(&c, "avery", "10", "reported"))
            .await
            .unwrap();
        if s.kind() == parley_store::BackendKind::Sqlite {
            let mut users: Vec<&str> = p.event_seqs.iter().map(|(u, _)| u.as_str()).collect();
            users.sort_unstable();
            assert_eq!(users, ["avery", "mei"]);
        }
        for (u, seq) in &p.event_seqs {
            let ev = s.events_since(u, seq - 1, 1).await.unwrap();
            assert_eq!(
                (ev[0].seq, ev[0].kind.as_str(), ev[0].message_id),
                (*seq, "message.created", Some(p.message.id)),
                "{u}"
            );
        }
        let retry = s
            .post_message(&msg(&c, "avery", "10", "reported"))
            .await
            .unwrap();
        assert!(retry.event_seqs.is_empty());
    }

    pub async fn acknowledged_message_is_durable(db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let m = s
            .post_message(&msg(&c, "avery", "1", "durable"))
            .await
            .unwrap()
            .message;
        if !db.reopenable {
            return;
        }
        // Another connection (another process or node) sees it as soon as it is acknowledged.
        let other = db.open().await;
        assert_eq!(
            other.get_message(m.id, "mei").await.unwrap().original,
            "durable"
        );
        other.close().await;
        // And after closing and reopening everything.
        s.close().await;
        let reopened = db.open().await;
        assert_eq!(
            reopened.get_message(m.id, "mei").await.unwrap().original,
            "durable"
        );
        assert_eq!(reopened.unread_count(&c, "mei").await.unwrap(), 1);
        // A retry after the restart is still deduplicated.
        let again = reopened
            .post_message(&msg(&c, "avery", "1", "durable"))
            .await
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.message.id, m.id);
        reopened.close().await;
    }

    /// Two processes on one SQLite file, or two server nodes on one PostgreSQL database, writing
    /// at the same time: nothing fails, nothing is duplicated, event logs stay gap-free.
    pub async fn two_stores_on_one_database(db: &TestDb, s: &Store) {
        if !db.reopenable {
            return;
        }
        let c = seeded_conv(s).await;
        let other = db.open().await;
        let mut tasks = Vec::new();
        for i in 0..60 {
            let store = if i % 2 == 0 { s.clone() } else { other.clone() };
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                let author = if i % 3 == 0 { "mei" } else { "avery" };
                // Each key is sent once through each store.
                let key = format!("k{}", i / 2);
                store.post_message(&msg(&c, author, &key, "x")).await?;
                store.mark_read(&c, "mei", i64::MAX).await?;
                store
                    .put_contract(
                        "k1",
                        &ContractInput {
                            client_org_id: "northwind".into(),
                            freelancer_id: "mei".into(),
                            status: ContractStatus::Active,
                            job_id: None,
                        },
                    )
                    .await
                    .map(|_| ())
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let page = all_messages(s, &c, "mei").await;
        let mut keys: Vec<_> = page
            .messages
            .iter()
            .map(|m| (m.author_id.clone(), m.client_id.clone()))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
        for u in ["avery", "mei"] {
            let ev = s.events_since(u, 0, 500).await.unwrap();
            assert!(
                ev.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1),
                "{u}"
            );
        }
        other.close().await;
    }

    pub async fn concurrent_posts(_db: &TestDb, s: &Store) {
        seed(s).await;
        let c1 = conv(s, &["avery", "mei", "diego"]).await;
        let c2 = conv(s, &["avery", "mei"]).await;
        let mut tasks = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            let (c, author) = match i % 3 {
                0 => (c1.clone(), "avery"),
                1 => (c1.clone(), "mei"),
                _ => (c2.clone(), "mei"),
            };
            tasks.push(tokio::spawn(async move {
                // Every message is sent twice concurrently (a client retry racing the original).
                let key = format!("k{}", i / 2);
                s.post_message(&msg(&c, author, &key, "concurrent"))
                    .await
                    .map(|p| p.message.id)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            t.await.unwrap().unwrap();
            ok += 1;
        }
        assert_eq!(ok, 40);
        for c in [&c1, &c2] {
            let page = all_messages(s, c, "avery").await;
            let ids: Vec<_> = page.messages.iter().map(|m| m.id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]));
            let mut keys: Vec<_> = page
                .messages
                .iter()
                .map(|m| (m.author_id.clone(), m.client_id.clone()))
                .collect();
            let n = keys.len();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), n, "no duplicate (author, client_id)");
        }
        for u in ["avery", "mei", "diego"] {
            let ev = s.events_since(u, 0, 500).await.unwrap();
            assert!(
                ev.iter().enumerate().all(|(i, e)| e.seq == i as i64 + 1),
                "{u}: gap-free from 1"
            );
            assert_eq!(s.event_cursor(u).await.unwrap(), ev.len() as i64);
        }
    }

    // ---------------------------------------------------------------- trust and safety

    pub fn statement(facts: &str) -> serde_json::Value {
        json!({"facts": facts, "rule": "No phone numbers before a contract starts",
               "automated": true, "how_to_appeal": "POST /v1/appeals"})
    }

    pub fn enforcement(user: &str, kind: &str, now: Millis) -> NewEnforcement {
        NewEnforcement {
            user_id: user.into(),
            kind: kind.into(),
            automated: true,
            subject_kind: "message".into(),
            subject_id: None,
            conversation_id: None,
            message_id: None,
            decision_id: None,
            moderator_id: None,
            statement: statement(kind),
            created_at: now,
            ends_at: None,
            appealable_until: now + 180 * 86_400_000,
            blocked_text: None,
            blocked_purpose: None,
            strike: None,
        }
    }

    pub fn human(action: &str) -> DecisionInput {
        DecisionInput {
            surface: "moderation".into(),
            action: action.into(),
            automated: false,
            decision: json!({"action": action}),
        }
    }

    pub fn item_decision(item: i64, moderator: &str, action: &str) -> ItemDecision {
        ItemDecision {
            item_id: item,
            moderator_id: moderator.into(),
            action: action.into(),
            note: Some("checked".into()),
            decision: human(action),
            review: None,
            enforcements: Vec::new(),
            overturn: None,
            delivery_decision: None,
            removal_decision: None,
            now: now_ms(),
        }
    }

    async fn open_items(s: &Store, kind: ItemKind) -> Vec<ModerationItem> {
        s.moderation_queue(&QueueQuery {
            open: Some(true),
            kind: Some(kind),
            limit: 50,
            after: None,
        })
        .await
        .unwrap()
    }

    pub async fn held_messages_become_queue_items(_db: &TestDb, s: &Store) {
        let (c, h) = seeded_held_message(s).await;
        let items = open_items(s, ItemKind::HeldMessage).await;
        assert_eq!(items.len(), 1, "{items:?}");
        let it = &items[0];
        assert_eq!(it.message_id, Some(h.id));
        assert_eq!(it.subject_user_id.as_deref(), Some("mei"));
        assert_eq!(it.conversation_id.as_deref(), Some(c.as_str()));
        assert!(it.open && it.resolution.is_none());
        // A retry of the same post does not queue it twice.
        s.post_message(&held(&c, "mei", "2", "my whatsapp is ..."))
            .await
            .unwrap();
        assert_eq!(open_items(s, ItemKind::HeldMessage).await.len(), 1);
        // The author edits it clean: the item closes as withdrawn.
        s.edit_message(
            h.id,
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
        assert!(open_items(s, ItemKind::HeldMessage).await.is_empty());
        let closed = s.moderation_item(it.id).await.unwrap();
        assert!(!closed.open);
        assert_eq!(closed.resolution.unwrap().action, "withdrawn");
        // Another one approved by a moderator: delivered with events, item resolved, once.
        let h2 = s
            .post_message(&held(&c, "mei", "3", "email me"))
            .await
            .unwrap()
            .message;
        let it2 = open_items(s, ItemKind::HeldMessage).await.remove(0);
        let cursor = s.event_cursor("avery").await.unwrap();
        let mut d = item_decision(it2.id, "morgan", "approve");
        d.review = Some(Review {
            delivered: Some("email me".into()),
            decision: human("allow"),
        });
        let r = s.resolve_item(&d).await.unwrap();
        assert_eq!(r.reviewed.as_ref().unwrap().state, MessageState::Delivered);
        assert_eq!(r.notify, ["avery", "mei"]);
        let res = r.item.resolution.clone().unwrap();
        assert_eq!(res.action, "approve");
        assert_eq!(res.moderator_id.as_deref(), Some("morgan"));
        assert_eq!(res.note.as_deref(), Some("checked"));
        let ev = s.events_since("avery", cursor, 10).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "message.created");
        assert_eq!(ev[0].message_id, Some(h2.id));
        assert_eq!(
            s.get_message(h2.id, "avery").await.unwrap().state,
            MessageState::Delivered
        );
        let ds = s
            .decisions_for("message", &h2.id.to_string())
            .await
            .unwrap();
        assert!(ds
            .iter()
            .any(|x| !x.automated && x.actor_id.as_deref() == Some("morgan")));
        match s.resolve_item(&d).await {
            Err(StoreError::Conflict(m)) => assert_eq!(m, ALREADY_RESOLVED),
            other => panic!("expected already resolved: {other:?}"),
        }
        assert!(matches!(
            s.resolve_item(&item_decision(999_999, "morgan", "approve"))
                .await,
            Err(StoreError::NotFound(_))
        ));
        // Rejected: stays private to its author, who is told.
        let h3 = s
            .post_message(&held(&c, "mei", "4", "call me"))
            .await
            .unwrap()
            .message;
        let it3 = open_items(s, ItemKind::HeldMessage).await.remove(0);
        let mut d = item_decision(it3.id, "morgan", "reject");
        d.review = Some(Review {
            delivered: None,
            decision: human("reject"),
        });
        let mut e = enforcement("mei", "block", now_ms());
        e.automated = false;
        e.moderator_id = Some("morgan".into());
        e.message_id = Some(h3.id);
        e.strike = Some(NewStrike {
            weight: 2,
            categories: vec!["phone".into()],
            at: now_ms(),
            expires_at: now_ms() + 30 * 86_400_000,
        });
        d.enforcements = vec![e];
        let r = s.resolve_item(&d).await.unwrap();
        assert_eq!(r.notify, ["mei"]);
        assert_eq!(r.reviewed.unwrap().state, MessageState::Rejected);
        assert_eq!(r.enforcements.len(), 1);
        assert_eq!(r.enforcements[0].item_id, Some(it3.id));
        assert!(matches!(
            s.get_message(h3.id, "avery").await,
            Err(StoreError::NotFound(_))
        ));
        let st = s.user_safety("mei", now_ms()).await.unwrap();
        assert_eq!(st.strikes.len(), 1);
        assert_eq!(st.strikes[0].categories, ["phone"]);
        // Only held messages can be reviewed.
        let rep = s
            .file_report(
                &NewReport {
                    reporter_id: "avery".into(),
                    target: ReportTarget::User("mei".into()),
                    reason: "spam".into(),
                    note: None,
                    priority: 30,
                },
                now_ms(),
            )
            .await
            .unwrap();
        let mut bad = item_decision(rep.item.id, "morgan", "approve");
        bad.review = Some(Review {
            delivered: None,
            decision: human("x"),
        });
        assert!(matches!(
            s.resolve_item(&bad).await,
            Err(StoreError::Invalid(_))
        ));
        assert!(s.moderation_item(rep.item.id).await.unwrap().open);
    }

    pub async fn reports_merge_and_resolve(_db: &TestDb, s: &Store) {
        seed(s).await;
        let c = conv(s, &["avery", "sam", "mei"]).await;
        let m = s
            .post_message(&msg(&c, "mei", "1", "pay me outside"))
            .await
            .unwrap()
            .message;
        let report = |who: &str, reason: &str, target: ReportTarget| NewReport {
            reporter_id: who.into(),
            target,
            reason: reason.into(),
            note: Some("looks like a scam".into()),
            priority: 40,
        };
        let now = now_ms();
        let a = s
            .file_report(&report("avery", "scam", ReportTarget::Message(m.id)), now)
            .await
            .unwrap();
        assert!(!a.merged);
        assert_eq!(a.item.kind, ItemKind::Report);
        assert_eq!(a.item.priority, 40);
        assert_eq!(a.item.subject_user_id.as_deref(), Some("mei"));
        assert_eq!(a.item.message_id, Some(m.id));
        let b = s
            .file_report(
                &report("sam", "off_platform", ReportTarget::Message(m.id)),
                now + 1,
            )
            .await
            .unwrap();
        assert!(b.merged);
        assert_eq!(b.item.id, a.item.id);
        assert_eq!(b.item.priority, 45, "a second reporter raises the priority");
        // The same reporter again: still one report from them.
        let again = s
            .file_report(
                &report("avery", "scam", ReportTarget::Message(m.id)),
                now + 2,
            )
            .await
            .unwrap();
        assert!(again.merged);
        assert_eq!(again.report.id, a.report.id);
        let reps = s.item_reports(a.item.id).await.unwrap();
        assert_eq!(
            reps.iter()
                .map(|r| r.reporter_id.as_str())
                .collect::<Vec<_>>(),
            ["avery", "sam"]
        );
        assert_eq!(open_items(s, ItemKind::Report).await.len(), 1);
        // Who may report what.
        assert!(matches!(
            s.file_report(&report("priya", "scam", ReportTarget::Message(m.id)), now)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.file_report(&report("mei", "scam", ReportTarget::Message(m.id)), now)
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.file_report(
                &report("priya", "scam", ReportTarget::Conversation(c.clone())),
                now
            )
            .await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.file_report(
                &report("avery", "scam", ReportTarget::User("nobody".into())),
                now
            )
            .await,
            Err(StoreError::NotFound(_))
        ));
        let conv_report = s
            .file_report(
                &report("avery", "harassment", ReportTarget::Conversation(c.clone())),
                now,
            )
            .await
            .unwrap();
        assert_ne!(conv_report.item.id, a.item.id);
        assert!(matches!(
            s.file_report(
                &report("avery", &"x".repeat(65), ReportTarget::User("mei".into())),
                now
            )
            .await,
            Err(StoreError::Invalid(_))
        ));
        // Queue order: priority, then age; a cursor continues after an item.
        let all = s
            .moderation_queue(&QueueQuery {
                open: Some(true),
                kind: None,
                limit: 50,
                after: None,
            })
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|i| i.id).collect::<Vec<_>>(),
            [a.item.id, conv_report.item.id]
        );
        let page2 = s
            .moderation_queue(&QueueQuery {
                open: Some(true),
                kind: None,
                limit: 1,
                after: Some(all[0].cursor()),
            })
            .await
            .unwrap();
        assert_eq!(
            page2.iter().map(|i| i.id).collect::<Vec<_>>(),
            [conv_report.item.id]
        );
        // Resolved with a warning for the reported user.
        let mut d = item_decision(a.item.id, "morgan", "warn");
        let mut w = enforcement("mei", "warning", now_ms());
        w.automated = false;
        w.moderator_id = Some("morgan".into());
        d.enforcements = vec![w];
        let r = s.resolve_item(&d).await.unwrap();
        assert!(!r.item.open);
        assert_eq!(r.enforcements[0].kind, "warning");
        let ds = s
            .decisions_for("moderation_item", &format!("mi_{}", a.item.id))
            .await
            .unwrap();
        assert_eq!(ds.len(), 1);
        assert!(!ds[0].automated);
        assert_eq!(r.enforcements[0].decision_id, Some(ds[0].id));
        let resolved = s
            .moderation_queue(&QueueQuery {
                open: Some(false),
                kind: Some(ItemKind::Report),
                limit: 50,
                after: None,
            })
            .await
            .unwrap();
        assert_eq!(resolved.len(), 1);
        // A new report of the same message after resolution opens a new item.
        let later = s
            .file_report(
                &report("avery", "scam", ReportTarget::Message(m.id)),
                now + 10,
            )
            .await
            .unwrap();
        assert!(!later.merged);
        assert_ne!(later.item.id, a.item.id);
        let ens = s.enforcements_of("mei", 10).await.unwrap();
        assert_eq!(ens.len(), 1);
        assert_eq!(ens[0].0.moderator_id.as_deref(), Some("morgan"));
        // Rejected: the reported message is removed (the others are told), with a strike.
        let (avery_at, sam_at) = (
            s.event_cursor("avery").await.unwrap(),
            s.event_cursor("sam").await.unwrap(),
        );
        let mut d = item_decision(later.item.id, "morgan", "reject");
        d.removal_decision = Some(human("reject"));
        let mut st = enforcement("mei", "strike", now_ms());
        st.automated = false;
        st.moderator_id = Some("morgan".into());
        st.message_id = Some(m.id);
        st.conversation_id = Some(c.clone());
        st.strike = Some(NewStrike {
            weight: 2,
            categories: Vec::new(),
            at: now_ms(),
            expires_at: now_ms() + 30 * 86_400_000,
        });
        d.enforcements = vec![st];
        let r = s.resolve_item(&d).await.unwrap();
        assert_eq!(
            r.removed.as_ref().map(|m| m.state),
            Some(MessageState::Rejected)
        );
        assert_eq!(r.notify, ["avery", "mei", "sam"]);
        assert!(matches!(
            s.get_message(m.id, "avery").await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            s.get_message(m.id, "mei").await.unwrap().state,
            MessageState::Rejected
        );
        let ev = s.events_since("sam", sam_at, 10).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(
            (ev[0].kind.as_str(), ev[0].message_id),
            ("message.deleted", Some(m.id))
        );
        // Overturned on appeal by another moderator: the message is back for everyone.
        let strike_enf = r.enforcements[0].id;
        let ap = s
            .file_appeal(strike_enf, "mei", "It was a joke between us", now_ms())
            .await
            .unwrap();
        let mut d = item_decision(ap.item_id, "alex", "approve");
        d.overturn = Some(true);
        d.delivery_decision = Some(human("allow"));
        let r = s.resolve_item(&d).await.unwrap();
        let back = r.delivered.expect("restored");
        assert_eq!(back.id, m.id, "the same message, not a copy");
        assert_eq!(back.state, MessageState::Delivered);
        assert_eq!(
            s.get_message(m.id, "avery")
                .await
                .unwrap()
                .delivered
                .as_deref(),
            Some("pay me outside")
        );
        let kinds: Vec<String> = s
            .events_since("avery", avery_at, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["message.deleted", "message.created"]);
        assert!(s
            .user_safety("mei", now_ms())
            .await
            .unwrap()
            .strikes
            .is_empty());
        assert_eq!(
            s.get_enforcement(strike_enf)
                .await
                .unwrap()
                .delivered_message_id,
            Some(m.id)
        );
        // Reports (merged ones once per reporter) and the decision are audited.
        let log = s.audit_entries(0, 500).await.unwrap();
        let reports: Vec<_> = log.iter().filter(|e| e.kind == "report").collect();
        assert_eq!(
            reports.len(),
            4,
            "avery, sam, the conversation, the later one"
        );
        assert_eq!(reports[0].actor_id.as_deref(), Some("avery"));
        assert_eq!(reports[0].subject, format!("message:{}", m.id));
        assert_eq!(reports[1].data["merged"], true);
        assert_eq!(
            log.iter()
                .filter(|e| e.kind == "moderation.decision")
                .count(),
            3
        );
        let decision = log
            .iter()
            .find(|e| e.kind == "moderation.decision")
            .unwrap();
        assert_eq!(decision.actor_id.as_deref(), Some("morgan"));
        assert_eq!(decision.subject, format!("mi_{}", a.item.id));
        assert_eq!(decision.data["action"], "warn");
    }

    pub async fn strikes_and_restrictions_in_force(_db: &TestDb, s: &Store) {
        seed(s).await;
        let day = 86_400_000;
        let now = now_ms();
        let mut block = enforcement("diego", "block", now - 40 * day);
        block.strike = Some(NewStrike {
            weight: 2,
            categories: vec!["email".into(), "phone".into()],
            at: now - 40 * day,
            expires_at: now - 10 * day,
        });
        let mut restriction = enforcement("diego", "restriction", now - day);
        restriction.ends_at = Some(now + day);
        let stored = s.record_enforcements(&[block, restriction]).await.unwrap();
        assert_eq!(stored.len(), 2);
        let st = s.user_safety("diego", now).await.unwrap();
        assert_eq!(st.strikes.len(), 1);
        assert_eq!(st.strikes[0].weight, 2);
        assert_eq!(st.strikes[0].categories, ["email", "phone"]);
        assert_eq!(st.strikes[0].at, now - 40 * day);
        assert_eq!(st.restrictions.len(), 1);
        assert_eq!(st.restrictions[0].id, stored[1].id);
        assert!(st.restrictions[0].restricts_at(now));
        assert_eq!(st.violations, 2);
        assert_eq!(
            s.active_restriction("diego", now)
                .await
                .unwrap()
                .map(|e| e.id),
            Some(stored[1].id)
        );
        // Two days later the restriction has ended.
        let later = s.user_safety("diego", now + 2 * day).await.unwrap();
        assert!(later.restrictions.is_empty());
        assert_eq!(
            s.active_restriction("diego", now + 2 * day).await.unwrap(),
            None
        );
        assert_eq!(s.active_restriction("mei", now).await.unwrap(), None);
        let ens = s.enforcements_of("diego", 10).await.unwrap();
        assert_eq!(
            ens.iter().map(|(e, _)| e.kind.as_str()).collect::<Vec<_>>(),
            ["restriction", "block"],
            "newest first"
        );
        assert_eq!(ens[1].0.statement["facts"], "block");
        assert!(s.user_safety("mei", now).await.unwrap().strikes.is_empty());
        // Input checks.
        assert!(matches!(
            s.record_enforcements(&[enforcement("diego", "banish", now)])
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert!(matches!(
            s.record_enforcements(&[enforcement("nobody", "warning", now)])
                .await,
            Err(StoreError::Invalid(_))
        ));
        assert_eq!(s.enforcements_of("diego", 10).await.unwrap().len(), 2);
        // An overturned restriction is lifted alone: the block behind it and its strike stand.
        let a = s
            .file_appeal(stored[1].id, "diego", "I stopped", now)
            .await
            .unwrap();
        let mut d = item_decision(a.item_id, "morgan", "approve");
        d.overturn = Some(true);
        let r = s.resolve_item(&d).await.unwrap();
        assert!(r.delivered.is_none());
        assert!(s
            .get_enforcement(stored[1].id)
            .await
            .unwrap()
            .lifted_at
            .is_some());
        assert!(s
            .get_enforcement(stored[0].id)
            .await
            .unwrap()
            .lifted_at
            .is_none());
        assert_eq!(s.user_safety("diego", now).await.unwrap().strikes.len(), 1);
        assert_eq!(s.active_restriction("diego", now).await.unwrap(), None);
        // Diego's event log told him of both (account events: no conversation), then of the
        // lifted restriction; nobody else heard of them.
        let evs = s.events_since("diego", 0, 100).await.unwrap();
        let seen: Vec<(&str, i64)> = evs
            .iter()
            .filter(|e| e.kind.starts_with("enforcement."))
            .map(|e| {
                assert_eq!(e.conversation_id, None, "{e:?}");
                assert_eq!(e.message_id, None, "{e:?}");
                let en = &e.data.as_ref().unwrap()["enforcement"];
                (e.kind.as_str(), en["id"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("enforcement.created", stored[0].id),
                ("enforcement.created", stored[1].id),
                ("enforcement.updated", stored[1].id)
            ]
        );
        assert!(evs.windows(2).all(|w| w[1].seq == w[0].seq + 1), "gap-free");
        let updated = &evs.last().unwrap().data.as_ref().unwrap()["enforcement"];
        assert!(updated["lifted_at"].is_i64(), "{updated}");
        assert_eq!(updated["appealable"], false);
        assert_eq!(updated["kind"], "restriction");
        assert!(s
            .events_since("mei", 0, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| !e.kind.starts_with("enforcement.")));
    }

    pub async fn appeals_overturn_and_reviewers(_db: &TestDb, s: &Store) {
        seed(s).await;
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
        let c = conv(s, &["avery", "mei"]).await;
        let now = now_ms();
        // A blocked text (not stored as a message), its strike, and the restriction it triggered.
        let did = s
            .record_decision(&attempt_decision(&c, decision("block")))
            .await
            .unwrap();
        let mut block = enforcement("mei", "block", now);
        block.conversation_id = Some(c.clone());
        block.decision_id = Some(did);
        block.moderator_id = Some("morgan".into());
        block.automated = false;
        block.blocked_text = Some("my number is 415 555 0134".into());
        block.strike = Some(NewStrike {
            weight: 2,
            categories: vec!["phone".into()],
            at: now,
            expires_at: now + 30 * 86_400_000,
        });
        let mut restriction = enforcement("mei", "restriction", now);
        restriction.decision_id = Some(did);
        restriction.ends_at = Some(now + 86_400_000);
        let mut old = enforcement("mei", "warning", now - 200 * 86_400_000);
        old.appealable_until = now - 20 * 86_400_000;
        let stored = s
            .record_enforcements(&[block, restriction, old])
            .await
            .unwrap();
        let (b, old) = (&stored[0], &stored[2]);
        // Only the user concerned may appeal, within the window, once.
        assert!(matches!(
            s.file_appeal(b.id, "avery", "not mine", now).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.file_appeal(old.id, "mei", "too late", now).await,
            Err(StoreError::Forbidden(m)) if m == APPEAL_WINDOW_CLOSED
        ));
        assert!(matches!(
            s.file_appeal(b.id, "mei", "", now).await,
            Err(StoreError::Invalid(_))
        ));
        let a = s
            .file_appeal(b.id, "mei", "It was the client's office number", now)
            .await
            .unwrap();
        assert_eq!(a.status, "open");
        match s.file_appeal(b.id, "mei", "again", now).await {
            Err(StoreError::Conflict(m)) => assert_eq!(m, ALREADY_APPEALED),
            other => panic!("{other:?}"),
        }
        let item = s.moderation_item(a.item_id).await.unwrap();
        assert_eq!(item.kind, ItemKind::Appeal);
        assert_eq!(item.target_id, b.id.to_string());
        assert_eq!(s.appeal_of_item(item.id).await.unwrap(), a);
        // The moderator who blocked may not decide the appeal.
        let mut d = item_decision(item.id, "morgan", "approve");
        d.overturn = Some(true);
        d.delivery_decision = Some(human("allow"));
        match s.resolve_item(&d).await {
            Err(StoreError::Conflict(m)) => assert_eq!(m, SAME_REVIEWER),
            other => panic!("{other:?}"),
        }
        assert!(s.moderation_item(item.id).await.unwrap().open);
        // Another moderator overturns: lifted, strike removed, the text delivered.
        let cursor = s.event_cursor("avery").await.unwrap();
        d.moderator_id = "jordan".into();
        let r = s.resolve_item(&d).await.unwrap();
        let m = r.delivered.clone().expect("the blocked text is delivered");
        assert_eq!(m.author_id, "mei");
        assert_eq!(m.original, "my number is 415 555 0134");
        assert_eq!(m.state, MessageState::Delivered);
        assert_eq!(r.notify, ["avery", "mei"]);
        let ev = s.events_since("avery", cursor, 10).await.unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, "message.created");
        assert_eq!(ev[0].message_id, Some(m.id));
        assert_eq!(
            s.get_conversation(&c).await.unwrap().last_message_id,
            Some(m.id)
        );
        let st = s.user_safety("mei", now).await.unwrap();
        assert!(st.strikes.is_empty(), "the strike is removed");
        assert!(st.restrictions.is_empty(), "the restriction is lifted");
        let removed = s.strikes_of("mei").await.unwrap();
        assert_eq!(removed.len(), 1);
        assert!(removed[0].removed_at.is_some());
        let ens = s.enforcements_of("mei", 10).await.unwrap();
        let (eb, ab) = ens.iter().find(|(e, _)| e.id == b.id).unwrap();
        assert!(eb.lifted_at.is_some());
        assert_eq!(eb.delivered_message_id, Some(m.id));
        let ab = ab.as_ref().unwrap();
        assert_eq!(ab.status, "overturned");
        assert_eq!(ab.decided_by.as_deref(), Some("jordan"));
        let (eo, _) = ens.iter().find(|(e, _)| e.id == old.id).unwrap();
        assert!(eo.lifted_at.is_none(), "other decisions stand");
        // An upheld appeal changes nothing but the record.
        let mut w = enforcement("mei", "warning", now);
        w.moderator_id = Some("jordan".into());
        let w = s.record_enforcements(&[w]).await.unwrap().remove(0);
        let a2 = s.file_appeal(w.id, "mei", "unfair", now).await.unwrap();
        let mut d2 = item_decision(a2.item_id, "morgan", "reject");
        d2.overturn = Some(false);
        let r2 = s.resolve_item(&d2).await.unwrap();
        assert!(r2.delivered.is_none());
        assert_eq!(s.appeal_of_item(a2.item_id).await.unwrap().status, "upheld");
        assert!(s.get_enforcement(w.id).await.unwrap().lifted_at.is_none());
        // An overturned mask shows the message as written.
        let masked = s
            .post_message(&NewMessage {
                delivered: Some("call me at [phone hidden]".into()),
                decision: decision("mask"),
                ..msg(&c, "mei", "mk", "call me at 415 555 0134")
            })
            .await
            .unwrap()
            .message;
        let mut mk = enforcement("mei", "mask", now);
        mk.message_id = Some(masked.id);
        mk.conversation_id = Some(c.clone());
        let mk = s.record_enforcements(&[mk]).await.unwrap().remove(0);
        let a3 = s.file_appeal(mk.id, "mei", "my office", now).await.unwrap();
        let cursor = s.event_cursor("avery").await.unwrap();
        let mut d3 = item_decision(a3.item_id, "jordan", "approve");
        d3.overturn = Some(true);
        d3.delivery_decision = Some(human("allow"));
        let r3 = s.resolve_item(&d3).await.unwrap();
        assert_eq!(r3.delivered.as_ref().map(|m| m.id), Some(masked.id));
        assert_eq!(
            s.get_message(masked.id, "avery")
                .await
                .unwrap()
                .delivered
                .as_deref(),
            Some("call me at 415 555 0134")
        );
        let ev = s.events_since("avery", cursor, 10).await.unwrap();
        assert_eq!(
            ev.iter()
                .map(|e| (e.kind.as_str(), e.message_id))
                .collect::<Vec<_>>(),
            [("message.updated", Some(masked.id))]
        );
        let stats = s.moderation_stats(now - 86_400_000, now).await.unwrap();
        assert_eq!(stats.appeals_decided, 3);
        assert_eq!(stats.appeals_overturned, 2);
        // Every enforcement, appeal (filed and decided) and moderator decision is in the
        // hash-chained audit log, with the moderator as actor.
        let log = s.audit_entries(0, 500).await.unwrap();
        let count = |kind: &str| log.iter().filter(|e| e.kind == kind).count();
        assert_eq!(count("enforcement"), 5, "{log:?}");
        assert_eq!(count("appeal.filed"), 3);
        assert_eq!(count("appeal.decided"), 3);
        assert_eq!(count("moderation.decision"), 3);
        let decided: Vec<_> = log
            .iter()
            .filter(|e| e.kind == "appeal.decided")
            .map(|e| (e.actor_id.as_deref(), e.data["outcome"].as_str()))
            .collect();
        assert_eq!(
            decided,
            [
                (Some("jordan"), Some("overturned")),
                (Some("morgan"), Some("upheld")),
                (Some("jordan"), Some("overturned"))
            ]
        );
        assert!(
            log.iter().all(|e| !e.data.to_string().contains("415 555")),
            "no user text in the audit log"
        );
        let v = s.verify_audit().await.unwrap();
        assert_eq!(v.first_bad, None);
    }

    pub async fn moderation_stats_count_flags(_db: &TestDb, s: &Store) {
        let c = seeded_conv(s).await;
        let flagged = |action: &str, cats: &[&str]| DecisionInput {
            surface: "message".into(),
            action: action.into(),
            automated: true,
            decision: json!({"decision": {"action": action, "reasons": cats.iter()
                .map(|c| json!({"category": c, "action": action})).collect::<Vec<_>>()}}),
        };
        for (action, cats) in [
            ("block", vec!["phone"]),
            ("block", vec!["phone", "email"]),
            ("mask", vec!["email"]),
            ("allow", vec![]),
            ("allow_with_notice", vec!["request"]),
        ] {
            s.record_decision(&attempt_decision(&c, flagged(action, &cats)))
                .await
                .unwrap();
        }
        s.post_message(&held(&c, "mei", "h", "x")).await.unwrap();
        let now = now_ms();
        let day = 86_400_000;
        let st = s.moderation_stats(now - 13 * day, now).await.unwrap();
        assert_eq!(st.by_category.get("phone"), Some(&2));
        assert_eq!(st.by_category.get("email"), Some(&2));
        assert_eq!(st.by_category.get("request"), None);
        assert_eq!(st.by_action.get("block"), Some(&2));
        assert_eq!(st.by_action.get("mask"), Some(&1));
        assert_eq!(st.by_action.get("allow_with_notice"), Some(&1));
        assert_eq!(st.by_action.get("allow"), None);
        assert_eq!(st.per_day.len(), 14);
        assert_eq!(st.per_day.last().unwrap().1, 3);
        assert_eq!(st.per_day.iter().map(|d| d.1).sum::<i64>(), 3);
        assert_eq!(st.open.get("held_message"), Some(&1));
        assert_eq!(st.open.get("report"), Some(&0));
    }

    /// Every conversation carries a human title for its reference, read live from the job it
    /// belongs to (directly, or via a proposal, invite or contract), in the list and in get.
    pub async fn conversation_ref_titles(_db: &TestDb, s: &Store) {
        seed(s).await;
        let job = |title: &str| JobInput {
            org_id: "northwind".into(),
            title: title.into(),
            ..Default::default()
        };
        s.put_job("rt-job", &job("Landing page redesign"))
            .await
            .unwrap();
        s.put_proposal(
            "rt-prop",
            &ProposalInput {
                job_id: "rt-job".into(),
                freelancer_id: "mei".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.put_invite(
            "rt-inv-job",
            &InviteInput {
                job_id: Some("rt-job".into()),
                org_id: "northwind".into(),
                freelancer_id: "diego".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        s.put_invite(
            "rt-inv",
            &InviteInput {
                org_id: "northwind".into(),
                freelancer_id: "diego".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        for (id, job_id) in [("rt-k-job", Some("rt-job")), ("rt-k", None)] {
            s.put_contract(
                id,
                &ContractInput {
                    client_org_id: "northwind".into(),
                    freelancer_id: "mei".into(),
                    status: ContractStatus::Active,
                    job_id: job_id.map(Into::into),
                },
            )
            .await
            .unwrap();
        }
        let cases = [
            (
                Some((RefKind::Job, "rt-job")),
                Some("Landing page redesign"),
            ),
            (
                Some((RefKind::Proposal, "rt-prop")),
                Some("Landing page redesign"),
            ),
            (
                Some((RefKind::Invite, "rt-inv-job")),
                Some("Landing page redesign"),
            ),
            (Some((RefKind::Invite, "rt-inv")), Some("Invite")),
            (
                Some((RefKind::Contract, "rt-k-job")),
                Some("Landing page redesign"),
            ),
            (Some((RefKind::Contract, "rt-k")), Some("Contract")),
            (None, None),
        ];
        let mut ids = Vec::new();
        for (reference, title) in cases {
            let c = s
                .create_conversation(&NewConversation {
                    members: vec!["avery".into(), "mei".into()],
                    reference: reference.map(|(kind, id)| ConversationRef {
                        kind,
                        id: id.into(),
                    }),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(c.ref_title.as_deref(), title, "{reference:?}");
            assert_eq!(s.get_conversation(&c.id).await.unwrap(), c);
            ids.push((c.id, title));
        }
        let list = s.list_conversations("avery", None, 50).await.unwrap();
        assert_eq!(list.len(), ids.len());
        for (id, title) in &ids {
            let item = list.iter().find(|l| &l.conversation.id == id).unwrap();
            assert_eq!(item.conversation.ref_title.as_deref(), *title, "{id}");
        }
        // Renaming the job renames every conversation that belongs to it.
        s.put_job("rt-job", &job("Checkout flow")).await.unwrap();
        let list = s.list_conversations("mei", None, 50).await.unwrap();
        for (id, title) in &ids {
            let want = title.map(|t| {
                if t == "Landing page redesign" {
                    "Checkout flow"
                } else {
                    t
                }
            });
            let item = list.iter().find(|l| &l.conversation.id == id).unwrap();
            assert_eq!(item.conversation.ref_title.as_deref(), want, "{id}");
            assert_eq!(
                s.get_conversation_for(id, "mei")
                    .await
                    .unwrap()
                    .ref_title
                    .as_deref(),
                want
            );
        }
    }
}

/// A message acknowledged to its sender survives `kill -9` of the process that wrote it: a
/// child process (this test binary, in child mode) posts messages concurrently to a SQLite file
/// and prints each acknowledgement; the parent kills it with SIGKILL mid-stream, reopens the
/// file, and finds every acknowledged message.
#[test]
fn acknowledged_messages_survive_kill_9() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("kill9.db").display());
    let conv = rt.block_on(async {
        let s = Store::connect(&url).await.unwrap();
        let c = checks::seeded_conv(&s).await;
        s.close().await;
        c
    });
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "kill9_child", "--nocapture", "--test-threads=1"])
        .env("PARLEY_STORE_KILL9_URL", &url)
        .env("PARLEY_STORE_KILL9_CONV", &conv)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if let Some(rest) = line.strip_prefix("ACK ") {
            let (id, client_id) = rest.split_once(' ').unwrap();
            acked.push((id.parse::<i64>().unwrap(), client_id.to_string()));
            if acked.len() >= 300 {
                break;
            }
        }
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    assert!(
        acked.len() >= 300,
        "the child acknowledged only {}",
        acked.len()
    );
    rt.block_on(async {
        let s = Store::connect(&url).await.unwrap();
        for (id, client_id) in &acked {
            let m = s.get_message(*id, "mei").await.unwrap();
            assert_eq!(&m.client_id, client_id);
        }
        let page = checks::all_messages(&s, &conv, "mei").await;
        assert!(page.messages.len() >= acked.len());
        s.close().await;
    });
}

/// Child mode of `acknowledged_messages_survive_kill_9` (does nothing otherwise).
#[test]
fn kill9_child() {
    let (Ok(url), Ok(conv)) = (
        std::env::var("PARLEY_STORE_KILL9_URL"),
        std::env::var("PARLEY_STORE_KILL9_CONV"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        use std::io::Write;
        let s = Store::connect(&url).await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..8 {
            let s = s.clone();
            let conv = conv.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..5_000 {
                    let client_id = format!("t{t}-{i}");
                    let p = s
                        .post_message(&checks::msg(&conv, "avery", &client_id, "durable?"))
                        .await
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "ACK {} {}", p.message.id, client_id);
                    let _ = out.flush();
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
}
