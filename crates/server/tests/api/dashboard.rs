//! The operator dashboard (`GET /v1/admin/dashboard`): who may read it, its parameters, and
//! numbers that follow what happened (messages, decisions by action, findings, the review queue,
//! time to decision, webhook deliveries and a moderator's replay); the operator events
//! `file.held` and `call.ended`, delivered like the others and without contact details.

use super::files::{scanned, upload};
use super::uploads::start_files;
use super::webhooks::{hooks_server, Receiver};
use super::*;
use parley_server::webhook_worker;

async fn dashboard(s: &Server, tok: &str, query: &str) -> (StatusCode, Value) {
    s.call(
        Method::GET,
        &format!("/v1/admin/dashboard{query}"),
        Some(tok),
        None,
    )
    .await
}

fn today_of(v: &Value) -> Value {
    v["daily"].as_array().unwrap().last().unwrap().clone()
}

fn action_count(day: &Value, action: &str) -> i64 {
    day["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == action)
        .map(|a| a["count"].as_i64().unwrap())
        .sum()
}

async fn dashboard_flow(s: &Server, state: &AppState) {
    let [avery, priya, diego, _mei, _eve] = seed(s).await;
    let (morgan, _jordan) = moderators(s).await;

    // Who may read it, and its parameters.
    let (st, v) = s.call(Method::GET, "/v1/admin/dashboard", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, v) = dashboard(s, &avery, "").await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    for bad in ["?days=0", "?days=367", "?days=abc", "?days=-1", "?weeks=2"] {
        let (st, v) = dashboard(s, ADMIN, bad).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_error(&v, "invalid_request");
    }
    let (st, empty) = dashboard(s, &morgan, "").await;
    assert_eq!(st, StatusCode::OK, "{empty}");
    assert_eq!(empty["days"], 14);
    assert_eq!(empty["daily"].as_array().unwrap().len(), 14);
    assert_eq!(empty["queue"]["open"], 0);
    assert_eq!(empty["queue"]["age"].as_array().unwrap().len(), 5);
    assert_eq!(empty["appeals"]["overturn_rate"], Value::Null);
    assert_eq!(empty["webhooks"]["success_rate"], Value::Null);

    let (rx, base) = Receiver::start().await;
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook?token=receiver-secret"), "description": "crm"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let ep = v["id"].as_str().unwrap().to_string();

    // One message allowed, one blocked (a phone number before a contract), one reported.
    let c = s.conversation(&["avery", "priya", "diego"]).await;
    let (st, _) = s.post(&diego, &c, "Hello, happy to help", "d1").await;
    assert_eq!(st, StatusCode::CREATED);
    let (st, _) = s
        .post(&diego, &c, "My number is +1 415 555 0134, text me", "d2")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, v) = s
        .post(&diego, &c, "Send the deposit first and I will start", "d3")
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let reported = v["message"]["id"].as_i64().unwrap();
    for tok in [&avery, &priya] {
        let (st, v) = s
            .call(
                Method::POST,
                "/v1/reports",
                Some(tok),
                Some(json!({"message_id": reported, "reason": "scam"})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }

    let (st, v) = dashboard(s, &morgan, "?days=3").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["days"], 3);
    let days = v["daily"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(v["to"], days[2]["date"]);
    assert_eq!(v["from"], days[0]["date"]);
    let today = today_of(&v);
    assert_eq!(
        today["messages"], 2,
        "the blocked one is not stored: {today}"
    );
    assert_eq!(action_count(&today, "allow"), 2, "{today}");
    assert_eq!(action_count(&today, "block"), 1, "{today}");
    let phone = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "phone")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(phone["count"], 1);
    // Two reports, one item.
    assert_eq!(v["queue"]["open"], 1, "{v}");
    assert_eq!(v["queue"]["by_kind"][0]["kind"], "report");
    assert_eq!(v["queue"]["age"][0]["count"], 1);
    assert_eq!(today["queue_opened"], 1);
    assert_eq!(today["queue_open"], 1);
    assert_eq!(v["queue"]["time_to_decision"]["decided"], 0);

    // A moderator decides the report: it leaves the queue, with its time to decision.
    let item = queue(s, &morgan, "report").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = decide(s, &morgan, &item, "warn").await;
    assert_eq!(st, StatusCode::OK, "{v}");

    // Webhook deliveries: every event so far delivered to a receiver answering 200.
    let client = webhook_worker::client(true);
    let n = webhook_worker::deliver_due(state, &client, state.now_ms()).await;
    assert!(n >= 5, "{n} deliveries");
    assert_eq!(rx.take().len(), n);

    let (st, v) = dashboard(s, ADMIN, "?days=1").await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let today = today_of(&v);
    assert_eq!(v["queue"]["open"], 0, "{v}");
    assert_eq!(today["queue_resolved"], 1);
    assert_eq!(today["queue_open"], 0);
    let t = &v["queue"]["time_to_decision"];
    assert_eq!(t["decided"], 1, "{v}");
    assert_eq!(t["buckets"][0]["count"], 1);
    assert!(t["mean_ms"].as_i64().unwrap() >= 0);
    let hooks = &v["webhooks"];
    assert_eq!(hooks["succeeded"].as_i64(), Some(n as i64), "{hooks}");
    assert_eq!(hooks["failed"], 0);
    assert_eq!(hooks["success_rate"], 1.0);
    assert_eq!(today["webhook_attempts"].as_i64(), Some(n as i64));
    assert_eq!(today["webhook_attempts_succeeded"].as_i64(), Some(n as i64));
    let e = &hooks["endpoints"][0];
    assert_eq!(e["id"], ep.as_str());
    assert_eq!(e["state"], "enabled");
    assert_eq!(e["description"], "crm");
    let target = e["target"].as_str().unwrap();
    assert!(
        target.ends_with("/hook") && !target.contains("receiver-secret"),
        "{target}"
    );
    let recent = hooks["recent_attempts"].as_array().unwrap();
    assert_eq!(recent.len(), n.min(20));
    assert_eq!(recent[0]["status_code"], 200);
    assert_eq!(recent[0]["delivery_status"], "succeeded");
    // The decisions of the moderator are counted too (warn).
    assert!(action_count(&today, "warn") + action_count(&today, "allow") >= 2);

    // A moderator replays one delivery from the dashboard; a plain user may not.
    let delivery = recent[0]["delivery_id"].as_i64().unwrap();
    let path = format!("/v1/webhooks/{ep}/replay");
    let (st, v) = s
        .call(
            Method::POST,
            &path,
            Some(&avery),
            Some(json!({"delivery_id": delivery})),
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            &path,
            Some(&morgan),
            Some(json!({"delivery_id": delivery})),
        )
        .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["replayed"], 1);
    assert_eq!(
        webhook_worker::deliver_due(state, &client, state.now_ms()).await,
        1
    );
    let again = rx.take();
    assert_eq!(again[0].id, recent[0]["event_id"].as_str().unwrap());
    let (_, v) = dashboard(s, &morgan, "?days=1").await;
    assert_eq!(
        today_of(&v)["webhook_attempts"].as_i64(),
        Some(n as i64 + 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_on_sqlite() {
    let (s, state) = hooks_server(None).await;
    dashboard_flow(&s, &state).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_on_postgres() {
    let Some(url) = postgres_url("dashboard_on_postgres").await else {
        return;
    };
    let (s, state) = hooks_server(Some(url)).await;
    dashboard_flow(&s, &state).await;
}

/// A held file is reported as `file.held` with ids and the reason's code: neither the file's
/// name nor what was found in it.
async fn file_held_flow(pg: Option<&str>) {
    let Some(f) = start_files(pg, |c| {
        c.webhook_allow_private_targets = true;
        c.webhook_delivery = false;
    })
    .await
    else {
        return;
    };
    let s = &f.s;
    let [avery, _priya, diego, _mei, _eve] = seed(s).await;
    let (rx, base) = Receiver::start().await;
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook"), "events": ["file.held"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let pre = s.conversation(&["avery", "diego"]).await;
    let card = b"Project notes\n\nIf the chat is slow just email me at diego.builds@gmail.com.\n";
    let id = upload(
        s,
        &diego,
        &pre,
        "diego.builds@gmail.com notes.txt",
        "text/plain",
        card,
        None,
    )
    .await;
    assert_eq!(scanned(s, &diego, &id).await["state"], "held");
    let clean = upload(
        s,
        &avery,
        &pre,
        "brief.txt",
        "text/plain",
        b"The brief.\n",
        None,
    )
    .await;
    assert_eq!(scanned(s, &avery, &clean).await["state"], "clean");

    let held: Vec<Value> = s
        .operator_events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "file.held")
        .collect();
    assert_eq!(held.len(), 1, "{held:?}");
    let data = &held[0]["data"];
    assert_eq!(data["file_id"], id.as_str());
    assert_eq!(data["conversation_id"], pre.as_str());
    assert_eq!(data["owner_id"], "diego");
    assert_eq!(data["reason"], "contact_details");
    assert!(!held[0].to_string().contains("gmail"), "{}", held[0]);

    // Delivered to the endpoint that subscribed to it (and nothing else).
    let (st, v) = s.call(Method::GET, "/v1/webhooks", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::OK);
    let ep = v["webhooks"][0]["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/webhooks/{ep}/deliveries"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ds = v["deliveries"].as_array().unwrap();
    assert_eq!(ds.len(), 1, "{v}");
    assert_eq!(ds[0]["event"]["type"], "file.held");
    assert!(rx.take().is_empty(), "no worker in this test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_held_is_an_operator_event_on_sqlite() {
    file_held_flow(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_held_is_an_operator_event_on_postgres() {
    file_held_flow(Some("file_held_is_an_operator_event_on_postgres")).await;
}

/// A call that ends is reported as `call.ended` (metadata only), delivered and signed like the
/// other events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_ended_is_an_operator_event() {
    let (s, state) = hooks_server(None).await;
    let [avery, _priya, diego, _mei, _eve] = seed(&s).await;
    let (rx, base) = Receiver::start().await;
    let (st, v) = s
        .admin(
            Method::POST,
            "/v1/webhooks",
            json!({"url": format!("{base}/hook"), "events": ["call.ended"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let conv = s.conversation(&["avery", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    let mut d = s.ws(&diego, None).await;
    a.send(json!({"type": "call.invite", "conversation_id": conv}))
        .await;
    let ring = d.next_of("call.ring").await;
    let id = ring["call_id"].as_str().unwrap().to_string();
    d.send(json!({"type": "call.decline", "call_id": id})).await;
    loop {
        let v = a.next_of("call.state").await;
        if v["state"] == "ended" {
            break;
        }
    }
    let mut ended = Vec::new();
    for _ in 0..50 {
        ended = s
            .operator_events()
            .await
            .into_iter()
            .filter(|e| e["type"] == "call.ended")
            .collect();
        if !ended.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ended.len(), 1, "{ended:?}");
    let data = &ended[0]["data"];
    assert_eq!(data["call_id"], id.as_str());
    assert_eq!(data["conversation_id"], conv.as_str());
    assert_eq!(data["caller_id"], "avery");
    assert!(data["answered_at"].is_null(), "{data}");
    assert!(data["end_reason"].is_string(), "{data}");
    let client = webhook_worker::client(true);
    assert_eq!(
        webhook_worker::deliver_due(&state, &client, state.now_ms()).await,
        1
    );
    let got = rx.take();
    assert_eq!(got[0].id, ended[0]["id"].as_str().unwrap());
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["type"], "call.ended");
    assert_eq!(body["data"]["call_id"], id.as_str());
}
