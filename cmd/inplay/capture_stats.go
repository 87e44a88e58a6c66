package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay"
)

func init() { captureCommands = append(captureCommands, newCaptureStatsCmd) }

func newCaptureStatsCmd(stdout, _ io.Writer) *cobra.Command {
	var asJSON, skipBad bool
	cmd := &cobra.Command{
		Use:   "stats FILE",
		Short: "Describe a capture: events per kind, peak and mean rates, markets, accounts, producers",
		Long: `stats reads a capture (plain or .gz) and prints its events per kind, the
busiest second of the feed and of the bettors (capture time, from t_us 0), the
mean rates, its markets, accounts and producers, its duration, and the in-play
share of its bets when its status events carry in_play. --json prints the same
as one JSON object. It streams the file, so a capture of any size takes
constant memory. A bad line is bad input (exit 3), naming the file and the
line; with --skip-bad it is counted and skipped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []replay.ReadOption
			if skipBad {
				opts = append(opts, replay.SkipBad())
			}
			c, err := replay.OpenStream(args[0], opts...)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			defer c.Close()
			st, err := replay.Stats(c)
			if err != nil {
				return herr.WithExit(exitInput, err) // it names the file and the line
			}
			if n := c.Skipped(); n > 0 {
				fmt.Fprintf(stdout, "skipped %d bad lines (--skip-bad)\n", n)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(statsJSON(st))
			}
			printStats(stdout, args[0], st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object instead of text")
	cmd.Flags().BoolVar(&skipBad, "skip-bad", false, "count and skip bad lines instead of stopping at the first")
	return cmd
}

// statsOutput is the --json form: the stats and the in-play share, which
// is null when no bet's market state is known.
type statsOutput struct {
	replay.CaptureStats
	InPlayShare *float64 `json:"in_play_share"`
}

func statsJSON(st replay.CaptureStats) statsOutput {
	out := statsOutput{CaptureStats: st}
	if share, ok := st.InPlayShare(); ok {
		out.InPlayShare = &share
	}
	return out
}

func printStats(w io.Writer, path string, st replay.CaptureStats) {
	h := st.Header
	fmt.Fprintf(w, "%s: %s", path, h.Capture)
	if h.Name != "" {
		fmt.Fprintf(w, " %q", h.Name)
	}
	if h.Source != "" {
		fmt.Fprintf(w, ", source %s", h.Source)
	}
	if h.StartMS > 0 {
		fmt.Fprintf(w, ", recorded from %s", time.UnixMilli(h.StartMS).UTC().Format(time.RFC3339Nano))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "duration   %s (first event at %s, last at %s)\n", us(st.DurationUS), us(st.FirstUS), us(st.LastUS))
	fmt.Fprintf(w, "events     %d: %d feed, %d bettor\n", st.Events, st.Feed, st.Bettor)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, k := range st.Kinds() {
		fmt.Fprintf(tw, "\t%s\t%d\t\n", k, st.ByKind[k])
	}
	tw.Flush()
	fmt.Fprintf(w, "mean rate  %.1f/s: feed %.1f/s, bettor %.1f/s\n", st.MeanPerSecond, st.MeanFeedPerSecond, st.MeanBettorPerSecond)
	fmt.Fprintf(w, "peak feed  %s\n", peak(st.PeakFeed))
	fmt.Fprintf(w, "peak bets  %s\n", peak(st.PeakBettor))
	fmt.Fprintf(w, "markets    %d\naccounts   %d\n", st.Markets, st.Accounts)
	fmt.Fprintf(w, "producers  %d", len(st.Producers))
	for i, p := range sortedProducers(st.Producers) {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		name := p
		if name == "" {
			name = "(unnamed)"
		}
		fmt.Fprintf(w, "%s%s %d", sep, name, st.Producers[p])
	}
	fmt.Fprintln(w)
	if share, ok := st.InPlayShare(); ok {
		fmt.Fprintf(w, "in play    %.1f%% of bets (%d in play, %d pre-match, %d on markets of unknown state)\n",
			100*share, st.BetsInPlay, st.BetsPreMatch, st.BetsUnknown)
	} else if st.ByKind[replay.KindBet] > 0 {
		fmt.Fprintln(w, "in play    unknown: no status event before a bet carries in_play")
	}
}

// peak describes one side's busiest second.
func peak(p replay.Peak) string {
	if p.Events == 0 {
		return "none"
	}
	return fmt.Sprintf("%d/s in second %d (t_us %d to %d)", p.Events, p.Second, p.Second*1_000_000, (p.Second+1)*1_000_000)
}

// us formats microseconds of capture time as a duration.
func us(v int64) string { return (time.Duration(v) * time.Microsecond).String() }

func sortedProducers(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	// Most events first, then by name, so the main producer leads.
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}
