package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

// SetMarketStatus implements ledger.Markets.
func (s *Store) SetMarketStatus(ctx context.Context, market string, status platform.MarketStatus) error {
	if err := platform.ValidateID("market", market); err != nil {
		return err
	}
	switch status {
	case platform.MarketOpen, platform.MarketSuspended, platform.MarketClosed:
	default:
		return platform.Errorf(platform.EINVALID, "market status %q is not open, suspended or closed", status)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Settled is final: a late status from the feed must not reopen a
		// market whose bets are paid.
		_, err := tx.Exec(ctx, `INSERT INTO markets (id, status) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = clock_timestamp()
			WHERE markets.status <> 'settled'`, market, string(status))
		return err
	})
}

// Market implements ledger.Markets.
func (s *Store) Market(ctx context.Context, id string) (*platform.Market, error) {
	if err := platform.ValidateID("market", id); err != nil {
		return nil, err
	}
	var (
		m      platform.Market
		status string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, status, winners, resulted_at FROM markets WHERE id = $1`, id).
		Scan(&m.ID, &status, &m.Winners, &m.ResultedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, platform.Errorf(platform.ENOTFOUND, "market %q not found", id)
	}
	if err != nil {
		return nil, classify(err)
	}
	m.Status = platform.MarketStatus(status)
	m.Resulted = m.ResultedAt != nil
	return &m, nil
}

// openBet is an accepted bet awaiting its market's result.
type openBet struct {
	id, account, selection string
	stake                  int64
	odds                   platform.Odds
	// suspense is the account the bet's stake went into, where its
	// settlement takes it from: its shard, or the old single suspense row
	// for a bet staked before migration 0003.
	suspense string
}

// SettleMarket implements ledger.Markets.
func (s *Store) SettleMarket(ctx context.Context, market string, winners []string) (*ledger.Settlement, error) {
	if err := platform.ValidateID("market", market); err != nil {
		return nil, err
	}
	// Stored in the feed's order, once each: the ledger's result is
	// compared with the feed's. Empty (not NULL) marks a void result.
	won := make(map[string]bool, len(winners))
	stored := make([]string, 0, len(winners))
	for _, w := range winners {
		if err := platform.ValidateID("winner", w); err != nil {
			return nil, err
		}
		if !won[w] {
			won[w] = true
			stored = append(stored, w)
		}
	}
	var out *ledger.Settlement
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = &ledger.Settlement{Market: market}
		if _, err := tx.Exec(ctx, `INSERT INTO markets (id, status) VALUES ($1, 'closed') ON CONFLICT (id) DO NOTHING`, market); err != nil {
			return err
		}
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM markets WHERE id = $1 FOR UPDATE`, market).Scan(&status); err != nil {
			return err
		}
		if status == string(platform.MarketSettled) {
			out.Already = true
			return nil
		}
		bets, err := openBets(ctx, tx, market)
		if err != nil {
			return err
		}
		stamps, err := settleBets(ctx, tx, bets, won, len(stored) == 0, out)
		if err != nil {
			return err
		}
		// The market row is locked since the start, so this waits on nothing.
		if _, err := tx.Exec(ctx, `UPDATE markets SET status = 'settled', winners = $2, resulted_at = clock_timestamp(),
			updated_at = clock_timestamp() WHERE id = $1`, market, stored); err != nil {
			return err
		}
		// Last write of the transaction: settled_at is what settlement lag
		// is measured by, so it is taken after every posting and every
		// balance update (house and suspense are hot rows whose locks may
		// queue), as close to commit as one transaction allows.
		return stamps.write(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func openBets(ctx context.Context, tx pgx.Tx, market string) ([]openBet, error) {
	rows, err := tx.Query(ctx, `SELECT b.id, b.account_id, b.selection_id, b.stake, b.odds_e4, p.account_id
		FROM bets b
		LEFT JOIN transactions t ON t.kind = 'stake' AND t.ref = b.id
		LEFT JOIN postings p ON p.tx_id = t.id AND p.amount > 0
		WHERE b.market_id = $1 AND b.status = 'accepted' ORDER BY b.id FOR UPDATE OF b`, market)
	if err != nil {
		return nil, fmt.Errorf("open bets of %s: %w", market, err)
	}
	var bets []openBet
	for rows.Next() {
		var (
			b      openBet
			oddsE4 int64
		)
		var suspense *string
		if err := rows.Scan(&b.id, &b.account, &b.selection, &b.stake, &oddsE4, &suspense); err != nil {
			rows.Close()
			return nil, err
		}
		if suspense == nil {
			// Not skipped: a bet left open for good would hide the fault.
			rows.Close()
			return nil, fmt.Errorf("bet %s has no stake posting into suspense", b.id)
		}
		b.suspense = *suspense
		if b.odds, err = platform.OddsFromE4(oddsE4); err != nil {
			rows.Close()
			return nil, fmt.Errorf("bet %s: %w", b.id, err)
		}
		bets = append(bets, b)
	}
	rows.Close()
	return bets, rows.Err()
}

// betStamps are the settled bets' new statuses and payouts, written by
// write with their settled_at.
type betStamps struct {
	ids, statuses []string
	payouts       []int64
}

// write sets the bets' status, payout and settled_at in one statement. The
// bets' rows were locked by openBets, so it waits on no other writer.
func (s betStamps) write(ctx context.Context, tx pgx.Tx) error {
	if len(s.ids) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE bets SET status = u.status, payout = u.payout, settled_at = clock_timestamp()
		FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(id, status, payout) WHERE bets.id = u.id`,
		s.ids, s.statuses, s.payouts); err != nil {
		return fmt.Errorf("update settled bets: %w", err)
	}
	return nil
}

// settleBets books the settlement of bets: for each, a 'settle' (won or
// lost) or 'void' transaction and its postings, and the balances they move.
// Players are locked first, in id order, before any transaction is created
// (the lock order of the package doc); house and suspense come last. The
// bets themselves are left for the caller to stamp, with the returned
// betStamps, as the transaction's last write.
func settleBets(ctx context.Context, tx pgx.Tx, bets []openBet, won map[string]bool, void bool, out *ledger.Settlement) (betStamps, error) {
	var stamps betStamps
	if len(bets) == 0 {
		return stamps, nil
	}
	var (
		txKinds, txRefs []string
		postTx          []int // index into txRefs, resolved to ids below
		postAccounts    []string
		postAmounts     []int64
		playerDelta     = map[string]int64{}
		systemDelta     = map[string]int64{} // house and suspense accounts
		post            = func(account string, amount int64) {
			if amount == 0 {
				return
			}
			postTx = append(postTx, len(txRefs)-1)
			postAccounts = append(postAccounts, account)
			postAmounts = append(postAmounts, amount)
			if platform.IsSystemAccount(account) {
				systemDelta[account] += amount
			} else {
				playerDelta[account] += amount
			}
		}
	)
	for _, b := range bets {
		var (
			status platform.BetStatus
			payout int64
			kind   = "settle"
		)
		switch {
		case void:
			status, payout, kind = platform.BetVoid, b.stake, "void"
			out.Void++
		case won[b.selection]:
			p, err := ledger.TryPayout(b.stake, b.odds)
			if err != nil {
				return betStamps{}, fmt.Errorf("bet %s: %w", b.id, err)
			}
			status, payout = platform.BetWon, p
			out.Won++
		default:
			status, payout = platform.BetLost, 0
			out.Lost++
		}
		txKinds = append(txKinds, kind)
		txRefs = append(txRefs, b.id)
		post(b.suspense, -b.stake)
		switch status {
		case platform.BetWon:
			post(platform.HouseAccount, -(payout - b.stake))
			post(b.account, payout)
		case platform.BetLost:
			post(platform.HouseAccount, b.stake)
		case platform.BetVoid:
			post(b.account, payout)
		}
		out.Paid += payout
		stamps.ids = append(stamps.ids, b.id)
		stamps.statuses = append(stamps.statuses, string(status))
		stamps.payouts = append(stamps.payouts, payout)
	}

	players := make([]string, 0, len(playerDelta))
	deltas := make([]int64, 0, len(playerDelta))
	for _, p := range slices.Sorted(maps.Keys(playerDelta)) {
		players = append(players, p)
		deltas = append(deltas, playerDelta[p])
	}
	if len(players) > 0 {
		if _, err := tx.Exec(ctx, `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, players); err != nil {
			return betStamps{}, fmt.Errorf("lock players: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = accounts.balance + u.delta
			FROM unnest($1::text[], $2::bigint[]) AS u(id, delta) WHERE accounts.id = u.id`, players, deltas); err != nil {
			return betStamps{}, fmt.Errorf("update player balances: %w", err)
		}
	}
	rows, err := tx.Query(ctx, `INSERT INTO transactions (kind, ref)
		SELECT k, r FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(k, r, n) ORDER BY n
		RETURNING id, ref`, txKinds, txRefs)
	if err != nil {
		return betStamps{}, fmt.Errorf("insert settlement transactions: %w", err)
	}
	txIDs := make(map[string]int64, len(txRefs))
	for rows.Next() {
		var (
			id  int64
			ref string
		)
		if err := rows.Scan(&id, &ref); err != nil {
			rows.Close()
			return betStamps{}, err
		}
		txIDs[ref] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return betStamps{}, fmt.Errorf("insert settlement transactions: %w", err)
	}
	postTxIDs := make([]int64, len(postTx))
	for i, n := range postTx {
		id, ok := txIDs[txRefs[n]]
		if !ok {
			return betStamps{}, fmt.Errorf("settlement transaction of bet %s has no id", txRefs[n])
		}
		postTxIDs[i] = id
	}
	if _, err := tx.Exec(ctx, `INSERT INTO postings (tx_id, account_id, amount)
		SELECT t, a, n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(t, a, n)`,
		postTxIDs, postAccounts, postAmounts); err != nil {
		return betStamps{}, fmt.Errorf("insert settlement postings: %w", err)
	}
	// The shared rows last of the rows still to lock, so their locks are
	// held for the shortest time; only the market and the bets, locked since
	// the start, are written after them. A market's bets use several
	// suspense shards: they are locked in id order (after house, which
	// sorts first), the lock order every writer follows, so settlements and
	// placements cannot deadlock on them. FOR NO KEY UPDATE, the lock the
	// UPDATE takes anyway, not FOR UPDATE: the postings inserted above and
	// by concurrent writers hold FOR KEY SHARE on these rows (the foreign
	// key), which FOR UPDATE would wait on, deadlocking two settlements
	// that share shards whatever the order.
	var (
		system       []string
		systemDeltas []int64
	)
	for _, a := range slices.Sorted(maps.Keys(systemDelta)) {
		if systemDelta[a] != 0 {
			system = append(system, a)
			systemDeltas = append(systemDeltas, systemDelta[a])
		}
	}
	if len(system) > 0 {
		if _, err := tx.Exec(ctx, `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, system); err != nil {
			return betStamps{}, fmt.Errorf("lock house and suspense: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = accounts.balance + u.delta
			FROM unnest($1::text[], $2::bigint[]) AS u(id, delta) WHERE accounts.id = u.id`, system, systemDeltas); err != nil {
			return betStamps{}, fmt.Errorf("update house and suspense balances: %w", err)
		}
	}
	return stamps, nil
}

// MarketStatuses returns every market's status as the ledger records it:
// the record the platform's hot state is rebuilt from after it is lost
// (pricing.MarketRecord).
func (s *Store) MarketStatuses(ctx context.Context) (map[string]platform.MarketStatus, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, status FROM markets`)
	if err != nil {
		return nil, classify(err)
	}
	out := map[string]platform.MarketStatus{}
	var id, status string
	if _, err := pgx.ForEachRow(rows, []any{&id, &status}, func() error {
		out[id] = platform.MarketStatus(status)
		return nil
	}); err != nil {
		return nil, classify(err)
	}
	return out, nil
}
