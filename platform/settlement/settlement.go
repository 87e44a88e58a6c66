// Package settlement settles a market when its result arrives: every
// accepted bet is paid, lost or voided in the ledger, in one transaction, and
// the market's quote is marked settled so no bet is taken on it again. A
// rollback of the settlement reverses it in the ledger and closes the quote
// until the market is resettled.
package settlement

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// Service settles markets.
type Service struct {
	Ledger    ledger.Markets
	Quotes    pricing.Writer
	Publisher pricing.Publisher // nil = publish nothing
	Logger    *slog.Logger      // nil = discard

	inProgress atomic.Int64
}

// InProgress returns how many results are being settled now. Settlement is
// synchronous on the feed's path, so this is the platform's settlement queue:
// markets resulted but not yet settled.
func (s *Service) InProgress() int64 { return s.inProgress.Load() }

// Result settles market on its result r (no winners void it; its dead
// heat and void factor shape the payouts, docs/ledger.md). It is
// idempotent: a second result for a settled market, or a result the feed
// has since rolled back (an older r.Rollbacks), changes nothing, so a
// redelivered feed message is harmless. The ledger is settled first and the
// quote second: the ledger refuses bets on a settled market by itself, and a
// failure in between leaves a state the redelivery completes. Returns
// EINVALID or EINTERNAL.
func (s *Service) Result(ctx context.Context, market string, r platform.Result, ref platform.FeedRef) error {
	s.inProgress.Add(1)
	defer s.inProgress.Add(-1)
	res, err := s.Ledger.SettleMarket(ctx, market, r)
	if err != nil {
		return err
	}
	if res.Already {
		// A redelivery completes a quote a failure left unsettled, but a
		// result the feed has since rolled back must not settle a quote
		// the ledger has closed.
		m, err := s.Ledger.Market(ctx, market)
		if err != nil {
			return err
		}
		if m.Status != platform.MarketSettled {
			s.log(res, market, r, ref)
			return nil
		}
	}
	applied, err := s.Quotes.SetStatusDef(ctx, market, platform.MarketSettled, platform.MarketDef{}, ref.Seq, ref.TS)
	if err != nil {
		return err
	}
	if applied && s.Publisher != nil {
		s.Publisher.PublishStatus(market, platform.MarketSettled, ref)
	}
	s.log(res, market, r, ref)
	return nil
}

func (s *Service) log(res *ledger.Settlement, market string, r platform.Result, ref platform.FeedRef) {
	if s.Logger != nil {
		if res.Already {
			s.Logger.Debug("market already settled", "market", market, "seq", ref.Seq)
		} else {
			s.Logger.Info("market settled", "market", market, "winners", r.Winners, "generation", r.Rollbacks,
				"won", res.Won, "lost", res.Lost, "void", res.Void, "paid", res.Paid)
		}
	}
}

// Rollback undoes market's settlement, the feed's rollback number n of it:
// the settlement's transactions are reversed and its bets are open again
// until a later result resettles the market (ledger.Markets.RollbackMarket).
// The ledger leaves the market closed, and so does the quote, with the
// rollback's seq (pricing.Writer.Unsettle): the market still takes no bet,
// and the hot state says what the ledger says (invariant 11) until the
// resettlement, whose newer seq settles the quote again. Idempotent like
// Result: a rollback the ledger had already still unsettles a quote a
// failure left settled, unless the ledger has been resettled since.
// Returns EINVALID (including a rollback the players' balances cannot
// cover) or EINTERNAL.
func (s *Service) Rollback(ctx context.Context, market string, n int64, ref platform.FeedRef) error {
	s.inProgress.Add(1)
	defer s.inProgress.Add(-1)
	res, err := s.Ledger.RollbackMarket(ctx, market, n)
	if err != nil {
		return err
	}
	unsettle := true
	if res.Already {
		m, err := s.Ledger.Market(ctx, market)
		if err != nil {
			return err
		}
		unsettle = m.Status != platform.MarketSettled
	}
	if unsettle {
		applied, err := s.Quotes.Unsettle(ctx, market, ref.Seq, ref.TS)
		if err != nil {
			return err
		}
		if applied && s.Publisher != nil {
			s.Publisher.PublishStatus(market, platform.MarketClosed, ref)
		}
	}
	if s.Logger != nil {
		if res.Already {
			s.Logger.Debug("market rollback already applied", "market", market, "rollback", n, "seq", ref.Seq)
		} else {
			s.Logger.Info("market settlement rolled back", "market", market, "rollback", n,
				"reopened", res.Reopened, "reversed", res.Reversed)
		}
	}
	return nil
}
