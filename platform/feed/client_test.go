package feed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/feed"
)

// frame is one message the test server may send.
type frame struct {
	seq  int64 // 0 for frames outside the sequence (garbage, heartbeats)
	data string
	// once frames go to the first stream that reaches them only (injected
	// faults: duplicates, garbage).
	once bool
	// omitOnce frames are skipped by the first stream that reaches them and
	// sent to later ones: a live gap the history can refill.
	omitOnce bool
	// lost frames are never sent: a gap only the snapshot can cover.
	lost bool
	sent bool
}

// server is a minimal feed server of docs/feed-protocol.md, with knobs for
// the faults the client must survive. It is the network edge of the test.
type server struct {
	t         *testing.T
	mu        sync.Mutex
	frames    []*frame
	lastSeq   int64
	changed   chan struct{}
	afters    []int64 // the after= of every stream request, in order
	snapshot  string
	heartbeat time.Duration // 0 = never
	conns     map[*websocket.Conn]bool
	url       string
}

func newServer(t *testing.T) *server {
	s := &server{t: t, changed: make(chan struct{}), heartbeat: 50 * time.Millisecond, conns: map[*websocket.Conn]bool{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feed/v1/stream", s.stream)
	mux.HandleFunc("GET /feed/v1/snapshot", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.snapshot == "" {
			http.Error(w, "no snapshot", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, s.snapshot)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() {
		s.dropAll()
		srv.Close()
	})
	s.url = "http://" + l.Addr().String()
	return s
}

// publish adds a message with the next seq. fields are added to it.
func (s *server) publish(typ string, fields map[string]any, mod func(*frame)) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastSeq++
	msg := map[string]any{"seq": s.lastSeq, "producer": "test", "ts": time.Now().UTC().Format(time.RFC3339Nano), "type": typ}
	for k, v := range fields {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	f := &frame{seq: s.lastSeq, data: string(b)}
	if mod != nil {
		mod(f)
	}
	s.frames = append(s.frames, f)
	s.notify()
	return s.lastSeq
}

// raw adds a frame sent once, as is, outside the sequence.
func (s *server) raw(data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, &frame{data: data, once: true})
	s.notify()
}

// again re-sends the frame of seq once, as a duplicate.
func (s *server) again(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.frames {
		if f.seq == seq && !f.once {
			s.frames = append(s.frames, &frame{seq: seq, data: f.data, once: true})
			break
		}
	}
	s.notify()
}

func (s *server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *server) dropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.CloseNow()
	}
}

func (s *server) streams() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.afters...)
}

