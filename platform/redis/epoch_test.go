package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
)

// TestEpochGuard: with the guard on, a store whose epoch is gone refuses
// every read with the retryable EUNAVAILABLE and tells its hook; the
// ledger's statuses come back over the feed's guesses, settled stays
// settled.
func TestEpochGuard(t *testing.T) {
	client, prefix := pgtest.NewRedis(t)
	s := redis.NewQuoteStore(client, prefix)
	var lost atomic.Int64
	s.OnLost(func() { lost.Add(1) })
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

	if built, err := s.Built(ctx); err != nil || built {
		t.Fatalf("Built of a new prefix = %v %v, want false", built, err)
	}
	if _, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 25000)}, 1, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Price(ctx, "m1"); platform.ErrorCode(err) != platform.EUNAVAILABLE || lost.Load() != 1 {
		t.Fatalf("Price without an epoch = %v (hook told %d times), want EUNAVAILABLE and the hook told", err, lost.Load())
	}
	if err := s.MarkBuilt(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Price(ctx, "m1"); err != nil || p.Status != platform.MarketOpen {
		t.Fatalf("Price with the epoch = %+v %v, want m1 open", p, err)
	}

	// A loss: only the epoch is gone here, the rest is the feed writing
	// again after a flush (an odds update makes a market open).
	if err := client.Del(ctx, s.EpochKey()).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Price(ctx, "m1"); platform.ErrorCode(err) != platform.EUNAVAILABLE {
		t.Fatalf("Price after the loss = %v, want EUNAVAILABLE", err)
	}
	tests := []struct {
		name   string
		market string
		status platform.MarketStatus
		want   platform.MarketStatus
	}{
		// The ledger says closed: the feed's guess of open does not stand.
		{"closed over a guess", "m1", platform.MarketClosed, platform.MarketClosed},
		// A market the feed has not written again yet comes back as recorded.
		{"settled from nothing", "m2", platform.MarketSettled, platform.MarketSettled},
		// Settled is final, whatever the ledger's row says later.
		{"settled stays", "m2", platform.MarketOpen, platform.MarketSettled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.RestoreStatus(ctx, tt.market, tt.status); err != nil {
				t.Fatal(err)
			}
			got, err := client.HGet(ctx, s.MarketKey(tt.market), "status").Result()
			if err != nil || platform.MarketStatus(got) != tt.want {
				t.Fatalf("status = %q %v, want %s", got, err, tt.want)
			}
		})
	}
	if err := s.RestoreStatus(ctx, "m1", "reopened"); platform.ErrorCode(err) != platform.EINVALID {
		t.Fatalf("RestoreStatus of an unknown status = %v, want EINVALID", err)
	}
	// The feed's next update still applies over a restored status.
	if applied, err := s.SetStatus(ctx, "m1", platform.MarketOpen, 2, at); err != nil || !applied {
		t.Fatalf("SetStatus after a restore = %v %v, want applied", applied, err)
	}
	if err := s.MarkBuilt(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Price(ctx, "m2"); err != nil || p.Status != platform.MarketSettled {
		t.Fatalf("m2 after the rebuild = %+v %v, want settled", p, err)
	}
}
