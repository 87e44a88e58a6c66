package settlement_test

import (
	"context"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/platform/settlement"
)

func TestResult(t *testing.T) {
	ledger := postgres.NewStore(pgtest.NewPool(t))
	client, prefix := pgtest.NewRedis(t)
	quotes := redis.NewQuoteStore(client, prefix)
	svc := &settlement.Service{Ledger: ledger, Quotes: quotes}
	ctx := context.Background()

	if _, _, err := ledger.Deposit(ctx, platform.TransferRequest{ID: "d-1", Account: "a1", Amount: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := quotes.SetOdds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 25000}}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ledger.PlaceBet(ctx, platform.Bet{ID: "b-1", Account: "a1", Market: "m1", Selection: "home",
		Stake: 400, RequestedOdds: 25000, Odds: 25000}); err != nil {
		t.Fatal(err)
	}

	won := func(winners ...string) platform.Result { return platform.Result{Winners: winners} }
	tests := []struct {
		name     string
		market   string
		result   platform.Result
		rollback int64 // > 0: a rollback with this number instead of the result
		code     string
		balance  int64 // a1's balance afterwards
	}{
		// home won at 2.5: 1000 − 400 + 1000.
		{"result", "m1", won("home"), 0, "", 1600},
		// The same result again (a redelivery): nothing moves.
		{"redelivered", "m1", won("home"), 0, "", 1600},
		// A contradicting late result: still nothing moves.
		{"contradicting", "m1", won(), 0, "", 1600},
		// A market id that is not one.
		{"invalid", "m 1", won("home"), 0, platform.EINVALID, 1600},
		// The feed rolls the settlement back: the payout comes back out.
		{"rollback", "m1", platform.Result{}, 1, "", 600},
		// The same rollback redelivered: nothing moves.
		{"rollback redelivered", "m1", platform.Result{}, 1, "", 600},
		// The rolled-back result redelivered: stale, nothing moves.
		{"stale result", "m1", won("home"), 0, "", 600},
		// Resettled: home dead-heated with draw at 0.5, a fifth void:
		// floor(400 × 0.2) + floor(400 × 2.5 × 0.5 × 0.8) = 80 + 400.
		{"resettled", "m1", platform.Result{Winners: []string{"home", "draw"}, DeadHeat: map[string]platform.Factor{"home": 5000, "draw": 5000},
			VoidFactor: 2000, Rollbacks: 1}, 0, "", 1080},
		// A dead heat for a loser is refused, and nothing moves.
		{"dead heat of a loser", "m1", platform.Result{Winners: []string{"away"}, DeadHeat: map[string]platform.Factor{"home": 5000}, Rollbacks: 2},
			0, platform.EINVALID, 1080},
		// A result of generation 2 whose rollback never came: the
		// settlement it supersedes is undone first, then the market is void.
		{"missed rollback", "m1", platform.Result{Rollbacks: 2}, 0, "", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.rollback > 0 {
				err = svc.Rollback(ctx, tt.market, tt.rollback, platform.FeedRef{Seq: 3})
			} else {
				err = svc.Result(ctx, tt.market, tt.result, platform.FeedRef{Seq: 2})
			}
			if code := platform.ErrorCode(err); code != tt.code {
				t.Fatalf("Result = %v, want code %q", err, tt.code)
			}
			a, err := ledger.Account(ctx, "a1")
			if err != nil || a.Balance != tt.balance {
				t.Fatalf("a1 = %+v, %v; want balance %d", a, err, tt.balance)
			}
		})
	}
	p, err := quotes.Price(ctx, "m1")
	if err != nil || p.Status != platform.MarketSettled {
		t.Fatalf("quote after settlement = %+v, %v", p, err)
	}
	b, err := ledger.Bet(ctx, "b-1")
	if err != nil || b.Status != platform.BetVoid || b.Payout != 400 {
		t.Fatalf("bet = %+v, %v", b, err)
	}
}
