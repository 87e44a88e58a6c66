package settlement_test

import (
	"context"
	"slices"
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
	pub := &published{}
	svc := &settlement.Service{Ledger: ledger, Quotes: quotes, Publisher: pub}
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
	// Each step comes with the next feed seq, as the feed sends them; quote
	// is the hot state's status afterwards, which must follow the ledger's.
	tests := []struct {
		name     string
		market   string
		result   platform.Result
		rollback int64 // > 0: a rollback with this number instead of the result
		code     string
		balance  int64                 // a1's balance afterwards
		quote    platform.MarketStatus // m1's quote status afterwards
	}{
		// home won at 2.5: 1000 − 400 + 1000.
		{"result", "m1", won("home"), 0, "", 1600, platform.MarketSettled},
		// The same result again (a redelivery): nothing moves.
		{"redelivered", "m1", won("home"), 0, "", 1600, platform.MarketSettled},
		// A contradicting late result: still nothing moves.
		{"contradicting", "m1", won(), 0, "", 1600, platform.MarketSettled},
		// A market id that is not one.
		{"invalid", "m 1", won("home"), 0, platform.EINVALID, 1600, platform.MarketSettled},
		// The feed rolls the settlement back: the payout comes back out,
		// and the quote is closed as the ledger's market is.
		{"rollback", "m1", platform.Result{}, 1, "", 600, platform.MarketClosed},
		// The same rollback redelivered: nothing moves.
		{"rollback redelivered", "m1", platform.Result{}, 1, "", 600, platform.MarketClosed},
		// The rolled-back result redelivered: stale, nothing moves, and
		// the quote is not settled again.
		{"stale result", "m1", won("home"), 0, "", 600, platform.MarketClosed},
		// Resettled: home dead-heated with draw at 0.5, a fifth void:
		// floor(400 × 0.2) + floor(400 × 2.5 × 0.5 × 0.8) = 80 + 400.
		{"resettled", "m1", platform.Result{Winners: []string{"home", "draw"}, DeadHeat: map[string]platform.Factor{"home": 5000, "draw": 5000},
			VoidFactor: 2000, Rollbacks: 1}, 0, "", 1080, platform.MarketSettled},
		// The first rollback again after the resettlement: stale, and the
		// quote stays settled.
		{"stale rollback", "m1", platform.Result{}, 1, "", 1080, platform.MarketSettled},
		// A dead heat for a loser is refused, and nothing moves.
		{"dead heat of a loser", "m1", platform.Result{Winners: []string{"away"}, DeadHeat: map[string]platform.Factor{"home": 5000}, Rollbacks: 2},
			0, platform.EINVALID, 1080, platform.MarketSettled},
		// A result of generation 2 whose rollback never came: the
		// settlement it supersedes is undone first, then the market is void.
		{"missed rollback", "m1", platform.Result{Rollbacks: 2}, 0, "", 1000, platform.MarketSettled},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := platform.FeedRef{Seq: int64(2 + i)}
			var err error
			if tt.rollback > 0 {
				err = svc.Rollback(ctx, tt.market, tt.rollback, ref)
			} else {
				err = svc.Result(ctx, tt.market, tt.result, ref)
			}
			if code := platform.ErrorCode(err); code != tt.code {
				t.Fatalf("Result = %v, want code %q", err, tt.code)
			}
			a, err := ledger.Account(ctx, "a1")
			if err != nil || a.Balance != tt.balance {
				t.Fatalf("a1 = %+v, %v; want balance %d", a, err, tt.balance)
			}
			p, err := quotes.Price(ctx, "m1")
			if err != nil || p.Status != tt.quote {
				t.Fatalf("quote = %+v, %v; want status %s", p, err, tt.quote)
			}
			m, err := ledger.Market(ctx, "m1")
			if err != nil || m.Status != tt.quote {
				t.Fatalf("ledger market = %+v, %v; want status %s", m, err, tt.quote)
			}
		})
	}
	// What the quote hub was told: each change of the quote's status, once.
	want := []platform.MarketStatus{platform.MarketSettled, platform.MarketClosed, platform.MarketSettled}
	if !slices.Equal(pub.statuses, want) {
		t.Fatalf("published %v, want %v", pub.statuses, want)
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

// published records the statuses a Service publishes.
type published struct{ statuses []platform.MarketStatus }

func (p *published) PublishOdds(string, []platform.Selection, platform.FeedRef) {}

func (p *published) PublishStatus(_ string, status platform.MarketStatus, _ platform.FeedRef) {
	p.statuses = append(p.statuses, status)
}
