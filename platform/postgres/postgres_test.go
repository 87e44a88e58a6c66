package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

// mustStore opens a Store on a fresh migrated database.
func mustStore(tb testing.TB) (*postgres.Store, *pgxpool.Pool) {
	tb.Helper()
	pool := pgtest.NewPool(tb)
	return postgres.NewStore(pool), pool
}

func mustOdds(tb testing.TB, s string) platform.Odds {
	tb.Helper()
	o, err := platform.ParseOdds(s)
	if err != nil {
		tb.Fatal(err)
	}
	return o
}

func mustDeposit(tb testing.TB, s *postgres.Store, account string, amount int64) {
	tb.Helper()
	id := fmt.Sprintf("seed-%s-%d", account, amount)
	if _, _, err := s.Deposit(context.Background(), platform.TransferRequest{ID: id, Account: account, Amount: amount}); err != nil {
		tb.Fatalf("deposit %s: %v", id, err)
	}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := platform.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

func count(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	tb.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

// checkBooks asserts the double-entry invariants over the whole ledger:
// every transaction sums to zero, and every stored balance equals the sum of
// its account's postings.
func checkBooks(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	if n := count(tb, pool, `SELECT count(*) FROM (SELECT tx_id FROM postings GROUP BY tx_id HAVING sum(amount) <> 0) x`); n != 0 {
		tb.Errorf("%d transactions do not sum to zero", n)
	}
	if n := count(tb, pool, `SELECT count(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.tx_id = t.id)`); n != 0 {
		tb.Errorf("%d transactions have no postings", n)
	}
	if n := count(tb, pool, `SELECT count(*) FROM accounts a
		WHERE a.balance <> COALESCE((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0)`); n != 0 {
		tb.Errorf("%d accounts have a balance that differs from their postings", n)
	}
}

func balance(tb testing.TB, pool *pgxpool.Pool, account string) int64 {
	tb.Helper()
	return count(tb, pool, `SELECT balance FROM accounts WHERE id = $1`, account)
}

// kindBalance returns the summed balance of every account of a system kind
// (suspense and cash are sharded), and fails when the old unsharded row of
// that id was moved: nothing is booked to it any more.
func kindBalance(tb testing.TB, pool *pgxpool.Pool, kind string) int64 {
	tb.Helper()
	if got := balance(tb, pool, kind); got != 0 {
		tb.Fatalf("the old %s row holds %d, want 0: it is no longer booked to", kind, got)
	}
	return count(tb, pool, `SELECT COALESCE(sum(balance), 0) FROM accounts WHERE kind = $1`, kind)
}

func TestMigrateIsIdempotent(t *testing.T) {
	pool := pgtest.NewPool(t) // already migrated once
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	for _, version := range []string{"0001_ledger", "0002_requested_odds", "0003_system_shards"} {
		if n := count(t, pool, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version); n != 1 {
			t.Fatalf("schema_migrations has %d rows for %s, want 1", n, version)
		}
	}
	// house, the old suspense and cash rows, and 16 shards of each.
	if n := count(t, pool, `SELECT count(*) FROM accounts`); n != 3+2*platform.SystemShards {
		t.Fatalf("%d accounts after two migrations, want the %d system accounts", n, 3+2*platform.SystemShards)
	}
}

func TestDeposit(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	first, created, err := s.Deposit(ctx, platform.TransferRequest{ID: "d-1", Account: "a1", Amount: 10000})
	if err != nil || !created {
		t.Fatalf("first deposit: created=%v err=%v", created, err)
	}
	if first.Balance != 10000 {
		t.Fatalf("balance after first deposit = %d, want 10000", first.Balance)
	}
	if _, _, err := s.Deposit(ctx, platform.TransferRequest{ID: "d-2", Account: "a1", Amount: 500}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		req  platform.TransferRequest
		code string // "" = success
		// want is the Transfer a replay must return.
		want *platform.Transfer
	}{
		// A replay returns the original body, balance as it was then.
		{"replay", platform.TransferRequest{ID: "d-1", Account: "a1", Amount: 10000}, "",
			&platform.Transfer{Kind: platform.Deposit, ID: "d-1", Account: "a1", Amount: 10000, Balance: 10000}},
		// Same id, other amount: refused.
		{"other amount", platform.TransferRequest{ID: "d-1", Account: "a1", Amount: 10001}, platform.ECONFLICT, nil},
		// Same id, other account: refused, and the account is not created.
		{"other account", platform.TransferRequest{ID: "d-1", Account: "a2", Amount: 10000}, platform.ECONFLICT, nil},
		// A system account is no player's.
		{"system account", platform.TransferRequest{ID: "d-3", Account: "house", Amount: 1}, platform.EINVALID, nil},
		// Amounts must be positive.
		{"zero amount", platform.TransferRequest{ID: "d-4", Account: "a1", Amount: 0}, platform.EINVALID, nil},
		// Ids must be present.
		{"no id", platform.TransferRequest{Account: "a1", Amount: 5}, platform.EINVALID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, created, err := s.Deposit(ctx, tt.req)
			wantCode(t, err, tt.code)
			if tt.want != nil {
				if created || *got != *tt.want {
					t.Fatalf("replay = %+v created=%v, want %+v created=false", got, created, tt.want)
				}
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts WHERE id = 'a2'`); n != 0 {
		t.Fatalf("a refused deposit left account a2 behind")
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions`); n != 2 {
		t.Fatalf("%d transactions, want 2", n)
	}
	if got := balance(t, pool, "a1"); got != 10500 {
		t.Fatalf("a1 balance = %d, want 10500", got)
	}
	if got := kindBalance(t, pool, "cash"); got != -10500 {
		t.Fatalf("cash balance = %d, want -10500", got)
	}
	checkBooks(t, pool)
}

func TestWithdraw(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)

	tests := []struct {
		name string
		req  platform.TransferRequest
		code string
	}{
		// More than the balance: refused, nothing booked.
		{"short", platform.TransferRequest{ID: "w-1", Account: "a1", Amount: 1001}, platform.EFUNDS},
		// An account that never deposited has nothing to withdraw.
		{"no account", platform.TransferRequest{ID: "w-2", Account: "ghost", Amount: 1}, platform.EFUNDS},
		// Within the balance: booked.
		{"ok", platform.TransferRequest{ID: "w-3", Account: "a1", Amount: 400}, ""},
		// The same again is a replay, not a second withdrawal.
		{"replay", platform.TransferRequest{ID: "w-3", Account: "a1", Amount: 400}, ""},
		// The same id with another amount is refused.
		{"conflict", platform.TransferRequest{ID: "w-3", Account: "a1", Amount: 300}, platform.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Withdraw(ctx, tt.req)
			wantCode(t, err, tt.code)
		})
	}
	if got := balance(t, pool, "a1"); got != 600 {
		t.Fatalf("a1 balance = %d, want 600", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'withdraw'`); n != 1 {
		t.Fatalf("%d withdraw transactions, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM accounts WHERE id = 'ghost'`); n != 0 {
		t.Fatalf("a refused withdrawal created an account")
	}
	checkBooks(t, pool)
}

func bet(id, account, market, selection string, stake int64, odds platform.Odds) platform.Bet {
	return platform.Bet{ID: id, Account: account, Market: market, Selection: selection,
		Stake: stake, RequestedOdds: odds, Odds: odds}
}

func TestPlaceBet(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	odds := mustOdds(t, "2.5")
	if err := s.SetMarketStatus(ctx, "m-susp", platform.MarketSuspended); err != nil {
		t.Fatal(err)
	}

	first, created, err := s.PlaceBet(ctx, bet("b-1", "a1", "m1", "home", 300, odds))
	if err != nil || !created {
		t.Fatalf("first placement: created=%v err=%v", created, err)
	}
	if first.Status != platform.BetAccepted || first.Odds != odds || first.PlacedAt.IsZero() {
		t.Fatalf("booked bet = %+v", first)
	}

	// The same request sent again once the price has moved up to 3.
	moved := bet("b-1", "a1", "m1", "home", 300, mustOdds(t, "3"))
	moved.RequestedOdds = odds
	// A request asking for 2.6 (and priced at 2.7) cannot be the one that
	// was booked at 2.5.
	higher := bet("b-1", "a1", "m1", "home", 300, mustOdds(t, "2.7"))
	higher.RequestedOdds = mustOdds(t, "2.6")
	// A request asking for 2.0 would be satisfied by the booked 2.5, but it
	// is not the request that was booked: the same id with other odds.
	lower := bet("b-1", "a1", "m1", "home", 300, odds)
	lower.RequestedOdds = mustOdds(t, "2")
	// Accepted below what was asked for: the ledger refuses to book it.
	underpriced := bet("b-7", "a1", "m1", "home", 1, mustOdds(t, "2"))
	underpriced.RequestedOdds = odds
	// No requested odds: a resend could not be told from a new request.
	unrequested := bet("b-8", "a1", "m1", "home", 1, odds)
	unrequested.RequestedOdds = 0
	tests := []struct {
		name string
		bet  platform.Bet
		code string
	}{
		// The same content again: the booked bet, nothing new.
		{"replay", bet("b-1", "a1", "m1", "home", 300, odds), ""},
		// The same request, its price having moved up since: still a replay.
		{"replay at a new price", moved, ""},
		// Same id, other stake: refused.
		{"other stake", bet("b-1", "a1", "m1", "home", 301, odds), platform.ECONFLICT},
		// Same id, other selection: refused.
		{"other selection", bet("b-1", "a1", "m1", "away", 300, odds), platform.ECONFLICT},
		// Same id asking for more than it was booked at: not the same request.
		{"higher requested odds", higher, platform.ECONFLICT},
		// Same id asking for less: not the same request either.
		{"lower requested odds", lower, platform.ECONFLICT},
		// Accepted odds below the requested ones.
		{"underpriced", underpriced, platform.EINVALID},
		// Requested odds are required.
		{"no requested odds", unrequested, platform.EINVALID},
		// The balance (700 left) does not cover it.
		{"short", bet("b-2", "a1", "m1", "home", 701, odds), platform.EFUNDS},
		// No such player.
		{"no account", bet("b-3", "nobody", "m1", "home", 1, odds), platform.ENOTFOUND},
		// A system account is not a player.
		{"system account", bet("b-4", "house", "m1", "home", 1, odds), platform.ENOTFOUND},
		// The ledger's market is suspended.
		{"suspended", bet("b-5", "a1", "m-susp", "home", 1, odds), platform.EMARKETSUSPENDED},
		// Bad input never reaches the database.
		{"zero stake", bet("b-6", "a1", "m1", "home", 0, odds), platform.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, created, err := s.PlaceBet(ctx, tt.bet)
			wantCode(t, err, tt.code)
			if tt.code == "" && (created || got.ID != first.ID || !got.PlacedAt.Equal(first.PlacedAt) ||
				got.Odds != first.Odds || got.RequestedOdds != first.RequestedOdds) {
				t.Fatalf("replay = %+v created=%v, want the booked %+v", got, created, first)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM bets`); n != 1 {
		t.Fatalf("%d bets, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'stake'`); n != 1 {
		t.Fatalf("%d stake transactions, want 1", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.tx_id WHERE t.kind = 'stake'`); n != 2 {
		t.Fatalf("%d stake postings, want 2", n)
	}
	if got := balance(t, pool, "a1"); got != 700 {
		t.Fatalf("a1 balance = %d, want 700", got)
	}
	if got := kindBalance(t, pool, "suspense"); got != 300 {
		t.Fatalf("suspense balance = %d, want 300", got)
	}
	got, err := s.Bet(ctx, "b-1")
	if err != nil || got.Stake != 300 || got.Odds != odds || got.RequestedOdds != odds {
		t.Fatalf("Bet(b-1) = %+v, %v", got, err)
	}
	_, err = s.Bet(ctx, "b-2")
	wantCode(t, err, platform.ENOTFOUND)
	checkBooks(t, pool)
}

func TestPlaceBetConcurrentSameID(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	mustDeposit(t, s, "a2", 1000)
	odds := mustOdds(t, "1.91")

	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created int
		codes   = map[string]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the senders use another account: those must be refused,
			// whichever of the two is booked first.
			account := "a1"
			if i%2 == 1 {
				account = "a2"
			}
			_, c, err := s.PlaceBet(ctx, bet("b-race", account, "m1", "home", 100, odds))
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
			codes[platform.ErrorCode(err)]++
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("%d placements booked the bet, want 1 (codes %v)", created, codes)
	}
	if codes[""] != n/2 || codes[platform.ECONFLICT] != n/2 {
		t.Fatalf("outcomes %v, want %d successes and %d ECONFLICT", codes, n/2, n/2)
	}
	if c := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'stake' AND ref = 'b-race'`); c != 1 {
		t.Fatalf("%d stake transactions, want 1", c)
	}
	if got := balance(t, pool, "a1") + balance(t, pool, "a2"); got != 1900 {
		t.Fatalf("players hold %d, want 1900", got)
	}
	checkBooks(t, pool)
}

func TestSettleMarket(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	mustDeposit(t, s, "a2", 10000)

	place := func(id, account, market, selection string, stake int64, odds string) {
		t.Helper()
		if _, _, err := s.PlaceBet(ctx, bet(id, account, market, selection, stake, mustOdds(t, odds))); err != nil {
			t.Fatalf("place %s: %v", id, err)
		}
	}
	place("w1", "a1", "m1", "home", 333, "2.1234") // won: floor(333 × 2.1234) = 707
	place("w2", "a2", "m1", "home", 1, "1.01")     // won: floor(1.01) = 1, the house pays nothing extra
	place("l1", "a2", "m1", "away", 500, "3")      // lost
	place("v1", "a1", "m2", "home", 250, "4.5")    // void: refunded
	place("other", "a1", "m3", "home", 100, "2")   // another market: untouched

	tests := []struct {
		name    string
		market  string
		winners []string
		won     int
		lost    int
		void    int
		paid    int64
	}{
		// Winners and losers, exact integer payouts.
		{"won and lost", "m1", []string{"home"}, 2, 1, 0, 707 + 1},
		// No winners voids every bet.
		{"void", "m2", []string{}, 0, 0, 1, 250},
		// A market with no bets still gets settled.
		{"no bets", "m4", []string{"draw"}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.SettleMarket(ctx, tt.market, platform.Result{Winners: tt.winners})
			if err != nil {
				t.Fatal(err)
			}
			if got.Already || got.Won != tt.won || got.Lost != tt.lost || got.Void != tt.void || got.Paid != tt.paid {
				t.Fatalf("settlement = %+v, want won %d lost %d void %d paid %d", got, tt.won, tt.lost, tt.void, tt.paid)
			}
			m, err := s.Market(ctx, tt.market)
			if err != nil || m.Status != platform.MarketSettled || !m.Resulted || len(m.Winners) != len(tt.winners) {
				t.Fatalf("market after settlement = %+v, %v", m, err)
			}
		})
	}

	wantBets := []struct {
		id     string
		status platform.BetStatus
		payout int64
	}{
		{"w1", platform.BetWon, 707},
		{"w2", platform.BetWon, 1},
		{"l1", platform.BetLost, 0},
		{"v1", platform.BetVoid, 250},
		{"other", platform.BetAccepted, 0},
	}
	for _, w := range wantBets {
		b, err := s.Bet(ctx, w.id)
		if err != nil {
			t.Fatal(err)
		}
		if b.Status != w.status || b.Payout != w.payout || (w.status != platform.BetAccepted) != (b.SettledAt != nil) {
			t.Errorf("bet %s = %s payout %d settled_at %v, want %s payout %d", w.id, b.Status, b.Payout, b.SettledAt, w.status, w.payout)
		}
	}
	// a1: 10000 − 333 − 250 − 100 + 707 + 250; a2: 10000 − 1 − 500 + 1.
	if got := balance(t, pool, "a1"); got != 10274 {
		t.Errorf("a1 balance = %d, want 10274", got)
	}
	if got := balance(t, pool, "a2"); got != 9500 {
		t.Errorf("a2 balance = %d, want 9500", got)
	}
	if got := kindBalance(t, pool, "suspense"); got != 100 { // only the unsettled bet
		t.Errorf("suspense balance = %d, want 100", got)
	}
	if got := balance(t, pool, "house"); got != 500-(707-333) {
		t.Errorf("house balance = %d, want %d", got, 500-(707-333))
	}
	checkSettledAfterTheirTransaction(t, pool)
	checkBooks(t, pool)

	// A second result changes nothing, even with other winners.
	before := count(t, pool, `SELECT count(*) FROM postings`)
	again, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"away"}})
	if err != nil || !again.Already {
		t.Fatalf("second settlement = %+v, %v; want Already", again, err)
	}
	if after := count(t, pool, `SELECT count(*) FROM postings`); after != before {
		t.Fatalf("second settlement wrote %d postings", after-before)
	}
	if b, _ := s.Bet(ctx, "l1"); b.Status != platform.BetLost {
		t.Fatalf("second settlement changed l1 to %s", b.Status)
	}

	// A settled market stays settled and takes no more bets.
	if err := s.SetMarketStatus(ctx, "m1", platform.MarketOpen); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Market(ctx, "m1"); m.Status != platform.MarketSettled {
		t.Fatalf("status update reopened a settled market: %s", m.Status)
	}
	_, _, err = s.PlaceBet(ctx, bet("late", "a1", "m1", "home", 1, mustOdds(t, "2")))
	wantCode(t, err, platform.EMARKETSUSPENDED)
}

func TestPostingsAreAppendOnly(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 100)
	tests := []struct {
		name string
		sql  string
	}{
		// Changing an amount would silently rewrite history.
		{"update", `UPDATE postings SET amount = amount + 1`},
		// So would removing a leg.
		{"delete", `DELETE FROM postings`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pool.Exec(ctx, tt.sql); err == nil {
				t.Fatalf("%s was allowed", tt.sql)
			}
		})
	}
	if n := count(t, pool, `SELECT count(*) FROM postings`); n != 2 {
		t.Fatalf("%d postings, want 2", n)
	}
}

