package main

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/synth"
)

func init() { captureCommands = append(captureCommands, newCaptureGenerateCmd) }

const captureGenerateHelp = `generate writes a seeded synthetic capture (format inplay/v1), the one a
scenario's load.generate replays: the same flags and seed always give the same
bytes, so a capture can be made once and replayed, shared or diffed.

The football profile plays --matches match-odds markets at once: each opens
pre-match, goes in play at a fifth of the capture (in_play, bet_delay_ms, the
live producer), has one to three goals that suspend it and reprice it, and
closes and is resulted near the end. --bettors bettors (the replay/bettors
model) deposit, bet on the prices they last saw with a price policy, burst
after goals and reopenings, cash out and withdraw. --corrections ends each
match with a corrected settlement: its result, a rollback and a resettlement
with a dead heat and/or a void factor (off, the capture is unchanged).

-o FILE writes to FILE (gzipped when it ends in .gz), whole or not at all;
-o - writes to stdout. Bad flags exit 3.`

func newCaptureGenerateCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		profile     string
		matches     int
		bettors     int
		duration    time.Duration
		seed        int64
		out         string
		corrections bool
	)
	cmd := &cobra.Command{
		Use:   "generate -o FILE",
		Short: "Generate a seeded synthetic capture (what load.generate replays)",
		Long:  captureGenerateHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var problems []string
			if profile != "football" {
				problems = append(problems, fmt.Sprintf("--profile %q is not a known profile (known: football)", profile))
			}
			if out == "" {
				problems = append(problems, "-o is required: the file to write (.gz to gzip it), or - for stdout")
			}
			opts := synth.FootballOptions{Seed: seed, Matches: matches, Bettors: bettors, Duration: duration, Corrections: corrections}
			for _, err := range opts.Validate() {
				problems = append(problems, "--"+err.Error())
			}
			if len(problems) > 0 {
				return herr.WithExit(exitInput, errors.New(strings.Join(problems, "\n  ")))
			}
			s, err := synth.FootballStream(opts)
			if err != nil {
				return herr.WithExit(exitInput, err)
			}
			counted := &kindCounter{Stream: s, n: map[replay.Kind]int{}}
			if _, err := writeCaptureFile(out, stdout, counted); err != nil {
				return err
			}
			info := stdout
			if out == "-" {
				info = stderr
			}
			var kinds []string
			total := 0
			for _, k := range slices.Sorted(maps.Keys(counted.n)) {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, counted.n[k]))
				total += counted.n[k]
			}
			fmt.Fprintf(info, "%s: %d events (%s), seed %d\n", out, total, strings.Join(kinds, ", "), seed)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&profile, "profile", "football", "what to generate (football)")
	f.IntVar(&matches, "matches", 1, "matches played at the same time, one market each")
	f.IntVar(&bettors, "bettors", 200, "the bettor population (0: the feed alone)")
	f.DurationVar(&duration, "duration", 4*time.Minute, fmt.Sprintf("capture length, at least %s", synth.MinFootballDuration))
	f.BoolVar(&corrections, "corrections", false, "end each match with a result, its rollback and a resettlement (dead heat, void factor)")
	f.Int64Var(&seed, "seed", 1, "the seed: the same seed and flags give the same bytes")
	f.StringVarP(&out, "output", "o", "", "the file to write (gzipped when it ends in .gz), or - for stdout")
	return cmd
}

// kindCounter counts the events of each kind that pass through it.
type kindCounter struct {
	replay.Stream
	n map[replay.Kind]int
}

func (c *kindCounter) Next() (replay.Event, error) {
	e, err := c.Stream.Next()
	if err == nil {
		c.n[e.Kind]++
	}
	return e, err
}

// writeCaptureFile writes s to path ("-": stdout), gzipped when path ends
// in .gz, and returns how many events it wrote. A file is written beside
// path and renamed into place once whole, so a failure never leaves a short
// capture under path's name. A path that cannot be created, or an event
// that cannot be read or is not valid, is bad input (exit 3); a failure
// while writing, the environment's (exit 4).
func writeCaptureFile(path string, stdout io.Writer, s replay.Stream) (int64, error) {
	if path == "-" {
		return copyCapture(stdout, s, "stdout")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, herr.WithExit(exitInput, fmt.Errorf("-o %s: %w", path, err))
	}
	tmp := f.Name()
	n, err := func() (int64, error) {
		var w io.Writer = f
		var zw *gzip.Writer
		if strings.HasSuffix(path, ".gz") {
			// No name and no time in the gzip header: the same capture
			// compresses to the same bytes.
			zw = gzip.NewWriter(f)
			w = zw
		}
		n, err := copyCapture(w, s, path)
		if err != nil {
			return 0, err
		}
		if zw != nil {
			if err := zw.Close(); err != nil {
				return 0, err
			}
		}
		if err := f.Chmod(0o644); err != nil {
			return 0, err
		}
		return n, f.Close()
	}()
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		var he *herr.Error
		if errors.As(err, &he) {
			return 0, err
		}
		return 0, herr.WithExit(exitEnv, fmt.Errorf("write %s: %w", path, err))
	}
	return n, nil
}

// copyCapture writes every event of s to w as a capture: an event that
// cannot be read or is not valid is bad input (exit 3), a failed write the
// environment's (exit 4).
func copyCapture(w io.Writer, s replay.Stream, name string) (int64, error) {
	cw, err := replay.NewCaptureWriter(w, s.Header())
	if err != nil {
		return 0, herr.WithExit(exitInput, err)
	}
	for {
		e, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, herr.WithExit(exitInput, err)
		}
		if err := cw.Write(e); err != nil {
			var ce *herr.Error
			if errors.As(err, &ce) {
				return 0, herr.WithExit(exitInput, err)
			}
			return 0, herr.WithExit(exitEnv, fmt.Errorf("writing %s: %w", name, err))
		}
	}
	if err := cw.Flush(); err != nil {
		return 0, herr.WithExit(exitEnv, fmt.Errorf("writing %s: %w", name, err))
	}
	return cw.Events(), nil
}
