//! Malware scanning with ClamAV (`files.clamav`): against a real `clamd` when
//! `PARLEY_TEST_CLAMAV` names one (`scripts/clamav-test.sh` starts it with a hash signature
//! for the EICAR test file; `PARLEY_TEST_CLAMAV_SOCKET`: its unix socket), skipped otherwise;
//! and, always, a `clamd` that does not answer: held (fail closed) or let through (fail open).

use super::files::{scanned, upload};
use super::uploads::{start_files, Files};
use super::*;

/// The EICAR anti-virus test file (harmless; every scanner reports it).
pub(crate) const EICAR: &str =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn clamd() -> Option<String> {
    let a = std::env::var("PARLEY_TEST_CLAMAV")
        .ok()
        .filter(|a| !a.is_empty());
    if a.is_none() {
        eprintln!("SKIPPED: PARLEY_TEST_CLAMAV is not set (scripts/clamav-test.sh sets it)");
    }
    a
}

/// A loopback address nothing listens on.
fn dead_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("tcp://{}", l.local_addr().unwrap())
}

async fn metrics_text(s: &Server) -> String {
    let (st, v) = s.call(Method::GET, "/metrics", Some(ADMIN), None).await;
    assert_eq!(st, StatusCode::OK);
    v.as_str().unwrap().to_string()
}

