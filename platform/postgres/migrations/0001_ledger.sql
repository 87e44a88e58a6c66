-- The reference platform's ledger. This schema is also the documented view
-- that reports' PostgreSQL LedgerSource reads with plain SQL (docs/ledger.md):
-- change it only together with that reader and that document.
--
-- Money is BIGINT minor units. Odds are BIGINT in units of 0.0001
-- (odds_e4 = 25000 means decimal odds 2.5). Postings are signed: a positive
-- amount raises the account's balance, a negative one lowers it, and the
-- postings of every transaction sum to zero (double entry).

CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('player', 'house', 'suspense', 'cash')),
    allow_negative BOOLEAN NOT NULL DEFAULT false,
    balance        BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    CHECK (allow_negative OR balance >= 0)
);

-- The system accounts. 'cash' is the outside world: deposits move money from
-- it to a player, withdrawals back. It is the only account whose balance is
-- the negative of the money inside the platform.
INSERT INTO accounts (id, kind, allow_negative) VALUES
    ('house', 'house', true),
    ('suspense', 'suspense', false),
    ('cash', 'cash', true);

CREATE TABLE markets (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('open', 'suspended', 'closed', 'settled')),
    winners    TEXT[],               -- set when the result arrives; empty = void
    resulted_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

-- One row per financial event. (kind, ref) is unique: the same deposit id or
-- the same bet's stake can never be booked twice.
CREATE TABLE transactions (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('deposit', 'withdraw', 'stake', 'settle', 'void', 'cashout')),
    ref        TEXT NOT NULL,         -- deposit id, withdrawal id, or bet id
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, ref)
);

CREATE TABLE postings (
    id         BIGSERIAL PRIMARY KEY,
    tx_id      BIGINT NOT NULL REFERENCES transactions (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount     BIGINT NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_tx ON postings (tx_id);
CREATE INDEX postings_account ON postings (account_id);

-- Postings are never updated or deleted (invariant 9): a correction is a new,
-- compensating transaction.
CREATE FUNCTION postings_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'postings are append-only: % is not allowed', TG_OP;
END $$;
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION postings_immutable();

CREATE TABLE bets (
    id           TEXT PRIMARY KEY,    -- client-chosen; the idempotency key
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    market_id    TEXT NOT NULL,
    selection_id TEXT NOT NULL,
    stake        BIGINT NOT NULL CHECK (stake > 0),
    odds_e4      BIGINT NOT NULL CHECK (odds_e4 > 10000),  -- accepted odds
    status       TEXT NOT NULL CHECK (status IN ('accepted', 'won', 'lost', 'void', 'cashed_out')),
    payout       BIGINT NOT NULL DEFAULT 0,
    placed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    settled_at   TIMESTAMPTZ
);
CREATE INDEX bets_open_by_market ON bets (market_id) WHERE status = 'accepted';
