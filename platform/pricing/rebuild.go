package pricing

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/inplaylabs/inplay/platform"
)

// HotState is a quote store that can lose what it holds (Redis flushed or
// restarted empty) and can tell: a sentinel written once the state is whole.
type HotState interface {
	// Built reports whether the state is whole: written since it was last
	// lost. Returns EINTERNAL.
	Built(ctx context.Context) (bool, error)
	// RestoreStatus sets a market's status from the ledger's record, over
	// whatever the feed has written since the loss, except that settled is
	// final. Returns EINVALID or EINTERNAL.
	RestoreStatus(ctx context.Context, market string, status platform.MarketStatus) error
	// MarkBuilt records that the state is whole again. Returns EINTERNAL.
	MarkBuilt(ctx context.Context) error
}

// MarketRecord is the ledger's record of every market's status, the one
// the hot state's statuses are rebuilt from.
type MarketRecord interface {
	// MarketStatuses returns every market's status. Returns EINTERNAL.
	MarketStatuses(ctx context.Context) (map[string]platform.MarketStatus, error)
}

// Resyncer brings every market's prices back from the feed: the feed
// client's snapshot recovery.
type Resyncer interface {
	// Resync applies the feed's snapshot and resumes after it.
	Resync(ctx context.Context) error
}

// DefaultCheckEvery is how often a Rebuilder looks for a lost hot state when
// no read has told it.
const DefaultCheckEvery = 250 * time.Millisecond

// rebuildTimeout bounds one rebuild; a rebuild that fails is tried again on
// the next check, and bets are refused (EUNAVAILABLE) meanwhile.
const rebuildTimeout = 30 * time.Second

// Rebuilder notices that the hot state was lost and rebuilds it: statuses
// from the ledger first (so a settled or closed market never comes back
// open), then prices from the feed, then the sentinel. Until the sentinel
// is back the quote store refuses every price read, so no bet is accepted
// on a guessed price.
type Rebuilder struct {
	State   HotState
	Markets MarketRecord
	// Feed resyncs the prices; nil for the start, where the feed client
	// replays from the beginning anyway.
	Feed       Resyncer
	CheckEvery time.Duration // 0 = DefaultCheckEvery
	Logger     *slog.Logger  // nil = discard

	kick     chan struct{}
	rebuilds atomic.Int64
}

// Notify asks for a check now (a read found the state missing). It never
// blocks.
func (r *Rebuilder) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Rebuilds returns how many times the hot state was rebuilt after a loss.
func (r *Rebuilder) Rebuilds() int64 { return r.rebuilds.Load() }

// Init makes the hot state whole at the platform's start: if the sentinel
// is missing (a first start, or a loss while the platform was down), the
// statuses come back from the ledger. The feed client, starting from the
// beginning, brings the prices. Call it before Run and before serving.
func (r *Rebuilder) Init(ctx context.Context) error {
	r.kick = make(chan struct{}, 1)
	built, err := r.State.Built(ctx)
	if err != nil || built {
		return err
	}
	if err := r.restore(ctx); err != nil {
		return err
	}
	return r.State.MarkBuilt(ctx)
}

// Run checks for a lost hot state every CheckEvery and on Notify, and
// rebuilds it, until ctx is done.
func (r *Rebuilder) Run(ctx context.Context) {
	every := r.CheckEvery
	if every <= 0 {
		every = DefaultCheckEvery
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
		built, err := r.State.Built(ctx)
		if err != nil || built {
			continue // a store that does not answer is not a loss
		}
		log.Warn("hot state lost: rebuilding from the ledger and the feed")
		start := time.Now()
		if err := r.rebuild(ctx); err != nil {
			if ctx.Err() == nil {
				log.Error("hot state rebuild failed; bets stay refused until it succeeds", "err", err)
			}
			continue
		}
		r.rebuilds.Add(1)
		log.Warn("hot state rebuilt", "took", time.Since(start))
	}
}

func (r *Rebuilder) rebuild(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rebuildTimeout)
	defer cancel()
	if err := r.restore(ctx); err != nil {
		return err
	}
	if r.Feed != nil {
		if err := r.Feed.Resync(ctx); err != nil {
			return fmt.Errorf("resync the feed: %w", err)
		}
	}
	return r.State.MarkBuilt(ctx)
}

// restore writes every market's status from the ledger.
func (r *Rebuilder) restore(ctx context.Context) error {
	markets, err := r.Markets.MarketStatuses(ctx)
	if err != nil {
		return fmt.Errorf("read market statuses: %w", err)
	}
	for id, status := range markets {
		if err := r.State.RestoreStatus(ctx, id, status); err != nil {
			return err
		}
	}
	return nil
}
