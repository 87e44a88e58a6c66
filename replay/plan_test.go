package replay

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// sessions is a capture with a feed and n bettors, each with a deposit, a
// bet and a cash-out of that bet.
func sessions(n int) *Capture {
	c := &Capture{Header: Header{Capture: CaptureVersion, DurationUS: 10_000_000}}
	c.Events = append(c.Events, Event{T: 0, Kind: KindStatus, Market: "m1", Status: StatusOpen})
	for i := 1; i <= n; i++ {
		a := fmt.Sprintf("a%d", i)
		c.Events = append(c.Events,
			Event{T: int64(i), Kind: KindDeposit, Account: a, ID: "d-" + a, Amount: 1000},
			Event{T: 1_000_000, Kind: KindBet, Account: a, ID: "b-" + a, Market: "m1", Selection: "home", Odds: "2", Stake: 100},
			Event{T: 2_000_000, Kind: KindCashout, Account: a, ID: "c-" + a, Bet: "b-" + a, Amount: 90},
		)
	}
	c.Events = append(c.Events, Event{T: 3_000_000, Kind: KindStatus, Market: "m1", Status: StatusClosed})
	return c
}

func TestPlanSpeed(t *testing.T) {
	cases := []struct {
		name     string
		speed    float64
		t        int64 // capture offset, µs
		wantAt   time.Duration
		wantPlan time.Duration // of a 10 s capture
	}{
		{"real time", 1, 1_000_000, time.Second, 10 * time.Second},
		{"4x: a second of capture is 250 ms", 4, 1_000_000, 250 * time.Millisecond, 2500 * time.Millisecond},
		{"half speed stretches", 0.5, 1_000_000, 2 * time.Second, 20 * time.Second},
		{"a microsecond at 3x rounds to the nearest nanosecond", 3, 1, 333 * time.Nanosecond, 3333333333 * time.Nanosecond},
		{"an hour in at 10x", 10, 3_600_000_000, 6 * time.Minute, time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Capture{Header: Header{Capture: CaptureVersion, DurationUS: 10_000_000}, Events: []Event{{T: tc.t, Kind: KindStatus, Market: "m", Status: StatusOpen}}}
			p, err := NewPlan(c, PlanOptions{Speed: tc.speed, Headroom: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Entries[0].At; got != tc.wantAt {
				t.Errorf("At = %v, want %v", got, tc.wantAt)
			}
			// The plan lasts the longer of the header's duration and the last event.
			want := max(tc.wantPlan, tc.wantAt)
			if p.Duration != want {
				t.Errorf("Duration = %v, want %v", p.Duration, want)
			}
		})
	}
}

func TestPlanHeadroom(t *testing.T) {
	cases := []struct {
		name     string
		headroom float64
		bettors  int
		want     int // bettor entries in the plan
	}{
		{"no headroom", 1, 10, 30},
		{"double: every session once", 2, 10, 60},
		{"3x: every session twice", 3, 4, 36},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := sessions(tc.bettors)
			p, err := NewPlan(c, PlanOptions{Speed: 1, Headroom: tc.headroom, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			n := p.Counts()
			if got := n[KindDeposit] + n[KindBet] + n[KindCashout]; got != tc.want {
				t.Errorf("%d bettor entries, want %d", got, tc.want)
			}
			if n[KindStatus] != 2 {
				t.Errorf("%d feed entries, want 2: feed events are never cloned", n[KindStatus])
			}
			checkClones(t, p)
		})
	}
}

func TestPlanFractionalHeadroomOnAverage(t *testing.T) {
	// Each session is cloned with probability h-1-floor(h-1), from a hash
	// of (seed, account): the share is met on average, not exactly.
	cases := []struct {
		headroom float64
		want     float64 // bettor entries per recorded one
	}{
		{1.3, 1.3},
		{1.05, 1.05},
		{2.5, 2.5},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.headroom), func(t *testing.T) {
			const bettors = 4000
			p, err := NewPlan(sessions(bettors), PlanOptions{Speed: 1, Headroom: tc.headroom, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			n := p.Counts()
			got := float64(n[KindDeposit]+n[KindBet]+n[KindCashout]) / (3 * bettors)
			// The binomial's standard deviation is at most 0.008 here; a
			// fixed seed makes the check certain either way.
			if got < tc.want-0.03 || got > tc.want+0.03 {
				t.Errorf("%.3f × the recorded bettor traffic, want about %.2f", got, tc.want)
			}
			checkClones(t, p)
		})
	}
}

// checkClones checks clones are whole sessions with fresh, consistent ids,
// each shifted as a whole by one offset in [MinCloneOffset, MaxCloneOffset]
// from its original, and that the plan is in time order.
func checkClones(t *testing.T, p *Plan) {
	t.Helper()
	ids := map[string]bool{}
	perAccount := map[string]int{}
	originalAt := map[string]time.Duration{} // by original id
	shift := map[string]time.Duration{}      // by clone account
	var prev time.Duration
	for i, e := range p.Entries {
		if e.At < prev {
			t.Fatalf("entry %d at %v is before %v", i, e.At, prev)
		}
		prev = e.At
		ev := e.Event
		if ev.Kind.IsFeed() {
			if e.Clone != 0 {
				t.Fatalf("feed entry %d is a clone", i)
			}
			continue
		}
		if e.Clone == 0 {
			originalAt[ev.ID] = e.At
		} else {
			orig, ok := originalAt[strings.TrimSuffix(ev.ID, fmt.Sprintf("~h%d", e.Clone))]
			if !ok {
				t.Fatalf("clone %s is planned before its original", ev.ID)
			}
			d := e.At - orig
			if d < MinCloneOffset || d > MaxCloneOffset || d%time.Microsecond != 0 {
				t.Fatalf("clone %s is %v after its original, want whole µs in [%v, %v]", ev.ID, d, MinCloneOffset, MaxCloneOffset)
			}
			if s, ok := shift[ev.Account]; ok && s != d {
				t.Fatalf("clone session %s is shifted by %v and by %v: a session moves as a whole", ev.Account, s, d)
			}
			shift[ev.Account] = d
		}
		if ids[ev.ID] {
			t.Fatalf("id %s planned twice", ev.ID)
		}
		ids[ev.ID] = true
		perAccount[ev.Account]++
		suffix := ""
		if e.Clone > 0 {
			suffix = fmt.Sprintf("~h%d", e.Clone)
		}
		if !strings.HasSuffix(ev.Account, suffix) || !strings.HasSuffix(ev.ID, suffix) || (ev.Bet != "" && !strings.HasSuffix(ev.Bet, suffix)) {
			t.Fatalf("clone %d has account %s, id %s, bet %s", e.Clone, ev.Account, ev.ID, ev.Bet)
		}
		if ev.Kind == KindCashout && !ids[ev.Bet] {
			t.Fatalf("cash-out %s of bet %s, which is not planned before it", ev.ID, ev.Bet)
		}
	}
	for a, n := range perAccount {
		if n != 3 {
			t.Errorf("account %s has %d events: a session was cloned in part", a, n)
		}
	}
}

func TestPlanHeadroomIsSeeded(t *testing.T) {
	picked := func(seed int64) string {
		p, err := NewPlan(sessions(20), PlanOptions{Speed: 1, Headroom: 1.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range p.Entries {
			if e.Clone > 0 && e.Event.Kind == KindDeposit {
				b.WriteString(e.Event.Account + " ")
			}
		}
		return b.String()
	}
	if picked(1) != picked(1) {
		t.Error("the same seed cloned different sessions")
	}
	if picked(1) == picked(2) {
		t.Error("different seeds cloned the same sessions (possible, but not for these seeds)")
	}
}

func TestPlanCloneOffsetsAreSeeded(t *testing.T) {
	// plan is every entry's account, id and time, so two plans compare as
	// strings.
	plan := func(seed int64) string {
		p, err := NewPlan(sessions(20), PlanOptions{Speed: 4, Headroom: 2.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, e := range p.Entries {
			fmt.Fprintf(&b, "%s/%s@%v ", e.Event.Account, e.Event.ID, e.At)
		}
		return b.String()
	}
	if plan(7) != plan(7) {
		t.Error("the same seed gave two different plans")
	}
	if plan(7) == plan(8) {
		t.Error("different seeds gave the same clone offsets (possible, but not for these seeds)")
	}
}

func TestPlanCloneOffsets(t *testing.T) {
	// 200 sessions cloned twice each: 400 offsets, enough to see they are
	// spread over the range and not one fixed delay.
	p, err := NewPlan(sessions(200), PlanOptions{Speed: 1, Headroom: 3, Seed: 3})
	// 200 × 2 offsets, each from a hash: as spread as uniform draws.
	if err != nil {
		t.Fatal(err)
	}
	checkClones(t, p)
	at := map[string]time.Duration{}
	for _, e := range p.Entries {
		at[e.Event.ID] = e.At
	}
	lo, hi := MaxCloneOffset, MinCloneOffset
	distinct := map[time.Duration]bool{}
	for _, e := range p.Entries {
		if e.Clone == 0 || e.Event.Kind != KindDeposit {
			continue
		}
		d := e.At - at[strings.TrimSuffix(e.Event.ID, fmt.Sprintf("~h%d", e.Clone))]
		lo, hi = min(lo, d), max(hi, d)
		distinct[d] = true
	}
	if len(distinct) < 300 {
		t.Errorf("%d distinct offsets among 400 clones, want them spread", len(distinct))
	}
	// With 400 uniform draws, the chance of missing the outer 5 ms on either
	// side is about 1e-18; a fixed seed makes it certain either way.
	if lo > MinCloneOffset+5*time.Millisecond || hi < MaxCloneOffset-5*time.Millisecond {
		t.Errorf("offsets span [%v, %v], want close to [%v, %v]", lo, hi, MinCloneOffset, MaxCloneOffset)
	}
	// A clone at the end is not left out of the plan's length.
	c := &Capture{Header: Header{Capture: CaptureVersion, DurationUS: 1_000_000}, Events: []Event{
		{T: 1_000_000, Kind: KindDeposit, Account: "a1", ID: "d1", Amount: 1},
	}}
	p, err = NewPlan(c, PlanOptions{Speed: 1, Headroom: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if last := p.Entries[len(p.Entries)-1]; last.Clone != 1 || p.Duration != last.At || p.Duration <= time.Second {
		t.Errorf("Duration %v, last entry %+v: want the clone's time", p.Duration, last)
	}
}

func TestPlanFeedEventsNeverMove(t *testing.T) {
	// Odds between a bettor's events: with headroom, clones land among them,
	// but every feed event keeps its own time.
	c := sessions(5)
	for i := range 30 {
		c.Events = append(c.Events, Event{T: int64(i) * 100_000, Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": "2"}})
	}
	p, err := NewPlan(c, PlanOptions{Speed: 2, Headroom: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	checkClones(t, p)
	feed := 0
	for _, e := range p.Entries {
		if e.Event.Kind.IsFeed() {
			if want := wallOffset(e.Event.T, 2); e.At != want {
				t.Errorf("feed event at capture %d µs is planned at %v, want %v", e.Event.T, e.At, want)
			}
			feed++
		}
	}
	if feed != 32 {
		t.Errorf("%d feed entries, want 32", feed)
	}
}

func TestPlanSortsAnUnorderedCapture(t *testing.T) {
	c := &Capture{Header: Header{Capture: CaptureVersion}, Events: []Event{
		{T: 20, Kind: KindStatus, Market: "m", Status: StatusClosed},
		{T: 10, Kind: KindStatus, Market: "m", Status: StatusOpen},
		{T: 10, Kind: KindStatus, Market: "n", Status: StatusOpen},
	}}
	p, err := NewPlan(c, PlanOptions{Speed: 1, Headroom: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.Entries[0].Event.Market + p.Entries[0].Event.Status, p.Entries[1].Event.Market + p.Entries[1].Event.Status, p.Entries[2].Event.Status}
	want := []string{"mopen", "nopen", "closed"} // equal times keep capture order
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestPlanOptionsValidate(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	cases := []struct {
		name string
		opts PlanOptions
		errs int
	}{
		{"fine", PlanOptions{Speed: 4, Headroom: 1.3}, 0},
		{"zero speed", PlanOptions{Speed: 0, Headroom: 1}, 1},
		{"negative speed", PlanOptions{Speed: -1, Headroom: 1}, 1},
		{"NaN speed", PlanOptions{Speed: nan, Headroom: 1}, 1},
		{"headroom below 1 would drop traffic", PlanOptions{Speed: 1, Headroom: 0.9}, 1},
		{"zero options: both problems at once", PlanOptions{}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if errs := tc.opts.Validate(); len(errs) != tc.errs {
				t.Fatalf("Validate = %v, want %d errors", errs, tc.errs)
			}
			if _, err := NewPlan(sessions(1), tc.opts); (err != nil) != (tc.errs > 0) {
				t.Fatalf("NewPlan error = %v", err)
			}
		})
	}
}

// collectPlan reads a PlanStream to its end.
func collectPlan(t *testing.T, s PlanStream) []Planned {
	t.Helper()
	var out []Planned
	for {
		e, err := s.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func TestPlannerStreamsInBoundedMemory(t *testing.T) {
	// A long capture: the planner holds only the entries of the clone
	// window, never the capture.
	c := &Capture{Header: Header{Capture: CaptureVersion}}
	for i := range 20_000 {
		a := fmt.Sprintf("a%d", i%300)
		c.Events = append(c.Events, Event{T: int64(i) * 1000, Kind: KindDeposit, Account: a, ID: fmt.Sprintf("d%d", i), Amount: 1})
		if i%10 == 0 {
			c.Events = append(c.Events, Event{T: int64(i) * 1000, Kind: KindOdds, Market: "m", Prices: map[string]string{"x": "2"}})
		}
	}
	p, err := NewPlanner(c.Stream(), PlanOptions{Speed: 1, Headroom: 2.5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	most, n := 0, 0
	var prev time.Duration
	for {
		e, err := p.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.At < prev {
			t.Fatalf("entry %d at %v after %v", n, e.At, prev)
		}
		prev = e.At
		most = max(most, len(p.pending))
		n++
	}
	// One event a millisecond, up to 2 clones each within 50 ms: about 150
	// entries wait at most.
	if most > 200 {
		t.Errorf("the planner held %d entries at once, want at most the clone window's", most)
	}
	// The same as the plan held in memory.
	whole, err := NewPlan(c, PlanOptions{Speed: 1, Headroom: 2.5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n != len(whole.Entries) || p.Duration() != whole.Duration {
		t.Errorf("streamed %d entries over %v, held %d over %v", n, p.Duration(), len(whole.Entries), whole.Duration)
	}
}

func TestPlannerRefusesAnUnorderedStream(t *testing.T) {
	c := &Capture{Header: Header{Capture: CaptureVersion}, Events: []Event{
		{T: 20, Kind: KindStatus, Market: "m", Status: StatusClosed},
		{T: 10, Kind: KindStatus, Market: "m", Status: StatusOpen},
	}}
	p, err := NewPlanner(c.Stream(), PlanOptions{Speed: 1, Headroom: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); err == nil || !strings.Contains(err.Error(), "t_us order") {
		t.Fatalf("Next = %v, want an order error", err)
	}
}

func TestPlanShards(t *testing.T) {
	c := sessions(300)
	opts := PlanOptions{Speed: 1, Headroom: 1.5, Seed: 4}
	whole, err := NewPlan(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	seen := map[string]int{} // bettor entry (account/id) → shards that planned it
	bettors := make([]int, n)
	for i := range n {
		opts.Shard = Shard{Index: i, Count: n}
		p, err := NewPlan(c, opts)
		if err != nil {
			t.Fatal(err)
		}
		feed := 0
		for _, e := range p.Entries {
			if e.Event.Kind.IsFeed() {
				feed++
				continue
			}
			base := strings.SplitN(e.Event.Account, CloneSuffix, 2)[0]
			if !opts.Shard.Has(base) {
				t.Fatalf("shard %d planned %s, whose base account %s is not its", i, e.Event.ID, base)
			}
			seen[e.Event.ID]++
			bettors[i]++
		}
		if feed != 2 {
			t.Errorf("shard %d has %d feed entries, want both: every shard keeps the feed", i, feed)
		}
	}
	total := 0
	for _, e := range whole.Entries {
		if e.Event.Kind.IsFeed() {
			continue
		}
		total++
		if seen[e.Event.ID] != 1 {
			t.Fatalf("%s is in %d shards, want exactly 1", e.Event.ID, seen[e.Event.ID])
		}
	}
	if len(seen) != total {
		t.Errorf("the shards planned %d bettor entries, the whole plan %d", len(seen), total)
	}
	for i, b := range bettors {
		if b < total/n/2 {
			t.Errorf("shard %d has %d of %d bettor entries: the hash does not spread", i, b, total)
		}
	}
	for _, bad := range []Shard{{Index: 3, Count: 3}, {Index: -1, Count: 2}, {Index: 1}, {Count: -2}} {
		if errs := (PlanOptions{Speed: 1, Headroom: 1, Shard: bad}).Validate(); len(errs) == 0 {
			t.Errorf("shard %+v was accepted", bad)
		}
	}
}

func TestPlannerSummary(t *testing.T) {
	c := sessions(50)
	// A stream must be in t_us order, as a file is; sessions is not.
	slices.SortStableFunc(c.Events, func(a, b Event) int { return cmp.Compare(a.T, b.T) })
	opts := PlanOptions{Speed: 2, Headroom: 2, Seed: 1}
	whole, err := NewPlan(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlanner(c.Stream(), opts)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Entries != int64(len(whole.Entries)) || sum.Duration != whole.Duration || sum.Counts[KindBet] != 100 {
		t.Errorf("summary %+v, plan of %d entries over %v", sum, len(whole.Entries), whole.Duration)
	}
	if got := collectPlan(t, whole.Stream()); len(got) != len(whole.Entries) {
		t.Errorf("Plan.Stream gave %d entries of %d", len(got), len(whole.Entries))
	}
}
