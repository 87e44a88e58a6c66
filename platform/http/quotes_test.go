package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/platform"
	phttp "github.com/inplaylabs/inplay/platform/http"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// newStream serves a quote stream of hub on a real listener.
func newStream(t *testing.T, hub *pricing.Hub, cfg phttp.QuoteStreamConfig) (wsURL string, stream *phttp.QuoteStream) {
	t.Helper()
	cfg.Hub = hub
	stream = phttp.NewQuoteStream(cfg)
	srv := httptest.NewServer(phttp.New(phttp.Config{Quotes: stream}))
	t.Cleanup(func() {
		stream.Close()
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/quotes/stream", stream
}

func dialStream(t *testing.T, url, subscription string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	if subscription != "" {
		if err := conn.Write(ctx, websocket.MessageText, []byte(subscription)); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

type wireQuote struct {
	Type        string            `json:"type"`
	Market      string            `json:"market"`
	Status      string            `json:"status"`
	Prices      map[string]string `json:"prices"`
	FeedSeq     int64             `json:"feed_seq"`
	FeedTS      *string           `json:"feed_ts"`
	Producer    string            `json:"producer"`
	PublishedAt string            `json:"published_at"`
	Delayed     bool              `json:"delayed"`
}

// nextQuote reads messages until a quote, skipping heartbeats.
func nextQuote(t *testing.T, conn *websocket.Conn) wireQuote {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var q wireQuote
		if err := json.Unmarshal(data, &q); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if _, err := time.Parse(time.RFC3339Nano, q.PublishedAt); err != nil {
			t.Fatalf("published_at of %s: %v", data, err)
		}
		if q.Type == "quote" {
			return q
		}
		if q.Type != "heartbeat" {
			t.Fatalf("unexpected message %s", data)
		}
	}
}

// closeCode reads until the server closes, and returns its close code.
func closeCode(t *testing.T, conn *websocket.Conn, within time.Duration) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestQuoteStream(t *testing.T) {
	hub := pricing.NewHub(pricing.HubConfig{Encode: phttp.EncodeQuote})
	hub.SetLive(true)
	ts := time.Date(2026, 11, 29, 9, 0, 0, 123456000, time.UTC)
	hub.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 21000}, {ID: "draw", Odds: 34000}},
		platform.FeedRef{Seq: 41, TS: time.Now(), Producer: "replay"})
	url, _ := newStream(t, hub, phttp.QuoteStreamConfig{Heartbeat: 50 * time.Millisecond})

	all := dialStream(t, url, `{"type":"subscribe","markets":["*"]}`)
	one := dialStream(t, url, `{"type":"subscribe","markets":["m2"]}`) // refused: m2 is not quoted yet
	if code := closeCode(t, one, 5*time.Second); code != phttp.CloseUnknown {
		t.Fatalf("subscribing to an unknown market closed with %d, want 4404", code)
	}
	// The current state first.
	if q := nextQuote(t, all); q.Market != "m1" || q.FeedSeq != 41 || q.Prices["home"] != "2.1" || q.Prices["draw"] != "3.4" ||
		q.Status != "open" || q.Producer != "replay" || q.Delayed || q.FeedTS == nil {
		t.Fatalf("current quote = %+v", q)
	}
	// Then every change, whole; an old feed ts is delayed.
	hub.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 20500}}, platform.FeedRef{Seq: 42, TS: ts, Producer: "replay"})
	q := nextQuote(t, all)
	if q.FeedSeq != 42 || q.Prices["home"] != "2.05" || q.Prices["draw"] != "3.4" || !q.Delayed ||
		*q.FeedTS != "2026-11-29T09:00:00.123456Z" {
		t.Fatalf("changed quote = %+v", q)
	}
	// Heartbeats keep coming on a quiet stream.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, data, err := all.Read(ctx); err != nil || !bytes.Contains(data, []byte(`"type":"heartbeat"`)) {
		t.Fatalf("no heartbeat: %s %v", data, err)
	}
}

func TestQuoteStreamRefusals(t *testing.T) {
	hub := pricing.NewHub(pricing.HubConfig{Encode: phttp.EncodeQuote})
	hub.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 21000}}, platform.FeedRef{Seq: 1})
	url, _ := newStream(t, hub, phttp.QuoteStreamConfig{SubscribeTimeout: 200 * time.Millisecond})
	tests := []struct {
		name string
		sub  string // "" = send nothing
		code websocket.StatusCode
	}{
		// Not JSON.
		{"not json", `subscribe me`, phttp.CloseMalformed},
		// Not a subscription.
		{"wrong type", `{"type":"hello","markets":["*"]}`, phttp.CloseMalformed},
		// Nothing to subscribe to.
		{"no markets", `{"type":"subscribe","markets":[]}`, phttp.CloseMalformed},
		// A market id that is not one.
		{"malformed market", `{"type":"subscribe","markets":["m 1"]}`, phttp.CloseMalformed},
		// A market never quoted.
		{"unknown market", `{"type":"subscribe","markets":["m1","m9"]}`, phttp.CloseUnknown},
		// Silence past the subscribe timeout.
		{"no subscription", "", phttp.CloseNoSubscribe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := dialStream(t, url, tt.sub)
			if code := closeCode(t, conn, 5*time.Second); code != tt.code {
				t.Fatalf("closed with %d, want %d", code, tt.code)
			}
		})
	}
}

