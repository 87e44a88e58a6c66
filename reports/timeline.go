package reports

import (
	"iter"
	"math"
	"math/bits"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// Timeline is a run over time, in buckets of its replay clock: report.json's
// "timeline", what report.html draws. Every sample sits in the bucket of its
// intended time, as the SLO phases place it, so a chart and a phase agree on
// when something happened.
type Timeline struct {
	BucketS float64          `json:"bucket_s"` // the width of every bucket, in seconds
	Buckets []TimelineBucket `json:"buckets"`  // consecutive, from the replay's start
}

// TimelineBucket is what happened in [AtS, AtS + BucketS) of the replay
// clock. A latency is null when the bucket had no sample of it; the quote
// fields are absent when no quote subscribers measured the stream.
type TimelineBucket struct {
	AtS      float64 `json:"at_s"`
	Sent     int     `json:"sent"`     // bettor requests (bets, deposits, withdrawals, cash-outs) that left the generator
	Feed     int     `json:"feed"`     // feed messages published
	Dropped  int     `json:"dropped"`  // requests and feed messages dropped: no free worker at their send time
	Errors   int     `json:"errors"`   // bettor requests with an unknown outcome
	Rejected int     `json:"rejected"` // bettor requests the platform refused
	// LatencyMS is the bettor requests' answers, from their intended send.
	LatencyMS *Percentiles `json:"latency_ms"`
	// ScheduleLagP99MS is how late the bucket's sends left, p99: SentUS −
	// IntendedUS of requests and feed messages.
	ScheduleLagP99MS   float64  `json:"schedule_lag_p99_ms"`
	QuoteLatencyP99MS  *float64 `json:"quote_latency_p99_ms,omitempty"`
	OddsStalenessP99MS *float64 `json:"odds_staleness_p99_ms,omitempty"`
}

// Percentiles of a latency in one bucket, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// maxTimelineBuckets bounds a timeline: 600 buckets keep a one-hour run's
// report.html far under 2 MB (BenchmarkHTMLReportSize) and are still more
// points than a chart on a laptop screen has pixels to spare.
const maxTimelineBuckets = 600

// timelineWidths are the bucket widths a timeline may take, in seconds:
// the first that fits the run in maxTimelineBuckets. A run of up to 10
// minutes gets 1 s buckets.
var timelineWidths = []int64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600}

// timelineWidth is the bucket width, in µs, for a run of wall time.
func timelineWidth(wall time.Duration) int64 {
	for _, w := range timelineWidths {
		if wall <= time.Duration(w*maxTimelineBuckets)*time.Second {
			return w * 1_000_000
		}
	}
	return timelineWidths[len(timelineWidths)-1] * 1_000_000
}

// bettorKind reports whether a journal entry is a bettor's request, as
// error_rate counts them.
func bettorKind(k replay.Kind) bool {
	switch k {
	case replay.KindBet, replay.KindDeposit, replay.KindWithdraw, replay.KindCashout:
		return true
	}
	return false
}

// timelineBuilder accumulates samples into buckets of width µs.
type timelineBuilder struct {
	width   int64
	limit   int // the most buckets the run can have; later samples go to the last
	buckets []TimelineBucket
	latency []*binHist
	lag     []*binHist
	quote   []*binHist
	stale   []*binHist
}

// newTimelineBuilder sizes buckets for a run of wall time; a run of
// unknown length (0) gets 1 s buckets.
func newTimelineBuilder(wall time.Duration) *timelineBuilder {
	b := &timelineBuilder{width: timelineWidth(wall), limit: 100_000}
	if wall > 0 {
		// A sample past the end (a quote observed while the run stopped)
		// belongs to the last bucket, never to a bucket of its own far out.
		b.limit = int((wall.Microseconds() + b.width - 1) / b.width)
		b.limit = max(b.limit, 1)
	}
	return b
}

// at returns the index of the bucket of instant us, creating the buckets up
// to it.
func (b *timelineBuilder) at(us int64) int {
	i := int(min(max(us, 0)/b.width, int64(b.limit-1)))
	for len(b.buckets) <= i {
		n := len(b.buckets)
		b.buckets = append(b.buckets, TimelineBucket{AtS: float64(int64(n)*b.width) / 1e6})
		b.latency = append(b.latency, nil)
		b.lag = append(b.lag, nil)
		b.quote = append(b.quote, nil)
		b.stale = append(b.stale, nil)
	}
	return i
}

// add records one journal entry.
func (b *timelineBuilder) add(e replay.JournalEntry) {
	i := b.at(e.IntendedUS)
	bk := &b.buckets[i]
	if e.Outcome == replay.OutcomeDropped {
		bk.Dropped++
		return
	}
	if !sent(e) {
		return
	}
	addBin(&b.lag[i], e.SentUS-e.IntendedUS)
	if e.Kind.IsFeed() {
		bk.Feed++
		return
	}
	if !bettorKind(e.Kind) {
		return
	}
	bk.Sent++
	switch e.Outcome {
	case replay.OutcomeUnknown:
		bk.Errors++
	case replay.OutcomeRejected:
		bk.Rejected++
	}
	if e.DoneUS > 0 {
		addBin(&b.latency[i], e.DoneUS-e.IntendedUS)
	}
}

