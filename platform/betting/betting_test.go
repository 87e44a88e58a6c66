package betting_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/betting"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/platform/risk"
)

// world is a betting service on real stores, with helpers to move the market.
type world struct {
	t      testing.TB
	svc    *betting.Service
	ledger *postgres.Store
	quotes *redis.QuoteStore
	pool   *pgxpool.Pool
	seq    int64
}

// newWorld opens the stores. It must run where they will be used: inside a
// synctest bubble for the delay tests, since a bubble may not use
// connections made outside it.
func newWorld(t testing.TB, dbURL, redisAddr, prefix string, delay time.Duration) *world {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	client := goredis.NewClient(&goredis.Options{Addr: redisAddr})
	t.Cleanup(func() { client.Close() })
	w := &world{t: t, ledger: postgres.NewStore(pool), quotes: redis.NewQuoteStore(client, prefix), pool: pool}
	w.svc = &betting.Service{Ledger: w.ledger, Quotes: w.quotes, Limits: risk.Limits{MaxStake: 5000}, Delay: delay}
	return w
}

func (w *world) odds(market, selection, odds string) {
	w.t.Helper()
	o, err := platform.ParseOdds(odds)
	if err != nil {
		w.t.Fatal(err)
	}
	w.seq++
	if _, err := w.quotes.SetOdds(context.Background(), market, []platform.Selection{{ID: selection, Odds: o}}, w.seq, time.Time{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) status(market string, status platform.MarketStatus) {
	w.t.Helper()
	w.seq++
	if err := w.ledger.SetMarketStatus(context.Background(), market, status); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.quotes.SetStatus(context.Background(), market, status, w.seq, time.Time{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) deposit(account string, amount int64) {
	w.t.Helper()
	if _, _, err := w.ledger.Deposit(context.Background(), platform.TransferRequest{ID: "d-" + account, Account: account, Amount: amount}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) bets() int64 {
	w.t.Helper()
	var n int64
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM bets`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func req(id, market, selection string, stake int64, odds platform.Odds) platform.BetRequest {
	return platform.BetRequest{ID: id, Account: "a1", Market: market, Selection: selection, Stake: stake, Odds: odds}
}

func TestPlaceBet(t *testing.T) {
	addr, prefix := pgtest.RedisPrefix(t)
	w := newWorld(t, pgtest.NewDatabase(t), addr, prefix, 0)
	w.deposit("a1", 3000)
	w.odds("m1", "home", "2.1")
	w.odds("m1", "away", "3.4")
	w.odds("m2", "home", "2")
	w.status("m2", platform.MarketSuspended)
	ctx := context.Background()

	tests := []struct {
		name    string
		req     platform.BetRequest
		code    string
		odds    platform.Odds // accepted odds, on success
		created bool
	}{
		// Asked for 2.0, offered 2.1: booked at 2.1.
		{"better price", req("b-1", "m1", "home", 500, 20000), "", 21000, true},
		// A resend: the booked bet, not a second one.
		{"resend", req("b-1", "m1", "home", 500, 20000), "", 21000, false},
		// The same id with another stake.
		{"conflict", req("b-1", "m1", "home", 600, 20000), platform.ECONFLICT, 0, false},
		// The same id asking for lower odds, which the booked 2.1 would
		// satisfy: still another request, refused (invariant 4).
		{"other requested odds", req("b-1", "m1", "home", 500, 19000), platform.ECONFLICT, 0, false},
		// The same id asking for the booked price instead of what it asked.
		{"accepted odds as requested", req("b-1", "m1", "home", 500, 21000), platform.ECONFLICT, 0, false},
		// Asked for more than is offered.
		{"price changed", req("b-2", "m1", "home", 500, 21001), platform.EPRICECHANGED, 0, false},
		// No quote for that market.
		{"unknown market", req("b-3", "m9", "home", 500, 20000), platform.ENOTFOUND, 0, false},
		// No quote for that selection.
		{"unknown selection", req("b-4", "m1", "draw", 500, 20000), platform.ENOTFOUND, 0, false},
		// The market is suspended.
		{"suspended", req("b-5", "m2", "home", 500, 20000), platform.EMARKETSUSPENDED, 0, false},
		// Above the risk limit of 5000.
		{"limit", req("b-6", "m1", "home", 5001, 20000), platform.ELIMIT, 0, false},
		// Within the limit, above the balance (2500 left).
		{"funds", req("b-7", "m1", "home", 2501, 20000), platform.EFUNDS, 0, false},
		// Malformed requests never reach a store.
		{"invalid", req("", "m1", "home", 500, 20000), platform.EINVALID, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, created, err := w.svc.PlaceBet(ctx, tt.req)
			if got := platform.ErrorCode(err); got != tt.code {
				t.Fatalf("PlaceBet = %v, want code %q", err, tt.code)
			}
			if tt.code != "" {
				return
			}
			if created != tt.created || b.Odds != tt.odds || b.RequestedOdds != tt.req.Odds || b.Status != platform.BetAccepted {
				t.Fatalf("PlaceBet = %+v created=%v, want odds %s created=%v", b, created, tt.odds, tt.created)
			}
		})
	}

	// Once booked, a resend is answered from the ledger even though the
	// market has since been suspended and the price has dropped.
	w.odds("m1", "home", "1.5")
	w.status("m1", platform.MarketSuspended)
	b, created, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 500, 20000))
	if err != nil || created || b.Odds != 21000 {
		t.Fatalf("resend after suspension = %+v, %v, %v", b, created, err)
	}
	if n := w.bets(); n != 1 {
		t.Fatalf("%d bets booked, want 1", n)
	}
	if got, err := w.svc.FindBet(ctx, "b-1"); err != nil || got.Stake != 500 || got.RequestedOdds != 20000 {
		t.Fatalf("FindBet = %+v, %v", got, err)
	}
}

// TestInPlayDelay runs in a synctest bubble: the 2 s delay passes in
// virtual time, and the market moves at exactly 1 s into it.
func TestInPlayDelay(t *testing.T) {
	tests := []struct {
		name   string
		during func(w *world) // what happens to the market 1 s into the delay
		code   string         // expected result
		odds   platform.Odds  // accepted odds, on success
	}{
		// Nothing changes: booked at the price seen.
		{"quiet", func(*world) {}, "", 21000},
		// Suspended when the delay ends: refused.
		{"suspended", func(w *world) { w.status("m1", platform.MarketSuspended) }, platform.EMARKETSUSPENDED, 0},
		// Suspended and reopened within the delay: what counts is the end.
		{"reopened", func(w *world) {
			w.status("m1", platform.MarketSuspended)
			w.status("m1", platform.MarketOpen)
		}, "", 21000},
		// The price drops below the request: refused.
		{"price dropped", func(w *world) { w.odds("m1", "home", "1.9") }, platform.EPRICECHANGED, 0},
		// The price rises: booked at the new price.
		{"price rose", func(w *world) { w.odds("m1", "home", "2.4") }, "", 24000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			addr, prefix := pgtest.RedisPrefix(t)
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, dbURL, addr, prefix, 2*time.Second)
				w.deposit("a1", 1000)
				w.odds("m1", "home", "2.1")
				start := time.Now()
				type result struct {
					bet *platform.Bet
					err error
				}
				done := make(chan result, 1)
				go func() {
					b, _, err := w.svc.PlaceBet(context.Background(), req("b-1", "m1", "home", 100, 20000))
					done <- result{b, err}
				}()
				time.Sleep(time.Second)
				tt.during(w)
				r := <-done
				if elapsed := time.Since(start); elapsed < 2*time.Second {
					t.Fatalf("the bet was decided after %v, before the delay ended", elapsed)
				}
				if got := platform.ErrorCode(r.err); got != tt.code {
					t.Fatalf("PlaceBet = %v, want code %q", r.err, tt.code)
				}
				wantBets := int64(0)
				if tt.code == "" {
					wantBets = 1
					if r.bet.Odds != tt.odds {
						t.Fatalf("accepted at %s, want %s", r.bet.Odds, tt.odds)
					}
				}
				if n := w.bets(); n != wantBets {
					t.Fatalf("%d bets booked, want %d", n, wantBets)
				}
			})
		})
	}
}

func TestInPlayDelayCancelled(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	addr, prefix := pgtest.RedisPrefix(t)
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, dbURL, addr, prefix, 5*time.Second)
		w.deposit("a1", 1000)
		w.odds("m1", "home", "2.1")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 100, 20000))
		if err == nil {
			t.Fatal("a bet whose caller gave up during the delay was booked")
		}
		if n := w.bets(); n != 0 {
			t.Fatalf("%d bets booked, want 0", n)
		}
	})
}

// TestFeedDelay: with FeedDelay, each market waits the delay its feed
// announced while in play, a pre-match market decides at once, and a
// market the feed said nothing of keeps the configured delay.
func TestFeedDelay(t *testing.T) {
	yes, no := true, false
	d3 := 3 * time.Second
	tests := []struct {
		name string
		def  platform.MarketDef // what the feed said, with the market open
		wait time.Duration      // how long the bet takes to be decided
	}{
		{"in play with a delay", platform.MarketDef{InPlay: &yes, BetDelay: &d3}, 3 * time.Second},
		{"in play without a delay", platform.MarketDef{InPlay: &yes, BetDelay: new(time.Duration)}, 0},
		{"pre-match, a delay announced for later", platform.MarketDef{InPlay: &no, BetDelay: &d3}, 0},
		{"a delay, the phase unsaid", platform.MarketDef{BetDelay: &d3}, 3 * time.Second},
		{"nothing said: the configured delay", platform.MarketDef{}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			addr, prefix := pgtest.RedisPrefix(t)
			synctest.Test(t, func(t *testing.T) {
				w := newWorld(t, dbURL, addr, prefix, time.Second)
				w.svc.FeedDelay = true
				w.deposit("a1", 1000)
				w.odds("m1", "home", "2.1")
				w.seq++
				if _, err := w.quotes.SetStatusDef(context.Background(), "m1", platform.MarketOpen, tt.def, w.seq, time.Time{}); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if _, _, err := w.svc.PlaceBet(context.Background(), req("b-1", "m1", "home", 100, 21000)); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != tt.wait {
					t.Fatalf("decided after %v, want %v", got, tt.wait)
				}
			})
		})
	}
}

// TestPendingBets: with a PendingStore, a bet with a delay is answered at
// once as pending, readable as pending during its delay, and ends accepted
// (in the ledger, its record forgotten) or rejected (its record saying
// why); a resend never starts a second delay.
func TestPendingBets(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	addr, prefix := pgtest.RedisPrefix(t)
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, dbURL, addr, prefix, 2*time.Second)
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		pending := redis.NewPendingStore(client, prefix)
		w.svc.Pending = pending
		ctx := context.Background()
		w.deposit("a1", 1000)
		w.odds("m1", "home", "2.1")
		w.odds("m2", "home", "2.1")

		// b-1 will be accepted; b-2 refused: its market suspends in the delay.
		for _, id := range []string{"b-1", "b-2"} {
			market := map[string]string{"b-1": "m1", "b-2": "m2"}[id]
			b, created, err := w.svc.PlaceBet(ctx, req(id, market, "home", 100, 20000))
			if err != nil || !created || b.Status != platform.BetPending || !b.DecideAt.Equal(time.Now().Add(2*time.Second)) {
				t.Fatalf("PlaceBet %s = %+v, %v, %v; want pending, created, deciding in 2s", id, b, created, err)
			}
		}
		// A resend during the delay: the same pending bet, no second delay.
		if b, created, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 100, 20000)); err != nil || created || b.Status != platform.BetPending {
			t.Fatalf("resend = %+v, %v, %v", b, created, err)
		}
		// Another request under a pending id.
		if _, _, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 101, 20000)); platform.ErrorCode(err) != platform.ECONFLICT {
			t.Fatalf("conflicting resend: %v", err)
		}
		time.Sleep(time.Second)
		if b, err := w.svc.FindBet(ctx, "b-1"); err != nil || b.Status != platform.BetPending {
			t.Fatalf("FindBet during the delay = %+v, %v", b, err)
		}
		w.status("m2", platform.MarketSuspended)
		time.Sleep(2 * time.Second)
		synctest.Wait()

		b1, err := w.svc.FindBet(ctx, "b-1")
		if err != nil || b1.Status != platform.BetAccepted || b1.Odds != 21000 {
			t.Fatalf("b-1 after its delay = %+v, %v; want accepted at 2.1", b1, err)
		}
		if _, err := pending.Pending(ctx, "b-1"); platform.ErrorCode(err) != platform.ENOTFOUND {
			t.Errorf("b-1's record outlived its booking: %v", err)
		}
		b2, err := w.svc.FindBet(ctx, "b-2")
		if err != nil || b2.Status != platform.BetRejected || platform.ErrorCode(b2.Rejection) != platform.EMARKETSUSPENDED {
			t.Fatalf("b-2 after its delay = %+v, %v; want rejected EMARKETSUSPENDED", b2, err)
		}
		// A resend of the refused bet gets the same decision, not a new delay.
		if b, created, err := w.svc.PlaceBet(ctx, req("b-2", "m2", "home", 100, 20000)); err != nil || created || b.Status != platform.BetRejected {
			t.Fatalf("resend of a refused bet = %+v, %v, %v", b, created, err)
		}
		if n := w.bets(); n != 1 {
			t.Fatalf("%d bets booked, want 1", n)
		}
		if err := w.svc.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPendingBetsResume: a platform stopped during a bet's delay leaves it
// pending; the next one decides it when it starts.
func TestPendingBetsResume(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	addr, prefix := pgtest.RedisPrefix(t)
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, dbURL, addr, prefix, 5*time.Second)
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		w.svc.Pending = redis.NewPendingStore(client, prefix)
		ctx := context.Background()
		w.deposit("a1", 1000)
		w.odds("m1", "home", "2.1")
		if _, _, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 100, 20000)); err != nil {
			t.Fatal(err)
		}
		// Stopped before the delay ends, with no time to wait for it.
		stopped, cancel := context.WithCancel(ctx)
		cancel()
		if err := w.svc.Close(stopped); err == nil {
			t.Fatal("Close with no time left waited for a 5s delay")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := w.bets(); n != 0 {
			t.Fatalf("a closed service booked %d bets", n)
		}
		next := &betting.Service{Ledger: w.ledger, Quotes: w.quotes, Limits: risk.Limits{MaxStake: 5000}, Delay: 5 * time.Second,
			Pending: redis.NewPendingStore(client, prefix)}
		if n, err := next.Resume(ctx); err != nil || n != 1 {
			t.Fatalf("Resume = %d, %v; want 1", n, err)
		}
		synctest.Wait()
		if b, err := next.FindBet(ctx, "b-1"); err != nil || b.Status != platform.BetAccepted {
			t.Fatalf("after Resume: %+v, %v", b, err)
		}
		if err := next.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPendingBetsGracefulClose: a graceful stop with time for the delay
// decides the bet it took before it returns.
func TestPendingBetsGracefulClose(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	addr, prefix := pgtest.RedisPrefix(t)
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, dbURL, addr, prefix, 2*time.Second)
		client := goredis.NewClient(&goredis.Options{Addr: addr})
		t.Cleanup(func() { client.Close() })
		w.svc.Pending = redis.NewPendingStore(client, prefix)
		ctx := context.Background()
		w.deposit("a1", 1000)
		w.odds("m1", "home", "2.1")
		if _, _, err := w.svc.PlaceBet(ctx, req("b-1", "m1", "home", 100, 20000)); err != nil {
			t.Fatal(err)
		}
		grace, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := w.svc.Close(grace); err != nil {
			t.Fatal(err)
		}
		if n := w.bets(); n != 1 {
			t.Fatalf("a graceful stop left the pending bet undecided (%d booked)", n)
		}
	})
}
