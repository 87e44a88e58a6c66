package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// shardCapture is a capture whose every bet is decided by its own
// bettor's history alone, never by a race with the feed: one market whose
// price is set once, before any bet, so that a bet at another price is
// always refused (EPRICECHANGED), and stakes that sometimes outrun the
// bettor's balance (EINSUFFICIENT). The same run then has the same
// accepted and rejected counts however its bettors are split.
func shardCapture(t *testing.T, dir string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(6, 6))
	c := &replay.Capture{Header: replay.Header{Capture: replay.CaptureVersion, Name: "shards", Source: "test", DurationUS: 30e6}}
	add := func(e replay.Event) { c.Events = append(c.Events, e) }
	add(replay.Event{T: 0, Kind: replay.KindStatus, Market: "m1", Status: replay.StatusOpen})
	add(replay.Event{T: 0, Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2.5", "away": "1.8"}})
	var bettor []replay.Event
	for a := 1; a <= 240; a++ {
		acct := fmt.Sprintf("s%d", a)
		t0 := int64(500_000 + rng.IntN(2_000_000))
		bettor = append(bettor, replay.Event{T: t0, Kind: replay.KindDeposit, Account: acct, ID: acct + "-d", Amount: 10_000})
		for n := range 1 + rng.IntN(5) {
			sel, odds := "home", "2.5"
			if rng.IntN(2) == 0 {
				sel, odds = "away", "1.8"
			}
			if rng.IntN(10) == 0 {
				odds = "3" // a price the market never had
			}
			bettor = append(bettor, replay.Event{T: t0 + int64(1+n)*int64(1_000_000+rng.IntN(3_000_000)), Kind: replay.KindBet,
				Account: acct, ID: fmt.Sprintf("%s-b%d", acct, n), Market: "m1", Selection: sel, Odds: odds, Stake: int64(500 + rng.IntN(4000))})
		}
	}
	// In time order, as a capture is.
	for i := 1; i < len(bettor); i++ {
		for j := i; j > 0 && bettor[j].T < bettor[j-1].T; j-- {
			bettor[j], bettor[j-1] = bettor[j-1], bettor[j]
		}
	}
	c.Events = append(c.Events, bettor...)
	add(replay.Event{T: 26_000_000, Kind: replay.KindStatus, Market: "m1", Status: replay.StatusClosed})
	add(replay.Event{T: 26_500_000, Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}})
	path := filepath.Join(dir, "shards.jsonl")
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

// TestShardsMergeToTheWholeRun: the same run unsharded, and split into 3
// shards (each with its own platform) merged by MergeDirs, sends, accepts
// and rejects the same bets, and both reconcile.
func TestShardsMergeToTheWholeRun(t *testing.T) {
	so := resolveStack(t)
	dir := t.TempDir()
	shardCapture(t, dir)
	scenario := filepath.Join(dir, "shards.yaml")
	if err := os.WriteFile(scenario, []byte(`name: shards
seed: 9
load:
  capture: shards.jsonl
  speed: 2
  headroom: 1.5
  max_schedule_lag: 1s
platform:
  in_play_delay: 0s
slos:
  - {metric: bet_acceptance, p99: 2s}
  - {metric: settlement_lag, max: 30s}
reconcile: strict
drain: 20s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadFile(scenario)
	if err != nil {
		t.Fatal(err)
	}
	run := func(out string, shard replay.Shard) *reports.Report {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := Run(ctx, sc, Options{OutDir: out, Stack: so, PlatformBinary: platformBinary, Shard: shard})
		if err != nil {
			t.Fatal(err)
		}
		return res.Report
	}
	whole := run(filepath.Join(dir, "whole"), replay.Shard{})
	var dirs []string
	for i := range 3 {
		d := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		rep := run(d, replay.Shard{Index: i, Count: 3})
		if rep.Run.Shard == nil || rep.Run.Shard.Index != i || rep.Run.Shard.Count != 3 {
			t.Fatalf("shard %d's report.json run.shard = %+v", i, rep.Run.Shard)
		}
		t.Logf("shard %d: bets %+v", i, rep.Load.Bets)
		dirs = append(dirs, d)
	}
	// Given in any order.
	dirs[0], dirs[2] = dirs[2], dirs[0]
	merged, err := MergeDirs(dirs, filepath.Join(dir, "merged"))
	if err != nil {
		t.Fatal(err)
	}
	m := merged.Report
	t.Logf("whole: bets %+v, planned %d; merged: bets %+v, planned %d", whole.Load.Bets, whole.Load.Planned, m.Load.Bets, m.Load.Planned)
	if whole.ExitCode != 0 || m.ExitCode != 0 {
		t.Errorf("exit whole %d (%v), merged %d (%v)", whole.ExitCode, whole.Problems, m.ExitCode, m.Problems)
	}
	if m.Load.Bets != whole.Load.Bets {
		t.Errorf("merged bets %+v, whole run %+v", m.Load.Bets, whole.Load.Bets)
	}
	if m.Load.Planned != whole.Load.Planned || m.Load.Sent != whole.Load.Sent {
		t.Errorf("merged planned/sent %d/%d, whole run %d/%d", m.Load.Planned, m.Load.Sent, whole.Load.Planned, whole.Load.Sent)
	}
	if whole.Load.Bets.Rejected == 0 || whole.Load.Bets.Accepted == 0 {
		t.Errorf("the capture should have both accepted and rejected bets: %+v", whole.Load.Bets)
	}
	if m.Run.Shards != 3 || len(m.Invariants) != len(whole.Invariants) {
		t.Errorf("merged run.shards %d, %d invariants (whole: %d)", m.Run.Shards, len(m.Invariants), len(whole.Invariants))
	}
	for i, inv := range m.Invariants {
		if inv.Failed() {
			t.Errorf("merged invariant %s fails: %+v", inv.Name, inv.Witnesses)
		}
		if inv.Name != whole.Invariants[i].Name {
			t.Errorf("invariant %d is %s merged, %s whole", i, inv.Name, whole.Invariants[i].Name)
		}
	}
	for i, s := range m.SLOs {
		if s.Samples != whole.SLOs[i].Samples {
			t.Errorf("objective %s %s: %d samples merged, %d whole", s.Metric, s.Phase, s.Samples, whole.SLOs[i].Samples)
		}
	}

	// Not the shards of one run: a shard twice, and one missing.
	if _, err := MergeDirs([]string{dirs[0], dirs[0], dirs[1]}, filepath.Join(dir, "bad")); err == nil {
		t.Error("a shard given twice was merged")
	}
	if _, err := MergeDirs(dirs[:2], filepath.Join(dir, "bad")); err == nil {
		t.Error("two shards of three were merged")
	}
	if _, err := MergeDirs([]string{filepath.Join(dir, "whole")}, filepath.Join(dir, "bad")); err == nil {
		t.Error("a run that is not a shard was merged")
	}
}
