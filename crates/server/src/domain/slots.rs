//! The slot generator (pure: no I/O, no clock): a person's availability (weekly hours in their
//! own time zone, date overrides, buffers, minimum notice, maximum per day, a booking window)
//! and their bookings → the free slots between two instants.
//!
//! Slots are generated on the UTC timeline: for each local date, the hours of that date are
//! turned into two instants (a start inside a daylight-saving gap moves to the first instant
//! after it), and slots are stepped in real minutes between them. No slot therefore starts at a
//! local time that does not exist (no 02:30 on New York's spring-forward day), a day that does
//! not exist in a zone (Pacific/Apia's 2011-12-30) has none, and a local time that happens twice
//! (a fold) gives two distinct slots, each labelled with its UTC offset.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};

/// Longest range of one slot query (days).
pub const MAX_RANGE_DAYS: i64 = 62;

/// Hours of one day, in minutes after local midnight (`end` up to 1440 = midnight after).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hours {
    pub start: u32,
    pub end: u32,
}

/// A person's availability, already validated (see [`parse_hhmm`], [`parse_day`]).
#[derive(Debug, Clone)]
pub struct Rules {
    pub zone: TimeZone,
    /// Hours per weekday (Monday first).
    pub weekly: [Vec<Hours>; 7],
    /// Dates with other hours (empty: not available that day).
    pub overrides: Vec<(Date, Vec<Hours>)>,
    pub buffer_minutes: i64,
    pub min_notice_minutes: i64,
    /// 0: no limit.
    pub max_per_day: u32,
    pub window_days: i64,
}

/// One free slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub start: Timestamp,
    pub end: Timestamp,
    /// The owner's UTC offset (`-04:00`) when the slot's local start time happens twice.
    pub fold_offset: Option<String>,
}

/// `HH:MM` (00:00 to 24:00) → minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (h <= 24 && m < 60 && total <= 1440).then_some(total)
}

/// `HH:MM` of minutes after midnight.
pub fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `mon` ... `sun` → index (Monday 0).
pub fn parse_day(s: &str) -> Option<usize> {
    DAYS.iter().position(|d| *d == s)
}

/// Day names, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(w: Weekday) -> usize {
    usize::try_from(w.to_monday_zero_offset()).unwrap_or(0)
}

/// A local date and minutes after its midnight → the instant (a time inside a gap moves past
/// it; a time inside a fold takes its first occurrence).
fn instant(zone: &TimeZone, date: Date, minutes: u32) -> Option<Timestamp> {
    let dt: DateTime = date
        .at(0, 0, 0, 0)
        .checked_add(SignedDuration::from_mins(i64::from(minutes)))
        .ok()?;
    zone.to_ambiguous_timestamp(dt).compatible().ok()
}

/// The offset label of a slot start when its local time is in a fold.
fn fold_label(zone: &TimeZone, start: Timestamp) -> Option<String> {
    let local = zone.to_datetime(start);
    match zone.to_ambiguous_timestamp(local).offset() {
        AmbiguousOffset::Fold { .. } => Some(offset_label(zone, start)),
        _ => None,
    }
}

/// The zone's UTC offset at an instant, `+05:45` / `-04:00`.
pub fn offset_label(zone: &TimeZone, t: Timestamp) -> String {
    let secs = zone.to_offset(t).seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let m = secs.unsigned_abs() / 60;
    format!("{sign}{:02}:{:02}", m / 60, m % 60)
}

/// `YYYY-MM-DDTHH:MM` of an instant in a zone.
pub fn local_label(zone: &TimeZone, t: Timestamp) -> String {
    zone.to_datetime(t).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// The local date of an instant in the zone.
pub fn local_date(zone: &TimeZone, t: Timestamp) -> Date {
    zone.to_datetime(t).date()
}

impl Rules {
    fn hours_of(&self, date: Date) -> &[Hours] {
        if let Some((_, h)) = self.overrides.iter().find(|(d, _)| *d == date) {
            return h;
        }
        &self.weekly[day_index(date.weekday())]
    }
}

/// The free slots of `minutes` that start at or after `from` and end at or before `to`, given
/// the owner's bookings (`busy`, as instants). `now` applies the minimum notice and the window.
pub fn generate(
    rules: &Rules,
    busy: &[(Timestamp, Timestamp)],
    from: Timestamp,
    to: Timestamp,
    minutes: i64,
    now: Timestamp,
) -> Vec<Slot> {
    let mut out = Vec::new();
    if minutes <= 0 || to <= from {
        return out;
    }
    let len = SignedDuration::from_mins(minutes);
    let buffer = SignedDuration::from_mins(rules.buffer_minutes.max(0));
    let earliest = now
        .checked_add(SignedDuration::from_mins(rules.min_notice_minutes.max(0)))
        .unwrap_or(now)
        .max(from);
    let latest = now
        .checked_add(SignedDuration::from_hours(rules.window_days.max(0) * 24))
        .unwrap_or(now)
        .min(to);
    if latest <= earliest {
        return out;
    }
    let zone = &rules.zone;
    let (Ok(first), Ok(last)) = (
        local_date(zone, earliest).yesterday(),
        local_date(zone, latest).tomorrow(),
    ) else {
        return out;
    };
    let mut date = first;
    while date <= last {
        day_slots(rules, busy, date, len, buffer, (earliest, latest), &mut out);
        match date.tomorrow() {
            Ok(d) => date = d,
            Err(_) => break,
        }
    }
    out.sort_by_key(|s| s.start);
    out.dedup_by_key(|s| s.start);
    out
}

fn day_slots(
    rules: &Rules,
    busy: &[(Timestamp, Timestamp)],
    date: Date,
    len: SignedDuration,
    buffer: SignedDuration,
    (earliest, latest): (Timestamp, Timestamp),
    out: &mut Vec<Slot>,
) {
    let zone = &rules.zone;
    if rules.max_per_day > 0 {
        // The limit counts bookings; offered slots are alternatives, not bookings.
        let booked = busy
            .iter()
            .filter(|(s, _)| local_date(zone, *s) == date)
            .count();
        if booked >= usize::try_from(rules.max_per_day).unwrap_or(usize::MAX) {
            return;
        }
    }
    for h in rules.hours_of(date) {
        let (Some(open), Some(close)) = (instant(zone, date, h.start), instant(zone, date, h.end))
        else {
            continue;
        };
        let mut start = open;
        while let Ok(end) = start.checked_add(len) {
            if end > close {
                break;
            }
            // A date the zone skipped (its hours land on the next date) has no slots.
            let on_date = local_date(zone, start) == date;
            let free = !busy.iter().any(|(bs, be)| {
                let (Ok(a), Ok(b)) = (start.checked_sub(buffer), end.checked_add(buffer)) else {
                    return true;
                };
                *bs < b && a < *be
            });
            if on_date && free && start >= earliest && end <= latest {
                out.push(Slot {
                    start,
                    end,
                    fold_offset: fold_label(zone, start),
                });
            }
            start = end;
        }
    }
}

#[cfg(test)]
#[path = "slots_tests.rs"]
mod tests;
