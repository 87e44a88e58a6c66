package pricing

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/inplaylabs/inplay/platform"
)

// Defaults for HubConfig.
const (
	DefaultStaleAfter = 10 * time.Second
	DefaultQueueLimit = 1024
)

// Quote is a market's whole current quote as the quote stream shows it
// (docs/api.md, "The quote stream"). A published Quote is never changed:
// every subscriber shares it.
type Quote struct {
	Market      string
	Status      platform.MarketStatus
	Selections  []platform.Selection // every selection quoted so far, sorted by ID
	Feed        platform.FeedRef     // the newest feed message applied to the market
	PublishedAt time.Time
	// Delayed is set when the market's newest feed update is older than the
	// hub's StaleAfter, or while the feed is not live.
	Delayed bool
	// Data is the quote as HubConfig.Encode renders it, once for every
	// subscriber; nil without an Encode.
	Data []byte
}

// HubConfig configures a Hub.
type HubConfig struct {
	// StaleAfter is the age of a market's newest feed update past which its
	// quotes are delayed; 0 = DefaultStaleAfter.
	StaleAfter time.Duration
	// QueueLimit is how many quotes may wait for one subscriber before it is
	// dropped; 0 = DefaultQueueLimit.
	QueueLimit int
	// Encode, if set, renders each quote into Quote.Data when it is
	// published, so a fan-out encodes it once, not once per subscriber.
	Encode func(*Quote) []byte
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// HubStats counts what a Hub has done. The totals only grow.
type HubStats struct {
	Markets     int   // markets quoted so far
	Subscribers int   // subscriptions open now
	Published   int64 // quotes published (each counted once, however many subscribers)
	Dropped     int64 // subscribers dropped for falling behind
}

// Hub keeps every market's whole current quote in memory and pushes each
// change to its subscribers. It implements Publisher: pricing and
// settlement tell it what the quote store applied, and it merges odds as the
// store does, so each pushed quote is whole. Publishing never waits on a
// subscriber: one that has more than QueueLimit quotes waiting is dropped.
type Hub struct {
	cfg HubConfig

	mu        sync.Mutex
	markets   map[string]*hubMarket
	subs      map[*Subscription]struct{}
	live      bool // the feed is live
	published int64
	dropped   int64
}

type hubMarket struct {
	quote     *Quote
	updatedAt time.Time // the feed ts of its newest update, or when it was applied if the feed gave none
}

var _ Publisher = (*Hub)(nil)

// NewHub returns an empty hub. The feed starts out not live, so quotes are
// delayed until SetLive(true).
func NewHub(cfg HubConfig) *Hub {
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = DefaultQueueLimit
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Hub{cfg: cfg, markets: map[string]*hubMarket{}, subs: map[*Subscription]struct{}{}}
}

// Subscription is one subscriber's view of a Hub: the current quote of each
// subscribed market first, then every change.
type Subscription struct {
	hub     *Hub
	all     bool
	markets map[string]bool
	c       chan *Quote
	dropped chan struct{}
	closed  bool // guarded by hub.mu
}

// C delivers the subscriber's quotes.
func (s *Subscription) C() <-chan *Quote { return s.c }

// Dropped is closed when the hub drops the subscriber for falling behind;
// nothing more is delivered on C after that.
func (s *Subscription) Dropped() <-chan struct{} { return s.dropped }

// Close ends the subscription. It is idempotent.
func (s *Subscription) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.close()
}

// close ends s; the hub's lock is held.
func (s *Subscription) close() {
	if !s.closed {
		s.closed = true
		delete(s.hub.subs, s)
	}
}

func (s *Subscription) wants(market string) bool { return s.all || s.markets[market] }

