//! Files attached to messages: `POST .../messages {"attachments": [...]}` with the sender's
//! finished uploads; what the sender and the recipients see under the message (states,
//! download links, clean files only for recipients, a moderator's approval); every refusal
//! (someone else's file, another conversation's, an unfinished upload, an unknown id, a file
//! attached twice, no text and no files) answers its code and stores nothing.

use super::files::{scanned, upload};
use super::uploads::{create, meta, start_files, Files};
use super::*;

async fn post(s: &Server, tok: &str, conv: &str, body: Value) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        &format!("/v1/conversations/{conv}/messages"),
        Some(tok),
        Some(body),
    )
    .await
}

async fn messages(s: &Server, tok: &str, conv: &str) -> Vec<Value> {
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/messages"),
            Some(tok),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["messages"].as_array().unwrap().clone()
}

async fn attachments_flow(f: &Files) {
    let s = &f.s;
    let [avery, _priya, diego, _mei, _eve] = seed(s).await;
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/morgan",
            json!({"name": "Morgan", "roles": ["moderator"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let morgan = s.token("morgan").await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let other = s.conversation(&["avery", "mei"]).await;

    let brief = b"Kitchen brief: 4500 USD, three weeks in March.\n";
    let clean = upload(s, &avery, &conv, "brief.txt", "text/plain", brief, None).await;
    let held = upload(
        s,
        &avery,
        &conv,
        "notes.txt",
        "text/plain",
        b"Easier by mail: avery.kitchens@gmail.com\n",
        None,
    )
    .await;
    assert_eq!(scanned(s, &avery, &clean).await["state"], "clean");
    assert_eq!(scanned(s, &avery, &held).await["state"], "held");
    let diegos = upload(s, &diego, &conv, "d.txt", "text/plain", b"Plan B.\n", None).await;
    let elsewhere = upload(s, &avery, &other, "e.txt", "text/plain", b"Plan C.\n", None).await;
    let unfinished = create(s, &avery, 10, &meta("u.txt", "text/plain", &conv)).await;
    let unfinished = unfinished.rsplit('/').next().unwrap().to_string();
    let before = messages(s, &avery, &conv).await.len();

    // Refusals: a code each, nothing stored.
    for (id, code, status) in [
        (&diegos, "attachment_not_found", StatusCode::NOT_FOUND),
        (&elsewhere, "attachment_not_found", StatusCode::NOT_FOUND),
        (&unfinished, "attachment_not_found", StatusCode::NOT_FOUND),
        (
            &"u_doesnotexist".to_string(),
            "attachment_not_found",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (st, v) = post(
            s,
            &avery,
            &conv,
            json!({"body": "see attached", "client_id": format!("bad-{id}"), "attachments": [clean, id]}),
        )
        .await;
        assert_eq!(st, status, "{id}: {v}");
        assert_error(&v, code);
    }
    let (st, v) = post(s, &avery, &conv, json!({"client_id": "empty"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_error(&v, "invalid_request");
    let (st, v) = post(
        s,
        &avery,
        &conv,
        json!({"client_id": "twice", "attachments": [clean, clean]}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(messages(s, &avery, &conv).await.len(), before);

    // Files alone: the sender sees both with their states and links.
    let mut diego_ws = s.ws(&diego, None).await;
    let (st, v) = post(
        s,
        &avery,
        &conv,
        json!({"client_id": "files-1", "attachments": [clean, held]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let mid = v["message"]["id"].as_i64().unwrap();
    let a = v["message"]["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{v}");
    assert_eq!(a[0]["id"], clean.as_str());
    assert_eq!(a[0]["name"], "brief.txt");
    assert_eq!(a[0]["size"], brief.len());
    assert_eq!(a[0]["content_type"], "text/plain");
    assert_eq!(a[0]["state"], "clean");
    assert!(a[0]["download_url"].is_string());
    assert_eq!(a[1]["id"], held.as_str());
    assert_eq!(a[1]["state"], "held");
    // The recipient: live, and in the list, only the clean file, downloadable.
    let ev = diego_ws.next_of("message.created").await;
    assert_eq!(ev["message"]["id"], mid, "{ev}");
    let live = ev["message"]["attachments"].as_array().unwrap();
    assert_eq!(live.len(), 1, "{ev}");
    assert_eq!(live[0]["id"], clean.as_str());
    let (st, inbox) = s
        .call(Method::GET, "/v1/conversations", Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{inbox}");
    let entry = inbox["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == conv.as_str())
        .unwrap();
    assert_eq!(entry["last_message"]["id"], mid);
    assert_eq!(
        entry["last_message"]["attachments"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{entry}"
    );
    let list = messages(s, &diego, &conv).await;
    let m = list.iter().find(|m| m["id"] == mid).unwrap();
    let a = m["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 1, "{m}");
    assert!(!m.to_string().contains(&held), "{m}");
    let url = a[0]["download_url"].as_str().unwrap();
    let r = s.http.get(format!("{}{url}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), brief);

    // A retry answers the same message; attaching a file again is refused.
    let (st, v) = post(
        s,
        &avery,
        &conv,
        json!({"client_id": "files-1", "attachments": [clean, held]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["message"]["id"], mid);
    let (st, v) = post(
        s,
        &avery,
        &conv,
        json!({"body": "again", "client_id": "files-2", "attachments": [clean]}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_error(&v, "attachment_in_use");
    assert_eq!(messages(s, &avery, &conv).await.len(), before + 1);
    // Files not attached to any message still list as files of the conversation.
    let (_, files) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/files"),
            Some(&diego),
            None,
        )
        .await;
    assert!(files.to_string().contains(&diegos), "{files}");

    // A moderator approves the held file: the recipient now sees it under the message.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/moderation/files/{held}/decision"),
            Some(&morgan),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let list = messages(s, &diego, &conv).await;
    let m = list.iter().find(|m| m["id"] == mid).unwrap();
    let a = m["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{m}");
    assert_eq!(a[1]["id"], held.as_str());
    assert_eq!(a[1]["state"], "clean");
    assert!(a[1]["download_url"].is_string());

    // Text and a file together.
    let (st, v) = post(
        s,
        &diego,
        &conv,
        json!({"body": "Here is my plan", "client_id": "d-1", "attachments": [diegos]}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["message"]["body"], "Here is my plan");
    assert_eq!(v["message"]["attachments"][0]["id"], diegos.as_str());
    // An edit keeps the files.
    let d1 = v["message"]["id"].as_i64().unwrap();
    let (st, v) = s
        .call(
            Method::PATCH,
            &format!("/v1/conversations/{conv}/messages/{d1}"),
            Some(&diego),
            Some(json!({"body": "Here is my plan, v2"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["message"]["attachments"][0]["id"], diegos.as_str(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_attachments_on_sqlite() {
    let f = start_files(None, |_| {}).await.unwrap();
    attachments_flow(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_attachments_on_postgres() {
    let Some(f) = start_files(Some("message_attachments_on_postgres"), |_| {}).await else {
        return;
    };
    attachments_flow(&f).await;
}
