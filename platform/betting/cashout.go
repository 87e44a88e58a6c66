package betting

import (
	"context"
	"fmt"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
)

var _ platform.CashoutService = (*Service)(nil)

// Cashout implements platform.CashoutService.
//
// The offer is ledger.CashoutOffer of the bet at its selection's current
// price, less CashoutMargin. It is checked when the request arrives and
// again when the market's in-play delay (the one a bet on it would wait,
// delayFor) ends; what counts is the offer then. The request's amount is
// what the bettor accepts: it goes through when the offer is at least the
// amount, and pays the amount, never more (the bettor agreed to it) nor
// less (the book offered it). The ledger then checks the bet and the market
// again, under their locks, and books it.
//
// A resend of a booked cash-out is answered with it (created false), even
// when the price has moved or the market closed since; a refusal is only
// given after making sure the id is not booked, like PlaceBet's.
func (s *Service) Cashout(ctx context.Context, req platform.CashoutRequest) (*platform.Bet, *platform.Cashout, bool, error) {
	if err := req.Validate(); err != nil {
		return nil, nil, false, err
	}
	bet, err := s.Ledger.Bet(ctx, req.Bet)
	if err != nil {
		return s.orCashedOut(ctx, req, err)
	}
	if bet.Status != platform.BetAccepted {
		return s.orCashedOut(ctx, req, platform.Errorf(platform.EBETCLOSED, "bet %q is %s, not open", bet.ID, bet.Status))
	}
	p, err := s.offer(ctx, bet, req.Amount)
	if err != nil {
		return s.orCashedOut(ctx, req, err)
	}
	if delay := s.delayFor(p); delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, false, fmt.Errorf("cash-out %s abandoned during the in-play delay: %w", req.ID, ctx.Err())
		case <-t.C:
		}
		if _, err := s.offer(ctx, bet, req.Amount); err != nil {
			return s.orCashedOut(ctx, req, err)
		}
	}
	return s.Ledger.Cashout(ctx, req)
}

// offer checks that the market quoting bet is open and that the platform's
// offer for bet now covers amount. It returns the quote.
func (s *Service) offer(ctx context.Context, bet *platform.Bet, amount int64) (*platform.Price, error) {
	p, err := s.Quotes.Price(ctx, bet.Market)
	switch platform.ErrorCode(err) {
	case "":
	case platform.ENOTFOUND:
		return nil, platform.Errorf(platform.EMARKETSUSPENDED, "market %q of bet %q is not quoted", bet.Market, bet.ID)
	default:
		return nil, err
	}
	if p.Status != platform.MarketOpen {
		return nil, platform.Errorf(platform.EMARKETSUSPENDED, "market %q is %s", p.Market, p.Status)
	}
	current, ok := p.Odds(bet.Selection)
	if !ok {
		return nil, platform.Errorf(platform.EMARKETSUSPENDED, "selection %q of market %q is not quoted", bet.Selection, bet.Market)
	}
	offer, err := ledger.CashoutOffer(bet.Stake, bet.Odds, current, s.CashoutMargin)
	if err != nil {
		return nil, err
	}
	if offer < amount {
		return nil, platform.Errorf(platform.EPRICECHANGED, "the offer for bet %q is %d at the current price %s, below the amount %d",
			bet.ID, offer, current, amount)
	}
	return p, nil
}

// orCashedOut returns the booked cash-out when req resends one, ECONFLICT
// when req reuses a booked cash-out's id with another bet or amount, and
// refusal otherwise. A store error while looking is returned instead of
// the refusal.
func (s *Service) orCashedOut(ctx context.Context, req platform.CashoutRequest, refusal error) (*platform.Bet, *platform.Cashout, bool, error) {
	booked, err := s.Ledger.FindCashout(ctx, req.ID)
	switch platform.ErrorCode(err) {
	case "":
		if !booked.Repeats(req) {
			return nil, nil, false, platform.ConflictingCashout(booked)
		}
		bet, err := s.Ledger.Bet(ctx, booked.Bet)
		if err != nil {
			return nil, nil, false, err
		}
		return bet, booked, false, nil
	case platform.ENOTFOUND:
		return nil, nil, false, refusal
	default:
		return nil, nil, false, err
	}
}
