package platform_test

import (
	"testing"

	"github.com/inplaylabs/inplay/platform"
)

func TestBetRepeats(t *testing.T) {
	// Booked asking for 2.0, accepted at 2.1.
	booked := &platform.Bet{ID: "b-1", Account: "a1", Market: "m1", Selection: "home", Stake: 500,
		RequestedOdds: 20000, Odds: 21000, Status: platform.BetAccepted}
	same := platform.BetRequest{ID: "b-1", Account: "a1", Market: "m1", Selection: "home", Stake: 500, Odds: 20000}
	with := func(edit func(*platform.BetRequest)) platform.BetRequest {
		r := same
		edit(&r)
		return r
	}
	tests := []struct {
		name string
		req  platform.BetRequest
		want bool
	}{
		// Exactly the request that booked it: a resend.
		{"same request", same, true},
		// Lower requested odds, which the booked price would satisfy: still
		// another request (invariant 4), not a resend.
		{"lower requested odds", with(func(r *platform.BetRequest) { r.Odds = 19000 }), false},
		// Asking for the accepted price instead of the requested one.
		{"accepted odds as requested", with(func(r *platform.BetRequest) { r.Odds = 21000 }), false},
		// Higher requested odds than were asked for.
		{"higher requested odds", with(func(r *platform.BetRequest) { r.Odds = 20001 }), false},
		// The default policy, named.
		{"default policy named", with(func(r *platform.BetRequest) { r.Policy = platform.PolicyBetter }), true},
		// Another policy.
		{"other policy", with(func(r *platform.BetRequest) { r.Policy = platform.PolicyAny }), false},
		// Another stake.
		{"other stake", with(func(r *platform.BetRequest) { r.Stake = 501 }), false},
		// Another account.
		{"other account", with(func(r *platform.BetRequest) { r.Account = "a2" }), false},
		// Another market.
		{"other market", with(func(r *platform.BetRequest) { r.Market = "m2" }), false},
		// Another selection.
		{"other selection", with(func(r *platform.BetRequest) { r.Selection = "away" }), false},
		// Another id is never a resend, whatever the rest.
		{"other id", with(func(r *platform.BetRequest) { r.ID = "b-2" }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := booked.Repeats(tt.req); got != tt.want {
				t.Fatalf("Repeats(%+v) = %v, want %v", tt.req, got, tt.want)
			}
		})
	}
}

func TestConflictingBetNamesTheBookedContent(t *testing.T) {
	err := platform.ConflictingBet(&platform.Bet{ID: "b-1", Account: "a1", Market: "m1", Selection: "home",
		Stake: 500, RequestedOdds: 20000, Odds: 21000})
	if got := platform.ErrorCode(err); got != platform.ECONFLICT {
		t.Fatalf("code = %q, want ECONFLICT", got)
	}
	const want = `bet "b-1" is already booked with other content: account "a1", market "m1", selection "home", stake 500, requested odds 2, policy better`
	if got := platform.ErrorMessage(err); got != want {
		t.Fatalf("message = %q, want %q", got, want)
	}
}
