//! The one-transaction rule over the API: a write that fails part-way (the store fails its
//! n-th statement, `Store::fail_write_statement`) leaves nothing of the operation behind, for a
//! masked message (the message and its mask's enforcement and strike), a moderator's decision
//! (the review, the block, its strike and events) and an appeal (filed, then decided). For each
//! operation, statements 1, 2, 3... fail in turn: every failure answers 503 `unavailable` and
//! the store is exactly as before; then the operation runs through and its effects are there.

use super::*;
use parley_store::{QueueQuery, Store};

const USERS: &[&str] = &["avery", "priya", "diego", "mei", "eve", "morgan"];

/// Phone numbers masked, emails held for review.
const POLICY: &str = r#"
[actions.message]
phone = { high = "mask", medium = "mask" }
email = { high = "hold_for_review", medium = "hold_for_review" }
"#;

/// A server on a SQLite file, with its store kept by the test.
async fn start_with_store() -> (Server, Store) {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("crash.db").display());
    let config = Config {
        database: db.clone(),
        admin_key: Some(ADMIN.into()),
        ..Config::default()
    };
    let store = Store::connect(&db).await.unwrap();
    let policy = parley_policy::Policy::from_toml_str(POLICY).unwrap();
    let bus: std::sync::Arc<dyn parley_server::Bus> =
        std::sync::Arc::new(parley_server::LocalBus::default());
    let state = AppState::with_parts(config, store.clone(), policy, bus).unwrap();
    let server = serve(state, Some(dir)).await;
    (server, store)
}

/// Everything an operation in conversation `conv` could leave behind.
async fn snapshot(s: &Store, conv: &str) -> Vec<String> {
    let mut out = vec![
        format!("{:?}", s.audit_head().await.unwrap()),
        format!("{:?}", s.audit_counts(0).await.unwrap()),
        format!("{:?}", s.decision_counts(0).await.unwrap()),
        format!(
            "{:?}",
            s.conversation_messages_all(conv, 0, 1000).await.unwrap()
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
        out.push(format!("{u} {:?}", s.event_cursor(u).await.unwrap()));
        out.push(format!("{:?}", s.events_since(u, 0, 500).await.unwrap()));
        out.push(format!("{:?}", s.enforcements_of(u, 500).await.unwrap()));
        out.push(format!("{:?}", s.strikes_of(u).await.unwrap()));
    }
    out
}

/// Calls `op` with statement 1, 2, 3... of the store failing until it runs through; checks
/// that every failed call answered 503 and left the store as it was. Returns the answer of
/// the call that ran through, and how many failures were checked.
async fn fails_cleanly<F, Fut>(store: &Store, conv: &str, what: &str, op: F) -> (StatusCode, Value)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (StatusCode, Value)>,
{
    let before = snapshot(store, conv).await;
    for n in 1..200 {
        store.fail_write_statement(n);
        let (st, v) = op().await;
        let fired = store.injected_fault_fired();
        store.fail_write_statement(0);
        if !fired {
            assert!(
                n > 1,
                "{what}: no statement failed, the harness saw no write"
            );
            return (st, v);
        }
        assert_eq!(
            st,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}, statement {n}: {v}"
        );
        assert_error(&v, "unavailable");
        assert_eq!(
            snapshot(store, conv).await,
            before,
            "{what}: a failure at statement {n} left a part of the operation behind"
        );
    }
    panic!("{what}: never ran through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_part_way_leaves_nothing_behind() {
    let (s, store) = start_with_store().await;
    let [avery, _, diego, _, _] = seed(&s).await;
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/morgan",
            json!({"name": "Morgan Lee", "roles": ["moderator"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let morgan = s.token("morgan").await;
    let c = s.conversation(&["avery", "diego"]).await;
    let (st, _) = s
        .post(&avery, &c, "Hi Diego, thanks for applying", "c0")
        .await;
    assert_eq!(st, StatusCode::CREATED);

    // A masked message: the message, its decision, the mask's enforcement and strike, the
    // events and audit entries, all or nothing.
    let (st, v) = fails_cleanly(&store, &c, "masked message", || {
        s.post(&diego, &c, "Call me at +1 415 555 0134 tomorrow", "c1")
    })
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["decision"]["action"], "mask", "{v}");
    let mid = v["message"]["id"].clone();
    let mine = enforcements(&s, &diego).await;
    assert_eq!(mine["enforcements"].as_array().unwrap().len(), 1, "{mine}");
    let mask = mine["enforcements"][0].clone();
    assert_eq!(mask["kind"], "mask", "{mine}");
    assert_eq!(mask["message_id"], mid, "{mine}");
    assert_eq!(mine["standing"]["points"], 1, "{mine}");

    // A moderator's decision on a held message: the review, the human block with its strike,
    // the events, the resolution, all or nothing.
    let (st, v) = s
        .post(&diego, &c, "Or write to diego.ramos@gmail.com", "c2")
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    let items = queue(&s, &morgan, "held_message").await;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = items[0]["id"].as_str().unwrap().to_string();
    let (st, v) = fails_cleanly(&store, &c, "moderator decision", || {
        decide(&s, &morgan, &item, "reject")
    })
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["item"]["status"], "resolved", "{v}");
    let mine = enforcements(&s, &diego).await;
    assert_eq!(mine["enforcements"].as_array().unwrap().len(), 2, "{mine}");
    assert_eq!(mine["enforcements"][0]["kind"], "block", "{mine}");

    // An appeal: filed (the appeal and its queue item), then decided (the overturn lifts the
    // mask, removes its strike and shows the message as written), each all or nothing.
    let (st, v) = fails_cleanly(&store, &c, "appeal filed", || {
        s.call(
            Method::POST,
            "/v1/appeals",
            Some(&diego),
            Some(json!({"enforcement_id": mask["id"], "statement": "It was my office line."})),
        )
    })
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let appeal_item = v["appeal"]["item_id"].as_str().unwrap().to_string();
    let (st, v) = fails_cleanly(&store, &c, "appeal decided", || {
        decide(&s, ADMIN, &appeal_item, "approve")
    })
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mine = enforcements(&s, &diego).await;
    let mask_now = mine["enforcements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == mask["id"])
        .cloned()
        .unwrap();
    assert_eq!(mask_now["appeal"]["status"], "overturned", "{mine}");
    assert!(mask_now["lifted_at"].is_i64(), "{mine}");
}
