package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay/k6"
	"github.com/inplaylabs/inplay/reports"
	"github.com/inplaylabs/inplay/scenarios"
)

func init() { extraCommands = append(extraCommands, newK6Cmd) }

func newK6Cmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k6",
		Short: "Export a scenario as a k6 script, and judge k6's results by the scenario's SLOs",
		Long: `k6 interop without k6 inside inplay: export writes a script that k6 (or
k6-operator) runs unchanged, and import reads what k6 --out json wrote and
gives the verdict inplay gives. See docs/k6.md.`,
	}
	cmd.AddCommand(newK6ExportCmd(stdout), newK6ImportCmd(stdout))
	return cmd
}

// scenarioOf is what replay/k6 needs of a loaded scenario.
func scenarioOf(sc *scenarios.Scenario) k6.Scenario {
	return k6.Scenario{Name: sc.Name, Seed: sc.Seed, Speed: sc.Speed, Headroom: sc.Headroom, Objectives: sc.Objectives}
}

func newK6ExportCmd(stdout io.Writer) *cobra.Command {
	var (
		out    string
		opts   k6.Options
		inline bool
	)
	cmd := &cobra.Command{
		Use:   "export SCENARIO.yaml -o script.js",
		Short: "Write a k6 script that replays the scenario's bettor requests",
		Long: `export loads SCENARIO.yaml, loads or generates its capture and plans it with
its speed and headroom, as a run does, and writes a k6 script with k6's
built-in modules only: a ramping-arrival-rate executor whose steps follow the
plan's request rate, one iteration per bet, deposit, withdrawal or cash-out in
plan order, and the scenario's SLOs that k6 can measure as thresholds. The
requests go to a file beside the script (script.requests.json for script.js),
unless --inline. The feed, the faults and reconciliation are not exported.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return herr.WithExit(exitInput, errors.New("-o is required: the script to write, e.g. -o script.js"))
			}
			sc, err := scenarios.LoadFile(args[0])
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			plan, err := scenarios.LoadPlan(sc)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			opts.Inline = inline
			if !inline {
				opts.DataFile = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + ".requests.json"
			}
			s, err := k6.Export(scenarioOf(sc), plan, opts)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			if err := os.WriteFile(out, s.JS, 0o644); err != nil {
				return herr.WithExit(exitEnv, fmt.Errorf("writing the script: %w", err))
			}
			files := out
			if s.DataFile != "" {
				data := filepath.Join(filepath.Dir(out), s.DataFile)
				if err := os.WriteFile(data, s.Data, 0o644); err != nil {
					return herr.WithExit(exitEnv, fmt.Errorf("writing the requests: %w", err))
				}
				files += " and " + data
			}
			var wall float64
			for _, st := range s.Steps {
				wall += st.Duration.Seconds()
			}
			fmt.Fprintf(stdout, "wrote %s: %d requests over %g s in %d steps, %d-%d VUs, %d thresholds\n",
				files, s.Requests, wall, len(s.Steps), s.PreAllocatedVUs, s.MaxVUs, len(s.Thresholds))
			for _, n := range s.NotExported {
				fmt.Fprintf(stdout, "not exported: %s\n", n)
			}
			fmt.Fprintf(stdout, "\nrun it:    INPLAY_API_URL=%s k6 run --out json=results.json %s\n", k6.DefaultBaseURL, out)
			fmt.Fprintf(stdout, "judge it:  inplay k6 import results.json --scenario %s\n", args[0])
			fmt.Fprintf(stdout, "k6-operator: put %s in one ConfigMap (docs/k6.md)\n", files)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "the script to write; its requests go beside it as NAME.requests.json")
	f.BoolVar(&inline, "inline", false, "put the requests in the script itself (one file; for small captures, since every VU parses its own copy)")
	f.StringVar(&opts.BaseURL, "base-url", k6.DefaultBaseURL, "the API the script sends to when INPLAY_API_URL is not set")
	f.IntVar(&opts.MaxSteps, "max-steps", k6.DefaultMaxSteps, "at most this many rate steps (one a second until then)")
	f.IntVar(&opts.MaxVUs, "max-vus", 0, "cap k6's VUs (default: enough for the peak second's requests to wait the whole timeout)")
	f.DurationVar(&opts.Timeout, "timeout", 0, "per-request timeout, after which the outcome is unknown (default 5s, as a replay's)")
	return cmd
}

func newK6ImportCmd(stdout io.Writer) *cobra.Command {
	var (
		scenario string
		skipBad  bool
	)
	cmd := &cobra.Command{
		Use:   "import RESULTS.json --scenario SCENARIO.yaml",
		Short: "Judge k6's --out json results by the scenario's SLOs",
		Long: `import reads what 'k6 run --out json=RESULTS.json' wrote (gzipped too) for a
script from 'inplay k6 export', and evaluates the scenario's SLOs that k6 can
measure with the statistics a run uses: bet_acceptance from the bets'
http_req_duration, error_rate from the statuses (2xx accepted, 4xx rejected,
anything else unknown). It prints the summary a run prints, with a table per
request kind, and exits 0 when every objective holds, 1 when one is breached,
3 for a bad results file or scenario, 5 when k6 dropped iterations or sent
nothing. A bad line stops the import, naming its line, unless --skip-bad.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if scenario == "" {
				return herr.WithExit(exitInput, errors.New("--scenario is required: the scenario whose SLOs judge the results"))
			}
			sc, err := scenarios.LoadFile(scenario)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			defer f.Close()
			res, err := k6.ImportResults(f, k6.ReadOptions{Source: args[0], SkipBad: skipBad})
			if err != nil {
				var le *k6.LineError
				if errors.As(err, &le) && !skipBad {
					err = fmt.Errorf("%w (--skip-bad counts bad lines and goes on)", err)
				}
				return herr.WithExit(exitInput, err)
			}
			rep := res.Evaluate(scenarioOf(sc))
			if summary, ok := reports.LookupRenderer("summary"); ok {
				if err := summary.Render(stdout, rep); err != nil {
					return herr.WithExit(exitEnv, err)
				}
			}
			fmt.Fprintf(stdout, "\n## Requests by kind (k6)\n\n| kind | requests | accepted | rejected | unknown | p50 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
			for _, kind := range res.KindNames() {
				ks := res.Kinds[kind]
				h := ks.Latency
				fmt.Fprintf(stdout, "| %s | %d | %d | %d | %d | %.3f ms | %.3f ms | %.3f ms |\n", kind, ks.Requests, ks.Accepted, ks.Rejected, ks.Unknown,
					float64(h.ValueAtQuantile(50))/1000, float64(h.ValueAtQuantile(99))/1000, float64(h.Max())/1000)
			}
			if rep.ExitCode != exitPass {
				return herr.Verdict(rep.ExitCode)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenario, "scenario", "", "the scenario whose SLOs judge the results (required)")
	f.BoolVar(&skipBad, "skip-bad", false, "count bad lines and go on, instead of stopping at the first")
	return cmd
}
