package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/chaos"
)

const rerunScenario = `
name: rerun
seed: 5
load:
  generate: {profile: football, matches: 1, bettors: 20, duration: 30s}
  speed: 6
faults:
  plan:
    - {name: api-slow, at: 1s, for: 1500ms, target: api, kind: latency, params: {latency: 400ms}}
  random: {seed: 9, count: 4, kinds: [latency, gap, reset_peer, limit_data], targets: [redis, feed, stream], min_for: 500ms, max_for: 2s}
`

// TestRerunRoundTrip proves a run's out dir gives back the scenario as
// written and the plan that ran, random faults drawn, params included.
func TestRerunRoundTrip(t *testing.T) {
	sc, err := Parse("rerun.yaml", []byte(rerunScenario))
	if err != nil {
		t.Fatal(err)
	}
	plan, errs := sc.Plan(chaos.FullReach())
	if errs != nil {
		t.Fatal(errs)
	}
	dir := t.TempDir()
	files, err := writeRerun(dir, sc, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("written %v, want scenario.yaml and plan.yaml", files)
	}
	got, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
	if err != nil || string(got) != rerunScenario {
		t.Fatalf("scenario.yaml is not the file as written (err %v):\n%s", err, got)
	}
	if testing.Verbose() {
		p, _ := os.ReadFile(filepath.Join(dir, PlanFile))
		t.Logf("plan.yaml:\n%s", p)
	}
	back, backPlan, err := ReadRerun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Seed != sc.Seed || back.Random == nil || back.Random.Seed != 9 {
		t.Errorf("scenario read back with seed %d, random %+v", back.Seed, back.Random)
	}
	if len(backPlan) != len(plan) {
		t.Fatalf("plan read back has %d faults, ran %d", len(backPlan), len(plan))
	}
	for i := range plan {
		w, g := plan[i], backPlan[i]
		if w.Name != g.Name || w.Target != g.Target || w.Kind != g.Kind || w.At != g.At || w.For != g.For {
			t.Errorf("fault %d read back as %+v, ran %+v", i, g, w)
		}
		// Params come back as YAML gives them (numbers as uint64); what
		// matters is that the kind reads them as it did.
		if len(w.Params) != len(g.Params) {
			t.Errorf("fault %s params read back as %v, ran %v", w.Name, g.Params, w.Params)
		}
	}
	// The plan read back is a valid explicit plan for the same run.
	back.Faults, back.Random = backPlan, nil
	if _, errs := back.Plan(chaos.FullReach()); errs != nil {
		t.Errorf("plan read back is refused: %v", errs)
	}
}

// TestReadRerunMissing names the file a report dir lacks.
func TestReadRerunMissing(t *testing.T) {
	dir := t.TempDir()
	_, _, err := ReadRerun(dir)
	if err == nil || !strings.Contains(err.Error(), ScenarioFile) {
		t.Fatalf("err = %v, want one naming %s", err, ScenarioFile)
	}
	if err := os.WriteFile(filepath.Join(dir, ScenarioFile), []byte(rerunScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = ReadRerun(dir)
	if err == nil || !strings.Contains(err.Error(), PlanFile) {
		t.Fatalf("err = %v, want one naming %s", err, PlanFile)
	}
}
