//! Interview scheduling inside conversations: offering times (proposals), sharing availability
//! (free slots from weekly hours, see [`crate::domain::slots`]), booking, rescheduling and
//! cancelling. Busy means busy across roles: a person's bookings in every conversation hold
//! their time, and the store refuses two overlapping holds for one person (409).

use crate::domain::availability::Availability;
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::slots::{self, MAX_RANGE_DAYS};
use crate::AppState;
use jiff::{SignedDuration, Timestamp};
use parley_policy::Action;
use parley_store::{Booking, NewBooking, StoreError, TimeProposal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Most slots in one proposal.
pub const MAX_SLOTS: usize = 10;
/// Shortest and longest interview (minutes).
pub const MIN_MINUTES: u32 = 5;
pub const MAX_MINUTES: u32 = 480;
/// Longest reason (bytes).
pub const MAX_REASON: usize = 500;

const MINUTE_MS: i64 = 60_000;

/// One offered time.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotInput {
    /// RFC 3339 (any offset).
    pub start: String,
    /// 5 to 480.
    pub minutes: u32,
}

/// `POST /v1/conversations/{id}/proposals`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeBody {
    /// One to ten times, in the future.
    pub slots: Vec<SlotInput>,
}

/// An offered time (UTC).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SlotView {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    pub minutes: i64,
}

/// Times offered in a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = TimeProposal)]
pub struct ProposalView {
    pub id: String,
    pub conversation_id: String,
    pub author_id: String,
    /// open, booked, withdrawn.
    pub state: String,
    pub booking_id: Option<String>,
    pub slots: Vec<SlotView>,
    pub created_at: String,
}

/// A booked interview (times RFC 3339, UTC).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = Booking)]
pub struct BookingView {
    pub id: String,
    pub conversation_id: String,
    pub proposal_id: Option<String>,
    /// Who offered the time.
    pub host_id: String,
    /// Who picked it.
    pub guest_id: String,
    pub start: String,
    pub end: String,
    pub minutes: i64,
    /// confirmed or cancelled.
    pub status: String,
    /// Raised on each reschedule and on cancellation (the calendar entry's SEQUENCE).
    pub sequence: i64,
    /// The reason of the last reschedule or of the cancellation.
    pub reason: Option<String>,
    /// Who made the last change.
    pub changed_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `POST /v1/proposals/{id}/accept`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The start of one of the proposal's slots (RFC 3339).
    pub start: String,
}

/// A booking made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Booked {
    pub booking: BookingView,
}

/// `POST /v1/conversations/{id}/bookings`: a free slot of the other member's availability.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookBody {
    /// Whose availability (another member of the conversation).
    pub host_id: UserId,
    pub start: String,
    pub minutes: u32,
}

/// `POST /v1/bookings/{id}/reschedule`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleBody {
    pub start: String,
    /// Shown to the other person (checked like a message).
    pub reason: Option<String>,
}

/// `POST /v1/bookings/{id}/cancel`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: Option<String>,
}

/// `GET /v1/users/{id}/slots` parameters.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SlotsParams {
    /// RFC 3339 (default: now).
    pub from: Option<String>,
    /// RFC 3339 (default: 14 days after `from`; at most 62 days after it).
    pub to: Option<String>,
    /// Length of the interview (default 30).
    pub minutes: Option<u32>,
}

/// A free slot.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FreeSlot {
    /// RFC 3339, UTC.
    pub start: String,
    pub end: String,
    /// The owner's UTC offset (`-04:00`) when the slot's local time happens twice that day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold_offset: Option<String>,
}

/// `GET /v1/users/{id}/slots`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FreeSlots {
    /// The owner's time zone (null: no availability shared).
    pub time_zone: Option<String>,
    pub slots: Vec<FreeSlot>,
}

/// Bookings (`GET /v1/me/bookings`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bookings {
    pub bookings: Vec<BookingView>,
}

/// A conversation's proposals and bookings, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Schedule {
    pub proposals: Vec<ProposalView>,
    pub bookings: Vec<BookingView>,
}

/// `GET /v1/me/bookings` parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyBookingsParams {
    /// Also cancelled bookings (default false).
    pub cancelled: Option<bool>,
    /// Also bookings that ended before now (default false).
    pub past: Option<bool>,
}

fn internal(e: serde_json::Error) -> DomainError {
    DomainError::Internal(format!("booking view: {e}"))
}

