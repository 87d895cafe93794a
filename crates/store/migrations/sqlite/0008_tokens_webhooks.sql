-- Parley store, SQLite schema, version 8: tokens the marketplace mints (revocation by time) and
-- webhooks (Standard Webhooks) fed by an outbox. Timestamps are INTEGER Unix milliseconds.

-- Per user: operator-minted JWTs issued (`iat`) at or before `valid_after` are refused. Every
-- node keeps the recent ones in memory (a JWT lives at most 24 hours) and learns new ones through
-- the bus.
CREATE TABLE token_floors (
    user_id     TEXT PRIMARY KEY NOT NULL,
    valid_after INTEGER NOT NULL
);
CREATE INDEX token_floors_time ON token_floors(valid_after);

-- The operator event feed and the webhooks' outbox: one row per event, written in the
-- transaction of the change it reports. `id` is the feed's cursor; `event_id` is the
-- `webhook-id` of every delivery of it.
CREATE TABLE operator_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX operator_events_time ON operator_events(created_at);

-- `events`: ',type,type,' or '' for every type.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    events          TEXT NOT NULL DEFAULT '',
    secret          TEXT NOT NULL,
    previous_secret TEXT,
    previous_until  INTEGER,
    failing_since   INTEGER,
    disabled_at     INTEGER,
    disabled_reason TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

-- One row per (event, endpoint), written with the event; claimed by the workers of any node.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id),
    event_id        INTEGER NOT NULL REFERENCES operator_events(id),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, id);

-- Every attempt: the answer's status (NULL when none came), latency, an excerpt.
CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries(id),
    attempted_at INTEGER NOT NULL,
    status_code  INTEGER,
    latency_ms   INTEGER NOT NULL,
    error        TEXT,
    response     TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
