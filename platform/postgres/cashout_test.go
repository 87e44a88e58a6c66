package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

// TestCashout books a cash-out and checks the ledger's side of it: one
// cashout transaction with the postings docs/ledger.md names, the bet
// cashed out for the amount, the cash-out's row, and the answers to a
// resend, a conflicting id, a closed bet and a suspended market.
func TestCashout(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	for _, b := range []platform.Bet{
		bet("b1", "a1", "m1", "home", 1000, mustOdds(t, "3")),
		bet("b2", "a1", "m1", "away", 500, mustOdds(t, "2")),
		bet("b3", "a1", "m2", "home", 500, mustOdds(t, "2")),
	} {
		if _, _, err := s.PlaceBet(ctx, b); err != nil {
			t.Fatalf("place %s: %v", b.ID, err)
		}
	}
	got, c, created, err := s.Cashout(ctx, platform.CashoutRequest{ID: "c1", Bet: "b1", Amount: 1500})
	if err != nil || !created {
		t.Fatalf("cash-out: created %v, err %v", created, err)
	}
	if got.Status != platform.BetCashedOut || got.Payout != 1500 || got.SettledAt == nil {
		t.Fatalf("bet after the cash-out: %+v", got)
	}
	if c.ID != "c1" || c.Bet != "b1" || c.Amount != 1500 || c.CreatedAt.IsZero() {
		t.Fatalf("cash-out: %+v", c)
	}
	// Player +1500, house −500 (paid above the stake), suspense −1000.
	if got := balance(t, pool, "a1"); got != 10000-1000-500-500+1500 {
		t.Fatalf("player balance %d", got)
	}
	if got := balance(t, pool, platform.HouseAccount); got != -500 {
		t.Fatalf("house balance %d, want -500", got)
	}
	if got := kindBalance(t, pool, "suspense"); got != 1000 {
		t.Fatalf("suspense holds %d, want the other two stakes, 1000", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions t JOIN postings p ON p.tx_id = t.id
		WHERE t.kind = 'cashout' AND t.ref = 'b1'`); n != 3 {
		t.Fatalf("the cashout transaction has %d postings, want 3", n)
	}

	// A resend answers the same, books nothing.
	again, c2, created, err := s.Cashout(ctx, platform.CashoutRequest{ID: "c1", Bet: "b1", Amount: 1500})
	if err != nil || created || c2.CreatedAt != c.CreatedAt || again.Payout != 1500 {
		t.Fatalf("resend: created %v, err %v, %+v", created, err, c2)
	}
	tests := []struct {
		name string
		req  platform.CashoutRequest
		code string
	}{
		// The id again with another amount, or another bet.
		{"other amount", platform.CashoutRequest{ID: "c1", Bet: "b1", Amount: 1400}, platform.ECONFLICT},
		{"other bet", platform.CashoutRequest{ID: "c1", Bet: "b2", Amount: 600}, platform.ECONFLICT},
		// A new id on the cashed-out bet.
		{"cashed out", platform.CashoutRequest{ID: "c2", Bet: "b1", Amount: 1500}, platform.EBETCLOSED},
		// No such bet.
		{"no bet", platform.CashoutRequest{ID: "c3", Bet: "zz", Amount: 100}, platform.ENOTFOUND},
		// More than the bet could win (2 × 500).
		{"above the win", platform.CashoutRequest{ID: "c4", Bet: "b2", Amount: 1001}, platform.EINVALID},
		// A bad request.
		{"zero amount", platform.CashoutRequest{ID: "c5", Bet: "b2", Amount: 0}, platform.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := s.Cashout(ctx, tt.req)
			wantCode(t, err, tt.code)
		})
	}

	// A suspended market refuses; once settled, the bet is closed.
	if err := s.SetMarketStatus(ctx, "m2", platform.MarketSuspended); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = s.Cashout(ctx, platform.CashoutRequest{ID: "c6", Bet: "b3", Amount: 400})
	wantCode(t, err, platform.EMARKETSUSPENDED)
	if _, err := s.SettleMarket(ctx, "m2", platform.Result{Winners: []string{"home"}}); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = s.Cashout(ctx, platform.CashoutRequest{ID: "c6", Bet: "b3", Amount: 400})
	wantCode(t, err, platform.EBETCLOSED)

	if n := count(t, pool, `SELECT count(*) FROM cashouts`); n != 1 {
		t.Fatalf("%d cash-out rows, want 1", n)
	}
	checkBooks(t, pool)
}

// TestSettlementSkipsCashedOutBet: a cashed-out bet is settled once, by its
// cash-out; the market's result leaves it alone, whichever way it goes.
func TestSettlementSkipsCashedOutBet(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	for _, b := range []platform.Bet{
		bet("won", "a1", "m1", "home", 1000, mustOdds(t, "3")),
		bet("open", "a1", "m1", "home", 200, mustOdds(t, "3")),
	} {
		if _, _, err := s.PlaceBet(ctx, b); err != nil {
			t.Fatalf("place %s: %v", b.ID, err)
		}
	}
	if _, _, _, err := s.Cashout(ctx, platform.CashoutRequest{ID: "c1", Bet: "won", Amount: 1200}); err != nil {
		t.Fatal(err)
	}
	st, err := s.SettleMarket(ctx, "m1", platform.Result{Winners: []string{"home"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Won != 1 || st.Paid != 600 {
		t.Fatalf("settlement %+v, want only the open bet won, paying 600", st)
	}
	b, err := s.Bet(ctx, "won")
	if err != nil {
		t.Fatal(err)
	}
	if b.Status != platform.BetCashedOut || b.Payout != 1200 {
		t.Fatalf("the cashed-out bet after settlement: %+v", b)
	}
	if n := count(t, pool, `SELECT count(*) FROM transactions WHERE ref = 'won' AND kind <> 'stake'`); n != 1 {
		t.Fatalf("the cashed-out bet has %d ending transactions, want 1", n)
	}
	if got := balance(t, pool, "a1"); got != 10000-1200+1200+600 {
		t.Fatalf("player balance %d", got)
	}
	if got := kindBalance(t, pool, "suspense"); got != 0 {
		t.Fatalf("suspense holds %d after everything ended", got)
	}
	checkBooks(t, pool)
}

// TestCashoutConcurrent sends cash-outs of one bet at once, under
// different ids and resends of one id: exactly one id is booked, its
// resends answer with it, every other id is refused EBETCLOSED, and the
// books balance.
func TestCashoutConcurrent(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	if _, _, err := s.PlaceBet(ctx, bet("b1", "a1", "m1", "home", 1000, mustOdds(t, "2"))); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		codes   = map[string]int{}
		answers = map[string]int{} // successes by id
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("c%d", i%4) // four ids, each sent four times
			_, c, ok, err := s.Cashout(ctx, platform.CashoutRequest{ID: id, Bet: "b1", Amount: 900})
			mu.Lock()
			defer mu.Unlock()
			codes[platform.ErrorCode(err)]++
			if ok {
				created = append(created, c.ID)
			}
			if err == nil {
				answers[c.ID]++
			}
		}()
	}
	wg.Wait()
	if len(created) != 1 {
		t.Fatalf("%d cash-outs booked (%v), want 1; codes %v", len(created), created, codes)
	}
	if answers[created[0]] != n/4 || len(answers) != 1 || codes[platform.EBETCLOSED] != n-n/4 {
		t.Fatalf("successes %v and codes %v: want the winner's %d sends answered and the rest EBETCLOSED", answers, codes, n/4)
	}
	if c := count(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'cashout' AND ref = 'b1'`); c != 1 {
		t.Fatalf("%d cashout transactions, want 1", c)
	}
	if got := balance(t, pool, "a1"); got != 10000-1000+900 {
		t.Fatalf("player balance %d", got)
	}
	checkBooks(t, pool)
}
