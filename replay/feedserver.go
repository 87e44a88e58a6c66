package replay

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// FeedHeartbeatInterval is how often a FeedServer sends each subscriber a
// heartbeat; half the protocol's one-second bound, so a heartbeat delayed
// by a busy machine still arrives in time.
const FeedHeartbeatInterval = 500 * time.Millisecond

// FeedSubscriberBuffer is how many live messages a subscriber may fall
// behind before it is disconnected (with WebSocket close 1013, "try again
// later", when the connection can still carry it) and must resume with
// after=SEQ. Catching up on the log after a resume does
// not count: only messages published since it connected do.
const FeedSubscriberBuffer = 4096

// feedBatch is how many frames a subscriber takes from the log at a time.
const feedBatch = 256

// feedWriteTimeout bounds one write to a subscriber, so a dead peer whose
// TCP window is shut cannot hold its goroutine forever.
const feedWriteTimeout = 10 * time.Second

// FeedServer serves the reference feed protocol (docs/feed-protocol.md) from
// an in-memory log: GET /feed/v1/stream?after=SEQ (WebSocket) and GET
// /feed/v1/snapshot. The replay engine publishes into it; the platform under
// test connects to it as to a vendor. It keeps every message, so any client
// can resume from any seq with no gap and no duplicate.
type FeedServer struct {
	producer string

	mu      sync.Mutex
	pseq    map[string]int64       // the last producer_seq of each producer
	log     [][]byte               // log[i] is the encoded message of seq i+1; never changed once appended
	markets map[string]*FeedMarket // current state, for the snapshot
	subs    map[*feedSub]struct{}  // connected subscribers
	closed  bool
	wg      sync.WaitGroup // one per connected subscriber

	// Feed faults (feedfault.go): the one on, every one so far (a
	// subscriber that is behind still sends their messages as they said),
	// the dropout's silence (closed when it ends) and the last seq a
	// dropout or burst held back.
	fault    *feedFault
	faults   []*feedFault
	silence  chan struct{}
	muted    atomic.Bool // a dropout is on: no frame goes out, checked before each
	holdUpTo int64

	slow atomic.Int64 // subscribers disconnected for falling behind

	delaySpeed float64 // ScaleBetDelay's speed; 0 = serve bet_delay_ms as given
}

// ScaleBetDelay makes the server announce each market's bet_delay_ms in a
// replay's time: divided by speed and rounded to the millisecond, as the
// replay divides every other interval, so a platform that applies the
// feed's delay holds a bet for the share of the run the recording did.
// Call it before the first Publish; a speed of 0 or 1 serves them as given.
func (s *FeedServer) ScaleBetDelay(speed float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delaySpeed = speed
}

// betDelay is ms as served. The caller holds s.mu.
func (s *FeedServer) betDelay(ms *int64) *int64 {
	if ms == nil || s.delaySpeed <= 0 || s.delaySpeed == 1 {
		return ms
	}
	v := int64(math.Round(float64(*ms) / s.delaySpeed))
	return &v
}

// feedSub is one connected stream client.
type feedSub struct {
	base   int64         // the last seq at connect: lag counts only what came later
	sent   atomic.Int64  // the last seq written to it
	wake   chan struct{} // cap 1: something was published
	cancel context.CancelFunc
	kicked atomic.Bool // disconnected for falling behind
}

// FeedSnapshot is the body of GET /feed/v1/snapshot: every market's state,
// consistent with Seq.
type FeedSnapshot struct {
	Seq      int64        `json:"seq"`
	Producer string       `json:"producer"`
	Markets  []FeedMarket `json:"markets"` // sorted by Market
	// Producers is the last producer_seq of every producer that has sent.
	Producers map[string]int64 `json:"producers,omitempty"`
}

// FeedMarket is one market in a FeedSnapshot.
type FeedMarket struct {
	Market  string            `json:"market"`
	Status  string            `json:"status"`  // "" until a status arrives
	Prices  map[string]string `json:"prices"`  // the latest price of every selection
	Winners []string          `json:"winners"` // null until resulted; [] = void
	// The market's definition, as the last status that carried each said.
	InPlay     *bool             `json:"in_play,omitempty"`
	BetDelayMS *int64            `json:"bet_delay_ms,omitempty"`
	Removed    []string          `json:"removed,omitempty"`
	Adjust     map[string]string `json:"adjust,omitempty"`
	// The result's factors while it stands, and how many times the
	// market's settlement was rolled back (its settlement generation).
	DeadHeat   map[string]string `json:"dead_heat,omitempty"`
	VoidFactor string            `json:"void_factor,omitempty"`
	Rollbacks  int64             `json:"rollbacks,omitempty"`
}

// A FeedServer is what an Engine publishes into.
var _ Publisher = (*FeedServer)(nil)

