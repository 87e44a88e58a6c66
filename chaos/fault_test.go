package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

var allLinks = []string{"redis", "postgres", "api", "feed", "stream"}

// linksOnly reaches the given links and nothing else.
func linksOnly(links ...string) Reach { return Reach{Links: links} }

func TestValidateFaultsAccepts(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
	}{
		// The design's example.
		{"latency with jitter", Fault{Name: "redis-slow", Target: "redis", Kind: "latency", At: 20 * time.Second, For: 10 * time.Second,
			Params: map[string]any{"latency": "200ms", "jitter": "20ms"}}},
		// YAML gives unsigned ints for positive numbers.
		{"bandwidth from YAML", Fault{Name: "b", Target: "api", Kind: "bandwidth", For: time.Second, Params: map[string]any{"rate": uint64(100)}}},
		// A float with no fraction is a whole number.
		{"limit_data as float", Fault{Name: "l", Target: "feed", Kind: "limit_data", Params: map[string]any{"bytes": 1024.0}}},
		// Optional params may be left out.
		{"timeout without params", Fault{Name: "t", Target: "stream", Kind: "timeout", For: time.Second}},
		// Stream and toxicity are shared by every toxic.
		{"reset_peer upstream, half toxicity", Fault{Name: "r", Target: "postgres", Kind: "reset_peer",
			Params: map[string]any{"stream": "upstream", "toxicity": 0.5, "timeout": "1s"}}},
		// Slicer's delay takes microseconds.
		{"slicer", Fault{Name: "s", Target: "redis", Kind: "slicer", Params: map[string]any{"average_size": 64, "size_variation": 8, "delay": "10us"}}},
		// slow_close's delay.
		{"slow_close", Fault{Name: "c", Target: "redis", Kind: "slow_close", Params: map[string]any{"delay": "1s"}}},
		// down takes no params.
		{"down", Fault{Name: "d", Target: "postgres", Kind: "down", At: time.Second, For: time.Second}},
		// toxiproxy's own bare numbers, in its own units.
		{"latency in ms", Fault{Name: "l", Target: "redis", Kind: "latency", Params: map[string]any{"latency": uint64(200), "jitter": 20}}},
		{"timeout in ms", Fault{Name: "t", Target: "api", Kind: "timeout", Params: map[string]any{"timeout": 50.0}}},
		{"slicer delay in µs", Fault{Name: "s", Target: "feed", Kind: "slicer", Params: map[string]any{"average_size": 64, "delay": 10}}},
		// The process, store and feed families, on a run that has them.
		{"kill", Fault{Name: "k", Target: "platform", Kind: "kill", At: time.Second, For: 5 * time.Second}},
		{"pause", Fault{Name: "p", Target: "platform", Kind: "pause", For: time.Second}},
		{"restart", Fault{Name: "r", Target: "platform", Kind: "restart"}},
		{"data_loss", Fault{Name: "d", Target: "redis", Kind: "data_loss"}},
		{"terminate", Fault{Name: "t", Target: "postgres", Kind: "terminate"}},
		{"dropout", Fault{Name: "f", Target: "feed", Kind: "dropout", For: time.Second}},
		{"duplicate", Fault{Name: "f", Target: "feed", Kind: "duplicate", Params: map[string]any{"every": 3}}},
		{"reorder", Fault{Name: "f", Target: "feed", Kind: "reorder", Params: map[string]any{"window": "200ms"}}},
		{"gap", Fault{Name: "f", Target: "feed", Kind: "gap"}},
		{"stale", Fault{Name: "f", Target: "feed", Kind: "stale", Params: map[string]any{"every": 5}}},
		{"malformed", Fault{Name: "f", Target: "feed", Kind: "malformed"}},
		{"burst", Fault{Name: "f", Target: "feed", Kind: "burst"}},
		{"skew behind", Fault{Name: "f", Target: "feed", Kind: "skew", Params: map[string]any{"skew": "-2s"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if errs := ValidateFaults([]Fault{tt.fault}, FullReach()); errs != nil {
				t.Errorf("ValidateFaults: %v", errs)
			}
		})
	}
}