func TestSetMarketStatus(t *testing.T) {
	s, _ := mustStore(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		status platform.MarketStatus
		code   string
	}{
		// First sight creates the market.
		{"open", platform.MarketOpen, ""},
		// Later statuses replace it.
		{"suspended", platform.MarketSuspended, ""},
		// Settled comes only from a result.
		{"settled", platform.MarketSettled, platform.EINVALID},
		// Unknown statuses are refused.
		{"bogus", "bogus", platform.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, s.SetMarketStatus(ctx, "m1", tt.status), tt.code)
		})
	}
	m, err := s.Market(ctx, "m1")
	if err != nil || m.Status != platform.MarketSuspended || m.Resulted {
		t.Fatalf("market = %+v, %v", m, err)
	}
	_, err = s.Market(ctx, "nope")
	wantCode(t, err, platform.ENOTFOUND)
}

// TestSettlementRacesPlacement settles a market while bets on it are being
// placed: each bet must end either refused or settled, never left open on a
// settled market, and the books must balance.
func TestSettlementRacesPlacement(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	const players, perPlayer = 8, 10
	for p := range players {
		mustDeposit(t, s, fmt.Sprintf("p%d", p), 1_000_000)
	}
	odds := mustOdds(t, "1.95")
	var wg sync.WaitGroup
	settled := make(chan struct{})
	for p := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perPlayer {
				if p == 0 && i == perPlayer/2 {
					close(settled) // the settler starts mid-way
				}
				sel := "home"
				if i%2 == 1 {
					sel = "away"
				}
				_, _, err := s.PlaceBet(ctx, bet(fmt.Sprintf("b-%d-%d", p, i), fmt.Sprintf("p%d", p), "m1", sel, 100, odds))
				if code := platform.ErrorCode(err); code != "" && code != platform.EMARKETSUSPENDED {
					t.Errorf("place: %v", err)
				}
			}
		}()
	}
	<-settled
	if _, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if n := count(t, pool, `SELECT count(*) FROM bets WHERE market_id = 'm1' AND status = 'accepted'`); n != 0 {
		t.Fatalf("%d bets left open on the settled market", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM bets b WHERE NOT EXISTS
		(SELECT 1 FROM transactions t WHERE t.ref = b.id AND t.kind = 'settle')`); n != 0 {
		t.Fatalf("%d bets without a settlement", n)
	}
	if n := kindBalance(t, pool, "suspense"); n != 0 {
		t.Fatalf("suspense holds %d after settlement", n)
	}
	checkSettledAfterTheirTransaction(t, pool)
	checkBooks(t, pool)
}

// TestPlaceBetPolicy: the store books each policy's odds and keeps the
// policy, and refuses accepted odds the policy does not allow, whatever the
// caller says.
func TestPlaceBetPolicy(t *testing.T) {
	s, _ := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 1000)
	for _, tt := range []struct {
		id              string
		policy          platform.PricePolicy
		requested, odds platform.Odds
		code            string
	}{
		{"e1", platform.PolicyExact, 20000, 20000, ""},
		{"e2", platform.PolicyExact, 20000, 21000, platform.EINVALID},
		{"b1", platform.PolicyBetter, 20000, 21000, ""},
		{"b2", "", 21000, 20000, platform.EINVALID},
		{"a1", platform.PolicyAny, 21000, 20000, ""},
	} {
		b := bet(tt.id, "a1", "m1", "home", 10, tt.requested)
		b.Odds, b.Policy = tt.odds, tt.policy
		got, _, err := s.PlaceBet(ctx, b)
		wantCode(t, err, tt.code)
		if tt.code != "" {
			continue
		}
		read, err := s.Bet(ctx, tt.id)
		if err != nil || read.Policy != tt.policy.OrDefault() || read.Odds != tt.odds || read.RequestedOdds != tt.requested || got.Policy != read.Policy {
			t.Errorf("%s: booked %+v, read back %+v, %v", tt.id, got, read, err)
		}
	}
}
