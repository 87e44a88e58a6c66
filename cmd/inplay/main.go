// Command inplay replays recorded in-play betting traffic through a platform,
// injects faults on the same clock, and gives one verdict: did the SLOs hold,
// and does the ledger reconcile. It only parses flags and calls packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/reports"
	"github.com/inplaylabs/inplay/scenarios"
)

// Exit codes: herr's table, the contract in DESIGN.md.
const (
	exitPass    = herr.ExitPass
	exitSLO     = herr.ExitSLO
	exitRecon   = herr.ExitReconcile
	exitInput   = herr.ExitInput
	exitEnv     = herr.ExitEnv
	exitInvalid = herr.ExitInvalid
	// exitInterrupted: a signal (SIGINT, SIGTERM) stopped the command; a
	// run still healed, cleaned up and reported what it had measured.
	exitInterrupted = herr.ExitInterrupted
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks the command to stop cleanly (a run heals its
	// faults, stops the platform and reports what it measured); a second
	// one ends the process at once, the default way.
	go func() {
		<-ctx.Done()
		stop()
	}()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitPass
	}
	// A command's own errors are herr's, carrying their exit code; a
	// verdict's (Verdict) says nothing the report does not.
	var he *herr.Error
	if errors.As(err, &he) {
		if !herr.Silent(err) {
			fmt.Fprintln(stderr, "inplay:", err)
		}
		return herr.ExitOf(err)
	}
	// cobra's own errors: unknown flags, wrong argument counts.
	fmt.Fprintln(stderr, "inplay:", err)
	return exitInput
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "inplay",
		Short: "Load-replay and chaos test harness for in-play betting platforms",
		Long: `inplay replays recorded peak in-play traffic, plus headroom, through a betting
platform, injects faults on the same clock, and gives one verdict: did the SLOs
hold (` + metricNames() + `),
and does the ledger reconcile end to end.

` + herr.Help(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(stdout, stderr), newValidateCmd(stdout), newPlatformCmd(stderr), newShrinkCmd(stdout, stderr))
	capture := &cobra.Command{
		Use:   "capture",
		Short: "Make, import, record and inspect capture files (format inplay/v1)",
	}
	for _, sub := range captureCommands {
		capture.AddCommand(sub(stdout, stderr))
	}
	root.AddCommand(capture)
	for _, c := range extraCommands {
		root.AddCommand(c(stdout, stderr))
	}
	return root
}

// commandFunc builds one subcommand with the CLI's output streams.
type commandFunc func(stdout, stderr io.Writer) *cobra.Command

