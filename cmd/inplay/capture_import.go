package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/betfair"
	"github.com/inplaylabs/inplay/replay/bettors"
)

func init() { captureCommands = append(captureCommands, newCaptureImportCmd) }

const captureImportHelp = `import turns vendor recordings into one capture (format inplay/v1).

--format betfair reads Betfair Exchange Stream files (the historical data
files, or a recording of the stream): plain, .gz or .bz2, found by their
magic bytes as well as their name. Several files are merged in time order,
so a match odds file and its score feed make one capture. Market changes
(mcm) give status, odds and result events; the cricket score feed (ccm)
gives incident events. The mapping is the contract in the package doc of
replay/betfair (go doc github.com/inplaylabs/inplay/replay/betfair).

--from and --until cut a window: an RFC 3339 time, or an offset from the
first time any market turned in play (inplay-10m, inplay+1h). What happened
before --from is folded into the state the capture opens with: at t_us 0,
one status and one odds event per market.

A vendor's recording has odds but no bets. --bettors N overlays a seeded
population of N bettors on it (replay/bettors, the same model as a
scenario's load.bettors): deposits, bets on the prices each bettor last
saw, cash-outs and withdrawals, heavy-tailed, with bursts after
suspensions, big moves and incidents. --bettor-rate (bets per bettor per
in-play hour) and --max-stake (minor units) are then required; --seed,
--policy-mix (exact/better/any percentages, e.g. 60/25/15) and
--bettor-prefix are optional. The same files and flags give the same bytes.

The capture is written to a temporary file beside -o and renamed into place
when the import succeeds, gzipped when -o ends in .gz; then a summary is
printed.

Exit codes: 0 imported; 3 bad input: a bad line (named by its file and line;
--skip-bad counts bad lines and goes on instead), a truncated or corrupt
.gz or .bz2 file, a file that cannot be opened, or bad flags; 4 the output
cannot be written.`

func newCaptureImportCmd(stdout, _ io.Writer) *cobra.Command {
	var (
		format, out string
		opts        betfair.Options
		bf          bettorFlags
	)
	cmd := &cobra.Command{
		Use:   "import --format betfair FILE... -o OUT",
		Short: "Import vendor recordings (Betfair Exchange Stream files) into a capture",
		Long:  captureImportHelp,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "betfair" {
				return herr.WithExit(exitInput, fmt.Errorf("--format %q is not one the importer knows (known: betfair)", format))
			}
			if out == "" {
				return herr.WithExit(exitInput, errors.New("-o OUT is required: the capture file to write"))
			}
			if opts.Name == "" {
				opts.Name = baseName(args[0])
			}
			cfg, err := bf.config(cmd.Flags())
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			im, err := betfair.Open(args, opts)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			defer im.Close()
			var s replay.Stream = im
			if cfg != nil {
				if s, err = bettors.Overlay(im, *cfg); err != nil {
					return herr.WithExit(exitInput, err)
				}
			}
			written, err := writeCaptureFile(out, stdout, s)
			if err != nil {
				return err
			}
			summary := importSummary(args, out, im.Header(), im.Stats(), written)
			if cfg != nil {
				summary += fmt.Sprintf(" Overlaid %d bettors (seed %d, %g bets per bettor per in-play hour, stakes up to %d, ids from %q); the event count includes theirs.",
					cfg.Bettors, cfg.Seed, cfg.Rate, cfg.MaxStake, cfg.Prefix)
			}
			fmt.Fprintln(stdout, summary)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "the recording's format: betfair")
	f.StringVarP(&out, "out", "o", "", "the capture file to write (gzipped when it ends in .gz)")
	f.StringVar(&opts.Name, "name", "", "the capture's name (default: the first file's name without extensions)")
	f.StringVar(&opts.From, "from", "", "start of the window: an RFC 3339 time, or inplay-DURATION / inplay+DURATION")
	f.StringVar(&opts.Until, "until", "", "end of the window, inclusive, in the same forms as --from")
	f.BoolVar(&opts.SkipBad, "skip-bad", false, "count bad lines and go on, instead of stopping at the first (exit 3)")
	bf.register(f)
	return cmd
}

// bettorFlags are the import's bettor overlay flags: load.bettors of a
// scenario, as flags.
type bettorFlags struct {
	count    int
	rate     float64
	maxStake int64
	seed     int64
	mix      string
	prefix   string
}

