package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
	"github.com/inplaylabs/inplay/scenarios"
)

func init() {
	extraCommands = append(extraCommands, newMergeCmd)
}

// parseShard reads --shard: "" is the whole run, else "i/n" with
// 0 <= i < n.
func parseShard(s string) (replay.Shard, error) {
	if s == "" {
		return replay.Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return replay.Shard{}, fmt.Errorf("--shard %q: want i/n with 0 <= i < n, such as 0/3", s)
	}
	return replay.Shard{Index: i, Count: n}, nil
}

func newMergeCmd(stdout, _ io.Writer) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge --out DIR SHARD_DIR...",
		Short: "Merge the run folders of a sharded run (inplay run --shard i/n) into one report and one verdict",
		Long: `merge reads the folders the shards of one run wrote (report.json, scenario.yaml,
journal.jsonl, ledger.jsonl), and evaluates them as one run: load summed (the
feed counted once, shard 0's), every objective over all shards' samples, every
invariant per shard and merged by name (docs/scale-out.md). It writes
report.json, junit.xml, summary.md and report.html to --out, with each shard's
journal beside them, prints the summary and exits with the verdict's code.
Folders that are not the shards of one run are bad input (exit 3).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return herr.WithExit(exitInput, fmt.Errorf("merge: --out is required"))
			}
			res, err := scenarios.MergeDirs(args, out)
			if err != nil {
				return herr.WithExit(exitCodeOf(err), err)
			}
			if summary, ok := reports.LookupRenderer("summary"); ok {
				if err := summary.Render(stdout, res.Report); err != nil {
					return herr.WithExit(exitEnv, err)
				}
			}
			fmt.Fprintf(stdout, "\nreport: %s (merged from %d shards)\n", filepath.Join(out, "report.json"), len(args))
			if code := res.Report.ExitCode; code != exitPass {
				return herr.Verdict(code)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "folder for the merged reports (required)")
	return cmd
}
