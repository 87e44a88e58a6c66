package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// targetFunc adapts a function to Target.
type targetFunc func(ctx context.Context, ev Event) Response

func (f targetFunc) Send(ctx context.Context, ev Event) Response { return f(ctx, ev) }

// slowTarget answers accepted after d of (virtual) time, and remembers the
// ids it was sent.
type slowTarget struct {
	d   time.Duration
	mu  sync.Mutex
	ids []string
}

func (s *slowTarget) Send(ctx context.Context, ev Event) Response {
	s.mu.Lock()
	s.ids = append(s.ids, ev.ID)
	s.mu.Unlock()
	select {
	case <-time.After(s.d):
		return Response{Outcome: OutcomeAccepted, HTTPStatus: 201}
	case <-ctx.Done():
		return Response{Outcome: OutcomeUnknown, Err: ctx.Err().Error()}
	}
}

// betsEvery is a plan of n bets, one every gap from 0.
func betsEvery(n int, gap time.Duration) *Plan {
	p := &Plan{}
	for i := range n {
		p.Entries = append(p.Entries, Planned{At: time.Duration(i) * gap, Event: Event{
			Kind: KindBet, Account: "a1", ID: fmt.Sprintf("b-%d", i), Market: "m1", Selection: "home", Odds: "2", Stake: 100,
		}})
	}
	p.Duration = time.Duration(n) * gap
	return p
}

func TestEngineIsOpenLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Each answer takes 5 s, far longer than the 1 s between sends: a
		// closed loop would send the second bet at 5 s.
		target := &slowTarget{d: 5 * time.Second}
		res, err := NewEngine(target, nil, KeepJournal()).Run(context.Background(), betsEvery(10, time.Second).Stream(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Planned != 10 || res.Sent != 10 || res.Dropped != 0 || len(res.Journal) != 10 {
			t.Fatalf("planned %d sent %d dropped %d journal %d", res.Planned, res.Sent, res.Dropped, len(res.Journal))
		}
		for i, e := range res.Journal {
			at := int64(i) * 1_000_000
			if e.Seq != int64(i+1) || e.IntendedUS != at || e.SentUS != at || e.DoneUS != at+5_000_000 || e.Outcome != OutcomeAccepted {
				t.Errorf("entry %+v: want sent at %d µs, done 5 s later, accepted", e, at)
			}
		}
		if res.Wall != 14*time.Second {
			t.Errorf("Wall = %v, want 14s (last send at 9 s + 5 s)", res.Wall)
		}
		if lag := res.ScheduleLag.Max(); lag != 0 {
			t.Errorf("schedule lag %d µs, want 0", lag)
		}
		if h := res.Latency[KindBet]; h.TotalCount() != 10 || !near(h.ValueAtQuantile(50), 5_000_000) {
			t.Errorf("bet latency: %d values, p50 %d µs; want 10 at 5 s", h.TotalCount(), h.ValueAtQuantile(50))
		}
	})
}

func TestEngineDropsWhenNoWorkerIsFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Two workers, a send every second, 2.5 s answers: slots free up at
		// 2.5, 3.5, 5.5, 6.5, ... so the sends at 2, 5 and 8 s find none.
		target := &slowTarget{d: 2500 * time.Millisecond}
		var journal bytes.Buffer
		eng := NewEngine(target, nil, Workers(2), JournalTo(&journal), KeepJournal())
		res, err := eng.Run(context.Background(), betsEvery(10, time.Second).Stream(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 7 || res.Dropped != 3 {
			t.Fatalf("sent %d, dropped %d; want 7 and 3", res.Sent, res.Dropped)
		}
		for _, i := range []int{2, 5, 8} {
			e := res.Journal[i]
			if e.Outcome != OutcomeDropped || e.SentUS != 0 || e.DoneUS != 0 {
				t.Errorf("entry %d = %+v, want dropped and never sent", i, e)
			}
		}
		// Dropped, not queued: the target never saw those ids, and every
		// sent request went out on time.
		if len(target.ids) != 7 {
			t.Errorf("target got %d requests: %v", len(target.ids), target.ids)
		}
		for _, id := range target.ids {
			if id == "b-2" || id == "b-5" || id == "b-8" {
				t.Errorf("dropped %s was sent later", id)
			}
		}
		if res.ScheduleLag.Max() != 0 {
			t.Errorf("schedule lag %d µs, want 0", res.ScheduleLag.Max())
		}
		// The journal file has every entry, as JSON lines.
		sc := bufio.NewScanner(&journal)
		lines := 0
		for sc.Scan() {
			var e JournalEntry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				t.Fatalf("journal line %d: %v", lines+1, err)
			}
			lines++
		}
		if lines != 10 {
			t.Errorf("journal has %d lines, want 10", lines)
		}
	})
}

