package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

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
func (s *Store) SettleMarket(ctx context.Context, market string, r platform.Result) (*ledger.Settlement, error) {
	if err := platform.ValidateID("market", market); err != nil {
		return nil, err
	}
	// Stored in the feed's order, once each: the ledger's result is
	// compared with the feed's. Empty (not NULL) marks a void result.
	stored := make([]string, 0, len(r.Winners))
	for _, w := range r.Winners {
		if err := platform.ValidateID("winner", w); err != nil {
			return nil, err
		}
		if !slices.Contains(stored, w) {
			stored = append(stored, w)
		}
	}
	r.Winners = stored
	if err := r.Validate(); err != nil {
		return nil, err
	}
	var out *ledger.Settlement
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = &ledger.Settlement{Market: market}
		status, generation, err := lockMarket(ctx, tx, market)
		if err != nil {
			return err
		}
		switch {
		case r.Rollbacks < generation:
			// A result the feed has since rolled back: stale.
			out.Already = true
			return nil
		case r.Rollbacks > generation && status == string(platform.MarketSettled):
			// The rollbacks before this result never arrived: undo the
			// settlement they undid first.
			if _, err := reverseSettlement(ctx, tx, market, generation); err != nil {
				return err
			}
		case status == string(platform.MarketSettled):
			out.Already = true
			return nil
		}
		bets, err := openBets(ctx, tx, market)
		if err != nil {
			return err
		}
		stamps, err := settleBets(ctx, tx, bets, r, out)
		if err != nil {
			return err
		}
		// The market row is locked since the start, so this waits on nothing.
		if _, err := tx.Exec(ctx, `UPDATE markets SET status = 'settled', winners = $2, resulted_at = clock_timestamp(),
			rollbacks = $3, updated_at = clock_timestamp() WHERE id = $1`, market, stored, r.Rollbacks); err != nil {
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

// RollbackMarket implements ledger.Markets.
func (s *Store) RollbackMarket(ctx context.Context, market string, n int64) (*ledger.Rollback, error) {
	if err := platform.ValidateID("market", market); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, platform.Errorf(platform.EINVALID, "rollback number %d of market %q is below 1", n, market)
	}
	var out *ledger.Rollback
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = &ledger.Rollback{Market: market}
		status, generation, err := lockMarket(ctx, tx, market)
		if err != nil {
			return err
		}
		if n <= generation {
			out.Already = true
			return nil
		}
		if status == string(platform.MarketSettled) {
			if out, err = reverseSettlement(ctx, tx, market, generation); err != nil {
				return err
			}
		}
		// Closed, not open: the market's bets wait for its resettlement,
		// and the feed reopens it if it ever takes bets again.
		_, err = tx.Exec(ctx, `UPDATE markets SET rollbacks = $2, updated_at = clock_timestamp(),
			status = CASE WHEN status = 'settled' THEN 'closed' ELSE status END,
			winners = CASE WHEN status = 'settled' THEN NULL ELSE winners END,
			resulted_at = CASE WHEN status = 'settled' THEN NULL ELSE resulted_at END
			WHERE id = $1`, market, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockMarket creates market (closed) if the ledger has not seen it, locks
// its row and returns its status and settlement generation.
func lockMarket(ctx context.Context, tx pgx.Tx, market string) (status string, generation int64, err error) {
	if _, err := tx.Exec(ctx, `INSERT INTO markets (id, status) VALUES ($1, 'closed') ON CONFLICT (id) DO NOTHING`, market); err != nil {
		return "", 0, err
	}
	err = tx.QueryRow(ctx, `SELECT status, rollbacks FROM markets WHERE id = $1 FOR UPDATE`, market).Scan(&status, &generation)
	return status, generation, err
}

// reverseSettlement books a rollback of every settle or void transaction
// of generation that market's bets have, each with the exact opposite of
// its postings, and opens the bets again (accepted, payout 0, settled_at
// NULL). A cashed-out bet has neither and is not touched. The caller holds
// the market's row lock and updates the market itself. A rollback that
// would take a player below zero (the winnings are spent) is refused with
// EINVALID and books nothing: the ledger cannot hold a player's debt.
func reverseSettlement(ctx context.Context, tx pgx.Tx, market string, generation int64) (*ledger.Rollback, error) {
	out := &ledger.Rollback{Market: market}
	rows, err := tx.Query(ctx, `SELECT b.id, t.id FROM bets b
		JOIN transactions t ON t.ref = b.id AND t.kind IN ('settle', 'void') AND t.generation = $2
		WHERE b.market_id = $1 AND b.status IN ('won', 'lost', 'void') ORDER BY b.id FOR UPDATE OF b`, market, generation)
	if err != nil {
		return nil, fmt.Errorf("settled bets of %s: %w", market, err)
	}
	var (
		betIDs []string
		txOf   = map[int64]int{} // settlement tx id → index in betIDs
		txIDs  []int64
	)
	for rows.Next() {
		var (
			id   string
			txID int64
		)
		if err := rows.Scan(&id, &txID); err != nil {
			rows.Close()
			return nil, err
		}
		txOf[txID] = len(betIDs)
		betIDs = append(betIDs, id)
		txIDs = append(txIDs, txID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("settled bets of %s: %w", market, err)
	}
	if len(betIDs) == 0 {
		return out, nil
	}
	rows, err = tx.Query(ctx, `SELECT tx_id, account_id, amount FROM postings WHERE tx_id = ANY($1) ORDER BY id`, txIDs)
	if err != nil {
		return nil, fmt.Errorf("settlement postings of %s: %w", market, err)
	}
	var (
		postBet      []int
		postAccounts []string
		postAmounts  []int64
		playerDelta  = map[string]int64{}
		systemDelta  = map[string]int64{}
	)
	for rows.Next() {
		var (
			txID    int64
			account string
			amount  int64
		)
		if err := rows.Scan(&txID, &account, &amount); err != nil {
			rows.Close()
			return nil, err
		}
		postBet = append(postBet, txOf[txID])
		postAccounts = append(postAccounts, account)
		postAmounts = append(postAmounts, -amount)
		if platform.IsSystemAccount(account) {
			systemDelta[account] -= amount
		} else {
			playerDelta[account] -= amount
			out.Reversed += amount
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("settlement postings of %s: %w", market, err)
	}

	// The lock order of settlement: players, then house and suspense.
	players := slices.Sorted(maps.Keys(playerDelta))
	deltas := make([]int64, len(players))
	for i, p := range players {
		deltas[i] = playerDelta[p]
	}
	if len(players) > 0 {
		short, err := tx.Query(ctx, `SELECT a.id, a.balance, u.delta FROM accounts a
			JOIN unnest($1::text[], $2::bigint[]) AS u(id, delta) ON a.id = u.id
			ORDER BY a.id FOR UPDATE OF a`, players, deltas)
		if err != nil {
			return nil, fmt.Errorf("lock players: %w", err)
		}
		var problems []string
		for short.Next() {
			var (
				id             string
				balance, delta int64
			)
			if err := short.Scan(&id, &balance, &delta); err != nil {
				short.Close()
				return nil, err
			}
			if balance+delta < 0 {
				problems = append(problems, fmt.Sprintf("player %s holds %d but the rollback takes back %d", id, balance, -delta))
			}
		}
		short.Close()
		if err := short.Err(); err != nil {
			return nil, fmt.Errorf("lock players: %w", err)
		}
		if len(problems) > 0 {
			return nil, platform.Errorf(platform.EINVALID, "rollback of market %q not booked: %s", market, strings.Join(problems, "; "))
		}
		if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = accounts.balance + u.delta
			FROM unnest($1::text[], $2::bigint[]) AS u(id, delta) WHERE accounts.id = u.id`, players, deltas); err != nil {
			return nil, fmt.Errorf("update player balances: %w", err)
		}
	}
	ids := make(map[string]int64, len(betIDs))
	txRows, err := tx.Query(ctx, `INSERT INTO transactions (kind, ref, generation)
		SELECT 'rollback', r, $2 FROM unnest($1::text[]) WITH ORDINALITY AS u(r, n) ORDER BY n
		RETURNING id, ref`, betIDs, generation)
	if err != nil {
		return nil, fmt.Errorf("insert rollback transactions: %w", err)
	}
	for txRows.Next() {
		var (
			id  int64
			ref string
		)
		if err := txRows.Scan(&id, &ref); err != nil {
			txRows.Close()
			return nil, err
		}
		ids[ref] = id
	}
	txRows.Close()
	if err := txRows.Err(); err != nil {
		return nil, fmt.Errorf("insert rollback transactions: %w", err)
	}
	postTxIDs := make([]int64, len(postBet))
	for i, b := range postBet {
		postTxIDs[i] = ids[betIDs[b]]
	}
	if _, err := tx.Exec(ctx, `INSERT INTO postings (tx_id, account_id, amount)
		SELECT t, a, n FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(t, a, n)`,
		postTxIDs, postAccounts, postAmounts); err != nil {
		return nil, fmt.Errorf("insert rollback postings: %w", err)
	}
	if err := moveSystem(ctx, tx, systemDelta); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE bets SET status = 'accepted', payout = 0, settled_at = NULL WHERE id = ANY($1)`, betIDs); err != nil {
		return nil, fmt.Errorf("reopen bets: %w", err)
	}
	out.Reopened = len(betIDs)
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
func settleBets(ctx context.Context, tx pgx.Tx, bets []openBet, r platform.Result, out *ledger.Settlement) (betStamps, error) {
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
			status = platform.BetLost
			kind   = "settle"
		)
		payout, err := ledger.SettledPayout(b.stake, b.odds, b.selection, r)
		if err != nil {
			return betStamps{}, fmt.Errorf("bet %s: %w", b.id, err)
		}
		switch {
		case r.Void():
			status, kind = platform.BetVoid, "void"
			out.Void++
		case slices.Contains(r.Winners, b.selection):
			status = platform.BetWon
			out.Won++
		default:
			out.Lost++
		}
		txKinds = append(txKinds, kind)
		txRefs = append(txRefs, b.id)
		// Suspense gives the stake back, the player gets the payout and
		// house the difference: one scheme for a win, a loss, a void and a
		// partial void (docs/ledger.md).
		post(b.suspense, -b.stake)
		post(platform.HouseAccount, b.stake-payout)
		post(b.account, payout)
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
	rows, err := tx.Query(ctx, `INSERT INTO transactions (kind, ref, generation)
		SELECT k, r, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(k, r, n) ORDER BY n
		RETURNING id, ref`, txKinds, txRefs, r.Rollbacks)
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
	// House and suspense last (moveSystem says why).
	if err := moveSystem(ctx, tx, systemDelta); err != nil {
		return betStamps{}, err
	}
	return stamps, nil
}

// moveSystem moves house and suspense by delta. They are the shared rows,
// locked last of the rows still to lock, so their locks are held for the
// shortest time; only the market and the bets, locked since the start,
// are written after them. A market's bets use several suspense shards:
// they are locked in id order (after house, which sorts first), the lock
// order every writer follows, so settlements and placements cannot
// deadlock on them. FOR NO KEY UPDATE, the lock the UPDATE takes anyway,
// not FOR UPDATE: the postings inserted before and by concurrent writers
// hold FOR KEY SHARE on these rows (the foreign key), which FOR UPDATE
// would wait on, deadlocking two settlements that share shards whatever
// the order.
func moveSystem(ctx context.Context, tx pgx.Tx, delta map[string]int64) error {
	var (
		system []string
		deltas []int64
	)
	for _, a := range slices.Sorted(maps.Keys(delta)) {
		if delta[a] != 0 {
			system = append(system, a)
			deltas = append(deltas, delta[a])
		}
	}
	if len(system) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, system); err != nil {
		return fmt.Errorf("lock house and suspense: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = accounts.balance + u.delta
		FROM unnest($1::text[], $2::bigint[]) AS u(id, delta) WHERE accounts.id = u.id`, system, deltas); err != nil {
		return fmt.Errorf("update house and suspense balances: %w", err)
	}
	return nil
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
