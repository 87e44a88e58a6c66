package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// clockLink stands in for a link on virtual time, where toxiproxy's real
// sockets cannot go. It behaves as the fault would: while injected, a latency
// kind's probes answer late and a down link refuses; the platform's traffic
// flows at a steady rate from start; and it logs when each action happened
// on the bubble's clock.
type clockLink struct {
	mu        sync.Mutex
	start     time.Time
	kind      Kind
	injected  bool
	log       []string
	up, down  int64 // the platform's bytes per second, each way
	injectErr error // what inject returns, when set
	// noise is added to the round trips of the first probes, one each, as a
	// busy machine stalls a probe.
	noise []time.Duration
}

func (c *clockLink) note(what string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf("%s@%s", what, time.Since(c.start)))
}

func (c *clockLink) inject() error {
	c.note("inject")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.injectErr != nil {
		return c.injectErr
	}
	c.injected = true
	return nil
}

func (c *clockLink) heal() error {
	c.note("heal")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.injected = false
	return nil
}

func (c *clockLink) inPlace() (bool, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.injected, fmt.Sprintf("injected=%v", c.injected), nil
}

func (c *clockLink) probe(ctx context.Context) ProbeResult {
	c.note("probe")
	c.mu.Lock()
	on := c.injected
	c.mu.Unlock()
	r := ProbeResult{Probe: "clock PING", RoundTrip: true, RTT: time.Millisecond}
	c.mu.Lock()
	if len(c.noise) > 0 {
		r.RTT += c.noise[0]
		c.noise = c.noise[1:]
	}
	c.mu.Unlock()
	switch k := c.kind.(type) {
	case *Latency:
		if on {
			r.RTT += k.Latency
		}
	case *Down:
		if on {
			r.Err = errors.New("connection refused")
		}
	}
	return r
}

func (c *clockLink) traffic() (upstream, downstream int64) {
	secs := int64(time.Since(c.start) / time.Second)
	return c.up * secs, c.down * secs
}

func (c *clockLink) what() string { return "clock link" }

// onClock injects network kinds through the family's own steps
// (injectLink) on the link opsFor gives.
func onClock(opsFor func(f Fault, k Kind) (faultOps, error)) injectFunc {
	return func(ctx context.Context, f Fault, k Kind) (Injection, error) {
		ops, err := opsFor(f, k)
		if err != nil {
			return Injection{}, err
		}
		return injectLink(ctx, ops, f, k.(netKind))
	}
}

// clockReach is what the clock tests' runs reach: every link.
var clockReach = Reach{Links: allLinks}

// scheduleOnClock runs faults with clockLinks and returns the records and
// each fault's log.
func scheduleOnClock(ctx context.Context, faults []Fault, start time.Time) ([]Record, map[string][]string) {
	var mu sync.Mutex
	links := map[string]*clockLink{}
	s := schedule(ctx, faults, start, clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
		c := &clockLink{start: start, kind: k, up: 1 << 10, down: 10 << 10}
		mu.Lock()
		links[f.Name] = c
		mu.Unlock()
		return c, nil
	}))
	recs := s.Wait()
	logs := map[string][]string{}
	for name, c := range links {
		logs[name] = c.log
	}
	return recs, logs
}

