package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/reports"
)

func init() { extraCommands = append(extraCommands, newCompareCmd) }

func newCompareCmd(stdout, _ io.Writer) *cobra.Command {
	var (
		maxRegression string
		opt           = reports.DefaultCompareOptions()
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "compare BASE.json NEW.json",
		Short: "Compare a run's report.json with a baseline's; exit 1 on a regression",
		Long: `compare reads two report.json files, a baseline's and a new run's, and prints a
regression table: for each objective (metric, phase, statistic) in both, the
base's and the new observed value and the change; the load figures (rate, sent,
dropped, schedule lag p99, bets accepted, rejected, unknown); and the invariants.

A regression is an objective whose observed value got worse (higher) by more
than --max-regression of the base's AND by more than a floor (--floor-ms for a
latency, --floor-pct points for a ratio such as error_rate), so that 0.2 ms to
0.3 ms is not one; an objective measured in the base with no samples now; or an
invariant that passed in the base and fails now. Load figures are shown, never
judged; a send rate that differs by more than the bound is noted.

Exit codes: 0 no regression, 1 a regression, 3 bad input (a file that cannot be
read or is not a report.json, reports of different scenarios without
--any-scenario, a bad flag).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			pct, err := parsePercent(maxRegression)
			if err != nil {
				return herr.WithExit(exitInput, fmt.Errorf("--max-regression: %w", err))
			}
			opt.MaxRegressionPct = pct
			var pair [2]*reports.Report
			for i, path := range args {
				if pair[i], err = reports.ReadReport(path); err != nil {
					return herr.WithExit(exitInput, err)
				}
			}
			c, err := reports.Compare(pair[0], pair[1], opt)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(c)
			} else {
				err = c.WriteText(stdout)
			}
			if err != nil {
				return herr.WithExit(exitEnv, err)
			}
			if c.Regressed() {
				return herr.Verdict(exitSLO)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&maxRegression, "max-regression", strconv.Itoa(reports.DefaultMaxRegressionPct)+"%",
		"how much worse an objective may get before it is a regression, in percent of the base's value")
	f.Float64Var(&opt.FloorMS, "floor-ms", reports.DefaultFloorMS, "a latency must also get worse by more than this many milliseconds")
	f.Float64Var(&opt.FloorPct, "floor-pct", reports.DefaultFloorPct, "a ratio (error_rate) must also get worse by more than this many percentage points")
	f.BoolVar(&opt.AnyScenario, "any-scenario", false, "compare reports of different scenarios")
	f.BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	return cmd
}

// parsePercent reads "10%" or "10" as 10 (percent).
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a percentage such as 10%%", s)
	}
	return v, nil
}
