package record

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/replay"
)

// seenRequest is a request as the upstream received it.
type seenRequest struct {
	method, uri, header string
	body                []byte
}

// fakeAPI answers like the reference API (docs/api.md) for the routes the
// recorder records: balances, EFUNDS, EINVALID for bad bodies, ENOTFOUND
// for unknown bets. It keeps every request it received. Requests on the
// account "slow" wait until release is closed.
type fakeAPI struct {
	mu       sync.Mutex
	balances map[string]int64
	bets     map[string]bool
	seen     []seenRequest
	arrived  chan string // the path of every request, as it arrives
	release  chan struct{}
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{balances: map[string]int64{}, bets: map[string]bool{}, arrived: make(chan string, 100), release: make(chan struct{})}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{r.Method, r.RequestURI, r.Header.Get("X-Test"), body})
	f.mu.Unlock()
	f.arrived <- r.URL.Path
	if strings.HasPrefix(r.URL.Path, "/v1/accounts/slow/") {
		<-f.release
	}
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	fail := func(status int, code string) { answer(status, map[string]string{"code": code, "message": code}) }
	var b struct {
		ID, Account string
		Amount      int64
		Stake       int64
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if r.Method == http.MethodPost && dec.Decode(&b) != nil {
		fail(400, "EINVALID")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == "POST" && len(seg) == 4 && seg[3] == "deposits":
		f.balances[seg[2]] += b.Amount
		answer(201, map[string]any{"id": b.ID, "balance": f.balances[seg[2]]})
	case r.Method == "POST" && len(seg) == 4 && seg[3] == "withdrawals":
		if b.Amount > f.balances[seg[2]] {
			fail(422, "EFUNDS")
			return
		}
		f.balances[seg[2]] -= b.Amount
		answer(201, map[string]any{"id": b.ID, "balance": f.balances[seg[2]]})
	case r.Method == "POST" && len(seg) == 2 && seg[1] == "bets":
		if b.Stake > f.balances[b.Account] {
			fail(422, "EFUNDS")
			return
		}
		f.balances[b.Account] -= b.Stake
		f.bets[b.ID] = true
		answer(201, map[string]any{"id": b.ID, "status": "accepted"})
	case r.Method == "POST" && len(seg) == 4 && seg[3] == "cashout":
		if !f.bets[seg[2]] {
			fail(404, "ENOTFOUND")
			return
		}
		answer(201, map[string]any{"id": b.ID})
	case r.Method == "GET" && len(seg) == 3 && seg[1] == "accounts":
		answer(200, map[string]any{"account": seg[2], "balance": f.balances[seg[2]]})
	default:
		fail(404, "ENOTFOUND")
	}
}

func (f *fakeAPI) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

// post sends body to url and returns the status and the answer's code.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test", "kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Code
}

// until waits for cond, failing the test after a generous bound: a wait
// for something to happen, not a timing assertion.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stripped is ev without what depends on the clock.
func stripped(evs []replay.Event) []replay.Event {
	out := make([]replay.Event, len(evs))
	for i, e := range evs {
		e.T, e.VendorMS = 0, 0
		out[i] = e
	}
	return out
}

