-- Shards of the hot system accounts. Every bet moved the one 'suspense' row
-- and every deposit or withdrawal the one 'cash' row, so their row locks
-- serialised all bets (or all transfers) on the platform. From now on a bet
-- uses the suspense shard picked by FNV-1a 32 of its id modulo 16
-- (platform.SuspenseShard), a transfer the cash shard picked likewise by its
-- id (platform.CashShard). Reconciliation sums accounts by kind, so the
-- view is unchanged (docs/ledger.md).
--
-- The old 'suspense' and 'cash' rows stay, so earlier postings keep their
-- account; nothing new is booked to them. A bet staked into the old
-- 'suspense' row is settled out of that same row (settlement takes a stake
-- out of the account its stake transaction put it into), so it drains to 0.

-- Before this migration a player could have been given an id that is now a
-- shard's (ids may contain ':'). Stop with a clear message rather than fail
-- on the primary key or, worse, turn a player's account into a system one.
DO $$
DECLARE
    taken TEXT;
BEGIN
    SELECT string_agg(id, ', ' ORDER BY id) INTO taken FROM accounts
    WHERE kind = 'player' AND id ~ '^(suspense|cash):(0[0-9]|1[0-5])$';
    IF taken IS NOT NULL THEN
        RAISE EXCEPTION 'player accounts % have the ids of the new system shards; rename them before migrating', taken;
    END IF;
END $$;

INSERT INTO accounts (id, kind, allow_negative)
SELECT 'suspense:' || lpad(n::text, 2, '0'), 'suspense', false FROM generate_series(0, 15) AS n
UNION ALL
SELECT 'cash:' || lpad(n::text, 2, '0'), 'cash', true FROM generate_series(0, 15) AS n;
