package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

const ms = int64(time.Millisecond / time.Microsecond)

// upd is a feed update of market with seq, intended and sent at atUS.
func upd(market string, seq, atUS int64) replay.JournalEntry {
	return replay.JournalEntry{Kind: replay.KindOdds, Market: market, FeedSeq: seq, IntendedUS: atUS, SentUS: atUS, DoneUS: atUS, Outcome: replay.OutcomePublished}
}

// rcpt is a quote of market at seq that a subscriber received at atUS.
type rcpt struct {
	market string
	seq    int64
	atUS   int64
}

// sub is one subscriber's story: its subscriptions and what it received.
type sub struct {
	sessions []replay.QuoteSession
	got      []rcpt
}

// always is a subscriber subscribed for the whole run.
func always(got ...rcpt) sub {
	return sub{sessions: []replay.QuoteSession{{FromUS: 0, ToUS: 1 << 50}}, got: got}
}

// observe builds what the subscribers recorded, observation ending at endUS.
func observe(endUS int64, subs ...sub) *replay.QuoteObservations {
	q := &replay.QuoteObservations{EndUS: endUS}
	index := map[string]int32{}
	for _, s := range subs {
		log := replay.QuoteSubscriberLog{Sessions: s.sessions}
		for i := range log.Sessions {
			log.Sessions[i].ToUS = min(log.Sessions[i].ToUS, endUS)
		}
		for _, r := range s.got {
			m, ok := index[r.market]
			if !ok {
				m = int32(len(q.Markets))
				index[r.market] = m
				q.Markets = append(q.Markets, r.market)
			}
			log.Receipts = append(log.Receipts, replay.QuoteReceipt{AtUS: r.atUS, FeedSeq: r.seq, Market: m})
		}
		q.Subscribers = append(q.Subscribers, log)
	}
	return q
}

// steadyFeed is m1 updated every 100 ms from 0 to 10 s: seq n at (n−1) × 100 ms.
func steadyFeed() []replay.JournalEntry {
	var j []replay.JournalEntry
	for n := int64(1); n <= 101; n++ {
		j = append(j, upd("m1", n, (n-1)*100*ms))
	}
	return j
}

// follows receives every update of steadyFeed 1 ms after it was sent,
// except those sent in [downFrom, downTo); when it comes back at downTo it
// gets the current state 1 ms later.
func follows(downFrom, downTo int64) sub {
	s := sub{sessions: []replay.QuoteSession{{FromUS: 0, ToUS: 1 << 50}}}
	if downFrom < downTo {
		s.sessions = []replay.QuoteSession{{FromUS: 0, ToUS: downFrom}, {FromUS: downTo, ToUS: 1 << 50}}
	}
	for n := int64(1); n <= 101; n++ {
		sent := (n - 1) * 100 * ms
		switch {
		case sent < downFrom || sent >= downTo:
			s.got = append(s.got, rcpt{"m1", n, sent + ms})
		case sent+100*ms >= downTo: // the last one sent while it was away: the state on return
			s.got = append(s.got, rcpt{"m1", n, downTo + ms})
		}
	}
	return s
}