// slowPublisher takes delay to publish, like a generator that fell behind.
type slowPublisher struct {
	delay time.Duration
	seq   int64
}

func (p *slowPublisher) Publish(Event) int64 {
	time.Sleep(p.delay)
	p.seq++
	return p.seq
}

func TestEngineChargesALateSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The feed event at 0 holds the dispatcher for 2 s, so the bet due
		// at 1 s goes out at 2 s; its 100 ms answer counts as 1.1 s.
		plan := &Plan{Entries: []Planned{
			{At: 0, Event: Event{Kind: KindStatus, Market: "m1", Status: StatusOpen}},
			{At: time.Second, Event: Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2", Stake: 1}},
		}}
		res, err := NewEngine(&slowTarget{d: 100 * time.Millisecond}, &slowPublisher{delay: 2 * time.Second}, KeepJournal()).Run(context.Background(), plan.Stream(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		bet := res.Journal[1]
		if bet.SentUS != 2_000_000 || bet.LatencyUS() != 1_100_000 {
			t.Errorf("bet sent at %d µs with latency %d µs; want 2 s and 1.1 s", bet.SentUS, bet.LatencyUS())
		}
		if got := res.Latency[KindBet].Max(); !near(got, 1_100_000) {
			t.Errorf("bet latency histogram max %d µs, want 1.1 s", got)
		}
		if got := res.ScheduleLag.Max(); !near(got, 1_000_000) {
			t.Errorf("schedule lag max %d µs, want 1 s", got)
		}
		if feed := res.Journal[0]; feed.Outcome != OutcomePublished || feed.FeedSeq != 1 || feed.DoneUS != 2_000_000 {
			t.Errorf("feed entry %+v", feed)
		}
	})
}

func TestEnginePublishesFeedInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := NewFeedServer("replay")
		defer fs.Close()
		plan := &Plan{}
		// Several at the same instant, and bettor events between them.
		for i := range 20 {
			at := time.Duration(i/4) * time.Second
			plan.Entries = append(plan.Entries, Planned{At: at, Event: Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": fmt.Sprintf("%d.5", i+2)}}})
			plan.Entries = append(plan.Entries, Planned{At: at, Event: Event{Kind: KindDeposit, Account: "a1", ID: fmt.Sprintf("d-%d", i), Amount: 1}, Clone: i % 2})
		}
		res, err := NewEngine(&slowTarget{d: time.Millisecond}, fs, KeepJournal()).Run(context.Background(), plan.Stream(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var seq int64
		for _, e := range res.Journal {
			if e.Kind != KindOdds {
				if e.Clone != int((e.Seq-1)/2%2) {
					t.Errorf("entry %d lost its clone number: %d", e.Seq, e.Clone)
				}
				continue
			}
			seq++
			if e.Outcome != OutcomePublished || e.FeedSeq != seq {
				t.Fatalf("entry %d: %s with feed seq %d, want published as %d", e.Seq, e.Outcome, e.FeedSeq, seq)
			}
			// odds_staleness reads when the feed server got each update.
			if e.SentUS != e.IntendedUS || e.DoneUS != e.IntendedUS {
				t.Fatalf("entry %d: sent %d done %d µs, want both at its intended %d (virtual time)", e.Seq, e.SentUS, e.DoneUS, e.IntendedUS)
			}
		}
		if snap := fs.Snapshot(); snap.Seq != 20 || snap.Markets[0].Prices["home"] != "21.5" {
			t.Errorf("snapshot %+v: the last odds did not win", snap)
		}
	})
}

func TestEngineStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3500*time.Millisecond, cancel)
		target := &slowTarget{d: time.Second}
		res, err := NewEngine(target, nil, KeepJournal()).Run(ctx, betsEvery(10, time.Second).Stream(), time.Now())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run error %v, want context.Canceled", err)
		}
		// Sends at 0..3 s; the one at 3 s was in flight at the cancel and
		// was allowed to answer.
		// Planned counts what dispatch reached: the plan streams, so the
		// rest of it was never read.
		if res.Planned != 4 || res.Sent != 4 || len(res.Journal) != 4 {
			t.Fatalf("planned %d, sent %d, journal %d; want 4, 4, 4", res.Planned, res.Sent, len(res.Journal))
		}
		if last := res.Journal[3]; last.Outcome != OutcomeAccepted || last.DoneUS != 4_000_000 {
			t.Errorf("last entry %+v, want accepted at 4 s", last)
		}
		if res.Wall != 4*time.Second {
			t.Errorf("Wall %v, want 4s: dispatch stopped at once", res.Wall)
		}
	})
}

