package redis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
)

func mustStore(tb testing.TB) *redis.QuoteStore {
	tb.Helper()
	client, prefix := pgtest.NewRedis(tb)
	return redis.NewQuoteStore(client, prefix)
}

func sel(id string, odds platform.Odds) platform.Selection {
	return platform.Selection{ID: id, Odds: odds}
}

func TestQuoteStore(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 9, 0, 0, 123456000, time.UTC)

	_, err := s.Price(ctx, "m1")
	if platform.ErrorCode(err) != platform.ENOTFOUND {
		t.Fatalf("Price of an unknown market = %v, want ENOTFOUND", err)
	}

	steps := []struct {
		name    string
		apply   func() (bool, error)
		status  platform.MarketStatus
		odds    map[string]platform.Odds
		seq     int64
		applied bool // what the store says: false when it ignored the update
	}{
		// First odds: the market opens with them.
		{"first odds", func() (bool, error) {
			return s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 21000), sel("away", 34000)}, 3, at)
		}, platform.MarketOpen, map[string]platform.Odds{"home": 21000, "away": 34000}, 3, true},
		// A later update merges: away keeps its price.
		{"merge", func() (bool, error) {
			return s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 20500)}, 4, at)
		}, platform.MarketOpen, map[string]platform.Odds{"home": 20500, "away": 34000}, 4, true},
		// An older update arrives late: ignored.
		{"stale odds", func() (bool, error) {
			return s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 99000)}, 2, at)
		}, platform.MarketOpen, map[string]platform.Odds{"home": 20500, "away": 34000}, 4, false},
		// Redelivery of the same seq is harmless.
		{"redelivered", func() (bool, error) {
			return s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 20500)}, 4, at)
		}, platform.MarketOpen, map[string]platform.Odds{"home": 20500, "away": 34000}, 4, true},
		// Suspension keeps the odds.
		{"suspend", func() (bool, error) {
			return s.SetStatus(ctx, "m1", platform.MarketSuspended, 5, at)
		}, platform.MarketSuspended, map[string]platform.Odds{"home": 20500, "away": 34000}, 5, true},
		// A stale status does not reopen it.
		{"stale status", func() (bool, error) {
			return s.SetStatus(ctx, "m1", platform.MarketOpen, 4, at)
		}, platform.MarketSuspended, map[string]platform.Odds{"home": 20500, "away": 34000}, 5, false},
		// Settled is set by settlement.
		{"settle", func() (bool, error) {
			return s.SetStatus(ctx, "m1", platform.MarketSettled, 6, at)
		}, platform.MarketSettled, map[string]platform.Odds{"home": 20500, "away": 34000}, 6, true},
		// And is final, even against a newer status.
		{"after settled", func() (bool, error) {
			return s.SetStatus(ctx, "m1", platform.MarketOpen, 7, at)
		}, platform.MarketSettled, map[string]platform.Odds{"home": 20500, "away": 34000}, 6, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			applied, err := st.apply()
			if err != nil {
				t.Fatal(err)
			}
			if applied != st.applied {
				t.Fatalf("applied = %v, want %v", applied, st.applied)
			}
			p, err := s.Price(ctx, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != st.status || p.Seq != st.seq || !p.UpdatedAt.Equal(at) || len(p.Selections) != len(st.odds) {
				t.Fatalf("price = %+v, want status %s seq %d odds %v", p, st.status, st.seq, st.odds)
			}
			for id, want := range st.odds {
				if got, ok := p.Odds(id); !ok || got != want {
					t.Fatalf("odds of %s = %v, want %v", id, got, want)
				}
			}
		})
	}
}

