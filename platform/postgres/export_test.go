package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// NewStoreAttempts returns a Store that tries each transaction at most
// attempts times, so a test can see a deadlock that retries would hide.
func NewStoreAttempts(pool *pgxpool.Pool, attempts int) *Store {
	s := NewStore(pool)
	s.attempts = attempts
	return s
}
