//! Reminders (24 hours and 10 minutes before) fired by an injected clock: exactly once across
//! a server restart, never for a cancelled booking or a time a booking was moved from; and the
//! calendar files: `.ics` per booking parsed back (UID stable, SEQUENCE raised, REQUEST and
//! CANCEL), the private feed (revoked by regeneration).

use super::scheduling::{accept, hours_ahead, plus, propose};
use super::*;
use parley_server::domain::reminders::fire_due;

/// A server on `url` whose state the test keeps (to drive the reminders' clock).
async fn serve(url: String) -> (Server, AppState) {
    let mut config = Config {
        database: url,
        admin_key: Some(ADMIN.into()),
        ..Config::default()
    };
    let files = std::env::temp_dir().join(format!("parley-test-files-{}", unique()));
    config.files.storage = files.display().to_string();
    let state = AppState::new(config).await.expect("server state");
    let s = crate::serve(state.clone(), None).await;
    (s, state)
}

fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

async fn fired(st: &AppState, at: jiff::Timestamp) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = fire_due(st, ms(at))
        .await
        .expect("reminders")
        .into_iter()
        .map(|f| (f.booking.id, f.kind))
        .collect();
    v.sort();
    v
}

async fn book(s: &Server, host: &str, guest: &str, conv: &str, start: jiff::Timestamp) -> String {
    let p = propose(s, host, conv, &[(start, 30)]).await;
    let (st, v) = accept(s, guest, p["id"].as_str().unwrap(), start).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["booking"]["id"].as_str().unwrap().to_string()
}