func TestQuoteMetrics(t *testing.T) {
	fault := []Fault{{Name: "stream-down", Target: "stream", Kind: "down", Injected: true, InjectedAtS: 4, HealedAtS: 6, Healed: true, Landed: true}}
	oneUpdate := []replay.JournalEntry{
		upd("m1", 1, sec),
		{Kind: replay.KindBet, ID: "b", IntendedUS: sec, Outcome: replay.OutcomeAccepted},                                           // not a feed update
		{Kind: replay.KindResult, Market: "m1", FeedSeq: 2, IntendedUS: 9 * sec, SentUS: 9 * sec, Outcome: replay.OutcomePublished}, // not an odds or status update
	}
	late := []sub{
		always(rcpt{"m1", 1, sec + 5*ms}),  // on time: 5 ms
		always(rcpt{"m1", 1, 3 * sec}),     // late: 2 s
		always(rcpt{"m2", 1, sec + 5*ms}),  // another market's quote is not this update's: never arrived
		always(rcpt{"m1", 0, sec + 10*ms}), // an older quote of the market is not it either
	}
	// Two updates, one quote that carries both (coalesced).
	coalesced := []replay.JournalEntry{upd("m1", 1, sec), upd("m1", 2, sec+100*ms)}
	// A subscriber that was away when the update was sent is not asked;
	// one that was there, dropped and came back counts its resubscription.
	sessions := []sub{
		{sessions: []replay.QuoteSession{{FromUS: 5 * sec, ToUS: 1 << 50}}, got: []rcpt{{"m1", 1, 5*sec + ms}}},
		{sessions: []replay.QuoteSession{{FromUS: 0, ToUS: 2 * sec}, {FromUS: 4 * sec, ToUS: 1 << 50}}, got: []rcpt{{"m1", 1, 4*sec + 10*ms}}},
	}
	// Updates before, during and after a fault [4 s, 6 s].
	phased := []replay.JournalEntry{upd("m1", 1, sec), upd("m1", 2, 5*sec), upd("m1", 3, 7*sec)}
	phasedSub := always(rcpt{"m1", 1, sec + 2*ms}, rcpt{"m1", 2, 5*sec + 900*ms}, rcpt{"m1", 3, 7*sec + 30*ms})

	tests := []struct {
		name     string
		obj      Objective
		journal  []replay.JournalEntry
		quotes   *replay.QuoteObservations
		wall     time.Duration
		faults   []Fault
		observed *float64
		pass     bool
		samples  int
		note     string // substring the note must hold ("" = empty note)
	}{
		// quote_latency. Observed values are HDR's (3 significant figures:
		// 5 ms reads 5.003, 2 s reads 2000.895).
		{"latency on time", Objective{MetricQuoteLatency, "", "max", 10}, oneUpdate, observe(10*sec, late[0]), 0, nil, ptr(5.003), true, 1, ""},
		{"latency late", Objective{MetricQuoteLatency, "", "max", 250}, oneUpdate, observe(10*sec, late[0], late[1]), 0, nil, ptr(2000.895), false, 2, ""},
		{"latency p50 of on time and late", Objective{MetricQuoteLatency, "", "p50", 10}, oneUpdate, observe(10*sec, late[0], late[1]), 0, nil, ptr(5.003), true, 2, ""},
		// Never arrived: counted to the end of observation (10 s − 1 s), and said.
		{"latency never arrived", Objective{MetricQuoteLatency, "", "max", 250}, oneUpdate, observe(10*sec, late[0], late[2], late[3]), 0, nil, ptr(9003.007), false, 3,
			"2 of 3 updates × subscribers never arrived"},
		{"latency: one quote carries every update up to its seq", Objective{MetricQuoteLatency, "", "max", 1000}, coalesced,
			observe(10*sec, always(rcpt{"m1", 2, sec + 200*ms})), 0, nil, ptr(200.063), true, 2, ""},
		{"latency counts only subscribers there at the time, and their resubscription", Objective{MetricQuoteLatency, "", "max", 5000}, oneUpdate,
			observe(10*sec, sessions...), 0, nil, ptr(3010.559), true, 1, ""},
		{"latency fault phase", Objective{MetricQuoteLatency, PhaseFault, "max", 100}, phased, observe(10*sec, phasedSub), 0, fault, ptr(900.095), false, 1, ""},
		{"latency steady phase", Objective{MetricQuoteLatency, PhaseSteady, "max", 100}, phased, observe(10*sec, phasedSub), 0, fault, ptr(2), true, 1, ""},
		{"latency recovery phase", Objective{MetricQuoteLatency, PhaseRecovery, "max", 100}, phased, observe(10*sec, phasedSub), 0, fault, ptr(30.015), true, 1, ""},
		{"latency with no feed updates fails", Objective{MetricQuoteLatency, "", "max", 100}, nil, observe(10*sec, late[0]), 0, nil, nil, false, 0, "no samples in phase all"},
		{"latency without subscribers fails", Objective{MetricQuoteLatency, "", "max", 100}, oneUpdate, nil, 0, nil, nil, false, 0, "no quote subscribers observed the stream"},
		{"latency with no subscriber there at the time fails", Objective{MetricQuoteLatency, "", "max", 5000}, oneUpdate,
			observe(10*sec, sessions[0]), 0, nil, nil, false, 0, "no samples in phase all"},

		// odds_staleness: m1 every 100 ms for 10 s, samples every 100 ms from 0 to 10 s.
		{"staleness up to date is 0", Objective{MetricOddsStaleness, "", "max", 1}, steadyFeed(), observe(11*sec, follows(0, 0)), 10 * time.Second, nil, ptr(0), true, 101, ""},
		// Missing one update: 0, 100, ..., 500 ms at the samples 1.0 … 1.5 s.
		{"staleness of a missing update grows by 100 ms steps", Objective{MetricOddsStaleness, "", "max", 1000}, []replay.JournalEntry{upd("m1", 1, sec)},
			observe(5*sec, always()), 1500 * time.Millisecond, nil, ptr(500.223), true, 6, ""},
		{"staleness p50 of a missing update", Objective{MetricOddsStaleness, "", "p50", 1000}, []replay.JournalEntry{upd("m1", 1, sec)},
			observe(5*sec, always()), 1500 * time.Millisecond, nil, ptr(200.063), true, 6, ""},
		// Down from 4 s to 6 s: at 6.0 s it still misses the update of 4.0 s.
		{"staleness of a subscriber down for 2 s", Objective{MetricOddsStaleness, "", "max", 1000}, steadyFeed(),
			observe(11*sec, follows(0, 0), follows(4*sec, 6*sec)), 10 * time.Second, nil, ptr(2000.895), false, 202, ""},
		{"staleness in the fault phase", Objective{MetricOddsStaleness, PhaseFault, "max", 1000}, steadyFeed(),
			observe(11*sec, follows(4*sec, 6*sec)), 10 * time.Second, fault, ptr(2000.895), false, 21, ""},
		{"staleness in the steady phase", Objective{MetricOddsStaleness, PhaseSteady, "max", 1}, steadyFeed(),
			observe(11*sec, follows(4*sec, 6*sec)), 10 * time.Second, fault, ptr(0), true, 40, ""},
		// A market is sampled from its own first update; m2's at 9.5 s is
		// never received, so it is 500 ms stale at 10 s.
		{"staleness of a market starts at its first update", Objective{MetricOddsStaleness, "", "max", 1000}, append(steadyFeed(), upd("m2", 102, 9*sec+500*ms)),
			observe(11*sec, follows(0, 0)), 10 * time.Second, nil, ptr(500.223), true, 107, ""},
		// Observation that ended before the replay: sampled to its end only.
		{"staleness stops at the end of observation", Objective{MetricOddsStaleness, "", "max", 1}, steadyFeed(),
			observe(5*sec, follows(0, 0)), 10 * time.Second, nil, ptr(0), true, 51, ""},
		{"staleness with no feed updates fails", Objective{MetricOddsStaleness, "", "max", 1}, nil, observe(10*sec, always()), 10 * time.Second, nil, nil, false, 0, "no samples in phase all"},
		{"staleness without subscribers fails", Objective{MetricOddsStaleness, "", "max", 1}, steadyFeed(), nil, 10 * time.Second, nil, nil, false, 0, "no quote subscribers"},
		{"staleness with no samples in its phase fails", Objective{MetricOddsStaleness, PhaseRecovery, "max", 1}, steadyFeed(), observe(11*sec, follows(0, 0)), 10 * time.Second, nil, nil, false, 0, "no samples in phase recovery"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Objectives: []Objective{tc.obj}, Journal: tc.journal, Quotes: tc.quotes, StartedAt: t0, Wall: tc.wall, Faults: tc.faults}
			got := EvaluateObjectives(in)[0]
			switch {
			case tc.observed == nil && got.Observed != nil:
				t.Errorf("observed %v, want null", *got.Observed)
			case tc.observed != nil && (got.Observed == nil || *got.Observed != *tc.observed):
				t.Errorf("observed %v, want %v", fmtPtr(got.Observed), *tc.observed)
			}
			if got.Pass != tc.pass || got.Samples != tc.samples {
				t.Errorf("pass %v samples %d, want %v %d (note %q)", got.Pass, got.Samples, tc.pass, tc.samples, got.Note)
			}
			if (tc.note == "") != (got.Note == "") || !strings.Contains(got.Note, tc.note) {
				t.Errorf("note %q, want %q", got.Note, tc.note)
			}
			if got.Unit != UnitMS {
				t.Errorf("unit %q", got.Unit)
			}
		})
	}
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "null"
	}
	return fmt.Sprint(*f)
}

