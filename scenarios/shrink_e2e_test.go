package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// shrinkScenario fails for one reason: the api link's 400ms latency breaks
// an acceptance objective of 200ms, which the other two faults, a feed gap
// and 10ms on Redis, are far too mild to break. 30 s of capture at 6x is a
// replay of 5 s.
const shrinkScenario = `
name: shrink-e2e
seed: 21
load:
  generate: {profile: football, matches: 1, bettors: 30, duration: 30s}
  speed: 6
  quote_subscribers: 0
  # -race on a shared 2-core machine: the test is about which fault
  # fails the run, and a lagging generator must not make it invalid.
  max_schedule_lag: 1s
faults:
  - {name: feed-gap, at: 500ms, for: 1500ms, target: feed, kind: gap, params: {every: 5}}
  - {name: api-slow, at: 2s, for: 2s, target: api, kind: latency, params: {latency: 400ms}}
  - {name: redis-slow, at: 1s, for: 1s, target: redis, kind: latency, params: {latency: 10ms}}
slos:
  - {metric: bet_acceptance, p99: 200ms, phase: all}
reconcile: strict
drain: 20s
`

// TestShrinkEndToEnd runs a failing scenario against the real platform,
// then shrinks it from its report dir: the smallest plan that still breaks
// the objective is the api latency alone, and minimal.yaml loads with it.
func TestShrinkEndToEnd(t *testing.T) {
	so := resolveStack(t)
	sc, err := Parse("shrink-e2e.yaml", []byte(shrinkScenario))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	res, err := Run(ctx, sc, Options{OutDir: dir, Stack: so, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.ExitCode != 1 {
		t.Fatalf("the original run exits %d, not 1 (an SLO breached): slos %+v, problems %v",
			res.Report.ExitCode, res.Report.SLOs, res.Report.Problems)
	}

	const maxRuns = 6
	got, err := ShrinkDir(ctx, dir, ShrinkDirOptions{MaxRuns: maxRuns,
		Run: Options{Stack: so, PlatformBinary: platformBinary},
		Observe: func(r ShrinkRun) {
			t.Logf("run-%02d %v: exit %d, still failing %v, err %v", r.N, r.Faults, r.ExitCode, r.Fails, r.Err)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d runs; minimal %v; plan %d → %d faults", len(got.Runs), got.Minimal, len(got.OriginalPlan), len(got.Plan))
	if len(got.Plan) != 1 || got.Plan[0].Name != "api-slow" || !got.Minimal {
		t.Fatalf("shrunk to %+v (minimal %v, bounded %v), want api-slow alone, minimal", got.Plan, got.Minimal, got.Bounded)
	}
	if len(got.Runs) > maxRuns {
		t.Errorf("%d runs, above --max-runs %d", len(got.Runs), maxRuns)
	}
	for _, r := range got.Runs {
		if _, err := os.Stat(filepath.Join(dir, "shrink", fmt.Sprintf("run-%02d", r.N), "report.json")); err != nil {
			t.Errorf("run %d left no report: %v", r.N, err)
		}
	}

	if testing.Verbose() {
		text, _ := os.ReadFile(got.MinimalPath)
		t.Logf("%s:\n%s", got.MinimalPath, text)
	}
	min, err := LoadFile(got.MinimalPath)
	if err != nil {
		t.Fatalf("minimal.yaml does not load: %v", err)
	}
	if min.Random != nil || len(min.Faults) != 1 {
		t.Fatalf("minimal.yaml has faults %+v, random %+v", min.Faults, min.Random)
	}
	f := min.Faults[0]
	if f.Name != "api-slow" || f.Target != "api" || f.Kind != "latency" || f.At != 2*time.Second || f.For != 2*time.Second || f.Params["latency"] != "400ms" {
		t.Errorf("minimal.yaml's fault is %+v", f)
	}
	if min.Seed != sc.Seed || min.Generate == nil || *min.Generate != *sc.Generate || len(min.Objectives) != 1 {
		t.Errorf("minimal.yaml changed more than the faults: %+v", min)
	}
}
