package reports

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// storeDB is a fresh database with the reference schema (its event store
// included) holding fixture()'s ledger, written as the platform would,
// through the tables, so that the triggers record it.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := mustLedgerDB(t)
	_, l := fixture()
	insertLedger(t, pool, l)
	return pool
}

// tamper runs statements as a superuser could: with triggers on unless
// off is set, in which case none fires (session_replication_role).
func tamper(t *testing.T, pool *pgxpool.Pool, off bool, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if off {
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range sqls {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func scalar[T any](t *testing.T, pool *pgxpool.Pool, q string) T {
	t.Helper()
	var v T
	if err := pool.QueryRow(context.Background(), q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func names(inv Invariant, id string) bool {
	for _, w := range inv.Witnesses {
		if slices.Contains(w.IDs, id) {
			return true
		}
	}
	return false
}

func TestEventStoreCleanFolds(t *testing.T) {
	pool := storeDB(t)
	got, err := CheckEventStore(context.Background(), NewPostgresEventStore(pool))
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstBreak != nil {
		t.Fatalf("chain breaks: %+v", got.FirstBreak)
	}
	for _, inv := range []Invariant{got.AppendOnly, got.Folds} {
		if inv.Status != StatusPass || inv.Checked == 0 {
			t.Errorf("%s: %+v, want checked and passing", inv.Name, inv)
		}
	}
	if got.Events == 0 || got.Head.Position != got.Events {
		t.Errorf("%d events, head at %d", got.Events, got.Head.Position)
	}
	_, l := fixture()
	for _, a := range l.Accounts {
		if got.Balances[a.ID] != a.Balance {
			t.Errorf("account %s folds to %d, want %d", a.ID, got.Balances[a.ID], a.Balance)
		}
	}
	// Folded through reconciliation, the invariants are those.
	j, _ := fixture()
	invs := invariantsByName(Reconcile(j, l, ReconcileOptions{EventStore: got}))
	if invs[InvPostingsAppendOnly].Status != StatusPass || invs[InvEventStoreFolds].Status != StatusPass {
		t.Errorf("reconcile: %+v %+v", invs[InvPostingsAppendOnly], invs[InvEventStoreFolds])
	}
	if invs := invariantsByName(Reconcile(j, l, ReconcileOptions{})); invs[InvEventStoreFolds].Status != StatusNotChecked ||
		invs[InvPostingsAppendOnly].Status != StatusNotChecked {
		t.Errorf("without a store: %+v %+v, want not_checked", invs[InvPostingsAppendOnly], invs[InvEventStoreFolds])
	}
}

func TestEventStoreTampered(t *testing.T) {
	tests := []struct {
		name string
		// corrupt changes the database and returns the invariant that must
		// fail and an id its witness must name; brk is the position the
		// chain must first break at (0: it must verify).
		corrupt func(t *testing.T, pool *pgxpool.Pool) (inv, id string, brk int64)
	}{
		{"an edited event", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			pos := scalar[int64](t, pool, `SELECT min(position) FROM events WHERE tbl = 'postings' AND (payload::jsonb->'new'->>'amount')::bigint > 0`)
			tamper(t, pool, true, `UPDATE events SET payload = replace(payload, '"amount": ', '"amount": 1') WHERE position = `+itoa(pos))
			return InvPostingsAppendOnly, eventRef(pos), pos
		}},
		{"an edited event with its hash recomputed", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			pos := scalar[int64](t, pool, `SELECT min(position) FROM events WHERE tbl = 'postings' AND (payload::jsonb->'new'->>'amount')::bigint > 0`)
			tamper(t, pool, true, `UPDATE events SET payload = replace(payload, '"amount": ', '"amount": 1') WHERE position = `+itoa(pos),
				`UPDATE events SET hash = sha256(prev_hash || convert_to(payload, 'UTF8')) WHERE position = `+itoa(pos))
			return InvPostingsAppendOnly, eventRef(pos + 1), pos + 1
		}},
		{"a deleted event", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			pos := scalar[int64](t, pool, `SELECT min(position) FROM events WHERE tbl = 'bets'`)
			tamper(t, pool, true, `DELETE FROM events WHERE position = `+itoa(pos))
			return InvPostingsAppendOnly, eventRef(pos + 1), pos + 1
		}},
		{"the last event deleted, the head left", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			pos := scalar[int64](t, pool, `SELECT max(position) FROM events`)
			tamper(t, pool, true, `DELETE FROM events WHERE position = `+itoa(pos))
			return InvPostingsAppendOnly, eventRef(pos - 1), pos - 1
		}},
		{"a posting updated with the triggers off", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			id := scalar[int64](t, pool, `SELECT min(id) FROM postings`)
			tamper(t, pool, true, `UPDATE postings SET amount = amount + 1 WHERE id = `+itoa(id))
			return InvEventStoreFolds, "posting:" + itoa(id), 0
		}},
		{"a posting updated with only its append-only trigger off", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			id := scalar[int64](t, pool, `SELECT min(id) FROM postings`)
			tamper(t, pool, false, `ALTER TABLE postings DISABLE TRIGGER postings_append_only`)
			tamper(t, pool, false, `UPDATE postings SET amount = amount + 1 WHERE id = `+itoa(id))
			tamper(t, pool, false, `ALTER TABLE postings ENABLE TRIGGER postings_append_only`)
			return InvPostingsAppendOnly, "posting:" + itoa(id), 0
		}},
		{"a bet's row changed with the triggers off", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			tamper(t, pool, true, `UPDATE bets SET payout = payout + 1 WHERE id = 'b1'`)
			return InvEventStoreFolds, "b1", 0
		}},
		{"a balance changed", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			tamper(t, pool, false, `UPDATE accounts SET balance = balance + 5 WHERE id = 'a1'`)
			return InvEventStoreFolds, "a1", 0
		}},
		{"a transaction deleted with the triggers off", func(t *testing.T, pool *pgxpool.Pool) (string, string, int64) {
			id := scalar[int64](t, pool, `SELECT max(id) FROM transactions`)
			tamper(t, pool, true, `DELETE FROM postings WHERE tx_id = `+itoa(id), `DELETE FROM transactions WHERE id = `+itoa(id))
			return InvEventStoreFolds, "tx:" + itoa(id), 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool := storeDB(t)
			name, id, brk := tc.corrupt(t, pool)
			got, err := CheckEventStore(context.Background(), NewPostgresEventStore(pool))
			if err != nil {
				t.Fatal(err)
			}
			inv := map[string]Invariant{InvPostingsAppendOnly: got.AppendOnly, InvEventStoreFolds: got.Folds}[name]
			if inv.Status != StatusFail || !names(inv, id) {
				t.Errorf("%s did not catch it naming %s: %+v", name, id, inv)
			}
			switch {
			case brk == 0 && got.FirstBreak != nil:
				t.Errorf("the chain breaks at %+v, want it whole", got.FirstBreak)
			case brk != 0 && (got.FirstBreak == nil || got.FirstBreak.Position != brk):
				t.Errorf("first break %+v, want position %d", got.FirstBreak, brk)
			}
		})
	}
}