pub fn booking_view(b: &Booking) -> DomainResult<BookingView> {
    serde_json::from_value(b.view()).map_err(internal)
}

pub fn proposal_view(p: &TimeProposal) -> DomainResult<ProposalView> {
    serde_json::from_value(p.view()).map_err(internal)
}

/// An RFC 3339 time → Unix ms (whole minutes only).
fn instant(field: &str, s: &str) -> DomainResult<Timestamp> {
    let t: Timestamp = s
        .parse()
        .map_err(|_| DomainError::invalid(format!("{field} must be an RFC 3339 time")))?;
    if t.as_millisecond() % MINUTE_MS != 0 {
        return Err(DomainError::invalid(format!(
            "{field} must be a whole minute"
        )));
    }
    Ok(t)
}

fn minutes(m: u32) -> DomainResult<i64> {
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&m) {
        return Err(DomainError::invalid(format!(
            "minutes is {MIN_MINUTES} to {MAX_MINUTES}"
        )));
    }
    Ok(i64::from(m))
}

/// A conflict of the store as the API's 409.
fn conflict(e: StoreError) -> DomainError {
    match e {
        StoreError::Conflict(m) => DomainError::Conflict {
            code: "conflict",
            message: m,
        },
        e => DomainError::Store(e),
    }
}

/// A reason is shown to the other person: it is checked like a message in the conversation
/// (refused when the policy would not deliver it as written).
async fn check_reason(
    s: &AppState,
    conversation: &str,
    me: &UserId,
    reason: Option<&str>,
) -> DomainResult<Option<String>> {
    let Some(r) = reason.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if r.len() > MAX_REASON {
        return Err(DomainError::too_large("reason", MAX_REASON));
    }
    let checked = s.decide_message(conversation, me.as_str(), r, None).await?;
    match checked.action() {
        Action::Allow | Action::AllowWithNotice => Ok(Some(r.to_string())),
        _ => Err(checked.violation_error()),
    }
}

fn notify(s: &AppState, b: &Booking) {
    s.notify(b.participants());
}

async fn notify_members(s: &AppState, conversation: &str) -> DomainResult<()> {
    let members = s.store().conversation_members(conversation).await?;
    s.notify(members.into_iter().map(|m| m.user_id));
    Ok(())
}

/// Offers one to ten times in a conversation.
pub async fn propose(
    s: &AppState,
    me: &UserId,
    conversation: &ConversationId,
    body: ProposeBody,
) -> DomainResult<ProposalView> {
    if body.slots.is_empty() || body.slots.len() > MAX_SLOTS {
        return Err(DomainError::invalid(format!(
            "offer 1 to {MAX_SLOTS} slots"
        )));
    }
    let now = s.now_ms();
    let mut slots = Vec::with_capacity(body.slots.len());
    for x in &body.slots {
        let start = instant("start", &x.start)?.as_millisecond();
        let len = minutes(x.minutes)?;
        if start <= now {
            return Err(DomainError::invalid("slots must be in the future"));
        }
        slots.push((start, start + len * MINUTE_MS));
    }
    slots.sort();
    if slots.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(DomainError::invalid("two slots start at the same time"));
    }
    let p = s
        .store()
        .create_time_proposal(conversation.as_str(), me.as_str(), &slots, now)
        .await?;
    notify_members(s, conversation.as_str()).await?;
    proposal_view(&p)
}

/// The other member picks one of the proposal's times (409 when it is no longer free).
pub async fn accept(
    s: &AppState,
    me: &UserId,
    proposal: &str,
    body: AcceptBody,
) -> DomainResult<Booked> {
    let start = instant("start", &body.start)?.as_millisecond();
    let now = s.now_ms();
    if start <= now {
        return Err(DomainError::invalid("that time has passed"));
    }
    let b = s
        .store()
        .accept_time_proposal(proposal, me.as_str(), start, now)
        .await
        .map_err(conflict)?;
    notify_members(s, &b.conversation_id).await?;
    Ok(Booked {
        booking: booking_view(&b)?,
    })
}

/// Sets my availability (answered in its canonical form).
pub async fn put_availability(
    s: &AppState,
    me: &UserId,
    body: Availability,
) -> DomainResult<Availability> {
    let a = body.normalized()?;
    let data = serde_json::to_string(&a).map_err(internal)?;
    s.store()
        .put_availability(me.as_str(), &data, s.now_ms())
        .await?;
    Ok(a)
}

