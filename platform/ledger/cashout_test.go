package ledger_test

import (
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

func TestCashoutOffer(t *testing.T) {
	happy := []struct {
		name              string
		stake             int64
		accepted, current platform.Odds
		margin            int64
		want              int64
	}{
		// The price shortened from 3 to 2: worth 1.5 stakes.
		{"shortened", 1000, 30000, 20000, 0, 1500},
		// Unchanged price: the stake back.
		{"unchanged", 1000, 25000, 25000, 0, 1000},
		// Drifted from 2 to 4: half the stake.
		{"drifted", 1000, 20000, 40000, 0, 500},
		// Floored, never rounded up: 333 × 2.1 / 1.9 = 368.05.
		{"floor", 333, 21000, 19000, 0, 368},
		// A 5% margin: 1500 × 0.95.
		{"margin", 1000, 30000, 20000, 500, 1425},
		// The whole margin offers nothing.
		{"all margin", 1000, 30000, 20000, 10000, 0},
		// The largest stake at the widest odds still fits: 10^12 × 1000 / 1.01.
		{"largest", platform.MaxStake, platform.MaxOdds, platform.MinOdds, 0, 990_099_009_900_990},
	}
	for _, tt := range happy {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ledger.CashoutOffer(tt.stake, tt.accepted, tt.current, tt.margin)
			if err != nil || got != tt.want {
				t.Fatalf("CashoutOffer = %d, %v; want %d", got, err, tt.want)
			}
			if win := ledger.Payout(tt.stake, tt.accepted); got >= win && tt.stake > 0 {
				t.Fatalf("offer %d is not below the win %d", got, win)
			}
		})
	}
	sad := []struct {
		name              string
		stake             int64
		accepted, current platform.Odds
		margin            int64
	}{
		// A negative stake.
		{"negative stake", -1, 20000, 20000, 0},
		// Odds out of range, either of them.
		{"bad accepted", 100, 10000, 20000, 0},
		{"bad current", 100, 20000, 0, 0},
		// A margin outside 0 to 100%.
		{"negative margin", 100, 20000, 20000, -1},
		{"margin above all", 100, 20000, 20000, 10001},
		// Beyond int64.
		{"overflow", 1 << 62, platform.MaxOdds, platform.MinOdds, 0},
	}
	for _, tt := range sad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ledger.CashoutOffer(tt.stake, tt.accepted, tt.current, tt.margin); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("err %v, want EINVALID", err)
			}
		})
	}
}
