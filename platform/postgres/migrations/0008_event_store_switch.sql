-- The event store (0007) after it: the cash-out table (0005) is tracked
-- too, and the store can be switched off on purpose, on the record.
--
-- cashouts: each accepted cash-out's row, as every other ledger table's.
SELECT event_snapshot('cashouts');
CREATE CONSTRAINT TRIGGER cashouts_events AFTER INSERT OR UPDATE OR DELETE ON cashouts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION event_capture();

-- event_store_switch: every time the platform turned its store off or on
-- (inplay platform --event-store=false, for a benchmark of its cost). The
-- last row says whether the store is on. Reconciliation reads it: a store
-- switched off on the record is not checked (invariants 9 and 12 say
-- so); capture triggers found off without such a row are tampering, which
-- the fold catches. Turning it on again snapshots every tracked table, so
-- the fold starts again from what the tables then hold.
CREATE TABLE event_store_switch (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    enabled BOOLEAN NOT NULL,
    reason  TEXT NOT NULL
);
