-- Events about the account rather than a conversation (`enforcement.created`,
-- `enforcement.updated` for an enforcement on a profile or a user) have no conversation.
-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt with the same rows.
CREATE TABLE events_new (
    user_id         TEXT NOT NULL REFERENCES users(id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    conversation_id TEXT,
    message_id      INTEGER,
    data            TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);
INSERT INTO events_new (user_id, seq, kind, conversation_id, message_id, data, created_at)
    SELECT user_id, seq, kind, conversation_id, message_id, data, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
