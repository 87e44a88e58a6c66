package chaos

import (
	"strings"
	"testing"
	"time"
)

var allLinks = []string{"redis", "postgres", "api", "feed", "stream"}

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if errs := ValidateFaults([]Fault{tt.fault}, allLinks); errs != nil {
				t.Errorf("ValidateFaults: %v", errs)
			}
		})
	}
}

func TestValidateFaultsRefuses(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		links []string
		code  string
		want  string
	}{
		// Records and reports need a name.
		{"no name", Fault{Target: "redis", Kind: "down"}, allLinks, EINVALID, `fault #1: has no name`},
		{"no target", Fault{Name: "x", Kind: "down"}, allLinks, EINVALID, `fault "x": has no target`},
		{"unknown target", Fault{Name: "x", Target: "kafka", Kind: "down"}, allLinks, EINVALID, `target "kafka" is unknown; use one of redis, postgres, api, feed, stream`},
		// Process faults come later; the scenario language already has them.
		{"platform target", Fault{Name: "x", Target: "platform", Kind: "down"}, allLinks, EUNSUPPORTED, `target platform is not supported yet`},
		{"kill", Fault{Name: "x", Target: "redis", Kind: "kill"}, allLinks, EUNSUPPORTED, `kind kill is not supported yet`},
		{"feed dropout", Fault{Name: "x", Target: "feed", Kind: "dropout"}, allLinks, EUNSUPPORTED, `kind dropout is not supported yet`},
		// A known target the run put no link on.
		{"unlinked", Fault{Name: "x", Target: "stream", Kind: "down"}, []string{"redis"}, ENOTFOUND, `target stream has no chaos link in this run (linked: redis)`},
		{"no kind", Fault{Name: "x", Target: "redis"}, allLinks, EINVALID, `has no kind; use one of`},
		{"unknown kind", Fault{Name: "x", Target: "redis", Kind: "jitter"}, allLinks, EINVALID, `kind "jitter" is unknown; use one of bandwidth, down, latency`},
		{"negative at", Fault{Name: "x", Target: "redis", Kind: "down", At: -time.Second}, allLinks, EINVALID, `at must not be negative, not -1s`},
		{"negative for", Fault{Name: "x", Target: "redis", Kind: "down", For: -time.Second}, allLinks, EINVALID, `for must not be negative, not -1s`},
		{"missing param", Fault{Name: "x", Target: "redis", Kind: "latency"}, allLinks, EINVALID, `param latency is missing`},
		// A bare number could be ms or ns: refused.
		{"bare number duration", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": 200}}, allLinks, EINVALID,
			`param latency must be a duration with a unit such as "200ms", not the bare number 200`},
		{"bad duration", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "fast"}}, allLinks, EINVALID, `not "fast"`},
		{"negative duration", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "-5ms"}}, allLinks, EINVALID, `must not be negative`},
		// Rounding would misstate the fault.
		{"sub-millisecond", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "1500us"}}, allLinks, EINVALID, `finer than the 1ms precision`},
		{"typo param", Fault{Name: "x", Target: "redis", Kind: "latency", Params: map[string]any{"latency": "1s", "jiter": "5ms"}}, allLinks, EINVALID, `param "jiter" is unknown`},
		{"down with params", Fault{Name: "x", Target: "redis", Kind: "down", Params: map[string]any{"latency": "1s"}}, allLinks, EINVALID, `param "latency" is unknown`},
		// toxiproxy reads 0 as no limit and then spins.
		{"zero rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": 0}}, allLinks, EINVALID, `param rate must be from 1 to`},
		{"fractional rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": 1.5}}, allLinks, EINVALID, `must be a whole number, not the number 1.5`},
		{"string rate", Fault{Name: "x", Target: "redis", Kind: "bandwidth", Params: map[string]any{"rate": "100"}}, allLinks, EINVALID, `not the string "100"`},
		{"huge bytes", Fault{Name: "x", Target: "redis", Kind: "limit_data", Params: map[string]any{"bytes": uint64(1 << 63)}}, allLinks, EINVALID, `must be a whole number`},
		{"bad stream", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"stream": "sideways"}}, allLinks, EINVALID, `param stream must be one of downstream, upstream`},
		// A toxic that never applies is no fault.
		{"zero toxicity", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"toxicity": 0}}, allLinks, EINVALID, `toxicity must be more than 0 and at most 1`},
		{"toxicity above 1", Fault{Name: "x", Target: "redis", Kind: "timeout", Params: map[string]any{"toxicity": 1.5}}, allLinks, EINVALID, `not 1.5`},
		// A wide variation panics toxiproxy's slicer.
		{"slicer variation", Fault{Name: "x", Target: "redis", Kind: "slicer", Params: map[string]any{"average_size": 8, "size_variation": 8}}, allLinks, EINVALID,
			`size_variation (8) must be below average_size (8)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateFaults([]Fault{tt.fault}, tt.links)
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			if !strings.Contains(errs[0].Error(), tt.want) || ErrorCode(errs[0]) != tt.code {
				t.Errorf("error %q (code %s); want it to contain %q with code %s", errs[0], ErrorCode(errs[0]), tt.want, tt.code)
			}
		})
	}
}

func TestValidateFaultsReportsEveryProblem(t *testing.T) {
	faults := []Fault{
		{Name: "a", Target: "redis", Kind: "latency", At: -time.Second, Params: map[string]any{"jitter": 5, "color": "red"}},
		{Name: "a", Target: "kafka", Kind: "restart"},
		{Name: "b", Target: "postgres", Kind: "down", At: time.Second, For: 5 * time.Second},
		{Name: "c", Target: "postgres", Kind: "down", At: 3 * time.Second, For: time.Second},
	}
	want := []string{
		`fault "a": at must not be negative, not -1s`,
		`fault "a": param latency is missing`,
		`fault "a": param jitter must be a duration with a unit`,
		`fault "a": param "color" is unknown for this kind`,
		`fault "a": is defined twice (faults #1 and #2)`,
		`fault "a": target "kafka" is unknown`,
		`fault "a": kind restart is not supported yet`,
		`fault "c": overlaps fault "b" (down on postgres from 1s to 6s)`,
	}
	errs := ValidateFaults(faults, allLinks)
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
		{"kind", func() { RegisterKind("latency", func() Kind { return &Down{} }) }},
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
