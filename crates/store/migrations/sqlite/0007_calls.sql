-- Voice and video calls: metadata only. No SDP, no ICE candidates, no addresses, no media.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    caller_id       TEXT NOT NULL REFERENCES users(id),
    -- JSON array of the user ids who took part (the caller first).
    parties         TEXT NOT NULL,
    video           INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    answered_at     INTEGER,
    ended_at        INTEGER,
    -- completed, canceled, no_answer, declined, busy, failed, ice_failed, answered_elsewhere
    end_reason      TEXT,
    duration_ms     INTEGER,
    audio_used      INTEGER NOT NULL DEFAULT 0,
    video_used      INTEGER NOT NULL DEFAULT 0,
    screen_used     INTEGER NOT NULL DEFAULT 0,
    -- Whether the media went through a TURN relay (null: not reported).
    relayed         INTEGER
);
CREATE INDEX calls_by_conversation ON calls (conversation_id, created_at);
CREATE INDEX calls_open ON calls (ended_at);
