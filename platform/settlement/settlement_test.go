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

	tests := []struct {
		name    string
		market  string
		winners []string
		code    string
		balance int64 // a1's balance afterwards
	}{
		// home won at 2.5: 1000 − 400 + 1000.
		{"result", "m1", []string{"home"}, "", 1600},
		// The same result again (a redelivery): nothing moves.
		{"redelivered", "m1", []string{"home"}, "", 1600},
		// A contradicting late result: still nothing moves.
		{"contradicting", "m1", []string{}, "", 1600},
		// A market id that is not one.
		{"invalid", "m 1", []string{"home"}, platform.EINVALID, 1600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.Result(ctx, tt.market, tt.winners, platform.FeedRef{Seq: 2})
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
	if err != nil || b.Status != platform.BetWon || b.Payout != 1000 {
		t.Fatalf("bet = %+v, %v", b, err)
	}
}