func TestScheduleOnReplayClock(t *testing.T) {
	faults := []Fault{
		{Name: "slow", Target: "redis", Kind: "latency", At: 10 * time.Second, For: 5 * time.Second, Params: map[string]any{"latency": "200ms"}},
		{Name: "gone", Target: "postgres", Kind: "down", At: 2 * time.Second, For: 20 * time.Second},
		{Name: "now", Target: "api", Kind: "down", At: 0, For: 0},
	}
	var (
		recs []Record
		logs map[string][]string
	)
	// t.Run cannot be called in a bubble: run the plan there, check it after.
	synctest.Test(t, func(t *testing.T) {
		// The replay's zero is 5s after the call: every time is from it.
		recs, logs = scheduleOnClock(context.Background(), faults, time.Now().Add(5*time.Second))
	})

	tests := []struct {
		name             string
		injected, healed time.Duration
		log              []string
	}{
		// Baseline just before the injection at At (three probes for a
		// latency, the fastest kept), probe, heal at At+For, probe.
		{"slow", 10 * time.Second, 15 * time.Second, []string{"probe@10s", "probe@10s", "probe@10s", "inject@10s", "probe@10s", "heal@15s", "probe@15s"}},
		// Another fault runs on its own timeline, unaffected by the first.
		{"gone", 2 * time.Second, 22 * time.Second, []string{"probe@2s", "inject@2s", "probe@2s", "heal@22s", "probe@22s"}},
		// Nothing happens before the replay's zero; For 0 heals right after the proof.
		{"now", 0, 0, []string{"probe@0s", "inject@0s", "probe@0s", "heal@0s", "probe@0s"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := recs[i]
			if r.Name != tt.name || r.InjectedAt != tt.injected || r.HealedAt != tt.healed {
				t.Errorf("record %s injected %s healed %s; want %s, %s, %s", r.Name, r.InjectedAt, r.HealedAt, tt.name, tt.injected, tt.healed)
			}
			if !r.Injected || !r.Landed || !r.Healed {
				t.Errorf("Injected=%v Landed=%v Healed=%v: %s", r.Injected, r.Landed, r.Healed, r.Evidence)
			}
			// The platform's bytes between injection and heal, at 1 KiB/s
			// up and 10 KiB/s down.
			if secs := int64((tt.healed - tt.injected) / time.Second); r.TrafficBytes != 11<<10*secs {
				t.Errorf("TrafficBytes %d, want %d", r.TrafficBytes, 11<<10*secs)
			}
			if got := strings.Join(logs[tt.name], " "); got != strings.Join(tt.log, " ") {
				t.Errorf("actions %s, want %s", got, strings.Join(tt.log, " "))
			}
		})
	}
	if !strings.Contains(recs[0].Evidence.String(), "1ms before, 201ms during, 1ms after; +200ms ≥ 100ms (50% of 200ms); "+
		"link carried 5.0 KiB upstream / 50.0 KiB downstream of the platform's own traffic during the fault; landed") {
		t.Errorf("slow evidence: %s", recs[0].Evidence)
	}
	// A fault healed the instant it landed saw no traffic; its probe still
	// proves it.
	if !strings.Contains(recs[2].Evidence.String(), "link carried none of the platform's own traffic during the fault; landed") {
		t.Errorf("now evidence: %s", recs[2].Evidence)
	}
}

func TestScheduleCancelOnReplayClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		faults := []Fault{
			// Injected at 5s, meant to last until 105s: healed when the run ends at 30s.
			{Name: "cut", Target: "redis", Kind: "latency", At: 5 * time.Second, For: 100 * time.Second, Params: map[string]any{"latency": "1s"}},
			// Due at 1h: never injected.
			{Name: "never", Target: "redis", Kind: "down", At: time.Hour, For: time.Second},
			// Healed at 20s, before the end: untouched by the cancel.
			{Name: "done", Target: "redis", Kind: "down", At: 10 * time.Second, For: 10 * time.Second},
		}
		recs, logs := scheduleOnClock(ctx, faults, start)
		cut, never, done := recs[0], recs[1], recs[2]
		if !cut.Injected || cut.InjectedAt != 5*time.Second || cut.HealedAt != 30*time.Second || !cut.Healed || !strings.Contains(cut.Evidence.String(), "healed early at 30s") {
			t.Errorf("cut: %+v", cut)
		}
		// The run ended first: never injected, so nothing flowed through it.
		if never.Injected || never.InjectedAt != 0 || never.HealedAt != 0 || never.Healed || never.Landed || never.TrafficBytes != 0 || !strings.Contains(never.Evidence.String(), "not injected") {
			t.Errorf("never: %+v", never)
		}
		if len(logs["never"]) != 0 {
			t.Errorf("never: actions %v, want none", logs["never"])
		}
		if done.HealedAt != 20*time.Second || !done.Healed || strings.Contains(done.Evidence.String(), "early") {
			t.Errorf("done: %+v", done)
		}
		// The clock link answers at once, so Wait returns at the cancel.
		if got := time.Since(start); got != 30*time.Second {
			t.Errorf("Wait returned at %s, want 30s", got)
		}
	})
}

func TestScheduleNotLanded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A link whose probes never change: the API says the toxic is there,
		// but nothing shows, so the record must not claim it landed.
		start := time.Now()
		faults := []Fault{{Name: "ghost", Target: "redis", Kind: "latency", For: time.Second, Params: map[string]any{"latency": "200ms"}}}
		s := schedule(context.Background(), faults, start, clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
			return &clockLink{start: start, kind: &Bandwidth{}}, nil
		}))
		r := s.Wait()[0]
		if r.Landed || !r.Healed || !strings.Contains(r.Evidence.String(), "+0s < 100ms (50% of 200ms); link carried none of the platform's own traffic during the fault; NOT landed") {
			t.Errorf("record %+v", r)
		}
	})
}

func TestScheduleRefusesInvalidFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		faults := []Fault{
			{Name: "bad kind", Target: "redis", Kind: "kill"},
			{Name: "bad params", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "5"}},
			{Name: "negative", Target: "redis", Kind: "down", At: -time.Second},
		}
		called := false
		s := schedule(context.Background(), faults, time.Now(), clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
			called = true
			return nil, errors.New("unreachable")
		}))
		for _, r := range s.Wait() {
			if r.Landed || r.Healed || !strings.HasPrefix(r.Evidence.String(), "not injected: ") {
				t.Errorf("%s: %+v", r.Name, r)
			}
		}
		if called {
			t.Error("an invalid fault reached its link")
		}
	})
}

