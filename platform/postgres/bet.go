package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform"
)

// PlaceBet implements ledger.Bets.
func (s *Store) PlaceBet(ctx context.Context, bet platform.Bet) (*platform.Bet, bool, error) {
	// The requested odds are what a resend must repeat, so they are
	// required; the accepted odds must be valid odds that satisfy them.
	req := betRequest(bet)
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	bet.Policy = bet.Policy.OrDefault()
	switch {
	case !bet.Odds.Valid():
		return nil, false, platform.Errorf(platform.EINVALID, "accepted odds %s are outside 1.01 to 1000", bet.Odds)
	case bet.Policy == platform.PolicyExact && bet.RequestedOdds != bet.Odds:
		return nil, false, platform.Errorf(platform.EINVALID, "accepted odds %s are not the requested %s (policy exact)", bet.Odds, bet.RequestedOdds)
	case bet.Policy == platform.PolicyBetter && bet.RequestedOdds > bet.Odds:
		return nil, false, platform.Errorf(platform.EINVALID, "accepted odds %s are below the requested %s (policy better)", bet.Odds, bet.RequestedOdds)
	}
	if platform.IsSystemAccount(bet.Account) {
		return nil, false, platform.Errorf(platform.ENOTFOUND, "account %q not found", bet.Account)
	}
	if s.batch != nil {
		return s.batch.place(ctx, bet, req)
	}
	return s.placeAlone(ctx, bet, req)
}

// betRequest is the request bet answers: what a resend must repeat.
func betRequest(bet platform.Bet) platform.BetRequest {
	return platform.BetRequest{ID: bet.ID, Account: bet.Account, Market: bet.Market,
		Selection: bet.Selection, Stake: bet.Stake, Odds: bet.RequestedOdds, Policy: bet.Policy}
}

// placeAlone books one validated bet in a transaction of its own.
func (s *Store) placeAlone(ctx context.Context, bet platform.Bet, req platform.BetRequest) (*platform.Bet, bool, error) {
	var (
		out     *platform.Bet
		created bool
	)
	suspense := platform.SuspenseShard(bet.ID)
	err := s.inPipeline(ctx, func(conn *pgx.Conn) error {
		out, created = nil, false
		// Round trip 1: the reads, each taking the lock it needs. The
		// market row first (lock order). FOR SHARE lets bets on one market
		// run side by side, while settlement's FOR UPDATE waits for them,
		// so it sees every bet that was booked as open. The bet is looked
		// up under the player's lock.
		var (
			status              string
			balance             int64
			found               bool
			playerErr, priorErr error
			prior               *platform.Bet
			reads               pgx.Batch
			writes              pgx.Batch
			placedAt            time.Time
		)
		reads.Queue("BEGIN")
		if len(s.markets.unknown([]string{bet.Market})) > 0 {
			reads.Queue(`INSERT INTO markets (id, status) VALUES ($1, 'open') ON CONFLICT (id) DO NOTHING`, bet.Market)
		}
		reads.Queue(`SELECT status FROM markets WHERE id = $1 FOR SHARE`, bet.Market).QueryRow(func(row pgx.Row) error {
			return row.Scan(&status)
		})
		reads.Queue(lockPlayerSQL, bet.Account).QueryRow(func(row pgx.Row) error {
			balance, found, playerErr = lockedPlayer(row, bet.Account)
			return nil
		})
		reads.Queue(betSQL, bet.ID).QueryRow(func(row pgx.Row) error {
			prior, priorErr = scanBet(row, bet.ID)
			return nil
		})
		if err := conn.SendBatch(ctx, &reads).Close(); err != nil {
			return err
		}
		if playerErr != nil {
			return playerErr
		}
		if priorErr != nil && platform.ErrorCode(priorErr) != platform.ENOTFOUND {
			return priorErr
		}
		if prior != nil {
			if !prior.Repeats(req) {
				return platform.ConflictingBet(prior)
			}
			out = prior
			return nil // inPipeline rolls back the reads
		}
		if !found {
			return platform.Errorf(platform.ENOTFOUND, "account %q not found", bet.Account)
		}
		if status != string(platform.MarketOpen) {
			return platform.Errorf(platform.EMARKETSUSPENDED, "market %q is %s", bet.Market, status)
		}
		if balance < bet.Stake {
			return platform.Errorf(platform.EFUNDS, "balance %d of account %q does not cover stake %d", balance, bet.Account, bet.Stake)
		}
		// Round trip 2: the writes and COMMIT. The suspense shard is
		// updated last, right before COMMIT in the same batch, so its lock
		// is held only while the server finishes the batch.
		b := bet
		b.Status = platform.BetAccepted
		b.Payout = 0
		b.SettledAt = nil
		writes.Queue(`INSERT INTO bets (id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4, policy, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'accepted') RETURNING placed_at`,
			b.ID, b.Account, b.Market, b.Selection, b.Stake, b.RequestedOdds.E4(), b.Odds.E4(), string(b.Policy.OrDefault())).QueryRow(func(row pgx.Row) error {
			return row.Scan(&placedAt)
		})
		writes.Queue(addBalanceSQL, b.Account, -b.Stake)
		if err := queueNewTx(&writes, "stake", b.ID, map[string]int64{b.Account: -b.Stake, suspense: b.Stake}); err != nil {
			return err
		}
		writes.Queue(addBalanceSQL, suspense, b.Stake)
		writes.Queue("COMMIT")
		if err := conn.SendBatch(ctx, &writes).Close(); err != nil {
			return fmt.Errorf("book bet %s: %w", b.ID, err)
		}
		b.PlacedAt = placedAt
		out, created = &b, true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		s.markets.add(bet.Market) // committed with the bet
	}
	return out, created, nil
}

// Bet implements ledger.Bets.
func (s *Store) Bet(ctx context.Context, id string) (*platform.Bet, error) {
	if err := platform.ValidateID("bet id", id); err != nil {
		return nil, err
	}
	b, err := queryBet(ctx, s.pool, id)
	if err != nil && platform.ErrorCode(err) == platform.EINTERNAL {
		return nil, classify(err)
	}
	return b, err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// betSQL reads bet $1 in the order scanBet scans it.
const betSQL = `SELECT id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4,
	policy, status, payout, placed_at, settled_at
	FROM bets WHERE id = $1`

func queryBet(ctx context.Context, q querier, id string) (*platform.Bet, error) {
	return scanBet(q.QueryRow(ctx, betSQL, id), id)
}

// scanBet scans the row of betSQL for bet id: ENOTFOUND when there is none.
func scanBet(row pgx.Row, id string) (*platform.Bet, error) {
	var (
		b                   platform.Bet
		requestedE4, oddsE4 int64
		status, policy      string
	)
	err := row.Scan(&b.ID, &b.Account, &b.Market, &b.Selection, &b.Stake, &requestedE4, &oddsE4,
		&policy, &status, &b.Payout, &b.PlacedAt, &b.SettledAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, platform.Errorf(platform.ENOTFOUND, "bet %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read bet %s: %w", id, err)
	}
	if b.Odds, err = platform.OddsFromE4(oddsE4); err != nil {
		return nil, fmt.Errorf("bet %s: %w", id, err)
	}
	if b.RequestedOdds, err = platform.OddsFromE4(requestedE4); err != nil {
		return nil, fmt.Errorf("bet %s requested odds: %w", id, err)
	}
	b.Status = platform.BetStatus(status)
	b.Policy = platform.PricePolicy(policy)
	return &b, nil
}