func TestValidateFaultsRefuses(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		reach Reach
		code  herr.Code
		want  string
	}{
		// Records and reports need a name.
		{"no name", Fault{Target: "redis", Kind: "down"}, FullReach(), herr.EINPUT, `fault #1: has no name`},
		{"no target", Fault{Name: "x", Kind: "down"}, FullReach(), herr.EINPUT, `fault "x": has no target`},
		{"unknown target", Fault{Name: "x", Target: "kafka", Kind: "down"}, FullReach(), herr.EINPUT, `target "kafka" is unknown; use one of redis, postgres, api, feed, stream`},
		// A link kind on a process.
		{"down on platform", Fault{Name: "x", Target: "platform", Kind: "down"}, FullReach(), herr.EINPUT, `kind down acts on a link, and platform is not one`},
		// The machine's shared services are never killed, paused or restarted.
		{"kill redis", Fault{Name: "x", Target: "redis", Kind: "kill"}, FullReach(), herr.EINPUT,
			`kind kill cannot target redis: the machine's Redis and PostgreSQL serve other runs and tests`},
		{"pause postgres", Fault{Name: "x", Target: "postgres", Kind: "pause"}, FullReach(), herr.EINPUT, `use terminate (the run's own data only) or down on the postgres link`},
		// A process kind on a link.
		{"restart api", Fault{Name: "x", Target: "api", Kind: "restart"}, FullReach(), herr.EINPUT, `kind restart acts on a process, and api is a link; use target platform`},
		// A run without process control (an operator's platform, today's runner).
		{"kill without control", Fault{Name: "x", Target: "platform", Kind: "kill"}, Reach{Links: allLinks}, herr.EINPUT, `target platform has no process control in this run`},
		// Store kinds act on their one store, when the run has control of them.
		{"data_loss on postgres", Fault{Name: "x", Target: "postgres", Kind: "data_loss"}, FullReach(), herr.EINPUT, `kind data_loss acts on redis only, not postgres`},
		{"terminate without stores", Fault{Name: "x", Target: "postgres", Kind: "terminate"}, Reach{Links: allLinks}, herr.EINPUT, `needs control of the run's stores`},
		// Feed kinds act on the feed stream, when the run's feed server can alter it.
		{"gap on redis", Fault{Name: "x", Target: "redis", Kind: "gap"}, FullReach(), herr.EINPUT, `kind gap alters the feed stream: its target is feed, not redis`},
		{"dropout without feed control", Fault{Name: "x", Target: "feed", Kind: "dropout"}, Reach{Links: allLinks}, herr.EINPUT, `needs a feed server that can alter its stream`},
		{"skew without skew", Fault{Name: "x", Target: "feed", Kind: "skew"}, FullReach(), herr.EINPUT, `param skew is missing or 0`},
		{"reorder zero window", Fault{Name: "x", Target: "feed", Kind: "reorder", Params: map[string]any{"window": "0s"}}, FullReach(), herr.EINPUT, `param window must be more than 0`},
		{"duplicate every 0", Fault{Name: "x", Target: "feed", Kind: "duplicate", Params: map[string]any{"every": 0}}, FullReach(), herr.EINPUT, `param every must be from 1`},
		{"kill with params", Fault{Name: "x", Target: "platform", Kind: "kill", Params: map[string]any{"signal": "TERM"}}, FullReach(), herr.EINPUT, `param "signal" is unknown`},
		// The protocol fault loses the api's answers, at the harness's end.
		{"ack_lost on redis", Fault{Name: "x", Target: "redis", Kind: "ack_lost"}, FullReach(), herr.EINPUT, `kind ack_lost acts on the api link only, not redis`},
		{"ack_lost without answers", Fault{Name: "x", Target: "api", Kind: "ack_lost"}, Reach{Links: allLinks}, herr.EINPUT, `needs the harness's end of the api link`},
		{"ack_lost every 0", Fault{Name: "x", Target: "api", Kind: "ack_lost", Params: map[string]any{"every": 0}}, FullReach(), herr.EINPUT, `param every must be from 1`},
		// A known target the run put no link on.
		{"unlinked", Fault{Name: "x", Target: "stream", Kind: "down"}, linksOnly("redis"), herr.EINPUT, `target stream has no chaos link in this run (linked: redis)`},
		{"no kind", Fault{Name: "x", Target: "redis"}, FullReach(), herr.EINPUT, `has no kind; use one of`},
		{"unknown kind", Fault{Name: "x", Target: "redis", Kind: "jitter"}, FullReach(), herr.EINPUT, `kind "jitter" is unknown; use one of ack_lost, bandwidth, burst, data_loss, down`},
		{"negative at", Fault{Name: "x", Target: "redis", Kind: "down", At: -time.Second}, FullReach(), herr.EINPUT, `at must not be negative, not -1s`},
		{"negative for", Fault{Name: "x", Target: "redis", Kind: "down", For: -time.Second}, FullReach(), herr.EINPUT, `for must not be negative, not -1s`},
		{"missing param", Fault{Name: "x", Target: "redis", Kind: "latency"}, FullReach(), herr.EINPUT, `param latency is missing`},
		// A bare number is toxiproxy's unit, and toxiproxy's are whole.
		{"fractional bare number", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": 2.5}}, FullReach(), herr.EINPUT,
			`param latency must be a whole number of milliseconds (toxiproxy's unit), not the number 2.5`},
		{"negative bare number", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"timeout": -1}}, FullReach(), herr.EINPUT, `param timeout must not be negative`},
		{"huge bare number", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": int64(1) << 62}}, FullReach(), herr.EINPUT, `is more than 24h0m0s`},
		// Feed params are durations with a unit: there is no toxiproxy unit to borrow.
		{"bare window", Fault{Name: "x", Target: "feed", Kind: "reorder", Params: map[string]any{"window": 500}}, FullReach(), herr.EINPUT, `must be a duration with a unit`},
		{"bad duration", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "fast"}}, FullReach(), herr.EINPUT, `not "fast"`},
		{"negative duration", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "-5ms"}}, FullReach(), herr.EINPUT, `must not be negative`},
		// Rounding would misstate the fault.
		{"sub-millisecond", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "1500us"}}, FullReach(), herr.EINPUT, `finer than the 1ms precision`},
		{"typo param", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "1s", "jiter": "5ms"}}, FullReach(), herr.EINPUT, `param "jiter" is unknown`},
		{"down with params", Fault{Name: "x", Target: "redis", Kind: "down", Params: map[string]any{"latency": "1s"}}, FullReach(), herr.EINPUT, `param "latency" is unknown`},
		// toxiproxy reads 0 as no limit and then spins.
		{"zero rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": 0}}, FullReach(), herr.EINPUT, `param rate must be from 1 to`},
		{"fractional rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": 1.5}}, FullReach(), herr.EINPUT, `must be a whole number, not the number 1.5`},
		{"string rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": "100"}}, FullReach(), herr.EINPUT, `not the string "100"`},
		{"huge bytes", Fault{Name: "x", Target: "redis", Kind: "limit_data", Params: map[string]any{"bytes": uint64(1 << 63)}}, FullReach(), herr.EINPUT, `must be a whole number`},
		{"bad stream", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"stream": "sideways"}}, FullReach(), herr.EINPUT, `param stream must be one of downstream, upstream`},
		// A toxic that never applies is no fault.
		{"zero toxicity", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"toxicity": 0}}, FullReach(), herr.EINPUT, `toxicity must be more than 0 and at most 1`},
		{"toxicity above 1", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"toxicity": 1.5}}, FullReach(), herr.EINPUT, `not 1.5`},
		// A wide variation panics toxiproxy's slicer.
		{"slicer variation", Fault{Name: "x", Target: "redis", Kind: "slicer", Params: map[string]any{"average_size": 8, "size_variation": 8}}, FullReach(), herr.EINPUT,
			`size_variation (8) must be below average_size (8)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateFaults([]Fault{tt.fault}, tt.reach)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if !strings.Contains(errs[0].Error(), tt.want) || herr.CodeOf(errs[0]) != tt.code {
				t.Errorf("error %q (code %s); want it to contain %q with code %s", errs[0], herr.CodeOf(errs[0]), tt.want, tt.code)
			}
		})
	}
}

func TestValidateFaultsReportsEveryProblem(t *testing.T) {
	faults := []Fault{
		{Name: "a", Target: "redis", Kind: "latency", At: -time.Second, Params: map[string]any{"jitter": "5", "color": "red"}},
		{Name: "a", Target: "kafka", Kind: "ack_lost"},
		{Name: "b", Target: "postgres", Kind: "down", At: time.Second, For: 5 * time.Second},
		{Name: "c", Target: "postgres", Kind: "down", At: 3 * time.Second, For: time.Second},
	}
	want := []string{
		`fault "a": at must not be negative, not -1s`,
		`fault "a": param latency is missing`,
		`fault "a": param jitter must be a duration such as "200ms", not "5"`,
		`fault "a": param "color" is unknown for this kind`,
		`fault "a": is defined twice (faults #1 and #2)`,
		`fault "a": target "kafka" is unknown`,
		`fault "c": overlaps fault "b" (down on postgres from 1s to 6s)`,
	}
	errs := ValidateFaults(faults, FullReach())
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(errs), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.Contains(g, w)
		}
		if !found {
			t.Errorf("no error contains %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	tests := []struct {
		name     string
		register func()
	}{
		// Two kinds under one name would make a scenario mean two things.
		{"kind", func() { RegisterKind("latency", func(*Params) Kind { return &Down{} }) }},
		// Two probes for one target would make the evidence ambiguous.
		{"prober", func() { RegisterProber("redis", ProberFunc(ConnectProbe)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("registering a name twice did not panic")
				}
			}()
			tt.register()
		})
	}
}
