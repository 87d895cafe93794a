//! Calls over `/v1/ws`: ringing every session of the callee, answered elsewhere, signaling
//! relayed to the one session in the call and to nobody else, every end reason, the call
//! record (metadata only), ICE credentials, restricted users.

use super::*;

/// An SDP and a candidate with markers the storage test looks for.
const SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD:SDP-MARKER-7Q\r\n";
const CANDIDATE_IP: &str = "203.0.113.77";

impl Ws {
    /// The next `call.*` frame of this type.
    async fn call_frame(&mut self, ty: &str) -> Value {
        self.next_of(ty).await
    }
    /// The next `call.state` with this state.
    async fn call_state(&mut self, state: &str) -> Value {
        loop {
            let v = self.next_of("call.state").await;
            if v["state"] == state {
                return v;
            }
        }
    }
    /// Asserts nothing else is queued for this socket: a ping is answered by the next frame.
    async fn nothing_queued(&mut self) {
        self.send(json!({"type": "ping"})).await;
        let v = self.next().await;
        assert_eq!(v["type"], "pong", "unexpected frame {v}");
    }
}

async fn invite(ws: &mut Ws, conv: &str, video: bool) -> String {
    ws.send(json!({"type": "call.invite", "conversation_id": conv, "video": video}))
        .await;
    let v = ws.call_state("ringing").await;
    assert_eq!(v["conversation_id"], conv, "{v}");
    v["call_id"].as_str().unwrap().to_string()
}

