package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

// checkShards asserts that every suspense shard holds, by its stored
// balance and by its postings, exactly the stakes of its open bets, that
// every stake went into its bet's shard, and that the old single rows are
// untouched.
func checkShards(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	if n := count(tb, pool, `SELECT count(*) FROM transactions t JOIN postings p ON p.tx_id = t.id
		JOIN accounts a ON a.id = p.account_id
		WHERE t.kind = 'stake' AND a.kind = 'suspense'`); n != count(tb, pool, `SELECT count(*) FROM bets`) {
		tb.Errorf("%d stake postings into suspense, want one per bet", n)
	}
	rows, err := pool.Query(context.Background(), `SELECT t.ref, p.account_id FROM transactions t
		JOIN postings p ON p.tx_id = t.id JOIN accounts a ON a.id = p.account_id
		WHERE a.kind IN ('suspense', 'cash')`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref, account string
		if err := rows.Scan(&ref, &account); err != nil {
			tb.Fatal(err)
		}
		if want := platform.SuspenseShard(ref); account != want && account != platform.CashShard(ref) {
			tb.Errorf("%s posted to %s, want its shard %s or %s", ref, account, want, platform.CashShard(ref))
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if n := count(tb, pool, `SELECT count(*) FROM accounts a WHERE a.kind = 'suspense' AND (
		a.balance <> COALESCE((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0) OR
		a.balance <> COALESCE((SELECT sum(b.stake) FROM bets b JOIN transactions t ON t.kind = 'stake' AND t.ref = b.id
			JOIN postings p ON p.tx_id = t.id AND p.account_id = a.id WHERE b.status = 'accepted'), 0))`); n != 0 {
		tb.Errorf("%d suspense shards differ from their postings or their open stakes", n)
	}
	for _, id := range []string{platform.SuspenseAccount, platform.CashAccount} {
		if n := count(tb, pool, `SELECT count(*) FROM postings WHERE account_id = $1`, id); n != 0 {
			tb.Errorf("%d postings into the old %s row", n, id)
		}
	}
}

// TestBetsUseTheirSuspenseShard checks that bets on different ids land on
// different suspense shards, transfers on their cash shards, and that each
// shard's balance follows its postings through placement and settlement.
func TestBetsUseTheirSuspenseShard(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 100_000)
	odds := mustOdds(t, "2")
	// Ids picked so that at least two shards are used, whatever the hash.
	ids := map[string]string{} // shard -> bet id
	for i := 0; len(ids) < 4; i++ {
		id := fmt.Sprintf("bet-%d", i)
		if _, ok := ids[platform.SuspenseShard(id)]; !ok {
			ids[platform.SuspenseShard(id)] = id
		}
	}
	stake := int64(100)
	for shard, id := range ids {
		if _, _, err := s.PlaceBet(ctx, bet(id, "a1", "m1", "home", stake, odds)); err != nil {
			t.Fatalf("place %s: %v", id, err)
		}
		if got := balance(t, pool, shard); got != stake {
			t.Errorf("shard %s of bet %s holds %d, want its stake %d", shard, id, got, stake)
		}
		stake += 100
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts WHERE kind = 'suspense' AND balance > 0`); n != 4 {
		t.Fatalf("%d suspense shards hold stakes, want 4 (one per bet)", n)
	}
	checkShards(t, pool)
	if _, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts WHERE kind = 'suspense' AND balance <> 0`); n != 0 {
		t.Fatalf("%d suspense shards hold money after settlement", n)
	}
	checkShards(t, pool)
	checkBooks(t, pool)
}

// TestSettlementAndPlacementDoNotDeadlock runs settlements of several
// markets at once (each touching many suspense shards, and players of its
// own) against placements and deposits, on a Store that does not retry: a
// deadlock between them would surface as an error here instead of as a
// hidden retry.
func TestSettlementAndPlacementDoNotDeadlock(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewStoreAttempts(pool, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const players, markets, perPlayer = 16, 8, 32
	for p := range players {
		mustDeposit(t, s, fmt.Sprintf("p%d", p), 1_000_000)
	}
	odds := mustOdds(t, "1.95")
	// The placers book half their bets, then all settlers start at once
	// (settlements overlapping one another is where an unordered lock of
	// the shards would deadlock) while the placers go on.
	var wg, half sync.WaitGroup
	half.Add(players)
	for p := range players {
		wg.Go(func() {
			account := fmt.Sprintf("p%d", p)
			for i := range perPlayer {
				if i == perPlayer/2 {
					half.Done()
				}
				_, _, err := s.PlaceBet(ctx, bet(fmt.Sprintf("b-%d-%d", p, i), account,
					fmt.Sprintf("m%d", p%markets), "home", 100, odds))
				if code := platform.ErrorCode(err); code != "" && code != platform.EMARKETSUSPENDED {
					t.Errorf("place: %v", err)
				}
				if i%4 == 0 {
					req := platform.TransferRequest{ID: fmt.Sprintf("d-%d-%d", p, i), Account: account, Amount: 50}
					if _, _, err := s.Deposit(ctx, req); err != nil {
						t.Errorf("deposit: %v", err)
					}
				}
			}
		})
	}
	half.Wait()
	start := make(chan struct{})
	for m := range markets {
		wg.Go(func() {
			<-start
			// Voided markets touch no house row, and each market has
			// its own players, so two voids share only suspense shards.
			winners := []string{}
			if m%2 == 1 {
				winners = []string{"home"}
			}
			if _, err := s.SettleMarket(ctx, fmt.Sprintf("m%d", m), platform.Result{Winners: winners}); err != nil {
				t.Errorf("settle m%d: %v", m, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE status = 'accepted'`); n != 0 {
		t.Fatalf("%d bets left open on settled markets", n)
	}
	checkShards(t, pool)
	checkBooks(t, pool)
}