func (s *server) stream(w http.ResponseWriter, r *http.Request) {
	after, err := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		http.Error(w, "bad after", http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	s.mu.Lock()
	s.afters = append(s.afters, after)
	s.conns[conn] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	ctx := r.Context()
	next := 0
	var tick <-chan time.Time
	if s.heartbeat > 0 {
		ticker := time.NewTicker(s.heartbeat)
		defer ticker.Stop()
		tick = ticker.C
	}
	for {
		s.mu.Lock()
		var out []string
		for ; next < len(s.frames); next++ {
			f := s.frames[next]
			switch {
			case f.lost, f.seq != 0 && f.seq <= after && !f.once:
			case f.once && f.sent:
			case f.omitOnce && !f.sent:
				f.sent = true
			default:
				f.sent = true
				out = append(out, f.data)
			}
		}
		changed, last := s.changed, s.lastSeq
		s.mu.Unlock()
		for _, data := range out {
			if conn.Write(ctx, websocket.MessageText, []byte(data)) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-tick:
			hb := fmt.Sprintf(`{"seq":%d,"producer":"test","type":"heartbeat"}`, last)
			if conn.Write(ctx, websocket.MessageText, []byte(hb)) != nil {
				return
			}
		}
	}
}

// recorder is the client's view of pricing and settlement: it records
// what was applied, in order, and can fail on purpose.
type recorder struct {
	mu     sync.Mutex
	events []string
	fails  map[int64]int // seq → attempts still to fail
}

func (r *recorder) record(seq int64, event string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fails[seq] > 0 {
		r.fails[seq]--
		return fmt.Errorf("store unavailable for seq %d", seq)
	}
	r.events = append(r.events, event)
	return nil
}

func (r *recorder) Odds(_ context.Context, market string, odds []platform.Selection, ref platform.FeedRef) error {
	seq := ref.Seq
	parts := make([]string, len(odds))
	for i, o := range odds {
		parts[i] = o.ID + "=" + o.Odds.String()
	}
	return r.record(seq, fmt.Sprintf("%d odds %s %s", seq, market, strings.Join(parts, ",")))
}

func (r *recorder) Status(_ context.Context, market string, status platform.MarketStatus, def platform.MarketDef, ref platform.FeedRef) error {
	line := fmt.Sprintf("%d status %s %s", ref.Seq, market, status)
	if def.InPlay != nil {
		line += fmt.Sprintf(" in_play=%v", *def.InPlay)
	}
	if def.BetDelay != nil {
		line += fmt.Sprintf(" bet_delay=%s", *def.BetDelay)
	}
	return r.record(ref.Seq, line)
}

func (r *recorder) Result(_ context.Context, market string, res platform.Result, ref platform.FeedRef) error {
	s := fmt.Sprintf("%d result %s %v", ref.Seq, market, res.Winners)
	if res.DeadHeat != nil || res.VoidFactor != 0 || res.Rollbacks != 0 {
		s += fmt.Sprintf(" dh=%v void=%d gen=%d", res.DeadHeat, res.VoidFactor, res.Rollbacks)
	}
	return r.record(ref.Seq, s)
}

func (r *recorder) Rollback(_ context.Context, market string, n int64, ref platform.FeedRef) error {
	return r.record(ref.Seq, fmt.Sprintf("%d rollback %s %d", ref.Seq, market, n))
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// start runs a client against srv until the test ends.
func start(t *testing.T, srv *server, rec *recorder, mod func(*feed.Config)) *feed.Client {
	t.Helper()
	cfg := feed.Config{URL: srv.url, Quotes: rec, Results: rec, HeartbeatTimeout: 2 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := feed.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-c.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the client never connected")
	}
	return c
}

// eventually waits, bounded, for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitEvents(t *testing.T, rec *recorder, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d events", len(want)), func() bool { return len(rec.got()) >= len(want) })
	got := rec.got()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("applied:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func odds(market string, prices map[string]string) map[string]any {
	return map[string]any{"market": market, "prices": prices}
}

func status(market, st string) map[string]any { return map[string]any{"market": market, "status": st} }

func TestClientAppliesInOrder(t *testing.T) {
	srv := newServer(t)
	rec := &recorder{}
	srv.publish("odds", odds("m1", map[string]string{"home": "2.10", "away": "3.8"}), nil)
	c := start(t, srv, rec, nil)
	srv.publish("status", status("m1", "suspended"), nil)
	srv.publish("result", map[string]any{"market": "m1", "winners": []string{"home"}}, nil)
	srv.publish("snapshot_complete", nil, nil)           // ignored, but uses up seq 4
	srv.publish("scoreboard", status("m1", "open"), nil) // unknown: ignored
	srv.publish("result", map[string]any{"market": "m2", "winners": []string{}}, nil)
	waitEvents(t, rec,
		"1 odds m1 away=3.8,home=2.1",
		"2 status m1 suspended",
		"3 result m1 [home]",
		"6 result m2 []")
	eventually(t, "a heartbeat", func() bool { return c.Stats().Heartbeats > 0 })
	st := c.Stats()
	if st.LastSeq != 6 || st.Applied != 4 || st.Ignored != 2 || st.Gaps != 0 || st.Duplicates != 0 || !st.Connected || st.LastHeartbeat.IsZero() {
		t.Fatalf("stats = %+v", st)
	}
}

// tsRecorder records the feed ts each odds update was applied with.
type tsRecorder struct {
	recorder
	ts chan time.Time
}

func (r *tsRecorder) Odds(ctx context.Context, market string, odds []platform.Selection, ref platform.FeedRef) error {
	r.ts <- ref.TS
	return r.recorder.Odds(ctx, market, odds, ref)
}

func TestClientTakesNoTimeFromTheFuture(t *testing.T) {
	srv := newServer(t)
	rec := &tsRecorder{ts: make(chan time.Time, 3)}
	start(t, srv, &rec.recorder, func(cfg *feed.Config) { cfg.Quotes = rec })
	behind := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	for _, ts := range []time.Time{time.Now().Add(time.Hour), behind} {
		before := time.Now()
		msg := odds("m1", map[string]string{"home": "2.1"})
		msg["ts"] = ts.UTC().Format(time.RFC3339Nano)
		srv.publish("odds", msg, nil)
		var got time.Time
		select {
		case got = <-rec.ts:
		case <-time.After(10 * time.Second):
			t.Fatal("the odds were never applied")
		}
		switch {
		case ts == behind && !got.Equal(behind):
			t.Errorf("a ts an hour behind was applied as %s, want it as sent, %s", got, behind)
		case ts != behind && (got.Before(before) || got.After(time.Now())):
			t.Errorf("a ts an hour ahead was applied as %s, want the time it arrived", got)
		}
	}
}

func TestClientFaults(t *testing.T) {
	tests := []struct {
		name string
		// run publishes to the server and returns the events that must be applied.
		run   func(t *testing.T, srv *server, rec *recorder) []string
		check func(t *testing.T, st feed.Stats, srv *server)
		fails map[int64]int // seq → attempts the store fails
	}{
		{
			// A duplicate is dropped and counted.
			name: "duplicate",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				srv.again(1)
				srv.publish("status", status("m1", "closed"), nil)
				return []string{"1 status m1 open", "2 status m1 closed"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.Duplicates != 1 {
					t.Fatalf("duplicates = %d, want 1", st.Duplicates)
				}
			},
		},
		{
			// Seq 2 goes missing live: the client resumes after 1 and the
			// server's history refills it, in order.
			name: "gap refilled by resume",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				srv.publish("status", status("m1", "suspended"), func(f *frame) { f.omitOnce = true })
				srv.publish("status", status("m1", "open"), nil)
				return []string{"1 status m1 open", "2 status m1 suspended", "3 status m1 open"}
			},
			check: func(t *testing.T, st feed.Stats, srv *server) {
				if st.Gaps != 1 || st.Resyncs != 1 || st.Lost != 0 || st.Snapshots != 0 {
					t.Fatalf("stats = %+v", st)
				}
				if a := srv.streams(); len(a) != 2 || a[1] != 1 {
					t.Fatalf("stream requests after = %v, want [0 1]", a)
				}
			},
		},
		{
			// Seq 2 is gone for good: resuming does not bring it back, so
			// the client applies the snapshot, which covers it.
			name: "gap covered by snapshot",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				srv.publish("status", status("m1", "suspended"), func(f *frame) { f.lost = true })
				srv.mu.Lock()
				srv.snapshot = `{"seq":2,"producer":"test","markets":[{"market":"m1","status":"suspended","prices":{"home":"2"},"winners":null}]}`
				srv.mu.Unlock()
				srv.publish("status", status("m1", "open"), nil)
				return []string{"1 status m1 open", "2 odds m1 home=2", "2 status m1 suspended", "3 status m1 open"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.Gaps != 2 || st.Resyncs != 1 || st.Snapshots != 1 || st.Lost != 0 || st.LastSeq != 3 {
					t.Fatalf("stats = %+v", st)
				}
			},
		},
		{
			// Seq 2 is gone and the server has no snapshot to offer: after
			// a few tries the client counts it lost rather than stall.
			name: "gap without snapshot",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				srv.publish("status", status("m1", "suspended"), func(f *frame) { f.lost = true })
				srv.publish("status", status("m1", "closed"), nil)
				return []string{"1 status m1 open", "3 status m1 closed"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.Lost != 1 || st.Snapshots != 0 || st.LastSeq != 3 {
					t.Fatalf("stats = %+v", st)
				}
			},
		},
		{
			// The last message is lost and the feed goes quiet: the
			// heartbeat's seq reveals the gap, and the snapshot covers it.
			name: "tail gap seen by heartbeat",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				srv.mu.Lock()
				srv.snapshot = `{"seq":2,"producer":"test","markets":[{"market":"m1","status":"closed","winners":["home"]}]}`
				srv.mu.Unlock()
				srv.publish("result", map[string]any{"market": "m1", "winners": []string{"home"}}, func(f *frame) { f.lost = true })
				return []string{"1 status m1 open", "2 status m1 closed", "2 result m1 [home]"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.Snapshots != 1 || st.Lost != 0 || st.LastSeq != 2 {
					t.Fatalf("stats = %+v", st)
				}
			},
		},
		{
			// Broken frames are counted; one with a readable seq uses it up,
			// so the stream goes on without a gap.
			name: "malformed",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.raw(`not json`)
				srv.raw(`{"type":"odds","market":"m1","prices":{"home":"2"}}`)
				srv.publish("odds", odds("m1", map[string]string{"home": "0.5"}), nil)
				srv.publish("odds", odds("m1", map[string]string{"home": "2.5"}), nil)
				return []string{"2 odds m1 home=2.5"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.Malformed != 3 || st.Gaps != 0 || st.LastSeq != 2 {
					t.Fatalf("stats = %+v", st)
				}
			},
		},
		{
			// The connection drops: the client resumes after what it has.
			name: "disconnect",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				waitEvents(t, rec, "1 status m1 open") // seq 1 is in before the drop
				srv.dropAll()
				srv.publish("status", status("m1", "closed"), nil)
				return []string{"1 status m1 open", "2 status m1 closed"}
			},
			check: func(t *testing.T, st feed.Stats, srv *server) {
				a := srv.streams()
				if st.Connects < 2 || a[len(a)-1] != 1 || st.Duplicates != 0 {
					t.Fatalf("stats = %+v, stream requests after = %v", st, a)
				}
			},
		},
		{
			// The store fails twice: the update is retried, applied once.
			name: "store failure",
			run: func(t *testing.T, srv *server, rec *recorder) []string {
				srv.publish("status", status("m1", "open"), nil)
				return []string{"1 status m1 open"}
			},
			check: func(t *testing.T, st feed.Stats, _ *server) {
				if st.ApplyErrors != 2 || st.Applied != 1 {
					t.Fatalf("stats = %+v", st)
				}
			},
			fails: map[int64]int{1: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			rec := &recorder{fails: tt.fails}
			c := start(t, srv, rec, nil)
			waitEvents(t, rec, tt.run(t, srv, rec)...)
			tt.check(t, c.Stats(), srv)
		})
	}
}

