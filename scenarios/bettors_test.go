package scenarios

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/synth"
)

// writeFeed writes a generated match with no bettors, as a vendor's
// recording has odds and no bets, plus extra events, to dir/feed.jsonl.
func writeFeed(t *testing.T, dir string, d time.Duration, extra ...replay.Event) string {
	t.Helper()
	c, err := synth.Football(synth.FootballOptions{Seed: 3, Matches: 1, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	c.Events = append(extra, c.Events...)
	path := filepath.Join(dir, "feed.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := replay.WriteCapture(f, c); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadCaptureWithBettors: load.bettors overlays its population on the
// capture file, the same each time, under its prefix; a capture whose own
// ids use the prefix is bad input.
func TestLoadCaptureWithBettors(t *testing.T) {
	dir := t.TempDir()
	writeFeed(t, dir, time.Minute)
	scenario := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(scenario, []byte("name: overlay\nseed: 5\nload:\n  capture: feed.jsonl\n  bettors: {count: 100, rate: 120, max_stake: 5000}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadFile(scenario)
	if err != nil {
		t.Fatal(err)
	}
	load := func() (*replay.Capture, string, error) {
		s, done, err := openCapture(sc)
		if err != nil {
			return nil, "", err
		}
		defer done()
		c, err := replay.Collect(s)
		if err != nil {
			return nil, "", captureInputError(sc, err)
		}
		return c, replay.CaptureDigest(c), nil
	}
	c, digest, err := load()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[replay.Kind]int{}
	for _, e := range c.Events {
		kinds[e.Kind]++
		if !e.Kind.IsFeed() && !strings.HasPrefix(e.ID, DefaultBettorPrefix) {
			t.Fatalf("%s %s is not under the prefix %s", e.Kind, e.ID, DefaultBettorPrefix)
		}
	}
	if kinds[replay.KindBet] == 0 || kinds[replay.KindDeposit] == 0 || kinds[replay.KindOdds] == 0 {
		t.Fatalf("kinds %v", kinds)
	}
	if _, again, _ := load(); again != digest {
		t.Fatal("the same scenario overlaid different bettors")
	}

	writeFeed(t, dir, time.Minute, replay.Event{T: 0, Kind: replay.KindDeposit, Account: "ov-a1", ID: "x1", Amount: 100})
	_, _, err = load()
	var ie *herr.Error
	if !errors.As(err, &ie) || ie.Source != "load.bettors" || !strings.Contains(err.Error(), `prefix "ov-"`) {
		t.Fatalf("err = %v, want bad input naming the prefix", err)
	}
}

// TestRunBettorsOnAFeed runs a recording with odds and no bets, with
// load.bettors overlaid, through the reference platform: bets, deposits,
// cash-outs and withdrawals are sent, and the ledger reconciles.
func TestRunBettorsOnAFeed(t *testing.T) {
	so := resolveStack(t)
	dir := t.TempDir()
	writeFeed(t, dir, 90*time.Second)
	scenario := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(scenario, []byte(`name: feed-with-bettors
seed: 4
load:
  capture: feed.jsonl
  bettors: {count: 150, rate: 90, max_stake: 20000, policy_mix: {exact: 50, better: 30, any: 20}}
  speed: 6
  headroom: 1.3
  # A shared 2-core machine: this test is about the overlay reaching the
  # platform and reconciling, and a harness stall must not make it invalid.
  max_schedule_lag: 1s
slos:
  - {metric: bet_acceptance, p99: 1s}
  - {metric: error_rate, max: 0%}
reconcile: strict
drain: 20s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadFile(scenario)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: t.TempDir(), Stack: so, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	t.Logf("exit %d: bets %+v", rep.ExitCode, rep.Load.Bets)
	if rep.ExitCode != 0 {
		t.Errorf("exit %d, verdict %s, problems %v, slos %+v", rep.ExitCode, rep.Verdict, rep.Problems, rep.SLOs)
	}
	for _, inv := range rep.Invariants {
		if inv.Failed() {
			t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
		}
	}
	if rep.Load.Bets.Accepted == 0 {
		t.Errorf("no bet accepted: %+v", rep.Load.Bets)
	}
}
