// Package ledger is the double-entry book of the platform: the interfaces
// its store implements and the pure payout rule.
//
// The accounts are the players', house (the operator's result), suspense
// (stakes awaiting settlement) and cash (the outside world). Every
// transaction's postings sum to zero, and the stored balances move in the
// same database transaction as the postings, so the two never disagree.
package ledger

import (
	"context"
	"math"
	"math/big"
	"math/bits"
	"slices"

	"github.com/inplaylabs/inplay/platform"
)

// Accounts is the part of the ledger the cashier uses.
type Accounts interface {
	// Deposit books a deposit: cash −amount, player +amount, creating the
	// player account on first use. The same id with the same account and
	// amount returns the original Transfer with created=false. Returns
	// ECONFLICT (same id, other account or amount), EINVALID (a system
	// account) or EINTERNAL.
	Deposit(ctx context.Context, req platform.TransferRequest) (t *platform.Transfer, created bool, err error)

	// Withdraw books a withdrawal: player −amount, cash +amount; idempotent
	// like Deposit. Returns ECONFLICT, EFUNDS (the balance is short, or the
	// account does not exist), EINVALID or EINTERNAL.
	Withdraw(ctx context.Context, req platform.TransferRequest) (t *platform.Transfer, created bool, err error)

	// Account returns a player account. Returns ENOTFOUND or EINTERNAL.
	Account(ctx context.Context, id string) (*platform.Account, error)
}

// Bets is the part of the ledger that betting uses.
type Bets interface {
	// PlaceBet books bet (status accepted at bet.Odds, recording
	// bet.RequestedOdds, which are required) as one ledger transaction: the
	// stake moves from the player to suspense. A store may commit several
	// bets' transactions together; each bet still gets its own answer. When bet.ID is already booked with
	// exactly the same account, market, selection, stake and requested odds
	// (platform.Bet.Repeats), it returns the booked bet with created=false
	// and books nothing. Returns EINVALID, ENOTFOUND (no such player
	// account), ECONFLICT (the id is booked with other content),
	// EMARKETSUSPENDED (the ledger's market is not open), EFUNDS or EINTERNAL.
	PlaceBet(ctx context.Context, bet platform.Bet) (booked *platform.Bet, created bool, err error)

	// Bet returns a booked bet. Returns ENOTFOUND or EINTERNAL.
	Bet(ctx context.Context, id string) (*platform.Bet, error)

	Cashouts
}

// Markets is the part of the ledger that the feed's status and result
// updates reach.
type Markets interface {
	// SetMarketStatus records a market's status (open, suspended or closed),
	// creating the market on first sight. A settled market keeps its status.
	// Returns EINVALID or EINTERNAL.
	SetMarketStatus(ctx context.Context, market string, status platform.MarketStatus) error

	// SettleMarket settles every accepted bet of a market on its result, in
	// one transaction, and marks the market settled (SettledPayout gives
	// each bet's payout). No winners void the market. A market already
	// settled at the result's generation (Result.Rollbacks), or past it, is
	// left as it is and the returned Settlement has Already set. A result of
	// a newer generation than the market's first rolls back the settlement
	// it supersedes, as RollbackMarket does, in the same transaction.
	// Returns EINVALID or EINTERNAL.
	SettleMarket(ctx context.Context, market string, r platform.Result) (*Settlement, error)

	// RollbackMarket undoes a market's settlement, the feed's rollback
	// number n (from 1) of it: every settle or void transaction of its
	// bets is reversed by a rollback transaction with the opposite
	// postings, the bets are open again (accepted, payout 0), the market is
	// closed and unresulted, and its generation becomes n, all in one
	// transaction. A cashed-out bet is not touched. A rollback the market
	// has had already (n at most its generation) changes nothing
	// (Already); one of a market not settled only records n. Returns
	// EINVALID or EINTERNAL.
	RollbackMarket(ctx context.Context, market string, n int64) (*Rollback, error)

	// Market returns a market as the ledger knows it. Returns ENOTFOUND or
	// EINTERNAL.
	Market(ctx context.Context, id string) (*platform.Market, error)
}

// Ledger is the whole ledger store.
type Ledger interface {
	Accounts
	Bets
	Markets
}

