package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
)

// TestBatchAnswersEachBet books one chosen batch and checks that every bet
// in it gets the answer it would get alone, booked after the bets before
// it: its own idempotency, funds, market and account.
func TestBatchAnswersEachBet(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	mustDeposit(t, s, "a2", 500)
	odds := mustOdds(t, "2")
	if err := s.SetMarketStatus(ctx, "m-susp", platform.MarketSuspended); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SettleMarket(ctx, "m-done", platform.Result{Winners: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	old, _, err := s.PlaceBet(ctx, bet("old", "a1", "m1", "home", 100, odds))
	if err != nil {
		t.Fatal(err)
	}

	rows := []struct {
		name    string
		bet     platform.Bet
		code    string
		created bool
		twinOf  int // for a replay of a bet of this batch: its row, else -1
	}{
		// A bet booked before the batch, sent again: the booked bet.
		{"replay of a booked bet", bet("old", "a1", "m1", "home", 100, odds), "", false, -1},
		// The same id with other content.
		{"conflict with a booked bet", bet("old", "a1", "m1", "home", 101, odds), platform.ECONFLICT, false, -1},
		// a1 has 900: booked, 400 left.
		{"new", bet("n1", "a1", "m1", "home", 500, odds), "", true, -1},
		// Sees n1's debit: 400 does not cover 500.
		{"short after an earlier bet", bet("n2", "a1", "m1", "home", 500, odds), platform.EFUNDS, false, -1},
		// Fits what is left, on a market nobody has named yet: created open.
		{"new market", bet("n3", "a1", "m2", "home", 400, odds), "", true, -1},
		// A copy of n1 in the same batch: booked once, the same answer.
		{"twin in the batch", bet("n1", "a1", "m1", "home", 500, odds), "", false, 2},
		// n1 again with other content: refused like a resend would be.
		{"conflict with a twin", bet("n1", "a1", "m1", "away", 500, odds), platform.ECONFLICT, false, -1},
		// Suspended: refused, and only this bet.
		{"suspended market", bet("s1", "a2", "m-susp", "home", 100, odds), platform.EMARKETSUSPENDED, false, -1},
		// Settled: never booked on a market settlement has closed.
		{"settled market", bet("d1", "a2", "m-done", "home", 100, odds), platform.EMARKETSUSPENDED, false, -1},
		// No such player.
		{"no account", bet("g1", "ghost", "m1", "home", 1, odds), platform.ENOTFOUND, false, -1},
		// Another player, its own balance.
		{"other account", bet("n4", "a2", "m1", "home", 500, odds), "", true, -1},
		// n2 again: it failed, so it is judged afresh, and fails again.
		{"resend of a refused bet", bet("n2", "a1", "m1", "home", 500, odds), platform.EFUNDS, false, -1},
	}
	bets := make([]platform.Bet, len(rows))
	for i, r := range rows {
		bets[i] = r.bet
	}
	answers := s.BookBatch(ctx, bets...)
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			a := answers[i]
			wantCode(t, a.Err, r.code)
			if a.Created != r.created {
				t.Fatalf("created = %v, want %v", a.Created, r.created)
			}
			if r.code != "" {
				return
			}
			want := r.bet
			switch {
			case r.twinOf >= 0:
				want = *answers[r.twinOf].Bet
			case r.bet.ID == old.ID:
				want = *old
			}
			if a.Bet.ID != want.ID || a.Bet.Stake != want.Stake || a.Bet.Status != platform.BetAccepted ||
				a.Bet.PlacedAt.IsZero() || (!r.created && !a.Bet.PlacedAt.Equal(want.PlacedAt)) {
				t.Fatalf("bet = %+v, want %+v", a.Bet, want)
			}
			stored, err := s.Bet(ctx, a.Bet.ID)
			if err != nil || !stored.PlacedAt.Equal(a.Bet.PlacedAt) {
				t.Fatalf("stored %+v, %v; answered placed_at %v", stored, err, a.Bet.PlacedAt)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM bets`); n != 4 {
		t.Errorf("%d bets, want 4 (old, n1, n3, n4)", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'stake'`); n != 4 {
		t.Errorf("%d stake transactions, want one per bet", n)
	}
	// The batch's bets were one database transaction.
	if n := count(t, pool, `SELECT count(DISTINCT xmin::text) FROM bets WHERE id IN ('n1', 'n3', 'n4')`); n != 1 {
		t.Errorf("the batch's bets were written by %d transactions, want 1", n)
	}
	if got := balance(t, pool, "a1"); got != 0 {
		t.Errorf("a1 balance = %d, want 0", got)
	}
	if got := balance(t, pool, "a2"); got != 0 {
		t.Errorf("a2 balance = %d, want 0", got)
	}
	if m, err := s.Market(ctx, "m2"); err != nil || m.Status != platform.MarketOpen {
		t.Errorf("market m2 = %+v, %v; want it created open", m, err)
	}
	checkShards(t, pool)
	checkBooks(t, pool)
}

// TestBatchFailureBooksNothing makes the database refuse one bet of a batch
// for a store reason: every bet of the batch gets the error and none is
// booked, and the next batch books normally.
func TestBatchFailureBooksNothing(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	odds := mustOdds(t, "2")
	if _, err := pool.Exec(ctx, `CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'poisoned bet %', NEW.id; END $$;
		CREATE TRIGGER poison BEFORE INSERT ON bets FOR EACH ROW WHEN (NEW.id = 'poison') EXECUTE FUNCTION poison()`); err != nil {
		t.Fatal(err)
	}
	answers := s.BookBatch(ctx, bet("ok-1", "a1", "m1", "home", 100, odds),
		bet("poison", "a1", "m1", "home", 100, odds), bet("ok-2", "a1", "m1", "home", 100, odds))
	for i, a := range answers {
		if platform.ErrorCode(a.Err) != platform.EINTERNAL || a.Created || a.Bet != nil {
			t.Errorf("answer %d = %+v, want EINTERNAL and nothing booked", i, a)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM bets`); n != 0 {
		t.Fatalf("a failed batch left %d bets", n)
	}
	if got := balance(t, pool, "a1"); got != 1000 {
		t.Fatalf("a failed batch moved a1 to %d", got)
	}
	if _, created, err := s.PlaceBet(ctx, bet("ok-1", "a1", "m1", "home", 100, odds)); err != nil || !created {
		t.Fatalf("next bet: created=%v err=%v", created, err)
	}
	checkShards(t, pool)
	checkBooks(t, pool)
}

// TestGroupCommitConcurrent sends, all at once, bets that must share
// batches: one account overspent by 40 bets, 20 copies of one id, one
// conflicting copy, bets on a suspended market among open ones, and a mix
// across accounts, some short and one unknown.
func TestGroupCommitConcurrent(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	odds := mustOdds(t, "1.5")
	const (
		solo       = 40 // bets of 100 on an account holding 1000
		copies     = 20 // senders of one bet id
		mixPlayers = 8
		mixBets    = 25
	)
	mustDeposit(t, s, "solo", 1000)
	mustDeposit(t, s, "twin", 1000)
	for p := range mixPlayers {
		mustDeposit(t, s, fmt.Sprintf("mix%d", p), int64(1000*(p+1))) // mix0 runs short
	}
	if err := s.SetMarketStatus(ctx, "m-susp", platform.MarketSuspended); err != nil {
		t.Fatal(err)
	}

	type outcome struct {
		bet     platform.Bet
		got     *platform.Bet
		created bool
		err     error
	}
	var (
		sends []platform.Bet
		mu    sync.Mutex
		outs  []outcome
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range solo {
		sends = append(sends, bet(fmt.Sprintf("solo-%d", i), "solo", "m1", "home", 100, odds))
	}
	for range copies {
		sends = append(sends, bet("dup", "twin", "m1", "home", 300, odds))
	}
	sends = append(sends, bet("dup", "twin", "m1", "home", 301, odds)) // the conflicting copy
	for p := range mixPlayers {
		for i := range mixBets {
			market := fmt.Sprintf("m%d", i%4)
			if i%5 == 0 {
				market = "m-susp"
			}
			sends = append(sends, bet(fmt.Sprintf("mix-%d-%d", p, i), fmt.Sprintf("mix%d", p), market, "home", 100, odds))
		}
	}
	sends = append(sends, bet("ghost-1", "ghost", "m1", "home", 100, odds))
	for _, b := range sends {
		wg.Go(func() {
			<-start
			got, created, err := s.PlaceBet(ctx, b)
			mu.Lock()
			defer mu.Unlock()
			outs = append(outs, outcome{b, got, created, err})
		})
	}
	close(start)
	wg.Wait()

	codes := map[string]map[string]int{} // account -> code -> count
	var dupCreated, dupReplayed, dupConflict int
	var dupAt time.Time
	for _, o := range outs {
		code := platform.ErrorCode(o.err)
		if codes[o.bet.Account] == nil {
			codes[o.bet.Account] = map[string]int{}
		}
		codes[o.bet.Account][code]++
		if code == "" && o.got.Market == "m-susp" {
			t.Errorf("bet %s booked on a suspended market", o.bet.ID)
		}
		if o.bet.ID != "dup" {
			if code == "" && !o.created {
				t.Errorf("bet %s answered as a replay", o.bet.ID)
			}
			continue
		}
		switch {
		case code == platform.ECONFLICT:
			dupConflict++
		case code != "":
			t.Errorf("copy of dup: %v", o.err)
		case o.created:
			dupCreated++
			dupAt = o.got.PlacedAt
		default:
			dupReplayed++
		}
	}
	for _, o := range outs {
		if o.bet.ID == "dup" && o.err == nil && !o.got.PlacedAt.Equal(dupAt) {
			t.Errorf("a copy of dup answered placed_at %v, the booked one %v", o.got.PlacedAt, dupAt)
		}
	}

	// Whichever content of dup came first is booked, once; every other
	// send is a replay of it or a conflict with it.
	if dupCreated != 1 || dupCreated+dupReplayed+dupConflict != copies+1 {
		t.Errorf("dup: %d created, %d replays, %d conflicts; want 1 created of %d sends", dupCreated, dupReplayed, dupConflict, copies+1)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'stake' AND ref = 'dup'`); n != 1 {
		t.Errorf("dup has %d stake transactions, want 1", n)
	}
	// Exactly the covered bets of solo, no more.
	if c := codes["solo"]; c[""] != 10 || c[platform.EFUNDS] != solo-10 {
		t.Errorf("solo outcomes %v, want 10 accepted and %d EFUNDS", c, solo-10)
	}
	if got := balance(t, pool, "solo"); got != 0 {
		t.Errorf("solo balance = %d, want 0", got)
	}
	// Each mix player: every bet on the suspended market refused; of the
	// 20 others, as many as its balance covers.
	for p := range mixPlayers {
		account := fmt.Sprintf("mix%d", p)
		covered := min(20, (p+1)*10)
		c := codes[account]
		if c[platform.EMARKETSUSPENDED] != 5 || c[""] != covered || c[platform.EFUNDS] != 20-covered {
			t.Errorf("%s outcomes %v, want 5 EMARKETSUSPENDED, %d accepted, %d EFUNDS", account, c, covered, 20-covered)
		}
		if got, want := balance(t, pool, account), int64(1000*(p+1)-100*covered); got != want {
			t.Errorf("%s balance = %d, want %d", account, got, want)
		}
	}
	if c := codes["ghost"]; c[platform.ENOTFOUND] != 1 {
		t.Errorf("ghost outcomes %v, want ENOTFOUND", c)
	}
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE market_id = 'm-susp'`); n != 0 {
		t.Errorf("%d bets on the suspended market", n)
	}
	// They did share transactions, or this tested nothing of group commit.
	if txs, bets := count(t, pool, `SELECT count(DISTINCT xmin::text) FROM bets`), count(t, pool, `SELECT count(*) FROM bets`); txs >= bets {
		t.Errorf("%d bets were written by %d transactions: no batch held two", bets, txs)
	} else {
		t.Logf("%d bets in %d database transactions", bets, txs)
	}
	checkShards(t, pool)
	checkBooks(t, pool)
}

// waitForLockWait waits until a backend of this database waits on a lock.
func waitForLockWait(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if count(tb, pool, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0 {
			return
		}
	}
	tb.Fatal("no backend waits on a lock")
}

// TestPlaceBetCancelled holds a player's row so that the batch of its first
// bet stalls in flight, then cancels the callers of that bet and of a
// second one still queued behind it: the queued one is not booked and
// answers at once with its context's error; the sent one answers with what
// committed.
func TestPlaceBetCancelled(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	odds := mustOdds(t, "2")
	// A market the first bet creates would be locked by its stalled
	// batch, so the market exists before.
	if err := s.SetMarketStatus(ctx, "m1", platform.MarketOpen); err != nil {
		t.Fatal(err)
	}
	hold, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT 1 FROM accounts WHERE id = 'a1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}

	sentCtx, cancelSent := context.WithCancel(ctx)
	sent := make(chan error, 1)
	go func() {
		_, created, err := s.PlaceBet(sentCtx, bet("sent", "a1", "m1", "home", 100, odds))
		if err == nil && !created {
			err = errors.New("booked as a replay")
		}
		sent <- err
	}()
	waitForLockWait(t, pool)

	queuedCtx, cancelQueued := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() {
		_, _, err := s.PlaceBet(queuedCtx, bet("queued", "a1", "m1", "home", 100, odds))
		queued <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it queue behind the stalled batch
	cancelQueued()
	cancelSent()
	select {
	case err := <-queued:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("queued bet: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled queued bet did not answer while its account's batch was stalled")
	}
	select {
	case err := <-sent:
		t.Fatalf("the sent bet answered (%v) before its batch could commit", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("sent bet: %v, want it booked", err)
	}
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE id = 'queued'`); n != 0 {
		t.Fatal("the withdrawn bet was booked")
	}
	if got := balance(t, pool, "a1"); got != 900 {
		t.Fatalf("a1 balance = %d, want 900", got)
	}
	checkBooks(t, pool)
}

// TestStoreClose checks that Close waits for queued bets and then refuses
// new ones.
func TestStoreClose(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	odds := mustOdds(t, "2")
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, _, err := s.PlaceBet(ctx, bet(fmt.Sprintf("b-%d", i), "a1", "m1", "home", 10, odds)); err != nil {
				t.Errorf("bet %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	s.Close()
	if _, _, err := s.PlaceBet(ctx, bet("late", "a1", "m1", "home", 10, odds)); err == nil {
		t.Fatal("a closed store booked a bet")
	}
	if n := count(t, pool, `SELECT count(*) FROM bets`); n != 10 {
		t.Fatalf("%d bets, want 10", n)
	}
	checkBooks(t, pool)
}
