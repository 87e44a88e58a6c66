package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// capturedTables are the tables whose changes the event store records
// (migrations 0007, 0008), each with the columns its events leave out.
var capturedTables = []struct {
	table   string
	derived []string
}{
	{"accounts", []string{"balance"}}, {"markets", nil}, {"transactions", nil},
	{"postings", nil}, {"bets", nil}, {"cashouts", nil},
}

// EventStoreEnabled reports whether the event store is on: the last
// switch recorded (event_store_switch), on when there is none.
func EventStoreEnabled(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	var on bool
	err := pool.QueryRow(ctx, `SELECT enabled FROM event_store_switch ORDER BY id DESC LIMIT 1`).Scan(&on)
	switch {
	case err == pgx.ErrNoRows:
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read the event store's switch: %w", err)
	}
	return on, nil
}

// SetEventStore turns the event store on or off, on the record, in one
// transaction: a row in event_store_switch, then the capture triggers
// enabled or disabled. Turning it on snapshots every tracked table, so
// the fold starts again from what they hold. Setting the state it is in
// does nothing.
func SetEventStore(ctx context.Context, pool *pgxpool.Pool, on bool, reason string) error {
	cur, err := EventStoreEnabled(ctx, pool)
	if err != nil || cur == on {
		return err
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE event_head IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("event store switch: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO event_store_switch (enabled, reason) VALUES ($1, $2)`, on, reason); err != nil {
			return fmt.Errorf("event store switch: %w", err)
		}
		verb := "DISABLE"
		if on {
			verb = "ENABLE"
		}
		for _, t := range capturedTables {
			sql := fmt.Sprintf(`ALTER TABLE %s %s TRIGGER %s`, pgx.Identifier{t.table}.Sanitize(), verb,
				pgx.Identifier{t.table + "_events"}.Sanitize())
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("event store switch: %w", err)
			}
		}
		if on {
			for _, t := range capturedTables {
				args := []any{t.table}
				for _, d := range t.derived {
					args = append(args, d)
				}
				q := `SELECT event_snapshot($1::regclass)`
				if len(t.derived) > 0 {
					q = `SELECT event_snapshot($1::regclass, VARIADIC $2::text[])`
					args = []any{t.table, t.derived}
				}
				if _, err := tx.Exec(ctx, q, args...); err != nil {
					return fmt.Errorf("event store snapshot of %s: %w", t.table, err)
				}
			}
		}
		return nil
	})
}
