package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

// TestRequestedOddsMigration upgrades a ledger that was created by
// 0001_ledger alone and already holds a bet: 0002 must backfill the bet's
// requested odds with its accepted odds, and then hold every new bet to the
// column's constraints.
func TestRequestedOddsMigration(t *testing.T) {
	ctx := context.Background()
	pool := legacyLedger(t, []string{"0001_ledger"},
		`INSERT INTO accounts (id, kind, balance) VALUES ('a1', 'player', 0)`,
		`INSERT INTO bets (id, account_id, market_id, selection_id, stake, odds_e4, status)
			VALUES ('old', 'a1', 'm1', 'home', 100, 25000, 'accepted')`,
	)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if got := count(t, pool, `SELECT requested_odds_e4 FROM bets WHERE id = 'old'`); got != 25000 {
		t.Fatalf("backfilled requested_odds_e4 = %d, want the accepted 25000", got)
	}

	tests := []struct {
		name      string
		requested string // SQL value of requested_odds_e4; odds_e4 is 25000
		ok        bool
	}{
		// Asked for 2.0, accepted at 2.5.
		{"below accepted", "20000", true},
		// Asked for exactly the accepted price.
		{"at accepted", "25000", true},
		// Every bet records what it asked for.
		{"missing", "NULL", false},
		// Odds of 1.0 or less are no odds.
		{"at 1.0", "10000", false},
		// A bet is never accepted below what it asked for.
		{"above accepted", "25001", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pool.Exec(ctx, `INSERT INTO bets (id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4, status)
				VALUES ($1, 'a1', 'm1', 'home', 100, `+tt.requested+`, 25000, 'accepted')`, "b-"+tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("insert with requested_odds_e4 %s: err = %v, want ok=%v", tt.requested, err, tt.ok)
			}
		})
	}

	// A resend of the old bet must ask for exactly the backfilled odds.
	s := postgres.NewStore(pool)
	b, err := s.Bet(ctx, "old")
	if err != nil || b.RequestedOdds != 25000 {
		t.Fatalf("Bet(old) = %+v, %v", b, err)
	}
	resend := bet("old", "a1", "m1", "home", 100, 25000)
	if _, created, err := s.PlaceBet(ctx, resend); err != nil || created {
		t.Fatalf("resend at the backfilled odds: created=%v err=%v", created, err)
	}
	resend.RequestedOdds = 20000
	_, _, err = s.PlaceBet(ctx, resend)
	wantCode(t, err, platform.ECONFLICT)
}

// TestShardMigrationRefusesTakenIDs upgrades a ledger where a player was
// given an id that 0003 makes a system shard's: the migration must stop and
// name the account, never fail obscurely or adopt the player's account.
func TestShardMigrationRefusesTakenIDs(t *testing.T) {
	ctx := context.Background()
	pool := legacyLedger(t, []string{"0001_ledger", "0002_requested_odds"},
		`INSERT INTO accounts (id, kind, balance) VALUES ('cash:03', 'player', 0), ('cash:16', 'player', 0)`,
	)
	err := postgres.Migrate(ctx, pool)
	if err == nil || !strings.Contains(err.Error(), "cash:03") || strings.Contains(err.Error(), "cash:16") {
		t.Fatalf("Migrate = %v, want a refusal naming cash:03 only", err)
	}
	if got := count(t, pool, `SELECT count(*) FROM accounts WHERE kind <> 'player' AND id LIKE '%:%'`); got != 0 {
		t.Fatalf("%d shard accounts were created by a refused migration", got)
	}
}

// legacyLedger returns a pool on a fresh database whose schema was built by
// the given migrations only (file names without .sql, applied in order and
// recorded as applied), then filled by the seed statements: a ledger as it
// stood before the later migrations existed.
func legacyLedger(t *testing.T, migrations []string, seed ...string) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "legacy"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	stmts := []string{`CREATE SCHEMA legacy`}
	for _, m := range migrations {
		b, err := os.ReadFile("migrations/" + m + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, string(b))
	}
	stmts = append(stmts, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`)
	for _, m := range migrations {
		stmts = append(stmts, `INSERT INTO schema_migrations (version) VALUES ('`+m+`')`)
	}
	for _, sql := range append(stmts, seed...) {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("legacy ledger: %v", err)
		}
	}
	return pool
}

// TestPricePolicyMigration upgrades a ledger from before price policies:
// its bets were accepted under what is now "better", so that is their
// policy, a resend naming another policy is another request, and the
// schema then holds each policy's odds rule.
func TestPricePolicyMigration(t *testing.T) {
	ctx := context.Background()
	pool := legacyLedger(t, []string{"0001_ledger", "0002_requested_odds", "0003_system_shards"},
		`INSERT INTO accounts (id, kind, balance) VALUES ('a1', 'player', 900)`,
		`INSERT INTO markets (id, status) VALUES ('m1', 'open')`,
		`INSERT INTO bets (id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4, status)
		 VALUES ('old', 'a1', 'm1', 'home', 100, 20000, 25000, 'accepted')`,
	)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s := postgres.NewStore(pool)
	b, err := s.Bet(ctx, "old")
	if err != nil || b.Policy != platform.PolicyBetter {
		t.Fatalf("Bet(old) = %+v, %v; want policy better", b, err)
	}
	resend := bet("old", "a1", "m1", "home", 100, 20000)
	resend.Odds = 25000
	if _, created, err := s.PlaceBet(ctx, resend); err != nil || created {
		t.Fatalf("resend under the default policy: created=%v err=%v", created, err)
	}
	resend.Policy, resend.Odds = platform.PolicyExact, 20000
	_, _, err = s.PlaceBet(ctx, resend)
	wantCode(t, err, platform.ECONFLICT)

	// The schema's rule per policy, below the store's own checks.
	for _, tt := range []struct {
		policy          string
		requested, odds int64
		ok              bool
	}{
		{"exact", 20000, 20000, true},
		{"exact", 20000, 21000, false},
		{"better", 20000, 21000, true},
		{"better", 21000, 20000, false},
		{"any", 21000, 20000, true},
		{"sometimes", 20000, 20000, false},
	} {
		_, err := pool.Exec(ctx, `INSERT INTO bets (id, account_id, market_id, selection_id, stake, requested_odds_e4, odds_e4, policy, status)
			VALUES ($1, 'a1', 'm1', 'home', 1, $2, $3, $4, 'accepted')`,
			fmt.Sprintf("raw-%s-%d-%d", tt.policy, tt.requested, tt.odds), tt.requested, tt.odds, tt.policy)
		if (err == nil) != tt.ok {
			t.Errorf("policy %s, requested %d, accepted %d: err = %v, want ok=%v", tt.policy, tt.requested, tt.odds, err, tt.ok)
		}
	}
}
