package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// NewPostgresLedger returns a LedgerSource that reads the reference
// platform's PostgreSQL schema (platform/postgres/migrations/0001_ledger.sql,
// documented in docs/ledger.md) with plain SQL. It shares no code with the
// platform: it reads the tables as any operator's checker would.
//
// Every call reads all five tables in one repeatable-read, read-only
// transaction, so the Ledger is one consistent snapshot even while the
// platform is still writing: a posting is never seen without its
// transaction, nor a balance without the postings that made it.
func NewPostgresLedger(pool *pgxpool.Pool) LedgerSource {
	return &postgresLedger{pool: pool}
}

type postgresLedger struct {
	pool *pgxpool.Pool
	// readHook, when set, runs after each table is read; tests use it to
	// write from another session in the middle of a snapshot.
	readHook func(table string)
}

// The queries of the documented view. Each orders by id so that the
// Ledger, and so every report, is the same for the same data.
const (
	qAccounts     = `SELECT id, kind, allow_negative, balance FROM accounts ORDER BY id`
	qMarkets      = `SELECT id, status, winners, resulted_at FROM markets ORDER BY id`
	qTransactions = `SELECT id, kind, ref, created_at FROM transactions ORDER BY id`
	qPostings     = `SELECT id, tx_id, account_id, amount FROM postings ORDER BY id`
	qBets         = `SELECT id, account_id, market_id, selection_id, stake, odds_e4, status, payout, placed_at, settled_at
		FROM bets ORDER BY id`
)

// Ledger reads the ledger as one snapshot.
func (p *postgresLedger) Ledger(ctx context.Context) (*Ledger, error) {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("ledger: begin snapshot: %w", err)
	}
	// Read-only: there is nothing to commit, and rolling back ends the snapshot.
	defer tx.Rollback(context.WithoutCancel(ctx))

	l := &Ledger{}
	if l.Accounts, err = collect(ctx, tx, p.readHook, "accounts", qAccounts, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.Kind, &a.AllowNegative, &a.Balance)
		return a, err
	}); err != nil {
		return nil, err
	}
	if l.Markets, err = collect(ctx, tx, p.readHook, "markets", qMarkets, func(r pgx.CollectableRow) (Market, error) {
		var m Market
		var winners []string
		err := r.Scan(&m.ID, &m.Status, &winners, &m.ResultedAt)
		// winners IS NULL until the result arrives; an empty array is a void.
		if winners != nil {
			m.Resulted = true
			m.Winners = append([]string{}, winners...)
		}
		m.ResultedAt = utcPtr(m.ResultedAt)
		return m, err
	}); err != nil {
		return nil, err
	}
	if l.Transactions, err = collect(ctx, tx, p.readHook, "transactions", qTransactions, func(r pgx.CollectableRow) (Transaction, error) {
		var t Transaction
		err := r.Scan(&t.ID, &t.Kind, &t.Ref, &t.CreatedAt)
		t.CreatedAt = t.CreatedAt.UTC()
		return t, err
	}); err != nil {
		return nil, err
	}
	if l.Postings, err = collect(ctx, tx, p.readHook, "postings", qPostings, func(r pgx.CollectableRow) (Posting, error) {
		var p Posting
		err := r.Scan(&p.ID, &p.TxID, &p.Account, &p.Amount)
		return p, err
	}); err != nil {
		return nil, err
	}
	if l.Bets, err = collect(ctx, tx, p.readHook, "bets", qBets, func(r pgx.CollectableRow) (Bet, error) {
		var b Bet
		err := r.Scan(&b.ID, &b.Account, &b.Market, &b.Selection, &b.Stake, &b.OddsE4, &b.Status, &b.Payout, &b.PlacedAt, &b.SettledAt)
		b.PlacedAt = b.PlacedAt.UTC()
		b.SettledAt = utcPtr(b.SettledAt)
		return b, err
	}); err != nil {
		return nil, err
	}
	return l, nil
}

// collect runs one query of the snapshot, scans every row, then runs hook
// (if any).
func collect[T any](ctx context.Context, tx pgx.Tx, hook func(string), table, query string, scan pgx.RowToFunc[T]) ([]T, error) {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("ledger: read %s: %w", table, err)
	}
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, fmt.Errorf("ledger: read %s: %w", table, err)
	}
	if hook != nil {
		hook(table)
	}
	return out, nil
}

// utcPtr returns t in UTC, keeping nil as nil, so that reports do not
// depend on the session's time zone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
