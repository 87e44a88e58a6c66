package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// reconcileFolder writes a run folder's journal.jsonl (one accepted
// deposit) and a ledger export that books it, with a1's balance changed by
// drift, and returns the folder and the ledger's path.
func reconcileFolder(t *testing.T, drift int64) (dir, ledger string) {
	t.Helper()
	dir = t.TempDir()
	e := replay.JournalEntry{Seq: 1, Kind: replay.KindDeposit, ID: "d1", Account: "a1", Amount: 10000,
		IntendedUS: 1000, SentUS: 1000, DoneUS: 2000, Outcome: replay.OutcomeAccepted, HTTPStatus: 201}
	line, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "journal.jsonl"), append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &reports.Ledger{
		Accounts: []reports.Account{
			{ID: "a1", Kind: reports.AccountPlayer, Balance: 10000 + drift},
			{ID: "cash", Kind: reports.AccountCash, AllowNegative: true, Balance: -10000},
		},
		Transactions: []reports.Transaction{{ID: 1, Kind: reports.TxDeposit, Ref: "d1"}},
		Postings: []reports.Posting{
			{ID: 1, TxID: 1, Account: "cash", Amount: -10000},
			{ID: 2, TxID: 1, Account: "a1", Amount: 10000},
		},
	}
	ledger = filepath.Join(dir, "ledger.jsonl")
	f, err := os.Create(ledger)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := reports.WriteJSONL(f, l); err != nil {
		t.Fatal(err)
	}
	return dir, ledger
}

func TestReconcileCommand(t *testing.T) {
	good, goodLedger := reconcileFolder(t, 0)
	bad, badLedger := reconcileFolder(t, 500)
	broken := t.TempDir()
	if err := os.WriteFile(filepath.Join(broken, "journal.jsonl"), []byte("{\"seq\":1,\"turbo\":true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string // every one must appear in stdout
		stderr []string // and in stderr
	}{
		// Happy: a consistent export passes; the hot state and the event
		// store's invariants are named, not checked.
		{"a consistent export", []string{"reconcile", "--ledger", goodLedger, "--journal", good, "--out", out}, exitPass,
			[]string{"money_conserved", "PASS", "hot_state_matches_ledger", "NOT_CHECKED", "postings_append_only"}, nil},
		// Sad: a balance changed behind the ledger's back, with its witness.
		{"a drifted balance", []string{"reconcile", "--ledger", badLedger, "--journal", filepath.Join(bad, "journal.jsonl")}, exitRecon,
			[]string{"balances_match_postings", "FAIL", "[a1] account a1 stores balance 10500 but its postings sum to 10000"}, nil},
		// Bad input: no ledger, both ledgers, no journal, a broken journal.
		{"no ledger", []string{"reconcile", "--journal", good}, exitInput, nil, []string{"exactly one of --postgres-url and --ledger"}},
		{"two ledgers", []string{"reconcile", "--journal", good, "--ledger", goodLedger, "--postgres-url", "postgres://x@127.0.0.1:1/x"},
			exitInput, nil, []string{"exactly one"}},
		{"no journal", []string{"reconcile", "--ledger", goodLedger}, exitInput, nil, []string{"--journal is required"}},
		{"a prefix without redis", []string{"reconcile", "--ledger", goodLedger, "--journal", good, "--redis-prefix", "p:"}, exitInput,
			nil, []string{"go together"}},
		{"a broken journal", []string{"reconcile", "--ledger", goodLedger, "--journal", broken}, exitInput, nil, []string{"turbo"}},
		{"a missing ledger file", []string{"reconcile", "--ledger", filepath.Join(good, "nope.jsonl"), "--journal", good}, exitInput,
			nil, []string{"nope.jsonl"}},
		// A store that cannot be reached: 4.
		{"postgres unreachable", []string{"reconcile", "--journal", good,
			"--postgres-url", "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"}, exitEnv, nil, []string{"ledger"}},
		{"redis unreachable", []string{"reconcile", "--journal", good, "--ledger", goodLedger,
			"--redis-url", "redis://127.0.0.1:1/0?dial_timeout=1s&max_retries=-1", "--redis-prefix", "p:"}, exitEnv, nil, []string{"hot state"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}

	t.Run("--out writes reconcile.json, --json prints it", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(out, "reconcile.json"))
		if err != nil {
			t.Fatal(err)
		}
		var written struct {
			Invariants []reports.Invariant `json:"invariants"`
			ExitCode   int                 `json:"exit_code"`
		}
		if err := json.Unmarshal(b, &written); err != nil || len(written.Invariants) != len(reports.InvariantNames()) || written.ExitCode != 0 {
			t.Fatalf("reconcile.json: %v %+v", err, written)
		}
		var stdout, stderr bytes.Buffer
		if code := run([]string{"reconcile", "--json", "--ledger", goodLedger, "--journal", good}, &stdout, &stderr); code != exitPass {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if !bytes.Equal(bytes.TrimSpace(stdout.Bytes()), bytes.TrimSpace(b)) {
			t.Fatalf("--json printed\n%s\nbut --out wrote\n%s", stdout.String(), b)
		}
	})
}
