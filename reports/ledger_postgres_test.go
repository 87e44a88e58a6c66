package reports

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

// mustLedgerDB creates a fresh database with the reference ledger schema,
// applied from the migration files on disk (reports never imports the
// platform), and drops it when the test ends.
func mustLedgerDB(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	adminURL := servicetest.PostgresAdminURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)

	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "reports_test_" + hex.EncodeToString(suffix[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			tb.Errorf("drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop %s: %v", name, err)
		}
	})

	u, err := url.Parse(adminURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	pool, err := pgxpool.New(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)

	files, err := filepath.Glob(filepath.Join("..", "platform", "postgres", "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no migrations found: %v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		sql, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := pool.Exec(ctx, string(sql)); err != nil {
			tb.Fatalf("apply %s: %v", f, err)
		}
	}
	return pool
}

// insertLedger writes l into the reference schema with plain SQL, as the
// platform would have left it. The system accounts exist already.
func insertLedger(tb testing.TB, pool *pgxpool.Pool, l *Ledger) {
	tb.Helper()
	ctx := context.Background()
	batch := &pgx.Batch{}
	// The migrations seed system accounts the fixture may not list (the
	// platform's shards); the fixture is the whole ledger, so they go.
	ids := make([]string, 0, len(l.Accounts))
	for _, a := range l.Accounts {
		ids = append(ids, a.ID)
	}
	batch.Queue(`DELETE FROM accounts WHERE id <> ALL($1)`, ids)
	for _, a := range l.Accounts {
		batch.Queue(`INSERT INTO accounts (id, kind, allow_negative, balance) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET balance = excluded.balance`, a.ID, a.Kind, a.AllowNegative, a.Balance)
	}
	for _, m := range l.Markets {
		batch.Queue(`INSERT INTO markets (id, status, winners, resulted_at) VALUES ($1, $2, $3, $4)`, m.ID, m.Status, m.Winners, m.ResultedAt)
	}
	for _, t := range l.Transactions {
		batch.Queue(`INSERT INTO transactions (id, kind, ref, created_at) VALUES ($1, $2, $3, $4)`, t.ID, t.Kind, t.Ref, t.CreatedAt)
	}
	for _, p := range l.Postings {
		batch.Queue(`INSERT INTO postings (id, tx_id, account_id, amount) VALUES ($1, $2, $3, $4)`, p.ID, p.TxID, p.Account, p.Amount)
	}
	extra, extraVal := platformBetColumns(tb, pool)
	for _, b := range l.Bets {
		batch.Queue(`INSERT INTO bets (id, account_id, market_id, selection_id, stake, odds_e4, status, payout, placed_at, settled_at`+extra+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10`+extraVal+`)`,
			b.ID, b.Account, b.Market, b.Selection, b.Stake, b.OddsE4, b.Status, b.Payout, b.PlacedAt, b.SettledAt)
	}
	if err := pool.SendBatch(ctx, batch).Close(); err != nil {
		tb.Fatalf("insert ledger: %v", err)
	}
}

// platformBetColumns returns the bets columns the reference platform
// requires beyond the ledger view, as SQL to append to an INSERT's column
// list and to its VALUES (whose odds_e4 is $6). reports reads only the view,
// but its tests write rows as the platform would: since migration 0002 the
// platform records the requested odds, here the accepted ones (a request
// that got exactly the odds it asked for).
func platformBetColumns(tb testing.TB, pool *pgxpool.Pool) (columns, values string) {
	tb.Helper()
	var has bool
	err := pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'bets' AND column_name = 'requested_odds_e4')`).Scan(&has)
	if err != nil {
		tb.Fatal(err)
	}
	if !has {
		return "", ""
	}
	return ", requested_odds_e4", ", $6"
}

