package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/reports"
)

// MinimalFile is the scenario a shrink writes: the original with its
// faults replaced by the smallest plan found.
const MinimalFile = "minimal.yaml"

// ShrinkDirOptions configure ShrinkDir.
type ShrinkDirOptions struct {
	// Out is where each candidate's run and minimal.yaml go; empty means
	// REPORT_DIR/shrink.
	Out string
	// MaxRuns bounds the runs (ShrinkOptions.MaxRuns).
	MaxRuns int
	// Run is the template of every candidate's run (the stack, the
	// platform binary, the logger); its OutDir is set for each.
	Run Options
	// Observe is told of every run as it ends.
	Observe func(ShrinkRun)
}

// ShrinkDirResult is a finished (or interrupted) shrink of a report dir.
type ShrinkDirResult struct {
	*Shrunk
	Original     *reports.Report
	OriginalPlan []chaos.Fault
	// MinimalPath is the minimal.yaml written; empty when none was.
	MinimalPath string
}

// shrinkable says why a run's exit code can or cannot be shrunk: only a
// failure a fault can cause can be traced to a fault.
func shrinkable(code int) error {
	switch code {
	case 1, 2:
		return nil
	case 0:
		return errors.New("the run passed (exit 0): there is no failure to shrink")
	case 5:
		return errors.New("the run's measurement was invalid (exit 5): the generator fell behind or a fault did not land, " +
			"which says the run did not test what it claims, not that the platform failed; fix that and run again")
	}
	return fmt.Errorf("the run ended with exit %d, which is not a failure a fault can cause (only 1, an SLO breached, and 2, reconciliation failed, are)", code)
}

// ShrinkDir re-runs the failed run in dir (its report.json, scenario.yaml
// and plan.yaml) with subsets of its fault plan (Shrink), each candidate's
// run in Out/run-NN, and writes Out/minimal.yaml: the original scenario with
// the smallest plan found that fails the same way.
//
// It refuses, with an *herr.Error, a dir that cannot be re-run, a run that
// passed or whose failure no fault could cause (only exit 1 and 2 are
// shrunk), and a run with no faults. When ctx ends it still writes what it
// found so far, and returns ctx's error with the result.
func ShrinkDir(ctx context.Context, dir string, opts ShrinkDirOptions) (*ShrinkDirResult, error) {
	refuse := func(format string, args ...any) error {
		return &herr.Error{Code: herr.EINPUT, Source: dir, Problems: []string{fmt.Sprintf(format, args...)}}
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return nil, refuse("%v (inplay shrink takes the --out folder of a run)", err)
	}
	var rep reports.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, refuse("report.json: %v", err)
	}
	if err := shrinkable(rep.ExitCode); err != nil {
		return nil, refuse("%v", err)
	}
	sc, plan, err := ReadRerun(dir)
	if err != nil {
		if herr.CodeOf(err) == herr.EINPUT {
			return nil, err
		}
		return nil, refuse("%v", err)
	}
	if len(plan) == 0 {
		return nil, refuse("the run had no faults: its failure is not a fault's, and there is nothing to shrink")
	}
	out := opts.Out
	if out == "" {
		out = filepath.Join(dir, "shrink")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "--out", Problems: []string{err.Error()}}
	}
	runOne := func(ctx context.Context, n int, faults []chaos.Fault) (int, error) {
		cand := *sc
		cand.Faults, cand.Random = faults, nil
		o := opts.Run
		o.OutDir = filepath.Join(out, fmt.Sprintf("run-%02d", n))
		res, err := Run(ctx, &cand, o)
		if err != nil {
			return exitEnvCode, err
		}
		return res.Report.ExitCode, nil
	}
	shrunk, err := Shrink(ctx, plan, runOne, ShrinkOptions{Fails: rep.ExitCode, MaxRuns: opts.MaxRuns, Observe: opts.Observe})
	res := &ShrinkDirResult{Shrunk: shrunk, Original: &rep, OriginalPlan: plan}
	path := filepath.Join(out, MinimalFile)
	text, werr := minimalScenario(sc, dir, &rep, plan, shrunk, err != nil)
	if werr == nil {
		werr = os.WriteFile(path, text, 0o644)
	}
	if werr != nil {
		return res, errors.Join(err, &herr.Error{Code: herr.EENV, Err: fmt.Errorf("write %s: %w", path, werr)})
	}
	res.MinimalPath = path
	return res, err
}