// NewFeedServer returns a FeedServer whose messages name producer.
func NewFeedServer(producer string) *FeedServer {
	return &FeedServer{
		producer: producer,
		pseq:     map[string]int64{},
		markets:  map[string]*FeedMarket{},
		subs:     map[*feedSub]struct{}{},
	}
}

// Publish appends a feed event (odds, status or result) to the log, giving
// it the next seq and the current time as ts, and wakes every subscriber.
// It never waits on a subscriber: one that is more than
// FeedSubscriberBuffer live messages behind is disconnected instead. It
// returns the seq, or 0 for an event that is not a feed event or after Close.
func (s *FeedServer) Publish(ev Event) int64 {
	if !ev.Kind.IsFeed() {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	seq := int64(len(s.log)) + 1
	producer := cmp.Or(ev.Producer, s.producer)
	s.pseq[producer]++
	var rollbacks int64
	if fm := s.markets[ev.Market]; fm != nil {
		rollbacks = fm.Rollbacks
	}
	if ev.Kind == KindRollback {
		rollbacks++ // the message counts itself
	}
	m := feedMessageFor(ev, seq, producer, s.pseq[producer], time.Now(), rollbacks)
	m.BetDelayMS = s.betDelay(m.BetDelayMS)
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("replay: encoding a feed message: %v", err)) // strings and maps always encode
	}
	s.log = append(s.log, b)
	s.apply(ev)
	if s.fault != nil {
		s.faultPublished(s.fault, seq)
	}
	for sub := range s.subs {
		// What a dropout or burst held back is not the subscriber's lag.
		if seq-max(sub.sent.Load(), sub.base, s.holdUpTo) > FeedSubscriberBuffer {
			sub.kicked.Store(true)
			sub.cancel()
			delete(s.subs, sub)
			s.slow.Add(1)
			continue
		}
		select {
		case sub.wake <- struct{}{}:
		default: // already woken
		}
	}
	return seq
}

// apply folds ev into the snapshot state. The caller holds s.mu.
func (s *FeedServer) apply(ev Event) {
	if ev.Kind == KindIncident {
		return // it changes no market's state
	}
	m := s.markets[ev.Market]
	if m == nil {
		m = &FeedMarket{Market: ev.Market, Prices: map[string]string{}}
		s.markets[ev.Market] = m
	}
	switch ev.Kind {
	case KindOdds:
		maps.Copy(m.Prices, ev.Prices)
	case KindStatus:
		m.Status = ev.Status
		if ev.InPlay != nil {
			m.InPlay = new(*ev.InPlay)
		}
		if ev.BetDelayMS != nil {
			m.BetDelayMS = new(*s.betDelay(ev.BetDelayMS))
		}
		if ev.Removed != nil {
			m.Removed = slices.Clone(ev.Removed)
		}
		if ev.Adjust != nil {
			m.Adjust = maps.Clone(ev.Adjust)
		}
	case KindResult:
		// A market is settled on its first result; a later one counts only
		// after a rollback, as a client applies them, so the snapshot keeps
		// what the stream made of the market.
		if m.Winners == nil {
			m.Winners = append([]string{}, ev.Winners...)
			m.DeadHeat, m.VoidFactor = maps.Clone(ev.DeadHeat), ev.VoidFactor
		}
	case KindRollback:
		m.Winners, m.DeadHeat, m.VoidFactor = nil, nil, ""
		m.Rollbacks++
	}
}

// Seq is the seq of the last published message (0 before the first).
func (s *FeedServer) Seq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.log))
}

// Snapshot is every market's current state and the seq it is consistent with.
func (s *FeedServer) Snapshot() FeedSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := FeedSnapshot{Seq: int64(len(s.log)), Producer: s.producer, Markets: make([]FeedMarket, 0, len(s.markets))}
	if len(s.pseq) > 0 {
		snap.Producers = maps.Clone(s.pseq)
	}
	for _, id := range slices.Sorted(maps.Keys(s.markets)) {
		m := *s.markets[id]
		m.Prices = maps.Clone(m.Prices)
		m.Winners = slices.Clone(m.Winners)
		m.Removed = slices.Clone(m.Removed)
		m.Adjust = maps.Clone(m.Adjust)
		m.DeadHeat = maps.Clone(m.DeadHeat)
		snap.Markets = append(snap.Markets, m)
	}
	return snap
}

// Subscribers is how many stream clients are connected now.
func (s *FeedServer) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// SlowDisconnects is how many subscribers were disconnected for falling
// more than FeedSubscriberBuffer messages behind.
func (s *FeedServer) SlowDisconnects() int64 {
	return s.slow.Load()
}

