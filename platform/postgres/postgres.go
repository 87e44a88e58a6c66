// Package postgres is the ledger store of the reference platform on
// PostgreSQL (pgx/v5): accounts, transactions, postings, bets and markets in
// the schema of migrations/0001_ledger.sql, which is also the documented view
// reconciliation reads. Later migrations only add to it (0002: the bets'
// requested odds), so that view still holds.
//
// Every write is one database transaction that leaves nothing half-written:
// the postings and the balances they move change together or not at all.
// Serialisation failures, deadlocks and id races are retried a bounded
// number of times.
//
// Lock order, the same for every writer so they cannot deadlock: the market
// row, then player accounts in id order, then house, suspense and cash. Every
// writer also locks a player's account before it creates a transaction that
// touches it, so for any one player, transaction ids rise in commit order
// (which is what lets a replayed deposit return the balance it first saw).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

// DefaultAttempts is how many times a transaction is tried when it fails
// with a serialisation failure, a deadlock or an id race.
const DefaultAttempts = 5

// Store is the ledger on PostgreSQL. It implements ledger.Ledger.
type Store struct {
	pool     *pgxpool.Pool
	attempts int
}

var _ ledger.Ledger = (*Store)(nil)

// NewStore returns a Store on pool, whose database must be migrated
// (Migrate). The Store does not own the pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, attempts: DefaultAttempts}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// retryable reports whether err is a transient conflict that a fresh
// attempt of the whole transaction can resolve.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"23505": // unique_violation: another request booked the same id first
		return true
	}
	return false
}

// inTx runs fn in a transaction and commits it, retrying the whole
// transaction on a transient conflict. fn must be safe to run again: it
// starts from scratch each time, and any state it sets must be reset at its
// start.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			return nil
		}
		var perr *platform.Error
		if errors.As(err, &perr) {
			return perr
		}
		if !retryable(err) || attempt >= s.attempts {
			return classify(err)
		}
		// Jittered, growing pause, so colliding requests do not collide again.
		pause := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("postgres: %w (after %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// classify turns a database error into the platform's terms: a number out
// of range is the caller's bad input; anything else is internal, kept
// wrapped so the log shows the cause.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22003" { // numeric_value_out_of_range
		return platform.Errorf(platform.EINVALID, "an amount is out of range")
	}
	return fmt.Errorf("postgres: %w", err)
}

// lockPlayer locks a player account row and returns its balance; found is
// false when there is no such account. A system account is refused.
func lockPlayer(ctx context.Context, tx pgx.Tx, id string) (balance int64, found bool, err error) {
	var kind string
	err = tx.QueryRow(ctx, `SELECT kind, balance FROM accounts WHERE id = $1 FOR UPDATE`, id).Scan(&kind, &balance)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if kind != string(platform.AccountPlayer) {
		return 0, false, platform.Errorf(platform.EINVALID, "account %q is a system account", id)
	}
	return balance, true, nil
}

// addBalance moves an account's stored balance by delta (in the same
// transaction as the postings that justify it) and returns the new balance.
func addBalance(ctx context.Context, tx pgx.Tx, id string, delta int64) (int64, error) {
	var balance int64
	err := tx.QueryRow(ctx, `UPDATE accounts SET balance = balance + $2 WHERE id = $1 RETURNING balance`, id, delta).Scan(&balance)
	if err != nil {
		return 0, fmt.Errorf("update balance of %s: %w", id, err)
	}
	return balance, nil
}

// newTx inserts a transaction and its postings, which must sum to zero.
func newTx(ctx context.Context, tx pgx.Tx, kind, ref string, postings map[string]int64) (int64, error) {
	var sum int64
	accounts := make([]string, 0, len(postings))
	amounts := make([]int64, 0, len(postings))
	for account, amount := range postings {
		if amount == 0 {
			continue // the schema refuses zero postings; they move nothing
		}
		sum += amount
		accounts = append(accounts, account)
		amounts = append(amounts, amount)
	}
	if sum != 0 {
		return 0, fmt.Errorf("transaction %s %s does not balance: postings sum to %d", kind, ref, sum)
	}
	var txID int64
	if err := tx.QueryRow(ctx, `INSERT INTO transactions (kind, ref) VALUES ($1, $2) RETURNING id`, kind, ref).Scan(&txID); err != nil {
		return 0, fmt.Errorf("insert transaction %s %s: %w", kind, ref, err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO postings (tx_id, account_id, amount)
		SELECT $1, a, n FROM unnest($2::text[], $3::bigint[]) AS u(a, n)`, txID, accounts, amounts)
	if err != nil {
		return 0, fmt.Errorf("insert postings of %s %s: %w", kind, ref, err)
	}
	return txID, nil
}