func TestScheduleUnobservableNeedsTraffic(t *testing.T) {
	tests := []struct {
		name     string
		kind     string
		params   map[string]any
		up, down int64 // the platform's bytes per second through the link
		landed   bool
		want     string
	}{
		// A bandwidth cap no probe can see, with the platform's traffic
		// going through it: in place and crossed.
		{"bandwidth crossed", "bandwidth", map[string]any{"rate": 10}, 100, 3000, true,
			"the API read-back and the link's traffic decide; link carried 500 B upstream / 14.6 KiB downstream of the platform's own traffic during the fault; landed"},
		// Only downstream traffic still crossed the link.
		{"limit_data one way", "limit_data", map[string]any{"bytes": 10}, 0, 1, true, "link carried 0 B upstream / 5 B downstream"},
		// In place, but the platform sent nothing through it: nothing shows
		// the fault did anything.
		{"bandwidth idle", "bandwidth", map[string]any{"rate": 10}, 0, 0, false,
			"link carried none of the platform's own traffic during the fault; nothing shows the fault was crossed; NOT landed"},
		{"slow_close idle", "slow_close", map[string]any{"delay": "1s"}, 0, 0, false, "NOT landed"},
		// A probe-judged kind does not need traffic: its probe shows it.
		{"down idle", "down", nil, 0, 0, true, "link carried none of the platform's own traffic during the fault; landed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				faults := []Fault{{Name: tt.name, Target: "redis", Kind: tt.kind, At: time.Second, For: 5 * time.Second, Params: tt.params}}
				s := schedule(context.Background(), faults, start, clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
					return &clockLink{start: start, kind: k, up: tt.up, down: tt.down}, nil
				}))
				r := s.Wait()[0]
				if r.Landed != tt.landed || !r.Injected || !r.Healed || r.TrafficBytes != 5*(tt.up+tt.down) {
					t.Errorf("Landed=%v Injected=%v Healed=%v TrafficBytes=%d; want Landed=%v, injected, healed, %d bytes: %s",
						r.Landed, r.Injected, r.Healed, r.TrafficBytes, tt.landed, 5*(tt.up+tt.down), r.Evidence)
				}
				if !strings.Contains(r.Evidence.String(), tt.want) {
					t.Errorf("evidence lacks %q: %s", tt.want, r.Evidence)
				}
			})
		})
	}
}

func TestScheduleInjectionFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		faults := []Fault{{Name: "refused", Target: "redis", Kind: "latency", At: 2 * time.Second, For: 5 * time.Second, Params: map[string]any{"latency": "200ms"}}}
		var link *clockLink
		s := schedule(context.Background(), faults, start, clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
			link = &clockLink{start: start, kind: k, up: 100, down: 100, injectErr: errors.New("proxy not found")}
			return link, nil
		}))
		r := s.Wait()[0]
		// The injection was tried and failed: the record says it never
		// happened, and counts no traffic through a fault that was not there.
		if r.Injected || r.InjectedAt != 0 || r.Landed || r.Healed || r.TrafficBytes != 0 {
			t.Errorf("record %+v; want not injected, not landed, no traffic", r)
		}
		if !strings.Contains(r.Evidence.String(), "injection at 2s failed: proxy not found; NOT landed") {
			t.Errorf("evidence: %s", r.Evidence)
		}
		// Baseline (three probes for a latency), the failed injection, and
		// the heal that makes sure no half-applied state lingers; no probe
		// during or after.
		if got := strings.Join(link.log, " "); got != "probe@2s probe@2s probe@2s inject@2s heal@2s" {
			t.Errorf("actions %s", got)
		}
	})
}

// A baseline probe stalled by a busy machine must not hide a latency: the
// fastest of the baseline probes is the floor (CI saw a 7.1ms baseline hide
// a 10ms latency on a link that answers in 0.65ms).
func TestLatencyBaselineIgnoresANoisyProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		faults := []Fault{{Name: "slow", Target: "redis", Kind: "latency", At: time.Second, For: 2 * time.Second, Params: map[string]any{"latency": "10ms"}}}
		s := schedule(context.Background(), faults, start, clockReach, onClock(func(f Fault, k Kind) (faultOps, error) {
			return &clockLink{start: start, kind: k, up: 100, down: 100, noise: []time.Duration{7 * time.Millisecond}}, nil
		}))
		r := s.Wait()[0]
		if !r.Landed {
			t.Fatalf("a 10ms latency did not land behind one 8ms baseline probe: %s", r.Evidence)
		}
		if !strings.Contains(r.Evidence.String(), "1ms before, 11ms during") {
			t.Errorf("the baseline is not the fastest probe: %s", r.Evidence)
		}
	})
}
