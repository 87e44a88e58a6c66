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

func TestCashoutRequest(t *testing.T) {
	ok := platform.CashoutRequest{ID: "c-1", Bet: "b-1", Amount: 750}
	tests := []struct {
		name   string
		modify func(*platform.CashoutRequest)
		valid  bool
	}{
		// A complete request.
		{"ok", func(*platform.CashoutRequest) {}, true},
		// Both ids are required and sane.
		{"no id", func(r *platform.CashoutRequest) { r.ID = "" }, false},
		{"no bet", func(r *platform.CashoutRequest) { r.Bet = "" }, false},
		{"space in bet", func(r *platform.CashoutRequest) { r.Bet = "b 1" }, false},
		// The amount is positive and bounded.
		{"zero amount", func(r *platform.CashoutRequest) { r.Amount = 0 }, false},
		{"huge amount", func(r *platform.CashoutRequest) { r.Amount = platform.MaxAmount + 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.modify(&r)
			if err := r.Validate(); (err == nil) != tt.valid || (err != nil && platform.ErrorCode(err) != platform.EINVALID) {
				t.Fatalf("Validate() = %v, want valid=%v", err, tt.valid)
			}
		})
	}
	// A resend repeats id, bet and amount; anything else conflicts.
	booked := &platform.Cashout{ID: "c-1", Bet: "b-1", Amount: 750}
	if !booked.Repeats(ok) {
		t.Error("the same request is not a resend")
	}
	for _, r := range []platform.CashoutRequest{{ID: "c-1", Bet: "b-2", Amount: 750}, {ID: "c-1", Bet: "b-1", Amount: 751}} {
		if booked.Repeats(r) {
			t.Errorf("%+v counts as a resend of %+v", r, booked)
		}
	}
	if platform.ErrorCode(platform.ConflictingCashout(booked)) != platform.ECONFLICT {
		t.Error("ConflictingCashout is not ECONFLICT")
	}
}
