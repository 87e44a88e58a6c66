package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/internal/servicetest"
	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// shortScenario is a run small enough for `make test`: 60 s of capture at
// 6x, with a Redis latency fault, and an objective no platform can meet.
const shortScenario = `
name: e2e
seed: 11
load:
  generate: {profile: football, matches: 1, bettors: 40, duration: 60s}
  speed: 6
  headroom: 1.5
  # -race on a shared 2-core machine: this test checks the pipeline, not
  # the generator's precision, so it must not turn invalid (exit 5).
  max_schedule_lag: 1s
faults:
  # One fault on each hop, in turn: each must land, proven by the toxic read
  # back, a probe through the link, and the run's own bytes across it.
  - {name: redis-slow, at: 1s, for: 2s, target: redis, kind: latency, params: {latency: 80ms}}
  - {name: api-slow, at: 3500ms, for: 1500ms, target: api, kind: latency, params: {latency: 40ms}}
  - {name: feed-slow, at: 5500ms, for: 1500ms, target: feed, kind: latency, params: {latency: 40ms}}
  - {name: stream-slow, at: 7500ms, for: 1500ms, target: stream, kind: latency, params: {latency: 40ms}}
slos:
  - {metric: bet_acceptance, p99: 1us}
  - {metric: error_rate, max: 50%}
reconcile: strict
drain: 20s
`

// resolveStack gives the run the test services: the environment's, else
// the local defaults. It skips (or fails, in CI) when they do not answer.
func resolveStack(t testing.TB) stack.Options {
	t.Helper()
	return stack.Options{
		RedisURL:     servicetest.RedisURL(t),
		PostgresURL:  servicetest.PostgresAdminURL(t),
		NoContainers: true,
	}
}

// TestRunEndToEnd runs one real scenario against real Redis and PostgreSQL,
// then tampers with the kept ledger and proves reconciliation catches it.
func TestRunEndToEnd(t *testing.T) {
	so := resolveStack(t)
	sc, err := Parse("e2e.yaml", []byte(shortScenario))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := Run(ctx, sc, Options{OutDir: out, Stack: so, Keep: true, PlatformBinary: platformBinary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Run.Teardown(context.Background()) })
	rep := res.Report

	t.Run("impossible SLO exits 1 with a clean ledger", func(t *testing.T) {
		for _, inv := range rep.Invariants {
			if inv.Failed() {
				t.Errorf("invariant %s failed: %+v", inv.Name, inv.Witnesses)
			}
		}
		if rep.ExitCode != 1 || rep.Verdict != "fail" {
			t.Fatalf("exit %d verdict %s, want 1 fail; problems %v", rep.ExitCode, rep.Verdict, rep.Problems)
		}
	})

	t.Run("load was replayed and journaled", func(t *testing.T) {
		if rep.Load.Bets.Accepted == 0 {
			t.Fatalf("no bet accepted: %+v", rep.Load)
		}
		if rep.Load.Sent == 0 || rep.Load.Planned < rep.Load.Sent {
			t.Fatalf("load counts %+v", rep.Load)
		}
		clones := 0
		for _, e := range readJournal(t, filepath.Join(out, "journal.jsonl")) {
			if e.Clone > 0 {
				clones++
			}
		}
		if clones == 0 {
			t.Error("headroom 1.5 produced no cloned sessions in the journal")
		}
	})

	t.Run("a fault on every hop landed, with evidence", func(t *testing.T) {
		if len(rep.Faults) != 4 {
			t.Fatalf("faults %+v", rep.Faults)
		}
		for _, f := range rep.Faults {
			if !f.Landed || f.Evidence == "" || f.HealedAtS <= f.InjectedAtS {
				t.Errorf("fault %s on %s did not land: %+v", f.Name, f.Target, f)
			}
		}
	})

	t.Run("report files", func(t *testing.T) {
		for _, name := range []string{"report.json", "junit.xml", "summary.md", "journal.jsonl", "ledger.jsonl"} {
			if _, err := os.Stat(filepath.Join(out, name)); err != nil {
				t.Error(err)
			}
		}
		var doc map[string]any
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"schema", "verdict", "exit_code", "scenario", "run", "load", "slos", "invariants", "faults"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("report.json lacks %q", k)
			}
		}
	})

	// The tampering tests change the kept database, as an operator's bug or
	// an attacker with superuser rights would, and re-run reconciliation.
	conn, err := pgx.Connect(ctx, res.Run.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pool, err := pgxpool.New(ctx, res.Run.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	journal := readJournal(t, filepath.Join(out, "journal.jsonl"))
	recheck := func(t *testing.T) map[string]reports.Invariant {
		t.Helper()
		l, err := reports.NewPostgresLedger(pool).Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]reports.Invariant{}
		for _, inv := range reports.Reconcile(journal, l, reports.ReconcileOptions{}) {
			got[inv.Name] = inv
		}
		return got
	}

	t.Run("a duplicated bet is caught", func(t *testing.T) {
		var id string
		if err := conn.QueryRow(ctx, `SELECT id FROM bets ORDER BY id LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		dup := id + "-dup"
		_, err := conn.Exec(ctx, `INSERT INTO bets (id, account_id, market_id, selection_id, stake, odds_e4, requested_odds_e4, status, payout, placed_at, settled_at)
			SELECT $2, account_id, market_id, selection_id, stake, odds_e4, requested_odds_e4, status, payout, placed_at, settled_at FROM bets WHERE id = $1`, id, dup)
		if err != nil {
			t.Fatal(err)
		}
		inv := recheck(t)["no_phantom_entries"]
		if inv.Pass || !witnessNames(inv, dup) {
			t.Fatalf("no_phantom_entries did not name %s: %+v", dup, inv)
		}
	})

	t.Run("a deleted posting is caught", func(t *testing.T) {
		var postingID, txID int64
		if err := conn.QueryRow(ctx, `SELECT p.id, p.tx_id FROM postings p JOIN transactions t ON t.id = p.tx_id
			WHERE t.kind = 'stake' ORDER BY p.id LIMIT 1`).Scan(&postingID, &txID); err != nil {
			t.Fatal(err)
		}
		// The append-only trigger refuses a plain delete; prove it first.
		if _, err := conn.Exec(ctx, `DELETE FROM postings WHERE id = $1`, postingID); err == nil {
			t.Fatal("the ledger let a posting be deleted")
		}
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM postings WHERE id = $1`, postingID); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		got := recheck(t)
		for _, name := range []string{"double_entry", "balances_match_postings"} {
			if got[name].Pass {
				t.Errorf("%s passed after posting %d of tx %d was deleted", name, postingID, txID)
			}
		}
		l, err := reports.NewPostgresLedger(pool).Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in := reports.Input{ScenarioName: "e2e", Journal: journal, Ledger: l, Reconcile: true, Objectives: sc.Objectives}
		if code := reports.Evaluate(in).ExitCode; code != 2 {
			t.Errorf("exit code %d after tampering, want 2 (reconciliation wins over the SLO breach)", code)
		}
	})
}

func witnessNames(inv reports.Invariant, id string) bool {
	for _, w := range inv.Witnesses {
		if slices.Contains(w.IDs, id) {
			return true
		}
	}
	return false
}

func readJournal(t *testing.T, path string) []replay.JournalEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []replay.JournalEntry
	dec := json.NewDecoder(f)
	for dec.More() {
		var e replay.JournalEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