func TestEventStoreAbsent(t *testing.T) {
	pool := mustLedgerDB(t)
	if _, err := pool.Exec(context.Background(), `DROP TABLE events CASCADE`); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckEventStore(context.Background(), NewPostgresEventStore(pool)); !errors.Is(err, ErrNoEventStore) {
		t.Fatalf("err %v, want ErrNoEventStore", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A store the platform switched off on the record is not checked, and says
// why; capture triggers off without that record are tampering, which the
// fold catches.
func TestEventStoreSwitchedOff(t *testing.T) {
	pool := storeDB(t)
	tamper(t, pool, false,
		`INSERT INTO event_store_switch (enabled, reason) VALUES (false, 'inplay platform --event-store=false')`,
		`ALTER TABLE postings DISABLE TRIGGER postings_events`)
	got, err := CheckEventStore(context.Background(), NewPostgresEventStore(pool))
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range []Invariant{got.AppendOnly, got.Folds} {
		if inv.Status != StatusNotChecked || inv.Pass || !strings.Contains(inv.Note, "--event-store=false") {
			t.Errorf("%s: %+v; want not_checked, saying the platform switched it off", inv.Name, inv)
		}
	}
	j, l := fixture()
	invs := invariantsByName(Reconcile(j, l, ReconcileOptions{EventStore: got}))
	if invs[InvPostingsAppendOnly].Status != StatusNotChecked || invs[InvEventStoreFolds].Status != StatusNotChecked {
		t.Errorf("reconcile: %+v %+v", invs[InvPostingsAppendOnly], invs[InvEventStoreFolds])
	}

	// The trigger off with no record of it: a posting changed then is
	// caught by the fold.
	other := storeDB(t)
	tamper(t, other, false, `ALTER TABLE postings DISABLE TRIGGER postings_events`)
	tamper(t, other, true, `UPDATE postings SET amount = amount + 1 WHERE id = (SELECT min(id) FROM postings WHERE amount > 0)`)
	got, err = CheckEventStore(context.Background(), NewPostgresEventStore(other))
	if err != nil {
		t.Fatal(err)
	}
	if got.Folds.Status != StatusFail {
		t.Errorf("a posting changed with its trigger off, unrecorded: folds %+v", got.Folds)
	}
}
