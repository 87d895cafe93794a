-- Tamper-evident audit trail (issue 6). Every entry is chained to the previous one by a SHA-256
-- hash (computed by the store, see src/audit.rs), so editing, removing or reordering entries is
-- detected by `verify_audit`. The one-row audit_head holds the last seq and hash: every append
-- first takes its row lock, which serialises appends across server nodes (seq is gap-free and
-- in commit order). The triggers keep the log append-only and in sequence for anyone using
-- SQL; a superuser can drop them, which is what the hash chain is for.
CREATE TABLE audit_log (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 1),
    at         BIGINT NOT NULL,
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
    id    SMALLINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_log_check_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h audit_head%ROWTYPE;
BEGIN
    SELECT * INTO h FROM audit_head WHERE id = 1 FOR UPDATE;
    IF NOT FOUND OR NEW.seq <> h.seq + 1 OR NEW.prev_hash <> h.hash THEN
        RAISE EXCEPTION 'audit_log: entry out of sequence';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION audit_log_advance_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;

CREATE FUNCTION audit_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq < OLD.seq OR NEW.id <> OLD.id THEN
        RAISE EXCEPTION 'audit_head only moves forward';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_log_in_sequence BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_sequence();
CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_advance_head();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
