package reports

import (
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
)

// A booked bet's odds are held to the price policy its request sent: b3
// asked for 1.91 and was booked at 1.91; b2 asked for 3 and lost, so its
// booked odds move no money.
func TestReconcileHoldsOddsToThePolicy(t *testing.T) {
	for _, tt := range []struct {
		name   string
		bet    string
		policy string
		oddsE4 int64 // the booked odds, set on the ledger's bet
		why    string
	}{
		{"exact at the requested odds", "b3", replay.PolicyExact, 19100, ""},
		{"exact at other odds", "b3", replay.PolicyExact, 19200, "odds_e4 19200, not the requested 1.91 (policy exact)"},
		{"better at a better price", "b2", replay.PolicyBetter, 31000, ""},
		{"better below the request", "b2", replay.PolicyBetter, 29000, "odds_e4 29000, below the requested 3"},
		{"no policy below the request", "b2", "", 29000, "odds_e4 29000, below the requested 3"},
		{"any below the request", "b2", replay.PolicyAny, 15000, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, l := fixture()
			for i := range j {
				if j[i].ID == tt.bet && j[i].Kind == replay.KindBet {
					j[i].Policy = tt.policy
				}
			}
			for i := range l.Bets {
				if l.Bets[i].ID == tt.bet {
					l.Bets[i].OddsE4 = tt.oddsE4
				}
			}
			inv := invariantsByName(Reconcile(j, l, ReconcileOptions{}))[InvAcknowledgedBooked]
			if tt.why == "" {
				if !inv.Pass {
					t.Fatalf("%s fails: %+v", inv.Name, inv.Witnesses)
				}
				return
			}
			if inv.Pass || len(inv.Witnesses) == 0 || !strings.Contains(inv.Witnesses[0].Why, tt.why) || inv.Witnesses[0].IDs[0] != tt.bet {
				t.Fatalf("%s = %+v; want a witness naming %s: %q", inv.Name, inv, tt.bet, tt.why)
			}
		})
	}
}
