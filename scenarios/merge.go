package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/reports"
)

// MergeResult is what MergeDirs made.
type MergeResult struct {
	Report *reports.Report
	Files  []string // every file written to the output folder
}

// MergeDirs merges the run folders of the shards of one run (inplay run
// --shard i/n) into one report in out (docs/scale-out.md): it reads each
// folder's report.json, scenario.yaml, journal.jsonl and ledger.jsonl,
// evaluates them together with reports.MergeShards, writes the reports to
// out, and copies each shard's journal there as journal-shard-I.jsonl.
// Folders that are not the shards of one run, or that lack a file, are bad
// input (*herr.Error, exit 3); a folder that cannot be written is an
// *herr.Error.
func MergeDirs(dirs []string, out string) (*MergeResult, error) {
	parts := make([]reports.Part, 0, len(dirs))
	var problems []string
	for _, dir := range dirs {
		p, err := readShard(dir)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		parts = append(parts, p)
	}
	if len(problems) > 0 {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "inplay merge", Problems: problems}
	}
	rep, err := reports.MergeShards(parts)
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "inplay merge", Problems: []string{err.Error()}}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, herr.Envf("merge: %w", err)
	}
	files, err := reports.WriteAll(out, rep)
	if err != nil {
		return nil, herr.Envf("merge: write reports: %w", err)
	}
	for i, dir := range dirs {
		idx := parts[i].Input.Shard.Index
		dst := filepath.Join(out, fmt.Sprintf("journal-shard-%d.jsonl", idx))
		if err := copyFile(filepath.Join(dir, "journal.jsonl"), dst); err != nil {
			return nil, herr.Envf("merge: %w", err)
		}
		files = append(files, dst)
	}
	return &MergeResult{Report: rep, Files: files}, nil
}

// readShard reads one shard's folder as a reports.Part.
func readShard(dir string) (reports.Part, error) {
	var rep reports.Report
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		return reports.Part{}, fmt.Errorf("%s: %w", dir, err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return reports.Part{}, fmt.Errorf("%s: report.json: %w", dir, err)
	}
	if rep.Run.Shard == nil {
		return reports.Part{}, fmt.Errorf("%s: the run was not a shard (run.shard is absent in report.json: run it with --shard i/n)", dir)
	}
	src := filepath.Join(dir, ScenarioFile)
	data, err := os.ReadFile(src)
	if err != nil {
		return reports.Part{}, fmt.Errorf("%s: %w", dir, err)
	}
	sc, err := Parse(src, data)
	if err != nil {
		return reports.Part{}, fmt.Errorf("%s: %w", dir, err)
	}
	journal := filepath.Join(dir, "journal.jsonl")
	if _, err := os.Stat(journal); err != nil {
		return reports.Part{}, fmt.Errorf("%s: %w", dir, err)
	}
	var ledger *reports.Ledger
	if sc.Reconcile || len(sc.Objectives) > 0 {
		if ledger, err = reports.OpenJSONLLedger(filepath.Join(dir, "ledger.jsonl")); err != nil {
			return reports.Part{}, fmt.Errorf("%s: %w", dir, err)
		}
	}
	drainTimedOut := false
	for _, p := range rep.Problems {
		if p == reports.ProblemDrainTimedOut {
			drainTimedOut = true
		}
	}
	in := reports.Input{
		ScenarioName:   rep.Scenario.Name,
		Seed:           rep.Scenario.Seed,
		RunID:          rep.Run.ID,
		StartedAt:      rep.Run.StartedAt,
		Wall:           time.Duration(rep.Run.WallS * float64(time.Second)),
		Speed:          rep.Run.Speed,
		Headroom:       rep.Run.Headroom,
		CaptureSHA256:  rep.Run.CaptureSHA256,
		StackSource:    rep.Run.StackSource,
		JournalFrom:    reports.JournalFile(journal),
		Ledger:         ledger,
		Faults:         rep.Faults,
		Objectives:     sc.Objectives,
		Reconcile:      sc.Reconcile,
		MaxScheduleLag: sc.MaxScheduleLag,
		DrainTimedOut:  drainTimedOut,
		Interrupted:    rep.Interrupted,
		Planned:        rep.Load.Planned,
		Shard:          rep.Run.Shard,
		InPlayDelay:    sc.InPlayDelay,
	}
	return reports.Part{Input: in, Report: &rep}, nil
}

// copyFile copies src to dst.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}