func (b *bettorFlags) register(f *pflag.FlagSet) {
	f.IntVar(&b.count, "bettors", 0, "overlay a seeded population of this many bettors (0: none)")
	f.Float64Var(&b.rate, "bettor-rate", 0, "with --bettors: bets per bettor per in-play hour (required)")
	f.Int64Var(&b.maxStake, "max-stake", 0, "with --bettors: the largest stake, in minor units (required)")
	f.Int64Var(&b.seed, "seed", 1, "with --bettors: the population's seed")
	f.StringVar(&b.mix, "policy-mix", "", "with --bettors: percentages of bettors on the exact/better/any price policies, e.g. 60/25/15 (default: the package's documented mix)")
	f.StringVar(&b.prefix, "bettor-prefix", "ov-", "with --bettors: the start of every account and id the population makes")
}

// config returns the overlay's Config, nil when --bettors is not given,
// or every problem with the flags at once.
func (b *bettorFlags) config(f *pflag.FlagSet) (*bettors.Config, error) {
	if b.count == 0 {
		for _, name := range []string{"bettor-rate", "max-stake", "seed", "policy-mix", "bettor-prefix"} {
			if f.Changed(name) {
				return nil, fmt.Errorf("--%s is a bettor overlay flag: it needs --bettors N", name)
			}
		}
		return nil, nil
	}
	cfg := &bettors.Config{Seed: b.seed, Bettors: b.count, Rate: b.rate, MaxStake: b.maxStake, Prefix: b.prefix}
	var errs []error
	if b.mix != "" {
		var m bettors.PolicyMix
		if n, err := fmt.Sscanf(b.mix, "%d/%d/%d", &m.Exact, &m.Better, &m.Any); err != nil || n != 3 || fmt.Sprintf("%d/%d/%d", m.Exact, m.Better, m.Any) != b.mix {
			errs = append(errs, fmt.Errorf("--policy-mix %q is not EXACT/BETTER/ANY, three whole percentages such as 60/25/15", b.mix))
		} else {
			cfg.PolicyMix = m
		}
	}
	errs = append(errs, cfg.Validate()...)
	if cfg.MaxStake > bettors.MaxMaxStake {
		errs = append(errs, fmt.Errorf("--max-stake is %d; it must be at most %d", cfg.MaxStake, int64(bettors.MaxMaxStake)))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("the bettor overlay: %w", errors.Join(errs...))
	}
	return cfg, nil
}

// baseName is a file's name without its directory and its .gz, .bz2,
// .jsonl or .json extensions.
func baseName(path string) string {
	name := filepath.Base(path)
	for _, ext := range []string{".gz", ".bz2", ".jsonl", ".json"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}

// importSummary is the one paragraph the import prints.
func importSummary(files []string, out string, h replay.Header, st betfair.Stats, written int64) string {
	var b strings.Builder
	plural := func(n int64, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	ops := make([]string, 0, len(st.Messages))
	for _, op := range slices.Sorted(maps.Keys(st.Messages)) {
		ops = append(ops, fmt.Sprintf("%d %s", st.Messages[op], op))
	}
	fmt.Fprintf(&b, "Imported %s (%s", plural(int64(len(files)), "file", "files"), plural(st.Lines, "line", "lines"))
	if len(ops) > 0 {
		fmt.Fprintf(&b, ": %s messages", strings.Join(ops, ", "))
	}
	fmt.Fprintf(&b, ") into %s: %s", out, plural(written, "event", "events"))
	var kinds []string
	for _, k := range []replay.Kind{replay.KindStatus, replay.KindOdds, replay.KindResult, replay.KindIncident} {
		if n := st.Events[k]; n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(kinds) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, ", "))
	}
	fmt.Fprintf(&b, " over %s, lasting %s", plural(int64(st.Markets), "market", "markets"),
		(time.Duration(h.DurationUS) * time.Microsecond).Round(time.Second))
	if h.StartMS > 0 {
		fmt.Fprintf(&b, " from %s", time.UnixMilli(h.StartMS).UTC().Format(time.RFC3339))
	}
	if st.Folded > 0 {
		fmt.Fprintf(&b, "; %s before --from were folded into the opening state", plural(st.Folded, "message", "messages"))
		if st.Omitted > 0 {
			fmt.Fprintf(&b, " and %s already resulted left out", plural(int64(st.Omitted), "market", "markets"))
		}
	}
	fmt.Fprintf(&b, "; %s skipped", plural(st.BadLines, "bad line", "bad lines"))
	if len(st.BadExamples) > 0 {
		fmt.Fprintf(&b, " (the first: %s)", st.BadExamples[0])
	}
	if len(st.Notes) > 0 {
		var notes []string
		for _, n := range slices.Sorted(maps.Keys(st.Notes)) {
			notes = append(notes, fmt.Sprintf("%s: %d", n, st.Notes[n]))
		}
		fmt.Fprintf(&b, "; notes: %s", strings.Join(notes, "; "))
	}
	b.WriteString(".")
	return b.String()
}
