package replay

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestRequestFor(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		path string
		body map[string]any
	}{
		// A bet carries every field of docs/api.md's POST /v1/bets.
		{"bet", Event{Kind: KindBet, ID: "b1", Account: "a1", Market: "m1", Selection: "home", Odds: "2.1", Stake: 500},
			"/v1/bets", map[string]any{"id": "b1", "account": "a1", "market": "m1", "selection": "home", "odds": "2.1", "stake": 500.0}},
		// An account id is escaped into the path, never spliced raw.
		{"deposit with an odd account", Event{Kind: KindDeposit, ID: "d1", Account: "a/1", Amount: 100},
			"/v1/accounts/a%2F1/deposits", map[string]any{"id": "d1", "amount": 100.0}},
		{"withdraw", Event{Kind: KindWithdraw, ID: "w1", Account: "a1", Amount: 50},
			"/v1/accounts/a1/withdrawals", map[string]any{"id": "w1", "amount": 50.0}},
		// A cash-out goes to its bet's route, with the cash-out's own id.
		{"cashout", Event{Kind: KindCashout, ID: "c1", Account: "a1", Bet: "b1", Amount: 70},
			"/v1/bets/b1/cashout", map[string]any{"id": "c1", "amount": 70.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := RequestFor(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != http.MethodPost || r.Path != tt.path {
				t.Errorf("%s %s, want POST %s", r.Method, r.Path, tt.path)
			}
			var got map[string]any
			if err := json.Unmarshal(r.Body, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.body) {
				t.Errorf("body %v, want %v", got, tt.body)
			}
			for k, v := range tt.body {
				if got[k] != v {
					t.Errorf("body[%s] = %v, want %v", k, got[k], v)
				}
			}
		})
	}
	// A feed event is not a request at all.
	if _, err := RequestFor(Event{Kind: KindOdds, Market: "m1"}); err == nil {
		t.Error("an odds event made a request")
	}
}

func TestOutcomeOfStatus(t *testing.T) {
	for _, tt := range []struct {
		status int
		want   Outcome
	}{
		{0, OutcomeUnknown}, // no answer: a timeout or a transport error
		{200, OutcomeAccepted}, {201, OutcomeAccepted}, {299, OutcomeAccepted},
		{302, OutcomeUnknown}, // a redirect is not an answer the API gives
		{400, OutcomeRejected}, {422, OutcomeRejected}, {499, OutcomeRejected},
		{500, OutcomeUnknown}, {503, OutcomeUnknown},
	} {
		if got := OutcomeOfStatus(tt.status); got != tt.want {
			t.Errorf("OutcomeOfStatus(%d) = %s, want %s", tt.status, got, tt.want)
		}
	}
}
