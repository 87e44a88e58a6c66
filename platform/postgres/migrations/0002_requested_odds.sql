-- The odds a bet's request asked for, next to the odds it was accepted at.
-- A resend of a bet id is the same request only if it asks for exactly the
-- same odds (invariant 4), so the ledger must remember them: the accepted
-- price alone cannot tell "asked for 2.0, got 2.1" from "asked for 2.1".
--
-- Rows booked before this migration did not record them. Their accepted
-- odds are the one value known to satisfy every rule a request obeys (a bet
-- is accepted only at or above what it asked for), so they are backfilled
-- with odds_e4: a later resend of such a bet must then ask for exactly its
-- accepted odds, which refuses rather than double-books when in doubt.

ALTER TABLE bets ADD COLUMN requested_odds_e4 BIGINT;
UPDATE bets SET requested_odds_e4 = odds_e4;
ALTER TABLE bets
    ALTER COLUMN requested_odds_e4 SET NOT NULL,
    ADD CONSTRAINT bets_requested_odds_e4_check CHECK (requested_odds_e4 > 10000),
    -- A bet is accepted at the current price only when that is at least
    -- the requested odds.
    ADD CONSTRAINT bets_requested_odds_e4_accepted CHECK (requested_odds_e4 <= odds_e4);
