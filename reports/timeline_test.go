package reports

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

func TestTimelineWidth(t *testing.T) {
	tests := []struct {
		name string
		wall time.Duration
		want int64 // seconds
	}{
		{"an unknown length gets 1 s", 0, 1},
		{"a short run gets 1 s", 90 * time.Second, 1},
		{"10 minutes is the longest at 1 s", 10 * time.Minute, 1},
		{"a second more doubles it", 10*time.Minute + time.Second, 2},
		{"an hour gets 10 s", time.Hour, 10},
		{"a day gets 5 min", 24 * time.Hour, 300},
		{"a month gets the widest", 30 * 24 * time.Hour, 3600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := timelineWidth(tc.wall) / 1_000_000; got != tc.want {
				t.Fatalf("width %d s, want %d s", got, tc.want)
			}
		})
	}
}

func TestBinHistWithinItsPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h binHist
	var vals []int64
	for range 20000 {
		v := int64(rng.ExpFloat64() * 40_000) // ms-scale latencies with a long tail
		vals = append(vals, v)
		h.add(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{50, 95, 99, 100} {
		exact := float64(vals[max(int(q/100*float64(len(vals)))-1, 0)]) / 1000
		got := h.quantileMS(q)
		if got < exact || got > exact*1.016+0.001 {
			t.Errorf("p%g = %.3f ms, exact %.3f ms: not within one bin above", q, got, exact)
		}
	}
	for k := range 1800 {
		if binOf(binTop(k)) != k || (k > 0 && binOf(binTop(k-1)+1) != k) {
			t.Fatalf("bin %d: top %d does not map back", k, binTop(k))
		}
	}
}

func TestBuildTimeline(t *testing.T) {
	s := int64(time.Second / time.Microsecond)
	lagged := betAt(2*s+10*ms, 30*ms, replay.OutcomeAccepted)
	lagged.SentUS += 7 * ms
	journal := []replay.JournalEntry{
		betAt(100*ms, 10*ms, replay.OutcomeAccepted),
		betAt(200*ms, 20*ms, replay.OutcomeRejected),
		betAt(900*ms, 2000*ms, replay.OutcomeUnknown), // a timeout is the slowest answer
		{Kind: replay.KindDeposit, IntendedUS: 500 * ms, SentUS: 500 * ms, DoneUS: 505 * ms, Outcome: replay.OutcomeAccepted},
		upd("m1", 1, 300*ms),
		lagged,
		{Kind: replay.KindBet, IntendedUS: 2*s + 500*ms, Outcome: replay.OutcomeDropped},
		betAt(9*s, 1*ms, replay.OutcomeAccepted), // past the 3 s wall: the last bucket
	}
	in := Input{Wall: 3 * time.Second, Journal: journal}
	tl := buildTimeline(in, in.entries(nil))
	if tl.BucketS != 1 || len(tl.Buckets) != 3 {
		t.Fatalf("bucket %g s × %d, want 1 s × 3", tl.BucketS, len(tl.Buckets))
	}
	b0, b1, b2 := tl.Buckets[0], tl.Buckets[1], tl.Buckets[2]
	if b0.Sent != 4 || b0.Feed != 1 || b0.Errors != 1 || b0.Rejected != 1 || b0.Dropped != 0 {
		t.Errorf("bucket 0 counts %+v", b0)
	}
	if l := b0.LatencyMS; l == nil || l.P50 < 10 || l.P50 > 10.2 || l.Max != 2000 || l.P99 < 1990 {
		t.Errorf("bucket 0 latency %+v, want p50 ≈ 10 ms and the timeout's 2000 ms as max", l)
	}
	if b1.Sent != 0 || b1.LatencyMS != nil || b1.ScheduleLagP99MS != 0 {
		t.Errorf("an empty bucket must have no latency: %+v", b1)
	}
	if b2.AtS != 2 || b2.Sent != 2 || b2.Dropped != 1 || b2.ScheduleLagP99MS < 7 || b2.ScheduleLagP99MS > 7.2 {
		t.Errorf("bucket 2 %+v, want 2 sent (one clamped in), 1 dropped, lag p99 ≈ 7 ms", b2)
	}
	if b0.QuoteLatencyP99MS != nil || b0.OddsStalenessP99MS != nil {
		t.Errorf("no subscribers, yet quote figures: %+v", b0)
	}
}

func TestBuildTimelineQuotes(t *testing.T) {
	// A subscriber that misses 2 s to 4 s: the staleness p99 rises in
	// those buckets and not elsewhere.
	in := Input{Wall: 10 * time.Second, Journal: steadyFeed(), Quotes: observe(10_100*ms, follows(2000*ms, 4000*ms))}
	r := Evaluate(in)
	tl := r.Timeline
	if tl == nil || len(tl.Buckets) != 10 {
		t.Fatalf("timeline %+v", tl)
	}
	for i, b := range tl.Buckets {
		if b.QuoteLatencyP99MS == nil || b.OddsStalenessP99MS == nil {
			t.Fatalf("bucket %d has no quote figures: %+v", i, b)
		}
		stale := *b.OddsStalenessP99MS
		if i == 4 {
			continue // its first sample, at 4.0 s, is the instant it came back: still 2 s stale
		}
		if down := i == 2 || i == 3; down != (stale > 100) {
			t.Errorf("bucket %d staleness p99 %.1f ms (down: %v)", i, stale, down)
		}
	}
	if q := *tl.Buckets[5].QuoteLatencyP99MS; q < 1 || q > 1.1 {
		t.Errorf("quote latency p99 after recovery %.2f ms, want ≈ 1 ms", q)
	}
}
