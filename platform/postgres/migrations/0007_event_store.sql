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
-- after (NULL when there is none), as jsonb. It runs inside the trigger,
-- or inside a migration (event_snapshot).
CREATE FUNCTION event_append(tbl TEXT, op TEXT, old JSONB, new JSONB) RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
DECLARE
    pos  BIGINT;
    prev BYTEA;
    at   TIMESTAMPTZ := clock_timestamp();
    body TEXT;
    h    BYTEA;
BEGIN
    -- FOR UPDATE: in READ COMMITTED it waits for the last appender and
    -- reads its head; in REPEATABLE READ a head moved since the snapshot
    -- is a serialization failure (retried), never a fork.
    SELECT e.position, e.hash INTO pos, prev FROM event_head e FOR UPDATE;
    pos := pos + 1;
    body := (jsonb_build_object('position', pos, 'at', at, 'table', tbl, 'op', op)
        || CASE WHEN old IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('old', old) END
        || CASE WHEN new IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('new', new) END)::text;
    h := sha256(prev || convert_to(body, 'UTF8'));
    INSERT INTO events (position, at, tbl, op, payload, prev_hash, hash)
    VALUES (pos, at, tbl, op, body, prev, h);
    UPDATE event_head SET position = pos, hash = h;
END $$;

-- event_capture is the trigger. Its arguments name columns the store does
-- not carry because they are derived (accounts.balance: the sum of the
-- account's postings). An UPDATE that changes nothing else is no event.
CREATE FUNCTION event_capture() RETURNS trigger
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
DECLARE
    derived TEXT[] := COALESCE(TG_ARGV, '{}');
    o JSONB;
    n JSONB;
BEGIN
    IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD) - derived; END IF;
    IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW) - derived; END IF;
    IF TG_OP = 'UPDATE' AND o = n THEN
        RETURN NULL;
    END IF;
    PERFORM event_append(TG_TABLE_NAME, TG_OP, o, n);
    RETURN NULL;
END $$;

-- event_snapshot appends a SNAPSHOT of every row of a table, in id order:
-- the store's starting point for rows written before it tracked the table
-- (this migration), or after a change it cannot see (a column added with
-- a default). derived is as for event_capture.
CREATE FUNCTION event_snapshot(t REGCLASS, VARIADIC derived TEXT[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $$
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
