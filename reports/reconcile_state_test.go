package reports

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// timelineJournal is market m's timeline on the replay clock (seconds):
// open at 0, suspended at 10, open again at 20; a bet "r" refused
// EMARKETSUSPENDED, sent at 11 and answered at 11.05; then the bets of the
// case.
func timelineJournal(bets ...replay.JournalEntry) []replay.JournalEntry {
	s := func(sec float64) int64 { return int64(sec * 1e6) }
	j := []replay.JournalEntry{
		{Kind: replay.KindStatus, Market: "m", Status: replay.StatusOpen, SentUS: s(0), Outcome: replay.OutcomePublished},
		{Kind: replay.KindStatus, Market: "m", Status: replay.StatusSuspended, SentUS: s(10), Outcome: replay.OutcomePublished},
		{Kind: replay.KindBet, ID: "r", Account: "a", Market: "m", Selection: "home", Odds: "2", Stake: 100,
			SentUS: s(11), DoneUS: s(11.05), Outcome: replay.OutcomeRejected, Code: "EMARKETSUSPENDED", HTTPStatus: 409},
		{Kind: replay.KindStatus, Market: "m", Status: replay.StatusOpen, SentUS: s(20), Outcome: replay.OutcomePublished},
	}
	j = append(j, bets...)
	for i := range j {
		j[i].Seq = int64(i + 1)
		j[i].IntendedUS = j[i].SentUS
	}
	return j
}

// acceptedBet is an accepted bet on m sent and answered at the given seconds.
func acceptedBet(id string, sent, done float64) replay.JournalEntry {
	return replay.JournalEntry{Kind: replay.KindBet, ID: id, Account: "a", Market: "m", Selection: "home", Odds: "2", Stake: 100,
		SentUS: int64(sent * 1e6), DoneUS: int64(done * 1e6), Outcome: replay.OutcomeAccepted, HTTPStatus: 201}
}

