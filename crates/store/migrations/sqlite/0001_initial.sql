-- Parley store, SQLite schema, version 1.
-- Timestamps are INTEGER Unix milliseconds (UTC). Booleans are INTEGER 0/1.
-- Ids of integration objects are the marketplace's own TEXT ids; conversation ids are generated TEXT ids;
-- message ids and event sequence numbers are INTEGER, monotonic.

CREATE TABLE orgs (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    org_id      TEXT REFERENCES orgs(id),
    roles       TEXT NOT NULL DEFAULT '',
    country     TEXT,
    time_zone   TEXT,
    event_seq   INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX users_org ON users(org_id);

CREATE TABLE profiles (
    user_id     TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    headline    TEXT NOT NULL DEFAULT '',
    bio         TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    author_id   TEXT REFERENCES users(id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT 'open',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX jobs_org ON jobs(org_id);

CREATE TABLE proposals (
    id            TEXT PRIMARY KEY NOT NULL,
    job_id        TEXT NOT NULL REFERENCES jobs(id),
    freelancer_id TEXT NOT NULL REFERENCES users(id),
    cover_letter  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'submitted',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX proposals_job ON proposals(job_id);
CREATE INDEX proposals_freelancer ON proposals(freelancer_id);

CREATE TABLE invites (
    id            TEXT PRIMARY KEY NOT NULL,
    job_id        TEXT REFERENCES jobs(id),
    org_id        TEXT NOT NULL REFERENCES orgs(id),
    sender_id     TEXT REFERENCES users(id),
    freelancer_id TEXT NOT NULL REFERENCES users(id),
    message       TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'sent',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX invites_freelancer ON invites(freelancer_id);

CREATE TABLE contracts (
    id            TEXT PRIMARY KEY NOT NULL,
    client_org_id TEXT NOT NULL REFERENCES orgs(id),
    freelancer_id TEXT NOT NULL REFERENCES users(id),
    status        TEXT NOT NULL CHECK (status IN ('offered', 'active', 'ended')),
    job_id        TEXT REFERENCES jobs(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX contracts_pair ON contracts(client_org_id, freelancer_id);
CREATE INDEX contracts_freelancer ON contracts(freelancer_id);

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY NOT NULL,
    subject         TEXT,
    ref_kind        TEXT CHECK (ref_kind IN ('job', 'proposal', 'invite', 'contract')),
    ref_id          TEXT,
    created_by      TEXT REFERENCES users(id),
    last_message_id INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX conversations_ref ON conversations(ref_kind, ref_id);

CREATE TABLE conversation_members (
    conversation_id      TEXT NOT NULL REFERENCES conversations(id),
    user_id              TEXT NOT NULL REFERENCES users(id),
    joined_at            INTEGER NOT NULL,
    last_read_message_id INTEGER NOT NULL DEFAULT 0,
    last_read_at         INTEGER,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members(user_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    author_id       TEXT NOT NULL REFERENCES users(id),
    client_id       TEXT NOT NULL,
    purpose         TEXT,
    state           TEXT NOT NULL CHECK (state IN ('delivered', 'held', 'rejected')),
    original        TEXT NOT NULL,
    delivered       TEXT,
    decision        TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    UNIQUE (conversation_id, author_id, client_id)
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);

-- Append-only history: every version of every message (version 1 is the original post),
-- and one row with kind 'deleted' when it is deleted.
CREATE TABLE message_versions (
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    version     INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'edited', 'deleted', 'reviewed')),
    state       TEXT NOT NULL,
    original    TEXT NOT NULL,
    delivered   TEXT,
    decision    TEXT NOT NULL,
    actor_id    TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (message_id, version)
);

-- Every policy decision, whatever happened to the text (delivered, masked, held, blocked, draft check).
CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind    TEXT NOT NULL,
    subject_id      TEXT,
    conversation_id TEXT,
    message_id      INTEGER,
    message_version INTEGER,
    actor_id        TEXT,
    surface         TEXT NOT NULL,
    action          TEXT NOT NULL,
    automated       INTEGER NOT NULL,
    decision        TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    reviewed_at     INTEGER,
    reviewer_id     TEXT
);
CREATE INDEX decisions_subject ON decisions(subject_kind, subject_id);
CREATE INDEX decisions_message ON decisions(message_id);
CREATE INDEX decisions_actor ON decisions(actor_id, created_at);
CREATE INDEX decisions_action ON decisions(action, created_at);

CREATE TABLE tokens (
    hash        TEXT PRIMARY KEY NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    label       TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX tokens_user ON tokens(user_id);

-- Per-user event log: seq is gap-free and in commit order for each user (allocated from users.event_seq
-- under that row's write lock), so "what did I miss since cursor N" is exact, also with several nodes.
CREATE TABLE events (
    user_id         TEXT NOT NULL REFERENCES users(id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    message_id      INTEGER,
    data            TEXT,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, seq)
);