// finish computes each bucket's statistics.
func (b *timelineBuilder) finish() *Timeline {
	t := &Timeline{BucketS: float64(b.width) / 1e6, Buckets: b.buckets}
	if t.Buckets == nil {
		t.Buckets = []TimelineBucket{}
	}
	for i := range t.Buckets {
		bk := &t.Buckets[i]
		if h := b.latency[i]; h != nil {
			bk.LatencyMS = &Percentiles{P50: h.quantileMS(50), P95: h.quantileMS(95), P99: h.quantileMS(99), Max: msOf(h.max)}
		}
		if h := b.lag[i]; h != nil {
			bk.ScheduleLagP99MS = h.quantileMS(99)
		}
		if h := b.quote[i]; h != nil {
			bk.QuoteLatencyP99MS = ptrTo(h.quantileMS(99))
		}
		if h := b.stale[i]; h != nil {
			bk.OddsStalenessP99MS = ptrTo(h.quantileMS(99))
		}
	}
	return t
}

func ptrTo(v float64) *float64 { return &v }

// buildTimeline computes the timeline of a run from its journal, read once
// and streamed, and from what the quote subscribers observed (when they
// ran), measured as quote_latency and odds_staleness measure it. Memory is
// the buckets' histograms, never the journal.
func buildTimeline(in Input, journal iter.Seq[replay.JournalEntry]) *Timeline {
	b := newTimelineBuilder(in.Wall)
	for e := range journal {
		b.add(e)
	}
	if in.Quotes != nil {
		b.addQuotes(newObservedFrom(in, journal))
	}
	return b.finish()
}

// addQuotes records the quote metrics' samples; a bucket with none keeps 0
// (measured, nothing stale) rather than null once any was measured, so that
// a chart's line runs through the run.
func (b *timelineBuilder) addQuotes(o *observed) {
	measured := false
	for s := range measureQuoteLatency(o) {
		addBin(&b.quote[b.at(s.atUS)], s.value)
		measured = true
	}
	for s := range measureOddsStaleness(o) {
		addBin(&b.stale[b.at(s.atUS)], s.value)
		measured = true
	}
	if !measured {
		return
	}
	for i := range b.buckets {
		if b.quote[i] == nil {
			b.quote[i] = &binHist{}
		}
		if b.stale[i] == nil {
			b.stale[i] = &binHist{}
		}
	}
}

// binHist is a small histogram of µs for one bucket: exact below 128 µs,
// then 64 bins per power of two (within 1.6%), at most 1,800 bins however
// wide the range. An HDR histogram of the report's precision is ~190 KB;
// 600 buckets of four of them would be too much for a chart's figures.
type binHist struct {
	counts []uint32
	n      uint64
	max    int64
}

const binMantissa = 6 // 2^6 bins per power of two

// binOf maps a value ≥ 0 to its bin; bins are ordered as their values.
func binOf(v int64) int {
	if v < 2<<binMantissa {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - binMantissa - 1
	return shift<<binMantissa + int(v>>shift)
}

// binTop is the highest value of bin k: a percentile is reported as the top
// of its bin, never lower than the samples it stands for.
func binTop(k int) int64 {
	if k < 2<<binMantissa {
		return int64(k)
	}
	shift := k>>binMantissa - 1
	m := int64(k - shift<<binMantissa)
	return (m+1)<<shift - 1
}

// addBin records us, clamped as record does, into *h, allocated on first use.
func addBin(h **binHist, us int64) {
	if *h == nil {
		*h = &binHist{}
	}
	(*h).add(us)
}

func (h *binHist) add(us int64) {
	us = min(max(us, 0), histMaxUS)
	k := binOf(us)
	if k >= len(h.counts) {
		h.counts = append(h.counts, make([]uint32, k+1-len(h.counts))...)
	}
	h.counts[k]++
	h.n++
	h.max = max(h.max, us)
}

// quantileMS is the value at percentile q (0-100), in ms: the top of the bin
// holding the ceil(q% × n)th sample, capped at the exact maximum; 0 when
// empty.
func (h *binHist) quantileMS(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q / 100 * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for k, c := range h.counts {
		seen += uint64(c)
		if seen >= rank {
			return msOf(min(binTop(k), h.max))
		}
	}
	return msOf(h.max)
}

// mergeTimeline is the timeline of a sharded run, re-derived from the
// merged journal (every shard's bettor entries, shard 0's feed): counts add
// up and each percentile is over every shard's samples. The quote series
// are shard 0's, bucket for bucket, as its report has them (no folder keeps
// the quote observations); they are left out when shard 0's buckets are not
// the merge's.
func mergeTimeline(journal iter.Seq[replay.JournalEntry], wall time.Duration, shard0 *Report) *Timeline {
	b := newTimelineBuilder(wall)
	for e := range journal {
		b.add(e)
	}
	t := b.finish()
	if shard0 == nil || shard0.Timeline == nil || shard0.Timeline.BucketS != t.BucketS {
		return t
	}
	for i, q := range shard0.Timeline.Buckets {
		if i < len(t.Buckets) && t.Buckets[i].AtS == q.AtS {
			t.Buckets[i].QuoteLatencyP99MS = q.QuoteLatencyP99MS
			t.Buckets[i].OddsStalenessP99MS = q.OddsStalenessP99MS
		}
	}
	return t
}
