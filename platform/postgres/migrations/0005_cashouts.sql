-- Cash-outs (POST /v1/bets/{id}/cashout, docs/api.md). A cash-out ends its
-- bet like a settlement: one 'cashout' transaction (suspense -stake, house
-- +(stake - amount), player +amount; docs/ledger.md), the bet cashed_out
-- with payout = amount. This table keeps the request that did it, written
-- in the same database transaction, so the same cash-out id sent again is
-- answered with what it booked (idempotency), and another bet or amount
-- under that id is refused.
--
-- bet_id is unique: a bet is cashed out at most once. It is the backstop
-- behind the bet row's lock, which is what decides between two cash-outs
-- of one bet sent at once.
--
-- Not part of the ledger view reconciliation reads (docs/ledger.md): the
-- transaction and the bet's status and payout are.

CREATE TABLE cashouts (
    id         TEXT PRIMARY KEY,           -- client-chosen; the idempotency key
    bet_id     TEXT NOT NULL UNIQUE REFERENCES bets (id),
    amount     BIGINT NOT NULL CHECK (amount > 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
