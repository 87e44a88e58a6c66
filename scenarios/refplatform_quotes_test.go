package scenarios

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/replay"
)

// linkProxy is a TCP proxy that can go away and come back on the same
// address, as a feed server's network does.
type linkProxy struct {
	addr, target string
	mu           sync.Mutex
	l            net.Listener
	conns        map[net.Conn]struct{}
}

func newLinkProxy(t *testing.T, target string) *linkProxy {
	t.Helper()
	p := &linkProxy{target: target, conns: map[net.Conn]struct{}{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = l.Addr().String()
	p.serve(l)
	t.Cleanup(p.down)
	return p
}

func (p *linkProxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
}

// down closes the listener and every connection through it.
func (p *linkProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *linkProxy) up(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(l)
}

type streamQuote struct {
	Type     string            `json:"type"`
	Market   string            `json:"market"`
	Status   string            `json:"status"`
	Prices   map[string]string `json:"prices"`
	FeedSeq  int64             `json:"feed_seq"`
	Producer string            `json:"producer"`
	Delayed  bool              `json:"delayed"`
}

// waitQuote reads the stream until a quote of market satisfies ok.
func waitQuote(t *testing.T, conn *websocket.Conn, what string, ok func(streamQuote) bool) streamQuote {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var q streamQuote
		if err := json.Unmarshal(data, &q); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if q.Type == "quote" && ok(q) {
			return q
		}
	}
}

func waitReady(t *testing.T, url string, want int) {
	t.Helper()
	var status int
	var body map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if status, body = refCall(t, "GET", url+"/readyz", ""); status == want {
			return
		}
	}
	t.Fatalf("readyz = %d %v, want %d", status, body, want)
}

func TestRefPlatformQuotesMetricsReadiness(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	redisAddr, prefix := pgtest.RedisPrefix(t)
	fs := replay.NewFeedServer("replay")
	fl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	feedSrv := &http.Server{Handler: fs}
	go feedSrv.Serve(fl)
	t.Cleanup(func() { fs.Close(); feedSrv.Close() })
	link := newLinkProxy(t, fl.Addr().String())

	plat, err := StartRefPlatform(context.Background(), RefPlatformConfig{
		PostgresURL: dbURL, RedisAddr: redisAddr, KeyPrefix: prefix, FeedURL: "http://" + link.addr,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()
	api := plat.URL()
	waitReady(t, api, 200)

	// A subscriber to everything sees a published update, whole and on time.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sub, _, err := websocket.Dial(ctx, plat.QuotesURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.CloseNow()
	if err := sub.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","markets":["*"]}`)); err != nil {
		t.Fatal(err)
	}
	seq := fs.Publish(replay.Event{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2.50", "away": "3.1"}})
	q := waitQuote(t, sub, "the odds", func(q streamQuote) bool { return q.Market == "m1" && q.FeedSeq == seq })
	if q.Prices["home"] != "2.5" || q.Prices["away"] != "3.1" || q.Status != "open" || q.Producer != "replay" || q.Delayed {
		t.Fatalf("quote = %+v", q)
	}

	// A bet, with a request id the platform echoes.
	if status, body := refCall(t, "POST", api+"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`); status != 201 {
		t.Fatalf("deposit = %d %v", status, body)
	}
	req, _ := http.NewRequest("POST", api+"/v1/bets", strings.NewReader(`{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.5","stake":100}`))
	req.Header.Set("X-Request-Id", "bet-b-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Request-Id") != "bet-b-1" {
		t.Fatalf("bet = %d, X-Request-Id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}

	// The metrics name it all.
	resp, err = http.Get(api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`inplay_bets_total{code="",outcome="accepted"} 1`,
		`inplay_bet_acceptance_seconds_count 1`,
		`inplay_quotes_published_total `,
		`inplay_quote_subscribers 1`,
		`inplay_quote_subscribers_dropped_total 0`,
		`inplay_feed_lag_seconds_count `,
		`inplay_feed_live 1`,
		`inplay_odds_staleness_seconds `,
		`inplay_settlement_queue_depth 0`,
		`inplay_store_errors_total{store="postgres"} 0`,
		`inplay_store_errors_total{store="redis"} 0`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, grepLines(string(metrics), "inplay_store"))
		}
	}

	// The feed goes away: every market is pushed again, delayed, and the
	// platform is not ready; it comes back: not delayed, ready.
	link.down()
	waitQuote(t, sub, "a delayed quote", func(q streamQuote) bool { return q.Market == "m1" && q.Delayed && q.FeedSeq == seq })
	waitReady(t, api, 503)
	if _, body := refCall(t, "GET", api+"/readyz", ""); body["code"] != "EUNAVAILABLE" || !strings.Contains(body["message"].(string), "feed") {
		t.Fatalf("readyz without the feed = %v", body)
	}
	link.up(t)
	waitQuote(t, sub, "the quote no longer delayed", func(q streamQuote) bool { return q.Market == "m1" && !q.Delayed })
	waitReady(t, api, 200)

	// A result publishes the market settled.
	seq = fs.Publish(replay.Event{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}})
	waitQuote(t, sub, "the settled quote", func(q streamQuote) bool { return q.FeedSeq == seq && q.Status == "settled" })

	// Close says 1001 to the subscriber.
	go plat.Close()
	for {
		if _, _, err := sub.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
				t.Fatalf("closed with %d (%v), want 1001", code, err)
			}
			break
		}
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