// TestRecordSession records bets, deposits and cash-outs through the proxy
// and a real FeedServer's messages, interleaved, and reads the capture back.
func TestRecordSession(t *testing.T) {
	fs := replay.NewFeedServer("live")
	feedSrv := httptest.NewServer(fs)
	t.Cleanup(func() { fs.Close(); feedSrv.Close() })
	// Published before recording starts: it arrives first, the market's state.
	fs.Publish(replay.Event{Kind: replay.KindStatus, Market: "m1", Status: replay.StatusOpen})

	api := newFakeAPI()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)

	var out bytes.Buffer
	rec, err := New(&out, false, Config{Upstream: apiSrv.URL, Feed: feedSrv.URL, Name: "session"})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(rec)
	ctx, cancel := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() { rec.RunFeed(ctx); close(feedDone) }()
	feedEvents := func(n int64) func() bool { return func() bool { return rec.Counts().Feed.Events >= n } }
	until(t, "the backlog", feedEvents(1))

	bigBet := `{"id":"b-big","account":"a1","market":"m1","selection":"home","odds":"2","stake":1,"note":"` + strings.Repeat("x", MaxBody) + `"}`
	steps := []struct {
		path, body string
		status     int
		code       string
		publish    *replay.Event // published to the feed (and awaited) before the request
	}{
		{"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`, 201, "", nil},
		{"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.1","stake":500}`, 201, "",
			&replay.Event{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2.1", "away": "3.25"}}},
		// Refused by the platform, still recorded: it is what the bettor sent.
		{"/v1/bets?trace=1", `{"id":"b-2","account":"a1","market":"m1","selection":"away","odds":"3.25","stake":1000000}`, 422, "EFUNDS", nil},
		// Malformed: forwarded as it is, not recorded.
		{"/v1/bets", `{"id":"b-3","account":"a1"`, 400, "EINVALID", nil},
		// Too big to record: streamed through whole, not recorded.
		{"/v1/bets", bigBet, 201, "", nil},
		{"/v1/bets/b-1/cashout", `{"id":"c-1","amount":700}`, 201, "", nil},
		// A cash-out of a bet placed before the recording: forwarded, not recorded.
		{"/v1/bets/b-old/cashout", `{"id":"c-2","amount":700}`, 404, "ENOTFOUND", nil},
		{"/v1/accounts/a1/withdrawals", `{"id":"w-1","amount":300}`, 201, "",
			&replay.Event{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}}},
	}
	published := int64(1)
	for _, s := range steps {
		if s.publish != nil {
			fs.Publish(*s.publish)
			published++
			until(t, "a feed message", feedEvents(published))
		}
		status, code := post(t, proxy.URL+s.path, s.body)
		if status != s.status || code != s.code {
			t.Errorf("POST %s: %d %s, want %d %s", s.path, status, code, s.status, s.code)
		}
	}
	// Not a bettor route: forwarded, not recorded.
	resp, err := http.Get(proxy.URL + "/v1/accounts/a1")
	if err != nil {
		t.Fatal(err)
	}
	var acct struct{ Balance int64 }
	json.NewDecoder(resp.Body).Decode(&acct)
	resp.Body.Close()
	if want := int64(10000 - 500 - 1 - 300); acct.Balance != want {
		t.Errorf("GET through the proxy: balance %d, want %d", acct.Balance, want)
	}

	cancel()
	<-feedDone
	proxy.Close()
	sum, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}

	c, err := replay.ReadCapture(&out)
	if err != nil {
		t.Fatalf("the capture does not read back: %v\n%s", err, out.String())
	}
	if c.Header.Source != "recorded" || c.Header.Name != "session" || c.Header.StartMS != rec.Start().UnixMilli() {
		t.Errorf("header %+v", c.Header)
	}
	want := []replay.Event{
		{Kind: replay.KindStatus, Market: "m1", Status: "open", Producer: "live"},
		{Kind: replay.KindDeposit, Account: "a1", ID: "d-1", Amount: 10000},
		{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2.1", "away": "3.25"}, Producer: "live"},
		{Kind: replay.KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.1", Stake: 500},
		{Kind: replay.KindBet, Account: "a1", ID: "b-2", Market: "m1", Selection: "away", Odds: "3.25", Stake: 1000000},
		{Kind: replay.KindCashout, Account: "a1", ID: "c-1", Bet: "b-1", Amount: 700},
		{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}, Producer: "live"},
		{Kind: replay.KindWithdraw, Account: "a1", ID: "w-1", Amount: 300},
	}
	if got := stripped(c.Events); !reflect.DeepEqual(got, want) {
		t.Errorf("recorded events:\n got %+v\nwant %+v", got, want)
	}
	for _, e := range c.Events {
		if e.Kind.IsFeed() && e.VendorMS < c.Header.StartMS-60_000 {
			t.Errorf("feed event %+v: vendor_ms is not the server's ts", e)
		}
	}
	if c.Events[len(c.Events)-1].T <= 0 {
		t.Errorf("t_us did not advance: %+v", c.Events)
	}

	// The upstream got each request exactly as the client sent it.
	seen := api.requests()
	if len(seen) != len(steps)+1 {
		t.Fatalf("upstream saw %d requests, want %d", len(seen), len(steps)+1)
	}
	for i, s := range steps {
		if seen[i].method != "POST" || seen[i].uri != s.path || seen[i].body == nil || string(seen[i].body) != s.body || seen[i].header != "kept" {
			t.Errorf("request %d reached the upstream as %s %s (X-Test %q, %d bytes), want POST %s, %d bytes",
				i, seen[i].method, seen[i].uri, seen[i].header, len(seen[i].body), s.path, len(s.body))
		}
	}

	wantSum := Summary{Events: 8, Requests: 9, Refused: 2, Malformed: 2, Orphans: 0,
		ByKind: map[replay.Kind]int64{replay.KindStatus: 1, replay.KindOdds: 1, replay.KindResult: 1,
			replay.KindDeposit: 1, replay.KindBet: 2, replay.KindCashout: 1, replay.KindWithdraw: 1}}
	// b-2 refused; the orphan cash-out is not recorded, so not refused.
	wantSum.Refused, wantSum.Orphans = 1, 1
	got := sum
	got.Duration, got.Feed = 0, FeedSummary{}
	if !reflect.DeepEqual(got, wantSum) {
		t.Errorf("summary %+v, want %+v", got, wantSum)
	}
	if sum.Feed.Events != 3 || sum.Feed.Connects != 1 || sum.Feed.Malformed != 0 || sum.Feed.Gaps != 0 {
		t.Errorf("feed summary %+v", sum.Feed)
	}
}

// TestRecordUpstreamDown: the client gets 502 in the API's error shape and
// nothing is recorded, since the platform never saw the request.
func TestRecordUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()

	var out bytes.Buffer
	rec, err := New(&out, false, Config{Upstream: dead})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(rec)
	status, code := post(t, proxy.URL+"/v1/accounts/a1/deposits", `{"id":"d-1","amount":100}`)
	proxy.Close()
	sum, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusBadGateway || code != "EUPSTREAM" {
		t.Errorf("client got %d %q, want 502 EUPSTREAM", status, code)
	}
	c, err := replay.ReadCapture(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 0 || sum.Events != 0 || sum.Unanswered != 1 {
		t.Errorf("recorded %d events, summary %+v; want none, 1 unanswered", len(c.Events), sum)
	}
}

// TestRecordArrivalOrder: a request answered after a later one is still
// written first, with the earlier t_us; one still in flight when the
// recorder closes is lost, not written.
func TestRecordArrivalOrder(t *testing.T) {
	api := newFakeAPI()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	var out bytes.Buffer
	rec, err := New(&out, false, Config{Upstream: apiSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(rec)
	t.Cleanup(proxy.Close)

	slowDone := make(chan int)
	go func() {
		s, _ := post(t, proxy.URL+"/v1/accounts/slow/deposits", `{"id":"d-slow","amount":1}`)
		slowDone <- s
	}()
	<-api.arrived // the slow one is at the upstream, held
	if s, _ := post(t, proxy.URL+"/v1/accounts/fast/deposits", `{"id":"d-fast","amount":2}`); s != 201 {
		t.Fatalf("fast deposit: %d", s)
	}
	<-api.arrived
	close(api.release)
	if s := <-slowDone; s != 201 {
		t.Fatalf("slow deposit: %d", s)
	}

	// And one in flight at the close.
	api2 := newFakeAPI()
	apiSrv2 := httptest.NewServer(api2)
	t.Cleanup(apiSrv2.Close)
	var out2 bytes.Buffer
	rec2, err := New(&out2, false, Config{Upstream: apiSrv2.URL})
	if err != nil {
		t.Fatal(err)
	}
	proxy2 := httptest.NewServer(rec2)
	t.Cleanup(proxy2.Close)
	go func() {
		s, _ := post(t, proxy2.URL+"/v1/accounts/slow/deposits", `{"id":"d-late","amount":1}`)
		slowDone <- s
	}()
	<-api2.arrived
	sum2, err := rec2.Close()
	close(api2.release)
	<-slowDone
	if err != nil {
		t.Fatal(err)
	}

	sum, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	c, err := replay.ReadCapture(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 2 || c.Events[0].ID != "d-slow" || c.Events[1].ID != "d-fast" || c.Events[0].T > c.Events[1].T {
		t.Errorf("events %+v, want d-slow then d-fast, by arrival", c.Events)
	}
	if sum.Events != 2 || sum.Lost != 0 {
		t.Errorf("summary %+v", sum)
	}
	c2, err := replay.ReadCapture(&out2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.Events) != 0 || sum2.Lost != 1 {
		t.Errorf("in flight at the close: %d events written, %d lost; want 0 and 1", len(c2.Events), sum2.Lost)
	}
}

// scriptedFeed is a feed server of the reference protocol whose each
// connection sends what its script says, then drops or waits.
type scriptedFeed struct {
	mu      sync.Mutex
	afters  []string
	scripts [][]string // per connection: the messages to send; the last connection's script holds the line
}

func (s *scriptedFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := len(s.afters)
	s.afters = append(s.afters, r.URL.Query().Get("after"))
	s.mu.Unlock()
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	if n >= len(s.scripts) {
		n = len(s.scripts) - 1
	}
	for _, m := range s.scripts[n] {
		if err := conn.Write(r.Context(), websocket.MessageText, []byte(m)); err != nil {
			return
		}
	}
	if n == len(s.scripts)-1 {
		// The last connection holds, with heartbeats, until the client goes.
		ctx := conn.CloseRead(r.Context())
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
				conn.Write(ctx, websocket.MessageText, []byte(`{"seq":4,"producer":"v","type":"heartbeat"}`))
			}
		}
	}
	// Others drop without a close frame, as a broken connection does.
}

func (s *scriptedFeed) seenAfters() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.afters...)
}

// TestRecordFeedResume: a duplicate is skipped, a gap and a dropped
// connection are resumed with after= the last seq recorded, and the
// optional fields (producer, vendor_ms, in_play, incident) are kept.
func TestRecordFeedResume(t *testing.T) {
	msg := []string{
		`{"seq":1,"producer":"v","ts":"2026-11-29T09:00:00Z","type":"odds","market":"m1","prices":{"home":"2"}}`,
		`{"seq":2,"producer":"v","vendor_ms":1795942800500,"type":"status","market":"m1","status":"open","in_play":true,"bet_delay_ms":5000}`,
		`{"seq":3,"producer":"v","type":"incident","market":"m1","incident":"goal"}`,
		`{"seq":4,"producer":"v","type":"result","market":"m1","winners":["home"]}`,
	}
	feed := &scriptedFeed{scripts: [][]string{
		{msg[0], msg[1], msg[1], msg[3]}, // a duplicate, then 3 skipped: resume after=2
		{msg[2], msg[3]},                 // then the connection drops: resume after=4
		{`{"seq":4,"producer":"v","type":"heartbeat"}`, `not json`},
	}}
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	rec, err := New(&out, false, Config{Upstream: "http://127.0.0.1:1", Feed: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.RunFeed(ctx); close(done) }()
	until(t, "three connections and a bad message", func() bool {
		c := rec.Counts().Feed
		return c.Connects >= 3 && c.Malformed >= 1
	})
	cancel()
	<-done
	sum, err := rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := feed.seenAfters(); !reflect.DeepEqual(got[:3], []string{"0", "2", "4"}) {
		t.Errorf("after= of the connections: %v, want 0, 2, 4", got)
	}
	c, err := replay.ReadCapture(&out)
	if err != nil {
		t.Fatal(err)
	}
	yes, delay := true, int64(5000)
	want := []replay.Event{
		{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2"}, Producer: "v", VendorMS: 1795942800000},
		{Kind: replay.KindStatus, Market: "m1", Status: "open", InPlay: &yes, BetDelayMS: &delay, Producer: "v", VendorMS: 1795942800500},
		{Kind: replay.KindIncident, Market: "m1", Incident: "goal", Producer: "v"},
		{Kind: replay.KindResult, Market: "m1", Winners: []string{"home"}, Producer: "v"},
	}
	for i := range c.Events {
		c.Events[i].T = 0
	}
	if !reflect.DeepEqual(c.Events, want) {
		t.Errorf("recorded:\n got %s\nwant %s", dump(c.Events), dump(want))
	}
	f := sum.Feed
	if f.Events != 4 || f.Duplicates != 1 || f.Gaps != 1 || f.Malformed != 1 || f.Unfilled != 0 {
		t.Errorf("feed summary %+v", f)
	}
}

// TestRecordFeedUnfilledGap: a server whose log starts after seq 1 cannot
// fill the gap a resume asks for; the subscriber records what it has
// instead of resuming forever.
func TestRecordFeedUnfilledGap(t *testing.T) {
	late := `{"seq":7,"producer":"v","type":"odds","market":"m1","prices":{"home":"2"}}`
	feed := &scriptedFeed{scripts: [][]string{{late}, {late}}}
	srv := httptest.NewServer(feed)
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	rec, err := New(&out, false, Config{Upstream: "http://127.0.0.1:1", Feed: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.RunFeed(ctx); close(done) }()
	until(t, "the late message recorded", func() bool { return rec.Counts().Feed.Events >= 1 })
	cancel()
	<-done
	sum, _ := rec.Close()
	if sum.Feed.Gaps != 1 || sum.Feed.Unfilled != 1 || sum.Events != 1 {
		t.Errorf("summary %+v", sum)
	}
}

// TestRun: Run serves on a listener until its context ends and writes a
// gzipped capture that OpenCapture reads.
func TestRun(t *testing.T) {
	api := newFakeAPI()
	apiSrv := httptest.NewServer(api)
	t.Cleanup(apiSrv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rec.jsonl.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		sum Summary
		err error
	}
	done := make(chan result)
	go func() {
		s, err := Run(ctx, ln, f, true, Config{Upstream: apiSrv.URL})
		done <- result{s, err}
	}()
	url := "http://" + ln.Addr().String()
	if s, _ := post(t, url+"/v1/accounts/a/deposits", `{"id":"d","amount":5}`); s != 201 {
		t.Fatalf("deposit through Run: %d", s)
	}
	cancel()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	f.Close()
	c, err := replay.OpenCapture(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 1 || c.Events[0].ID != "d" || r.sum.Events != 1 {
		t.Errorf("events %+v, summary %+v", c.Events, r.sum)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the listener is still open after Run returned")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // "" = valid
	}{
		{"upstream only", Config{Upstream: "http://127.0.0.1:8080"}, ""},
		{"feed over ws", Config{Upstream: "https://api", Feed: "ws://127.0.0.1:9000/feed/v1/stream"}, ""},
		{"no upstream", Config{}, "upstream"},
		{"upstream without scheme", Config{Upstream: "127.0.0.1:8080"}, "upstream"},
		{"feed with another scheme", Config{Upstream: "http://a", Feed: "ftp://b"}, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStreamURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:9000":                 "ws://127.0.0.1:9000/feed/v1/stream",
		"https://feed.example/":                 "wss://feed.example/feed/v1/stream",
		"ws://127.0.0.1:9000/custom/stream?x=1": "ws://127.0.0.1:9000/custom/stream?x=1",
		"wss://feed.example/feed/v1/stream":     "wss://feed.example/feed/v1/stream",
	} {
		u, err := streamURL(in)
		if err != nil || u.String() != want {
			t.Errorf("streamURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
}

func TestBetAccountsForgetsOldest(t *testing.T) {
	b := newBetAccounts(2)
	for i := range 5 {
		b.add(fmt.Sprint("b", i), fmt.Sprint("a", i))
	}
	// Generations of two: b4 current, b2 and b3 previous, b0 and b1 forgotten.
	for bet, want := range map[string]bool{"b0": false, "b1": false, "b2": true, "b3": true, "b4": true} {
		if a, ok := b.account(bet); ok != want || (ok && a != "a"+bet[1:]) {
			t.Errorf("account(%s) = %q, %v; want known=%v", bet, a, ok, want)
		}
	}
}

func dump(evs []replay.Event) string {
	b, _ := json.Marshal(evs)
	return string(b)
}
