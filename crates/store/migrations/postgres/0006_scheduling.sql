-- Interview scheduling: availability, proposals of times, bookings, the time each booking holds
-- for each participant (no two overlapping holds for one person: an exclusion constraint),
-- reminders as durable jobs, and private calendar feeds (token stored hashed).

CREATE TABLE availability (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    data       TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE schedule_proposals (
    id              TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    author_id       TEXT NOT NULL REFERENCES users(id),
    state           TEXT NOT NULL CHECK (state IN ('open', 'booked', 'withdrawn')),
    booking_id      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX schedule_proposals_conversation ON schedule_proposals(conversation_id, created_at);

CREATE TABLE proposal_slots (
    proposal_id TEXT NOT NULL REFERENCES schedule_proposals(id),
    start_at    BIGINT NOT NULL,
    end_at      BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, start_at)
);

CREATE TABLE bookings (
    id              TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    proposal_id     TEXT,
    host_id         TEXT NOT NULL REFERENCES users(id),
    guest_id        TEXT NOT NULL REFERENCES users(id),
    start_at        BIGINT NOT NULL,
    end_at          BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('confirmed', 'cancelled')),
    sequence        BIGINT NOT NULL DEFAULT 0,
    reason          TEXT,
    changed_by      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX bookings_conversation ON bookings(conversation_id, start_at);
CREATE INDEX bookings_host ON bookings(host_id, start_at);
CREATE INDEX bookings_guest ON bookings(guest_id, start_at);

-- One row per participant of a confirmed booking: the time it takes from that person.
CREATE TABLE booking_holds (
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    user_id    TEXT NOT NULL REFERENCES users(id),
    start_at   BIGINT NOT NULL,
    end_at     BIGINT NOT NULL,
    PRIMARY KEY (booking_id, user_id),
    CHECK (end_at > start_at)
);
CREATE INDEX booking_holds_user ON booking_holds(user_id, start_at);

CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE booking_holds ADD CONSTRAINT booking_holds_no_overlap
    EXCLUDE USING gist (user_id WITH =, int8range(start_at, end_at) WITH &&);

-- Reminders: one durable job per booking and kind, fired once (state moves to 'sent' in the
-- transaction that writes the reminder's events).
CREATE TABLE reminder_jobs (
    id         BIGSERIAL PRIMARY KEY,
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    kind       TEXT NOT NULL CHECK (kind IN ('24h', '10m')),
    sequence   BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'cancelled')),
    sent_at    BIGINT
);
CREATE INDEX reminder_jobs_due ON reminder_jobs(state, due_at);
CREATE INDEX reminder_jobs_booking ON reminder_jobs(booking_id);

CREATE TABLE calendar_feeds (
    user_id    TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