func TestClientResumesWhenStoreStaysDown(t *testing.T) {
	srv := newServer(t)
	// Five failures outlast the client's 2 attempts: it drops the stream
	// and the message is delivered again on the next one.
	rec := &recorder{fails: map[int64]int{1: 5}}
	c := start(t, srv, rec, func(cfg *feed.Config) { cfg.ApplyAttempts = 2 })
	srv.publish("status", status("m1", "open"), nil)
	waitEvents(t, rec, "1 status m1 open")
	if st := c.Stats(); st.ApplyErrors != 5 || st.Connects < 3 || st.Applied != 1 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestClientDropsSilentStream(t *testing.T) {
	srv := newServer(t)
	srv.heartbeat = 0 // a dead feed that keeps its socket open
	rec := &recorder{}
	c := start(t, srv, rec, func(cfg *feed.Config) { cfg.HeartbeatTimeout = 100 * time.Millisecond })
	eventually(t, "a reconnection", func() bool { return c.Stats().Timeouts >= 1 && c.Stats().Connects >= 2 })
}

func TestNewRefusesBadConfig(t *testing.T) {
	rec := &recorder{}
	tests := []struct {
		name string
		cfg  feed.Config
	}{
		// Not a URL the client can dial.
		{"bad scheme", feed.Config{URL: "ftp://x", Quotes: rec, Results: rec}},
		// No host.
		{"no host", feed.Config{URL: "http://", Quotes: rec, Results: rec}},
		// Nowhere to apply updates.
		{"no sinks", feed.Config{URL: "http://127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := feed.New(tt.cfg); platform.ErrorCode(err) != platform.EINVALID {
				t.Fatalf("New = %v, want EINVALID", err)
			}
		})
	}
}

