package replay

import (
	"strings"
	"testing"
)

func TestEventValidate(t *testing.T) {
	happy := []struct {
		name string
		ev   Event
	}{
		{"odds", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2.10", "draw": "3.4"}}},
		{"status suspended", Event{T: 5, Kind: KindStatus, Market: "m1", Status: StatusSuspended}},
		{"result with a winner", Event{Kind: KindResult, Market: "m1", Winners: []string{"home"}}},
		{"void result: no winners", Event{Kind: KindResult, Market: "m1"}},
		{"deposit", Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: 10000}},
		{"withdraw", Event{Kind: KindWithdraw, Account: "a1", ID: "w-1", Amount: 1}},
		{"bet", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500}},
		{"cashout", Event{Kind: KindCashout, Account: "a1", ID: "c-1", Bet: "b-1", Amount: 700}},
		{"status with a market definition", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, InPlay: new(true), BetDelayMS: new(int64(5000)),
			Removed: []string{"x"}, Adjust: map[string]string{"home": "45.5", "x": "0", "draw": "100"}, Producer: "betfair", VendorMS: 1700000000000}},
		{"in-play delay of zero", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, BetDelayMS: new(int64(0))}},
		{"odds with a producer", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2"}, Producer: "live", VendorMS: 1}},
		{"bet with a policy", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500, Policy: PolicyBetter}},
		{"result with a dead heat and a void factor", Event{Kind: KindResult, Market: "m1", Winners: []string{"home", "away"},
			DeadHeat: map[string]string{"home": "0.5", "away": "0.5"}, VoidFactor: "0.25"}},
		{"void factor of 1 on a result", Event{Kind: KindResult, Market: "m1", Winners: []string{"home"}, VoidFactor: "1"}},
		{"rollback", Event{Kind: KindRollback, Market: "m1", Producer: "live"}},
	}
	for _, tc := range happy {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.ev.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
	sad := []struct {
		name string
		ev   Event
		want []string // substrings the error must contain
	}{
		{"no kind", Event{}, []string{"kind is missing"}},
		{"unknown kind", Event{Kind: "goal"}, []string{`unknown kind "goal"`}},
		{"negative time", Event{T: -1, Kind: KindStatus, Market: "m1", Status: StatusOpen}, []string{"t_us -1 is negative"}},
		{"odds without market or prices", Event{Kind: KindOdds}, []string{"lacks market", "lacks prices"}},
		{"odds with an empty prices object", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{}}, []string{"no prices"}},
		{"bad price", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "1.0"}}, []string{`prices["home"]`, "outside"}},
		{"empty selection in prices", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"": "2"}}, []string{"empty selection"}},
		{"unknown status", Event{Kind: KindStatus, Market: "m1", Status: "paused"}, []string{`unknown status "paused"`}},
		{"status missing", Event{Kind: KindStatus, Market: "m1"}, []string{"lacks status"}},
		{"winner twice", Event{Kind: KindResult, Market: "m1", Winners: []string{"home", "home"}}, []string{"twice"}},
		{"empty winner", Event{Kind: KindResult, Market: "m1", Winners: []string{""}}, []string{"winners[0] is empty"}},
		{"zero stake", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2"}, []string{"lacks a positive stake"}},
		{"negative stake", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2", Stake: -5}, []string{"stake -5 is not positive"}},
		{"bet with bad odds", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.123456", Stake: 5}, []string{"fractional digits"}},
		{"bet missing everything", Event{Kind: KindBet}, []string{"lacks account", "lacks id", "lacks market", "lacks selection", "lacks odds", "lacks a positive stake"}},
		{"negative deposit", Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: -1}, []string{"amount -1 is not positive"}},
		{"cashout without bet", Event{Kind: KindCashout, Account: "a1", ID: "c-1", Amount: 5}, []string{"lacks bet"}},
		{"stray field on a feed event", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, Stake: 5}, []string{"field stake is not used by kind status"}},
		{"policy on a deposit", Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: 5, Policy: PolicyAny}, []string{"field policy is not used by kind deposit"}},
		{"unknown policy", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2", Stake: 5, Policy: "best"}, []string{`unknown policy "best"`}},
		{"in_play on odds", Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2"}, InPlay: new(true)}, []string{"field in_play is not used by kind odds"}},
		{"producer on a bet", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2", Stake: 5, Producer: "x"}, []string{"field producer is not used by kind bet"}},
		{"bet delay out of range", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, BetDelayMS: new(int64(-1))}, []string{"bet_delay_ms -1 is outside"}},
		{"bad adjustment factor", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, Adjust: map[string]string{"home": "100.5", "away": "-1", "draw": "01"}}, []string{`adjust["home"]`, `adjust["away"]`, `adjust["draw"]`}},
		{"removed twice", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, Removed: []string{"x", "x"}}, []string{`removed lists "x" twice`}},
		{"negative vendor time", Event{Kind: KindResult, Market: "m1", VendorMS: -3}, []string{"vendor_ms -3 is negative"}},
		{"dead heat of a loser", Event{Kind: KindResult, Market: "m1", Winners: []string{"home"}, DeadHeat: map[string]string{"away": "0.5"}},
			[]string{`dead_heat names "away", which is not a winner`}},
		{"bad dead-heat factors", Event{Kind: KindResult, Market: "m1", Winners: []string{"a", "b", "c"}, DeadHeat: map[string]string{"a": "0", "b": "1.5", "c": "0.33333"}},
			[]string{`dead_heat["a"]`, `dead_heat["b"]`, `dead_heat["c"]`, "fractional digits"}},
		{"empty dead heat", Event{Kind: KindResult, Market: "m1", Winners: []string{"a"}, DeadHeat: map[string]string{}}, []string{"dead_heat is empty"}},
		{"bad void factor", Event{Kind: KindResult, Market: "m1", Winners: []string{"a"}, VoidFactor: "50%"}, []string{"void_factor", "between 0 and 1"}},
		{"void factor on a void result", Event{Kind: KindResult, Market: "m1", VoidFactor: "0.5"}, []string{"void_factor on a void result"}},
		{"factors on a status", Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, VoidFactor: "0.5", DeadHeat: map[string]string{"a": "1"}},
			[]string{"field void_factor is not used by kind status", "field dead_heat is not used by kind status"}},
		{"rollback with winners", Event{Kind: KindRollback, Market: "m1", Winners: []string{"a"}}, []string{"field winners is not used by kind rollback"}},
		{"rollback without market", Event{Kind: KindRollback}, []string{"rollback event lacks market"}},
		{"stray field on a bettor event", Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: 5, Market: "m1"}, []string{"field market is not used by kind deposit"}},
	}
	for _, tc := range sad {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.ev.Validate()
			if err == nil {
				t.Fatal("Validate: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %q; want it to mention %q", err, w)
				}
			}
		})
	}
}
