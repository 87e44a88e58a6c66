-- The event store: an append-only, hash-chained record of every change to
-- the ledger's tables (DESIGN.md, invariants 9 and 12). Its contract is
-- docs/event-store.md: change it only together with that document and the
-- reader in reports (reports/eventstore_postgres.go).
--
-- Triggers write it, so every write path is covered without any Go code,
-- a tamperer's UPDATE or DELETE included (unless the tamperer turns the
-- triggers off, which the fold then catches: invariant 12).
--
-- The triggers are constraint triggers, DEFERRABLE INITIALLY DEFERRED:
-- they fire at COMMIT, after every other lock of the transaction is held.
-- The one-row event_head is locked there, so transactions append their
-- events one after another, in commit order, and the lock is held only
-- while the events are written and the commit is flushed. Taking it as a
-- transaction's last lock means it cannot be part of a deadlock.

CREATE TABLE events (
    position  BIGINT PRIMARY KEY CHECK (position > 0),
    at        TIMESTAMPTZ NOT NULL,
    tbl       TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('SNAPSHOT', 'INSERT', 'UPDATE', 'DELETE')),
    payload   TEXT NOT NULL,          -- the bytes hashed; JSON (docs/event-store.md)
    prev_hash BYTEA NOT NULL,         -- hash of position - 1; 32 zero bytes for position 1
    hash      BYTEA NOT NULL          -- sha256(prev_hash || payload as UTF-8)
);
CREATE INDEX events_at ON events (at);

-- The chain's head: the last position and its hash. Its row lock orders
-- the appends.
CREATE TABLE event_head (
    one      BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    position BIGINT NOT NULL,
    hash     BYTEA NOT NULL
);
INSERT INTO event_head (position, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- event_append appends one event. old and new are the row before and
-- after (NULL when there is none), as jsonb. Migrations call it through
-- event_snapshot; event_capture has the same body inlined.
--
-- A transaction's first event takes the chain's lock with a no-op UPDATE
-- of the head (in READ COMMITTED it waits for the last appender and reads
-- its head; in REPEATABLE READ a head moved since the snapshot is a
-- serialization failure, retried, never a fork). Its later events carry
-- the position and hash in transaction-local settings, and event_seal
-- writes the head once, after the last of them. (Updating the head for
-- every event made each next read walk every version the transaction had
-- written: placement fell from 5,000 bets/s to 650.)
CREATE FUNCTION event_append(tbl TEXT, op TEXT, old JSONB, new JSONB) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    pos  BIGINT;
    prev BYTEA;
    at   TIMESTAMPTZ := clock_timestamp();
    body TEXT;
    h    BYTEA;
BEGIN
    IF COALESCE(current_setting('inplay.event_pos', true), '') = '' THEN
        UPDATE event_head SET position = position RETURNING position, hash INTO pos, prev;
    ELSE
        pos := current_setting('inplay.event_pos')::BIGINT;
        prev := decode(current_setting('inplay.event_hash'), 'hex');
    END IF;
    pos := pos + 1;
    body := (jsonb_build_object('position', pos, 'at', at, 'table', tbl, 'op', op)
        || CASE WHEN old IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('old', old) END
        || CASE WHEN new IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('new', new) END)::text;
    h := sha256(prev || convert_to(body, 'UTF8'));
    INSERT INTO events (position, at, tbl, op, payload, prev_hash, hash)
    VALUES (pos, at, tbl, op, body, prev, h);
    PERFORM set_config('inplay.event_pos', pos::text, true),
            set_config('inplay.event_hash', encode(h, 'hex'), true);
END $$;

-- event_seal writes the head after a transaction's last event. It is a
-- deferred trigger on the head's first UPDATE, which queues it during
-- COMMIT, so it fires after every event of the transaction. Its own
-- UPDATE queues it once more, and that firing finds the head written.
CREATE FUNCTION event_seal() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pos TEXT := COALESCE(current_setting('inplay.event_pos', true), '');
BEGIN
    IF pos <> '' AND pos IS DISTINCT FROM current_setting('inplay.event_sealed', true) THEN
        PERFORM set_config('inplay.event_sealed', pos, true);
        UPDATE event_head SET position = pos::BIGINT, hash = decode(current_setting('inplay.event_hash'), 'hex');
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER event_head_seal AFTER UPDATE ON event_head
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_seal();

-- event_capture is the trigger: event_append inlined, since calling it
-- from here cost a query per event (together with a TimeZone setting on
-- each function, 98 µs an event against 22 µs inlined). Its arguments
-- name columns the store does not carry because they are derived
-- (accounts.balance: the sum of the account's postings). An UPDATE that
-- changes nothing else is no event. Keep it and event_append alike.
CREATE FUNCTION event_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    o    JSONB;
    n    JSONB;
    pos  BIGINT;
    prev BYTEA;
    at   TIMESTAMPTZ := clock_timestamp();
    body TEXT;
    h    BYTEA;
BEGIN
    IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD) - COALESCE(TG_ARGV, '{}'); END IF;
    IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW) - COALESCE(TG_ARGV, '{}'); END IF;
    IF TG_OP = 'UPDATE' AND o = n THEN
        RETURN NULL;
    END IF;
    IF COALESCE(current_setting('inplay.event_pos', true), '') = '' THEN
        UPDATE event_head SET position = position RETURNING position, hash INTO pos, prev;
    ELSE
        pos := current_setting('inplay.event_pos')::BIGINT;
        prev := decode(current_setting('inplay.event_hash'), 'hex');
    END IF;
    pos := pos + 1;
    body := (jsonb_build_object('position', pos, 'at', at, 'table', TG_TABLE_NAME, 'op', TG_OP)
        || CASE WHEN o IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('old', o) END
        || CASE WHEN n IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('new', n) END)::text;
    h := sha256(prev || convert_to(body, 'UTF8'));
    INSERT INTO events (position, at, tbl, op, payload, prev_hash, hash)
    VALUES (pos, at, TG_TABLE_NAME, TG_OP, body, prev, h);
    PERFORM set_config('inplay.event_pos', pos::text, true),
            set_config('inplay.event_hash', encode(h, 'hex'), true);
    RETURN NULL;
