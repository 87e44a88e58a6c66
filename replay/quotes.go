package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// QuoteStreamPath is the quote stream's path under a platform's base URL
// (docs/api.md, "The quote stream").
const QuoteStreamPath = "/v1/quotes/stream"

// Quote subscriber defaults.
const (
	// DefaultQuoteSilence is how long a subscriber waits with nothing on the
	// wire (no quote, no heartbeat) before it takes the connection for dead.
	// The stream sends a heartbeat at least every second; three missed ones
	// is a link that is down without having said so (a black-holed TCP
	// connection never returns a read error on its own).
	DefaultQuoteSilence = 3 * time.Second
	// DefaultQuoteBackoffMin and DefaultQuoteBackoffMax bound the wait
	// between reconnection attempts; it doubles on each failure in a row.
	DefaultQuoteBackoffMin = 100 * time.Millisecond
	DefaultQuoteBackoffMax = 2 * time.Second
)

// quoteReadLimit is the largest quote frame accepted: a whole market's
// prices, with room to spare over coder/websocket's 32 KiB default.
const quoteReadLimit = 1 << 20

// quoteSubscribe is the one message a subscriber sends: every market.
var quoteSubscribe = []byte(`{"type":"subscribe","markets":["*"]}`)

// Reasons a subscription ended, the keys of QuoteSubscriberLog.CloseReasons.
// A WebSocket close from the server is "close_" and its code (close_4429:
// fell behind, close_1001: shutting down).
const (
	CloseReasonSilence   = "silence"   // nothing received for the silence bound
	CloseReasonEOF       = "eof"       // the connection ended without a close frame
	CloseReasonError     = "error"     // any other transport error (reset, refused write)
	CloseReasonSubscribe = "subscribe" // the subscribe message could not be written
	closeReasonPrefix    = "close_"    // + the WebSocket close code
)

// Internal outcomes of a session that are not disconnects.
const (
	closeReasonStopped = "stopped" // Stop ended it
	reasonDial         = "dial"    // it never connected: a dial error
)

// sessionOpen marks the end of a session still open; a real end may be
// negative (before a replay clock's zero that is still in the future).
const sessionOpen = math.MinInt64

// QuoteReceipt is one quote as a subscriber received it: compact, because a
// run keeps one per quote per subscriber.
type QuoteReceipt struct {
	AtUS    int64 // receipt time, µs from the replay clock's zero (JournalEntry.IntendedUS's clock)
	FeedSeq int64 // the quote's feed_seq: it carries every update of its market up to this seq
	Market  int32 // index into QuoteObservations.Markets
}

// QuoteSession is one subscription of a subscriber: from the moment its
// subscribe message was written to the moment it saw the connection end
// (or the end of observation, for the last one).
type QuoteSession struct {
	FromUS int64 `json:"from_us"`
	ToUS   int64 `json:"to_us"`
}

// QuoteSubscriberLog is what one subscriber recorded.
type QuoteSubscriberLog struct {
	Receipts     []QuoteReceipt   // in receipt order, so AtUS never decreases
	Sessions     []QuoteSession   // in order; they do not overlap
	Connects     int64            // upgrades that succeeded
	DialErrors   int64            // dials or upgrades that failed (the stream was unreachable)
	Disconnects  int64            // connections that ended before Stop (see CloseReasons)
	DecodeErrors int64            // frames that were not a quote, a heartbeat or another JSON object with a type
	CloseReasons map[string]int64 // why each disconnect happened: the CloseReason constants, or close_CODE
}

// QuoteObservations are what a set of quote subscribers observed, for the
// quote_latency and odds_staleness metrics.
type QuoteObservations struct {
	EndUS       int64                // the end of observation (Stop), µs from the replay clock's zero
	Markets     []string             // market ids; QuoteReceipt.Market indexes it
	Subscribers []QuoteSubscriberLog // one per subscriber, by index
}

// Received is the number of quotes every subscriber received, together.
func (o *QuoteObservations) Received() int64 {
	return o.sum(func(s *QuoteSubscriberLog) int64 { return int64(len(s.Receipts)) })
}

// Disconnects is the number of disconnects of every subscriber, together.
func (o *QuoteObservations) Disconnects() int64 {
	return o.sum(func(s *QuoteSubscriberLog) int64 { return s.Disconnects })
}

// DecodeErrors is the number of undecodable frames every subscriber got.
func (o *QuoteObservations) DecodeErrors() int64 {
	return o.sum(func(s *QuoteSubscriberLog) int64 { return s.DecodeErrors })
}

// sum adds f over every subscriber; 0 for nil observations.
func (o *QuoteObservations) sum(f func(*QuoteSubscriberLog) int64) int64 {
	if o == nil {
		return 0
	}
	var n int64
	for i := range o.Subscribers {
		n += f(&o.Subscribers[i])
	}
	return n
}

// QuoteOption configures quote subscribers.
type QuoteOption func(*quoteConfig)

