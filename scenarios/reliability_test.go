package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// Issue 7's reliability requirement, as it states it: "A SIGKILL of the
// platform at 1,000 bets/s: every acknowledged bet is in the ledger exactly
// once, every unknown outcome is resolved, and acceptance resumes within 5 s
// of the restart."

const (
	reliabilityRate = 1000             // bets per second offered
	reliabilityBets = 12 * time.Second // of bets, after benchWarmup of deposits
	// reliabilityKillAt is 4 s into the bets; the platform is down for
	// reliabilityDown, then started again.
	reliabilityKillAt = benchWarmup + 4*time.Second
	reliabilityDown   = time.Second
	// reliabilityResume is the bound, from the new process's ready
	// to the first bet accepted after it.
	reliabilityResume = 5 * time.Second
)

// TestReliabilityKillAtRate kills the platform with SIGKILL while 1,000 bets
// a second arrive (the bench's dense capture, through every link as in any
// run with faults), starts it again after reliabilityDown, and checks the
// three claims from the report and the journal.
//
// It runs in `make chaos` (INPLAY_CHAOS=1), alone, not in `make test`: at
// 1,000 bets/s under -race, beside the other packages' tests on two cores,
// the harness's own process (which relays every hop's link) starved the
// links, and the restarted platform's first PostgreSQL connection through
// its link was reset, so the run ended with exit 4 and measured nothing.
func TestReliabilityKillAtRate(t *testing.T) {
	if os.Getenv("INPLAY_CHAOS") == "" {
		t.Skip("1,000 bets/s with a kill: run by make chaos (INPLAY_CHAOS=1), alone on the machine")
	}
	so := resolveStack(t)
	dir := t.TempDir()
	capPath := filepath.Join(dir, "capture.jsonl")
	f, err := os.Create(capPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.WriteCapture(f, benchCapture(reliabilityRate, reliabilityBets)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Workers: the bets of the down second and of the new process's start
	// (1 to 4 s here, slower when the machine is busy) wait in the
	// listener's backlog, every one in flight until its 5 s timeout, and a
	// bet due with no worker free is dropped. The schedule-lag bound is the
	// test's, as in the catalog tests: -race on two shared cores.
	yaml := fmt.Sprintf(`
name: reliability-kill
seed: 1
load:
  capture: %s
  speed: 1
  workers: 8192
  max_schedule_lag: %s
faults:
  - {name: kill, at: %s, for: %s, target: platform, kind: kill}
reconcile: strict
drain: 10s
`, capPath, testScheduleLag, reliabilityKillAt, reliabilityDown)
	sc, err := Parse("reliability.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if d := os.Getenv("INPLAY_RELIABILITY_OUT"); d != "" {
		out = d // keep the run's files to read by hand
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: out, Stack: so, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	t.Logf("exit %d, verdict %s, problems %v; load: planned %d, sent %d, dropped %d, lag p99 %.1f ms, bets %+v",
		rep.ExitCode, rep.Verdict, rep.Problems, rep.Load.Planned, rep.Load.Sent, rep.Load.Dropped, rep.Load.ScheduleLagP99MS, rep.Load.Bets)
	// A drop (no worker free) makes the run invalid (exit 5) but touches
	// none of the three claims: a dropped bet was never sent. It is logged
	// above, not failed on: on a busy machine the start can outlast the
	// workers.

	t.Run("the kill landed and a new process came up", func(t *testing.T) {
		if len(rep.Faults) != 1 {
			t.Fatalf("faults %+v", rep.Faults)
		}
		k := rep.Faults[0]
		t.Logf("%s", k.Evidence)
		if !k.Injected || !k.Landed || !k.Healed || !strings.Contains(k.Evidence, "start pid") || !strings.Contains(k.Evidence, "ready in") {
			t.Fatalf("kill: injected %v, landed %v, healed %v: %s", k.Injected, k.Landed, k.Healed, k.Evidence)
		}
	})

	t.Run("every acknowledged bet booked once, every unknown resolved", func(t *testing.T) {
		for _, inv := range rep.Invariants {
			if inv.Failed() {
				t.Errorf("invariant %s: %d violations %+v", inv.Name, inv.Violations, inv.Witnesses)
			}
		}
		for _, name := range []string{reports.InvAcknowledgedBooked, reports.InvUnknownResolved} {
			inv := invariantNamed(rep, name)
			t.Logf("%s: checked %d, violations %d; %s", name, inv.Checked, inv.Violations, inv.Note)
			if inv.Name == "" || !inv.Pass || inv.Checked == 0 {
				t.Errorf("%s: %+v; want it checked (> 0) and passed", name, inv)
			}
		}
		if rep.Load.Bets.Accepted < reliabilityRate {
			t.Errorf("only %d bets accepted of %d offered", rep.Load.Bets.Accepted, rep.Load.Bets.Sent)
		}
	})

	t.Run("acceptance resumes within 5 s of the restart", func(t *testing.T) {
		if len(rep.Faults) != 1 || !rep.Faults[0].Healed {
			t.Fatal("no restart to measure from")
		}
		// The fault's healed time is when the new process answered ready
		// (the kill's heal is the start, which waits for /readyz), on the
		// replay clock the journal's times use.
		ready := seconds(rep.Faults[0].HealedAtS)
		var first *replay.JournalEntry
		journal := readJournal(t, filepath.Join(out, "journal.jsonl"))
		for i, e := range journal {
			if e.Kind == replay.KindBet && e.Outcome == replay.OutcomeAccepted && e.IntendedUS >= ready &&
				(first == nil || e.IntendedUS < first.IntendedUS) {
				first = &journal[i]
			}
		}
		if first == nil {
			t.Fatalf("no bet intended after the restart's ready at %.3fs was accepted", rep.Faults[0].HealedAtS)
		}
		// Bets meant for the down second and the start waited in the
		// backlog, so each was answered later than meant; acceptance is
		// judged on the intended clock (what a bettor arriving then would
		// see), which a stall of the harness's own cannot move.
		gap := time.Duration(first.IntendedUS-ready) * time.Microsecond
		answered := time.Duration(first.DoneUS-ready) * time.Microsecond
		t.Logf("ready at %.3fs; first bet intended after it and accepted: %s intended +%s, answered +%s after ready",
			rep.Faults[0].HealedAtS, first.ID, gap.Round(time.Microsecond), answered.Round(time.Microsecond))
		if gap > reliabilityResume {
			t.Errorf("the first accepted bet intended after the restart's ready was meant %s after it; the bound is %s", gap, reliabilityResume)
		}
	})
}

// invariantNamed returns the report's invariant called name; the zero one
// when it is absent.
func invariantNamed(rep *reports.Report, name string) reports.Invariant {
	for _, inv := range rep.Invariants {
		if inv.Name == name {
			return inv
		}
	}
	return reports.Invariant{}
}