// Close ends a feed fault still on, disconnects every subscriber (WebSocket
// close 1001, "going away"), refuses new ones and ignores later Publish
// calls. It returns once no subscriber is served any more; the close
// handshakes finish in the background, bounded by the WebSocket library's
// timeouts.
func (s *FeedServer) Close() {
	s.mu.Lock()
	s.closed = true
	if s.fault != nil {
		s.endFault(s.fault)
	}
	for sub := range s.subs {
		sub.cancel()
	}
	clear(s.subs)
	s.mu.Unlock()
	s.wg.Wait()
}

// ServeHTTP serves the stream and the snapshot.
func (s *FeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/feed/v1/stream", "/feed/v1/snapshot":
	default:
		feedError(w, http.StatusNotFound, "ENOTFOUND", "no such feed endpoint: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		feedError(w, http.StatusMethodNotAllowed, "EINVALID", r.Method+" is not allowed; use GET")
		return
	}
	if r.URL.Path == "/feed/v1/snapshot" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Snapshot()) // a write error means the client left
		return
	}
	s.stream(w, r)
}

// feedError answers with the {"code","message"} error body the API uses.
func feedError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

// stream upgrades to a WebSocket and sends the log after ?after=, then the
// live stream, with heartbeats, until either side goes away.
func (s *FeedServer) stream(w http.ResponseWriter, r *http.Request) {
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			feedError(w, http.StatusBadRequest, "EINVALID", fmt.Sprintf("after=%q: want a seq, a whole number >= 0", v))
			return
		}
		after = n
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		feedError(w, http.StatusServiceUnavailable, "EUNAVAILABLE", "the feed server is closed")
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return // Accept has answered the client
	}
	// The client sends nothing; CloseRead answers its control frames and
	// ends ctx when it goes away. It must outlive this handler (whose
	// request context ends when it returns) for a close handshake to finish.
	ctx, cancel := context.WithCancel(conn.CloseRead(context.WithoutCancel(r.Context())))
	defer cancel()

	sub := &feedSub{wake: make(chan struct{}, 1), cancel: cancel}
	sub.sent.Store(after)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		goAway(conn, websocket.StatusGoingAway, "feed server closed")
		return
	}
	sub.base = int64(len(s.log))
	s.subs[sub] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	_ = s.send(ctx, conn, sub, after+1) // an error only says the connection is over
	cancel()
	s.mu.Lock()
	delete(s.subs, sub)
	closed = s.closed
	s.mu.Unlock()
	switch {
	case sub.kicked.Load():
		goAway(conn, websocket.StatusTryAgainLater, fmt.Sprintf("too slow: resume with after=%d", sub.sent.Load()))
	case closed:
		goAway(conn, websocket.StatusGoingAway, "feed server closed")
	default:
		conn.CloseNow() // the client left, or a write failed
	}
}

// goAway closes conn with a close frame without waiting for the peer's
// answer: the handshake can take seconds with a slow or silent peer, and
// neither Publish nor Close should wait on one. The library bounds it.
func goAway(conn *websocket.Conn, code websocket.StatusCode, reason string) {
	go conn.Close(code, reason)
}

// send writes the log from seq next on, then waits for more, with a
// heartbeat every FeedHeartbeatInterval even while busy. A feed fault
// alters the live part (feedfault.go); a dropout silences it all. It
// returns when a write fails or ctx ends.
func (s *FeedServer) send(ctx context.Context, conn *websocket.Conn, sub *feedSub, next int64) error {
	ticker := time.NewTicker(FeedHeartbeatInterval)
	defer ticker.Stop()
	heartbeat := func() error {
		if s.muted.Load() {
			return nil
		}
		// A heartbeat carries the last seq sent on this connection (or
		// skipped by a gap fault), so a client can tell it has missed
		// nothing.
		b, _ := json.Marshal(FeedMessage{Seq: next - 1, Producer: s.producer, TS: time.Now().UTC().Format(FeedTimeFormat), Type: FeedHeartbeat})
		return write(ctx, conn, b)
	}
	var out []feedFrame
	for {
		select {
		case <-ticker.C:
			if err := heartbeat(); err != nil {
				return err
			}
		default:
		}
		s.mu.Lock()
		silence := s.silence
		if silence == nil {
			out = s.frames(out[:0], sub, next)
		}
		s.mu.Unlock()
		if silence != nil {
			select {
			case <-silence:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		for _, f := range out {
			if s.muted.Load() {
				break // a dropout began; the rest goes when it ends
			}
			if f.data != nil {
				if err := write(ctx, conn, f.data); err != nil {
					return err
				}
			}
			if f.done > 0 {
				sub.sent.Store(f.done)
				next = f.done + 1
			}
		}
		if len(out) > 0 {
			continue
		}
		select {
		case <-sub.wake:
		case <-ticker.C:
			if err := heartbeat(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// isClosed reports whether Close has been called.
func (s *FeedServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// write sends one text message, bounded by feedWriteTimeout.
func write(ctx context.Context, conn *websocket.Conn, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, feedWriteTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}
