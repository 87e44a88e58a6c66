package chaos

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

// The process, store and feed kinds act through the run's controls
// (control.go). These tests give them small in-test controls: the controls
// are the run's seams, implemented for real by the runner, and what is
// tested here is each kind's logic (what it calls, when, and what it makes
// of the answers), on virtual time. The real controls are tested against a
// real platform process, Redis, PostgreSQL and feed server where they are
// implemented.

// testProcess plays a process: each Kill or Stop ends the current pid, each
// Start makes the next one, Pause and Continue answer with state.
type testProcess struct {
	mu       sync.Mutex
	start    time.Time
	pid      int
	state    string // what Pause reads back; "T (stopped)" unless set
	samePID  bool   // Start gives the old pid back (a process that never went)
	startErr error
	log      []string
}

func (p *testProcess) note(what string) {
	p.log = append(p.log, what+"@"+time.Since(p.start).String())
}

func (p *testProcess) end(action, exit string) (ProcessEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note(action)
	return ProcessEvent{Action: action, PID: p.pid, At: time.Now(), Exit: exit}, nil
}

func (p *testProcess) Kill(context.Context) (ProcessEvent, error) {
	return p.end("kill", "signal: killed")
}
func (p *testProcess) Stop(context.Context) (ProcessEvent, error) {
	return p.end("stop", "exit status 0")
}

func (p *testProcess) Start(context.Context) (ProcessEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note("start")
	if p.startErr != nil {
		return ProcessEvent{}, p.startErr
	}
	if !p.samePID {
		p.pid++
	}
	return ProcessEvent{Action: "start", PID: p.pid, At: time.Now(), Ready: 1200 * time.Millisecond}, nil
}

func (p *testProcess) Pause(context.Context) (ProcessEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note("pause")
	state := p.state
	if state == "" {
		state = "T (stopped)"
	}
	return ProcessEvent{Action: "pause", PID: p.pid, State: state}, nil
}

func (p *testProcess) Continue(context.Context) (ProcessEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.note("continue")
	return ProcessEvent{Action: "continue", PID: p.pid, State: "S (sleeping)"}, nil
}

// testStores answers with fixed counts.
type testStores struct {
	keys int64
	pids []int
	err  error
}

func (s *testStores) FlushRedis(context.Context) (int64, error)        { return s.keys, s.err }
func (s *testStores) TerminatePostgres(context.Context) ([]int, error) { return s.pids, s.err }

// testFeed records the fault asked for and, when it ends, reports altered.
type testFeed struct {
	mu      sync.Mutex
	got     []FeedFault
	altered map[string]int64
	ended   time.Duration
	start   time.Time
}

func (f *testFeed) StartFault(_ context.Context, ff FeedFault) (func() FeedAlterations, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, ff)
	return func() FeedAlterations {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.ended = time.Since(f.start)
		return FeedAlterations{Messages: 40, Altered: f.altered, Seqs: []int64{7, 9}}
	}, nil
}

// runOne schedules one fault through env on virtual time and returns its
// record.
func runOne(t *testing.T, env Env, f Fault) Record {
	t.Helper()
	var rec Record
	synctest.Test(t, func(t *testing.T) {
		rec = env.Schedule(context.Background(), []Fault{f}, time.Now()).Wait()[0]
	})
	t.Logf("evidence: %s", rec.Evidence)
	return rec
}

