package reports

import (
	"bytes"
	"iter"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// htmlBarMB is issue 8's bar: the report.html of a one-hour run at 1,000
// requests/s is 2 MB or less.
const htmlBarMB = 2.0

// hourJournal streams the journal of a one-hour run at 1,000 entries/s
// (3.6M): 900 bettor requests and 100 odds updates of one market a second,
// in Seq order as ReadJournal gives them, never held. Latency is 5-40 ms,
// 200-450 ms during the fault (20:00 to 25:00), with a timeout in every
// thousand requests then and a rejection in every fifty throughout.
func hourJournal() iter.Seq2[replay.JournalEntry, error] {
	return func(yield func(replay.JournalEntry, error) bool) {
		var feedSeq int64
		for i := range int64(3_600_000) {
			us := i * 1_000
			e := replay.JournalEntry{Seq: i + 1, IntendedUS: us, SentUS: us + i%7*30}
			if i%10 == 0 {
				feedSeq++
				e.Kind, e.Market, e.FeedSeq, e.Outcome = replay.KindOdds, "m1", feedSeq, replay.OutcomePublished
			} else {
				lat := 5_000 + i*7919%35_000
				e.Kind, e.ID, e.Outcome = replay.KindBet, "b", replay.OutcomeAccepted
				if us >= 1_200_000_000 && us < 1_500_000_000 {
					lat += 195_000 + i%250_000
					if i%1000 == 1 {
						lat, e.Outcome = 5_000_000, replay.OutcomeUnknown
					}
				}
				if i%50 == 3 {
					e.Outcome = replay.OutcomeRejected
				}
				e.DoneUS = us + lat
			}
			if !yield(e, nil) {
				return
			}
		}
	}
}

// hourQuotes is two subscribers that receive every update of hourJournal's
// market 3 ms after it was sent, except the second during the fault.
func hourQuotes() *replay.QuoteObservations {
	q := &replay.QuoteObservations{EndUS: 3_600_000_000, Markets: []string{"m1"}}
	for s := range 2 {
		log := replay.QuoteSubscriberLog{Sessions: []replay.QuoteSession{{FromUS: 0, ToUS: q.EndUS}}}
		for n := int64(1); n <= 360_000; n++ {
			at := (n-1)*10_000 + 3_000
			if s == 1 && at >= 1_200_000_000 && at < 1_500_000_000 {
				continue
			}
			log.Receipts = append(log.Receipts, replay.QuoteReceipt{AtUS: at, FeedSeq: n})
		}
		q.Subscribers = append(q.Subscribers, log)
	}
	return q
}

// BenchmarkHTMLReportSize reaches the verdict of a one-hour run at 1,000
// requests/s through Evaluate, its journal streamed (JournalFrom) as a
// run's journal.jsonl is, with quote subscribers and a fault, and renders
// report.html: html-MB is its size (bar: 2 MB), json-MB report.json's.
func BenchmarkHTMLReportSize(b *testing.B) {
	in := Input{
		ScenarioName: "hour", Seed: 1, RunID: "hour_1", StartedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Wall: time.Hour, Speed: 1, Headroom: 1, CaptureSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		JournalFrom: hourJournal, Quotes: hourQuotes(),
		Faults: []Fault{{Name: "redis-slow", Target: "redis", Kind: "latency", Injected: true, InjectedAtS: 1200, HealedAtS: 1500, Healed: true, Landed: true, Evidence: "landed"}},
		Objectives: []Objective{
			{Metric: MetricBetAcceptance, Stat: "p99", Limit: 250},
			{Metric: MetricErrorRate, Stat: "max", Limit: 0.5, Phase: PhaseFault},
			{Metric: MetricOddsStaleness, Stat: "p99", Limit: 500},
		},
	}
	var html, js bytes.Buffer
	for b.Loop() {
		r := Evaluate(in)
		html.Reset()
		js.Reset()
		if err := (htmlRenderer{}).Render(&html, r); err != nil {
			b.Fatal(err)
		}
		if err := (jsonRenderer{}).Render(&js, r); err != nil {
			b.Fatal(err)
		}
		if r.Timeline == nil || len(r.Timeline.Buckets) != 360 || r.Timeline.Buckets[0].QuoteLatencyP99MS == nil {
			b.Fatalf("the hour's timeline is not 360 buckets of 10 s with quote figures: %+v", r.Timeline)
		}
	}
	mb := float64(html.Len()) / 1e6
	b.ReportMetric(mb, "html-MB")
	b.ReportMetric(float64(js.Len())/1e6, "json-MB")
	if mb > htmlBarMB {
		b.Errorf("report.html is %.2f MB, over the %.0f MB bar", mb, htmlBarMB)
	}
}
