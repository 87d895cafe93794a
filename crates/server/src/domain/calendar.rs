//! Calendars without email: an `.ics` file per booking (stable UID, SEQUENCE raised on each
//! change, `METHOD:REQUEST`, or `CANCEL` with `STATUS:CANCELLED`, times in UTC, the description
//! links back to the conversation, nobody's contact details), and a private per-user feed
//! (`/cal/TOKEN.ics`: 256 random bits, stored hashed; regenerating revokes the old one).

use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::UserId;
use crate::domain::scheduling::booking_of;
use crate::AppState;
use icalendar::{Calendar, Component, Event, Property};
use jiff::Timestamp;
use parley_store::Booking;
use serde::Serialize;
use utoipa::ToSchema;

/// Most events in a feed.
pub const FEED_MAX: i64 = 500;
/// How long a feed's events are kept after they end (days).
const FEED_PAST_DAYS: i64 = 30;

/// `POST /v1/me/calendar-feed`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Feed {
    /// The feed's path on this server (`/cal/TOKEN.ics`); keep it private.
    pub url: String,
    /// The same for calendar apps: `webcal://HOST/cal/TOKEN.ics` when the server's public
    /// address is known from the request, else null.
    pub webcal: Option<String>,
}

fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_default()
}

fn event(b: &Booking, link: &str) -> Event {
    let cancelled = b.status == "cancelled";
    let mut e = Event::new();
    e.uid(&format!("{}@parley", b.id))
        .add_property("DTSTAMP", utc(b.updated_at))
        .add_property("DTSTART", utc(b.start_at))
        .add_property("DTEND", utc(b.end_at))
        .add_property("SEQUENCE", b.sequence.to_string())
        .add_property("STATUS", if cancelled { "CANCELLED" } else { "CONFIRMED" })
        .summary(if cancelled {
            "Interview (cancelled)"
        } else {
            "Interview"
        })
        .description(&format!(
            "Interview booked on Parley. Open the conversation to join the call: {link}"
        ))
        .add_property("URL", link);
    e.done()
}

/// The conversation's address in the web UI (relative to the server when `base` is empty).
fn link(base: &str, b: &Booking) -> String {
    format!("{base}/#/c/{}", b.conversation_id)
}

/// One booking's calendar file (for one of its participants).
pub async fn ics(s: &AppState, me: &UserId, id: &str, base: &str) -> DomainResult<String> {
    let b = booking_of(s, me, id).await?;
    let method = if b.status == "cancelled" {
        "CANCEL"
    } else {
        "REQUEST"
    };
    let mut cal = Calendar::new();
    cal.append_property(("METHOD", method))
        .push(event(&b, &link(base, &b)));
    Ok(cal.done().to_string())
}

/// A new feed token for me (the previous one stops working at once).
pub async fn regenerate_feed(s: &AppState, me: &UserId, host: Option<&str>) -> DomainResult<Feed> {
    let mut raw = [0u8; 32];
    getrandom::getrandom(&mut raw)
        .map_err(|e| DomainError::Internal(format!("no system randomness: {e}")))?;
    let token = crate::blob::hex(&raw);
    s.store()
        .set_calendar_feed(me.as_str(), &parley_store::token_hash(&token), s.now_ms())
        .await?;
    let url = format!("/cal/{token}.ics");
    Ok(Feed {
        webcal: host.map(|h| format!("webcal://{h}{url}")),
        url,
    })
}

/// The feed of a token (`None`: no such token, or revoked).
pub async fn feed(s: &AppState, token: &str, base: &str) -> DomainResult<Option<String>> {
    if token.len() != 64 || !token.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(user) = s
        .store()
        .calendar_feed_user(&parley_store::token_hash(token))
        .await?
    else {
        return Ok(None);
    };
    let after = s.now_ms() - FEED_PAST_DAYS * 86_400_000;
    let bookings = s
        .store()
        .user_bookings(&user, after, true, FEED_MAX)
        .await?;
    let mut cal = Calendar::new();
    cal.name("Parley interviews")
        .append_property(
            Property::new("REFRESH-INTERVAL", "PT1H")
                .add_parameter("VALUE", "DURATION")
                .done(),
        )
        .append_property(("X-PUBLISHED-TTL", "PT1H"));
    for b in &bookings {
        cal.push(event(b, &link(base, b)));
    }
    Ok(Some(cal.done().to_string()))
}