func TestEngineDrainIsBounded(t *testing.T) {
	cases := []struct {
		name   string
		target Target
		wall   time.Duration
		err    string
	}{
		{
			// The drain's cancel reaches it, and it answers unknown.
			name:   "a target that honours its context",
			target: &slowTarget{d: time.Hour},
			wall:   3 * time.Second,
			err:    "context canceled",
		},
		{
			// It ignores the cancel; a second later it is given up on.
			name: "a target that ignores its context",
			target: targetFunc(func(context.Context, Event) Response {
				time.Sleep(time.Hour)
				return Response{Outcome: OutcomeAccepted}
			}),
			wall: 4 * time.Second,
			err:  "still in flight when the replay ended",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// One bet, due at 1 s; the drain starts then.
				plan := betsEvery(1, time.Second)
				plan.Entries[0].At = time.Second
				res, err := NewEngine(tc.target, nil, DrainTimeout(2*time.Second), KeepJournal()).Run(context.Background(), plan.Stream(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Journal) != 1 || res.Journal[0].Outcome != OutcomeUnknown || res.Journal[0].Error != tc.err {
					t.Fatalf("journal %+v, want one unknown entry: %s", res.Journal, tc.err)
				}
				// It did go out, when its worker called the target.
				if e := res.Journal[0]; res.Sent != 1 || e.SentUS != 1_000_000 || e.DoneUS != tc.wall.Microseconds() {
					t.Errorf("sent %d, entry %+v: want sent at 1 s, done at %v", res.Sent, e, tc.wall)
				}
				if res.Wall != tc.wall {
					t.Errorf("Wall %v, want %v", res.Wall, tc.wall)
				}
				// Let an abandoned request end, as the bubble requires; its
				// late answer must not touch the result.
				time.Sleep(2 * time.Hour)
				if len(res.Journal) != 1 || res.Journal[0].Error != tc.err {
					t.Errorf("a late answer changed the journal: %+v", res.Journal)
				}
			})
		})
	}
}

func TestEngineRefusesAPlanItCannotSend(t *testing.T) {
	feedOnly := &Plan{Entries: []Planned{{Event: Event{Kind: KindStatus, Market: "m", Status: StatusOpen}}}}
	cases := []struct {
		name string
		eng  *Engine
		plan *Plan
	}{
		{"no plan", NewEngine(&slowTarget{}, nil), nil},
		{"feed events without a publisher", NewEngine(&slowTarget{}, nil), feedOnly},
		{"bettor events without a target", NewEngine(nil, &slowPublisher{}), betsEvery(1, time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.eng.Run(context.Background(), tc.plan.Stream(), time.Now()); err == nil {
				t.Fatal("Run: no error")
			}
		})
	}
}

// near reports whether a histogram value is within its 0.1% precision of want.
func near(got, want int64) bool {
	return got >= want-want/1000-1 && got <= want+want/1000+1
}

// wroteAfter is a Target that spends start before its request goes out
// (marshalling, dialling: the harness's time), reports the write through the
// httptrace in its context as net/http would, with writeErr as the write's
// result, then waits answer for the platform.
func wroteAfter(start, answer time.Duration, writeErr error) Target {
	return targetFunc(func(ctx context.Context, ev Event) Response {
		time.Sleep(start)
		if tr := httptrace.ContextClientTrace(ctx); tr != nil && tr.WroteRequest != nil {
			tr.WroteRequest(httptrace.WroteRequestInfo{Err: writeErr})
		}
		if writeErr != nil {
			return Response{Outcome: OutcomeUnknown, Err: writeErr.Error()}
		}
		time.Sleep(answer)
		return Response{Outcome: OutcomeAccepted, HTTPStatus: 201}
	})
}

func TestEngineChargesHarnessDelayAsScheduleLag(t *testing.T) {
	cases := []struct {
		name    string
		target  Target
		sentUS  int64 // when the journal says it went out, from its intended time
		doneUS  int64
		outcome Outcome
	}{
		{
			// 300 ms pass before the request is written: that is the
			// generator falling behind, not the platform being slow.
			name:    "a target slow to start, reporting its write",
			target:  wroteAfter(300*time.Millisecond, 100*time.Millisecond, nil),
			sentUS:  300_000,
			doneUS:  400_000,
			outcome: OutcomeAccepted,
		},
		{
			// A write that failed put nothing on the wire: the worker's
			// own stamp, right before Send, stands.
			name:    "a failed write is not a send",
			target:  wroteAfter(300*time.Millisecond, 0, errors.New("broken pipe")),
			sentUS:  0,
			doneUS:  300_000,
			outcome: OutcomeUnknown,
		},
		{
			// Nothing reported: the worker's stamp, taken when it calls
			// Send; the whole wait counts as latency.
			name:    "a target that reports nothing",
			target:  &slowTarget{d: 400 * time.Millisecond},
			sentUS:  0,
			doneUS:  400_000,
			outcome: OutcomeAccepted,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				res, err := NewEngine(tc.target, nil, KeepJournal()).Run(context.Background(), betsEvery(3, time.Second).Stream(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				checkLag(t, res, tc.sentUS, tc.doneUS, tc.outcome)
			})
		})
	}
}

