package ledger_test

import (
	"math"
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

func TestPayout(t *testing.T) {
	tests := []struct {
		name  string
		stake int64
		odds  platform.Odds
		want  int64
	}{
		// Exact: 500 × 2.1.
		{"exact", 500, 21000, 1050},
		// Rounded down, never up: 333 × 2.1234 = 707.0922.
		{"floor", 333, 21234, 707},
		// The smallest bet at the lowest odds pays back the stake only.
		{"minimum", 1, 10100, 1},
		// 0.9999 of a unit is not paid.
		{"just below", 99, 10101, 99},
		// The largest stake at the highest odds fits easily.
		{"largest", platform.MaxStake, platform.MaxOdds, platform.MaxStake * 1000},
		// A product beyond int64 (stake × odds_e4) is still exact.
		{"wide product", math.MaxInt64 / 1000, platform.MaxOdds, math.MaxInt64 / 1000 * 1000},
		// A zero stake pays nothing.
		{"zero", 0, 20000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ledger.Payout(tt.stake, tt.odds); got != tt.want {
				t.Fatalf("Payout(%d, %s) = %d, want %d", tt.stake, tt.odds, got, tt.want)
			}
		})
	}
}

func TestTryPayoutRefuses(t *testing.T) {
	tests := []struct {
		name  string
		stake int64
		odds  platform.Odds
	}{
		// A payout beyond int64.
		{"overflow", math.MaxInt64, platform.MaxOdds},
		// Negative stakes are no bets.
		{"negative", -1, 20000},
		// Odds outside the range cannot have been accepted.
		{"odds", 100, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.TryPayout(tt.stake, tt.odds); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("TryPayout = %v, want EINVALID", err)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("Payout did not panic")
				}
			}()
			ledger.Payout(tt.stake, tt.odds)
		})
	}
}

func TestSettledPayout(t *testing.T) {
	half := map[string]platform.Factor{"home": 5000}
	tests := []struct {
		name string
		sel  string
		r    platform.Result
		want int64
	}{
		// No factors: Payout's rule for a win, nothing for a loss.
		{"won", "home", platform.Result{Winners: []string{"home"}}, 2500},
		{"lost", "away", platform.Result{Winners: []string{"home"}}, 0},
		// A void result refunds the stake.
		{"void", "home", platform.Result{}, 1000},
		// Dead heat at a half: half the win.
		{"dead heat", "home", platform.Result{Winners: []string{"home", "away"}, DeadHeat: half}, 1250},
		// A tenth void: 100 back, the rest settled: 100 + 1000 × 2.5 × 0.9.
		{"void factor, won", "home", platform.Result{Winners: []string{"home"}, VoidFactor: 1000}, 100 + 2250},
		{"void factor, lost", "away", platform.Result{Winners: []string{"home"}, VoidFactor: 1000}, 100},
		// Both: 100 + 1000 × 2.5 × 0.5 × 0.9.
		{"both", "home", platform.Result{Winners: []string{"home", "away"}, DeadHeat: half, VoidFactor: 1000}, 100 + 1125},
		// Each term rounds down: 1000 × 2.5 × 0.3333 = 833.25.
		{"floor", "home", platform.Result{Winners: []string{"home", "x", "y"}, DeadHeat: map[string]platform.Factor{"home": 3333}}, 833},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ledger.SettledPayout(1000, 25000, tt.sel, tt.r)
			if err != nil || got != tt.want {
				t.Fatalf("SettledPayout = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := ledger.SettledPayout(-1, 25000, "home", platform.Result{Winners: []string{"home"}}); platform.ErrorCode(err) != platform.EINVALID {
		t.Errorf("negative stake: %v, want EINVALID", err)
	}
}