type quoteConfig struct {
	silence                time.Duration
	backoffMin, backoffMax time.Duration
}

// QuoteSilence sets how long a subscriber tolerates a silent connection
// before it drops and reconnects (default DefaultQuoteSilence).
func QuoteSilence(d time.Duration) QuoteOption {
	return func(c *quoteConfig) {
		if d > 0 {
			c.silence = d
		}
	}
}

// QuoteBackoff sets the bounds of the reconnection backoff (defaults
// DefaultQuoteBackoffMin and DefaultQuoteBackoffMax).
func QuoteBackoff(minWait, maxWait time.Duration) QuoteOption {
	return func(c *quoteConfig) {
		if minWait > 0 {
			c.backoffMin = minWait
		}
		c.backoffMax = max(maxWait, c.backoffMin)
	}
}

// QuoteSubscribers are N clients of a platform's quote stream, each
// subscribed to every market. They observe and never slow the replay: each
// reads continuously on its own goroutine and stamps every frame as it
// arrives, before decoding it. When a connection ends they reconnect, with
// backoff, and subscribe again; the quotes they missed meanwhile show in the
// metrics (odds_staleness), and the subscription on reconnect brings the
// current state, as a bettor's screen would get it.
type QuoteSubscribers struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time
	subs   []*quoteSub
	once   sync.Once
	obs    *QuoteObservations
}

// quoteSub is one subscriber. Only its goroutine touches log and the
// market table until Stop has waited for it.
type quoteSub struct {
	url     string
	start   time.Time
	cfg     quoteConfig
	log     QuoteSubscriberLog
	markets []string
	index   map[string]int32
	ready   chan struct{} // closed at its first subscription
	count   atomic.Int64  // quotes received so far, for progress
	readyOK sync.Once
	rng     *rand.Rand
}

// StartQuoteSubscribers starts n subscribers of the quote stream at base,
// a platform's base URL (http, https, ws or wss; QuoteStreamPath is
// appended). start is the replay clock's zero: receipts are stamped in µs
// from it, like the journal. n may be 0 (nothing is started). They run until
// Stop or until ctx ends.
func StartQuoteSubscribers(ctx context.Context, base string, n int, start time.Time, opts ...QuoteOption) (*QuoteSubscribers, error) {
	if n < 0 {
		return nil, fmt.Errorf("replay: %d quote subscribers: must not be negative", n)
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("replay: quote stream url %q: %w", base, err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("replay: quote stream url %q: scheme must be http, https, ws or wss", base)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("replay: quote stream url %q has no host", base)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + QuoteStreamPath
	cfg := quoteConfig{silence: DefaultQuoteSilence, backoffMin: DefaultQuoteBackoffMin, backoffMax: DefaultQuoteBackoffMax}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(ctx)
	q := &QuoteSubscribers{cancel: cancel, start: start}
	for i := range n {
		s := &quoteSub{
			url: u.String(), start: start, cfg: cfg,
			index: map[string]int32{},
			ready: make(chan struct{}),
			rng:   rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano()))),
		}
		s.log.CloseReasons = map[string]int64{}
		q.subs = append(q.subs, s)
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			s.run(ctx)
		}()
	}
	return q, nil
}

// WaitSubscribed waits until every subscriber has subscribed once, so that
// a replay started afterwards is observed from its first update. It returns
// ctx's error if that does not happen in time.
func (q *QuoteSubscribers) WaitSubscribed(ctx context.Context) error {
	for i, s := range q.subs {
		select {
		case <-s.ready:
		case <-ctx.Done():
			return fmt.Errorf("replay: quote subscriber %d has not subscribed: %w", i, ctx.Err())
		}
	}
	return nil
}

// Received is how many quotes each subscriber has received so far, by
// index: progress for a log line, safe to call while they run.
func (q *QuoteSubscribers) Received() []int64 {
	out := make([]int64, len(q.subs))
	for i, s := range q.subs {
		out[i] = s.count.Load()
	}
	return out
}

// Stop ends observation: it closes every connection, waits for the
// subscribers to finish, and returns what they recorded. Call it after the
// replay and the drain, so every update had its chance to arrive; an update
// still missing then never arrived. Calling it again returns the same
// observations.
func (q *QuoteSubscribers) Stop() *QuoteObservations {
	q.once.Do(func() {
		end := time.Since(q.start).Microseconds()
		q.cancel()
		q.wg.Wait()
		q.obs = merge(q.subs, end)
	})
	return q.obs
}