func TestNextBackoff(t *testing.T) {
	tests := []struct {
		name      string
		cur, want time.Duration
	}{
		// Doubles while far from the limit.
		{"doubles", 50 * time.Millisecond, 100 * time.Millisecond},
		// Stops at the limit instead of overshooting.
		{"capped", 1500 * time.Millisecond, 2 * time.Second},
		// Stays at the limit.
		{"at limit", 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := feed.NextBackoff(tt.cur, 2*time.Second); got != tt.want {
				t.Fatalf("NextBackoff(%v) = %v, want %v", tt.cur, got, tt.want)
			}
		})
	}
}

// TestClientBackoffIsBounded runs the reconnection loop against a port that
// refuses connections, in virtual time: over a minute the client keeps
// trying (it never gives up) but no faster than its backoff allows.
func TestClientBackoffIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // now nothing listens there
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		c, err := feed.New(feed.Config{URL: "http://" + addr, Quotes: rec, Results: rec,
			HTTPClient: &http.Client{Transport: tr}, MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c.Run(ctx)
		// Pauses are jittered within [b/2, b] and b doubles from 100 ms to
		// 2 s: at least 30 tries (all at 2 s) and at most 64 (all at 1 s
		// after the ramp).
		if n := c.Stats().DialErrors; n < 30 || n > 70 {
			t.Fatalf("%d dial attempts in a minute, want 30 to 70", n)
		}
		select {
		case <-c.Ready():
			t.Fatal("Ready without a connection")
		default:
		}
	})
}

