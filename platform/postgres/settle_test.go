package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
)

// logWrites makes the test database record every row written to the
// ledger's tables, in statement order and with the time of the write, so a
// test can see the order of a transaction's writes.
func logWrites(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	ctx := context.Background()
	// AFTER row triggers fire when their statement ends and before the next
	// one starts, so n follows the statements' order.
	ddl := `CREATE TABLE write_log (
			n      BIGSERIAL PRIMARY KEY,
			tbl    TEXT NOT NULL,
			row_id TEXT NOT NULL,
			at     TIMESTAMPTZ NOT NULL
		);
		CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO write_log (tbl, row_id, at) VALUES (TG_TABLE_NAME, NEW.id::text, clock_timestamp());
			RETURN NULL;
		END $$;`
	for _, table := range []string{"accounts", "markets", "transactions", "postings", "bets"} {
		ddl += `CREATE TRIGGER log_` + table + ` AFTER INSERT OR UPDATE ON ` + table +
			` FOR EACH ROW EXECUTE FUNCTION log_write();`
	}
	if _, err := pool.Exec(ctx, ddl); err != nil {
		tb.Fatalf("install the write log: %v", err)
	}
}

// checkSettledAfterTheirTransaction asserts that no settled bet's
// settled_at is earlier than the created_at of its settle or void
// transaction, and that every settled bet has one.
func checkSettledAfterTheirTransaction(tb testing.TB, pool *pgxpool.Pool) {
	tb.Helper()
	if n := count(tb, pool, `SELECT count(*) FROM bets b WHERE b.status <> 'accepted' AND NOT EXISTS
		(SELECT 1 FROM transactions t WHERE t.ref = b.id AND t.kind IN ('settle', 'void'))`); n != 0 {
		tb.Errorf("%d settled bets have no settle or void transaction", n)
	}
	if n := count(tb, pool, `SELECT count(*) FROM bets b JOIN transactions t
		ON t.ref = b.id AND t.kind IN ('settle', 'void')
		WHERE b.settled_at IS NULL OR b.settled_at < t.created_at`); n != 0 {
		tb.Errorf("%d settled bets have a settled_at before their settle transaction's created_at", n)
	}
}

// TestSettlementStampsBetsLast checks that settling a market stamps the
// bets (status, payout, settled_at) as the last write of its transaction,
// after every posting and every balance update, so settlement lag is not
// read low while the transaction still queues on the house and suspense rows.
func TestSettlementStampsBetsLast(t *testing.T) {
	s, pool := mustStore(t)
	ctx := context.Background()
	mustDeposit(t, s, "a1", 10000)
	mustDeposit(t, s, "a2", 10000)
	for _, b := range []struct {
		id, account, market, selection string
		stake                          int64
		odds                           string
	}{
		{"w1", "a1", "m1", "home", 300, "2.5"},
		{"w2", "a2", "m1", "home", 200, "1.8"},
		{"l1", "a2", "m1", "away", 400, "3"},
		{"v1", "a1", "m2", "home", 250, "4.5"},
		{"v2", "a2", "m2", "away", 150, "1.5"},
	} {
		if _, _, err := s.PlaceBet(ctx, bet(b.id, b.account, b.market, b.selection, b.stake, mustOdds(t, b.odds))); err != nil {
			t.Fatalf("place %s: %v", b.id, err)
		}
	}
	logWrites(t, pool)

	tests := []struct {
		name    string
		market  string
		winners []string
		bets    int64 // bets the settlement stamps
	}{
		// Won and lost bets: player, house and suspense balances move.
		{"won and lost", "m1", []string{"home"}, 3},
		// A void: players and suspense move, the house does not.
		{"void", "m2", []string{}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from := count(t, pool, `SELECT COALESCE(max(n), 0) FROM write_log`)
			if _, err := s.SettleMarket(ctx, tt.market, platform.Result{Winners: tt.winners}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, pool, `SELECT count(*) FROM write_log WHERE n > $1 AND tbl = 'bets'`, from); n != tt.bets {
				t.Fatalf("the settlement wrote %d bet rows, want %d", n, tt.bets)
			}
			for _, table := range []string{"accounts", "markets", "transactions", "postings"} {
				if n := count(t, pool, `SELECT count(*) FROM write_log WHERE n > $1 AND tbl = $2`, from, table); n == 0 {
					t.Fatalf("the settlement wrote no %s rows: the write log misses writes", table)
				}
			}
			// Every write to another table comes before the first bet stamp.
			var (
				firstBet, lastOther int64
				lastOtherAt         time.Time
			)
			if err := pool.QueryRow(ctx, `SELECT
				(SELECT min(n) FROM write_log WHERE n > $1 AND tbl = 'bets'),
				(SELECT max(n) FROM write_log WHERE n > $1 AND tbl <> 'bets'),
				(SELECT max(at) FROM write_log WHERE n > $1 AND tbl <> 'bets')`, from).
				Scan(&firstBet, &lastOther, &lastOtherAt); err != nil {
				t.Fatal(err)
			}
			if lastOther > firstBet {
				var tbl, id string
				if err := pool.QueryRow(ctx, `SELECT tbl, row_id FROM write_log WHERE n = $1`, lastOther).Scan(&tbl, &id); err != nil {
					t.Fatal(err)
				}
				t.Fatalf("%s row %s was written after the bets were stamped settled", tbl, id)
			}
			if n := count(t, pool, `SELECT count(*) FROM bets WHERE market_id = $1 AND settled_at < $2`,
				tt.market, lastOtherAt); n != 0 {
				t.Fatalf("%d bets have a settled_at before the settlement's last balance or posting write", n)
			}
		})
	}
	checkSettledAfterTheirTransaction(t, pool)
	checkBooks(t, pool)
}