func TestEngineHTTPTargetReportsItsWrite(t *testing.T) {
	// A real server on 127.0.0.1:0, outside the bubble: while a request is
	// on the wire the virtual clock stands still, so only the dial's
	// virtual 300 ms can separate the intended time from the write.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	}))
	defer srv.Close()
	synctest.Test(t, func(t *testing.T) {
		tr := &http.Transport{
			// Every request dials (no keep-alive), and each dial is slow
			// on the harness's side, like a busy machine's.
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				time.Sleep(300 * time.Millisecond)
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
		}
		defer tr.CloseIdleConnections()
		target := NewHTTPTarget(srv.URL, HTTPClient(&http.Client{Transport: tr}))
		res, err := NewEngine(target, nil, KeepJournal()).Run(context.Background(), betsEvery(3, time.Second).Stream(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		checkLag(t, res, 300_000, 300_000, OutcomeAccepted)
	})
}

// checkLag checks that every entry of res went out sentUS and was answered
// doneUS after its intended time, with outcome, and that the histograms
// agree: lag from intended to sent, latency from intended to done.
func checkLag(t *testing.T, res *Result, sentUS, doneUS int64, outcome Outcome) {
	t.Helper()
	if res.Sent != res.Planned || res.Dropped != 0 {
		t.Fatalf("planned %d, sent %d, dropped %d", res.Planned, res.Sent, res.Dropped)
	}
	for _, e := range res.Journal {
		if e.SentUS-e.IntendedUS != sentUS || e.DoneUS-e.IntendedUS != doneUS || e.Outcome != outcome {
			t.Errorf("entry %+v: want sent %d µs and done %d µs after %d, %s", e, sentUS, doneUS, e.IntendedUS, outcome)
		}
	}
	if lag := res.ScheduleLag; lag.TotalCount() != res.Planned || !near(lag.Max(), sentUS) || !near(lag.Min(), sentUS) {
		t.Errorf("schedule lag: %d values in [%d, %d] µs, want %d at %d", lag.TotalCount(), lag.Min(), lag.Max(), res.Planned, sentUS)
	}
	if h := res.Latency[KindBet]; !near(h.Max(), doneUS) || !near(h.Min(), doneUS) {
		t.Errorf("bet latency in [%d, %d] µs, want %d: from the intended time", h.Min(), h.Max(), doneUS)
	}
}

func TestEngineStreamsItsJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Without KeepJournal the result holds counts, not entries; the
		// journal is what was written, every line a JournalEntry.
		target := &slowTarget{d: 1500 * time.Millisecond}
		var journal bytes.Buffer
		eng := NewEngine(target, nil, Workers(1), JournalTo(&journal))
		if p := eng.Progress(); p.Running || p.Sent != 0 {
			t.Fatalf("progress before a run: %+v", p)
		}
		done := make(chan *Result)
		go func() {
			res, err := eng.Run(context.Background(), betsEvery(4, time.Second).Stream(), time.Now())
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		// One worker, 1.5 s answers: the bet due at 1 s finds it busy and
		// is dropped; at 1.6 s the first has been answered.
		time.Sleep(1600 * time.Millisecond)
		p := eng.Progress()
		if !p.Running || p.Dispatched != 2 || p.Sent != 1 || p.Dropped != 1 || p.Elapsed != 1600*time.Millisecond {
			t.Errorf("progress at 1.6 s: %+v", p)
		}
		res := <-done
		if res.Journal != nil {
			t.Errorf("the result kept %d entries without KeepJournal", len(res.Journal))
		}
		if res.Planned != 4 || res.Sent != 2 || res.Dropped != 2 ||
			res.Outcomes[KindBet][OutcomeAccepted] != 2 || res.Outcomes[KindBet][OutcomeDropped] != 2 {
			t.Errorf("result %+v, outcomes %v", res, res.Outcomes)
		}
		if p := eng.Progress(); p.Running || p.Dispatched != 4 {
			t.Errorf("progress after the run: %+v", p)
		}
		var seqs []int64
		for line := range strings.Lines(journal.String()) {
			var e JournalEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, e.Seq)
		}
		// Completion order: the drop at 1 s is written before the answer
		// at 1.5 s.
		if fmt.Sprint(seqs) != "[2 1 4 3]" {
			t.Errorf("journal seqs %v, want completion order [2 1 4 3]", seqs)
		}
	})
}
