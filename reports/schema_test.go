package reports

import (
	"slices"

	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// reportSchema compiles docs/report.schema.json, with formats asserted.
func reportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "docs", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

// reportDoc renders r as report.json and decodes it as the validator reads
// JSON.
func reportDoc(t *testing.T, r *Report) any {
	t.Helper()
	var buf bytes.Buffer
	if err := (jsonRenderer{}).Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestReportsValidateAgainstTheSchema: every report.json this package
// renders, golden or reached by a verdict, is what docs/report.schema.json
// describes.
func TestReportsValidateAgainstTheSchema(t *testing.T) {
	sch := reportSchema(t)
	shard := func(i int) Part {
		in := goodInput()
		in.Shard = &ShardInfo{Index: i, Count: 2}
		return Part{Input: in, Report: Evaluate(in)}
	}
	merged, err := MergeShards([]Part{shard(0), shard(1)})
	if err != nil {
		t.Fatal(err)
	}
	interrupted := goodInput()
	interrupted.Interrupted, interrupted.Planned = true, 1000
	quotes := Input{Wall: 10 * time.Second, Journal: steadyFeed(), Quotes: observe(10_100*ms, follows(2000*ms, 4000*ms)),
		Objectives: []Objective{{Metric: MetricOddsStaleness, Stat: "p99", Limit: 500, Phase: PhaseFault}}}
	reports := []struct {
		name string
		r    *Report
	}{
		{"the golden report", goldenReport()},                                                     // every part of a report filled in
		{"a reconciled run", Evaluate(goodInput())},                                               // built by Evaluate, with a timeline
		{"an interrupted run", Evaluate(interrupted)},                                             // verdict interrupted, exit 130
		{"a run with quote subscribers", Evaluate(quotes)},                                        // quote figures in the timeline
		{"a merge of two shards", merged},                                                         // run.shards, shard-named faults
		{"a run another tool made", EvaluateExternal(External{Tool: "k6", Load: Load{Sent: 10}})}, // no timeline, no capture
	}
	for _, tc := range reports {
		t.Run(tc.name, func(t *testing.T) {
			if err := sch.Validate(reportDoc(t, tc.r)); err != nil {
				t.Fatalf("%v", err)
			}
		})
	}
	t.Run("the golden file", func(t *testing.T) {
		f, err := os.Open(filepath.Join("testdata", "golden.report.json"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSchemaCatchesWhatItShould: a misspelt or mistyped field fails, and
// the fields other work adds within v1 (an SLO's budget, an invariant's
// status, a fault:NAME phase) pass.
func TestSchemaCatchesWhatItShould(t *testing.T) {
	sch := reportSchema(t)
	edit := func(f func(doc map[string]any)) any {
		b, err := json.Marshal(reportDoc(t, goldenReport()))
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		b, _ = json.Marshal(doc)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	entry := func(doc map[string]any, list string, i int) map[string]any {
		return doc[list].([]any)[i].(map[string]any)
	}
	sad := []struct {
		name string
		f    func(doc map[string]any)
		want string // in the error
	}{
		{"a misspelt top-level field", func(d map[string]any) { d["verdcit"] = "pass" }, "verdcit"},                           // typo beside the real one
		{"a missing required field", func(d map[string]any) { delete(d, "exit_code") }, "exit_code"},                          // a contract field
		{"an unknown verdict", func(d map[string]any) { d["verdict"] = "passed" }, "verdict"},                                 // closed set
		{"a misspelt SLO field", func(d map[string]any) { entry(d, "slos", 0)["observerd"] = 1.0 }, "observerd"},              // typo in an entry
		{"an unknown phase", func(d map[string]any) { entry(d, "slos", 0)["phase"] = "faults" }, "phase"},                     // not all|steady|fault|recovery|fault:NAME
		{"a misspelt invariant field", func(d map[string]any) { entry(d, "invariants", 0)["witness"] = []any{} }, "witness"},  // singular for plural
		{"an unknown invariant status", func(d map[string]any) { entry(d, "invariants", 0)["status"] = "skipped" }, "status"}, // only pass|fail|not_checked
		{"a misspelt fault field", func(d map[string]any) { entry(d, "faults", 0)["healed_s"] = 3.0 }, "healed_s"},            // typo in an entry
		{"a string for a number", func(d map[string]any) { d["run"].(map[string]any)["wall_s"] = "60" }, "wall_s"},            // re-typed
		{"a bad start time", func(d map[string]any) { d["run"].(map[string]any)["started_at"] = "yesterday" }, "started_at"},  // date-time format
		{"a misspelt bucket field", func(d map[string]any) {
			d["timeline"].(map[string]any)["buckets"].([]any)[0].(map[string]any)["sends"] = 1.0
		}, "sends"},
	}
	for _, tc := range sad {
		t.Run(tc.name, func(t *testing.T) {
			err := sch.Validate(edit(tc.f))
			if err == nil {
				t.Fatal("the schema accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the error does not name %q: %v", tc.want, err)
			}
		})
	}
	happy := []struct {
		name string
		f    func(doc map[string]any)
	}{
		{"an SLO with a budget", func(d map[string]any) {
			entry(d, "slos", 0)["budget"] = map[string]any{"allowed_pct": 1.0, "used_pct": 0.4, "burn": 0.4}
		}},
		{"an invariant not checked", func(d map[string]any) { entry(d, "invariants", 0)["status"] = "not_checked" }},
		{"a fault window's phase", func(d map[string]any) { entry(d, "slos", 0)["phase"] = "fault:redis-slow" }},
		{"a report before the timeline", func(d map[string]any) { delete(d, "timeline"); delete(d, "interrupted") }},
	}
	for _, tc := range happy {
		t.Run(tc.name, func(t *testing.T) {
			if err := sch.Validate(edit(tc.f)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// report.json's exit_code takes the verdict rows of herr's exit-code table,
// the one the CLI exits with: every code but bad input (3) and an unusable
// environment (4), which reach no verdict and so no report.
func TestSchemaExitCodesAreTheTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "report.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties struct {
			ExitCode struct {
				Enum []int `json:"enum"`
			} `json:"exit_code"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, r := range herr.Table() {
		if r.Code != herr.EINPUT && r.Code != herr.EENV {
			want = append(want, r.Exit)
		}
	}
	if !slices.Equal(s.Properties.ExitCode.Enum, want) {
		t.Errorf("schema exit_code enum %v, the table's verdicts %v", s.Properties.ExitCode.Enum, want)
	}
}
