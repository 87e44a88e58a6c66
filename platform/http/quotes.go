package http

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// The quote stream's close codes (docs/api.md, "The quote stream").
const (
	CloseMalformed    websocket.StatusCode = 4400 // the subscription is not valid
	CloseUnknown      websocket.StatusCode = 4404 // a named market has never been quoted
	CloseNoSubscribe  websocket.StatusCode = 4408 // no subscription in time
	CloseSlow         websocket.StatusCode = 4429 // the subscriber fell behind
	CloseShuttingDown                      = websocket.StatusGoingAway
)

// Defaults for QuoteStreamConfig.
const (
	DefaultSubscribeTimeout = 5 * time.Second
	DefaultQuoteHeartbeat   = 500 * time.Millisecond // half the contract's second, so a busy machine still keeps it
	quoteWriteTimeout       = 10 * time.Second       // a peer that takes no data for this long is gone
	maxSubscriptionBytes    = 64 << 10
)

// QuoteStreamConfig configures a QuoteStream.
type QuoteStreamConfig struct {
	Hub    *pricing.Hub // required; made with Encode: EncodeQuote
	Logger *slog.Logger // nil = discard
	// SubscribeTimeout is how long a client has to subscribe; 0 = 5 s.
	SubscribeTimeout time.Duration
	// Heartbeat is how often an idle or busy subscriber gets a heartbeat;
	// 0 = DefaultQuoteHeartbeat.
	Heartbeat time.Duration
}

// QuoteStream serves GET /v1/quotes/stream: each WebSocket subscriber gets
// its markets' current quotes from the hub, then every change, and a
// heartbeat; it is dropped with 4429 when the hub drops it for falling
// behind. Close ends every subscriber with 1001.
type QuoteStream struct {
	cfg    QuoteStreamConfig
	log    *slog.Logger
	ctx    context.Context // done at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// NewQuoteStream returns a stream of cfg.Hub's quotes.
func NewQuoteStream(cfg QuoteStreamConfig) *QuoteStream {
	if cfg.SubscribeTimeout <= 0 {
		cfg.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultQuoteHeartbeat
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &QuoteStream{cfg: cfg, log: log, ctx: ctx, cancel: cancel}
}

// Close closes every subscriber with 1001 and waits (bounded by the close
// handshakes) for them to go. Later connections are refused. Idempotent.
func (q *QuoteStream) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
}

// quoteJSON is a quote on the wire.
type quoteJSON struct {
	Type        string            `json:"type"`
	Market      string            `json:"market"`
	Status      string            `json:"status"`
	Prices      map[string]string `json:"prices"`
	FeedSeq     int64             `json:"feed_seq"`
	FeedTS      *string           `json:"feed_ts"` // null when the update had no ts (a snapshot recovery)
	Producer    string            `json:"producer"`
	PublishedAt string            `json:"published_at"`
	Delayed     bool              `json:"delayed"`
}

// wireTime is RFC 3339 in UTC with microseconds, as the contract shows.
func wireTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

// EncodeQuote renders a quote as the stream sends it; give it to the hub
// (pricing.HubConfig.Encode) so each quote is encoded once.
func EncodeQuote(q *pricing.Quote) []byte {
	w := quoteJSON{Type: "quote", Market: q.Market, Status: string(q.Status), Prices: make(map[string]string, len(q.Selections)),
		FeedSeq: q.Feed.Seq, Producer: q.Feed.Producer, PublishedAt: wireTime(q.PublishedAt), Delayed: q.Delayed}
	for _, s := range q.Selections {
		w.Prices[s.ID] = s.Odds.String()
	}
	if !q.Feed.TS.IsZero() {
		ts := wireTime(q.Feed.TS)
		w.FeedTS = &ts
	}
	b, _ := json.Marshal(w) // strings and maps always encode
	return b
}

// subscribeJSON is the client's one message.
type subscribeJSON struct {
	Type    string   `json:"type"`
	Markets []string `json:"markets"`
}

// ServeHTTP implements http.Handler.
func (q *QuoteStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := requestLogger(r.Context(), q.log)
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		writeJSON(w, ErrorStatus(platform.EUNAVAILABLE), errorBody{Code: platform.EUNAVAILABLE, Message: "the platform is shutting down"})
		return
	}
	q.wg.Add(1)
	q.mu.Unlock()
	defer q.wg.Done()

	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		log.Debug("quote stream: not a WebSocket", "err", err)
		return // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxSubscriptionBytes)

	// One goroutine reads: first the subscription, then whatever the client
	// sends after it, which is ignored; it notices when the client goes. A
	// read with a deadline would close the connection before a 4408 could
	// be sent, hence the goroutine.
	first := make(chan readResult, 1)
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		typ, data, err := conn.Read(context.Background())
		first <- readResult{typ, data, err}
		for err == nil {
			_, _, err = conn.Read(context.Background())
		}
	}()

	sub, code, reason := q.subscribe(first)
	if sub == nil {
		if code != 0 {
			log.Debug("quote stream: refused", "code", int(code), "reason", reason)
			conn.Close(code, reason)
		}
		return
	}
	defer sub.Close()
	log.Debug("quote stream: subscribed")

	code, reason = q.push(conn, sub, gone)
	if code != 0 {
		log.Debug("quote stream: closing", "code", int(code), "reason", reason)
		conn.Close(code, reason)
	}
}