/// A user's availability, if they shared one.
pub async fn availability_of(s: &AppState, user: &str) -> DomainResult<Option<Availability>> {
    let Some(data) = s.store().get_availability(user).await? else {
        return Ok(None);
    };
    serde_json::from_str(&data)
        .map(Some)
        .map_err(|e| DomainError::Internal(format!("stored availability: {e}")))
}

/// My availability (404 when I have not shared one).
pub async fn my_availability(s: &AppState, me: &UserId) -> DomainResult<Availability> {
    availability_of(s, me.as_str())
        .await?
        .ok_or_else(|| DomainError::not_found("availability"))
}

/// Whether `me` may see `user`'s free slots: themselves, or someone sharing a conversation.
async fn may_see(s: &AppState, me: &UserId, user: &UserId) -> DomainResult<bool> {
    Ok(me == user
        || s.store()
            .share_conversation(me.as_str(), user.as_str())
            .await?)
}

/// The free slots of `user` between `from` and `to`, of `minutes` each (times UTC).
pub async fn free_slots(
    s: &AppState,
    me: &UserId,
    user: &UserId,
    q: SlotsParams,
) -> DomainResult<FreeSlots> {
    if !may_see(s, me, user).await? {
        return Err(DomainError::not_found("user"));
    }
    let now = Timestamp::from_millisecond(s.now_ms())
        .map_err(|_| DomainError::Internal("clock out of range".into()))?;
    let from = match &q.from {
        Some(f) => f
            .parse::<Timestamp>()
            .map_err(|_| DomainError::invalid("from must be an RFC 3339 time"))?,
        None => now,
    };
    let to = match &q.to {
        Some(t) => t
            .parse::<Timestamp>()
            .map_err(|_| DomainError::invalid("to must be an RFC 3339 time"))?,
        None => from + SignedDuration::from_hours(14 * 24),
    };
    if to <= from || to.duration_since(from) > SignedDuration::from_hours(MAX_RANGE_DAYS * 24) {
        return Err(DomainError::invalid(format!(
            "to must be after from, at most {MAX_RANGE_DAYS} days"
        )));
    }
    let len = minutes(q.minutes.unwrap_or(30))?;
    let Some(av) = availability_of(s, user.as_str()).await? else {
        return Ok(FreeSlots {
            time_zone: None,
            slots: Vec::new(),
        });
    };
    let found = generate_for(s, user.as_str(), &av, from, to, len, now).await?;
    Ok(FreeSlots {
        time_zone: Some(av.time_zone),
        slots: found
            .into_iter()
            .map(|x| FreeSlot {
                start: x.start.to_string(),
                end: x.end.to_string(),
                fold_offset: x.fold_offset,
            })
            .collect(),
    })
}

async fn generate_for(
    s: &AppState,
    user: &str,
    av: &Availability,
    from: Timestamp,
    to: Timestamp,
    len: i64,
    now: Timestamp,
) -> DomainResult<Vec<slots::Slot>> {
    let rules = av.rules()?;
    // Bookings a day around the range: buffers and the per-day limit look beyond it.
    let day = 86_400_000;
    let busy = s
        .store()
        .busy(
            user,
            from.as_millisecond() - 2 * day,
            to.as_millisecond() + 2 * day,
        )
        .await?;
    let busy: Vec<(Timestamp, Timestamp)> = busy
        .into_iter()
        .filter_map(|(a, b)| {
            Some((
                Timestamp::from_millisecond(a).ok()?,
                Timestamp::from_millisecond(b).ok()?,
            ))
        })
        .collect();
    Ok(slots::generate(&rules, &busy, from, to, len, now))
}