func TestQuoteStoreStatusOnly(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	// A status before any odds makes the market known, with nothing quoted.
	if _, err := s.SetStatus(ctx, "m2", platform.MarketSuspended, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	p, err := s.Price(ctx, "m2")
	if err != nil || p.Status != platform.MarketSuspended || len(p.Selections) != 0 || !p.UpdatedAt.IsZero() {
		t.Fatalf("price = %+v, %v", p, err)
	}
	// Its first odds keep the status it had.
	if _, err := s.SetOdds(ctx, "m2", []platform.Selection{sel("home", 15000)}, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Price(ctx, "m2"); p.Status != platform.MarketSuspended {
		t.Fatalf("first odds changed status to %s", p.Status)
	}
}

func TestQuoteStoreRefusesBadInput(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		apply func() error
	}{
		// A market id with a space could not be told apart in a key.
		{"bad market", func() error {
			_, err := s.SetOdds(ctx, "m 1", []platform.Selection{sel("h", 20000)}, 1, time.Time{})
			return err
		}},
		// An update with nothing in it.
		{"no selections", func() error { _, err := s.SetOdds(ctx, "m1", nil, 1, time.Time{}); return err }},
		// Odds out of range never reach the store.
		{"bad odds", func() error {
			_, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("h", 5)}, 1, time.Time{})
			return err
		}},
		// Unknown statuses.
		{"bad status", func() error { _, err := s.SetStatus(ctx, "m1", "paused", 1, time.Time{}); return err }},
		// Seqs are never negative.
		{"negative seq", func() error { _, err := s.SetStatus(ctx, "m1", platform.MarketOpen, -1, time.Time{}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.apply(); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
		})
	}
	if _, err := s.Price(ctx, "m1"); platform.ErrorCode(err) != platform.ENOTFOUND {
		t.Fatalf("a refused update left state behind: %v", err)
	}
}

func TestQuoteStoreStaysInsideItsPrefix(t *testing.T) {
	client, prefix := pgtest.NewRedis(t)
	_, other := pgtest.RedisPrefix(t)
	ctx := context.Background()
	// A neighbour's key, with the same market name, must survive.
	if err := client.HSet(ctx, other+"quote:m1", "home", "9").Err(); err != nil {
		t.Fatal(err)
	}
	s := redis.NewQuoteStore(client, prefix)
	if _, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 20000)}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys under the prefix = %v, want the quote and market hashes", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			t.Fatalf("key %s outside the prefix", k)
		}
	}
	if v, _ := client.HGet(ctx, other+"quote:m1", "home").Result(); v != "9" {
		t.Fatalf("the neighbour's key changed to %q", v)
	}
}

// Prices reads every market of the hot state, and only the store's own.
func TestQuoteStorePrices(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	if _, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 21000), sel("away", 34000)}, 3, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetOdds(ctx, "m2", []platform.Selection{sel("yes", 15000)}, 4, at); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, "m2", platform.MarketSuspended, 5, at); err != nil {
		t.Fatal(err)
	}
	other := mustStore(t)
	if _, err := other.SetOdds(ctx, "m9", []platform.Selection{sel("x", 20000)}, 1, at); err != nil {
		t.Fatal(err)
	}
	prices, err := s.Prices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*platform.Price{}
	for _, p := range prices {
		got[p.Market] = p
	}
	if len(got) != 2 || len(got["m1"].Selections) != 2 || got["m2"].Status != platform.MarketSuspended || got["m2"].Seq != 5 {
		t.Fatalf("Prices = %+v", got)
	}
}

func TestEscapeGlob(t *testing.T) {
	if got := redis.EscapeGlob(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Fatalf("EscapeGlob = %q", got)
	}
}

