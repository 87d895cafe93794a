-- Tamper-evident audit trail (issue 6). Every entry is chained to the previous one by a SHA-256
-- hash (computed by the store, see src/audit.rs), so editing, removing or reordering entries is
-- detected by `verify_audit`. The one-row audit_head holds the last seq and hash: appends take
-- its write lock first (on SQLite the single writer connection already serialises them).
-- The triggers keep the log append-only and in sequence for anyone using SQL; someone with
-- write access to the file can drop them, which is what the hash chain is for.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    actor_id   TEXT,
    subject    TEXT NOT NULL,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log(subject, seq);

-- Evidence export reads a conversation's decisions (refused attempts have no message id).
CREATE INDEX decisions_conversation ON decisions(conversation_id, id);

CREATE TABLE audit_head (
    id    INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq   INTEGER NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_in_sequence BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT seq + 1 FROM audit_head WHERE id = 1)
  OR NEW.prev_hash IS NOT (SELECT hash FROM audit_head WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_log: entry out of sequence');
END;

CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log
BEGIN
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'audit_head cannot be deleted');
END;

CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
WHEN NEW.seq < OLD.seq OR NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'audit_head only moves forward');
END;
