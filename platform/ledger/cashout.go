package ledger

import (
	"context"
	"math/big"

	"github.com/inplaylabs/inplay/platform"
)

// Cashouts is the part of the ledger that cash-outs use.
type Cashouts interface {
	// Cashout books req as the end of its bet: one 'cashout' transaction
	// (suspense −stake, house +(stake − amount), player +amount), the bet
	// cashed_out with payout req.Amount, and the cash-out's own row, all in
	// one database transaction. The bet's row is locked first, so of two
	// cash-outs of one bet at once exactly one is booked. The price is not
	// checked here (the caller checked the offer); the bet's and the
	// market's status are, under their locks. A req.ID already booked for
	// the same bet and amount returns the booked cash-out with
	// created=false and books nothing. Returns EINVALID (the amount is more
	// than the bet could win), ENOTFOUND (no such bet), ECONFLICT,
	// EBETCLOSED, EMARKETSUSPENDED (the ledger's market is not open) or
	// EINTERNAL.
	Cashout(ctx context.Context, req platform.CashoutRequest) (bet *platform.Bet, c *platform.Cashout, created bool, err error)

	// FindCashout returns a booked cash-out by its id. Returns ENOTFOUND or
	// EINTERNAL.
	FindCashout(ctx context.Context, id string) (*platform.Cashout, error)
}

// CashoutOffer is what the platform offers for an open bet of stake at
// accepted odds when its selection is priced at current: the bet's fair
// value at the current price, stake × accepted / current, less marginBP
// basis points (1/10000) of it, floored to minor units:
//
//	floor(stake × accepted × (10000 − marginBP) / (current × 10000))
//
// Exact integer arithmetic. With current above 1.01 it is always below what
// the bet would pay if it won. It returns an EINVALID error for a negative
// stake, odds outside 1.01 to 1000, a margin outside 0 to 10000, or an
// offer beyond int64.
func CashoutOffer(stake int64, accepted, current platform.Odds, marginBP int64) (int64, error) {
	switch {
	case stake < 0:
		return 0, platform.Errorf(platform.EINVALID, "cash-out offer on a negative stake %d", stake)
	case !accepted.Valid() || !current.Valid():
		return 0, platform.Errorf(platform.EINVALID, "cash-out offer at odds %s / %s outside 1.01 to 1000", accepted, current)
	case marginBP < 0 || marginBP > 10000:
		return 0, platform.Errorf(platform.EINVALID, "cash-out margin %d bp is outside 0 to 10000", marginBP)
	}
	num := new(big.Int).Mul(big.NewInt(stake), big.NewInt(accepted.E4()))
	num.Mul(num, big.NewInt(10000-marginBP))
	den := new(big.Int).Mul(big.NewInt(current.E4()), big.NewInt(10000))
	// Both non-negative, so Quo (truncation) is the floor.
	if num.Quo(num, den); !num.IsInt64() {
		return 0, platform.Errorf(platform.EINVALID, "cash-out offer on stake %d at odds %s / %s overflows", stake, accepted, current)
	}
	return num.Int64(), nil
}