/// A moderator's token.
async fn moderator(s: &Server) -> String {
    let (st, v) = s
        .admin(
            Method::PUT,
            "/v1/users/morgan",
            json!({"name": "Morgan", "roles": ["moderator"]}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    s.token("morgan").await
}

async fn moderation_queue(s: &Server, tok: &str) -> Value {
    let (st, q) = s
        .call(Method::GET, "/v1/moderation/files", Some(tok), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{q}");
    q
}

async fn operator_events(s: &Server, ty: &str) -> Vec<Value> {
    let events = s.operator_events().await;
    events.into_iter().filter(|e| e["type"] == ty).collect()
}

/// The EICAR file ends `infected`: the sender sees why, the recipient never sees it, nobody
/// can download it, the decision and the operator event are recorded. A clean file passes.
async fn eicar_flow(f: &Files) {
    let s = &f.s;
    let [avery, _priya, diego, _mei, _eve] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let mut avery_ws = s.ws(&avery, None).await;

    let id = upload(
        s,
        &diego,
        &conv,
        "invoice.txt",
        "text/plain",
        EICAR.as_bytes(),
        None,
    )
    .await;
    let v = scanned(s, &diego, &id).await;
    assert_eq!(v["state"], "infected", "{v}");
    assert_eq!(v["reason"], "malware");
    let why = v["scan"]["explanation"].as_str().unwrap();
    assert!(why.contains("Eicar-Test"), "{v}");
    assert!(v.get("download_url").is_none(), "not even the sender: {v}");
    // The recipient: 404, not in the list, no event.
    let (st, _) = s
        .call(Method::GET, &format!("/v1/files/{id}"), Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, list) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/files"),
            Some(&avery),
            None,
        )
        .await;
    assert!(list["files"].as_array().unwrap().is_empty(), "{list}");
    // The moderation queue does not offer it (nor a download link to it).
    let morgan = moderator(s).await;
    let q = moderation_queue(s, &morgan).await;
    assert!(!q.to_string().contains(&id), "{q}");

    // A clean file passes (over the unix socket when the script gave one) and is the first
    // file event Avery gets: the infected one never reached Avery.
    let clean = upload(
        s,
        &diego,
        &conv,
        "brief.txt",
        "text/plain",
        b"Kitchen brief: 4500 USD, three weeks in March.\n",
        None,
    )
    .await;
    assert_eq!(scanned(s, &diego, &clean).await["state"], "clean");
    let ev = avery_ws.next_of("file.created").await;
    assert_eq!(ev["file"]["id"], clean.as_str());

    let ev = operator_events(s, "file.infected").await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["data"]["file_id"], id.as_str());
    assert_eq!(ev[0]["data"]["reason"], "malware");
    assert!(ev[0]["data"]["signature"]
        .as_str()
        .unwrap()
        .contains("Eicar-Test"));
    assert!(!ev[0].to_string().contains("invoice.txt"));
    let text = metrics_text(s).await;
    assert!(text.contains("parley_clamav_configured 1\n"), "{text}");
    assert!(text.contains("parley_clamav_reachable 1\n"), "{text}");
    assert!(
        text.contains(
            "parley_decisions_total{surface=\"attachment\",action=\"block\",automated=\"true\"} 1\n"
        ),
        "{text}"
    );
}

fn with_clamd(addr: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.files.clamav = Some(addr);
        c.files.clamav_timeout_secs = 20;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eicar_is_infected_on_sqlite() {
    let Some(addr) = clamd() else { return };
    let f = start_files(None, with_clamd(addr)).await.unwrap();
    eicar_flow(&f).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eicar_is_infected_on_postgres() {
    let Some(addr) = clamd() else { return };
    let Some(f) = start_files(Some("eicar_is_infected_on_postgres"), with_clamd(addr)).await else {
        return;
    };
    eicar_flow(&f).await;
}

/// The same through `clamd`'s unix socket, the blobs in object storage (`memory://`, the
/// `object_store` code of `s3://`): EICAR infected, a clean file clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_over_a_unix_socket() {
    let Some(sock) = std::env::var("PARLEY_TEST_CLAMAV_SOCKET")
        .ok()
        .filter(|a| !a.is_empty())
    else {
        eprintln!("SKIPPED: PARLEY_TEST_CLAMAV_SOCKET is not set");
        return;
    };
    let clamd = with_clamd(format!("unix://{sock}"));
    let f = start_files(None, |c| {
        clamd(c);
        c.files.storage = "memory://".into();
    })
    .await
    .unwrap();
    let s = &f.s;
    let [avery, ..] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let id = upload(
        s,
        &avery,
        &conv,
        "a.txt",
        "text/plain",
        EICAR.as_bytes(),
        None,
    )
    .await;
    assert_eq!(scanned(s, &avery, &id).await["state"], "infected");
    let id = upload(
        s,
        &avery,
        &conv,
        "b.txt",
        "text/plain",
        b"Just a plan.\n",
        None,
    )
    .await;
    assert_eq!(scanned(s, &avery, &id).await["state"], "clean");
    assert!(metrics_text(s)
        .await
        .contains("parley_clamav_reachable 1\n"));
}

/// `clamd` configured but down: a clean file is held with a clear reason (fail closed); the
/// recipient does not see it; a moderator can still approve it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_down_holds_files() {
    let dead = dead_address();
    let f = start_files(None, move |c| {
        c.files.clamav = Some(dead);
        c.files.clamav_timeout_secs = 5;
    })
    .await
    .unwrap();
    let s = &f.s;
    let [avery, _priya, diego, ..] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let id = upload(
        s,
        &avery,
        &conv,
        "brief.txt",
        "text/plain",
        b"Kitchen brief: 4500 USD.\n",
        None,
    )
    .await;
    let v = scanned(s, &avery, &id).await;
    assert_eq!(v["state"], "held", "{v}");
    assert_eq!(v["reason"], "malware_scan_unavailable");
    assert!(
        v["scan"]["explanation"]
            .as_str()
            .unwrap()
            .contains("could not be checked for malware"),
        "{v}"
    );
    let (st, _) = s
        .call(Method::GET, &format!("/v1/files/{id}"), Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let morgan = moderator(s).await;
    let q = moderation_queue(s, &morgan).await;
    assert!(q.to_string().contains(&id), "{q}");
    let held = operator_events(s, "file.held").await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0]["data"]["reason"], "malware_scan_unavailable");
    let text = metrics_text(s).await;
    assert!(text.contains("parley_clamav_configured 1\n"), "{text}");
    assert!(text.contains("parley_clamav_reachable 0\n"), "{text}");
    assert!(text.contains("parley_clamav_fail_open 0\n"), "{text}");
    // A moderator may still let it through.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/moderation/files/{id}/decision"),
            Some(&morgan),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (st, _) = s
        .call(Method::GET, &format!("/v1/files/{id}"), Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::OK);
}

/// `clamd` down and `files.clamav_fail_open`: the rest of the scan decides (clean here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_down_fail_open_passes() {
    let dead = dead_address();
    let f = start_files(None, move |c| {
        c.files.clamav = Some(dead);
        c.files.clamav_timeout_secs = 5;
        c.files.clamav_fail_open = true;
    })
    .await
    .unwrap();
    let s = &f.s;
    let [avery, _priya, diego, ..] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let id = upload(
        s,
        &avery,
        &conv,
        "brief.txt",
        "text/plain",
        b"Kitchen brief: 4500 USD.\n",
        None,
    )
    .await;
    assert_eq!(scanned(s, &avery, &id).await["state"], "clean");
    let (st, v) = s
        .call(Method::GET, &format!("/v1/files/{id}"), Some(&diego), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["download_url"].is_string());
    let text = metrics_text(s).await;
    assert!(text.contains("parley_clamav_reachable 0\n"), "{text}");
    assert!(text.contains("parley_clamav_fail_open 1\n"), "{text}");
    // Without ClamAV configured, /metrics says so.
    let f = start_files(None, |_| {}).await.unwrap();
    let text = metrics_text(&f.s).await;
    assert!(text.contains("parley_clamav_configured 0\n"), "{text}");
}
