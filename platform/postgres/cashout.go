package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

// cashoutSQL reads cash-out $1 in the order scanCashout scans it.
const cashoutSQL = `SELECT id, bet_id, amount, created_at FROM cashouts WHERE id = $1`

// scanCashout scans the row of cashoutSQL: ENOTFOUND when there is none.
func scanCashout(row pgx.Row, id string) (*platform.Cashout, error) {
	var c platform.Cashout
	err := row.Scan(&c.ID, &c.Bet, &c.Amount, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, platform.Errorf(platform.ENOTFOUND, "cash-out %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read cash-out %s: %w", id, err)
	}
	return &c, nil
}

// FindCashout implements ledger.Cashouts.
func (s *Store) FindCashout(ctx context.Context, id string) (*platform.Cashout, error) {
	if err := platform.ValidateID("cash-out id", id); err != nil {
		return nil, err
	}
	c, err := scanCashout(s.pool.QueryRow(ctx, cashoutSQL, id), id)
	if err != nil && platform.ErrorCode(err) == platform.EINTERNAL {
		return nil, classify(err)
	}
	return c, err
}

// Cashout implements ledger.Cashouts.
//
// Locks, in the package's order: the bet's market FOR SHARE (settlement's
// FOR UPDATE waits for it, so a bet is either cashed out before its market
// is settled, or seen settled), the bet FOR UPDATE (two cash-outs of one
// bet queue here, and the second finds it cashed out), the player, then
// house and the bet's suspense shard by their UPDATEs, in id order.
func (s *Store) Cashout(ctx context.Context, req platform.CashoutRequest) (*platform.Bet, *platform.Cashout, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, false, err
	}
	var (
		bet     *platform.Bet
		out     *platform.Cashout
		created bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		bet, out, created = nil, nil, false
		// resend answers req from the cash-out booked under its id, if
		// there is one: done with the booked cash-out and its bet, or
		// ECONFLICT.
		resend := func() (done bool, err error) {
			prior, err := scanCashout(tx.QueryRow(ctx, cashoutSQL, req.ID), req.ID)
			switch platform.ErrorCode(err) {
			case "":
			case platform.ENOTFOUND:
				return false, nil
			default:
				return false, err
			}
			if !prior.Repeats(req) {
				return false, platform.ConflictingCashout(prior)
			}
			if bet, err = queryBet(ctx, tx, prior.Bet); err != nil {
				return false, err
			}
			out = prior
			return true, nil
		}
		// A booked cash-out never changes, so it is read without a lock; a
		// concurrent first booking of the same id fails this one's insert
		// (unique violation), and the retry finds it here.
		if done, err := resend(); done || err != nil {
			return err
		}
		// A bet's market never changes, so it can be read before the locks.
		var market string
		if err := tx.QueryRow(ctx, `SELECT market_id FROM bets WHERE id = $1`, req.Bet).Scan(&market); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return platform.Errorf(platform.ENOTFOUND, "bet %q not found", req.Bet)
			}
			return err
		}
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM markets WHERE id = $1 FOR SHARE`, market).Scan(&status); err != nil {
			return fmt.Errorf("market %s of bet %s: %w", market, req.Bet, err)
		}
		b, err := scanBet(tx.QueryRow(ctx, betSQL+` FOR UPDATE`, req.Bet), req.Bet)
		if err != nil {
			return err
		}
		if b.Status != platform.BetAccepted {
			// The same id, sent twice at once, waited here for its twin
			// to commit: the twin's cash-out answers it.
			if done, err := resend(); done || err != nil {
				return err
			}
			return platform.Errorf(platform.EBETCLOSED, "bet %q is %s, not open", b.ID, b.Status)
		}
		if status != string(platform.MarketOpen) {
			return platform.Errorf(platform.EMARKETSUSPENDED, "market %q is %s", market, status)
		}
		most, err := ledger.TryPayout(b.Stake, b.Odds)
		if err != nil {
			return fmt.Errorf("bet %s: %w", b.ID, err)
		}
		if req.Amount > most {
			return platform.Errorf(platform.EINVALID, "amount %d is more than bet %q could win (%d)", req.Amount, b.ID, most)
		}
		// The account the stake went into: its shard, or the single
		// suspense row for a bet staked before migration 0003.
		var suspense string
		if err := tx.QueryRow(ctx, `SELECT p.account_id FROM transactions t JOIN postings p ON p.tx_id = t.id AND p.amount > 0
			WHERE t.kind = 'stake' AND t.ref = $1`, b.ID).Scan(&suspense); err != nil {
			return fmt.Errorf("bet %s: its stake posting into suspense: %w", b.ID, err)
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE`, b.Account); err != nil {
			return fmt.Errorf("lock player %s: %w", b.Account, err)
		}
		var batch pgx.Batch
		batch.Queue(`INSERT INTO cashouts (id, bet_id, amount) VALUES ($1, $2, $3) RETURNING id, bet_id, amount, created_at`,
			req.ID, b.ID, req.Amount).QueryRow(func(row pgx.Row) error {
			out, err = scanCashout(row, req.ID)
			return err
		})
		postings := map[string]int64{suspense: -b.Stake, platform.HouseAccount: b.Stake - req.Amount, b.Account: req.Amount}
		if err := queueNewTx(&batch, "cashout", b.ID, postings); err != nil {
			return err
		}
		// Player, then house, then the suspense shard: the lock order.
		for _, a := range []string{b.Account, platform.HouseAccount, suspense} {
			if postings[a] != 0 {
				batch.Queue(addBalanceSQL, a, postings[a])
			}
		}
		batch.Queue(`UPDATE bets SET status = 'cashed_out', payout = $2, settled_at = clock_timestamp() WHERE id = $1`, b.ID, req.Amount)
		if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
			return fmt.Errorf("book cash-out %s of bet %s: %w", req.ID, b.ID, err)
		}
		if bet, err = queryBet(ctx, tx, b.ID); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	return bet, out, created, nil
}