func TestQuoteMetricsScale(t *testing.T) {
	// 10^5 updates over 1000 markets, 4 subscribers that each get every
	// quote 2 ms after it was sent: the metrics must sort once and sweep,
	// not scan each update against each receipt.
	const updates, markets, subs = 100_000, 1000, 4
	journal := make([]replay.JournalEntry, 0, updates)
	var got []rcpt
	for n := int64(1); n <= updates; n++ {
		at := n * 100 // 10 s of feed
		m := fmt.Sprintf("m%d", n%markets)
		journal = append(journal, upd(m, n, at))
		got = append(got, rcpt{m, n, at + 2*ms})
	}
	var ss []sub
	for range subs {
		ss = append(ss, always(got...))
	}
	in := Input{
		Objectives: []Objective{{MetricQuoteLatency, "", "max", 3}, {MetricOddsStaleness, "", "max", 3}},
		Journal:    journal, Quotes: observe(11*sec, ss...), StartedAt: t0, Wall: 10 * time.Second,
	}
	begin := time.Now()
	res := EvaluateObjectives(in)
	took := time.Since(begin)
	if r := res[0]; !r.Pass || r.Samples != updates*subs || *r.Observed != 2 {
		t.Errorf("quote_latency %+v (observed %s)", r, fmtPtr(r.Observed))
	}
	// Every market is sampled from its first update (within the first
	// 100 ms) to 10 s: 100 or 101 instants each, and never more than 2 ms late.
	if r := res[1]; !r.Pass || r.Samples < markets*subs*99 || r.Samples > markets*subs*101 {
		t.Errorf("odds_staleness %+v (observed %s)", r, fmtPtr(r.Observed))
	}
	if took > 20*time.Second {
		t.Errorf("took %s", took)
	}
}
