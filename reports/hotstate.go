package reports

import "context"

// HotStateSource gives reconciliation a read-only view of a platform's hot
// state: what it keeps outside the ledger to answer bets fast (the
// reference platform keeps it in Redis, docs/hot-state.md). Like
// LedgerSource, it reads the documented layout, never the platform's code.
type HotStateSource interface {
	// HotState reads the whole hot state as it is now.
	HotState(ctx context.Context) (*HotState, error)
}

// HotState is a platform's hot state at one moment.
type HotState struct {
	// Built says the hot state is whole: its sentinel (the epoch) is there.
	// A hot state that was lost and is being rebuilt cannot be compared.
	Built bool `json:"built"`
	// Markets holds every market the hot state knows, by id.
	Markets map[string]HotMarket `json:"markets"`
	// Bets holds every bet the hot state keeps outside the ledger (pending
	// its in-play delay, or refused by it), by id.
	Bets map[string]HotBet `json:"bets,omitempty"`
}

// HotBet is a bet the hot state keeps outside the ledger.
type HotBet struct {
	// Status is pending (its delay not yet decided) or rejected.
	Status string `json:"status"`
	// Code is a rejected bet's error code.
	Code string `json:"code,omitempty"`
	// Key names where it lives, for witnesses ("P pending:ID" in Redis).
	Key string `json:"key"`
}

// HotMarket is one market in the hot state.
type HotMarket struct {
	// Status is open, suspended, closed or settled.
	Status string `json:"status"`
	// Seq is the feed seq of the market's last applied update; 0 when its
	// status was restored from the ledger and no update came since.
	Seq int64 `json:"seq"`
	// Key names where it lives, for witnesses ("P market:M" in Redis).
	Key string `json:"key,omitempty"`
	// Quoted counts the selections that have odds.
	Quoted int `json:"quoted"`
}
