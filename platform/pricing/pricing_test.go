package pricing_test

import (
	"testing"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/pricing"
)

func TestAccept(t *testing.T) {
	open := &platform.Price{Market: "m1", Status: platform.MarketOpen,
		Selections: []platform.Selection{{ID: "away", Odds: 38000}, {ID: "home", Odds: 21000}}}
	suspended := &platform.Price{Market: "m1", Status: platform.MarketSuspended, Selections: open.Selections}
	settled := &platform.Price{Market: "m1", Status: platform.MarketSettled, Selections: open.Selections}
	tests := []struct {
		name      string
		price     *platform.Price
		selection string
		requested platform.Odds
		policy    platform.PricePolicy
		want      platform.Odds
		code      string
	}{
		// The price equals the request: accepted at it, whatever the policy.
		{"equal", open, "home", 21000, "", 21000, ""},
		{"equal, exact", open, "home", 21000, platform.PolicyExact, 21000, ""},
		{"equal, any", open, "home", 21000, platform.PolicyAny, 21000, ""},
		// The price is better than asked: accepted at the current price,
		// unless the bettor wants exactly what they asked for.
		{"better", open, "home", 20000, "", 21000, ""},
		{"better, better", open, "home", 20000, platform.PolicyBetter, 21000, ""},
		{"better, exact", open, "home", 20000, platform.PolicyExact, 0, platform.EPRICECHANGED},
		{"better, any", open, "home", 20000, platform.PolicyAny, 21000, ""},
		// The price dropped below the request: only any takes it.
		{"worse", open, "home", 21001, "", 0, platform.EPRICECHANGED},
		{"worse, exact", open, "home", 21001, platform.PolicyExact, 0, platform.EPRICECHANGED},
		{"worse, any", open, "home", 25000, platform.PolicyAny, 21000, ""},
		{"unknown policy", open, "home", 21000, "sometimes", 0, platform.EINVALID},
		// No such selection.
		{"unknown selection", open, "draw", 20000, "", 0, platform.ENOTFOUND},
		// Suspended comes before any price check, whatever the policy.
		{"suspended", suspended, "home", 20000, platform.PolicyAny, 0, platform.EMARKETSUSPENDED},
		// So does settled.
		{"settled", settled, "home", 20000, "", 0, platform.EMARKETSUSPENDED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pricing.Accept(tt.price, tt.selection, tt.requested, tt.policy)
			if code := platform.ErrorCode(err); code != tt.code || got != tt.want {
				t.Fatalf("Accept = %v, %v; want %v, code %q", got, err, tt.want, tt.code)
			}
		})
	}
}
