package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
)

// NewStoreAttempts returns a Store that tries each transaction at most
// attempts times, so a test can see a deadlock that retries would hide.
func NewStoreAttempts(pool *pgxpool.Pool, attempts int) *Store {
	s := NewStore(pool)
	s.attempts = attempts
	return s
}

// BatchAnswer is one bet's answer from BookBatch.
type BatchAnswer struct {
	Bet     *platform.Bet
	Created bool
	Err     error
}

// BookBatch books bets (already valid) as one batch, in this order, as the
// batcher would, so a test can put chosen bets in one transaction.
func (s *Store) BookBatch(ctx context.Context, bets ...platform.Bet) []BatchAnswer {
	calls := make([]*betCall, len(bets))
	for i, b := range bets {
		calls[i] = &betCall{bet: b, req: betRequest(b)}
	}
	var out []BatchAnswer
	for _, a := range s.bookBatch(ctx, calls) {
		out = append(out, BatchAnswer{Bet: a.bet, Created: a.created, Err: a.err})
	}
	return out
}
