-- Settlement corrections (docs/ledger.md): a market's settlement can be
-- rolled back and the market resettled, as a vendor's feed corrects a
-- result (Sportradar's rollback_bet_settlement). Nothing booked is edited:
-- a rollback is a new transaction of kind 'rollback' whose postings are
-- the exact opposite of the settle or void it reverses, and the
-- resettlement is a new settle or void.
--
-- A bet may so have several settle (or void) transactions, one per
-- settlement generation: transactions.generation is the market's number of
-- rollbacks when it was booked (a rollback carries the generation of the
-- settlement it reverses). (kind, ref) stays unique within a generation, so
-- a stake, a deposit or a withdrawal (always generation 0) is still booked
-- at most once, and a settlement at most once per generation.
--
-- markets.rollbacks is the market's settlement generation: how many of the
-- feed's rollbacks it has had. A result or rollback of an older generation
-- is stale and changes nothing, so redelivery cannot pay twice.

ALTER TABLE transactions ADD COLUMN generation BIGINT NOT NULL DEFAULT 0 CHECK (generation >= 0);
ALTER TABLE transactions
    DROP CONSTRAINT transactions_kind_check,
    ADD CONSTRAINT transactions_kind_check
        CHECK (kind IN ('deposit', 'withdraw', 'stake', 'settle', 'void', 'cashout', 'rollback')),
    DROP CONSTRAINT transactions_kind_ref_key,
    ADD CONSTRAINT transactions_kind_ref_generation_key UNIQUE (kind, ref, generation),
    -- Only a settlement and its reversal have generations.
    ADD CONSTRAINT transactions_generation_kinds CHECK (generation = 0 OR kind IN ('settle', 'void', 'rollback'));

ALTER TABLE markets ADD COLUMN rollbacks BIGINT NOT NULL DEFAULT 0 CHECK (rollbacks >= 0);