func TestPostgresLedger(t *testing.T) {
	pool := mustLedgerDB(t)
	ctx := context.Background()
	journal, want := fixture()
	insertLedger(t, pool, want)
	src := NewPostgresLedger(pool)

	read := func(t *testing.T) map[string]Invariant {
		t.Helper()
		l, err := src.Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return invariantsByName(Reconcile(journal, l, ReconcileOptions{}))
	}

	t.Run("reads back what was written", func(t *testing.T) {
		got, err := src.Ledger(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ledger read back differs:\n got %+v\nwant %+v", got, want)
		}
	})

	t.Run("a consistent ledger reconciles", func(t *testing.T) {
		for name, inv := range read(t) {
			if inv.Failed() {
				t.Errorf("%s failed: %+v", name, inv.Witnesses)
			}
		}
	})

	t.Run("a deleted posting is caught", func(t *testing.T) {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		target := posting(want, 4, "a1").ID // b1's stake, out of a1
		// The append-only trigger refuses a plain delete.
		if _, err := conn.Exec(ctx, `DELETE FROM postings WHERE id = $1`, target); err == nil {
			t.Fatal("the schema let a posting be deleted")
		}
		// A superuser can bypass triggers, as an attacker would.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica`); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM postings WHERE id = $1`, target); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		got := read(t)
		for _, tc := range []struct {
			inv string
			ids []string
		}{
			{InvDoubleEntry, []string{"tx:4"}},
			{InvBalancesMatch, []string{"a1", "tx:4"}},
		} {
			inv := got[tc.inv]
			if inv.Pass || len(inv.Witnesses) == 0 {
				t.Fatalf("%s passed after posting %d was deleted", tc.inv, target)
			}
			for _, id := range tc.ids {
				if !slices.Contains(inv.Witnesses[0].IDs, id) {
					t.Errorf("%s witness %+v does not name %s", tc.inv, inv.Witnesses[0], id)
				}
			}
		}
	})

	t.Run("a duplicated bet row is caught", func(t *testing.T) {
		extra, _ := platformBetColumns(t, pool)
		if _, err := pool.Exec(ctx, `INSERT INTO bets (id, account_id, market_id, selection_id, stake, odds_e4, status, payout, placed_at, settled_at`+extra+`)
			SELECT 'b1-dup', account_id, market_id, selection_id, stake, odds_e4, status, payout, placed_at, settled_at`+extra+` FROM bets WHERE id = 'b1'`); err != nil {
			t.Fatal(err)
		}
		inv := read(t)[InvNoPhantomEntries]
		if inv.Pass || len(inv.Witnesses) != 1 || !slices.Equal(inv.Witnesses[0].IDs, []string{"b1-dup"}) {
			t.Fatalf("no_phantom_entries did not name b1-dup: %+v", inv)
		}
	})

	t.Run("a cancelled read fails", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := src.Ledger(cctx); err == nil {
			t.Fatal("no error from a cancelled context")
		}
	})
}

// TestPostgresLedgerSnapshot shows that one Ledger call reads one
// snapshot: another session books a deposit (transaction, postings and
// balances, committed together) right after the accounts are read. Read
// outside a snapshot, the postings would include it while the balances did
// not, and reconciliation would report a discrepancy that never existed.
func TestPostgresLedgerSnapshot(t *testing.T) {
	pool := mustLedgerDB(t)
	ctx := context.Background()
	journal, l := fixture()
	insertLedger(t, pool, l)

	src := &postgresLedger{pool: pool}
	src.readHook = func(table string) {
		if table != "accounts" {
			return
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Error(err)
			return
		}
		defer tx.Rollback(ctx)
		for _, q := range []string{
			`INSERT INTO transactions (id, kind, ref) VALUES (100, 'deposit', 'late')`,
			`INSERT INTO postings (id, tx_id, account_id, amount) VALUES (100, 100, 'cash', -5), (101, 100, 'a1', 5)`,
			`UPDATE accounts SET balance = balance - 5 WHERE id = 'cash'`,
			`UPDATE accounts SET balance = balance + 5 WHERE id = 'a1'`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				t.Error(err)
				return
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Error(err)
		}
	}
	got, err := src.Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Transactions) != len(l.Transactions) || len(got.Postings) != len(l.Postings) {
		t.Fatalf("the snapshot saw %d transactions and %d postings committed after it began",
			len(got.Transactions)-len(l.Transactions), len(got.Postings)-len(l.Postings))
	}
	for _, inv := range Reconcile(journal, got, ReconcileOptions{}) {
		if inv.Failed() {
			t.Errorf("%s failed on a snapshot: %+v", inv.Name, inv.Witnesses)
		}
	}
	// The deposit is there for the next read.
	fresh, err := NewPostgresLedger(pool).Ledger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh.Postings) != len(l.Postings)+2 {
		t.Fatalf("%d postings after the deposit, want %d", len(fresh.Postings), len(l.Postings)+2)
	}
}