// captureCommands are the subcommands of `inplay capture`, and
// extraCommands further top-level ones; each file that defines one adds it
// here from an init function, so commands are added without editing this
// file.
var captureCommands, extraCommands []commandFunc

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		out     string
		keep    bool
		verbose bool
		so      = stack.OptionsFromEnv()
		sf      shrinkFlags
		// shardFlag is --shard, "i/n".
		shardFlag string
	)
	var noProgress bool // no progress line (progress.go)
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml",
		Short: "Run a scenario end to end and write its reports",
		Long: `run loads SCENARIO.yaml (strictly: every problem is reported at once, exit 3),
brings up Redis and PostgreSQL (the URLs, else local services on 127.0.0.1,
else testcontainers; none: exit 4), puts a toxiproxy link on every hop, starts
the reference platform, replays the load open loop while the fault plan runs on
the same clock, drains settlement, and writes report.json, junit.xml,
summary.md, journal.jsonl and ledger.jsonl to --out. It prints a summary and
exits with the verdict's code.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarios.LoadFile(args[0])
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			if out == "" {
				out = filepath.Join("out", sc.Name)
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelInfo
			}
			so.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
			shard, err := parseShard(shardFlag)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			res, err := scenarios.Run(cmd.Context(), sc, scenarios.Options{Shard: shard,
				OutDir: out, Stack: so, Keep: keep, Logger: so.Logger,
				Progress: newProgress(stderr, noProgress),
			})
			if err != nil {
				if cmd.Context().Err() != nil {
					return herr.WithExit(exitInterrupted, fmt.Errorf("interrupted before the replay started, so nothing was measured: %w", err))
				}
				return herr.WithExit(exitCodeOf(err), err)
			}
			if summary, ok := reports.LookupRenderer("summary"); ok {
				if err := summary.Render(stdout, res.Report); err != nil {
					return herr.WithExit(exitEnv, err)
				}
			}
			fmt.Fprintf(stdout, "\nreport: %s (with junit.xml, summary.md, report.html, journal.jsonl, ledger.jsonl and platform.log beside it)\n", filepath.Join(out, "report.json"))
			if keep {
				fmt.Fprintf(stdout, "kept: database %s, redis prefix %s\n", res.Run.DatabaseName, res.Run.KeyPrefix)
				fmt.Fprintf(stdout, "re-check: inplay reconcile --postgres-url %s --redis-url %s --redis-prefix %s --journal %s\n",
					redactedURL(res.Run.DatabaseURL), redactedURL(res.Run.RedisURL), res.Run.KeyPrefix, out)
			}
			code := shrinkAfterRun(cmd.Context(), stdout, stderr, out, res.Report.ExitCode, sf, scenarios.Options{Stack: so, Logger: so.Logger})
			if code != exitPass {
				return herr.Verdict(code)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "folder for the reports (default out/<scenario name>)")
	f.BoolVar(&keep, "keep", false, "keep the run's database and Redis keys for inspection")
	f.StringVar(&shardFlag, "shard", "", "replay shard i of n (\"i/n\", 0 <= i < n) of the bettors; merge the shards' folders with inplay merge (docs/scale-out.md)")
	f.StringVar(&so.RedisURL, "redis-url", so.RedisURL, "Redis to use, e.g. redis://127.0.0.1:6379/0 (env INPLAY_REDIS_URL)")
	f.StringVar(&so.PostgresURL, "postgres-url", so.PostgresURL, "PostgreSQL admin URL; each run creates its own database (env INPLAY_POSTGRES_URL)")
	f.BoolVar(&so.NoContainers, "no-containers", so.NoContainers, "never start testcontainers, even when a Docker engine answers")
	f.BoolVarP(&verbose, "verbose", "v", false, "log progress to stderr")
	f.BoolVar(&noProgress, "no-progress", false, "no progress line (by default: a live line on a terminal, else a plain line every 5 s, on stderr)")
	sf.register(f, true)
	return cmd
}

func newValidateCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "validate SCENARIO.yaml",
		Short: "Check a scenario without running it (exit 3 lists every problem)",
		Long:  "validate loads SCENARIO.yaml as run would, reports every problem at once (exit 3), and\nsays what it holds.\n\n" + reports.ObjectivesHelp(),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarios.LoadFile(args[0])
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			faults := fmt.Sprintf("%d faults", len(sc.Faults))
			if sc.Random != nil {
				// Drawn when a run knows what it can reach.
				faults += fmt.Sprintf(" and %d random, seed %d", sc.Random.Count, sc.Random.Seed)
			}
			fmt.Fprintf(stdout, "%s: ok (%s, %d objectives)\n", sc.Name, faults, len(sc.Objectives))
			return nil
		},
	}
}

// metricNames lists the metrics an objective can name, from reports' table.
func metricNames() string {
	var names []string
	for _, m := range reports.Metrics() {
		names = append(names, m.Name)
	}
	return strings.Join(names, ", ")
}

// exitCodeOf maps a run that produced no verdict to its exit code: bad
// input's, or the environment's for unavailable services, taken ports,
// failures mid-run and anything unexpected (herr.ExitOf).
func exitCodeOf(err error) int { return herr.ExitOf(err) }