type readResult struct {
	typ  websocket.MessageType
	data []byte
	err  error
}

// subscribe waits for the client's subscription and checks it. On refusal
// it returns the close code and reason (code 0: the connection is gone).
func (q *QuoteStream) subscribe(first <-chan readResult) (*pricing.Subscription, websocket.StatusCode, string) {
	timer := time.NewTimer(q.cfg.SubscribeTimeout)
	defer timer.Stop()
	var res readResult
	select {
	case <-q.ctx.Done():
		return nil, CloseShuttingDown, "the platform is shutting down"
	case <-timer.C:
		return nil, CloseNoSubscribe, "no subscription within " + q.cfg.SubscribeTimeout.String()
	case res = <-first:
	}
	if res.err != nil {
		return nil, 0, ""
	}
	var s subscribeJSON
	if res.typ != websocket.MessageText || json.Unmarshal(res.data, &s) != nil {
		return nil, CloseMalformed, "the subscription is not a JSON object"
	}
	if s.Type != "subscribe" {
		return nil, CloseMalformed, `the first message must be {"type":"subscribe",...}`
	}
	if len(s.Markets) == 0 {
		return nil, CloseMalformed, "the subscription names no market"
	}
	sub, err := q.cfg.Hub.Subscribe(s.Markets)
	switch platform.ErrorCode(err) {
	case "":
		return sub, 0, ""
	case platform.ENOTFOUND:
		return nil, CloseUnknown, closeReason(platform.ErrorMessage(err))
	default:
		return nil, CloseMalformed, closeReason(platform.ErrorMessage(err))
	}
}

// closeReason fits a reason into a close frame (at most 123 bytes).
func closeReason(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// push writes the subscriber's quotes and heartbeats until it is dropped,
// goes away, or the stream closes; it returns the close code to send (0:
// none, the connection is gone).
func (q *QuoteStream) push(conn *websocket.Conn, sub *pricing.Subscription, gone <-chan struct{}) (websocket.StatusCode, string) {
	heartbeat := time.NewTicker(q.cfg.Heartbeat)
	defer heartbeat.Stop()
	write := func(data []byte) bool {
		// Not q.ctx: a cancelled write closes the connection, and a
		// shutdown must still send its 1001.
		ctx, cancel := context.WithTimeout(context.Background(), quoteWriteTimeout)
		defer cancel()
		return conn.Write(ctx, websocket.MessageText, data) == nil
	}
	for {
		// Being dropped wins over the quotes still queued.
		select {
		case <-sub.Dropped():
			return CloseSlow, "more than the queue limit of quotes waiting: dropped; subscribe again"
		default:
		}
		select {
		case <-q.ctx.Done():
			return CloseShuttingDown, "the platform is shutting down"
		case <-gone:
			return 0, ""
		case <-sub.Dropped():
			return CloseSlow, "more than the queue limit of quotes waiting: dropped; subscribe again"
		case quote := <-sub.C():
			data := quote.Data
			if data == nil {
				data = EncodeQuote(quote)
			}
			if !write(data) {
				return q.afterWriteError()
			}
		case now := <-heartbeat.C:
			if !write([]byte(`{"type":"heartbeat","published_at":"` + wireTime(now) + `"}`)) {
				return q.afterWriteError()
			}
		}
	}
}

func (q *QuoteStream) afterWriteError() (websocket.StatusCode, string) {
	if q.ctx.Err() != nil {
		return CloseShuttingDown, "the platform is shutting down"
	}
	return 0, ""
}
