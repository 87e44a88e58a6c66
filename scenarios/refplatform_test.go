package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

// refFeed is a minimal feed server of docs/feed-protocol.md: it keeps every
// message and streams them, from after=SEQ, to each client. It stands in for
// the harness's feed server at the network edge.
type refFeed struct {
	mu      sync.Mutex
	msgs    []string
	changed chan struct{}
	url     string
}

func newRefFeed(t *testing.T) *refFeed {
	t.Helper()
	f := &refFeed{changed: make(chan struct{})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed/v1/stream", f.stream)
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	f.url = "http://" + l.Addr().String()
	return f
}

func (f *refFeed) publish(typ string, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	msg := map[string]any{"seq": len(f.msgs) + 1, "producer": "test", "type": typ,
		"ts": time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range fields {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	f.msgs = append(f.msgs, string(b))
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *refFeed) stream(w http.ResponseWriter, r *http.Request) {
	var after int
	fmt.Sscan(r.URL.Query().Get("after"), &after)
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	next := after
	heartbeat := time.NewTicker(200 * time.Millisecond)
	defer heartbeat.Stop()
	for {
		f.mu.Lock()
		out := append([]string(nil), f.msgs[min(next, len(f.msgs)):]...)
		next = max(next, len(f.msgs))
		changed := f.changed
		f.mu.Unlock()
		for _, m := range out {
			if conn.Write(r.Context(), websocket.MessageText, []byte(m)) != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-heartbeat.C:
			hb := fmt.Sprintf(`{"seq":%d,"producer":"test","type":"heartbeat"}`, next)
			if conn.Write(r.Context(), websocket.MessageText, []byte(hb)) != nil {
				return
			}
		}
	}
}

func refCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: %q is not JSON: %v", method, url, data, err)
	}
	return resp.StatusCode, out
}

func refCount(t *testing.T, pool *pgxpool.Pool, sql string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestRefPlatformEndToEnd(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	redisAddr, prefix := pgtest.RedisPrefix(t)
	fd := newRefFeed(t)
	fd.publish("odds", map[string]any{"market": "m1", "prices": map[string]string{"home": "2.5", "away": "3.1"}})

	plat, err := StartRefPlatform(context.Background(), RefPlatformConfig{
		PostgresURL: dbURL, RedisAddr: redisAddr, KeyPrefix: prefix, FeedURL: fd.url, MaxStake: 5000,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer plat.Close()
	api := plat.URL()

	// Wait (bounded) until the odds published before the start are in.
	for deadline := time.Now().Add(10 * time.Second); plat.FeedStats().LastSeq < 1; {
		if time.Now().After(deadline) {
			t.Fatalf("odds never applied: %+v", plat.FeedStats())
		}
		time.Sleep(5 * time.Millisecond)
	}

	steps := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		want   map[string]any
	}{
		// Money in.
		{"deposit", "POST", "/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`, 201, map[string]any{"balance": 10000.0}},
		// A bet on the favourite at the quoted price.
		{"bet home", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.50","stake":1001}`, 201,
			map[string]any{"status": "accepted", "odds": "2.5"}},
		// A bet on the other side.
		{"bet away", "POST", "/v1/bets", `{"id":"b-2","account":"a1","market":"m1","selection":"away","odds":"3","stake":400}`, 201,
			map[string]any{"status": "accepted", "odds": "3.1"}},
		// The platform's stake limit holds.
		{"over limit", "POST", "/v1/bets", `{"id":"b-3","account":"a1","market":"m1","selection":"away","odds":"3","stake":5001}`, 422,
			map[string]any{"code": "ELIMIT"}},
		// Stakes are held.
		{"balance", "GET", "/v1/accounts/a1", "", 200, map[string]any{"balance": 10000.0 - 1001 - 400}},
		// The stores answer.
		{"health", "GET", "/healthz", "", 200, map[string]any{"status": "ok"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, body := refCall(t, st.method, api+st.path, st.body)
			if status != st.status {
				t.Fatalf("status %d, want %d: %v", status, st.status, body)
			}
			for k, v := range st.want {
				if body[k] != v {
					t.Fatalf("%s = %v, want %v (body %v)", k, body[k], v, body)
				}
			}
		})
	}

	// The result arrives over the feed; settlement follows.
	fd.publish("result", map[string]any{"market": "m1", "winners": []string{"home"}})
	var bet map[string]any
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, bet = refCall(t, "GET", api+"/v1/bets/b-1", "")
		if bet["status"] != "accepted" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bet never settled: %v, feed %+v", bet, plat.FeedStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// floor(1001 × 2.5) = 2502.
	if bet["status"] != "won" || bet["payout"] != 2502.0 || bet["settled_at"] == nil {
		t.Fatalf("b-1 = %v, want won with payout 2502", bet)
	}
	if _, lost := refCall(t, "GET", api+"/v1/bets/b-2", ""); lost["status"] != "lost" || lost["payout"] != 0.0 {
		t.Fatalf("b-2 = %v, want lost", lost)
	}
	if _, acct := refCall(t, "GET", api+"/v1/accounts/a1", ""); acct["balance"] != 10000.0-1001-400+2502 {
		t.Fatalf("a1 = %v, want balance %v", acct, 10000-1001-400+2502)
	}
	// A bet on the settled market is refused.
	if status, body := refCall(t, "POST", api+"/v1/bets",
		`{"id":"b-4","account":"a1","market":"m1","selection":"home","odds":"2","stake":1}`); status != 422 || body["code"] != "EMARKETSUSPENDED" {
		t.Fatalf("bet after settlement = %d %v", status, body)
	}

	// The books balance: every transaction sums to zero, every balance
	// equals its postings, and the money inside equals what came in.
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if n := refCount(t, pool, `SELECT count(*) FROM (SELECT tx_id FROM postings GROUP BY tx_id HAVING sum(amount) <> 0) x`); n != 0 {
		t.Errorf("%d unbalanced transactions", n)
	}
	if n := refCount(t, pool, `SELECT count(*) FROM accounts a WHERE balance <> COALESCE((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0)`); n != 0 {
		t.Errorf("%d balances differ from their postings", n)
	}
	if n := refCount(t, pool, `SELECT sum(balance) FROM accounts WHERE kind <> 'cash'`); n != 10000 {
		t.Errorf("money inside the platform = %d, want the 10000 deposited", n)
	}
	if n := refCount(t, pool, `SELECT balance FROM accounts WHERE id = 'suspense'`); n != 0 {
		t.Errorf("suspense holds %d after settlement, want 0", n)
	}
	if n := refCount(t, pool, `SELECT count(*) FROM transactions WHERE kind = 'settle'`); n != 2 {
		t.Errorf("%d settle transactions, want 2", n)
	}
	if st := plat.FeedStats(); st.LastSeq != 2 || st.Applied != 2 || st.Gaps != 0 || st.Malformed != 0 {
		t.Errorf("feed stats = %+v", st)
	}

	if err := plat.Close(); err != nil {
		t.Fatal(err)
	}
	if err := plat.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := http.Get(api + "/healthz"); err == nil {
		t.Fatal("the API still answers after Close")
	}
}

func TestStartRefPlatformFails(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	redisAddr, prefix := pgtest.RedisPrefix(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close()
	fd := newRefFeed(t)

	tests := []struct {
		name string
		cfg  RefPlatformConfig
		want string // in the error
	}{
		// Nothing to connect to.
		{"empty", RefPlatformConfig{}, "PostgresURL is required"},
		// Bad settings are named.
		{"negative delay", RefPlatformConfig{PostgresURL: dbURL, RedisAddr: redisAddr, FeedURL: fd.url, InPlayDelay: -time.Second}, "InPlayDelay"},
		// No Redis there.
		{"no redis", RefPlatformConfig{PostgresURL: dbURL, RedisAddr: deadAddr, KeyPrefix: prefix, FeedURL: fd.url}, "redis"},
		// No feed server there: the start gives up when its context ends.
		{"no feed", RefPlatformConfig{PostgresURL: dbURL, RedisAddr: redisAddr, KeyPrefix: prefix, FeedURL: "http://" + deadAddr}, "feed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			p, err := StartRefPlatform(ctx, tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
