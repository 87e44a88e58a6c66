-- The price policy each bet was accepted under (platform.PricePolicy):
-- exact takes only the requested odds, better the current odds when they
-- are at least the requested, any the current odds whatever they are. A
-- resend must repeat it, so the ledger keeps it next to the requested odds.
--
-- Every bet booked before this migration was accepted under what is now
-- "better" (the current odds, at least the requested), so that is their
-- policy, and the column's default for writers that name none.
--
-- The constraint from 0002 (requested <= accepted) becomes one per policy:
-- exact books exactly the requested odds, better at least them, and any
-- books whatever the price was.

ALTER TABLE bets ADD COLUMN policy TEXT NOT NULL DEFAULT 'better'
    CHECK (policy IN ('exact', 'better', 'any'));
ALTER TABLE bets
    DROP CONSTRAINT bets_requested_odds_e4_accepted,
    ADD CONSTRAINT bets_policy_odds CHECK (
        (policy = 'exact' AND odds_e4 = requested_odds_e4)
        OR (policy = 'better' AND odds_e4 >= requested_odds_e4)
        OR policy = 'any');
