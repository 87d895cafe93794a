//! Interview scheduling over the API: proposals, accept (409 when taken), busy across roles and
//! conversations, availability and free slots, booking from availability, reschedule and cancel
//! told live, members only; and twenty concurrent bookings of overlapping times for one person
//! (exactly one succeeds), on SQLite and PostgreSQL.

use super::*;
use jiff::{SignedDuration, Timestamp};

/// A whole hour `hours` from now, RFC 3339 UTC.
fn hours_ahead(hours: i64) -> Timestamp {
    let now = Timestamp::now().as_second();
    Timestamp::from_second((now / 3600 + hours) * 3600).unwrap()
}

fn plus(t: Timestamp, minutes: i64) -> Timestamp {
    t + SignedDuration::from_mins(minutes)
}

async fn propose(s: &Server, tok: &str, conv: &str, slots: &[(Timestamp, i64)]) -> Value {
    let slots: Vec<Value> = slots
        .iter()
        .map(|(t, m)| json!({"start": t.to_string(), "minutes": m}))
        .collect();
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/conversations/{conv}/proposals"),
            Some(tok),
            Some(json!({ "slots": slots })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v
}

async fn accept(s: &Server, tok: &str, proposal: &str, start: Timestamp) -> (StatusCode, Value) {
    s.call(
        Method::POST,
        &format!("/v1/proposals/{proposal}/accept"),
        Some(tok),
        Some(json!({"start": start.to_string()})),
    )
    .await
}

async fn scheduling_flow(s: &Server) {
    let [avery, priya, diego, mei, eve] = seed(s).await;
    let c1 = s.conversation(&["avery", "mei"]).await;
    let c2 = s.conversation(&["priya", "mei"]).await;
    let mut ws_avery = s.ws(&avery, None).await;
    let mut ws_mei = s.ws(&mei, None).await;

    // Offer three times; shapes and validation.
    let t = hours_ahead(72);
    let p = propose(
        s,
        &mei,
        &c1,
        &[(t, 30), (plus(t, 60), 45), (plus(t, 120), 30)],
    )
    .await;
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["state"], "open");
    assert_eq!(p["slots"].as_array().unwrap().len(), 3);
    assert_eq!(p["slots"][1]["start"], plus(t, 60).to_string());
    assert_eq!(p["slots"][1]["end"], plus(t, 105).to_string());
    let ev = ws_avery.next_of("proposal.created").await;
    assert_eq!(ev["proposal"]["id"], pid.as_str());
    assert_eq!(ev["conversation_id"], c1.as_str());
    for bad in [
        json!({"slots": []}),
        json!({"slots": [{"start": "yesterday", "minutes": 30}]}),
        json!({"slots": [{"start": t.to_string(), "minutes": 1}]}),
        json!({"slots": [{"start": "2001-01-01T00:00:00Z", "minutes": 30}]}),
    ] {
        let (st, v) = s
            .call(
                Method::POST,
                &format!("/v1/conversations/{c1}/proposals"),
                Some(&mei),
                Some(bad),
            )
            .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    }
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/v1/conversations/{c1}/proposals"),
            Some(&eve),
            Some(json!({"slots": [{"start": t.to_string(), "minutes": 30}]})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "non-members get 404");

    // Only the other member picks; a time not offered is refused.
    let (st, _) = accept(s, &eve, &pid, plus(t, 60)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = accept(s, &mei, &pid, plus(t, 60)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = accept(s, &avery, &pid, plus(t, 61)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, v) = accept(s, &avery, &pid, plus(t, 60)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let booking = v["booking"].clone();
    let bid = booking["id"].as_str().unwrap().to_string();
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booking["start"], plus(t, 60).to_string());
    assert_eq!(booking["end"], plus(t, 105).to_string());
    assert_eq!(booking["host_id"], "mei");
    assert_eq!(booking["guest_id"], "avery");
    assert_eq!(booking["sequence"], 0);
    let ev = ws_mei.next_of("booking.created").await;
    assert_eq!(ev["booking"]["id"], bid.as_str());
    let ev = ws_avery.next_of("booking.created").await;
    assert_eq!(ev["booking"]["id"], bid.as_str());
    // The other times are released: the proposal is closed.
    let (st, v) = accept(s, &avery, &pid, t).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    assert_error(&v, "conflict");

    // Busy across conversations: priya cannot take mei's booked time elsewhere.
    let p2 = propose(s, &mei, &c2, &[(plus(t, 90), 30)]).await;
    let (st, v) = accept(s, &priya, p2["id"].as_str().unwrap(), plus(t, 90)).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // ... nor can anyone book avery then (as client or freelancer alike): avery proposes to
    // mei in c1 a time overlapping their own booking.
    let p3 = propose(s, &avery, &c1, &[(plus(t, 100), 30)]).await;
    let (st, _) = accept(s, &mei, p3["id"].as_str().unwrap(), plus(t, 100)).await;
    assert_eq!(st, StatusCode::CONFLICT);

    // Availability and free slots (UTC), visible to people who share a conversation.
    let (st, v) = s
        .call(Method::GET, "/v1/me/availability", Some(&mei), None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let all_days: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    let (st, v) = s
        .call(
            Method::PUT,
            "/v1/me/availability",
            Some(&mei),
            Some(json!({"time_zone": "Asia/Tokyo", "weekly": all_days, "buffer_minutes": 15})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["window_days"], 60);
    let (st, v) = s
        .call(
            Method::PUT,
            "/v1/me/availability",
            Some(&mei),
            Some(json!({"time_zone": "Mars/Olympus", "weekly": []})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let q = format!(
        "/v1/users/mei/slots?from={}&to={}&minutes=30",
        t,
        plus(t, 240)
    );
    let (st, v) = s.call(Method::GET, &q, Some(&avery), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["time_zone"], "Asia/Tokyo");
    let starts: Vec<String> = v["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["start"].as_str().unwrap().to_string())
        .collect();
    // Tokyo's local hours are whole hours: slots at t, t+30, ...; the booking t+60..t+105
    // with a 15-minute buffer blocks t+30 (ends t+60, +15) to t+105 (+15 → t+120).
    let want: Vec<String> = [0, 120, 150, 180, 210]
        .iter()
        .map(|m| plus(t, *m).to_string())
        .collect();
    assert_eq!(starts, want, "{v}");
    let (st, _) = s.call(Method::GET, &q, Some(&eve), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "no shared conversation: 404");

    // Booking from availability.
    let book = json!({"host_id": "mei", "start": plus(t, 150).to_string(), "minutes": 30});
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/conversations/{c2}/bookings"),
            Some(&priya),
            Some(book.clone()),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/conversations/{c2}/bookings"),
            Some(&priya),
            Some(book),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    // My bookings: both of mei's, in two conversations.
    let (st, v) = s
        .call(Method::GET, "/v1/me/bookings", Some(&mei), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["bookings"].as_array().unwrap().len(), 2, "{v}");

    // Reschedule (either party, with a reason checked like a message), told live.
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{bid}/reschedule"),
            Some(&avery),
            Some(json!({"start": plus(t, 24 * 60).to_string(), "reason": "a clash"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["booking"]["sequence"], 1);
    assert_eq!(v["booking"]["reason"], "a clash");
    assert_eq!(v["booking"]["end"], plus(t, 24 * 60 + 45).to_string());
    let ev = ws_mei.next_of("booking.updated").await;
    assert_eq!(ev["booking"]["start"], plus(t, 24 * 60).to_string());
    assert_eq!(ev["change"], "rescheduled");
    let ev = ws_avery.next_of("booking.updated").await;
    assert_eq!(ev["booking"]["sequence"], 1);
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{bid}/cancel"),
            Some(&eve),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{bid}/cancel"),
            Some(&mei),
            Some(json!({"reason": "the role is filled"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["booking"]["status"], "cancelled");
    assert_eq!(v["booking"]["sequence"], 2);
    let ev = ws_avery.next_of("booking.updated").await;
    assert_eq!(ev["booking"]["status"], "cancelled");
    assert_eq!(ev["booking"]["reason"], "the role is filled");
    let (st, _) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{bid}/cancel"),
            Some(&mei),
            Some(json!({})),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT);
    // The time is free again.
    let p4 = propose(s, &mei, &c2, &[(plus(t, 24 * 60), 30)]).await;
    let (st, v) = accept(s, &priya, p4["id"].as_str().unwrap(), plus(t, 24 * 60)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");

    // A reason is checked like a message: a phone number before a contract is refused.
    let c3 = s.conversation(&["avery", "diego"]).await;
    let p5 = propose(s, &diego, &c3, &[(plus(t, 600), 30)]).await;
    let (st, v) = accept(s, &avery, p5["id"].as_str().unwrap(), plus(t, 600)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let b5 = v["booking"]["id"].as_str().unwrap().to_string();
    let (st, v) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{b5}/cancel"),
            Some(&diego),
            Some(json!({"reason": "My number is +1 415 555 0134, text me"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_error(&v, "policy_violation");

    // The conversation's schedule, members only.
    let (st, v) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c1}/schedule"),
            Some(&avery),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["proposals"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["bookings"].as_array().unwrap().len(), 1, "{v}");
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/v1/conversations/{c1}/schedule"),
            Some(&eve),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

on_both_backends!(
    scheduling_on_sqlite,
    scheduling_on_postgres,
    None,
    scheduling_flow
);

/// Twenty bookings of overlapping times for mei at once (ten through each of two
/// conversations, by two people): exactly one is made, nineteen get 409.
async fn concurrent_bookings(s: &Server) {
    let [avery, priya, _diego, mei, _eve] = seed(s).await;
    let c1 = s.conversation(&["avery", "mei"]).await;
    let c2 = s.conversation(&["priya", "mei"]).await;
    let t = hours_ahead(48);
    let mut picks = Vec::new();
    for k in 0..20i64 {
        let (conv, tok) = if k % 2 == 0 {
            (&c1, &avery)
        } else {
            (&c2, &priya)
        };
        let start = plus(t, 2 * k);
        let p = propose(s, &mei, conv, &[(start, 60)]).await;
        picks.push((tok.clone(), p["id"].as_str().unwrap().to_string(), start));
    }
    let results = futures_util::future::join_all(
        picks
            .iter()
            .map(|(tok, pid, start)| accept(s, tok, pid, *start)),
    )
    .await;
    let created = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|(st, _)| *st == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 19), "{results:?}");
    let (_, v) = s
        .call(Method::GET, "/v1/me/bookings", Some(&mei), None)
        .await;
    assert_eq!(v["bookings"].as_array().unwrap().len(), 1, "{v}");
}

on_both_backends!(
    concurrent_bookings_on_sqlite,
    concurrent_bookings_on_postgres,
    None,
    concurrent_bookings
);