/// Books a free slot of another member's availability (409 when no longer free).
pub async fn book(
    s: &AppState,
    me: &UserId,
    conversation: &ConversationId,
    body: BookBody,
) -> DomainResult<Booked> {
    if !s
        .store()
        .is_member(conversation.as_str(), me.as_str())
        .await?
    {
        return Err(DomainError::not_found("conversation"));
    }
    if !s
        .store()
        .is_member(conversation.as_str(), body.host_id.as_str())
        .await?
        || body.host_id == *me
    {
        return Err(DomainError::invalid(
            "host_id must be another member of the conversation",
        ));
    }
    let start = instant("start", &body.start)?;
    let len = minutes(body.minutes)?;
    let end = start + SignedDuration::from_mins(len);
    let now = Timestamp::from_millisecond(s.now_ms())
        .map_err(|_| DomainError::Internal("clock out of range".into()))?;
    let Some(av) = availability_of(s, body.host_id.as_str()).await? else {
        return Err(DomainError::invalid(
            "that person has not shared availability",
        ));
    };
    let offered = generate_for(s, body.host_id.as_str(), &av, start, end, len, now).await?;
    if !offered.iter().any(|x| x.start == start) {
        return Err(DomainError::Conflict {
            code: "conflict",
            message: parley_store::BOOKING_OVERLAP.into(),
        });
    }
    let b = s
        .store()
        .create_booking(
            &NewBooking {
                conversation_id: conversation.as_str().into(),
                host_id: body.host_id.as_str().into(),
                guest_id: me.as_str().into(),
                start_at: start.as_millisecond(),
                end_at: end.as_millisecond(),
            },
            now.as_millisecond(),
        )
        .await
        .map_err(conflict)?;
    notify(s, &b);
    Ok(Booked {
        booking: booking_view(&b)?,
    })
}

/// A booking one of its participants may see (404 for anyone else).
pub async fn booking_of(s: &AppState, me: &UserId, id: &str) -> DomainResult<Booking> {
    let b = s.store().get_booking(id).await?;
    if !b.involves(me.as_str()) {
        return Err(DomainError::not_found("booking"));
    }
    Ok(b)
}

/// Moves a booking (either participant); its length stays.
pub async fn reschedule(
    s: &AppState,
    me: &UserId,
    id: &str,
    body: RescheduleBody,
) -> DomainResult<Booked> {
    let b = booking_of(s, me, id).await?;
    let start = instant("start", &body.start)?.as_millisecond();
    let now = s.now_ms();
    if start <= now {
        return Err(DomainError::invalid("the new time must be in the future"));
    }
    let reason = check_reason(s, &b.conversation_id, me, body.reason.as_deref()).await?;
    let b = s
        .store()
        .reschedule_booking(
            id,
            me.as_str(),
            start,
            start + (b.end_at - b.start_at),
            reason.as_deref(),
            now,
        )
        .await
        .map_err(conflict)?;
    notify(s, &b);
    Ok(Booked {
        booking: booking_view(&b)?,
    })
}

/// Cancels a booking (either participant).
pub async fn cancel(s: &AppState, me: &UserId, id: &str, body: CancelBody) -> DomainResult<Booked> {
    let b = booking_of(s, me, id).await?;
    let reason = check_reason(s, &b.conversation_id, me, body.reason.as_deref()).await?;
    let b = s
        .store()
        .cancel_booking(id, me.as_str(), reason.as_deref(), s.now_ms())
        .await
        .map_err(conflict)?;
    notify(s, &b);
    Ok(Booked {
        booking: booking_view(&b)?,
    })
}

/// My bookings in every conversation (as host and as guest), earliest first.
pub async fn my_bookings(s: &AppState, me: &UserId, q: MyBookingsParams) -> DomainResult<Bookings> {
    let after = if q.past.unwrap_or(false) {
        i64::MIN
    } else {
        s.now_ms()
    };
    let list = s
        .store()
        .user_bookings(me.as_str(), after, q.cancelled.unwrap_or(false), 500)
        .await?;
    Ok(Bookings {
        bookings: list.iter().map(booking_view).collect::<DomainResult<_>>()?,
    })
}

/// A conversation's proposals and bookings (members only).
pub async fn schedule(
    s: &AppState,
    me: &UserId,
    conversation: &ConversationId,
) -> DomainResult<Schedule> {
    if !s
        .store()
        .is_member(conversation.as_str(), me.as_str())
        .await?
    {
        return Err(DomainError::not_found("conversation"));
    }
    let (proposals, bookings) = s
        .store()
        .conversation_schedule(conversation.as_str())
        .await?;
    Ok(Schedule {
        proposals: proposals
            .iter()
            .map(proposal_view)
            .collect::<DomainResult<_>>()?,
        bookings: bookings
            .iter()
            .map(booking_view)
            .collect::<DomainResult<_>>()?,
    })
}