func TestNoBetWhileSuspended(t *testing.T) {
	delay := 2 * time.Second
	tests := []struct {
		name      string
		bets      []replay.JournalEntry
		opts      ReconcileOptions
		violators []string // bet ids with a witness, in order
	}{
		// Happy: the platform had the market open all along.
		{name: "accepted before the suspension", bets: []replay.JournalEntry{acceptedBet("b", 5, 7.01)}, opts: ReconcileOptions{InPlayDelay: delay}},
		{name: "accepted after the reopening", bets: []replay.JournalEntry{acceptedBet("b", 20.5, 22.6)}, opts: ReconcileOptions{InPlayDelay: delay}},
		// Happy, conservatively: sent before the suspension, its delay
		// could have ended before the platform had it (the refusal came
		// at 11.05, the delay could end at 10.5).
		{name: "delay may have ended before the platform had the suspension", bets: []replay.JournalEntry{acceptedBet("b", 8.5, 12)},
			opts: ReconcileOptions{InPlayDelay: delay}},
		// Happy: answered after the reopening was published, so the
		// platform may have checked the market open.
		{name: "answered after the reopening", bets: []replay.JournalEntry{acceptedBet("b", 18.5, 20.6)}, opts: ReconcileOptions{InPlayDelay: delay}},
		// Happy: a resend of a bet booked before the suspension is
		// answered with the booking.
		{name: "a resend of a bet booked before", bets: []replay.JournalEntry{
			{Kind: replay.KindBet, ID: "b", Account: "a", Market: "m", Selection: "home", Odds: "2", Stake: 100,
				SentUS: 5e6, DoneUS: 9e6, Outcome: replay.OutcomeUnknown, Error: "timeout"},
			acceptedBet("b", 12, 14.1)}, opts: ReconcileOptions{InPlayDelay: delay}},
		// Happy: a fault overlaps, so the feed may have lagged.
		{name: "a fault overlaps", bets: []replay.JournalEntry{acceptedBet("b", 12, 14.1)},
			opts: ReconcileOptions{InPlayDelay: delay, Faults: []Fault{{Name: "feed-stale", Injected: true, InjectedAtS: 9, Healed: true, HealedAtS: 13}}}},

		// Sad: sent during the suspension, the delay ended in it, and the
		// answer came before the reopening.
		{name: "accepted inside the suspension", bets: []replay.JournalEntry{acceptedBet("b", 12, 14.1)},
			opts: ReconcileOptions{InPlayDelay: delay}, violators: []string{"b"}},
		// Sad: sent before the suspension, but its delay ended after the
		// platform had refused another bet for it: the bug of checking the
		// market only before the delay.
		{name: "delay ended inside the suspension", bets: []replay.JournalEntry{acceptedBet("b", 9.5, 11.6)},
			opts: ReconcileOptions{InPlayDelay: delay}, violators: []string{"b"}},
		// Sad: without a delay the bet is checked when it arrives.
		{name: "no delay, accepted inside", bets: []replay.JournalEntry{acceptedBet("b", 15, 15.01), acceptedBet("ok", 25, 25.01)},
			violators: []string{"b"}},
		// Sad: a fault before the suspension's window does not excuse it.
		{name: "a fault long before", bets: []replay.JournalEntry{acceptedBet("b", 12, 14.1)},
			opts:      ReconcileOptions{InPlayDelay: delay, Faults: []Fault{{Name: "early", Injected: true, InjectedAtS: 1, Healed: true, HealedAtS: 2}}},
			violators: []string{"b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := timelineJournal(tc.bets...)
			var inv Invariant
			for _, got := range Reconcile(j, &Ledger{}, tc.opts) {
				if got.Name == InvNoBetWhileSuspended {
					inv = got
				}
			}
			var ids []string
			for _, w := range inv.Witnesses {
				ids = append(ids, w.IDs[0])
				if len(w.IDs) != 4 || w.IDs[1] != "m" || w.IDs[2] != "journal:2" || w.IDs[3] != "r" {
					t.Errorf("witness %v: want the bet, market m, the suspension journal:2 and the refusal r", w.IDs)
				}
				if !strings.Contains(w.Why, "suspended since 10.000s") {
					t.Errorf("witness %q does not name the suspension", w.Why)
				}
			}
			if !slices.Equal(ids, tc.violators) || inv.Violations != len(tc.violators) || inv.Failed() != (len(tc.violators) > 0) {
				t.Fatalf("violators %v (%d violations, status %s), want %v: %+v", ids, inv.Violations, inv.Status, tc.violators, inv.Witnesses)
			}
			if inv.Checked == 0 {
				t.Fatalf("checked nothing: %s", inv.Note)
			}
		})
	}
}

func TestNoBetWhileSuspendedNotCheckedOnAnOldJournal(t *testing.T) {
	j := timelineJournal(acceptedBet("b", 12, 14.1))
	for i := range j {
		j[i].Status = "" // a journal written before statuses were recorded
	}
	for _, inv := range Reconcile(j, &Ledger{}, ReconcileOptions{}) {
		if inv.Name == InvNoBetWhileSuspended && (inv.Status != StatusNotChecked || inv.Failed() || inv.Pass) {
			t.Fatalf("%+v, want not_checked", inv)
		}
	}
}

func TestHotStateMatches(t *testing.T) {
	built := func(markets map[string]HotMarket) *HotState { return &HotState{Built: true, Markets: markets} }
	agree := func() map[string]HotMarket {
		return map[string]HotMarket{
			"m1": {Status: "settled", Key: "p:market:m1"}, "m2": {Status: "open", Key: "p:market:m2"},
			"m3": {Status: "settled", Key: "p:market:m3"}, "m9": {Status: "open", Key: "p:market:m9"}, // m9: quoted only
		}
	}
	tests := []struct {
		name    string
		hs      func() *HotState
		status  string
		witness []string // the first witness's ids
	}{
		{"no hot state", func() *HotState { return nil }, StatusNotChecked, nil},
		{"being rebuilt", func() *HotState { return &HotState{Markets: agree()} }, StatusNotChecked, nil},
		{"agrees", func() *HotState { return built(agree()) }, StatusPass, nil},
		{"a settled market open again", func() *HotState {
			m := agree()
			m["m1"] = HotMarket{Status: "open", Key: "p:market:m1"}
			return built(m)
		}, StatusFail, []string{"m1", "p:market:m1"}},
		{"a ledger market missing", func() *HotState {
			m := agree()
			delete(m, "m2")
			return built(m)
		}, StatusFail, []string{"m2"}},
		{"a suspension the ledger never saw", func() *HotState {
			m := agree()
			m["m9"] = HotMarket{Status: "suspended", Key: "p:market:m9"}
			return built(m)
		}, StatusFail, []string{"m9", "p:market:m9"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, l := fixture()
			inv := invariantsByName(Reconcile(j, l, ReconcileOptions{HotState: tc.hs()}))[InvHotStateMatches]
			if inv.Status != tc.status {
				t.Fatalf("status %s, want %s: %+v", inv.Status, tc.status, inv)
			}
			if tc.witness != nil && (len(inv.Witnesses) != 1 || !slices.Equal(inv.Witnesses[0].IDs, tc.witness)) {
				t.Fatalf("witnesses %+v, want one naming %v", inv.Witnesses, tc.witness)
			}
		})
	}
}

