// Package feed is the platform's client of the reference feed protocol
// (docs/feed-protocol.md): it subscribes to a feed server's WebSocket
// stream, checks the sequence, and hands odds and statuses to pricing and
// results to settlement, as a platform does with a vendor's feed.
//
// The client keeps the last seq it applied. A duplicate is dropped. A gap is
// refilled by reconnecting with after=last, which the protocol promises
// delivers everything after it; if the server cannot, the client recovers
// from the snapshot, and counts the seqs as lost only if that fails too. A
// message that cannot be applied (its store is down) is retried, then the
// client reconnects from its last seq, so nothing is skipped. Every update
// is idempotent, so redelivery is safe.
package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/platform"
)

// Quotes receives odds and status updates (pricing.Service). ref names the
// message each came in: its seq, ts and producer.
type Quotes interface {
	// Odds applies an odds update. Returns EINVALID or EINTERNAL.
	Odds(ctx context.Context, market string, odds []platform.Selection, ref platform.FeedRef) error
	// Status applies a status update and what it says of the market's
	// phase and bet delay. Returns EINVALID or EINTERNAL.
	Status(ctx context.Context, market string, status platform.MarketStatus, def platform.MarketDef, ref platform.FeedRef) error
}

// Results receives market results (settlement.Service).
type Results interface {
	// Result settles a market. Returns EINVALID or EINTERNAL.
	Result(ctx context.Context, market string, r platform.Result, ref platform.FeedRef) error
	// Rollback undoes market's settlement, the feed's rollback number n of
	// it (docs/feed-protocol.md); a rollback already applied changes
	// nothing.
	Rollback(ctx context.Context, market string, n int64, ref platform.FeedRef) error
}

// Defaults for Config.
const (
	DefaultHeartbeatTimeout = 3 * time.Second // three missed heartbeats
	DefaultMinBackoff       = 50 * time.Millisecond
	DefaultMaxBackoff       = 2 * time.Second
	DefaultApplyAttempts    = 5
	maxMessageBytes         = 1 << 20
	maxSnapshotBytes        = 64 << 20
)

// Config configures a Client.
type Config struct {
	// URL is the feed server's base URL, e.g. http://127.0.0.1:1234.
	URL     string
	Quotes  Quotes
	Results Results
	Logger  *slog.Logger // nil = discard
	// HTTPClient dials the stream and fetches snapshots; nil = a client
	// of its own.
	HTTPClient *http.Client
	// HeartbeatTimeout is how long the stream may stay silent before the
	// client gives up on the connection and reconnects.
	HeartbeatTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause between reconnections; it
	// doubles from the first to the second.
	MinBackoff, MaxBackoff time.Duration
	// ApplyAttempts is how many times an update is tried before the client
	// reconnects and has it delivered again.
	ApplyAttempts int
	// OnLink, if set, is called with true when a newly opened stream
	// delivers its first message (a heartbeat counts), before that message
	// is applied, and with false when that stream ends. The feed is live in
	// between. It runs on the client's goroutine and must not block.
	OnLink func(live bool)
	// Lag, if set, is told for each applied message that carries a ts how
	// long after its ts it was applied.
	Lag func(time.Duration)
}

// Stats counts what the client has seen. The counters only grow.
type Stats struct {
	Connected     bool  // a stream is open now
	Live          bool  // the open stream has delivered a message: the feed is live
	Connects      int64 // streams opened
	DialErrors    int64 // failed attempts to open one
	LastSeq       int64 // the last seq applied (or skipped as broken)
	Received      int64 // messages read
	Applied       int64 // odds, status and result messages applied
	Duplicates    int64 // messages at or below LastSeq, dropped
	Gaps          int64 // times a seq was skipped by the stream
	Resyncs       int64 // reconnections made to refill a gap
	Snapshots     int64 // recoveries from the snapshot
	Lost          int64 // seqs neither redelivered nor covered by a snapshot
	Malformed     int64 // messages that broke the protocol
	Ignored       int64 // snapshot_complete and unknown types
	Incidents     int64 // incident messages: in sequence, but nothing to apply
	Heartbeats    int64
	Timeouts      int64 // streams dropped for silence
	ApplyErrors   int64 // failed attempts to apply an update
	LastSeen      time.Time
	LastHeartbeat time.Time
}

// Client is a feed client. Run it once.
type Client struct {
	cfg   Config
	base  *url.URL
	log   *slog.Logger
	http  *http.Client
	ready chan struct{}
	once  sync.Once
	// resync carries Resync's requests to the Run goroutine.
	resync chan chan error

	mu    sync.Mutex
	stats Stats

	// Owned by the Run goroutine.
	last             int64
	resyncFrom       int64 // the LastSeq at which the last resync was made; -1 = none
	snapshotFailures int   // failed snapshot recoveries at resyncFrom
}