async fn get_text(s: &Server, path: &str, tok: Option<&str>) -> (StatusCode, String, String) {
    let mut req = s.http.get(format!("{}{path}", s.base));
    if let Some(t) = tok {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    let st = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (st, ct, r.text().await.unwrap())
}

/// Properties as `(name, value)`.
type Props = Vec<(String, String)>;

/// The VEVENTs of a calendar text, each as its properties, and the calendar's own.
fn parse(text: &str) -> (Props, Vec<Props>) {
    let unfolded = icalendar::parser::unfold(text);
    let cal = icalendar::parser::read_calendar(&unfolded).expect("an iCalendar file");
    let props = |ps: &[icalendar::parser::Property]| {
        ps.iter()
            .map(|p| (p.name.to_string(), p.val.to_string()))
            .collect::<Vec<_>>()
    };
    let events = cal
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .map(|c| props(&c.properties))
        .collect();
    (props(&cal.properties), events)
}

fn prop<'a>(ps: &'a [(String, String)], name: &str) -> Option<&'a str> {
    ps.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn reminders_and_calendars(url: String) {
    let (s, st) = serve(url.clone()).await;
    let [avery, _priya, _diego, mei, eve] = seed(&s).await;
    let c = s.conversation(&["avery", "mei"]).await;
    let t = hours_ahead(72);
    let b1 = book(&s, &mei, &avery, &c, t).await;
    let b2 = book(&s, &mei, &avery, &c, plus(t, 180)).await;
    let b3 = book(&s, &mei, &avery, &c, plus(t, 360)).await;
    let (code, v) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{b2}/cancel"),
            Some(&avery),
            Some(json!({})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let (code, v) = s
        .call(
            Method::POST,
            &format!("/v1/bookings/{b3}/reschedule"),
            Some(&mei),
            Some(json!({"start": plus(t, 30 * 60).to_string()})),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");

    // 24 hours before b1: its reminder, once.
    let day_before = plus(t, -24 * 60);
    assert_eq!(
        fired(&st, day_before).await,
        vec![(b1.clone(), "24h".into())]
    );
    assert!(fired(&st, day_before).await.is_empty());

    // A restart: a new server on the same database sends nothing twice.
    drop(s);
    drop(st);
    let (s, st) = serve(url).await;
    assert!(fired(&st, day_before).await.is_empty());
    // Seven hours after b1's start: b1's 10-minute reminder, and b3's 24-hour one at its new
    // time; nothing of the cancelled b2 nor of b3's old time.
    let mut want = vec![
        (b1.clone(), "10m".to_string()),
        (b3.clone(), "24h".to_string()),
    ];
    want.sort();
    assert_eq!(fired(&st, plus(t, 7 * 60)).await, want);
    assert_eq!(
        fired(&st, plus(t, 40 * 60)).await,
        vec![(b3.clone(), "10m".into())]
    );
    assert!(fired(&st, plus(t, 90 * 60)).await.is_empty());

    // Delivered as events to both: four reminders each, none for b2.
    for tok in [&avery, &mei] {
        let (_, v) = s
            .call(Method::GET, "/v1/events?limit=500", Some(tok), None)
            .await;
        let reminders: Vec<(String, String)> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "booking.reminder")
            .map(|e| {
                (
                    e["booking"]["id"].as_str().unwrap().to_string(),
                    e["reminder"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(reminders.len(), 4, "{reminders:?}");
        assert!(reminders.iter().all(|(b, _)| *b != b2));
    }

    // The .ics of a booking: METHOD REQUEST, stable UID, SEQUENCE, UTC times, no contacts.
    let (code, ct, text) = get_text(&s, &format!("/v1/bookings/{b1}/ics"), Some(&avery)).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let (cal, events) = parse(&text);
    assert_eq!(prop(&cal, "METHOD"), Some("REQUEST"));
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(prop(e, "UID"), Some(format!("{b1}@parley").as_str()));
    assert_eq!(prop(e, "SEQUENCE"), Some("0"));
    assert_eq!(prop(e, "STATUS"), Some("CONFIRMED"));
    assert_eq!(
        prop(e, "DTSTART"),
        Some(t.strftime("%Y%m%dT%H%M%SZ").to_string().as_str())
    );
    assert!(prop(e, "DESCRIPTION")
        .unwrap()
        .contains(&format!("/#/c/{c}")));
    for no in ["ATTENDEE", "ORGANIZER", "mailto", "avery", "mei"] {
        assert!(!text.contains(no), "{no} in {text}");
    }
    let (code, _, _) = get_text(&s, &format!("/v1/bookings/{b1}/ics"), Some(&eve)).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    // Rescheduled: same UID, SEQUENCE 1, the new time.
    let (_, _, text) = get_text(&s, &format!("/v1/bookings/{b3}/ics"), Some(&mei)).await;
    let (_, events) = parse(&text);
    assert_eq!(
        prop(&events[0], "UID"),
        Some(format!("{b3}@parley").as_str())
    );
    assert_eq!(prop(&events[0], "SEQUENCE"), Some("1"));
    assert_eq!(
        prop(&events[0], "DTSTART"),
        Some(
            plus(t, 30 * 60)
                .strftime("%Y%m%dT%H%M%SZ")
                .to_string()
                .as_str()
        )
    );
    // Cancelled: METHOD CANCEL, STATUS CANCELLED, SEQUENCE raised.
    let (_, _, text) = get_text(&s, &format!("/v1/bookings/{b2}/ics"), Some(&mei)).await;
    let (cal, events) = parse(&text);
    assert_eq!(prop(&cal, "METHOD"), Some("CANCEL"));
    assert_eq!(prop(&events[0], "STATUS"), Some("CANCELLED"));
    assert_eq!(prop(&events[0], "SEQUENCE"), Some("1"));

    // The private feed: a 256-bit token, the three bookings, refreshed hourly.
    let (code, v) = s
        .call(Method::POST, "/v1/me/calendar-feed", Some(&avery), None)
        .await;
    assert_eq!(code, StatusCode::CREATED, "{v}");
    let url1 = v["url"].as_str().unwrap().to_string();
    assert!(
        v["webcal"].as_str().unwrap().starts_with("webcal://"),
        "{v}"
    );
    let token = url1
        .strip_prefix("/cal/")
        .and_then(|u| u.strip_suffix(".ics"))
        .unwrap();
    assert_eq!(token.len(), 64);
    let (code, ct, text) = get_text(&s, &url1, None).await;
    assert_eq!(code, StatusCode::OK, "{text}");
    assert!(ct.starts_with("text/calendar"));
    let (cal, events) = parse(&text);
    assert_eq!(events.len(), 3);
    assert_eq!(prop(&cal, "REFRESH-INTERVAL"), Some("PT1H"));
    assert_eq!(prop(&cal, "X-PUBLISHED-TTL"), Some("PT1H"));
    // Regenerate: the old URL is 404 at once, the new one works.
    let (_, v) = s
        .call(Method::POST, "/v1/me/calendar-feed", Some(&avery), None)
        .await;
    let url2 = v["url"].as_str().unwrap().to_string();
    assert_ne!(url1, url2);
    let (code, _, _) = get_text(&s, &url1, None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _, _) = get_text(&s, &url2, None).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _, _) = get_text(&s, "/cal/nothing.ics", None).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_and_calendars_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    reminders_and_calendars(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_and_calendars_on_postgres() {
    let Some(url) = postgres_url("reminders_and_calendars_on_postgres").await else {
        return;
    };
    reminders_and_calendars(url).await;
}
