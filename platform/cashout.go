package platform

import (
	"context"
	"time"
)

// CashoutRequest is a bettor's request to settle an open bet now, for
// Amount, instead of waiting for the result.
type CashoutRequest struct {
	ID  string // client-chosen idempotency key of the cash-out
	Bet string // the bet to cash out
	// Amount is what the bettor was shown and accepts, in minor units: the
	// cash-out goes through only if the platform's offer when it decides is
	// at least Amount, and then pays exactly Amount.
	Amount int64
}

// Validate returns an EINVALID error naming every problem with r, or nil.
func (r CashoutRequest) Validate() error {
	var v problems
	v.id("id", r.ID)
	v.id("bet", r.Bet)
	v.amount(r.Amount)
	return v.err()
}

// Cashout is a booked cash-out: bet Bet was settled for Amount under
// cash-out id ID.
type Cashout struct {
	ID        string
	Bet       string
	Amount    int64
	CreatedAt time.Time
}

// Repeats reports whether req is a resend of the request that booked c:
// the same id, bet and amount.
func (c *Cashout) Repeats(req CashoutRequest) bool {
	return c.ID == req.ID && c.Bet == req.Bet && c.Amount == req.Amount
}

// ConflictingCashout returns the ECONFLICT error for a request that reuses
// the id of booked cash-out c with another bet or amount.
func ConflictingCashout(c *Cashout) error {
	return Errorf(ECONFLICT, "cash-out %q is already booked with other content: bet %q, amount %d", c.ID, c.Bet, c.Amount)
}

// CashoutService cashes bets out.
type CashoutService interface {
	// Cashout settles an open bet for req.Amount, once the platform's
	// offer, after the market's in-play delay, is at least req.Amount. It
	// returns the bet as it is after the cash-out (status cashed_out,
	// payout req.Amount) and the booked cash-out. created is false when
	// req.ID was already booked for the same bet and amount, in which case
	// nothing is booked and the booked cash-out is returned. Returns
	// EINVALID, ENOTFOUND (no such bet), ECONFLICT (the id is booked with
	// another bet or amount), EBETCLOSED (the bet is settled, void or
	// cashed out), EMARKETSUSPENDED (the market is not open, or the
	// selection not quoted), EPRICECHANGED (the offer is below the amount)
	// or EINTERNAL.
	Cashout(ctx context.Context, req CashoutRequest) (bet *Bet, c *Cashout, created bool, err error)
}
