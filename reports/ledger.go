package reports

import (
	"context"
	"time"
)

// LedgerSource gives reconciliation a read-only view of a platform's stores.
// It is the only way reports sees a platform's money: one implementation
// reads the reference platform's PostgreSQL schema with plain SQL, another
// reads the documented JSON Lines export any platform can produce
// (docs/ledger.md).
type LedgerSource interface {
	// Ledger reads the whole ledger as it is now.
	Ledger(ctx context.Context) (*Ledger, error)
}

// Account kinds in a Ledger.
const (
	AccountPlayer   = "player"
	AccountHouse    = "house"
	AccountSuspense = "suspense"
	AccountCash     = "cash" // the outside world: deposits come from it
)

// Transaction kinds in a Ledger.
const (
	TxDeposit  = "deposit"
	TxWithdraw = "withdraw"
	TxStake    = "stake"
	TxSettle   = "settle"
	TxVoid     = "void"
	TxCashout  = "cashout"
	// TxRollback reverses a bet's settle or void exactly (the opposite of
	// each of its postings) when the feed rolls its market's settlement
	// back; the bet is open again until a later settle or void.
	TxRollback = "rollback"
)

// Bet statuses in a Ledger.
const (
	BetAccepted  = "accepted"
	BetWon       = "won"
	BetLost      = "lost"
	BetVoid      = "void"
	BetCashedOut = "cashed_out"
)

// Ledger is a platform's books at one moment.
type Ledger struct {
	Accounts     []Account     `json:"accounts"`
	Transactions []Transaction `json:"transactions"`
	Postings     []Posting     `json:"postings"`
	Bets         []Bet         `json:"bets"`
	Markets      []Market      `json:"markets"`
}

// Account is one ledger account and the balance the platform says it has.
type Account struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	AllowNegative bool   `json:"allow_negative"`
	Balance       int64  `json:"balance"` // minor units, as stored
}

// Transaction is one financial event; its postings sum to zero.
type Transaction struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Ref       string    `json:"ref"` // deposit id, withdrawal id or bet id
	CreatedAt time.Time `json:"created_at"`
}

// Posting moves Amount minor units into (positive) or out of (negative) an
// account, as part of transaction TxID.
type Posting struct {
	ID      int64  `json:"id"`
	TxID    int64  `json:"tx_id"`
	Account string `json:"account"`
	Amount  int64  `json:"amount"`
}

// Bet is one bet as the platform booked it.
type Bet struct {
	ID        string     `json:"id"`
	Account   string     `json:"account"`
	Market    string     `json:"market"`
	Selection string     `json:"selection"`
	Stake     int64      `json:"stake"`
	OddsE4    int64      `json:"odds_e4"` // accepted decimal odds × 10000
	Status    string     `json:"status"`
	Payout    int64      `json:"payout"`
	PlacedAt  time.Time  `json:"placed_at"`
	SettledAt *time.Time `json:"settled_at,omitempty"`
}

// Market is a market's last known state and result.
type Market struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Winners    []string   `json:"winners,omitempty"` // nil until resulted; empty = void
	Resulted   bool       `json:"resulted"`
	ResultedAt *time.Time `json:"resulted_at,omitempty"`
}
