package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/record"
)

func init() { captureCommands = append(captureCommands, newCaptureRecordCmd) }

func newCaptureRecordCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		listen, upstream, feed, out, name string
		duration                          time.Duration
		verbose                           bool
	)
	cmd := &cobra.Command{
		Use:   "record --listen ADDR --upstream URL -o FILE [--feed URL] [--duration D]",
		Short: "Record a capture from live traffic: a proxy in front of a bet API, and a feed subscriber",
		Long: `record listens on --listen as a reverse proxy in front of the bet API at
--upstream (the reference API's routes, docs/api.md) and forwards every request
as it came. It writes each bet, deposit, withdrawal and cash-out the upstream
answered to the capture -o FILE (gzipped when FILE ends in .gz), stamped with
its arrival time, even when the platform refused it: that is the traffic to
replay. A body that is not a valid request is forwarded but not recorded; a
request the upstream never answered gets 502 and is not recorded. With --feed,
it also subscribes to the feed server at URL (docs/feed-protocol.md) and
records its odds, status, result and incident messages, resuming with after=
on a drop. It stops on SIGINT or SIGTERM, or after --duration, writes out what
it holds and prints a summary; stopping it so is the normal end (exit 0).
Exit 3 for bad flags, 4 when it cannot listen or write FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var missing []string
			for _, f := range []struct{ name, v string }{{"--listen", listen}, {"--upstream", upstream}, {"-o", out}} {
				if f.v == "" {
					missing = append(missing, f.name)
				}
			}
			if len(missing) > 0 {
				return herr.WithExit(exitInput, fmt.Errorf("capture record needs %s", strings.Join(missing, ", ")))
			}
			if duration < 0 {
				return herr.WithExit(exitInput, fmt.Errorf("--duration %s is negative", duration))
			}
			level := slog.LevelError
			if verbose {
				level = slog.LevelInfo
			}
			cfg := record.Config{Upstream: upstream, Feed: feed, Name: name,
				Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
			// Check the flags before taking the port or the file.
			if err := cfg.Validate(); err != nil {
				return herr.WithExit(exitInput, err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return herr.WithExit(exitEnv, fmt.Errorf("listening on %s: %w", listen, err))
			}
			f, err := os.Create(out)
			if err != nil {
				ln.Close()
				return herr.WithExit(exitEnv, err)
			}
			ctx := cmd.Context()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			fmt.Fprintf(stderr, "recording %s -> %s on http://%s", upstream, out, ln.Addr())
			if feed != "" {
				fmt.Fprintf(stderr, ", feed %s", feed)
			}
			fmt.Fprintln(stderr, "; SIGINT to stop")
			sum, err := record.Run(ctx, ln, f, strings.HasSuffix(out, ".gz"), cfg)
			err = errors.Join(err, f.Close())
			printRecordSummary(stdout, out, sum)
			if err != nil {
				return herr.WithExit(exitEnv, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "address to take requests on, e.g. 127.0.0.1:8081")
	fl.StringVar(&upstream, "upstream", "", "base URL of the platform's bet API, e.g. http://127.0.0.1:8080")
	fl.StringVar(&feed, "feed", "", "base URL of a feed server to record too, e.g. http://127.0.0.1:9000")
	fl.StringVarP(&out, "output", "o", "", "capture file to write (.gz: gzipped)")
	fl.StringVar(&name, "name", "", "the capture's name, in its header")
	fl.DurationVar(&duration, "duration", 0, "stop after this long (default: until SIGINT or SIGTERM)")
	fl.BoolVarP(&verbose, "verbose", "v", false, "log upstream failures and feed reconnections to stderr")
	return cmd
}

func printRecordSummary(w io.Writer, out string, s record.Summary) {
	fmt.Fprintf(w, "recorded %d events in %s to %s", s.Events, s.Duration.Round(time.Millisecond), out)
	sep := ": "
	for _, k := range []replay.Kind{replay.KindBet, replay.KindCashout, replay.KindDeposit, replay.KindWithdraw,
		replay.KindOdds, replay.KindStatus, replay.KindResult, replay.KindIncident} {
		if n := s.ByKind[k]; n > 0 {
			fmt.Fprintf(w, "%s%d %s", sep, n, k)
			sep = ", "
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "requests %d forwarded; recorded ones the platform refused %d; not recorded: %d malformed, %d unanswered (502), %d cash-outs of bets placed before the recording, %d still in flight at the stop\n",
		s.Requests, s.Refused, s.Malformed, s.Unanswered, s.Orphans, s.Lost)
	if f := s.Feed; f.Connects > 0 || f.Messages > 0 {
		fmt.Fprintf(w, "feed: %d connections, %d messages, %d recorded, %d duplicates skipped, %d gaps resumed (%d unfilled), %d malformed, %d ignored\n",
			f.Connects, f.Messages, f.Events, f.Duplicates, f.Gaps, f.Unfilled, f.Malformed, f.Ignored)
	}
}
