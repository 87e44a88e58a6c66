// Package settlement settles a market when its result arrives: every
// accepted bet is paid, lost or voided in the ledger, in one transaction, and
// the market's quote is marked settled so no bet is taken on it again.
package settlement

import (
	"context"
	"log/slog"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/ledger"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// Service settles markets.
type Service struct {
	Ledger ledger.Markets
	Quotes pricing.Writer
	Logger *slog.Logger // nil = discard
}

// Result settles market on its result (empty winners void it). It is
// idempotent: a second result for a settled market changes nothing, so a
// redelivered feed message is harmless. The ledger is settled first and the
// quote second: the ledger refuses bets on a settled market by itself, and a
// failure in between leaves a state the redelivery completes. Returns
// EINVALID or EINTERNAL.
func (s *Service) Result(ctx context.Context, market string, winners []string, seq int64, at time.Time) error {
	res, err := s.Ledger.SettleMarket(ctx, market, winners)
	if err != nil {
		return err
	}
	if err := s.Quotes.SetStatus(ctx, market, platform.MarketSettled, seq, at); err != nil {
		return err
	}
	if s.Logger != nil {
		if res.Already {
			s.Logger.Debug("market already settled", "market", market, "seq", seq)
		} else {
			s.Logger.Info("market settled", "market", market, "winners", winners,
				"won", res.Won, "lost", res.Lost, "void", res.Void, "paid", res.Paid)
		}
	}
	return nil
}