// TestClientAppliesCorrections: a rollback and the resettlement that
// follows it reach settlement with their generations and factors, live and
// from a snapshot.
func TestClientAppliesCorrections(t *testing.T) {
	t.Run("live", func(t *testing.T) {
		srv := newServer(t)
		rec := &recorder{}
		c := start(t, srv, rec, nil)
		srv.publish("result", map[string]any{"market": "m1", "winners": []string{"home"}}, nil)
		srv.publish("rollback", map[string]any{"market": "m1", "rollbacks": 1}, nil)
		// A rollback that does not count itself is refused, its seq used up.
		srv.publish("rollback", map[string]any{"market": "m1"}, nil)
		srv.publish("result", map[string]any{"market": "m1", "winners": []string{"home", "draw"},
			"dead_heat": map[string]string{"home": "0.5", "draw": "0.5"}, "void_factor": "0.1", "rollbacks": 1}, nil)
		waitEvents(t, rec,
			"1 result m1 [home]",
			"2 rollback m1 1",
			"4 result m1 [home draw] dh=map[draw:5000 home:5000] void=1000 gen=1")
		if st := c.Stats(); st.LastSeq != 4 || st.Applied != 3 || st.Malformed != 1 || st.Ignored != 0 || st.Gaps != 0 {
			t.Fatalf("stats = %+v", st)
		}
	})
	t.Run("snapshot", func(t *testing.T) {
		// The rollback of m1 and m2's corrected result are lost; the
		// snapshot carries both: m1 rolled back and not resulted again (its
		// rollback is applied), m2's standing result with its generation.
		srv := newServer(t)
		rec := &recorder{}
		c := start(t, srv, rec, nil)
		srv.publish("result", map[string]any{"market": "m1", "winners": []string{"home"}}, nil)
		srv.mu.Lock()
		srv.snapshot = `{"seq":3,"producer":"test","markets":[` +
			`{"market":"m1","status":"closed","winners":null,"rollbacks":1},` +
			`{"market":"m2","status":"closed","winners":["home","away"],"dead_heat":{"home":"0.5","away":"0.5"},"void_factor":"0.25","rollbacks":2}]}`
		srv.mu.Unlock()
		srv.publish("rollback", map[string]any{"market": "m1", "rollbacks": 1}, func(f *frame) { f.lost = true })
		srv.publish("result", map[string]any{"market": "m2", "winners": []string{"home", "away"}, "rollbacks": 2}, func(f *frame) { f.lost = true })
		waitEvents(t, rec,
			"1 result m1 [home]",
			"3 status m1 closed",
			"3 rollback m1 1",
			"3 status m2 closed",
			"3 result m2 [home away] dh=map[away:5000 home:5000] void=2500 gen=2")
		if st := c.Stats(); st.Snapshots != 1 || st.Lost != 0 || st.LastSeq != 3 {
			t.Fatalf("stats = %+v", st)
		}
	})
}
