// Package betting places bets: it validates a request, applies the risk
// limits, checks it against the current quote, waits out the in-play delay,
// checks again, and books it in the ledger.
package betting

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
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
	// Pending, when set, makes a bet with a delay pending: PlaceBet
	// answers at once with the bet pending (kept in Pending), the delay
	// runs in the background, and the bet ends accepted (in the ledger) or
	// rejected (in Pending), readable through FindBet all along. nil holds
	// PlaceBet for the delay, so the request stays open until the decision.
	Pending PendingStore
	// Log, when set, is told of decisions that could not be recorded.
	Log *slog.Logger
	// CashoutMargin is what a cash-out offer keeps back from the bet's
	// fair value at the current price, in basis points (1/10000); 0, the
	// default, offers the fair value (docs/api.md, "Cash-out").
	CashoutMargin int64

	wg      sync.WaitGroup
	closing chan struct{}
	once    sync.Once
}

// PendingStore keeps the bets waiting out their delay, and those the delay
// refused (platform/redis.PendingStore).
type PendingStore interface {
	// PutPending records bet (status pending, DecideAt set); when its id has
	// a record already, it returns that one and created false.
	PutPending(ctx context.Context, bet platform.Bet) (stored *platform.Bet, created bool, err error)
	// Pending returns bet id's record (pending or rejected): ENOTFOUND when
	// there is none.
	Pending(ctx context.Context, id string) (*platform.Bet, error)
	// ResolvePending records the decision: nil (accepted: the ledger holds
	// the bet) forgets the record; an error marks it rejected.
	ResolvePending(ctx context.Context, id string, rejection error) error
	// ListPending returns every bet still pending.
	ListPending(ctx context.Context) ([]*platform.Bet, error)
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
	delay := s.delayFor(p)
	if delay > 0 && s.Pending != nil {
		return s.placePending(ctx, req, delay)
	}
	if delay > 0 {
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
	// FindBet looks in the ledger, then among the bets pending (or
	// refused by) their delay: a refusal must not hide those either.
	b, err := s.FindBet(ctx, req.ID)
	if b, found, err := existing(b, err, req); found {
		return b, false, err
	}
	return nil, false, refusal
}

// existing answers req from what a lookup of its id found (b, or err): the
// bet when req repeats it, ECONFLICT when it does not, the lookup's error
// when it failed. found is false only when nothing is under the id.
func existing(b *platform.Bet, err error, req platform.BetRequest) (*platform.Bet, bool, error) {
	switch platform.ErrorCode(err) {
	case "":
		if !b.Repeats(req) {
			return nil, true, platform.ConflictingBet(b)
		}
		return b, true, nil
	case platform.ENOTFOUND:
		return nil, false, nil
	}
	return nil, true, err
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

// FindBet implements platform.BetService: the ledger's bet, else a bet
// pending or rejected by its delay (with Pending set).
func (s *Service) FindBet(ctx context.Context, id string) (*platform.Bet, error) {
	if err := platform.ValidateID("bet id", id); err != nil {
		return nil, err
	}
	b, err := s.Ledger.Bet(ctx, id)
	if s.Pending == nil || platform.ErrorCode(err) != platform.ENOTFOUND {
		return b, err
	}
	// The ledger first: a bet accepted at the end of its delay is booked
	// before its record is forgotten, so it is never missed in between.
	return s.Pending.Pending(ctx, id)
}

// placePending answers a bet that must wait out delay at once, as pending,
// and decides it in the background. A bet already booked is answered as
// booked; one already pending, or refused by its delay, as its record says
// (a resend does not start a second delay); another request under the id
// is ECONFLICT.
func (s *Service) placePending(ctx context.Context, req platform.BetRequest, delay time.Duration) (*platform.Bet, bool, error) {
	booked, err := s.Ledger.Bet(ctx, req.ID)
	if b, found, err := existing(booked, err, req); found {
		return b, false, err
	}
	now := time.Now()
	bet := platform.Bet{ID: req.ID, Account: req.Account, Market: req.Market, Selection: req.Selection,
		Stake: req.Stake, RequestedOdds: req.Odds, Policy: req.Policy.OrDefault(), Status: platform.BetPending,
		PlacedAt: now, DecideAt: now.Add(delay)}
	stored, created, err := s.Pending.PutPending(ctx, bet)
	if err != nil {
		return nil, false, err
	}
	if !created {
		b, _, err := existing(stored, nil, req)
		return b, false, err
	}
	s.decideLater(*stored)
	return stored, true, nil
}

// decideLater decides bet when its delay ends, in the background.
func (s *Service) decideLater(bet platform.Bet) {
	s.once.Do(func() { s.closing = make(chan struct{}) })
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(time.Until(bet.DecideAt))
		defer t.Stop()
		select {
		case <-s.closing:
			return // left pending: the next start decides it (Resume)
		case <-t.C:
		}
		s.decide(bet)
	}()
}

// decide books bet if its market and price still allow it, and records
// the decision. A store failure is retried, bounded: booking is idempotent
// by id, so a retry never books twice; a bet still undecided after that
// stays pending for the next start.
func (s *Service) decide(bet platform.Bet) {
	ctx := context.Background()
	req := platform.BetRequest{ID: bet.ID, Account: bet.Account, Market: bet.Market, Selection: bet.Selection,
		Stake: bet.Stake, Odds: bet.RequestedOdds, Policy: bet.Policy}
	for attempt := range decideAttempts {
		if attempt > 0 {
			select {
			case <-s.closing:
				return
			case <-time.After(decideRetry):
			}
		}
		_, odds, err := s.price(ctx, req)
		if err == nil {
			_, _, err = s.Ledger.PlaceBet(ctx, platform.Bet{
				ID: req.ID, Account: req.Account, Market: req.Market, Selection: req.Selection,
				Stake: req.Stake, RequestedOdds: req.Odds, Odds: odds, Policy: req.Policy.OrDefault(),
			})
		}
		switch code := platform.ErrorCode(err); {
		case code == platform.EINTERNAL || code == platform.EUNAVAILABLE:
			continue
		case code == "":
			err = nil
		}
		if rerr := s.Pending.ResolvePending(ctx, bet.ID, err); rerr != nil {
			if s.Log != nil {
				s.Log.Error("a pending bet's decision could not be recorded; it stays pending", "bet", bet.ID, "decision", err, "err", rerr)
			}
		}
		return
	}
	if s.Log != nil {
		s.Log.Error("a pending bet could not be decided; it stays pending", "bet", bet.ID, "attempts", decideAttempts)
	}
}

// Bounds on deciding a pending bet while its stores fail.
const (
	decideAttempts = 20
	decideRetry    = 500 * time.Millisecond
)

// Resume decides the bets left pending by an earlier run of the platform
// (stopped or killed before their delay ended): those whose delay is over
// at once, the others when it ends.
func (s *Service) Resume(ctx context.Context) (int, error) {
	if s.Pending == nil {
		return 0, nil
	}
	bets, err := s.Pending.ListPending(ctx)
	if err != nil {
		return 0, err
	}
	for _, b := range bets {
		s.decideLater(*b)
	}
	return len(bets), nil
}

// Close waits, until ctx ends, for every pending bet to be decided (a
// graceful stop decides the bets it took); then it stops deciding, and the
// bets still pending stay so, for Resume. Call it once no new bet can
// arrive.
func (s *Service) Close(ctx context.Context) error {
	s.once.Do(func() { s.closing = make(chan struct{}) })
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	<-done // every goroutine returns at once once closing is closed
	return err
}