func TestQuoteStreamDropsSlowSubscriber(t *testing.T) {
	hub := pricing.NewHub(pricing.HubConfig{Encode: phttp.EncodeQuote, QueueLimit: 16})
	hub.SetLive(true)
	hub.PublishOdds("m1", []platform.Selection{{ID: "s0", Odds: 20000}}, platform.FeedRef{Seq: 1})
	url, _ := newStream(t, hub, phttp.QuoteStreamConfig{})

	slow := dialStream(t, url, `{"type":"subscribe","markets":["*"]}`) // never reads until the end
	fast := dialStream(t, url, `{"type":"subscribe","markets":["m1"]}`)
	nextQuote(t, fast)
	for hub.Stats().Subscribers < 2 {
		time.Sleep(time.Millisecond)
	}

	// Big quotes fill the slow one's socket buffers, then its queue; the
	// fast one reads each batch before the next is published.
	wide := make([]platform.Selection, 1000)
	for i := range wide {
		wide[i] = platform.Selection{ID: fmt.Sprintf("s%04d", i), Odds: 20000}
	}
	seq := int64(1)
	for hub.Stats().Dropped == 0 {
		if seq > 5000 {
			t.Fatalf("the slow subscriber was never dropped: %+v", hub.Stats())
		}
		for range 8 {
			seq++
			hub.PublishOdds("m1", wide, platform.FeedRef{Seq: seq})
		}
		for q := nextQuote(t, fast); q.FeedSeq < seq; q = nextQuote(t, fast) {
		}
	}
	// The fast one keeps receiving after the drop.
	hub.PublishOdds("m1", []platform.Selection{{ID: "s0", Odds: 30000}}, platform.FeedRef{Seq: seq + 1})
	if q := nextQuote(t, fast); q.FeedSeq != seq+1 || q.Prices["s0"] != "3" || len(q.Prices) != 1001 {
		t.Fatalf("after the drop, the fast subscriber got seq %d with %d prices", q.FeedSeq, len(q.Prices))
	}
	if st := hub.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Fatalf("hub stats = %+v, want the slow subscriber dropped", st)
	}
	if code := closeCode(t, slow, 20*time.Second); code != phttp.CloseSlow {
		t.Fatalf("the slow subscriber was closed with %d, want 4429", code)
	}
}

func TestQuoteStreamCloseSays1001(t *testing.T) {
	hub := pricing.NewHub(pricing.HubConfig{Encode: phttp.EncodeQuote})
	hub.PublishOdds("m1", []platform.Selection{{ID: "home", Odds: 21000}}, platform.FeedRef{Seq: 1})
	url, stream := newStream(t, hub, phttp.QuoteStreamConfig{})
	conn := dialStream(t, url, `{"type":"subscribe","markets":["*"]}`)
	nextQuote(t, conn)
	go stream.Close()
	if code := closeCode(t, conn, 5*time.Second); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %d, want 1001", code)
	}
}

func TestRequestID(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	srv := httptest.NewServer(phttp.New(phttp.Config{Logger: logger,
		Health: []phttp.HealthCheck{{Name: "redis", Ping: func(context.Context) error { return errors.New("refused") }}}}))
	defer srv.Close()
	tests := []struct {
		name string
		sent string
		kept bool // the sent id is echoed
	}{
		// A sane id is kept.
		{"sane", "req-42.a:b", true},
		// None is made up.
		{"none", "", false},
		// One that could forge a log field is replaced.
		{"quote", `x" injected="1`, false},
		// As is an absurdly long one.
		{"long", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if got == "" || (got == tt.sent) != tt.kept {
				t.Fatalf("X-Request-Id = %q (sent %q)", got, tt.sent)
			}
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
				t.Fatalf("the health check's log line lacks request_id %s:\n%s", got, logs.String())
			}
		})
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestReadyz(t *testing.T) {
	feedLive := false
	var mu sync.Mutex
	srv := httptest.NewServer(phttp.New(phttp.Config{Ready: []phttp.HealthCheck{
		{Name: "postgres", Ping: func(context.Context) error { return nil }},
		{Name: "feed", Ping: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if !feedLive {
				return platform.Errorf(platform.EUNAVAILABLE, "not connected")
			}
			return nil
		}},
	}}))
	defer srv.Close()
	status, body := call(t, "GET", srv.URL+"/readyz", "")
	if status != 503 || body["code"] != platform.EUNAVAILABLE || body["message"] != "not ready: feed not connected" {
		t.Fatalf("readyz before the feed = %d %v", status, body)
	}
	mu.Lock()
	feedLive = true
	mu.Unlock()
	if status, body := call(t, "GET", srv.URL+"/readyz", ""); status != 200 || body["status"] != "ready" {
		t.Fatalf("readyz = %d %v", status, body)
	}
}
