-- Files in conversations: resumable uploads (tus) and the files they become.

-- An upload in progress. `received` is the tus offset: only advanced after the bytes are synced
-- to disk. `quota_key` is the owner's org id, or `user:<id>` for a user without an org.
CREATE TABLE uploads (
    id              TEXT PRIMARY KEY NOT NULL,
    owner_id        TEXT NOT NULL REFERENCES users(id),
    quota_key       TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    filename        TEXT NOT NULL,
    filetype        TEXT NOT NULL,
    purpose         TEXT,
    length          INTEGER NOT NULL,
    received        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'complete', 'expired')),
    expires_at      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX uploads_owner ON uploads(owner_id, state);
CREATE INDEX uploads_quota ON uploads(quota_key, state);
CREATE INDEX uploads_expiry ON uploads(state, expires_at);

-- A finished upload: one file in a conversation (its id is the upload's), its bytes a blob
-- keyed by SHA-256 (stored once, deleted with its last file), and the scan's outcome.
CREATE TABLE files (
    id              TEXT PRIMARY KEY NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    owner_id        TEXT NOT NULL REFERENCES users(id),
    quota_key       TEXT NOT NULL,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    purpose         TEXT,
    state           TEXT NOT NULL
        CHECK (state IN ('scanning', 'clean', 'held', 'blocked', 'infected', 'scan_failed')),
    reason          TEXT,
    scan            TEXT,
    reviewer_id     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX files_conversation ON files(conversation_id, created_at);
CREATE INDEX files_sha256 ON files(sha256);
CREATE INDEX files_quota ON files(quota_key);
CREATE INDEX files_state ON files(state, created_at);
