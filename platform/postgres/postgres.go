// Package postgres is the ledger store of the reference platform on
// PostgreSQL (pgx/v5): accounts, transactions, postings, bets and markets in
// the schema of migrations/0001_ledger.sql, which is also the documented view
// reconciliation reads. Later migrations only add to it (0002: the bets'
// requested odds), so that view still holds.
//
// Every write is one database transaction that leaves nothing half-written:
// the postings and the balances they move change together or not at all.
// Bets are group-committed (batch.go): the bets of a batch share one
// database transaction, each still with a ledger transaction of its own.
// Serialisation failures, deadlocks and id races are retried a bounded
// number of times.
//
// The system accounts suspense and cash are sharded (platform.SuspenseShard,
// platform.CashShard; migration 0003), so bets and transfers do not queue on
// one row. Bets and transfers send their statements in two pipelined round
// trips (inPipeline), the system rows updated last, in the batch that
// commits.
//
// Lock order, the same for every writer so they cannot deadlock: the market
// row, then player accounts in id order, then house, then suspense shards
// in id order, then cash shards. Every
// writer also locks a player's account before it creates a transaction that
// touches it, so for any one player, transaction ids rise in commit order
// (which is what lets a replayed deposit return the balance it first saw).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

// ApplicationName is the application_name the reference platform gives its
// connections (in its pool's config), so that the harness can tell them
// from anyone else's in pg_stat_activity: the postgres terminate fault ends
// these and only these.
const ApplicationName = "inplay-platform"

// DefaultAttempts is how many times a transaction is tried when it fails
// with a serialisation failure, a deadlock or an id race.
const DefaultAttempts = 5

// Store is the ledger on PostgreSQL. It implements ledger.Ledger.
type Store struct {
	pool     *pgxpool.Pool
	attempts int
	batch    *batcher     // nil: one transaction per bet
	markets  knownMarkets // markets known to exist
}

// Option configures a Store.
type Option func(*Store)

// WithGroupCommit sets how PlaceBet batches bets (docs/ledger.md, "Group
// commit"). A MaxBatch of 1 or less books every bet in a transaction of
// its own.
func WithGroupCommit(g GroupCommit) Option {
	return func(s *Store) {
		if g.MaxBatch <= 1 {
			s.batch = nil
			return
		}
		s.batch = newBatcher(s, g)
	}
}

var _ ledger.Ledger = (*Store)(nil)

// NewStore returns a Store on pool, whose database must be migrated
// (Migrate). The Store does not own the pool. Bets are group-committed
// with DefaultGroupCommit unless an option says otherwise.
func NewStore(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, attempts: DefaultAttempts}
	s.batch = newBatcher(s, DefaultGroupCommit)
	for _, o := range opts {
		o(s)
	}
	return s
}

