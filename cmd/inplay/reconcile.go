package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/reports"
	"github.com/inplaylabs/inplay/scenarios"
)

func init() {
	extraCommands = append(extraCommands, newReconcileCmd)
}

func newReconcileCmd(stdout, _ io.Writer) *cobra.Command {
	var (
		o      scenarios.RecheckOptions
		delay  time.Duration
		out    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "reconcile --journal DIR (--postgres-url URL [--redis-url URL --redis-prefix P] | --ledger FILE.jsonl)",
		Short: "Re-check a kept run's invariants against its stores as they are now",
		Long: `reconcile checks every invariant of a run again, after the fact, with the same
code as the run's own verdict: the journal (--journal: the run's folder, or its
journal.jsonl) against the ledger, read from the run's database (--postgres-url,
which inplay run --keep prints) or from a ledger export (--ledger), and the
platform's hot state in Redis (--redis-url and --redis-prefix; without them
hot_state_matches_ledger is not checked). From a run folder it also reads the
faults (report.json) and the in-play delay (scenario.yaml).

It prints the invariant table with witnesses (--json: the result as JSON) and
writes nothing unless --out names a folder, where it writes reconcile.json.
Exit codes: 0 every checked invariant passes, 2 one fails, 3 bad input (flags,
journal, ledger file), 4 a store cannot be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("in-play-delay") {
				o.InPlayDelay = &delay
			}
			res, err := scenarios.Recheck(cmd.Context(), o)
			if err != nil {
				return herr.WithExit(exitCodeOf(err), err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return herr.WithExit(exitEnv, err)
				}
			} else {
				printInvariants(stdout, res.Invariants)
			}
			if out != "" {
				if err := writeRecheck(out, res); err != nil {
					return herr.WithExit(exitInput, err)
				}
			}
			if res.ExitCode != exitPass {
				return herr.Verdict(res.ExitCode)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.PostgresURL, "postgres-url", "", "the kept run's database")
	f.StringVar(&o.LedgerFile, "ledger", "", "a ledger export (ledger.jsonl, docs/ledger.md) instead of --postgres-url")
	f.StringVar(&o.RedisURL, "redis-url", "", "the kept run's Redis, for the hot state (docs/hot-state.md)")
	f.StringVar(&o.RedisPrefix, "redis-prefix", "", "the kept run's Redis key prefix")
	f.StringVar(&o.Journal, "journal", "", "the run's folder, or its journal.jsonl (required)")
	f.DurationVar(&delay, "in-play-delay", 0, "the platform's in-play delay (default: the folder's scenario.yaml, else 0)")
	f.StringVar(&out, "out", "", "a folder to write reconcile.json to")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON instead of a table")
	return cmd
}

// printInvariants prints one line per invariant, then its witnesses.
func printInvariants(w io.Writer, invs []reports.Invariant) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INVARIANT\tSTATUS\tCHECKED\tVIOLATIONS\tNOTE")
	for _, inv := range invs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", inv.Name, strings.ToUpper(statusOf(inv)), inv.Checked, inv.Violations, inv.Note)
	}
	tw.Flush()
	for _, inv := range invs {
		if len(inv.Witnesses) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s: %d violations\n", inv.Name, inv.Violations)
		for _, wi := range inv.Witnesses {
			fmt.Fprintf(w, "  [%s] %s\n", strings.Join(wi.IDs, " "), wi.Why)
		}
		if more := inv.Violations - len(inv.Witnesses); more > 0 {
			fmt.Fprintf(w, "  and %d more\n", more)
		}
	}
}

func statusOf(inv reports.Invariant) string {
	switch {
	case inv.Status != "":
		return inv.Status
	case inv.Pass:
		return reports.StatusPass
	}
	return reports.StatusFail
}

// writeRecheck writes reconcile.json into dir.
func writeRecheck(dir string, res *scenarios.RecheckResult) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "reconcile.json"), append(b, '\n'), 0o644)
}

// redactedURL is raw with any password masked, for printing.
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
