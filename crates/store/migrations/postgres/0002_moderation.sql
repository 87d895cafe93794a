-- Parley store, PostgreSQL schema, version 2: trust and safety (review queue, reports, strikes,
-- enforcements with statements of reasons, appeals). Timestamps are BIGINT Unix milliseconds.

-- One queue for held messages, reports and appeals. At most one open item per (kind, target):
-- duplicate reports of one target merge into its open item.
CREATE TABLE moderation_items (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('held_message', 'report', 'appeal')),
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    priority          BIGINT NOT NULL DEFAULT 0,
    target_kind       TEXT NOT NULL CHECK (target_kind IN ('message', 'user', 'conversation', 'enforcement')),
    target_id         TEXT NOT NULL,
    subject_user_id   TEXT REFERENCES users(id),
    conversation_id   TEXT,
    message_id        BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    resolution_action TEXT,
    resolution_note   TEXT,
    resolved_by       TEXT,
    resolved_at       BIGINT
);
CREATE UNIQUE INDEX moderation_items_open_target ON moderation_items(kind, target_kind, target_id)
    WHERE status = 'open';
CREATE INDEX moderation_items_queue ON moderation_items(status, priority DESC, created_at, id);
CREATE INDEX moderation_items_message ON moderation_items(message_id);

-- A message held for review becomes a queue item in the same transaction (whatever path stored it);
-- an edit that makes a message held queues it; one that releases it (edited clean, deleted) closes
-- its open item as withdrawn (a reviewer's decision then overwrites the resolution).
CREATE FUNCTION parley_held_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'held' AND NEW.deleted_at IS NULL
       AND (TG_OP = 'INSERT' OR OLD.state <> 'held' OR OLD.deleted_at IS NOT NULL) THEN
        INSERT INTO moderation_items (kind, status, priority, target_kind, target_id,
            subject_user_id, conversation_id, message_id, created_at, updated_at)
        VALUES ('held_message', 'open', 50, 'message', NEW.id::text, NEW.author_id,
            NEW.conversation_id, NEW.id, COALESCE(NEW.edited_at, NEW.created_at),
            COALESCE(NEW.edited_at, NEW.created_at))
        ON CONFLICT DO NOTHING;
    ELSIF TG_OP = 'UPDATE' AND OLD.state = 'held' AND OLD.deleted_at IS NULL
       AND (NEW.state <> 'held' OR NEW.deleted_at IS NOT NULL) THEN
        UPDATE moderation_items SET status = 'resolved', resolution_action = 'withdrawn',
            resolved_at = COALESCE(NEW.deleted_at, NEW.edited_at, updated_at),
            updated_at = COALESCE(NEW.deleted_at, NEW.edited_at, updated_at)
        WHERE kind = 'held_message' AND target_kind = 'message' AND target_id = NEW.id::text
            AND status = 'open';
    END IF;
    RETURN NULL;
END;
$$;
-- WHEN clauses: the function runs only for messages that are or were held (posts stay cheap).
CREATE TRIGGER messages_held_item AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.state = 'held') EXECUTE FUNCTION parley_held_item();
CREATE TRIGGER messages_held_item_edit AFTER UPDATE OF state, deleted_at ON messages
    FOR EACH ROW WHEN (OLD.state = 'held' OR NEW.state = 'held') EXECUTE FUNCTION parley_held_item();

-- Reports: each reporter once per open item; the item lists them all.
CREATE TABLE reports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id     BIGINT NOT NULL REFERENCES moderation_items(id),
    reporter_id TEXT NOT NULL REFERENCES users(id),
    target_kind TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    note        TEXT,
    created_at  BIGINT NOT NULL,
    UNIQUE (item_id, reporter_id)
);
CREATE INDEX reports_reporter ON reports(reporter_id, created_at);

-- Every restriction of a user, with its statement of reasons (JSON: facts, rule, automated,
-- how_to_appeal, appeal_deadline). A block keeps the blocked text so an overturn can deliver it.
CREATE TABLE enforcements (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id              TEXT NOT NULL REFERENCES users(id),
    kind                 TEXT NOT NULL CHECK (kind IN ('block', 'mask', 'strike', 'warning', 'restriction', 'suspension')),
    automated            BOOLEAN NOT NULL,
    subject_kind         TEXT NOT NULL,
    subject_id           TEXT,
    conversation_id      TEXT,
    message_id           BIGINT,
    decision_id          BIGINT,
    item_id              BIGINT,
    moderator_id         TEXT,
    statement            TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    ends_at              BIGINT,
    appealable_until     BIGINT NOT NULL,
    lifted_at            BIGINT,
    blocked_text         TEXT,
    blocked_purpose      TEXT,
    delivered_message_id BIGINT
);
CREATE INDEX enforcements_user ON enforcements(user_id, created_at);
CREATE INDEX enforcements_active ON enforcements(user_id, kind, ends_at);

-- Strikes: counted by the policy's escalation rules (expiry after a clean period is computed,
-- `expires_at` is the earliest it can expire); removed when an appeal succeeds.
CREATE TABLE strikes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id),
    enforcement_id BIGINT REFERENCES enforcements(id),
    weight         BIGINT NOT NULL,
    categories     TEXT NOT NULL DEFAULT '',
    at             BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    removed_at     BIGINT,
    removed_reason TEXT
);
CREATE INDEX strikes_user ON strikes(user_id, at);

-- One appeal per enforcement, decided by a moderator other than the one who enforced it.
CREATE TABLE appeals (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enforcement_id BIGINT NOT NULL UNIQUE REFERENCES enforcements(id),
    appellant_id   TEXT NOT NULL REFERENCES users(id),
    statement      TEXT NOT NULL,
    item_id        BIGINT NOT NULL REFERENCES moderation_items(id),
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'upheld', 'overturned')),
    decided_by     TEXT,
    decided_at     BIGINT,
    note           TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX appeals_appellant ON appeals(appellant_id);
