//! Interview scheduling: availability (as the server's JSON), proposals of times, bookings and
//! the time each booking holds for each participant. Two overlapping holds for one person are
//! impossible: an exclusion constraint on PostgreSQL, a trigger checked inside the single
//! writer's transaction on SQLite (both abort the write with [`BOOKING_OVERLAP`]).

use serde_json::{json, Value};

use crate::error::{Result, StoreError};
use crate::model::Millis;
use crate::sql::{random_hex, BeginWrite, Get};
use crate::{Backend, Store};

/// The conflict message of a booking whose time is taken (for one of its participants).
pub const BOOKING_OVERLAP: &str = "that time is no longer free";
/// The conflict message of a proposal already booked or withdrawn.
pub const PROPOSAL_CLOSED: &str = "this proposal is no longer open";

/// Reminder offsets before a booking's start: (kind, minutes).
pub const REMINDERS: [(&str, i64); 2] = [("24h", 24 * 60), ("10m", 10)];

/// `YYYY-MM-DDTHH:MM:SSZ` of Unix milliseconds.
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        crate::utc_day(ms),
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Times offered in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeProposal {
    pub id: String,
    pub conversation_id: String,
    pub author_id: String,
    /// `open`, `booked`, `withdrawn`.
    pub state: String,
    pub booking_id: Option<String>,
    /// `(start, end)`, earliest first.
    pub slots: Vec<(Millis, Millis)>,
    pub created_at: Millis,
}

impl TimeProposal {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "conversation_id": self.conversation_id,
            "author_id": self.author_id,
            "state": self.state,
            "booking_id": self.booking_id,
            "slots": self.slots.iter().map(|(s, e)| json!({
                "start": rfc3339(*s), "end": rfc3339(*e), "minutes": (e - s) / 60_000,
            })).collect::<Vec<_>>(),
            "created_at": rfc3339(self.created_at),
        })
    }
}

/// A booked interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: String,
    pub conversation_id: String,
    pub proposal_id: Option<String>,
    /// Who offered the time (the proposal's author, or whose availability it was).
    pub host_id: String,
    /// Who picked it.
    pub guest_id: String,
    pub start_at: Millis,
    pub end_at: Millis,
    /// `confirmed` or `cancelled`.
    pub status: String,
    /// Raised on each reschedule and on cancellation (the calendar's SEQUENCE).
    pub sequence: i64,
    pub reason: Option<String>,
    pub changed_by: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Booking {
    pub fn participants(&self) -> [String; 2] {
        [self.host_id.clone(), self.guest_id.clone()]
    }
    pub fn involves(&self, user: &str) -> bool {
        self.host_id == user || self.guest_id == user
    }
    /// The booking as the API and its events show it.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "conversation_id": self.conversation_id,
            "proposal_id": self.proposal_id,
            "host_id": self.host_id,
            "guest_id": self.guest_id,
            "start": rfc3339(self.start_at),
            "end": rfc3339(self.end_at),
            "minutes": (self.end_at - self.start_at) / 60_000,
            "status": self.status,
            "sequence": self.sequence,
            "reason": self.reason,
            "changed_by": self.changed_by,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        })
    }
}

/// A booking to make: from a proposal (`proposal_id`, its author the host) or from the host's
/// availability.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub conversation_id: String,
    pub host_id: String,
    pub guest_id: String,
    pub start_at: Millis,
    pub end_at: Millis,
}

macro_rules! booking_cols {
    () => {
        "id, conversation_id, proposal_id, host_id, guest_id, start_at, end_at, status, sequence, \
         reason, changed_by, created_at, updated_at"
    };
}

pub(crate) fn booking_of(r: &impl Get) -> Result<Booking> {
    Ok(Booking {
        id: r.s("id")?,
        conversation_id: r.s("conversation_id")?,
        proposal_id: r.os("proposal_id")?,
        host_id: r.s("host_id")?,
        guest_id: r.s("guest_id")?,
        start_at: r.i("start_at")?,
        end_at: r.i("end_at")?,
        status: r.s("status")?,
        sequence: r.i("sequence")?,
        reason: r.os("reason")?,
        changed_by: r.os("changed_by")?,
        created_at: r.i("created_at")?,
        updated_at: r.i("updated_at")?,
    })
}