// Settlement reports what settling a market did.
type Settlement struct {
	Market  string
	Already bool  // the market was settled before; nothing was booked
	Won     int   // bets settled as won
	Lost    int   // bets settled as lost
	Void    int   // bets voided (the market had no winners)
	Paid    int64 // minor units credited to players (winnings and refunds)
}

// Rollback reports what rolling back a market's settlement did.
type Rollback struct {
	Market   string
	Already  bool  // the ledger had this rollback already; nothing was booked
	Reopened int   // bets open again
	Reversed int64 // minor units taken back from players
}

// SettledPayout is what a bet of stake at odds pays on its market's result
// r, stake included (docs/ledger.md):
//
//	void result:  stake
//	otherwise:    floor(stake × v / 10000)
//	            + floor(stake × odds_e4 × d × (10000 − v) / 10000³)  if its selection won
//
// where v is r's void factor and d the selection's dead-heat factor, both
// in parts per 10000: the void share of the stake comes back, and the rest
// is settled, a win paying the dead-heated share of the odds. Each term is
// rounded down on its own, in exact integer arithmetic. With no factors it
// is Payout for a win, 0 for a loss. Returns EINVALID on a negative stake,
// odds outside 1.01..1000, factors outside 0..1 or a payout beyond int64.
func SettledPayout(stake int64, odds platform.Odds, selection string, r platform.Result) (int64, error) {
	if stake < 0 {
		return 0, platform.Errorf(platform.EINVALID, "payout of a negative stake %d", stake)
	}
	if !odds.Valid() {
		return 0, platform.Errorf(platform.EINVALID, "payout at odds %d/10000 outside 1.01 to 1000", int64(odds))
	}
	if r.Void() {
		return stake, nil
	}
	v, d := r.VoidFactor, r.DeadHeatOf(selection)
	if v < 0 || v > platform.FactorScale || d <= 0 || d > platform.FactorScale {
		return 0, platform.Errorf(platform.EINVALID, "payout with void factor %d or dead heat %d outside 0 to 10000", v, d)
	}
	scale := big.NewInt(int64(platform.FactorScale))
	refund := new(big.Int).Mul(big.NewInt(stake), big.NewInt(int64(v)))
	refund.Quo(refund, scale)
	payout := refund
	if slices.Contains(r.Winners, selection) {
		win := new(big.Int).Mul(big.NewInt(stake), big.NewInt(odds.E4()))
		win.Mul(win, big.NewInt(int64(d)))
		win.Mul(win, big.NewInt(int64(platform.FactorScale-v)))
		win.Quo(win, new(big.Int).Exp(scale, big.NewInt(3), nil)) // non-negative: Quo floors
		payout = new(big.Int).Add(refund, win)
	}
	if !payout.IsInt64() {
		return 0, platform.Errorf(platform.EINVALID, "payout of stake %d at odds %s overflows", stake, odds)
	}
	return payout.Int64(), nil
}

// Payout returns what a winning bet pays back, stake included:
// floor(stake × odds_e4 / 10000), in exact integer arithmetic. It panics on a
// negative stake, odds outside 1.01..1000 or a result beyond int64, none of
// which a validated bet can reach (platform.MaxStake keeps payouts far below
// the limit); use TryPayout where the inputs are not validated.
func Payout(stake int64, odds platform.Odds) int64 {
	p, err := TryPayout(stake, odds)
	if err != nil {
		panic(err)
	}
	return p
}

// TryPayout is Payout returning an EINVALID error instead of panicking.
func TryPayout(stake int64, odds platform.Odds) (int64, error) {
	if stake < 0 {
		return 0, platform.Errorf(platform.EINVALID, "payout of a negative stake %d", stake)
	}
	if !odds.Valid() {
		return 0, platform.Errorf(platform.EINVALID, "payout at odds %d/10000 outside 1.01 to 1000", int64(odds))
	}
	// 128-bit product, so no intermediate can overflow.
	hi, lo := bits.Mul64(uint64(stake), uint64(odds.E4()))
	if hi >= 10000 { // the quotient would not fit in 64 bits
		return 0, platform.Errorf(platform.EINVALID, "payout of stake %d at odds %s overflows", stake, odds)
	}
	q, _ := bits.Div64(hi, lo, 10000)
	if q > math.MaxInt64 {
		return 0, platform.Errorf(platform.EINVALID, "payout of stake %d at odds %s overflows", stake, odds)
	}
	return int64(q), nil
}