func TestProcessKinds(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		proc   *testProcess
		landed bool
		log    string // the calls on the process, on the replay clock
		want   []string
	}{
		// SIGKILL at At, a new process after For.
		{"kill", "kill", &testProcess{pid: 100}, true, "kill@2s start@7s",
			[]string{"SIGKILL to platform (kill: SIGKILL", "kill pid 100 (signal: killed)", "start pid 101, ready in 1.2s", "pid 100 gone, pid 101 ready; landed", "healed at 7s"}},
		// A start that answers with the old pid did not replace the process.
		{"kill, same pid back", "kill", &testProcess{pid: 100, samePID: true}, false, "kill@2s start@7s",
			[]string{"the process after the start has the old pid 100; NOT landed"}},
		// The start fails: not healed, and no new process proves nothing landed.
		{"kill, start fails", "kill", &testProcess{pid: 100, startErr: errors.New("port taken")}, false, "kill@2s start@7s",
			[]string{"not seen both gone and started again; NOT landed; heal failed: start the process again: port taken"}},
		// Stop and start at once, at At.
		{"restart", "restart", &testProcess{pid: 100}, true, "stop@2s start@2s",
			[]string{"graceful restart of platform", "stop pid 100 (exit status 0)", "start pid 101", "landed"}},
		// SIGSTOP read back as T, SIGCONT after For.
		{"pause", "pause", &testProcess{pid: 100}, true, "pause@2s continue@7s",
			[]string{"SIGSTOP to platform", "pause pid 100, state T (stopped)", "continue pid 100, state S (sleeping)", "state T read back while paused; landed"}},
		// A state that is not stopped: the pause did not take.
		{"pause not stopped", "pause", &testProcess{pid: 100, state: "R (running)"}, false, "pause@2s continue@7s",
			[]string{`state "R (running)" read back after SIGSTOP is not stopped (T); NOT landed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec Record
			synctest.Test(t, func(t *testing.T) {
				tt.proc.start = time.Now()
				env := Env{Processes: map[string]Process{"platform": tt.proc}}
				f := Fault{Name: tt.name, Target: "platform", Kind: tt.kind, At: 2 * time.Second, For: 5 * time.Second}
				rec = env.Schedule(context.Background(), []Fault{f}, tt.proc.start).Wait()[0]
			})
			ev := rec.Evidence.String()
			t.Logf("evidence: %s", ev)
			if !rec.Injected || rec.Landed != tt.landed || rec.InjectedAt != 2*time.Second {
				t.Errorf("Injected=%v Landed=%v at %s; want injected at 2s, Landed=%v", rec.Injected, rec.Landed, rec.InjectedAt, tt.landed)
			}
			if got := strings.Join(tt.proc.log, " "); got != tt.log {
				t.Errorf("calls %s, want %s", got, tt.log)
			}
			for _, w := range tt.want {
				if !strings.Contains(ev, w) {
					t.Errorf("evidence lacks %q", w)
				}
			}
		})
	}
}

func TestStoreKinds(t *testing.T) {
	tests := []struct {
		name   string
		fault  Fault
		stores *testStores
		landed bool
		want   string
	}{
		{"flushed", Fault{Target: "redis", Kind: "data_loss"}, &testStores{keys: 532}, true, "flush of the run's keys on redis (data_loss: every key under the run's prefix deleted); 532 keys flushed; landed"},
		// No key of the run to flush: nothing was lost, so nothing landed.
		{"nothing to flush", Fault{Target: "redis", Kind: "data_loss"}, &testStores{}, false, "0 keys flushed; no key of the run was there to flush; NOT landed"},
		{"terminated", Fault{Target: "postgres", Kind: "terminate"}, &testStores{pids: []int{4101, 4102}}, true, "2 backends terminated [4101 4102]; landed"},
		{"no backend", Fault{Target: "postgres", Kind: "terminate"}, &testStores{pids: nil}, false, "0 backends terminated []; the platform had no connection to the run's database to end; NOT landed"},
		// The control failed: the injection did.
		{"flush fails", Fault{Target: "redis", Kind: "data_loss"}, &testStores{err: errors.New("NOAUTH")}, false, "injection at 1s failed: NOAUTH; NOT landed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Name, f.At, f.For = tt.name, time.Second, time.Second
			rec := runOne(t, Env{Stores: tt.stores}, f)
			if rec.Landed != tt.landed || !strings.Contains(rec.Evidence.String(), tt.want) {
				t.Errorf("Landed=%v, want %v; evidence lacks %q", rec.Landed, tt.landed, tt.want)
			}
		})
	}
}

func TestFeedKinds(t *testing.T) {
	tests := []struct {
		kind    string
		params  map[string]any
		want    FeedFault // what the feed server is asked for
		altered string    // what proves it
	}{
		{"dropout", nil, FeedFault{Kind: "dropout"}, "dropped"},
		{"duplicate", map[string]any{"every": 3}, FeedFault{Kind: "duplicate", Every: 3}, "duplicated"},
		{"reorder", map[string]any{"window": "200ms"}, FeedFault{Kind: "reorder", Window: 200 * time.Millisecond}, "reordered"},
		{"gap", nil, FeedFault{Kind: "gap", Every: 10}, "skipped"},
		{"stale", map[string]any{"every": 5}, FeedFault{Kind: "stale", Every: 5}, "resent"},
		{"malformed", nil, FeedFault{Kind: "malformed", Every: 10}, "malformed"},
		{"burst", nil, FeedFault{Kind: "burst"}, "held"},
		{"skew", map[string]any{"skew": "-2s"}, FeedFault{Kind: "skew", Every: 1, Skew: -2 * time.Second}, "skewed"},
	}
	for _, tt := range tests {
		f := Fault{Name: tt.kind, Target: "feed", Kind: tt.kind, At: time.Second, For: 3 * time.Second, Params: tt.params}
		t.Run(tt.kind+"/landed", func(t *testing.T) {
			feed := &testFeed{altered: map[string]int64{tt.altered: 6}}
			var rec Record
			synctest.Test(t, func(t *testing.T) {
				feed.start = time.Now()
				rec = Env{Feed: feed}.Schedule(context.Background(), []Fault{f}, feed.start).Wait()[0]
			})
			t.Logf("evidence: %s", rec.Evidence)
			if len(feed.got) != 1 || feed.got[0] != tt.want {
				t.Errorf("feed asked for %+v, want %+v", feed.got, tt.want)
			}
			// Ended at the fault's end: the heal reads the counts.
			if !rec.Landed || !rec.Healed || feed.ended != 4*time.Second {
				t.Errorf("Landed=%v Healed=%v ended at %s; want landed, healed at 4s", rec.Landed, rec.Healed, feed.ended)
			}
			if want := "feed: 40 messages, " + tt.altered + " 6 (seqs 7, 9); landed"; !strings.Contains(rec.Evidence.String(), want) {
				t.Errorf("evidence lacks %q", want)
			}
		})
		// Messages went by, but none was altered the kind's way.
		t.Run(tt.kind+"/not landed", func(t *testing.T) {
			rec := runOne(t, Env{Feed: &testFeed{altered: map[string]int64{"other": 3}}}, f)
			if want := "no message was " + tt.altered + "; NOT landed"; rec.Landed || !strings.Contains(rec.Evidence.String(), want) {
				t.Errorf("Landed=%v; evidence lacks %q", rec.Landed, want)
			}
		})
	}
}

// TestKindsWithoutControl: a fault whose control the run lacks is never
// injected, and says why.
func TestKindsWithoutControl(t *testing.T) {
	for _, f := range []Fault{
		{Name: "k", Target: "platform", Kind: "kill"},
		{Name: "d", Target: "redis", Kind: "data_loss"},
		{Name: "g", Target: "feed", Kind: "gap"},
		{Name: "l", Target: "redis", Kind: "latency", Params: map[string]any{"latency": 5}},
	} {
		t.Run(f.Kind, func(t *testing.T) {
			rec := runOne(t, Env{}, f)
			if rec.Injected || rec.Landed || !strings.HasPrefix(rec.Evidence.String(), "not injected: ") {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func TestOverlapRules(t *testing.T) {
	tests := []struct {
		name   string
		faults []Fault
		want   string // "" when the plan is fine
	}{
		{"kill during pause", []Fault{
			{Name: "p", Target: "platform", Kind: "pause", At: time.Second, For: 5 * time.Second},
			{Name: "k", Target: "platform", Kind: "kill", At: 3 * time.Second, For: time.Second}},
			`fault "k": overlaps fault "p" (pause on platform from 1s to 6s); one process cannot be killed, paused or restarted`},
		{"restarts apart", []Fault{
			{Name: "a", Target: "platform", Kind: "restart", At: time.Second, For: time.Second},
			{Name: "b", Target: "platform", Kind: "restart", At: 3 * time.Second, For: time.Second}}, ""},
		{"two feed faults", []Fault{
			{Name: "a", Target: "feed", Kind: "dropout", At: time.Second, For: 5 * time.Second},
			{Name: "b", Target: "feed", Kind: "gap", At: 2 * time.Second, For: time.Second}},
			`fault "b": overlaps fault "a" (dropout on feed from 1s to 6s); the feed server alters its stream one way at a time`},
		// The link and the stream are different things on target feed.
		{"feed link and stream", []Fault{
			{Name: "a", Target: "feed", Kind: "down", At: time.Second, For: 5 * time.Second},
			{Name: "b", Target: "feed", Kind: "gap", At: 2 * time.Second, For: time.Second}}, ""},
		// A store fault and a kill may overlap: different things.
		{"kill and data loss", []Fault{
			{Name: "a", Target: "platform", Kind: "kill", At: time.Second, For: 5 * time.Second},
			{Name: "b", Target: "redis", Kind: "data_loss", At: 2 * time.Second}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateFaults(tt.faults, FullReach())
			switch {
			case tt.want == "" && errs != nil:
				t.Errorf("ValidateFaults: %v", errs)
			case tt.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) || herr.CodeOf(errs[0]) != herr.EINPUT):
				t.Errorf("ValidateFaults: %v; want one EINPUT containing %q", errs, tt.want)
			}
		})
	}
}

// testAnswers plays the harness's end of the api link: it loses the answers
// it is told to have lost.
type testAnswers struct {
	lost    []string
	started int
	err     error
}

func (a *testAnswers) StartAckLoss(_ context.Context, every int) (func() AnswersLost, error) {
	if a.err != nil {
		return nil, a.err
	}
	a.started = every
	return func() AnswersLost { return AnswersLost{Requests: 40, Lost: a.lost} }, nil
}

func TestAckLostKind(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]any
		answers *testAnswers
		every   int
		landed  bool
		want    string
	}{
		{"lost", map[string]any{"every": 4}, &testAnswers{lost: []string{"b3", "b7"}}, 4, true, "answers lost on the api link (ack_lost: 1 answer in 4 lost after it arrived); 2 answers lost [b3 b7]; landed"},
		{"default every", nil, &testAnswers{lost: []string{"b1"}}, 10, true, "1 answers lost [b1]; landed"},
		// Nothing went through the api while it was on: nothing to prove.
		{"none lost", map[string]any{"every": 1}, &testAnswers{}, 1, false, "no answer was lost (40 requests while it was on); NOT landed"},
		{"refused", nil, &testAnswers{err: errors.New("a fault is already losing answers")}, 0, false, "injection at 1s failed: a fault is already losing answers; NOT landed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Fault{Name: tt.name, Target: "api", Kind: "ack_lost", At: time.Second, For: time.Second, Params: tt.params}
			rec := runOne(t, Env{Answers: tt.answers}, f)
			if rec.Landed != tt.landed || !strings.Contains(rec.Evidence.String(), tt.want) {
				t.Errorf("Landed=%v, want %v; evidence %q lacks %q", rec.Landed, tt.landed, rec.Evidence.String(), tt.want)
			}
			if tt.answers.started != tt.every {
				t.Errorf("started with every=%d, want %d", tt.answers.started, tt.every)
			}
		})
	}
}
