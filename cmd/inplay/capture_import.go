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

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/betfair"
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
	)
	cmd := &cobra.Command{
		Use:   "import --format betfair FILE... -o OUT",
		Short: "Import vendor recordings (Betfair Exchange Stream files) into a capture",
		Long:  captureImportHelp,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "betfair" {
				return &exitError{code: exitInput, err: fmt.Errorf("--format %q is not one the importer knows (known: betfair)", format)}
			}
			if out == "" {
				return &exitError{code: exitInput, err: errors.New("-o OUT is required: the capture file to write")}
			}
			if opts.Name == "" {
				opts.Name = baseName(args[0])
			}
			im, err := betfair.Open(args, opts)
			if err != nil {
				return &exitError{code: exitInput, err: err}
			}
			defer im.Close()
			written, err := writeCaptureFile(out, stdout, im)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, importSummary(args, out, im.Header(), im.Stats(), written))
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
	return cmd
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