// ExitMeaning is a failing exit code in words.
func ExitMeaning(code int) string {
	switch code {
	case 1:
		return "an SLO was breached"
	case 2:
		return "reconciliation failed"
	}
	return "exit " + strconv.Itoa(code)
}

// minimalScenario is the original scenario with faults replaced by the
// shrunk plan, under a header that says where it came from.
func minimalScenario(sc *Scenario, dir string, rep *reports.Report, plan []chaos.Fault, s *Shrunk, interrupted bool) ([]byte, error) {
	// sc.CapturePath is absolute (ReadRerun), and minimal.yaml is not in
	// the folder a relative one was relative to.
	body, err := rewriteFaults(sc.Source, s.Plan, sc.CapturePath)
	if err != nil {
		return nil, err
	}
	var h strings.Builder
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(&h, "# Shrunk by `inplay shrink` from %s\n", filepath.Join(abs, "report.json"))
	fmt.Fprintf(&h, "# (run %s of scenario %q, seed %d", rep.Run.ID, rep.Scenario.Name, sc.Seed)
	if sc.Random != nil {
		fmt.Fprintf(&h, ", random plan seed %d", sc.Random.Seed)
	}
	fmt.Fprintf(&h, ", %s).\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&h, "# The original plan had %d faults and failed with exit %d (%s). This plan has %d,\n",
		len(plan), rep.ExitCode, ExitMeaning(rep.ExitCode), len(s.Plan))
	fmt.Fprintf(&h, "# the smallest of %d runs that still failed with exit %d. ", len(s.Runs), rep.ExitCode)
	switch {
	case interrupted:
		h.WriteString("The shrink was interrupted:\n# it is not minimal.\n")
	case s.Minimal && len(s.Plan) == 1:
		h.WriteString("It is minimal: one fault\n# (the plan with none is never run: a failure without faults is not a fault's).\n")
	case s.Minimal && len(s.Plan) == len(plan):
		h.WriteString("No smaller plan failed:\n# removing any one fault made the run not fail.\n")
	case s.Minimal:
		h.WriteString("It is 1-minimal:\n# removing any one of its faults made the run not fail.\n")
	default:
		h.WriteString("--max-runs stopped the shrink\n# before it was minimal.\n")
	}
	if s.NoVerdict > 0 {
		fmt.Fprintf(&h, "# %d candidates reached no verdict, twice each, and counted as not failing.\n", s.NoVerdict)
	}
	for _, r := range s.Runs {
		outcome := "not failing"
		switch {
		case r.Err != nil:
			outcome = "no verdict: " + firstLine(r.Err.Error())
		case r.Fails:
			outcome = "still failing"
		}
		fmt.Fprintf(&h, "#   run-%02d: exit %d, %s: %s\n", r.N, r.ExitCode, outcome, strings.Join(r.Faults, ", "))
	}
	return append([]byte(h.String()), body...), nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// rewriteFaults returns the scenario file src with its top-level faults
// key replaced by plan, as an explicit list, and, when capture is set, its
// load.capture replaced by that path. Everything else, comments included,
// stays as written. The result is parsed back and checked.
func rewriteFaults(src []byte, plan []chaos.Fault, capture string) ([]byte, error) {
	file, err := parser.ParseBytes(src, parser.ParseComments)
	if err != nil || len(file.Docs) != 1 {
		return nil, fmt.Errorf("the scenario no longer parses: %v", err)
	}
	top := mappingValues(unwrap(file.Docs[0].Body))
	if top == nil {
		return nil, errors.New("the scenario is not a mapping")
	}
	lines := strings.SplitAfter(string(src), "\n")
	if capture != "" {
		if err := replaceCapture(lines, top, capture); err != nil {
			return nil, err
		}
	}
	var block strings.Builder
	block.WriteString("faults:\n")
	for _, f := range plan {
		b, err := yaml.MarshalWithOptions(faultYAML(f), yaml.Flow(true))
		if err != nil {
			return nil, err
		}
		block.WriteString("  - ")
		block.Write(b)
	}
	if len(plan) == 0 {
		block.Reset()
		block.WriteString("faults: []\n")
	}
	start, end := -1, len(lines) // the faults key's lines, [start, end)
	for i, mv := range top {
		if mv.Key.GetToken().Value != "faults" {
			continue
		}
		if line(mv.Key) < 1 || mv.Key.GetToken().Position.Column != 1 {
			return nil, errors.New("the scenario's faults key is not at the start of a line")
		}
		start = line(mv.Key) - 1
		if i+1 < len(top) {
			end = line(top[i+1].Key) - 1
		}
		// Comments and blank lines before the next key are the next
		// key's, not the faults'.
		for end > start+1 {
			t := strings.TrimSpace(lines[end-1])
			if t != "" && !strings.HasPrefix(t, "#") {
				break
			}
			end--
		}
	}
	var out strings.Builder
	if start < 0 {
		out.WriteString(strings.Join(lines, ""))
		if out.Len() > 0 && !strings.HasSuffix(out.String(), "\n") {
			out.WriteString("\n")
		}
		out.WriteString(block.String())
	} else {
		out.WriteString(strings.Join(lines[:start], ""))
		out.WriteString(block.String())
		out.WriteString(strings.Join(lines[end:], ""))
	}
	// Read it back: it must load, and hold exactly the plan.
	sc, err := Parse(MinimalFile, []byte(out.String()))
	if err != nil {
		return nil, fmt.Errorf("the rewritten scenario does not load: %w", err)
	}
	if sc.Random != nil || len(sc.Faults) != len(plan) {
		return nil, fmt.Errorf("the rewritten scenario has %d faults, not the %d of the plan", len(sc.Faults), len(plan))
	}
	for i, f := range sc.Faults {
		if p := plan[i]; f.Name != p.Name || f.Kind != p.Kind || f.Target != p.Target || f.At != p.At || f.For != p.For {
			return nil, fmt.Errorf("the rewritten scenario's fault %d is %+v, not %+v", i, f, p)
		}
	}
	if capture != "" && sc.CapturePath != capture {
		return nil, fmt.Errorf("the rewritten scenario's capture is %q, not %q", sc.CapturePath, capture)
	}
	return []byte(out.String()), nil
}

// replaceCapture writes capture, quoted, in place of load.capture's value
// in lines, since the scenario's own path may be relative to a folder the
// minimal scenario is not in.
func replaceCapture(lines []string, top []*ast.MappingValueNode, capture string) error {
	for _, mv := range top {
		if mv.Key.GetToken().Value != "load" {
			continue
		}
		for _, lv := range mappingValues(unwrap(mv.Value)) {
			if lv.Key.GetToken().Value != "capture" {
				continue
			}
			tok := unwrap(lv.Value).GetToken()
			if tok == nil || tok.Position == nil || tok.Position.Line < 1 || tok.Position.Line > len(lines) {
				return errors.New("cannot find load.capture's value in the scenario")
			}
			l := lines[tok.Position.Line-1]
			from := tok.Position.Column - 1
			if from < 0 || from >= len(l) {
				return errors.New("cannot find load.capture's value in the scenario")
			}
			to := scalarEnd(l, from)
			lines[tok.Position.Line-1] = l[:from] + strconv.Quote(capture) + l[to:]
			return nil
		}
	}
	return errors.New("the scenario has no load.capture to point at the capture")
}

// scalarEnd is where the YAML scalar starting at l[from] ends: after its
// closing quote, or before a flow delimiter, a comment or the line's end.
func scalarEnd(l string, from int) int {
	switch q := l[from]; q {
	case '"', '\'':
		for i := from + 1; i < len(l); i++ {
			if l[i] == '\\' && q == '"' {
				i++
				continue
			}
			if l[i] == q {
				return i + 1
			}
		}
		return len(strings.TrimRight(l, "\r\n"))
	}
	end := len(strings.TrimRight(l, "\r\n"))
	for i := from; i < end; i++ {
		if l[i] == ',' || l[i] == '}' || (l[i] == '#' && i > 0 && l[i-1] == ' ') {
			return len(strings.TrimRight(l[:i], " "))
		}
	}
	return len(strings.TrimRight(l[:end], " "))
}

// FaultLine is f as one line of the scenario language, as minimal.yaml
// holds it: {name: ..., at: ..., for: ..., target: ..., kind: ..., params: {...}}.
func FaultLine(f chaos.Fault) string {
	b, err := yaml.MarshalWithOptions(faultYAML(f), yaml.Flow(true))
	if err != nil {
		return fmt.Sprintf("%s: %s on %s at %s for %s %v", f.Name, f.Kind, f.Target, f.At, f.For, f.Params)
	}
	return strings.TrimSpace(string(b))
}