// maxSnapshotFailures is how many times the client tries the snapshot for
// one gap before it counts the gap as lost and goes on.
const maxSnapshotFailures = 3

// New returns a client for cfg. It does not connect until Run.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https" && base.Scheme != "ws" && base.Scheme != "wss") || base.Host == "" {
		return nil, platform.Errorf(platform.EINVALID, "feed URL %q is not an http(s) or ws(s) URL", cfg.URL)
	}
	if cfg.Quotes == nil || cfg.Results == nil {
		return nil, platform.Errorf(platform.EINVALID, "feed client needs Quotes and Results")
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.ApplyAttempts <= 0 {
		cfg.ApplyAttempts = DefaultApplyAttempts
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	base.Path = strings.TrimSuffix(base.Path, "/")
	// The WebSocket dialer takes http(s) URLs too, and the snapshot needs them.
	switch base.Scheme {
	case "ws":
		base.Scheme = "http"
	case "wss":
		base.Scheme = "https"
	}
	return &Client{cfg: cfg, base: base, log: log, http: hc, ready: make(chan struct{}), resync: make(chan chan error), resyncFrom: -1}, nil
}

// Ready is closed once the first stream is open.
func (c *Client) Ready() <-chan struct{} { return c.ready }

// Stats returns a copy of the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) count(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// errResync ends a stream so that the next one resumes from the last seq.
var errResync = errors.New("gap in the stream: resuming from the last seq")

// errSilent ends a stream that went quiet for longer than the heartbeat timeout.
var errSilent = errors.New("no message within the heartbeat timeout")

// Run follows the stream until ctx is done, reconnecting with bounded,
// jittered backoff. It returns nil when ctx is done.
func (c *Client) Run(ctx context.Context) error {
	backoff := c.cfg.MinBackoff
	for {
		connected, err := c.stream(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errResync) {
			continue // the server is up: ask again at once
		}
		if connected {
			backoff = c.cfg.MinBackoff
		}
		c.log.Warn("feed stream ended", "err", err, "last_seq", c.last, "retry_in", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return nil
		}
		backoff = NextBackoff(backoff, c.cfg.MaxBackoff)
	}
}

// NextBackoff doubles a backoff up to limit.
func NextBackoff(cur, limit time.Duration) time.Duration {
	if cur >= limit/2 {
		return limit
	}
	return 2 * cur
}

// jitter spreads d over [d/2, d], so many clients do not reconnect in step.
func jitter(d time.Duration) time.Duration {
	if d < 2 {
		return d
	}
	return d/2 + rand.N(d/2)
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (c *Client) endpoint(path string, query url.Values) string {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	return u.String()
}

// stream opens one stream from the last seq and reads it until it fails.
func (c *Client) stream(ctx context.Context) (connected bool, err error) {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, _, err := websocket.Dial(dialCtx, c.endpoint("/feed/v1/stream", url.Values{"after": {strconv.FormatInt(c.last, 10)}}),
		&websocket.DialOptions{HTTPClient: c.http})
	cancel()
	if err != nil {
		c.count(func(s *Stats) { s.DialErrors++ })
		return false, fmt.Errorf("dial feed: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxMessageBytes)
	c.count(func(s *Stats) { s.Connected = true; s.Connects++ })
	defer c.count(func(s *Stats) { s.Connected = false })
	c.once.Do(func() { close(c.ready) })
	c.log.Info("feed connected", "url", c.base.String(), "after", c.last)
	live := false
	defer func() {
		if live {
			c.link(false)
		}
	}()

	for {
		readCtx, cancel := context.WithTimeout(ctx, c.cfg.HeartbeatTimeout)
		typ, data, err := conn.Read(readCtx)
		silent := readCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if err != nil {
			if silent {
				c.count(func(s *Stats) { s.Timeouts++ })
				return true, errSilent
			}
			return true, fmt.Errorf("read feed: %w", err)
		}
		if !live {
			live = true
			c.link(true)
		}
		if typ != websocket.MessageText {
			c.count(func(s *Stats) { s.Received++; s.Malformed++ })
			c.log.Warn("feed sent a binary frame", "bytes", len(data))
			continue
		}
		if err := c.handle(ctx, data); err != nil {
			return true, err
		}
		select {
		case done := <-c.resync:
			err := c.forceRecover(ctx)
			done <- err
			if err == nil {
				return true, errResync // resume after the snapshot's seq
			}
		default:
		}
	}
}

// Resync makes the client apply the server's snapshot whatever its seq, and
// resume the stream after it: for a platform whose stores lost what the
// client applied (its quote store flushed), so that every market's state
// comes back. It waits until the snapshot is applied, or ctx is done; it is
// served between two messages of an open stream (a heartbeat comes at least
// every second).
func (c *Client) Resync(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case c.resync <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// forceRecover is recover for Resync: the snapshot is applied even when it
// is not newer than the last seq, and the client moves to its seq, so the
// stream redelivers what came after it.
func (c *Client) forceRecover(ctx context.Context) error {
	snap, err := c.fetchSnapshot(ctx)
	if err != nil {
		return err
	}
	c.count(func(s *Stats) { s.Snapshots++ })
	c.log.Warn("feed resync from snapshot", "last_seq", c.last, "snapshot_seq", snap.Seq, "markets", len(snap.Markets))
	return c.applySnapshot(ctx, snap)
}

// handle applies one message in seq order.
func (c *Client) handle(ctx context.Context, data []byte) error {
	now := time.Now()
	c.count(func(s *Stats) { s.Received++; s.LastSeen = now })
	m, err := DecodeMessage(data)
	if err != nil {
		c.count(func(s *Stats) { s.Malformed++ })
		c.log.Warn("malformed feed message", "err", platform.ErrorMessage(err), "bytes", len(data))
		// A broken message still uses up its seq: waiting for it to be
		// sent again would stall the feed.
		if m.Seq == c.last+1 {
			c.advance(m.Seq)
		}
		return nil
	}
	if m.TS.After(now) {
		// A vendor clock ahead of ours must not make a price look younger
		// than its arrival: it would keep an old quote from being marked
		// delayed for as long as the clock is ahead. One behind is kept:
		// it shows as lag, and errs towards delayed.
		m.TS = now
	}
	switch m.Type {
	case TypeHeartbeat:
		c.count(func(s *Stats) { s.Heartbeats++; s.LastHeartbeat = now })
		if m.Seq > c.last { // messages were sent that never arrived
			return c.gap(ctx, nil, m.Seq)
		}
		return nil
	case TypeOdds, TypeStatus, TypeResult, TypeIncident, TypeRollback:
		switch {
		case m.Seq <= c.last:
			c.count(func(s *Stats) { s.Duplicates++ })
			return nil
		case m.Seq > c.last+1:
			return c.gap(ctx, &m, m.Seq)
		}
		return c.applyNext(ctx, m)
	default:
		c.count(func(s *Stats) { s.Ignored++ })
		if m.Seq == c.last+1 {
			c.advance(m.Seq)
		}
		return nil
	}
}

// link records that the feed went live or stopped being live, and tells
// OnLink.
func (c *Client) link(live bool) {
	c.count(func(s *Stats) { s.Live = live })
	if c.cfg.OnLink != nil {
		c.cfg.OnLink(live)
	}
}

func (c *Client) advance(seq int64) {
	c.last = seq
	c.count(func(s *Stats) { s.LastSeq = seq })
}

// applyNext applies m, retrying a failing store a few times; then it gives
// up on the stream, so the next one delivers m again.
func (c *Client) applyNext(ctx context.Context, m Message) error {
	pause := c.cfg.MinBackoff
	for attempt := 1; ; attempt++ {
		err := c.apply(ctx, m)
		if err == nil {
			break
		}
		if platform.ErrorCode(err) == platform.EINVALID {
			// The message is well-formed but the platform cannot take it
			// (e.g. a market id the ledger refuses); retrying cannot help,
			// and its seq is used up like a malformed message's.
			c.count(func(s *Stats) { s.Malformed++ })
			c.log.Warn("feed message refused", "seq", m.Seq, "type", m.Type, "err", platform.ErrorMessage(err))
			c.advance(m.Seq)
			return nil
		}
		c.count(func(s *Stats) { s.ApplyErrors++ })
		c.log.Warn("feed message not applied", "seq", m.Seq, "type", m.Type, "attempt", attempt, "err", err)
		if attempt >= c.cfg.ApplyAttempts {
			return fmt.Errorf("apply seq %d: %w", m.Seq, err)
		}
		if !sleep(ctx, jitter(pause)) {
			return ctx.Err()
		}
		pause = NextBackoff(pause, c.cfg.MaxBackoff)
	}
	c.advance(m.Seq)
	c.count(func(s *Stats) { s.Applied++ })
	if c.cfg.Lag != nil && !m.TS.IsZero() {
		c.cfg.Lag(time.Since(m.TS))
	}
	return nil
}

func (c *Client) apply(ctx context.Context, m Message) error {
	ref := platform.FeedRef{Seq: m.Seq, TS: m.TS, Producer: m.Producer}
	switch m.Type {
	case TypeOdds:
		return c.cfg.Quotes.Odds(ctx, m.Market, m.Prices, ref)
	case TypeStatus:
		return c.cfg.Quotes.Status(ctx, m.Market, m.Status, platform.MarketDef{InPlay: m.InPlay, BetDelay: m.BetDelay}, ref)
	case TypeResult:
		return c.cfg.Results.Result(ctx, m.Market, m.Result(), ref)
	case TypeRollback:
		return c.cfg.Results.Rollback(ctx, m.Market, m.Rollbacks, ref)
	case TypeIncident:
		c.count(func(s *Stats) { s.Incidents++ })
	}
	return nil
}

// gap handles a stream that skipped to seq. The first time at a given last
// seq it reconnects from there; if the gap is still there after that, the
// server cannot fill it, and the client recovers from the snapshot; if the
// snapshot keeps failing, the missing seqs are counted as lost. m is the
// message that revealed the gap (nil for a heartbeat).
func (c *Client) gap(ctx context.Context, m *Message, seq int64) error {
	c.count(func(s *Stats) { s.Gaps++ })
	if c.resyncFrom != c.last {
		c.resyncFrom = c.last
		c.snapshotFailures = 0
		c.count(func(s *Stats) { s.Resyncs++ })
		c.log.Warn("feed gap: resuming", "last_seq", c.last, "seen_seq", seq)
		return errResync
	}
	if err := c.recover(ctx); err != nil {
		c.snapshotFailures++
		if c.snapshotFailures < maxSnapshotFailures {
			return err // reconnect, and try the snapshot again
		}
		// No way to refill the gap: stalling the feed for good would be
		// worse than counting the seqs as lost and going on.
		c.log.Error("feed snapshot unavailable; giving up on the gap", "err", err, "last_seq", c.last)
	}
	c.snapshotFailures = 0
	if m == nil {
		if seq > c.last {
			lost := seq - c.last
			c.count(func(s *Stats) { s.Lost += lost })
			c.log.Error("feed gap could not be refilled", "from", c.last+1, "to", seq)
			c.advance(seq)
		}
		return nil
	}
	if m.Seq <= c.last {
		return nil // the snapshot covers it
	}
	if m.Seq > c.last+1 {
		lost := m.Seq - 1 - c.last
		c.count(func(s *Stats) { s.Lost += lost })
		c.log.Error("feed gap could not be refilled", "from", c.last+1, "to", m.Seq-1)
		c.advance(m.Seq - 1)
	}
	return c.applyNext(ctx, *m)
}

// recover applies the server's snapshot, when it is newer than what the
// client has.
func (c *Client) recover(ctx context.Context) error {
	snap, err := c.fetchSnapshot(ctx)
	if err != nil {
		return err
	}
	c.count(func(s *Stats) { s.Snapshots++ })
	if snap.Seq <= c.last {
		return nil
	}
	c.log.Warn("feed recovering from snapshot", "last_seq", c.last, "snapshot_seq", snap.Seq, "markets", len(snap.Markets))
	return c.applySnapshot(ctx, snap)
}

// applySnapshot applies every market of snap and moves the client to its
// seq.
func (c *Client) applySnapshot(ctx context.Context, snap *Snapshot) error {
	ref := platform.FeedRef{Seq: snap.Seq, Producer: snap.Producer} // a snapshot has no ts
	for _, m := range snap.Markets {
		var err error
		if len(m.Prices) > 0 {
			err = errors.Join(err, c.cfg.Quotes.Odds(ctx, m.Market, m.Prices, ref))
		}
		switch m.Status {
		case platform.MarketOpen, platform.MarketSuspended, platform.MarketClosed:
			err = errors.Join(err, c.cfg.Quotes.Status(ctx, m.Market, m.Status, platform.MarketDef{InPlay: m.InPlay, BetDelay: m.BetDelay}, ref))
		}
		// A result carries its generation, so it undoes by itself a
		// settlement the snapshot's rollbacks superseded; a market rolled
		// back and not resulted again needs the rollback itself.
		switch {
		case m.Winners != nil:
			err = errors.Join(err, c.cfg.Results.Result(ctx, m.Market, m.Result(), ref))
		case m.Rollbacks > 0:
			err = errors.Join(err, c.cfg.Results.Rollback(ctx, m.Market, m.Rollbacks, ref))
		}
		if err != nil {
			c.count(func(s *Stats) { s.ApplyErrors++ })
			return fmt.Errorf("apply snapshot market %s: %w", m.Market, err)
		}
	}
	c.advance(snap.Seq)
	return nil
}

func (c *Client) fetchSnapshot(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/feed/v1/snapshot", nil), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch snapshot: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch snapshot: status %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if len(data) > maxSnapshotBytes {
		return nil, fmt.Errorf("snapshot is larger than %d bytes", maxSnapshotBytes)
	}
	return DecodeSnapshot(data)
}
