package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewPostgresEventStore returns an EventStoreSource that reads the
// reference platform's event store (the tables events and event_head,
// platform/postgres/migrations/0007_event_store.sql, documented in
// docs/event-store.md) and the tables it tracks, with plain SQL. It shares
// no code with the platform.
func NewPostgresEventStore(pool *pgxpool.Pool) EventStoreSource {
	return &postgresEventStore{pool: pool}
}

type postgresEventStore struct{ pool *pgxpool.Pool }

// trackedTables are the tables the store tracks (docs/event-store.md);
// a table the events name is read too, so a newly tracked table is
// checked without a change here.
var trackedTables = []string{"accounts", "markets", "transactions", "postings", "bets"}

// The queries of the documented view.
const (
	qStoreExists = `SELECT to_regclass('events') IS NOT NULL AND to_regclass('event_head') IS NOT NULL`
	qEventHead   = `SELECT position, hash FROM event_head`
	qEvents      = `SELECT position, at, tbl, op, payload, prev_hash, hash FROM events ORDER BY position`
	qEventTables = `SELECT DISTINCT tbl FROM events`
	qEventSwitch = `SELECT enabled, at, reason FROM event_store_switch ORDER BY id DESC LIMIT 1`
	// Rows as jsonb in UTC: the form the store's payloads have.
	qTableRows = `SELECT to_jsonb(t)::text FROM %s t`
)

// ReadEventStore reads the store and the tracked tables in one
// repeatable-read, read-only transaction, so the events and the rows are
// one snapshot even while the platform writes.
func (p *postgresEventStore) ReadEventStore(ctx context.Context, v EventVisitor) error {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("event store: begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'UTC'`); err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	var exists bool
	if err := tx.QueryRow(ctx, qStoreExists).Scan(&exists); err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	if !exists {
		return ErrNoEventStore
	}
	var switched bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('event_store_switch') IS NOT NULL`).Scan(&switched); err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	if switched {
		var (
			on     bool
			at     time.Time
			reason string
		)
		err := tx.QueryRow(ctx, qEventSwitch).Scan(&on, &at, &reason)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return fmt.Errorf("event store: read its switch: %w", err)
		case !on:
			return &EventStoreOffError{At: at, Reason: reason}
		}
	}
	var head EventHead
	if err := tx.QueryRow(ctx, qEventHead).Scan(&head.Position, &head.Hash); err != nil {
		return fmt.Errorf("event store: read the head: %w", err)
	}
	if err := v.Head(head); err != nil {
		return err
	}

	rows, err := tx.Query(ctx, qEvents)
	if err != nil {
		return fmt.Errorf("event store: read events: %w", err)
	}
	var (
		e       Event
		payload string
	)
	_, err = pgx.ForEachRow(rows, []any{&e.Position, &e.At, &e.Table, &e.Op, &payload, &e.PrevHash, &e.Hash}, func() error {
		e.At = e.At.UTC()
		e.Payload = []byte(payload)
		return v.Event(e)
	})
	if err != nil {
		return fmt.Errorf("event store: read events: %w", err)
	}

	tables := slices.Clone(trackedTables)
	rows, err = tx.Query(ctx, qEventTables)
	if err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	named, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	for _, t := range named {
		if !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	for _, t := range tables {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, pgx.Identifier{t}.Sanitize()).Scan(&ok); err != nil {
			return fmt.Errorf("event store: %w", err)
		}
		if !ok {
			continue
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(qTableRows, pgx.Identifier{t}.Sanitize()))
		if err != nil {
			return fmt.Errorf("event store: read %s: %w", t, err)
		}
		var row string
		if _, err := pgx.ForEachRow(rows, []any{&row}, func() error { return v.Row(t, []byte(row)) }); err != nil {
			return fmt.Errorf("event store: read %s: %w", t, err)
		}
	}
	return nil
}