func TestNotCheckedFailsNoVerdict(t *testing.T) {
	invs := []Invariant{{Name: "a", Status: StatusPass, Pass: true}, {Name: "b", Status: StatusNotChecked}}
	if code, v := verdict(invs, false, nil); code != ExitPass || v != VerdictPass {
		t.Fatalf("verdict %d %s, want a pass", code, v)
	}
	invs = append(invs, Invariant{Name: "c", Status: StatusFail})
	if code, _ := verdict(invs, false, nil); code != ExitReconcile {
		t.Fatalf("exit %d, want %d", code, ExitReconcile)
	}
	// A report older than status: pass false is a failure.
	if code, _ := verdict([]Invariant{{Name: "old"}}, false, nil); code != ExitReconcile {
		t.Fatalf("exit %d for an old failed invariant, want %d", code, ExitReconcile)
	}
}

func TestMergeInvariantStatuses(t *testing.T) {
	parts := []Part{{Input: Input{Shard: &ShardInfo{Index: 0, Count: 2}}}, {Input: Input{Shard: &ShardInfo{Index: 1, Count: 2}}}}
	inv := func(name, status string) Invariant {
		return Invariant{Name: name, Status: status, Pass: status == StatusPass, Witnesses: []Witness{}}
	}
	got := mergeInvariants(parts, [][]Invariant{
		{inv("a", StatusPass), inv("b", StatusNotChecked), inv("c", StatusPass), inv("d", StatusNotChecked)},
		{inv("a", StatusPass), inv("b", StatusNotChecked), inv("c", StatusFail), inv("d", StatusPass)},
	})
	want := map[string]string{
		"a": StatusPass,       // passes everywhere
		"b": StatusNotChecked, // checked nowhere: never a pass
		"c": StatusFail,       // fails in one shard
		"d": StatusPass,       // passes where it was checked
	}
	for _, m := range got {
		if m.Status != want[m.Name] || m.Pass != (want[m.Name] == StatusPass) {
			t.Errorf("%s merged to status %s pass %v, want %s", m.Name, m.Status, m.Pass, want[m.Name])
		}
	}
}

// TestRenderNotChecked: summary.md and junit.xml show a not-checked
// invariant as neither a pass nor a failure.
func TestRenderNotChecked(t *testing.T) {
	r := &Report{Schema: Schema, Verdict: VerdictPass, Invariants: []Invariant{
		{Name: InvEventStoreFolds, Status: StatusNotChecked, Witnesses: []Witness{}, Note: "needs the event store"},
	}}
	for name, want := range map[string]string{"summary": "not checked (needs the event store)", "junit": "<skipped message=\"not checked: needs the event store\">"} {
		rd, ok := LookupRenderer(name)
		if !ok {
			t.Fatalf("no renderer %s", name)
		}
		var buf strings.Builder
		if err := rd.Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), want) || strings.Contains(buf.String(), "FAIL") || strings.Contains(buf.String(), "<failure") {
			t.Errorf("%s lacks %q or shows a failure:\n%s", name, want, buf.String())
		}
	}
}
