// Package pricing holds the platform's current quotes: the odds on each
// selection and each market's status, as the feed last set them. The quotes
// live in a Store (Redis in the reference platform); this package decides
// what a quote means for a bet.
package pricing

import (
	"context"
	"time"

	"github.com/inplaylabs/inplay/platform"
)

// Reader reads current quotes.
type Reader interface {
	// Price returns a market's current quote. Returns ENOTFOUND (the market
	// has never been quoted), EUNAVAILABLE (the quotes were lost and are
	// being rebuilt: try again) or EINTERNAL.
	Price(ctx context.Context, market string) (*platform.Price, error)
}

// Writer applies the feed's updates to the quotes. Each update carries the
// feed seq it came with; an update older than the one already applied to
// the market is ignored, so a redelivered or late message can never roll a
// quote back. Each method reports whether it applied the update, so that an
// ignored one publishes nothing.
type Writer interface {
	// SetOdds merges selections' odds into a market's quote. A market quoted
	// for the first time is open. Returns EINVALID or EINTERNAL.
	SetOdds(ctx context.Context, market string, odds []platform.Selection, seq int64, at time.Time) (applied bool, err error)

	// SetStatusDef sets a market's status and what def says of its phase
	// and bet delay (nil fields keep their values), atomically. Settled is
	// final: once set, no later status replaces it (only Unsettle undoes
	// it). Returns EINVALID or
	// EINTERNAL.
	SetStatusDef(ctx context.Context, market string, status platform.MarketStatus, def platform.MarketDef, seq int64, at time.Time) (applied bool, err error)

	// Unsettle moves a settled market back to closed, for the feed's
	// rollback of its settlement: the only way out of settled. It applies
	// only when seq is newer than the last update applied (never equal: a
	// redelivered settlement must not be undone), and only to a settled
	// market. Returns EINVALID or EINTERNAL.
	Unsettle(ctx context.Context, market string, seq int64, at time.Time) (applied bool, err error)
}

// Publisher is told of every update the quote store has applied, after it
// applied it (a Hub, which pushes whole quotes to the quote stream). It must
// not block: it runs on the feed's path.
type Publisher interface {
	// PublishOdds publishes odds merged into a market's quote.
	PublishOdds(market string, odds []platform.Selection, ref platform.FeedRef)
	// PublishStatus publishes a market's new status.
	PublishStatus(market string, status platform.MarketStatus, ref platform.FeedRef)
}

// Store is a quote store.
type Store interface {
	Reader
	Writer
}

// Accept decides whether a bet asking for requested odds on selection
// under policy can be taken at price p, and at what odds: the current ones
// (for exact, they equal the requested). Returns EMARKETSUSPENDED (the
// market is not open), ENOTFOUND (the selection is not quoted) or
// EPRICECHANGED (the current odds differ from the requested ones, for
// exact, or are lower, for better; any takes every price).
func Accept(p *platform.Price, selection string, requested platform.Odds, policy platform.PricePolicy) (platform.Odds, error) {
	if p.Status != platform.MarketOpen {
		return 0, platform.Errorf(platform.EMARKETSUSPENDED, "market %q is %s", p.Market, p.Status)
	}
	current, ok := p.Odds(selection)
	if !ok {
		return 0, platform.Errorf(platform.ENOTFOUND, "selection %q of market %q is not quoted", selection, p.Market)
	}
	switch policy.OrDefault() {
	case platform.PolicyExact:
		if current != requested {
			return 0, platform.Errorf(platform.EPRICECHANGED, "the price of %q in market %q is %s, not the requested %s (policy exact)",
				selection, p.Market, current, requested)
		}
	case platform.PolicyBetter:
		if current < requested {
			return 0, platform.Errorf(platform.EPRICECHANGED, "the price of %q in market %q is %s, below the requested %s (policy better)",
				selection, p.Market, current, requested)
		}
	case platform.PolicyAny:
	default:
		return 0, platform.Errorf(platform.EINVALID, "policy %q is not one of exact, better, any", string(policy))
	}
	return current, nil
}

// MarketStatuses is where the ledger learns a market's status, so it can
// refuse a bet on a market the feed has suspended even if the quote store
// lags behind.
type MarketStatuses interface {
	// SetMarketStatus records a market's status. Returns EINVALID or EINTERNAL.
	SetMarketStatus(ctx context.Context, market string, status platform.MarketStatus) error
}

// Service applies the feed's odds and status updates: odds to the quote
// store; statuses to the ledger first and the quote store second, so that
// whenever the quote store says open, the ledger already does too. What the
// quote store applied is then published.
type Service struct {
	Quotes    Writer
	Ledger    MarketStatuses
	Publisher Publisher // nil = publish nothing
}

// Odds applies an odds update. Returns EINVALID or EINTERNAL.
func (s *Service) Odds(ctx context.Context, market string, odds []platform.Selection, ref platform.FeedRef) error {
	if err := platform.ValidateID("market", market); err != nil {
		return err
	}
	if len(odds) == 0 {
		return platform.Errorf(platform.EINVALID, "odds update of market %q quotes no selection", market)
	}
	for _, sel := range odds {
		if err := platform.ValidateID("selection", sel.ID); err != nil {
			return err
		}
		if !sel.Odds.Valid() {
			return platform.Errorf(platform.EINVALID, "odds %s of %q in market %q are outside 1.01 to 1000", sel.Odds, sel.ID, market)
		}
	}
	applied, err := s.Quotes.SetOdds(ctx, market, odds, ref.Seq, ref.TS)
	if err != nil {
		return err
	}
	if applied && s.Publisher != nil {
		s.Publisher.PublishOdds(market, odds, ref)
	}
	return nil
}

// Status applies a status update (open, suspended or closed) and what it
// says of the market's phase and bet delay. Returns EINVALID or EINTERNAL.
func (s *Service) Status(ctx context.Context, market string, status platform.MarketStatus, def platform.MarketDef, ref platform.FeedRef) error {
	switch status {
	case platform.MarketOpen, platform.MarketSuspended, platform.MarketClosed:
	default:
		return platform.Errorf(platform.EINVALID, "market status %q is not open, suspended or closed", status)
	}
	if err := s.Ledger.SetMarketStatus(ctx, market, status); err != nil {
		return err
	}
	applied, err := s.Quotes.SetStatusDef(ctx, market, status, def, ref.Seq, ref.TS)
	if err != nil {
		return err
	}
	if applied && s.Publisher != nil {
		s.Publisher.PublishStatus(market, status, ref)
	}
	return nil
}
