package betting_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

func cashout(id, bet string, amount int64) platform.CashoutRequest {
	return platform.CashoutRequest{ID: id, Bet: bet, Amount: amount}
}

// TestCashoutDelay runs in a synctest bubble: a cash-out waits the
// market's 2 s delay, the market moves 1 s into it, and the offer when the
// delay ends decides. The bet is 1000 at 3.0 and the price is 2.0 when the
// bettor asks for its fair value, 1500.
func TestCashoutDelay(t *testing.T) {
	tests := []struct {
		name   string
		during func(w *world)
		code   string
	}{
		// Nothing changes: paid 1500.
		{"quiet", func(*world) {}, ""},
		// The price shortens further: the offer (1666) is above the
		// amount, and the amount is what is paid.
		{"shortened", func(w *world) { w.odds("m1", "home", "1.8") }, ""},
		// The price drifts: the offer (1428) is below the amount.
		{"drifted", func(w *world) { w.odds("m1", "home", "2.1") }, platform.EPRICECHANGED},
		// Suspended when the delay ends.
		{"suspended", func(w *world) { w.status("m1", platform.MarketSuspended) }, platform.EMARKETSUSPENDED},
		// Suspended and reopened within the delay: what counts is the end.
		{"reopened", func(w *world) {
			w.status("m1", platform.MarketSuspended)
			w.status("m1", platform.MarketOpen)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			addr, prefix := pgtest.RedisPrefix(t)
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, dbURL, addr, prefix, 0)
				w.deposit("a1", 5000)
				w.odds("m1", "home", "3")
				if _, _, err := w.svc.PlaceBet(context.Background(), req("b-1", "m1", "home", 1000, 30000)); err != nil {
					t.Fatal(err)
				}
				w.odds("m1", "home", "2")
				w.svc.Delay = 2 * time.Second
				start := time.Now()
				type result struct {
					bet *platform.Bet
					err error
				}
				done := make(chan result, 1)
				go func() {
					b, _, _, err := w.svc.Cashout(context.Background(), cashout("c-1", "b-1", 1500))
					done <- result{b, err}
				}()
				time.Sleep(time.Second)
				tt.during(w)
				r := <-done
				if elapsed := time.Since(start); elapsed < 2*time.Second {
					t.Fatalf("the cash-out was decided after %v, before the delay ended", elapsed)
				}
				if got := platform.ErrorCode(r.err); got != tt.code {
					t.Fatalf("Cashout = %v, want code %q", r.err, tt.code)
				}
				b, err := w.svc.FindBet(context.Background(), "b-1")
				if err != nil {
					t.Fatal(err)
				}
				want := platform.Bet{Status: platform.BetAccepted}
				if tt.code == "" {
					want = platform.Bet{Status: platform.BetCashedOut, Payout: 1500}
					if r.bet.Status != want.Status || r.bet.Payout != want.Payout {
						t.Fatalf("answered %+v", r.bet)
					}
				}
				if b.Status != want.Status || b.Payout != want.Payout {
					t.Fatalf("the bet is %s paying %d, want %s paying %d", b.Status, b.Payout, want.Status, want.Payout)
				}
			})
		})
	}
}

// TestCashoutRefusals: what is refused before any delay, and that a
// resend of a booked cash-out is answered with it whatever the market does.
func TestCashoutRefusals(t *testing.T) {
	addr, prefix := pgtest.RedisPrefix(t)
	w := newWorld(t, pgtest.NewDatabase(t), addr, prefix, 0)
	w.deposit("a1", 5000)
	w.odds("m1", "home", "3")
	w.odds("m1", "away", "3")
	ctx := context.Background()
	for _, r := range []platform.BetRequest{req("b-1", "m1", "home", 1000, 30000), req("b-2", "m1", "away", 1000, 30000)} {
		if _, _, err := w.svc.PlaceBet(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	w.odds("m1", "home", "2")
	// A 2% margin: the offer on b-1 is 1500 × 0.98 = 1470.
	w.svc.CashoutMargin = 200
	tests := []struct {
		name    string
		req     platform.CashoutRequest
		code    string
		created bool
	}{
		// The fair value is above the offer less its margin.
		{"above the offer", cashout("c-1", "b-1", 1471), platform.EPRICECHANGED, false},
		// The offer exactly.
		{"the offer", cashout("c-1", "b-1", 1470), "", true},
		// Its resend, and the id with another amount or bet.
		{"resend", cashout("c-1", "b-1", 1470), "", false},
		{"other amount", cashout("c-1", "b-1", 1000), platform.ECONFLICT, false},
		{"other bet", cashout("c-1", "b-2", 900), platform.ECONFLICT, false},
		// Another id on the cashed-out bet.
		{"closed", cashout("c-2", "b-1", 1000), platform.EBETCLOSED, false},
		// No such bet.
		{"no bet", cashout("c-3", "b-9", 1000), platform.ENOTFOUND, false},
		// Malformed.
		{"invalid", cashout("c-4", "b-2", -5), platform.EINVALID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, c, created, err := w.svc.Cashout(ctx, tt.req)
			if got := platform.ErrorCode(err); got != tt.code {
				t.Fatalf("Cashout = %v, want code %q", err, tt.code)
			}
			if tt.code == "" && (created != tt.created || c.Amount != tt.req.Amount || b.Payout != tt.req.Amount) {
				t.Fatalf("Cashout = %+v, %+v, created %v", b, c, created)
			}
		})
	}
	// The market is suspended: no offer, so refused; the resend of c-1 is
	// still answered.
	w.status("m1", platform.MarketSuspended)
	if _, _, _, err := w.svc.Cashout(ctx, cashout("c-5", "b-2", 500)); platform.ErrorCode(err) != platform.EMARKETSUSPENDED {
		t.Fatalf("cash-out on a suspended market: %v", err)
	}
	if _, _, created, err := w.svc.Cashout(ctx, cashout("c-1", "b-1", 1470)); err != nil || created {
		t.Fatalf("resend on a suspended market: created %v, %v", created, err)
	}
}
