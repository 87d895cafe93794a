//! The time-zone table (`tests/data/tz_cases.jsonl`): each case's availability, range and the
//! exact UTC slots expected, with their local times (and the viewer's) and fold labels.

use super::*;
use crate::domain::availability::{Availability, DateOverride, WeeklyHours};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expect {
    start: String,
    local: String,
    fold: Option<String>,
    viewer: Option<String>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    zone: String,
    #[serde(default)]
    weekly: Vec<WeeklyHours>,
    #[serde(default)]
    overrides: Vec<DateOverride>,
    minutes: i64,
    from: String,
    to: String,
    now: Option<String>,
    viewer: Option<String>,
    expect: Vec<Expect>,
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

#[test]
fn time_zone_table() {
    let table = include_str!("../../tests/data/tz_cases.jsonl");
    let mut n = 0;
    for line in table.lines().filter(|l| !l.trim().is_empty()) {
        let c: Case = serde_json::from_str(line).expect("a case");
        let av = Availability {
            time_zone: c.zone.clone(),
            weekly: c.weekly,
            overrides: c.overrides,
            buffer_minutes: 0,
            min_notice_minutes: 0,
            max_per_day: 0,
            window_days: 365,
        };
        let rules = av.rules().expect("valid availability");
        let now = ts(c.now.as_deref().unwrap_or("2026-01-01T00:00:00Z"));
        let got = generate(&rules, &[], ts(&c.from), ts(&c.to), c.minutes, now);
        let starts: Vec<String> = got.iter().map(|s| s.start.to_string()).collect();
        let want: Vec<String> = c.expect.iter().map(|e| e.start.clone()).collect();
        assert_eq!(starts, want, "{}: UTC starts", c.name);
        let viewer = c.viewer.as_deref().map(|v| TimeZone::get(v).expect("zone"));
        for (s, e) in got.iter().zip(&c.expect) {
            assert_eq!(
                s.end,
                s.start + SignedDuration::from_mins(c.minutes),
                "{}",
                c.name
            );
            assert_eq!(local_label(&rules.zone, s.start), e.local, "{}", c.name);
            assert_eq!(s.fold_offset, e.fold, "{}: fold of {}", c.name, e.start);
            if let (Some(v), Some(want)) = (&viewer, &e.viewer) {
                assert_eq!(&local_label(v, s.start), want, "{}: viewer", c.name);
            }
        }
        n += 1;
    }
    assert_eq!(n, 11, "every case of the table ran");
}

fn weekdays(start: &str, end: &str) -> Availability {
    Availability {
        time_zone: "Europe/Berlin".into(),
        weekly: ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| WeeklyHours {
                day: (*d).into(),
                start: start.into(),
                end: end.into(),
            })
            .collect(),
        overrides: vec![],
        buffer_minutes: 0,
        min_notice_minutes: 0,
        max_per_day: 0,
        window_days: 60,
    }
}

#[test]
fn buffers_notice_limit_window_and_overrides() {
    // Monday 2026-06-01, Berlin is UTC+2: 09:00-12:00 local = 07:00-10:00Z.
    let now = ts("2026-05-31T00:00:00Z");
    let (from, to) = (ts("2026-06-01T00:00:00Z"), ts("2026-06-02T00:00:00Z"));
    let mut av = weekdays("09:00", "12:00");
    let plain = generate(&av.rules().unwrap(), &[], from, to, 60, now);
    assert_eq!(plain.len(), 3);
    // A booking 08:00-09:00Z with a 15-minute buffer blocks 07:00 (ends 08:00, +15 > 08:00),
    // 08:00 and 09:00 (starts 09:00, -15 < 09:00).
    av.buffer_minutes = 15;
    let busy = [(ts("2026-06-01T08:00:00Z"), ts("2026-06-01T09:00:00Z"))];
    assert!(generate(&av.rules().unwrap(), &busy, from, to, 60, now).is_empty());
    av.buffer_minutes = 0;
    let left = generate(&av.rules().unwrap(), &busy, from, to, 60, now);
    assert_eq!(left.len(), 2);
    // One a day: the booking uses the day.
    av.max_per_day = 1;
    assert!(generate(&av.rules().unwrap(), &busy, from, to, 60, now).is_empty());
    av.max_per_day = 0;
    // Minimum notice: now 07:30Z with 60 minutes' notice leaves the 09:00Z slot.
    av.min_notice_minutes = 60;
    let late = generate(
        &av.rules().unwrap(),
        &[],
        from,
        to,
        60,
        ts("2026-06-01T07:30:00Z"),
    );
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].start, ts("2026-06-01T09:00:00Z"));
    av.min_notice_minutes = 0;
    // The window: nothing more than window_days ahead.
    av.window_days = 1;
    assert!(generate(
        &av.rules().unwrap(),
        &[],
        from,
        to,
        60,
        ts("2026-05-30T00:00:00Z")
    )
    .is_empty());
    av.window_days = 60;
    // An empty override closes the day.
    av.overrides = vec![DateOverride {
        date: "2026-06-01".into(),
        hours: vec![],
    }];
    assert!(generate(&av.rules().unwrap(), &[], from, to, 60, now).is_empty());
}

#[test]
fn bad_availability_is_refused() {
    for (s, e) in [
        ("10:00", "09:00"),
        ("25:00", "26:00"),
        ("9:00", "10:00"),
        ("09:00", "24:01"),
    ] {
        assert!(weekdays(s, e).rules().is_err(), "{s}-{e}");
    }
    let mut av = weekdays("09:00", "10:00");
    av.time_zone = "Mars/Olympus".into();
    assert!(av.rules().is_err());
    assert!(weekdays("00:00", "24:00").rules().is_ok());
}
