package scenarios

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/chaos"
)

// faultsNamed is a plan of faults named by the letters of names.
func faultsNamed(names string) []chaos.Fault {
	var plan []chaos.Fault
	for _, r := range names {
		plan = append(plan, chaos.Fault{Name: string(r), Target: "redis", Kind: "latency"})
	}
	return plan
}

func namesOf(plan []chaos.Fault) string {
	var b strings.Builder
	for _, f := range plan {
		b.WriteString(f.Name)
	}
	return b.String()
}

// fakeRun is a deterministic stand-in for a run of the scenario, the
// shrink's own callback: it ends with code when the plan holds every fault
// of culprit, else 0. It records every plan it was given.
type fakeRun struct {
	culprit string
	code    int
	// noVerdict gives, for a plan (by names), how many of its runs reach
	// no verdict before one does; -1 means never.
	noVerdict map[string]int
	// otherCode, when set, is the code of a plan holding some fault of
	// culprit but not all: a failure of another class.
	otherCode int
	plans     []string
	errs      map[string]int
}

func (f *fakeRun) run(_ context.Context, n int, plan []chaos.Fault) (int, error) {
	names := namesOf(plan)
	f.plans = append(f.plans, names)
	if left, ok := f.noVerdict[names]; ok && (left < 0 || f.errs[names] < left) {
		if f.errs == nil {
			f.errs = map[string]int{}
		}
		f.errs[names]++
		return 0, &herr.Error{Code: herr.EENV, Err: errors.New("port taken")}
	}
	all, some := true, false
	for _, r := range f.culprit {
		if strings.ContainsRune(names, r) {
			some = true
		} else {
			all = false
		}
	}
	switch {
	case all:
		return f.code, nil
	case some && f.otherCode != 0:
		return f.otherCode, nil
	}
	return 0, nil
}

func TestShrink(t *testing.T) {
	tests := []struct {
		name    string
		plan    string
		fake    fakeRun
		fails   int
		maxRuns int
		// want
		minimal   string
		isMinimal bool
		bounded   bool
		runs      int // 0: not checked
		noVerdict int
	}{
		// The brief's case: two faults together cause the failure, six
		// others are noise.
		{name: "two culprits among eight", plan: "ABCDEFGH", fake: fakeRun{culprit: "AC", code: 2}, fails: 2, maxRuns: 50,
			minimal: "AC", isMinimal: true},
		// One culprit is found by halving alone.
		{name: "one culprit among six", plan: "ABCDEF", fake: fakeRun{culprit: "E", code: 1}, fails: 1, maxRuns: 50,
			minimal: "E", isMinimal: true},
		// Every fault is needed: nothing smaller fails, and the plan is
		// 1-minimal once each fault was tried removed.
		{name: "all needed", plan: "ABC", fake: fakeRun{culprit: "ABC", code: 1}, fails: 1, maxRuns: 50,
			minimal: "ABC", isMinimal: true},
		// A plan of one fault is minimal without a run.
		{name: "one fault", plan: "A", fake: fakeRun{culprit: "A", code: 1}, fails: 1, maxRuns: 50,
			minimal: "A", isMinimal: true, runs: -1},
		// The bound stops it with the smallest failing plan so far.
		{name: "bounded", plan: "ABCDEFGH", fake: fakeRun{culprit: "AC", code: 2}, fails: 2, maxRuns: 3,
			minimal: "ABCD", bounded: true, runs: 3},
		// A failure of another class is not "still failing": a plan that
		// breaks an SLO is not shrunk into one that breaks reconciliation.
		{name: "other class does not count", plan: "ABCD", fake: fakeRun{culprit: "AB", code: 1, otherCode: 2}, fails: 1, maxRuns: 50,
			minimal: "AB", isMinimal: true},
		// A candidate with no verdict is run once more; the retry decides.
		{name: "no verdict then a verdict", plan: "ABCD", fake: fakeRun{culprit: "A", code: 1, noVerdict: map[string]int{"AB": 1}}, fails: 1, maxRuns: 50,
			minimal: "A", isMinimal: true},
		// A candidate with no verdict twice counts as not failing, and is
		// said so; the shrink goes on without it.
		{name: "no verdict twice", plan: "ABCD", fake: fakeRun{culprit: "A", code: 1, noVerdict: map[string]int{"AB": -1}}, fails: 1, maxRuns: 50,
			minimal: "A", isMinimal: true, noVerdict: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tt.fake
			var observed []ShrinkRun
			got, err := Shrink(context.Background(), faultsNamed(tt.plan), fake.run,
				ShrinkOptions{Fails: tt.fails, MaxRuns: tt.maxRuns, Observe: func(r ShrinkRun) { observed = append(observed, r) }})
			if err != nil {
				t.Fatal(err)
			}
			if g := namesOf(got.Plan); g != tt.minimal {
				t.Errorf("plan %s, want %s (runs: %v)", g, tt.minimal, fake.plans)
			}
			if got.Minimal != tt.isMinimal || got.Bounded != tt.bounded {
				t.Errorf("minimal %v bounded %v, want %v %v", got.Minimal, got.Bounded, tt.isMinimal, tt.bounded)
			}
			if got.NoVerdict != tt.noVerdict {
				t.Errorf("no verdict %d, want %d", got.NoVerdict, tt.noVerdict)
			}
			switch {
			case tt.runs > 0 && len(fake.plans) != tt.runs:
				t.Errorf("%d runs, want %d", len(fake.plans), tt.runs)
			case tt.runs < 0 && len(fake.plans) != 0:
				t.Errorf("%d runs, want none", len(fake.plans))
			}
			if len(fake.plans) > tt.maxRuns {
				t.Errorf("%d runs, above the bound %d", len(fake.plans), tt.maxRuns)
			}
			if len(got.Runs) != len(fake.plans) || len(observed) != len(fake.plans) {
				t.Errorf("%d runs recorded and %d observed, %d made", len(got.Runs), len(observed), len(fake.plans))
			}
			// Never the known failing plan, never the empty one, and a
			// candidate twice only as the retry of a run with no verdict.
			for i, p := range fake.plans {
				if p == tt.plan || p == "" {
					t.Errorf("run %d ran plan %q", i+1, p)
				}
				if i > 0 && slices.Contains(fake.plans[:i], p) && !got.Runs[i].Retry {
					t.Errorf("run %d ran %s again, not as a retry", i+1, p)
				}
			}
			if len(tt.fake.noVerdict) > 0 && !slices.ContainsFunc(got.Runs, func(r ShrinkRun) bool { return r.Retry }) {
				t.Errorf("no run was a retry: %+v", got.Runs)
			}
			// The answer still fails, by the fake's own rule.
			if code, _ := (&fakeRun{culprit: tt.fake.culprit, code: tt.fake.code}).run(context.Background(), 0, got.Plan); code != tt.fails {
				t.Errorf("the plan found ends with %d, not %d", code, tt.fails)
			}
		})
	}
}

// TestShrinkInterrupted returns what was found so far, and does not count
// the interrupted run's outcome.
func TestShrinkInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := &fakeRun{culprit: "C", code: 1}
	run := func(ctx context.Context, n int, plan []chaos.Fault) (int, error) {
		if n == 2 {
			cancel()
			return 0, ctx.Err()
		}
		return fake.run(ctx, n, plan)
	}
	got, err := Shrink(ctx, faultsNamed("ABCD"), run, ShrinkOptions{Fails: 1, MaxRuns: 50})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got == nil || got.Minimal || len(got.Runs) != 1 || namesOf(got.Plan) != "ABCD" {
		t.Fatalf("got %+v, want the original plan after one counted run, not minimal", got)
	}
}
