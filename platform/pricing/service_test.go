package pricing_test

import (
	"context"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/pricing"
	"github.com/inplaylabs/inplay/platform/redis"
)

func TestServiceAppliesFeedUpdates(t *testing.T) {
	ledger := postgres.NewStore(pgtest.NewPool(t))
	client, prefix := pgtest.NewRedis(t)
	quotes := redis.NewQuoteStore(client, prefix)
	svc := &pricing.Service{Quotes: quotes, Ledger: ledger}
	ctx := context.Background()
	at := time.Now()

	tests := []struct {
		name   string
		apply  func() error
		code   string
		status platform.MarketStatus // in both stores afterwards ("" = not checked)
	}{
		// Odds open the market in the quote store.
		{"odds", func() error {
			return svc.Odds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 21000}}, platform.FeedRef{Seq: 1, TS: at})
		}, "", ""},
		// A status reaches the ledger and the quotes.
		{"suspend", func() error {
			return svc.Status(ctx, "m1", platform.MarketSuspended, platform.MarketDef{}, platform.FeedRef{Seq: 2, TS: at})
		}, "", platform.MarketSuspended},
		// And again.
		{"reopen", func() error {
			return svc.Status(ctx, "m1", platform.MarketOpen, platform.MarketDef{}, platform.FeedRef{Seq: 3, TS: at})
		}, "", platform.MarketOpen},
		// The feed cannot settle a market by status.
		{"settled status", func() error {
			return svc.Status(ctx, "m1", platform.MarketSettled, platform.MarketDef{}, platform.FeedRef{Seq: 4, TS: at})
		}, platform.EINVALID, platform.MarketOpen},
		// Odds with no selection.
		{"empty odds", func() error { return svc.Odds(ctx, "m1", nil, platform.FeedRef{Seq: 5, TS: at}) }, platform.EINVALID, platform.MarketOpen},
		// Odds out of range.
		{"bad odds", func() error {
			return svc.Odds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 1}}, platform.FeedRef{Seq: 6, TS: at})
		}, platform.EINVALID, platform.MarketOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := platform.ErrorCode(tt.apply()); code != tt.code {
				t.Fatalf("got code %q, want %q", code, tt.code)
			}
			if tt.status == "" {
				return
			}
			m, err := ledger.Market(ctx, "m1")
			if err != nil || m.Status != tt.status {
				t.Fatalf("ledger market = %+v, %v; want %s", m, err, tt.status)
			}
			p, err := quotes.Price(ctx, "m1")
			if err != nil || p.Status != tt.status {
				t.Fatalf("quote = %+v, %v; want %s", p, err, tt.status)
			}
		})
	}
	p, _ := quotes.Price(ctx, "m1")
	if o, _ := p.Odds("home"); o != 21000 {
		t.Fatalf("home odds = %s, want 2.1", o)
	}
}
