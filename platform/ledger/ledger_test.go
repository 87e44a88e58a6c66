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
