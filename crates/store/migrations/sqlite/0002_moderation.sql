-- Parley store, SQLite schema, version 2: trust and safety (review queue, reports, strikes,
-- enforcements with statements of reasons, appeals). Timestamps are INTEGER Unix milliseconds.

-- One queue for held messages, reports and appeals. At most one open item per (kind, target):
-- duplicate reports of one target merge into its open item.
CREATE TABLE moderation_items (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    kind              TEXT NOT NULL CHECK (kind IN ('held_message', 'report', 'appeal')),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    priority          INTEGER NOT NULL DEFAULT 0,
    target_kind       TEXT NOT NULL CHECK (target_kind IN ('message', 'user', 'conversation', 'enforcement')),
    target_id         TEXT NOT NULL,
    subject_user_id   TEXT REFERENCES users(id),
    conversation_id   TEXT,
    message_id        INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    resolution_action TEXT,
    resolution_note   TEXT,
    resolved_by       TEXT,
    resolved_at       INTEGER
);
CREATE UNIQUE INDEX moderation_items_open_target ON moderation_items(kind, target_kind, target_id)
    WHERE status = 'open';
CREATE INDEX moderation_items_queue ON moderation_items(status, priority DESC, created_at, id);
CREATE INDEX moderation_items_message ON moderation_items(message_id);

-- A message held for review becomes a queue item in the same transaction (whatever path stored it).
CREATE TRIGGER messages_held_item AFTER INSERT ON messages WHEN NEW.state = 'held'
BEGIN
    INSERT OR IGNORE INTO moderation_items (kind, status, priority, target_kind, target_id,
        subject_user_id, conversation_id, message_id, created_at, updated_at)
    VALUES ('held_message', 'open', 50, 'message', CAST(NEW.id AS TEXT), NEW.author_id,
        NEW.conversation_id, NEW.id, NEW.created_at, NEW.created_at);
END;

-- An edit that makes a message held queues it; one that releases it (edited clean, deleted)
-- closes its open item as withdrawn (a reviewer's decision then overwrites the resolution).
CREATE TRIGGER messages_held_item_edit AFTER UPDATE OF state, deleted_at ON messages
WHEN NEW.state = 'held' AND NEW.deleted_at IS NULL AND (OLD.state <> 'held' OR OLD.deleted_at IS NOT NULL)
BEGIN
    INSERT OR IGNORE INTO moderation_items (kind, status, priority, target_kind, target_id,
        subject_user_id, conversation_id, message_id, created_at, updated_at)
    VALUES ('held_message', 'open', 50, 'message', CAST(NEW.id AS TEXT), NEW.author_id,
        NEW.conversation_id, NEW.id, COALESCE(NEW.edited_at, NEW.created_at),
        COALESCE(NEW.edited_at, NEW.created_at));
END;

CREATE TRIGGER messages_held_item_release AFTER UPDATE OF state, deleted_at ON messages
WHEN OLD.state = 'held' AND OLD.deleted_at IS NULL AND (NEW.state <> 'held' OR NEW.deleted_at IS NOT NULL)
BEGIN
    UPDATE moderation_items SET status = 'resolved', resolution_action = 'withdrawn',
        resolved_at = COALESCE(NEW.deleted_at, NEW.edited_at, updated_at),
        updated_at = COALESCE(NEW.deleted_at, NEW.edited_at, updated_at)
    WHERE kind = 'held_message' AND target_kind = 'message' AND target_id = CAST(NEW.id AS TEXT)
        AND status = 'open';
END;

-- Reports: each reporter once per open item; the item lists them all.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id     INTEGER NOT NULL REFERENCES moderation_items(id),
    reporter_id TEXT NOT NULL REFERENCES users(id),
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    UNIQUE (item_id, reporter_id)
);
CREATE INDEX reports_reporter ON reports(reporter_id, created_at);

-- Every restriction of a user, with its statement of reasons (JSON: facts, rule, automated,
-- how_to_appeal, appeal_deadline). A block keeps the blocked text so an overturn can deliver it.
CREATE TABLE enforcements (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id              TEXT NOT NULL REFERENCES users(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('block', 'mask', 'strike', 'warning', 'restriction', 'suspension')),
    automated            INTEGER NOT NULL,
    subject_kind         TEXT NOT NULL,
    subject_id           TEXT,
    conversation_id      TEXT,
    message_id           INTEGER,
    decision_id          INTEGER,
    item_id              INTEGER,
    moderator_id         TEXT,
    statement            TEXT NOT NULL,
    created_at           INTEGER NOT NULL,
    ends_at              INTEGER,
    appealable_until     INTEGER NOT NULL,
    lifted_at            INTEGER,
    blocked_text         TEXT,
    blocked_purpose      TEXT,
    delivered_message_id INTEGER
);
CREATE INDEX enforcements_user ON enforcements(user_id, created_at);
CREATE INDEX enforcements_active ON enforcements(user_id, kind, ends_at);

-- Strikes: counted by the policy's escalation rules (expiry after a clean period is computed,
-- `expires_at` is the earliest it can expire); removed when an appeal succeeds.
CREATE TABLE strikes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        TEXT NOT NULL REFERENCES users(id),
    enforcement_id INTEGER REFERENCES enforcements(id),
    weight         INTEGER NOT NULL,
    categories     TEXT NOT NULL DEFAULT '',
    at             INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    removed_at     INTEGER,
    removed_reason TEXT
);
CREATE INDEX strikes_user ON strikes(user_id, at);

-- One appeal per enforcement, decided by a moderator other than the one who enforced it.
CREATE TABLE appeals (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    enforcement_id INTEGER NOT NULL UNIQUE REFERENCES enforcements(id),
    appellant_id   TEXT NOT NULL REFERENCES users(id),
    statement      TEXT NOT NULL,
    item_id        INTEGER NOT NULL REFERENCES moderation_items(id),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'overturned')),
    decided_by     TEXT,
    decided_at     INTEGER,
    note           TEXT,
    created_at     INTEGER NOT NULL
);
CREATE INDEX appeals_appellant ON appeals(appellant_id);
