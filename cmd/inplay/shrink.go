package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/scenarios"
)

const shrinkHelp = `shrink re-runs the failed run whose --out folder is REPORT_DIR (its report.json,
scenario.yaml and plan.yaml) with subsets of its fault plan, and writes the
smallest plan that still fails as a scenario you can run again.

It delta-debugs the plan (ddmin): the halves, then the plans without one half,
then quarters, and so on down to single faults, keeping the first candidate
that still fails. Each candidate runs the same scenario, same seed, same load,
with its faults as an explicit list; its reports go to --out/run-NN. A
candidate "still fails" when it exits with the original run's code: 1 (an SLO
breached) or 2 (reconciliation failed); any other code does not. A candidate
that reaches no verdict (exit 4) is run once more, then counted as not failing,
and the summary says so. The original plan is known to fail and is not run
again, nor is the empty plan. --max-runs bounds the runs, retries included.

It writes --out/minimal.yaml: the original scenario, with faults replaced by the
smallest failing plan and a header saying where it came from (the report, the
seed, the runs, the failing code), and prints that plan, one fault a line, and
the command that runs it again.

Refused (exit 3): a folder without report.json, scenario.yaml and plan.yaml; a
run that passed; a run whose measurement was invalid (exit 5: the generator
fell behind or a fault did not land, which no fault's removal explains); a run
with no faults.

Exit codes: 0 minimal.yaml written (the summary says whether the plan is
minimal or --max-runs stopped the shrink first); 3 refused; 4 no candidate
reached a verdict, so nothing was learned; 130 interrupted (minimal.yaml holds
the smallest failing plan found so far).`

// shrinkFlags are the flags of shrink, and of run --shrink.
type shrinkFlags struct {
	enabled bool // run --shrink
	out     string
	maxRuns int
}

func (s *shrinkFlags) register(f *pflag.FlagSet, forRun bool) {
	if forRun {
		f.BoolVar(&s.enabled, "shrink", false, "after a run that fails (exit 1 or 2) with faults, shrink its plan into OUT/shrink (see inplay shrink --help)")
		f.IntVar(&s.maxRuns, "shrink-max-runs", scenarios.DefaultShrinkRuns, "with --shrink: the most runs the shrink makes, retries included")
		return
	}
	f.StringVar(&s.out, "out", "", "folder for the candidates' runs and minimal.yaml (default REPORT_DIR/shrink)")
	f.IntVar(&s.maxRuns, "max-runs", scenarios.DefaultShrinkRuns, "the most runs the shrink makes, retries included")
}

func newShrinkCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		sf      shrinkFlags
		verbose bool
		so      = stack.OptionsFromEnv()
	)
	cmd := &cobra.Command{
		Use:   "shrink REPORT_DIR",
		Short: "Find the smallest part of a failed run's fault plan that still fails",
		Long:  shrinkHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sf.maxRuns < 1 {
				return herr.WithExit(exitInput, fmt.Errorf("--max-runs must be at least 1, not %d", sf.maxRuns))
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			so.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			code, err := shrink(cmd.Context(), stdout, stderr, args[0], sf, scenarios.Options{Stack: so, Logger: so.Logger})
			if code != exitPass {
				return herr.WithExit(code, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	sf.register(f, false)
	f.StringVar(&so.RedisURL, "redis-url", so.RedisURL, "Redis to use, e.g. redis://127.0.0.1:6379/0 (env INPLAY_REDIS_URL)")
	f.StringVar(&so.PostgresURL, "postgres-url", so.PostgresURL, "PostgreSQL admin URL; each run creates its own database (env INPLAY_POSTGRES_URL)")
	f.BoolVar(&so.NoContainers, "no-containers", so.NoContainers, "never start testcontainers, even when a Docker engine answers")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	return cmd
}

// shrink shrinks the run in dir, prints its progress to stderr and its
// summary to stdout, and returns the exit code with the error to print.
func shrink(ctx context.Context, stdout, stderr io.Writer, dir string, sf shrinkFlags, run scenarios.Options) (int, error) {
	res, err := scenarios.ShrinkDir(ctx, dir, scenarios.ShrinkDirOptions{
		Out: sf.out, MaxRuns: sf.maxRuns, Run: run,
		Observe: func(r scenarios.ShrinkRun) {
			outcome := "not failing"
			switch {
			case r.Err != nil:
				outcome = "no verdict: " + r.Err.Error()
			case r.Fails:
				outcome = "still failing"
			}
			fmt.Fprintf(stderr, "shrink: run-%02d [%s]: exit %d, %s\n", r.N, strings.Join(r.Faults, ", "), r.ExitCode, outcome)
		},
	})
	switch {
	case herr.CodeOf(err) == herr.EINPUT:
		return exitInput, err
	case res == nil:
		return exitEnv, err
	}
	if res.MinimalPath != "" {
		printShrunk(stdout, res)
	}
	switch {
	case ctx.Err() != nil:
		return exitInterrupted, errors.New("shrink interrupted: minimal.yaml holds the smallest failing plan found so far")
	case err != nil:
		return exitEnv, err
	case noVerdictAtAll(res.Shrunk):
		return exitEnv, fmt.Errorf("no candidate reached a verdict in %d runs: the environment, not the plan, decided them", len(res.Runs))
	}
	return exitPass, nil
}

func noVerdictAtAll(s *scenarios.Shrunk) bool {
	if len(s.Runs) == 0 {
		return false
	}
	for _, r := range s.Runs {
		if r.Err == nil {
			return false
		}
	}
	return true
}

func printShrunk(w io.Writer, res *scenarios.ShrinkDirResult) {
	code := res.Original.ExitCode
	fmt.Fprintf(w, "\nshrink: %d faults → %d in %d runs, still failing with exit %d (%s)", len(res.OriginalPlan), len(res.Plan), len(res.Runs), code, scenarios.ExitMeaning(code))
	switch {
	case res.Bounded:
		fmt.Fprintf(w, "; --max-runs stopped it before the plan was minimal\n")
	case res.Minimal:
		fmt.Fprintf(w, "; minimal\n")
	default:
		fmt.Fprintf(w, "; not minimal\n")
	}
	if res.NoVerdict > 0 {
		fmt.Fprintf(w, "%d candidates reached no verdict, twice each, and counted as not failing\n", res.NoVerdict)
	}
	for _, f := range res.Plan {
		fmt.Fprintf(w, "  %s\n", scenarios.FaultLine(f))
	}
	again := filepath.Join(filepath.Dir(res.MinimalPath), "minimal")
	fmt.Fprintf(w, "scenario: %s\nrun it again: inplay run %s --out %s\n", res.MinimalPath, res.MinimalPath, again)
}

// shrinkAfterRun is run --shrink: after a run that failed in a way a fault
// can cause, shrink it into OUT/shrink. The run's own exit code stays the
// command's, unless the shrink is interrupted.
func shrinkAfterRun(ctx context.Context, stdout, stderr io.Writer, out string, code int, sf shrinkFlags, run scenarios.Options) int {
	if !sf.enabled || (code != exitSLO && code != exitRecon) {
		return code
	}
	sf.out = filepath.Join(out, "shrink")
	fmt.Fprintf(stderr, "shrink: shrinking the plan into %s\n", sf.out)
	scode, err := shrink(ctx, stdout, stderr, out, sf, run)
	if err != nil {
		fmt.Fprintln(stderr, "inplay: shrink:", err)
	}
	if scode == exitInterrupted {
		return scode
	}
	return code
}
