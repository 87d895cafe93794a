-- Voice and video calls: metadata only. No SDP, no ICE candidates, no addresses, no media.
CREATE TABLE calls (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    caller_id       TEXT NOT NULL REFERENCES users(id),
    -- JSON array of the user ids who took part (the caller first).
    parties         TEXT NOT NULL,
    video           BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    answered_at     BIGINT,
    ended_at        BIGINT,
    -- completed, canceled, no_answer, declined, busy, failed, ice_failed, answered_elsewhere
    end_reason      TEXT,
    duration_ms     BIGINT,
    audio_used      BOOLEAN NOT NULL DEFAULT FALSE,
    video_used      BOOLEAN NOT NULL DEFAULT FALSE,
    screen_used     BOOLEAN NOT NULL DEFAULT FALSE,
    -- Whether the media went through a TURN relay (null: not reported).
    relayed         BOOLEAN
);
CREATE INDEX calls_by_conversation ON calls (conversation_id, created_at);
CREATE INDEX calls_open ON calls (ended_at);
