package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// quoteStream is a tiny quote stream that speaks docs/api.md's contract:
// a subscription to "*" gets the current quote of every market, then every
// change, and a heartbeat every heartbeat (0: none, a silent stream).
type quoteStream struct {
	t         *testing.T
	heartbeat time.Duration
	junk      [][]byte // sent to every subscriber right after the current state

	mu         sync.Mutex
	seq        map[string]int64 // market → newest feed_seq
	conns      map[*websocket.Conn]chan []byte
	subscribes int
}

func startQuoteStream(t *testing.T, heartbeat time.Duration, junk ...[]byte) (*quoteStream, string) {
	t.Helper()
	qs := &quoteStream{t: t, heartbeat: heartbeat, junk: junk, seq: map[string]int64{}, conns: map[*websocket.Conn]chan []byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+QuoteStreamPath, qs.serve)
	srv := httptest.NewServer(mux) // real TCP on 127.0.0.1:0
	t.Cleanup(func() {
		qs.drop(func(c *websocket.Conn) { c.CloseNow() })
		srv.Close()
	})
	return qs, srv.URL
}

func quoteJSON(market string, seq int64) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "quote", "market": market, "status": "open", "prices": map[string]string{"home": "2.10"},
		"feed_seq": seq, "feed_ts": "2026-11-29T09:00:00.123456Z", "producer": "replay",
		"published_at": time.Now().UTC().Format(time.RFC3339Nano), "delayed": false,
	})
	return b
}

func (qs *quoteStream) serve(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	_, b, err := conn.Read(ctx)
	cancel()
	var sub struct {
		Type    string   `json:"type"`
		Markets []string `json:"markets"`
	}
	if err != nil || json.Unmarshal(b, &sub) != nil || sub.Type != "subscribe" || !slices.Equal(sub.Markets, []string{"*"}) {
		qs.t.Errorf("subscription %q (%v); want a subscribe to *", b, err)
		conn.Close(4400, "bad subscription")
		return
	}
	out := make(chan []byte, 64)
	qs.mu.Lock()
	qs.subscribes++
	for m, seq := range qs.seq {
		out <- quoteJSON(m, seq)
	}
	for _, j := range qs.junk {
		out <- j
	}
	qs.conns[conn] = out
	qs.mu.Unlock()
	defer func() {
		qs.mu.Lock()
		delete(qs.conns, conn)
		qs.mu.Unlock()
	}()
	// The server ignores what the client sends after subscribing, but it
	// must read to notice a close.
	ctx = conn.CloseRead(r.Context())
	var beat <-chan time.Time
	if qs.heartbeat > 0 {
		tk := time.NewTicker(qs.heartbeat)
		defer tk.Stop()
		beat = tk.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-out:
			if conn.Write(ctx, websocket.MessageText, b) != nil {
				return
			}
		case <-beat:
			hb := fmt.Appendf(nil, `{"type":"heartbeat","published_at":%q}`, time.Now().UTC().Format(time.RFC3339Nano))
			if conn.Write(ctx, websocket.MessageText, hb) != nil {
				return
			}
		}
	}
}

// publish applies an update of market with seq and pushes its quote.
func (qs *quoteStream) publish(market string, seq int64) {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	qs.seq[market] = seq
	for _, out := range qs.conns {
		out <- quoteJSON(market, seq)
	}
}

// drop ends every connection with end, and returns how many there were.
func (qs *quoteStream) drop(end func(*websocket.Conn)) int {
	qs.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(qs.conns))
	for c := range qs.conns {
		conns = append(conns, c)
	}
	qs.mu.Unlock()
	for _, c := range conns {
		end(c)
	}
	return len(conns)
}

func (qs *quoteStream) subscribed() int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return qs.subscribes
}