// Subscribe subscribes to markets: ["*"] (or none) for every market,
// including those first quoted later. The current quote of each subscribed
// market is queued at once, re-stamped now. Returns EINVALID (a malformed
// market id) or ENOTFOUND (a named market has never been quoted).
func (h *Hub) Subscribe(markets []string) (*Subscription, error) {
	s := &Subscription{hub: h, markets: map[string]bool{}, dropped: make(chan struct{})}
	for _, m := range markets {
		if m == "*" {
			s.all = true
			continue
		}
		if err := platform.ValidateID("market", m); err != nil {
			return nil, err
		}
		s.markets[m] = true
	}
	if len(markets) == 0 {
		s.all = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var unknown []string
	for m := range s.markets {
		if h.markets[m] == nil {
			unknown = append(unknown, m)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, platform.Errorf(platform.ENOTFOUND, "market %s has never been quoted", strings.Join(unknown, ", "))
	}
	var current []*hubMarket
	for id, m := range h.markets {
		if s.wants(id) {
			current = append(current, m)
		}
	}
	slices.SortFunc(current, func(a, b *hubMarket) int { return strings.Compare(a.quote.Market, b.quote.Market) })
	// The current state does not count against the queue: a new screen of
	// many markets must not be dropped before it has seen anything.
	s.c = make(chan *Quote, len(current)+h.cfg.QueueLimit)
	now := h.cfg.Now()
	for _, m := range current {
		s.c <- h.restamp(m, now)
	}
	h.subs[s] = struct{}{}
	return s, nil
}

// restamp returns m's quote as sent now; the lock is held.
func (h *Hub) restamp(m *hubMarket, now time.Time) *Quote {
	q := *m.quote
	q.PublishedAt = now
	q.Delayed = h.delayed(m, now)
	h.encode(&q)
	return &q
}

func (h *Hub) delayed(m *hubMarket, now time.Time) bool {
	return !h.live || now.Sub(m.updatedAt) > h.cfg.StaleAfter
}

func (h *Hub) encode(q *Quote) {
	if h.cfg.Encode != nil {
		q.Data = h.cfg.Encode(q)
	} else {
		q.Data = nil
	}
}

// Seed sets the quotes a hub starts from, before anyone subscribes: the
// hot state a platform started again finds in its store. Without it, a
// restarted platform's first update of a market would push a quote with
// only that update's selections. A market the hub already has keeps its own
// quote. Seeded quotes are pushed to no one; a subscriber gets them first.
func (h *Hub) Seed(prices []*platform.Price) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	for _, p := range prices {
		if _, ok := h.markets[p.Market]; ok {
			continue
		}
		m := &hubMarket{updatedAt: p.UpdatedAt}
		if m.updatedAt.IsZero() {
			m.updatedAt = now
		}
		q := &Quote{Market: p.Market, Status: p.Status, Selections: slices.Clone(p.Selections),
			Feed: platform.FeedRef{Seq: p.Seq, TS: p.UpdatedAt}, PublishedAt: now}
		q.Delayed = h.delayed(m, now)
		h.encode(q)
		m.quote = q
		h.markets[p.Market] = m
	}
}

// PublishOdds implements Publisher: it merges odds into the market's quote
// and pushes the whole quote.
func (h *Hub) PublishOdds(market string, odds []platform.Selection, ref platform.FeedRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, q := h.next(market, ref)
	if q.Status == "" {
		q.Status = platform.MarketOpen // as the store opens a market on its first odds
	}
	merged := make([]platform.Selection, 0, len(q.Selections)+len(odds))
	merged = append(merged, q.Selections...)
	for _, sel := range odds {
		i, found := slices.BinarySearchFunc(merged, sel.ID, func(s platform.Selection, id string) int { return strings.Compare(s.ID, id) })
		if found {
			merged[i] = sel
		} else {
			merged = slices.Insert(merged, i, sel)
		}
	}
	q.Selections = merged
	h.push(m, q)
}

// PublishStatus implements Publisher: it sets the market's status and
// pushes the whole quote.
func (h *Hub) PublishStatus(market string, status platform.MarketStatus, ref platform.FeedRef) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, q := h.next(market, ref)
	q.Status = status
	h.push(m, q)
}

// next returns market's entry (made if new) and a copy of its quote carrying
// ref; the lock is held.
func (h *Hub) next(market string, ref platform.FeedRef) (*hubMarket, *Quote) {
	now := h.cfg.Now()
	m := h.markets[market]
	if m == nil {
		m = &hubMarket{quote: &Quote{Market: market}}
		h.markets[market] = m
	}
	q := *m.quote
	q.Feed = ref
	m.updatedAt = ref.TS
	if ref.TS.IsZero() {
		m.updatedAt = now // a snapshot carries no ts: it is as fresh as its arrival
	}
	return m, &q
}

// push makes q the market's quote and sends it to every subscriber of the
// market; the lock is held.
func (h *Hub) push(m *hubMarket, q *Quote) {
	q.PublishedAt = h.cfg.Now()
	q.Delayed = h.delayed(m, q.PublishedAt)
	h.encode(q)
	m.quote = q
	h.published++
	for s := range h.subs {
		if !s.wants(q.Market) {
			continue
		}
		select {
		case s.c <- q:
		default:
			// Waiting would slow every other subscriber and the feed.
			s.close()
			close(s.dropped)
			h.dropped++
		}
	}
}

// SetLive records whether the feed is live. When that changes, every
// market is published again with its new delayed flag.
func (h *Hub) SetLive(live bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.live == live {
		return
	}
	h.live = live
	ids := make([]string, 0, len(h.markets))
	for id := range h.markets {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := h.markets[id]
		q := *m.quote
		h.push(m, &q)
	}
}

// Live reports whether the hub takes the feed to be live.
func (h *Hub) Live() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}

// Quote returns a market's current quote, and whether it has been quoted.
func (h *Hub) Quote(market string) (*Quote, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.markets[market]
	if m == nil {
		return nil, false
	}
	return m.quote, true
}

// Staleness returns the age of the oldest open market's newest feed update:
// how old the stalest price a bettor can bet on is. It is 0 with no open
// market.
func (h *Hub) Staleness() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.cfg.Now()
	var oldest time.Duration
	for _, m := range h.markets {
		if m.quote.Status == platform.MarketOpen {
			oldest = max(oldest, now.Sub(m.updatedAt))
		}
	}
	return oldest
}

// Stats returns the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HubStats{Markets: len(h.markets), Subscribers: len(h.subs), Published: h.published, Dropped: h.dropped}
}

// CloseAll ends every subscription; the hub stays usable.
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.close()
	}
}