// merge puts every subscriber's log on one market table, and ends any
// session still open at the end of observation.
func merge(subs []*quoteSub, end int64) *QuoteObservations {
	obs := &QuoteObservations{EndUS: end, Subscribers: make([]QuoteSubscriberLog, len(subs))}
	global := map[string]int32{}
	for i, s := range subs {
		remap := make([]int32, len(s.markets))
		for j, m := range s.markets {
			g, ok := global[m]
			if !ok {
				g = int32(len(obs.Markets))
				global[m] = g
				obs.Markets = append(obs.Markets, m)
			}
			remap[j] = g
		}
		for k := range s.log.Receipts {
			s.log.Receipts[k].Market = remap[s.log.Receipts[k].Market]
		}
		for k := range s.log.Sessions {
			if s.log.Sessions[k].ToUS == sessionOpen {
				s.log.Sessions[k].ToUS = end
			}
		}
		obs.Subscribers[i] = s.log
	}
	return obs
}

// run connects, subscribes and reads until ctx ends, reconnecting with
// backoff after every disconnect.
func (s *quoteSub) run(ctx context.Context) {
	wait := s.cfg.backoffMin
	for ctx.Err() == nil {
		reason, received := s.session(ctx)
		if reason == closeReasonStopped || ctx.Err() != nil {
			return
		}
		if reason == reasonDial {
			s.log.DialErrors++
		} else {
			s.log.Disconnects++
			s.log.CloseReasons[reason]++
		}
		if received {
			wait = s.cfg.backoffMin // it worked for a while: come back quickly
		}
		// Jitter, so that N subscribers dropped together do not come back
		// in lock step.
		d := wait/2 + time.Duration(s.rng.Int64N(int64(wait/2)+1))
		wait = min(wait*2, s.cfg.backoffMax)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// session is one connection: dial, subscribe, read until it ends. It
// returns why it ended and whether anything was received.
func (s *quoteSub) session(ctx context.Context) (reason string, received bool) {
	dialCtx, cancelDial := context.WithTimeout(ctx, 5*time.Second)
	conn, _, err := websocket.Dial(dialCtx, s.url, nil)
	cancelDial()
	if err != nil {
		if ctx.Err() != nil {
			return closeReasonStopped, false
		}
		return reasonDial, false
	}
	defer conn.CloseNow()
	s.log.Connects++
	conn.SetReadLimit(quoteReadLimit)

	writeCtx, cancelWrite := context.WithTimeout(ctx, 5*time.Second)
	err = conn.Write(writeCtx, websocket.MessageText, quoteSubscribe)
	cancelWrite()
	if err != nil {
		if ctx.Err() != nil {
			return closeReasonStopped, false
		}
		return CloseReasonSubscribe, false
	}
	s.log.Sessions = append(s.log.Sessions, QuoteSession{FromUS: s.now(), ToUS: sessionOpen})
	open := &s.log.Sessions[len(s.log.Sessions)-1]
	s.readyOK.Do(func() { close(s.ready) })

	// The watchdog closes a connection that has gone silent; the read then
	// fails and the loop below reports why.
	var last atomic.Int64
	var silent atomic.Bool
	last.Store(int64(time.Since(s.start)))
	stopDog := make(chan struct{})
	defer close(stopDog)
	go func() {
		t := time.NewTicker(max(s.cfg.silence/4, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-stopDog:
				return
			case <-t.C:
				if time.Since(s.start)-time.Duration(last.Load()) > s.cfg.silence {
					silent.Store(true)
					conn.CloseNow()
					return
				}
			}
		}
	}()

	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			switch {
			case ctx.Err() != nil:
				return closeReasonStopped, received // its ToUS becomes the end of observation
			case silent.Load():
				reason = CloseReasonSilence
			case websocket.CloseStatus(err) != -1:
				reason = closeReasonPrefix + strconv.Itoa(int(websocket.CloseStatus(err)))
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				reason = CloseReasonEOF
			default:
				reason = CloseReasonError
			}
			open.ToUS = s.now()
			return reason, received
		}
		at := time.Now()
		last.Store(int64(at.Sub(s.start)))
		received = true
		s.receive(at.Sub(s.start).Microseconds(), data)
	}
}

// quoteFrame is the part of a stream message a subscriber keeps.
type quoteFrame struct {
	Type    string `json:"type"`
	Market  string `json:"market"`
	FeedSeq *int64 `json:"feed_seq"`
}

// receive records one frame stamped at atUS: a quote as a receipt, a
// heartbeat as nothing (its arrival already fed the watchdog).
func (s *quoteSub) receive(atUS int64, data []byte) {
	var f quoteFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Type == "" {
		s.log.DecodeErrors++
		return
	}
	if f.Type != "quote" {
		return // heartbeats, and types a newer stream may add
	}
	if f.Market == "" || f.FeedSeq == nil {
		s.log.DecodeErrors++
		return
	}
	m, ok := s.index[f.Market]
	if !ok {
		m = int32(len(s.markets))
		s.index[f.Market] = m
		s.markets = append(s.markets, f.Market)
	}
	s.log.Receipts = append(s.log.Receipts, QuoteReceipt{AtUS: atUS, FeedSeq: *f.FeedSeq, Market: m})
	s.count.Add(1)
}

// now is the replay clock's reading in µs.
func (s *quoteSub) now() int64 { return time.Since(s.start).Microseconds() }