/// Locks the people of a booking (their user rows, in sorted order) for the rest of the
/// transaction. Bookings of one person then follow one another: on PostgreSQL two concurrent
/// inserts checked by the exclusion constraint would otherwise wait for each other and
/// deadlock; the constraint (SQLite: the trigger) still decides what overlaps.
macro_rules! lock_people {
    ($tx:ident, $people:expr) => {{
        let mut people: Vec<String> = $people.iter().map(|u| u.to_string()).collect();
        people.sort();
        people.dedup();
        for u in &people {
            sqlx::query("UPDATE users SET event_seq = event_seq WHERE id = $1")
                .bind(u)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Inserts the booking, its holds (the overlap check), its reminders and its events, in the
/// caller's transaction.
macro_rules! insert_booking {
    ($tx:ident, $id:expr, $proposal:expr, $b:expr, $now:expr) => {{
        lock_people!($tx, [$b.host_id.clone(), $b.guest_id.clone()]);
        let row = sqlx::query(concat!(
            "INSERT INTO bookings (id, conversation_id, proposal_id, host_id, guest_id, start_at, \
             end_at, status, sequence, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'confirmed', 0, $8, $8) RETURNING ",
            booking_cols!()
        ))
        .bind($id)
        .bind(&$b.conversation_id)
        .bind($proposal)
        .bind(&$b.host_id)
        .bind(&$b.guest_id)
        .bind($b.start_at)
        .bind($b.end_at)
        .bind($now)
        .fetch_one(&mut *$tx)
        .await?;
        let booking = booking_of(&row)?;
        let mut people = booking.participants().to_vec();
        people.sort();
        people.dedup();
        for u in &people {
            sqlx::query(
                "INSERT INTO booking_holds (booking_id, user_id, start_at, end_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&booking.id)
            .bind(u)
            .bind(booking.start_at)
            .bind(booking.end_at)
            .execute(&mut *$tx)
            .await?;
        }
        plan_reminders!($tx, booking, $now);
        let data = json!({ "booking": booking.view() }).to_string();
        emit!(
            $tx,
            people,
            "booking.created",
            &booking.conversation_id,
            None::<i64>,
            &data,
            $now
        );
        booking
    }};
}

/// The reminders of a booking's current time that are still ahead.
macro_rules! plan_reminders {
    ($tx:ident, $b:expr, $now:expr) => {{
        for (kind, minutes) in REMINDERS {
            let due = $b.start_at - minutes * 60_000;
            if due <= $now {
                continue;
            }
            sqlx::query(
                "INSERT INTO reminder_jobs (booking_id, kind, sequence, due_at, state) \
                 VALUES ($1, $2, $3, $4, 'pending')",
            )
            .bind(&$b.id)
            .bind(kind)
            .bind($b.sequence)
            .bind(due)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

/// Runs a booking write again (a few times) when PostgreSQL aborted it as a deadlock: two
/// concurrent inserts checked by the exclusion constraint may each wait for the other; run
/// again, one of them commits and the other meets its row (409).
pub(crate) async fn retrying<T, F, Fut>(mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0u64;
    loop {
        match f().await {
            Err(StoreError::Backend(e)) if e.is_retryable() && tries < 8 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(5 * tries)).await;
            }
            r => return r,
        }
    }
}

fn check_member(n: i64) -> Result<()> {
    if n == 0 {
        return Err(StoreError::NotFound("conversation"));
    }
    Ok(())
}

impl Store {
    /// Stores a user's availability (the server's JSON).
    pub async fn put_availability(&self, user: &str, data: &str, now: Millis) -> Result<()> {
        on_write!(self, |p| {
            sqlx::query(
                "INSERT INTO availability (user_id, data, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET data = excluded.data, \
                 updated_at = excluded.updated_at",
            )
            .bind(user)
            .bind(data)
            .bind(now)
            .execute(p)
            .await?;
            Ok(())
        })
    }

    pub async fn get_availability(&self, user: &str) -> Result<Option<String>> {
        on_read!(self, |p| {
            Ok(
                sqlx::query_scalar("SELECT data FROM availability WHERE user_id = $1")
                    .bind(user)
                    .fetch_optional(p)
                    .await?,
            )
        })
    }

    /// Whether two users share a conversation.
    pub async fn share_conversation(&self, a: &str, b: &str) -> Result<bool> {
        on_read!(self, |p| {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM conversation_members x JOIN conversation_members y \
                 ON x.conversation_id = y.conversation_id WHERE x.user_id = $1 AND y.user_id = $2",
            )
            .bind(a)
            .bind(b)
            .fetch_one(p)
            .await?;
            Ok(n > 0)
        })
    }

    /// The times a user's confirmed bookings hold that overlap `[from, to)`.
    pub async fn busy(
        &self,
        user: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<(Millis, Millis)>> {
        on_read!(self, |p| {
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT start_at, end_at FROM booking_holds WHERE user_id = $1 \
                 AND start_at < $3 AND end_at > $2 ORDER BY start_at",
            )
            .bind(user)
            .bind(from)
            .bind(to)
            .fetch_all(p)
            .await?;
            Ok(rows)
        })
    }

    /// A member offers times in a conversation; every member is told (`proposal.created`).
    pub async fn create_time_proposal(
        &self,
        conversation_id: &str,
        author: &str,
        slots: &[(Millis, Millis)],
        now: Millis,
    ) -> Result<TimeProposal> {
        let id = format!("sp_{}", random_hex(10)?);
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
            )
            .bind(conversation_id)
            .bind(author)
            .fetch_one(&mut *tx)
            .await?;
            check_member(n)?;
            sqlx::query(
                "INSERT INTO schedule_proposals (id, conversation_id, author_id, state, created_at, \
                 updated_at) VALUES ($1, $2, $3, 'open', $4, $4)",
            )
            .bind(&id)
            .bind(conversation_id)
            .bind(author)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for (s, e) in slots {
                sqlx::query(
                    "INSERT INTO proposal_slots (proposal_id, start_at, end_at) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(s)
                .bind(e)
                .execute(&mut *tx)
                .await?;
            }
            let mut slots = slots.to_vec();
            slots.sort();
            let proposal = TimeProposal {
                id: id.clone(),
                conversation_id: conversation_id.into(),
                author_id: author.into(),
                state: "open".into(),
                booking_id: None,
                slots,
                created_at: now,
            };
            let members = members_sorted!(tx, conversation_id);
            let data = json!({ "proposal": proposal.view() }).to_string();
            emit!(
                tx,
                members,
                "proposal.created",
                conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok(proposal)
        })
    }

    pub async fn get_time_proposal(&self, id: &str) -> Result<TimeProposal> {
        on_read!(self, |p| {
            let row = sqlx::query(
                "SELECT id, conversation_id, author_id, state, booking_id, created_at \
                 FROM schedule_proposals WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?;
            let Some(r) = row else {
                return Err(StoreError::NotFound("proposal"));
            };
            let slots: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT start_at, end_at FROM proposal_slots WHERE proposal_id = $1 ORDER BY start_at",
            )
            .bind(id)
            .fetch_all(p)
            .await?;
            Ok(TimeProposal {
                id: r.s("id")?,
                conversation_id: r.s("conversation_id")?,
                author_id: r.s("author_id")?,
                state: r.s("state")?,
                booking_id: r.os("booking_id")?,
                slots,
                created_at: r.i("created_at")?,
            })
        })
    }

    /// Another member picks one of a proposal's slots: the proposal closes (its other slots
    /// are released) and the booking is made, in one transaction. `Conflict(PROPOSAL_CLOSED)`
    /// when it is no longer open, `Conflict(BOOKING_OVERLAP)` when either person is busy then.
    pub async fn accept_time_proposal(
        &self,
        proposal_id: &str,
        guest: &str,
        start_at: Millis,
        now: Millis,
    ) -> Result<Booking> {
        retrying(|| self.accept_time_proposal_once(proposal_id, guest, start_at, now)).await
    }

    async fn accept_time_proposal_once(
        &self,
        proposal_id: &str,
        guest: &str,
        start_at: Millis,
        now: Millis,
    ) -> Result<Booking> {
        let proposal = self.get_time_proposal(proposal_id).await?;
        if !self.is_member(&proposal.conversation_id, guest).await? {
            return Err(StoreError::NotFound("proposal"));
        }
        if proposal.author_id == guest {
            return Err(StoreError::Invalid(
                "the other person picks one of your times".into(),
            ));
        }
        let Some(&(s, e)) = proposal.slots.iter().find(|(s, _)| *s == start_at) else {
            return Err(StoreError::Invalid(
                "start is not one of the proposal's slots".into(),
            ));
        };
        let id = format!("bk_{}", random_hex(10)?);
        let b = NewBooking {
            conversation_id: proposal.conversation_id.clone(),
            host_id: proposal.author_id.clone(),
            guest_id: guest.into(),
            start_at: s,
            end_at: e,
        };
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            let n = sqlx::query(
                "UPDATE schedule_proposals SET state = 'booked', booking_id = $2, updated_at = $3 \
                 WHERE id = $1 AND state = 'open'",
            )
            .bind(proposal_id)
            .bind(&id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict(PROPOSAL_CLOSED.into()));
            }
            let booking = insert_booking!(tx, &id, Some(proposal_id), b, now);
            let mut closed = proposal.clone();
            closed.state = "booked".into();
            closed.booking_id = Some(id.clone());
            let members = members_sorted!(tx, &proposal.conversation_id);
            let data = json!({ "proposal": closed.view() }).to_string();
            emit!(
                tx,
                members,
                "proposal.updated",
                &proposal.conversation_id,
                None::<i64>,
                &data,
                now
            );
            tx.commit().await?;
            Ok(booking)
        })
    }

    /// A booking from the host's availability (the caller checked the slot is offered).
    pub async fn create_booking(&self, b: &NewBooking, now: Millis) -> Result<Booking> {
        retrying(|| self.create_booking_once(b, now)).await
    }

    async fn create_booking_once(&self, b: &NewBooking, now: Millis) -> Result<Booking> {
        let id = format!("bk_{}", random_hex(10)?);
        on_write!(self, |p| {
            let mut tx = p.begin_write(&self.faults).await?;
            for u in [&b.host_id, &b.guest_id] {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM conversation_members \
                     WHERE conversation_id = $1 AND user_id = $2",
                )
                .bind(&b.conversation_id)
                .bind(u)
                .fetch_one(&mut *tx)
                .await?;
                check_member(n)?;
            }
            let booking = insert_booking!(tx, &id, None::<&str>, b, now);
            tx.commit().await?;
            Ok(booking)
        })
    }

    pub async fn get_booking(&self, id: &str) -> Result<Booking> {
        on_read!(self, |p| {
            let row = sqlx::query(concat!(
                "SELECT ",
                booking_cols!(),
                " FROM bookings WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(p)
            .await?;
            row.as_ref()
                .map(booking_of)
                .unwrap_or(Err(StoreError::NotFound("booking")))
        })
    }

    /// A user's bookings (as host or guest, in every conversation) ending after `after`,
    /// earliest first; cancelled ones too when `cancelled`.
    pub async fn user_bookings(
        &self,
        user: &str,
        after: Millis,
        cancelled: bool,
        limit: i64,
    ) -> Result<Vec<Booking>> {
        on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                booking_cols!(),
                " FROM bookings WHERE (host_id = $1 OR guest_id = $1) AND end_at > $2 \
                 AND (status = 'confirmed' OR $3) ORDER BY start_at, id LIMIT $4"
            ))
            .bind(user)
            .bind(after)
            .bind(cancelled)
            .bind(limit)
            .fetch_all(p)
            .await?;
            rows.iter().map(booking_of).collect()
        })
    }

    /// A conversation's proposals and bookings, newest first (at most 200 of each).
    pub async fn conversation_schedule(
        &self,
        conversation_id: &str,
    ) -> Result<(Vec<TimeProposal>, Vec<Booking>)> {
        let ids: Vec<String> = on_read!(self, |p| {
            sqlx::query_scalar(
                "SELECT id FROM schedule_proposals WHERE conversation_id = $1 \
                 ORDER BY created_at DESC, id LIMIT 200",
            )
            .bind(conversation_id)
            .fetch_all(p)
            .await?
        });
        let mut proposals = Vec::with_capacity(ids.len());
        for id in ids {
            proposals.push(self.get_time_proposal(&id).await?);
        }
        let bookings = on_read!(self, |p| {
            let rows = sqlx::query(concat!(
                "SELECT ",
                booking_cols!(),
                " FROM bookings WHERE conversation_id = $1 ORDER BY created_at DESC, id LIMIT 200"
            ))
            .bind(conversation_id)
            .fetch_all(p)
            .await?;
            rows.iter().map(booking_of).collect::<Result<Vec<_>>>()?
        });
        Ok((proposals, bookings))
    }
}
