package risk_test

import (
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/risk"
)

func TestLimitsCheck(t *testing.T) {
	tests := []struct {
		name  string
		max   int64
		stake int64
		code  string
	}{
		// No limit configured: anything valid passes.
		{"no limit", 0, platform.MaxStake, ""},
		// At the limit is allowed.
		{"at limit", 1000, 1000, ""},
		// One minor unit above is refused.
		{"above limit", 1000, 1001, platform.ELIMIT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := risk.Limits{MaxStake: tt.max}.Check(platform.BetRequest{Stake: tt.stake})
			if got := platform.ErrorCode(err); got != tt.code {
				t.Fatalf("Check = %v, want code %q", err, tt.code)
			}
		})
	}
}