END $$;

-- event_snapshot appends a SNAPSHOT of every row of a table, in id order:
-- the store's starting point for rows written before it tracked the table
-- (this migration), or after a change it cannot see (a column added with
-- a default). derived is as for event_capture.
CREATE FUNCTION event_snapshot(t REGCLASS, VARIADIC derived TEXT[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r JSONB;
BEGIN
    FOR r IN EXECUTE format('SELECT to_jsonb(x) - $1 FROM %s x ORDER BY x.id', t) USING derived LOOP
        PERFORM event_append((SELECT relname FROM pg_class WHERE oid = t)::text, 'SNAPSHOT', NULL, r);
    END LOOP;
END $$;

-- The store is append-only, like postings.
CREATE FUNCTION events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_immutable();

-- The tracked tables: one snapshot line and one trigger line each. A table
-- added later is tracked by the same two lines in its own migration.
SELECT event_snapshot('accounts', 'balance');
SELECT event_snapshot('markets');
SELECT event_snapshot('transactions');
SELECT event_snapshot('postings');
SELECT event_snapshot('bets');

CREATE CONSTRAINT TRIGGER accounts_events AFTER INSERT OR UPDATE OR DELETE ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture('balance');
CREATE CONSTRAINT TRIGGER markets_events AFTER INSERT OR UPDATE OR DELETE ON markets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture();
CREATE CONSTRAINT TRIGGER transactions_events AFTER INSERT OR UPDATE OR DELETE ON transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture();
CREATE CONSTRAINT TRIGGER postings_events AFTER INSERT OR UPDATE OR DELETE ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture();
CREATE CONSTRAINT TRIGGER bets_events AFTER INSERT OR UPDATE OR DELETE ON bets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture();
