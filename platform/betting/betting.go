// Package betting places bets: it validates a request, applies the risk
// limits, checks it against the current quote, waits out the in-play delay,
// checks again, and books it in the ledger.
package betting

import (
	"context"
	"fmt"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
	"github.com/inplaylabs/inplay/platform/pricing"
	"github.com/inplaylabs/inplay/platform/risk"
)

// Service places and reads bets. It implements platform.BetService.
type Service struct {
	Ledger ledger.Bets
	Quotes pricing.Reader
	Limits risk.Limits
	// Delay is the in-play delay: how long a bet waits between its first
	// price check and its booking, so that a bettor who has seen a goal
	// before the feed did cannot profit. The market's status and price are
	// checked again when it ends. Zero disables it.
	Delay time.Duration
	// FeedDelay makes each market's delay the one its feed announces
	// (docs/feed-protocol.md, a status message's in_play and
	// bet_delay_ms): the market's bet delay while the feed says it is in
	// play, and none while it says pre-match, where a bet is decided at
	// once. A market the feed has said neither of keeps Delay.
	FeedDelay bool
	// CashoutMargin is what a cash-out offer keeps back from the bet's
	// fair value at the current price, in basis points (1/10000); 0, the
	// default, offers the fair value (docs/api.md, "Cash-out").
	CashoutMargin int64
}

var _ platform.BetService = (*Service)(nil)

// PlaceBet implements platform.BetService.
//
// A resend of a booked bet is answered with the booked bet (created false),
// even when the price has moved or the market has closed since: its price
// was checked when it was booked. The ledger's PlaceBet answers resends
// itself, under the player's lock, so the accepting path needs no lookup of
// its own; only a request that would be refused (limits, price, status) is
// looked up first, because a refusal must never hide a booking. This keeps
// one ledger round trip per accepted bet instead of two.
func (s *Service) PlaceBet(ctx context.Context, req platform.BetRequest) (*platform.Bet, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, false, err
	}
	if err := s.Limits.Check(req); err != nil {
		return s.orBooked(ctx, req, err)
	}
	p, odds, err := s.price(ctx, req)
	if err != nil {
		return s.orBooked(ctx, req, err)
	}
	if delay := s.delayFor(p); delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, fmt.Errorf("bet %s abandoned during the in-play delay: %w", req.ID, ctx.Err())
		case <-t.C:
		}
		// What counts is the market as the delay ends.
		if _, odds, err = s.price(ctx, req); err != nil {
			return s.orBooked(ctx, req, err)
		}
	}
	return s.Ledger.PlaceBet(ctx, platform.Bet{
		ID: req.ID, Account: req.Account, Market: req.Market, Selection: req.Selection,
		Stake: req.Stake, RequestedOdds: req.Odds, Odds: odds, Policy: req.Policy.OrDefault(),
	})
}

// orBooked returns the booked bet when req resends one, ECONFLICT when req
// reuses a booked bet's id with other content, and refusal otherwise. A
// store error while looking is returned instead of the refusal: the caller
// must not be told "refused" about a bet that may be booked.
func (s *Service) orBooked(ctx context.Context, req platform.BetRequest, refusal error) (*platform.Bet, bool, error) {
	booked, err := s.Ledger.Bet(ctx, req.ID)
	switch platform.ErrorCode(err) {
	case "":
		if !booked.Repeats(req) {
			return nil, false, platform.ConflictingBet(booked)
		}
		return booked, false, nil
	case platform.ENOTFOUND:
		return nil, false, refusal
	default:
		return nil, false, err
	}
}

// price returns the market's quote and the odds req would be accepted at
// now.
func (s *Service) price(ctx context.Context, req platform.BetRequest) (*platform.Price, platform.Odds, error) {
	p, err := s.Quotes.Price(ctx, req.Market)
	if err != nil {
		return nil, 0, err
	}
	odds, err := pricing.Accept(p, req.Selection, req.Odds, req.Policy)
	return p, odds, err
}

// delayFor is how long a bet on the market quoted by p waits before it is
// decided (see Delay and FeedDelay).
func (s *Service) delayFor(p *platform.Price) time.Duration {
	if !s.FeedDelay {
		return s.Delay
	}
	switch {
	case p.InPlay != nil && !*p.InPlay:
		return 0 // pre-match: decided at once
	case p.BetDelay != nil:
		return *p.BetDelay
	}
	return s.Delay
}

// FindBet implements platform.BetService.
func (s *Service) FindBet(ctx context.Context, id string) (*platform.Bet, error) {
	if err := platform.ValidateID("bet id", id); err != nil {
		return nil, err
	}
	return s.Ledger.Bet(ctx, id)
}