// TestStatusDefinition: a status carries what the feed says of the market's
// phase and bet delay; a status that says nothing keeps them, an older one
// changes nothing, and they read back with the price.
func TestStatusDefinition(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	yes, no := true, false
	d5 := 5 * time.Second
	if _, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 21000)}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check := func(step string, inPlay *bool, delay *time.Duration) {
		t.Helper()
		p, err := s.Price(ctx, "m1")
		if err != nil {
			t.Fatal(err)
		}
		if (p.InPlay == nil) != (inPlay == nil) || (inPlay != nil && *p.InPlay != *inPlay) ||
			(p.BetDelay == nil) != (delay == nil) || (delay != nil && *p.BetDelay != *delay) {
			t.Fatalf("%s: in_play %v bet delay %v; want %v, %v", step, p.InPlay, p.BetDelay, inPlay, delay)
		}
	}
	check("odds only: the feed said nothing", nil, nil)
	if _, err := s.SetStatusDef(ctx, "m1", platform.MarketOpen, platform.MarketDef{InPlay: &no}, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check("pre-match", &no, nil)
	if _, err := s.SetStatusDef(ctx, "m1", platform.MarketOpen, platform.MarketDef{InPlay: &yes, BetDelay: &d5}, 3, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check("in play", &yes, &d5)
	if _, err := s.SetStatus(ctx, "m1", platform.MarketSuspended, 4, time.Time{}); err != nil {
		t.Fatal(err)
	}
	check("a status that says nothing keeps them", &yes, &d5)
	if applied, err := s.SetStatusDef(ctx, "m1", platform.MarketOpen, platform.MarketDef{InPlay: &no}, 3, time.Time{}); err != nil || applied {
		t.Fatalf("an older status applied=%v err=%v", applied, err)
	}
	check("an older status changes nothing", &yes, &d5)
	neg := -time.Second
	if _, err := s.SetStatusDef(ctx, "m1", platform.MarketOpen, platform.MarketDef{BetDelay: &neg}, 5, time.Time{}); platform.ErrorCode(err) != platform.EINVALID {
		t.Fatalf("a negative delay: %v, want EINVALID", err)
	}
}

func TestQuoteStoreUnsettle(t *testing.T) {
	s := mustStore(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	if _, err := s.SetOdds(ctx, "m1", []platform.Selection{sel("home", 21000)}, 1, at); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		apply   func() (bool, error)
		applied bool
		status  platform.MarketStatus
		seq     int64
	}{
		// An open market is not settled: nothing to undo.
		{"open", func() (bool, error) { return s.Unsettle(ctx, "m1", 2, at) }, false, platform.MarketOpen, 1},
		{"settle", func() (bool, error) { return s.SetStatus(ctx, "m1", platform.MarketSettled, 5, at) }, true, platform.MarketSettled, 5},
		// The settlement's own seq (a redelivery) must not undo it.
		{"same seq", func() (bool, error) { return s.Unsettle(ctx, "m1", 5, at) }, false, platform.MarketSettled, 5},
		// Nor a rollback older than the settlement.
		{"older seq", func() (bool, error) { return s.Unsettle(ctx, "m1", 4, at) }, false, platform.MarketSettled, 5},
		// A newer status is still refused: only a rollback leaves settled.
		{"status after settled", func() (bool, error) { return s.SetStatus(ctx, "m1", platform.MarketOpen, 6, at) }, false, platform.MarketSettled, 5},
		// The rollback closes it, as the ledger's rollback does.
		{"rollback", func() (bool, error) { return s.Unsettle(ctx, "m1", 7, at) }, true, platform.MarketClosed, 7},
		// Again: closed is not settled, nothing moves.
		{"rollback again", func() (bool, error) { return s.Unsettle(ctx, "m1", 8, at) }, false, platform.MarketClosed, 7},
		// A stale settlement (the rolled-back one, redelivered) stays out.
		{"stale settle", func() (bool, error) { return s.SetStatus(ctx, "m1", platform.MarketSettled, 5, at) }, false, platform.MarketClosed, 7},
		// The resettlement settles it again, final again.
		{"resettle", func() (bool, error) { return s.SetStatus(ctx, "m1", platform.MarketSettled, 9, at) }, true, platform.MarketSettled, 9},
		{"stale rollback", func() (bool, error) { return s.Unsettle(ctx, "m1", 7, at) }, false, platform.MarketSettled, 9},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			applied, err := st.apply()
			if err != nil {
				t.Fatal(err)
			}
			if applied != st.applied {
				t.Fatalf("applied = %v, want %v", applied, st.applied)
			}
			p, err := s.Price(ctx, "m1")
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != st.status || p.Seq != st.seq {
				t.Fatalf("price = %+v, want status %s seq %d", p, st.status, st.seq)
			}
			if got, ok := p.Odds("home"); !ok || got != 21000 {
				t.Fatalf("odds of home = %v, %v; the quote must keep them", got, ok)
			}
		})
	}
	// A market never seen, and bad input.
	if applied, err := s.Unsettle(ctx, "m9", 3, at); err != nil || applied {
		t.Fatalf("Unsettle of an unknown market = %v, %v; want not applied", applied, err)
	}
	if _, err := s.Price(ctx, "m9"); platform.ErrorCode(err) != platform.ENOTFOUND {
		t.Fatalf("Unsettle created m9: %v", err)
	}
	for _, tc := range []struct {
		market string
		seq    int64
	}{{"m 1", 3}, {"m1", -1}} {
		if _, err := s.Unsettle(ctx, tc.market, tc.seq, at); platform.ErrorCode(err) != platform.EINVALID {
			t.Fatalf("Unsettle(%q, %d) = %v, want EINVALID", tc.market, tc.seq, err)
		}
	}
}
