-- Parley store, version 13: files attached to messages. A finished upload (a file) is attached
-- to at most one message (the primary key), by its owner, in its own conversation; a message
-- lists its files in `position` order. The file's state (clean, held...) stays on the file.
CREATE TABLE message_attachments (
    file_id         TEXT PRIMARY KEY NOT NULL,
    message_id      INTEGER NOT NULL REFERENCES messages(id),
    conversation_id TEXT NOT NULL,
    position        INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments(message_id, position);