func (qs *quoteStream) connected() int {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	return len(qs.conns)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allAtLeast reports whether every subscriber has received at least n quotes.
func allAtLeast(q *QuoteSubscribers, n int64) func() bool {
	return func() bool {
		for _, got := range q.Received() {
			if got < n {
				return false
			}
		}
		return true
	}
}

// seen is a subscriber's receipts as "market@seq", in receipt order.
func seen(obs *QuoteObservations, sub int) []string {
	var out []string
	for _, r := range obs.Subscribers[sub].Receipts {
		out = append(out, fmt.Sprintf("%s@%d", obs.Markets[r.Market], r.FeedSeq))
	}
	return out
}

func TestQuoteSubscribersReconnectAndResubscribe(t *testing.T) {
	qs, base := startQuoteStream(t, 100*time.Millisecond)
	qs.publish("m1", 1) // known before anyone subscribes: the first state
	start := time.Now()
	q, err := StartQuoteSubscribers(t.Context(), base, 2, start, QuoteBackoff(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := q.WaitSubscribed(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the current state", allAtLeast(q, 1))
	qs.publish("m2", 2)
	qs.publish("m1", 3)
	eventually(t, "two pushed quotes", allAtLeast(q, 3))

	// The server drops them with a close code (4429: fell behind): they come
	// back, subscribe again and get the current state, m1@3 and m2@2.
	if n := qs.drop(func(c *websocket.Conn) { c.Close(4429, "fell behind") }); n != 2 {
		t.Fatalf("dropped %d connections, want 2", n)
	}
	eventually(t, "the second subscriptions", func() bool { return qs.subscribed() == 4 && qs.connected() == 2 })
	eventually(t, "the state after resubscribing", allAtLeast(q, 5))

	// A connection reset without a close frame: the same again.
	qs.drop(func(c *websocket.Conn) { c.CloseNow() })
	eventually(t, "the third subscriptions", func() bool { return qs.subscribed() == 6 && qs.connected() == 2 })
	eventually(t, "the state after the reset", allAtLeast(q, 7))
	qs.publish("m2", 4)
	eventually(t, "the last push", allAtLeast(q, 8))

	obs := q.Stop()
	if again := q.Stop(); again != obs {
		t.Error("a second Stop returned other observations")
	}
	if len(obs.Subscribers) != 2 || obs.Received() != 16 || obs.Disconnects() != 4 || obs.DecodeErrors() != 0 {
		t.Fatalf("%d subscribers, %d received, %d disconnects, %d decode errors; want 2, 16, 4, 0",
			len(obs.Subscribers), obs.Received(), obs.Disconnects(), obs.DecodeErrors())
	}
	end := time.Since(start).Microseconds()
	for i, s := range obs.Subscribers {
		got := seen(obs, i)
		// The state on each subscription comes in map order; the pushes in
		// publish order.
		first := []string{"m1@1", "m2@2", "m1@3"}
		if !slices.Equal(got[:3], first) || !sameSet(got[3:5], []string{"m1@3", "m2@2"}) ||
			!sameSet(got[5:7], []string{"m1@3", "m2@2"}) || got[7] != "m2@4" {
			t.Errorf("subscriber %d saw %v", i, got)
		}
		if s.Connects != 3 || s.Disconnects != 2 || s.DialErrors != 0 {
			t.Errorf("subscriber %d: %d connects, %d disconnects, %d dial errors; want 3, 2, 0", i, s.Connects, s.Disconnects, s.DialErrors)
		}
		if s.CloseReasons["close_4429"] != 1 || s.CloseReasons[CloseReasonEOF]+s.CloseReasons[CloseReasonError] != 1 {
			t.Errorf("subscriber %d close reasons %v; want one close_4429 and one eof or error", i, s.CloseReasons)
		}
		if len(s.Sessions) != 3 {
			t.Fatalf("subscriber %d sessions %v; want 3", i, s.Sessions)
		}
		prev := int64(0)
		for _, ss := range s.Sessions {
			if ss.FromUS < prev || ss.ToUS < ss.FromUS {
				t.Errorf("subscriber %d sessions overlap or run backwards: %v", i, s.Sessions)
			}
			prev = ss.ToUS
		}
		if last := s.Sessions[2].ToUS; last != obs.EndUS || last > end {
			t.Errorf("last session ends at %d, want the end of observation %d (≤ %d)", last, obs.EndUS, end)
		}
		prev = 0
		for k, r := range s.Receipts {
			if r.AtUS < prev || r.AtUS > obs.EndUS {
				t.Errorf("receipt %d at %d µs: out of order or after the end %d", k, r.AtUS, obs.EndUS)
			}
			prev = r.AtUS
		}
		// A receipt belongs to a session: none comes from outside one.
		for _, r := range s.Receipts {
			if !slices.ContainsFunc(s.Sessions, func(ss QuoteSession) bool { return r.AtUS >= ss.FromUS && r.AtUS <= ss.ToUS }) {
				t.Errorf("receipt at %d µs is outside every session %v", r.AtUS, s.Sessions)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func TestQuoteSubscribersDropASilentStream(t *testing.T) {
	// No heartbeat at all: the link looks up but carries nothing, as a
	// black-holed connection would. Each subscriber gives up after the
	// silence bound and tries again.
	qs, base := startQuoteStream(t, 0)
	q, err := StartQuoteSubscribers(t.Context(), base, 1, time.Now(), QuoteSilence(150*time.Millisecond), QuoteBackoff(10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a resubscription", func() bool { return qs.subscribed() >= 2 })
	obs := q.Stop()
	s := obs.Subscribers[0]
	if s.CloseReasons[CloseReasonSilence] < 1 || s.Disconnects < 1 || s.Connects < 2 {
		t.Fatalf("log %+v; want a disconnect for silence and a reconnect", s)
	}
}

func TestQuoteSubscribersHeartbeatsKeepALiveConnection(t *testing.T) {
	qs, base := startQuoteStream(t, 50*time.Millisecond)
	q, err := StartQuoteSubscribers(t.Context(), base, 1, time.Now(), QuoteSilence(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a subscription", func() bool { return qs.subscribed() == 1 })
	time.Sleep(time.Second) // > 3 silence bounds, with heartbeats only
	obs := q.Stop()
	if s := obs.Subscribers[0]; s.Disconnects != 0 || s.Connects != 1 || len(s.Receipts) != 0 || s.DecodeErrors != 0 {
		t.Fatalf("log %+v; want one quiet, healthy connection", s)
	}
}

func TestQuoteSubscribersCountUndecodableFrames(t *testing.T) {
	junk := [][]byte{
		[]byte(`not json`),
		[]byte(`{"type":"quote","market":"m1"}`),     // no feed_seq
		[]byte(`{"type":"quote","feed_seq":3}`),      // no market
		[]byte(`{"market":"m1","feed_seq":3}`),       // no type
		[]byte(`{"type":"announcement","text":"x"}`), // a type this client does not know: ignored
		quoteJSON("m1", 7),
	}
	_, base := startQuoteStream(t, 50*time.Millisecond, junk...)
	q, err := StartQuoteSubscribers(t.Context(), base, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the one good quote", allAtLeast(q, 1))
	obs := q.Stop()
	if s := obs.Subscribers[0]; s.DecodeErrors != 4 || !slices.Equal(seen(obs, 0), []string{"m1@7"}) {
		t.Fatalf("%d decode errors, saw %v; want 4 and m1@7", s.DecodeErrors, seen(obs, 0))
	}
}

func TestQuoteSubscribersUnreachableStream(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	q, err := StartQuoteSubscribers(t.Context(), base, 2, time.Now(), QuoteBackoff(5*time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := q.WaitSubscribed(ctx); err == nil {
		t.Fatal("WaitSubscribed succeeded on a stream nobody serves")
	}
	obs := q.Stop()
	for i, s := range obs.Subscribers {
		if s.DialErrors < 2 || s.Connects != 0 || s.Disconnects != 0 || len(s.Sessions) != 0 {
			t.Errorf("subscriber %d: %+v; want repeated dial errors and nothing else", i, s)
		}
	}
}

func TestStartQuoteSubscribersRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		base string
		n    int
	}{
		{"negative count", "http://127.0.0.1:1", -1}, // a count of subscribers cannot be negative
		{"unknown scheme", "ftp://127.0.0.1:1", 1},   // only http(s) and ws(s) carry a WebSocket
		{"no host", "http://", 1},                    // nowhere to dial
		{"not a url", "http://[::1", 1},              // unparseable
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := StartQuoteSubscribers(t.Context(), tc.base, tc.n, time.Now()); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// Zero subscribers is valid and observes nothing.
	q, err := StartQuoteSubscribers(t.Context(), "ws://127.0.0.1:1", 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.WaitSubscribed(t.Context()); err != nil {
		t.Fatal(err)
	}
	if obs := q.Stop(); len(obs.Subscribers) != 0 || obs.Received() != 0 {
		t.Fatalf("observations %+v", obs)
	}
}

func TestQuoteSubscribersBeforeTheReplayClocksZero(t *testing.T) {
	// The runner starts the subscribers before the replay, whose zero is
	// still ahead: times before it are negative, and still ordered.
	qs, base := startQuoteStream(t, 50*time.Millisecond)
	qs.publish("m1", 1)
	start := time.Now().Add(time.Hour)
	q, err := StartQuoteSubscribers(t.Context(), base, 1, start)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the current state", allAtLeast(q, 1))
	obs := q.Stop()
	s := obs.Subscribers[0]
	if obs.EndUS >= 0 || len(s.Sessions) != 1 || len(s.Receipts) != 1 {
		t.Fatalf("end %d, log %+v", obs.EndUS, s)
	}
	ss, r := s.Sessions[0], s.Receipts[0]
	if !(ss.FromUS <= r.AtUS && r.AtUS <= ss.ToUS && ss.ToUS == obs.EndUS && obs.EndUS > -int64(time.Hour/time.Microsecond)) {
		t.Fatalf("session %+v, receipt at %d, end %d: want from ≤ receipt ≤ to = end, all within the hour before zero", ss, r.AtUS, obs.EndUS)
	}
}