// Close stops accepting bets and waits until every bet already queued is
// answered. It does not close the pool. A Store needs no Close to release
// resources: it keeps no goroutine while no bet is waiting.
func (s *Store) Close() {
	if s.batch != nil {
		s.batch.close()
	}
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// retryable reports whether err is a transient conflict, or a connection
// lost under the transaction, that a fresh attempt of the whole transaction
// can resolve.
//
// A lost connection is retried even when the server may have committed
// before it went (a COMMIT whose answer never came): every write here is
// keyed (a bet by its id, a transfer by its kind and ref, a settlement by
// its market's status) and every attempt reads those keys first, so an
// attempt after a commit finds it and answers with it instead of writing
// again. Nothing is ever half-written: a transaction on a lost connection
// is rolled back by the server.
func retryable(err error) bool {
	if connectionLost(err) {
		return true
	}
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

// connectionLost reports whether err means the connection went away under
// the statement: the server ended the backend (pg_terminate_backend, a
// restart), or the socket closed. A timeout is not one: the caller's
// deadline passed, and trying again would overrun it.
func connectionLost(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", // admin_shutdown: pg_terminate_backend, or a fast shutdown
			"57P02", // crash_shutdown
			"57P03": // cannot_connect_now: starting up
			return true
		}
		return false
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// inTx runs fn in a transaction and commits it, retrying the whole
// transaction on a transient conflict. fn must be safe to run again: it
// starts from scratch each time, and any state it sets must be reset at its
// start.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.retry(ctx, func() error { return pgx.BeginFunc(ctx, s.pool, fn) })
}

// inPipeline runs fn on one connection of the pool, retrying it like inTx.
// fn drives its own transaction with batches: BEGIN in the batch of its
// reads, COMMIT in the batch of its writes, so a whole request costs two
// round trips and the rows its writes lock stay locked only while the
// server runs the rest of that batch, not for a round trip. Whatever fn
// leaves open (an error, a read that decided to write nothing) is rolled
// back here; a connection that cannot be rolled back is closed, so the
// pool never hands out one inside a transaction.
func (s *Store) inPipeline(ctx context.Context, fn func(conn *pgx.Conn) error) error {
	return s.retry(ctx, func() error {
		return s.pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
			conn := c.Conn()
			err := fn(conn)
			if conn.PgConn().TxStatus() != 'I' {
				if _, rerr := conn.Exec(ctx, "ROLLBACK"); rerr != nil {
					// The pool destroys a closed connection on release.
					conn.Close(context.WithoutCancel(ctx))
					if err == nil {
						err = fmt.Errorf("roll back: %w", rerr)
					}
				}
			}
			return err
		})
	})
}

// retry runs attempt until it succeeds, fails for good (a platform error or
// a non-transient database error) or has been tried s.attempts times.
func (s *Store) retry(ctx context.Context, attempt func() error) error {
	for n := 1; ; n++ {
		err := attempt()
		if err == nil {
			return nil
		}
		var perr *platform.Error
		if errors.As(err, &perr) {
			return perr
		}
		if !retryable(err) || n >= s.attempts {
			return classify(err)
		}
		// Jittered, growing pause, so colliding requests do not collide again.
		pause := time.Duration(n)*5*time.Millisecond + rand.N(5*time.Millisecond)
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

// lockPlayerSQL locks a player account row and reads its kind and balance.
const lockPlayerSQL = `SELECT kind, balance FROM accounts WHERE id = $1 FOR UPDATE`

// lockedPlayer scans the row of lockPlayerSQL: found is false when there is
// no such account. A system account is refused.
func lockedPlayer(row pgx.Row, id string) (balance int64, found bool, err error) {
	var kind string
	err = row.Scan(&kind, &balance)
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

// addBalanceSQL moves an account's stored balance by a delta (in the same
// transaction as the postings that justify it) and returns the new balance.
const addBalanceSQL = `UPDATE accounts SET balance = balance + $2 WHERE id = $1 RETURNING balance`

// newTxSQL inserts a transaction and its postings in one statement.
const newTxSQL = `WITH t AS (INSERT INTO transactions (kind, ref) VALUES ($1, $2) RETURNING id)
	INSERT INTO postings (tx_id, account_id, amount)
	SELECT t.id, u.a, u.n FROM t, unnest($3::text[], $4::bigint[]) AS u(a, n)`

// queueNewTx queues, on b, the insert of a transaction and its postings,
// which must sum to zero.
func queueNewTx(b *pgx.Batch, kind, ref string, postings map[string]int64) error {
	var sum int64
	accounts := make([]string, 0, len(postings))
	amounts := make([]int64, 0, len(postings))
	for _, account := range slices.Sorted(maps.Keys(postings)) {
		amount := postings[account]
		if amount == 0 {
			continue // the schema refuses zero postings; they move nothing
		}
		sum += amount
		accounts = append(accounts, account)
		amounts = append(amounts, amount)
	}
	if sum != 0 {
		return fmt.Errorf("transaction %s %s does not balance: postings sum to %d", kind, ref, sum)
	}
	b.Queue(newTxSQL, kind, ref, accounts, amounts)
	return nil
}
