package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/reports"
)

func TestRewriteFaults(t *testing.T) {
	apiSlow := chaos.Fault{Name: "random-2-latency-api", Target: "api", Kind: "latency", At: 1500 * time.Millisecond, For: 3 * time.Second,
		Params: map[string]any{"latency": "400ms", "stream": "downstream"}}
	gap := chaos.Fault{Name: "feed gap", Target: "feed", Kind: "gap", At: 0, For: time.Second, Params: map[string]any{"every": uint64(5)}}
	tests := []struct {
		name    string
		src     string
		plan    []chaos.Fault
		capture string
		keep    []string // text that must survive
		gone    []string // text that must not
	}{
		// A random plan written as a mapping becomes an explicit list; the
		// keys after it and their comments stay.
		{name: "random mapping", src: `name: r
seed: 3
load:
  generate: {profile: football, matches: 1, bettors: 20, duration: 30s}
faults:
  plan:
    - {name: a, at: 1s, for: 1s, target: redis, kind: latency, params: {latency: 1ms}}
  random: {seed: 9, count: 3, kinds: [latency, gap], min_for: 1s, max_for: 2s}

# the objective the latency breaks
slos:
  - {metric: bet_acceptance, p99: 50ms}
`, plan: []chaos.Fault{apiSlow},
			keep: []string{"# the objective the latency breaks\nslos:", "name: random-2-latency-api", "seed: 3"},
			gone: []string{"random:", "name: a,"}},
		// A list in block style, last in the file.
		{name: "block list last", src: `name: b
load:
  generate: {profile: football, matches: 1, bettors: 20, duration: 30s}
faults:
  - name: one
    at: 1s
    for: 1s
    target: redis
    kind: latency
    params: {latency: 1ms}
  - {name: two, at: 1s, for: 1s, target: feed, kind: gap}
`, plan: []chaos.Fault{gap}, keep: []string{"name: feed gap, at: 0s"}, gone: []string{"name: one", "name: two"}},
		// No faults key: the plan is added at the end.
		{name: "no faults", src: "name: c\nload: {generate: {profile: football, matches: 1, bettors: 20, duration: 30s}}",
			plan: []chaos.Fault{gap}, keep: []string{"faults:\n  - "}},
		// A relative capture becomes the absolute path, quoted, in a flow
		// mapping as in a block one.
		{name: "capture in flow", src: "name: d\nload: {capture: caps/peak.jsonl.gz, speed: 4}\nfaults: [{name: x, at: 1s, for: 1s, target: feed, kind: gap}]\n",
			plan: []chaos.Fault{gap}, capture: "/data/caps/peak.jsonl.gz", keep: []string{`load: {capture: "/data/caps/peak.jsonl.gz", speed: 4}`}},
		{name: "capture in block", src: "name: e\nload:\n  capture: 'caps/peak.jsonl.gz' # the peak\n  speed: 4\nfaults: []\n",
			plan: []chaos.Fault{gap}, capture: "/data/caps/peak.jsonl.gz", keep: []string{`  capture: "/data/caps/peak.jsonl.gz" # the peak`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rewriteFaults([]byte(tt.src), tt.plan, tt.capture)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.keep {
				if !strings.Contains(string(out), k) {
					t.Errorf("lost %q:\n%s", k, out)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(string(out), g) {
					t.Errorf("kept %q:\n%s", g, out)
				}
			}
			sc, err := Parse("minimal.yaml", out)
			if err != nil {
				t.Fatalf("does not load: %v\n%s", err, out)
			}
			if sc.Random != nil || len(sc.Faults) != len(tt.plan) {
				t.Fatalf("loads with %d faults and random %v:\n%s", len(sc.Faults), sc.Random, out)
			}
		})
	}
}

// TestShrinkDirRefuses checks that what cannot be shrunk is refused as bad
// input (exit 3), with a reason, before anything runs.
func TestShrinkDirRefuses(t *testing.T) {
	sc, err := Parse("rerun.yaml", []byte(rerunScenario))
	if err != nil {
		t.Fatal(err)
	}
	plan, errs := sc.Plan(chaos.FullReach())
	if errs != nil {
		t.Fatal(errs)
	}
	tests := []struct {
		name   string
		code   int           // report.json's exit_code; -1: no report.json
		plan   []chaos.Fault // written to plan.yaml; nil: no plan.yaml
		reason string
	}{
		{name: "not a report dir", code: -1, plan: plan, reason: "report.json"},
		{name: "passed", code: 0, plan: plan, reason: "passed"},
		// An invalid measurement is the harness's, not a fault's.
		{name: "invalid", code: 5, plan: plan, reason: "invalid"},
		{name: "no plan.yaml", code: 2, reason: PlanFile},
		{name: "no faults", code: 1, plan: []chaos.Fault{}, reason: "no faults"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.code >= 0 {
				data, _ := json.Marshal(reports.Report{Schema: "inplay.report/v1", Verdict: "fail", ExitCode: tt.code})
				if err := os.WriteFile(filepath.Join(dir, "report.json"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.plan != nil {
				if _, err := writeRerun(dir, sc, tt.plan); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(filepath.Join(dir, ScenarioFile), sc.Source, 0o644); err != nil {
				t.Fatal(err)
			}
			ran := false
			_, err := ShrinkDir(context.Background(), dir, ShrinkDirOptions{Observe: func(ShrinkRun) { ran = true }})
			var in *herr.Error
			if !errors.As(err, &in) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want an *herr.Error saying %q", err, tt.reason)
			}
			if ran {
				t.Error("a candidate ran")
			}
		})
	}
}