async fn calls_flow(s: &Server, db_file: Option<std::path::PathBuf>) {
    let [avery, _priya, diego, _mei, eve] = seed(s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    let mut d1 = s.ws(&diego, None).await;
    let mut d2 = s.ws(&diego, None).await;
    let mut e = s.ws(&eve, None).await;

    // Avery calls: both of Diego's sessions ring.
    let id = invite(&mut a, &conv, true).await;
    for d in [&mut d1, &mut d2] {
        let r = d.call_frame("call.ring").await;
        assert_eq!(r["call_id"], id.as_str(), "{r}");
        assert_eq!(r["from"], "avery");
        assert_eq!(r["video"], true);
    }
    // A second call in the same conversation is refused while this one rings.
    a.send(json!({"type": "call.invite", "conversation_id": conv}))
        .await;
    let v = a.call_frame("call.error").await;
    assert_eq!(v["code"], "conflict", "{v}");
    assert_eq!(v["call_id"], id.as_str());

    // Eve is no member: she cannot ring, accept, or signal into the call.
    e.send(json!({"type": "call.invite", "conversation_id": conv}))
        .await;
    assert_eq!(e.call_frame("call.error").await["code"], "not_found");
    e.send(json!({"type": "call.accept", "call_id": id})).await;
    assert_eq!(e.call_frame("call.error").await["code"], "not_found");
    e.send(json!({"type": "call.offer", "call_id": id, "to": "avery", "sdp": SDP}))
        .await;
    assert_eq!(e.call_frame("call.error").await["code"], "not_found");

    // Diego answers on his first session: the second stops ringing (answered elsewhere).
    d1.send(json!({"type": "call.accept", "call_id": id})).await;
    let st = d1.call_state("active").await;
    let mine = st["session"].as_str().unwrap().to_string();
    assert!(
        st["parties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user_id"] == "diego" && p["session"] == mine.as_str()),
        "{st}"
    );
    let other = d2.call_state("ended").await;
    assert_eq!(other["reason"], "answered_elsewhere", "{other}");
    let st = a.call_state("active").await;
    assert!(st["answered_at"].as_i64().is_some(), "{st}");

    // Signaling reaches the one session in the call, and nobody else.
    a.send(json!({"type": "call.offer", "call_id": id, "to": "diego", "sdp": SDP}))
        .await;
    let o = d1.call_frame("call.offer").await;
    assert_eq!(o["sdp"], SDP);
    assert_eq!(o["from"], "avery");
    d2.nothing_queued().await;
    e.nothing_queued().await;
    d1.send(json!({"type": "call.answer", "call_id": id, "to": "avery", "sdp": SDP}))
        .await;
    assert_eq!(a.call_frame("call.answer").await["from"], "diego");
    let cand = json!({"candidate": format!("candidate:1 1 udp 2122260223 {CANDIDATE_IP} 54321 typ host"), "sdpMid": "0", "sdpMLineIndex": 0});
    a.send(json!({"type": "call.candidate", "call_id": id, "to": "diego", "candidate": cand}))
        .await;
    assert_eq!(d1.call_frame("call.candidate").await["candidate"], cand);
    // The session that did not answer cannot signal for Diego.
    d2.send(json!({"type": "call.offer", "call_id": id, "to": "avery", "sdp": SDP}))
        .await;
    assert_eq!(d2.call_frame("call.error").await["code"], "not_found");
    // Nor can anyone signal to someone who is not in the call.
    a.send(json!({"type": "call.renegotiate", "call_id": id, "to": "eve"}))
        .await;
    assert_eq!(a.call_frame("call.error").await["code"], "not_found");
    a.send(json!({"type": "call.renegotiate", "call_id": id, "to": "diego"}))
        .await;
    assert_eq!(d1.call_frame("call.renegotiate").await["from"], "avery");
    // Oversized SDP is refused before it goes anywhere.
    let big = "x".repeat(40 * 1024);
    a.send(json!({"type": "call.offer", "call_id": id, "to": "diego", "sdp": big}))
        .await;
    let v = a.call_frame("call.error").await;
    assert_eq!(v["code"], "too_large", "{v}");
    assert_eq!(v["call_id"], id.as_str(), "the refusal names the call: {v}");
    assert_eq!(v["frame"], "call.offer", "and the refused frame: {v}");

    // Heartbeats report the media used; a reconnected socket resumes the same call.
    a.send(json!({"type": "call.heartbeat", "call_id": id, "audio": true, "video": true, "screen": true, "relayed": true}))
        .await;
    drop(d1);
    let mut d3 = s.ws(&diego, None).await;
    d3.send(json!({"type": "call.resume", "call_id": id})).await;
    let st = d3.call_state("active").await;
    let session = st["session"].as_str().unwrap();
    assert!(
        st["parties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["user_id"] == "diego" && p["session"] == session),
        "{st}"
    );
    a.send(json!({"type": "call.offer", "call_id": id, "to": "diego", "sdp": SDP}))
        .await;
    assert_eq!(d3.call_frame("call.offer").await["sdp"], SDP);
    d3.send(json!({"type": "call.heartbeat", "call_id": id, "audio": true}))
        .await;

    // Avery hangs up: completed, for both.
    a.send(json!({"type": "call.hangup", "call_id": id})).await;
    let end = d3.call_state("ended").await;
    assert_eq!(end["reason"], "completed", "{end}");
    assert_eq!(a.call_state("ended").await["reason"], "completed");

    // The call card: metadata only, for both members.
    let (_, evs) = s
        .call(Method::GET, "/v1/events?cursor=0", Some(&diego), None)
        .await;
    let card = evs["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "call.ended")
        .expect("a call.ended event");
    assert_eq!(card["call"]["id"], id.as_str(), "{card}");
    assert_eq!(card["conversation_id"], conv.as_str(), "{card}");
    for tok in [&avery, &diego] {
        let (st, v) = s
            .call(
                Method::GET,
                &format!("/v1/conversations/{conv}/calls"),
                Some(tok),
                None,
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let c = &v["calls"][0];
        assert_eq!(c["id"], id.as_str(), "{v}");
        assert_eq!(c["state"], "ended");
        assert_eq!(c["end_reason"], "completed");
        assert_eq!(c["parties"], json!(["avery", "diego"]));
        assert_eq!(c["video"], true);
        assert_eq!(c["video_used"], true);
        assert_eq!(c["screen_used"], true);
        assert_eq!(c["relayed"], true);
        assert!(c["duration_ms"].as_i64().unwrap() >= 0);
        assert!(v["current"].is_null());
        let text = v.to_string();
        assert!(!text.contains("SDP-MARKER") && !text.contains(CANDIDATE_IP));
    }
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/calls"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // The evidence export lists the call (metadata only) for a member, in JSON and on the page.
    let (st, doc) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/export?format=json"),
            Some(&diego),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{doc}");
    let c = &doc["calls"][0];
    assert_eq!(c["id"], id.as_str(), "{doc}");
    assert_eq!(c["end_reason"], "completed", "{c}");
    assert_eq!(c["caller_id"], "avery", "{c}");
    let text = doc.to_string();
    assert!(!text.contains("SDP-MARKER") && !text.contains(CANDIDATE_IP));
    let (st, page) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{conv}/export?format=html"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let page = page.as_str().unwrap_or_default();
    assert!(
        page.contains("<h2>Calls</h2>") && page.contains(&id),
        "no call on the page"
    );
    parley_server::export::verify_text(page).expect("the page verifies");

    // No SDP, candidate or address in the database (SQLite: the file and its WAL).
    if let Some(db) = db_file {
        for path in [db.clone(), db.with_extension("db-wal")] {
            if let Ok(bytes) = std::fs::read(&path) {
                let text = String::from_utf8_lossy(&bytes);
                assert!(!text.contains("SDP-MARKER"), "{} holds SDP", path.display());
                assert!(
                    !text.contains(CANDIDATE_IP),
                    "{} holds a candidate",
                    path.display()
                );
                assert!(!text.contains("IN IP4"), "{} holds SDP", path.display());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_sqlite() {
    let s = start(None, None, |_| {}).await;
    let db = s._dir.as_ref().map(|d| d.path().join("t.db"));
    calls_flow(&s, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_on_postgres() {
    let Some(url) = postgres_url("calls_on_postgres").await else {
        return;
    };
    let s = start(Some(url), None, |_| {}).await;
    calls_flow(&s, None).await;
}

/// No answer (a short injected timeout) and heartbeat loss (failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_calls_and_lost_heartbeats_end() {
    let s = start(None, None, |c| c.calls.no_answer_secs = 1).await;
    let [avery, _priya, diego, ..] = seed(&s).await;
    let ad = s.conversation(&["avery", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    invite(&mut a, &ad, false).await;
    assert_eq!(a.call_state("ended").await["reason"], "no_answer");

    let s = start(None, None, |c| c.calls.heartbeat_grace_secs = 1).await;
    let [avery, _priya, diego2, ..] = seed(&s).await;
    let _ = diego;
    let ad = s.conversation(&["avery", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    let mut d = s.ws(&diego2, None).await;
    let id = invite(&mut a, &ad, false).await;
    d.call_frame("call.ring").await;
    d.send(json!({"type": "call.accept", "call_id": id})).await;
    let v = a.call_state("ended").await;
    assert_eq!(v["reason"], "failed", "{v}");
}

/// Every other end reason: declined, canceled, busy, ice_failed, completed; and a restricted
/// user can neither call nor answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_end_reason_and_restricted_callers() {
    let s = start(None, None, |_| {}).await;
    let [avery, _priya, diego, mei, eve] = seed(&s).await;
    let ad = s.conversation(&["avery", "diego"]).await;
    let md = s.conversation(&["mei", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    let mut d = s.ws(&diego, None).await;
    let mut m = s.ws(&mei, None).await;

    // Declined.
    let id = invite(&mut a, &ad, false).await;
    d.call_frame("call.ring").await;
    d.send(json!({"type": "call.decline", "call_id": id})).await;
    assert_eq!(a.call_state("ended").await["reason"], "declined");

    // Canceled by the caller while ringing.
    let id = invite(&mut a, &ad, false).await;
    d.call_frame("call.ring").await;
    a.send(json!({"type": "call.hangup", "call_id": id})).await;
    assert_eq!(d.call_state("ended").await["reason"], "canceled");

    // Busy: Diego is in a call with Avery when Mei calls him.
    let id = invite(&mut a, &ad, false).await;
    d.call_frame("call.ring").await;
    d.send(json!({"type": "call.accept", "call_id": id})).await;
    a.call_state("active").await;
    m.send(json!({"type": "call.invite", "conversation_id": md}))
        .await;
    let v = m.call_state("ended").await;
    assert_eq!(v["reason"], "busy", "{v}");
    // ICE failed, reported by a party.
    a.send(json!({"type": "call.hangup", "call_id": id, "reason": "ice_failed"}))
        .await;
    assert_eq!(d.call_state("ended").await["reason"], "ice_failed");

    // Completed.
    let id = invite(&mut a, &ad, false).await;
    d.call_frame("call.ring").await;
    d.send(json!({"type": "call.accept", "call_id": id})).await;
    a.call_state("active").await;
    d.send(json!({"type": "call.hangup", "call_id": id})).await;
    assert_eq!(a.call_state("ended").await["reason"], "completed");

    let (_, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{ad}/calls"),
            Some(&avery),
            None,
        )
        .await;
    let reasons: Vec<&str> = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["end_reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["completed", "ice_failed", "canceled", "declined"],
        "{v}"
    );

    // A restricted user cannot call (three blocked messages restrict Eve).
    let ae = s.conversation(&["avery", "eve"]).await;
    for (i, text) in [
        "Call me at +1 415 555 0101",
        "ok then +1 415 555 0102",
        "last try +1 415 555 0103",
    ]
    .iter()
    .enumerate()
    {
        let (st, v) = s.post(&eve, &ae, text, &format!("e{i}")).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let mut e = s.ws(&eve, None).await;
    e.send(json!({"type": "call.invite", "conversation_id": ae}))
        .await;
    let v = e.call_frame("call.error").await;
    assert_eq!(v["code"], "restricted", "{v}");
    // ... nor answer one.
    let id = invite(&mut a, &ae, false).await;
    e.call_frame("call.ring").await;
    e.send(json!({"type": "call.accept", "call_id": id})).await;
    assert_eq!(e.call_frame("call.error").await["code"], "restricted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_servers_carry_turn_rest_credentials() {
    let secret = "a-turn-secret-of-at-least-32-bytes!!";
    let s = start(None, None, |c| {
        c.calls.turn_secret = Some(secret.into());
        c.calls.turn_urls = vec!["turn:turn.example.org:3478?transport=udp".into()];
    })
    .await;
    let [avery, ..] = seed(&s).await;
    let (st, _) = s.call(Method::GET, "/v1/calls/ice", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) = s
        .call(Method::GET, "/v1/calls/ice", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let turn = &v["ice_servers"][0];
    assert_eq!(
        turn["urls"],
        json!(["turn:turn.example.org:3478?transport=udp"])
    );
    let username = turn["username"].as_str().unwrap();
    let (expiry, user) = username.split_once(':').unwrap();
    assert_eq!(user, "avery");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ttl = v["ttl_secs"].as_i64().unwrap();
    assert!(ttl > 8 * 3600, "longer than the longest call: {v}");
    assert!(
        (expiry.parse::<i64>().unwrap() - now - ttl).abs() <= 5,
        "{v}"
    );
    assert_eq!(
        turn["credential"],
        parley_server::domain::call_ice::turn_password(secret.as_bytes(), username)
    );
    assert_eq!(v["relay"], true);
}

/// Call signaling has its own budget per socket (burst 200, then 50 frames/s), apart from the
/// user's rate limit: frames past it get `call.error` `rate_limited` naming the call, and the
/// user's HTTP requests still pass (with one shared budget the 260 frames would have spent it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_frames_have_their_own_budget_per_socket() {
    let s = start(None, None, |_| {}).await;
    let [avery, _priya, diego, ..] = seed(&s).await;
    let conv = s.conversation(&["avery", "diego"]).await;
    let mut a = s.ws(&avery, None).await;
    let mut d = s.ws(&diego, None).await;
    let id = invite(&mut a, &conv, false).await;
    d.call_frame("call.ring").await;
    let beat = json!({"type": "call.heartbeat", "call_id": id, "audio": true});
    for _ in 0..260 {
        a.send(beat.clone()).await;
    }
    a.send(json!({"type": "ping"})).await;
    let mut limited = 0;
    loop {
        let v = a.next().await;
        match v["type"].as_str() {
            Some("pong") => break,
            Some("call.error") => {
                assert_eq!(v["code"], "rate_limited", "{v}");
                assert_eq!(v["call_id"], id.as_str(), "the refusal names the call: {v}");
                assert_eq!(v["frame"], "call.heartbeat", "{v}");
                limited += 1;
            }
            Some("call.state") => {}
            _ => panic!("unexpected frame {v}"),
        }
    }
    assert!(
        (20..=100).contains(&limited),
        "{limited} of 260 frames refused"
    );
    // The user's own budget was not touched by the call frames.
    let (st, _) = s
        .call(Method::GET, "/v1/conversations", Some(&avery), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    // Another socket of the same user has a full budget of its own.
    let mut a2 = s.ws(&avery, None).await;
    a2.send(json!({"type": "call.heartbeat", "call_id": id}))
        .await;
    let v = a2.call_frame("call.error").await;
    assert_eq!(v["code"], "not_found", "{v}");
    // The budget refills: a second later the socket may signal again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.send(beat).await;
    a.nothing_queued().await;
}
