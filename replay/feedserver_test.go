package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startFeed serves a new FeedServer on a real 127.0.0.1 listener.
func startFeed(t *testing.T) (*FeedServer, string) {
	t.Helper()
	fs := NewFeedServer("replay")
	srv := httptest.NewServer(fs)
	t.Cleanup(func() {
		fs.Close()
		srv.Close()
	})
	return fs, srv.URL
}

// dial opens the stream after seq.
func dial(t *testing.T, base string, after int64) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := strings.Replace(base, "http://", "ws://", 1) + fmt.Sprintf("/feed/v1/stream?after=%d", after)
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", u, err)
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// next reads the next message, skipping heartbeats unless asked for them.
func next(t *testing.T, conn *websocket.Conn, heartbeats bool) FeedMessage {
	t.Helper()
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := conn.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		m, err := ParseFeedMessage(b)
		if err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		if m.Type != FeedHeartbeat || heartbeats {
			return m
		}
	}
	t.Fatal("only heartbeats")
	return FeedMessage{}
}

// oddsEvent is the nth odds move of market m1.
func oddsEvent(n int) Event {
	return Event{Kind: KindOdds, Market: "m1", Prices: map[string]string{"home": fmt.Sprintf("%d.%02d", 2+n/100, n%100)}}
}

func TestFeedServerStreamsInOrder(t *testing.T) {
	fs, base := startFeed(t)
	for i := range 50 {
		if seq := fs.Publish(oddsEvent(i)); seq != int64(i+1) {
			t.Fatalf("Publish gave seq %d, want %d", seq, i+1)
		}
	}
	conn := dial(t, base, 0)
	// Published while the client is catching up on the log.
	fs.Publish(Event{Kind: KindStatus, Market: "m1", Status: StatusSuspended})
	fs.Publish(Event{Kind: KindResult, Market: "m1"})
	for i := range 50 {
		m := next(t, conn, false)
		want := oddsEvent(i).Prices
		if m.Seq != int64(i+1) || m.Type != FeedOdds || m.Producer != "replay" || m.Market != "m1" || !reflect.DeepEqual(m.Prices, want) {
			t.Fatalf("message %d = %+v, want odds %v", i+1, m, want)
		}
		if _, err := time.Parse(FeedTimeFormat, m.TS); err != nil || !strings.HasSuffix(m.TS, "Z") || len(m.TS) != len("2026-11-29T09:00:00.123456Z") {
			t.Fatalf("ts %q is not RFC 3339 UTC with microseconds", m.TS)
		}
	}
	if m := next(t, conn, false); m.Seq != 51 || m.Type != FeedStatus || m.Status != StatusSuspended {
		t.Fatalf("message 51 = %+v", m)
	}
	if m := next(t, conn, false); m.Seq != 52 || m.Type != FeedResult || m.Winners == nil || len(*m.Winners) != 0 {
		t.Fatalf("message 52 = %+v, want a void result with winners []", m)
	}
	// A live message after the catch-up.
	fs.Publish(Event{Kind: KindStatus, Market: "m1", Status: StatusClosed})
	if m := next(t, conn, false); m.Seq != 53 || m.Status != StatusClosed {
		t.Fatalf("message 53 = %+v", m)
	}
	if fs.Subscribers() != 1 {
		t.Errorf("Subscribers = %d, want 1", fs.Subscribers())
	}
}

func TestFeedServerResumesWithoutGapOrDuplicate(t *testing.T) {
	fs, base := startFeed(t)
	for i := range 30 {
		fs.Publish(oddsEvent(i))
	}
	conn := dial(t, base, 0)
	var last int64
	for range 20 {
		last = next(t, conn, false).Seq
	}
	conn.Close(websocket.StatusNormalClosure, "")
	// More happens while the client is away.
	for i := 30; i < 60; i++ {
		fs.Publish(oddsEvent(i))
	}
	conn = dial(t, base, last)
	for want := last + 1; want <= 60; want++ {
		if m := next(t, conn, false); m.Seq != want {
			t.Fatalf("after resuming at %d: got seq %d, want %d", last, m.Seq, want)
		}
	}
	// Resuming past the end waits for the next message.
	conn = dial(t, base, 60)
	fs.Publish(oddsEvent(60))
	if m := next(t, conn, false); m.Seq != 61 {
		t.Fatalf("got seq %d, want 61", m.Seq)
	}
}

func TestFeedServerHeartbeats(t *testing.T) {
	// Real time, bounded: heartbeats come from a ticker in the server's
	// connection goroutine, which a synctest bubble cannot hold with a real
	// socket. Each read allows 1.5 s, so a heartbeat must come within that.
	fs, base := startFeed(t)
	fs.Publish(oddsEvent(1))
	conn := dial(t, base, 0)
	if m := next(t, conn, false); m.Seq != 1 {
		t.Fatalf("first message seq %d", m.Seq)
	}
	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		_, b, err := conn.Read(ctx)
		cancel()
		if err != nil {
			t.Fatalf("heartbeat %d did not come within 1.5 s: %v", i+1, err)
		}
		m, err := ParseFeedMessage(b)
		if err != nil || m.Type != FeedHeartbeat || m.Seq != 1 || m.Producer != "replay" {
			t.Fatalf("heartbeat %d = %s (%v); want a heartbeat carrying seq 1", i+1, b, err)
		}
	}
}

func TestFeedServerSnapshot(t *testing.T) {
	fs, base := startFeed(t)
	fs.Publish(Event{Kind: KindOdds, Market: "m2", Prices: map[string]string{"home": "2.10", "away": "3.00"}})
	fs.Publish(Event{Kind: KindStatus, Market: "m2", Status: StatusOpen})
	fs.Publish(Event{Kind: KindOdds, Market: "m2", Prices: map[string]string{"home": "2.20"}})
	fs.Publish(Event{Kind: KindStatus, Market: "m1", Status: StatusClosed})
	fs.Publish(Event{Kind: KindResult, Market: "m1"})
	if seq := fs.Publish(Event{Kind: KindBet, ID: "b-1"}); seq != 0 {
		t.Errorf("Publish of a bet = %d, want 0 (ignored)", seq)
	}

	resp, err := http.Get(base + "/feed/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var raw map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(raw)
	// Markets sorted; a void result is [], an unresulted market null;
	// prices merge per selection.
	want := `{"markets":[{"market":"m1","prices":{},"status":"closed","winners":[]},{"market":"m2","prices":{"away":"3.00","home":"2.20"},"status":"open","winners":null}],"producer":"replay","producers":{"replay":5},"seq":5}`
	if string(b) != want {
		t.Errorf("snapshot\n got %s\nwant %s", b, want)
	}
}

func TestFeedServerDisconnectsASlowSubscriber(t *testing.T) {
	fs, base := startFeed(t)
	conn := dial(t, base, 0)
	// Wait (bounded) for the server to register the subscriber.
	for i := 0; fs.Subscribers() == 0; i++ {
		if i == 500 {
			t.Fatal("subscriber never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The client reads nothing. Big messages (a long market id) fill the
	// socket buffers fast, then the subscriber falls FeedSubscriberBuffer behind.
	big := Event{Kind: KindStatus, Market: strings.Repeat("m", 2000), Status: StatusOpen}
	const published = 30_000
	for range published {
		fs.Publish(big)
	}
	if fs.SlowDisconnects() != 1 || fs.Subscribers() != 0 {
		t.Fatalf("SlowDisconnects = %d, Subscribers = %d; want 1 and 0", fs.SlowDisconnects(), fs.Subscribers())
	}
	// What arrived is in order; then the connection ends.
	var last int64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := conn.Read(ctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("the slow subscriber was not disconnected")
			}
			break
		}
		m, err := ParseFeedMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Type == FeedHeartbeat {
			continue
		}
		if m.Seq != last+1 {
			t.Fatalf("seq %d after %d", m.Seq, last)
		}
		last = m.Seq
	}
	if last >= published {
		t.Fatalf("got all %d messages; the subscriber was not behind", last)
	}
	// It resumes from where it was and gets the rest.
	conn = dial(t, base, last)
	if m := next(t, conn, false); m.Seq != last+1 {
		t.Fatalf("resumed at seq %d, want %d", m.Seq, last+1)
	}
}

func TestFeedServerRequests(t *testing.T) {
	fs, base := startFeed(t)
	cases := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{"bad after", "GET", "/feed/v1/stream?after=x", http.StatusBadRequest},
		{"negative after", "GET", "/feed/v1/stream?after=-1", http.StatusBadRequest},
		{"stream without upgrade", "GET", "/feed/v1/stream", http.StatusUpgradeRequired},
		{"unknown path", "GET", "/feed/v2/stream", http.StatusNotFound},
		{"snapshot by POST", "POST", "/feed/v1/snapshot", http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	t.Run("closed server", func(t *testing.T) {
		conn := dial(t, base, 0)
		fs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				if websocket.CloseStatus(err) != websocket.StatusGoingAway {
					t.Errorf("read after Close: %v, want close status 1001", err)
				}
				break
			}
		}
		if fs.Subscribers() != 0 || fs.Publish(oddsEvent(1)) != 0 {
			t.Error("a closed server still has subscribers or takes messages")
		}
		resp, err := http.Get(base + "/feed/v1/stream")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("stream after Close: status %d, want 503", resp.StatusCode)
		}
	})
}

// ScaleBetDelay: at speed 4 a 5 s announced delay is served as 1.25 s, on
// the stream and in the snapshot; the capture's own value is untouched.
func TestFeedServerScalesBetDelay(t *testing.T) {
	fs, base := startFeed(t)
	fs.ScaleBetDelay(4)
	inPlay, delay := true, int64(5000)
	ev := Event{Kind: KindStatus, Market: "m1", Status: StatusOpen, InPlay: &inPlay, BetDelayMS: &delay}
	fs.Publish(ev)
	m := next(t, dial(t, base, 0), false)
	if m.BetDelayMS == nil || *m.BetDelayMS != 1250 || m.InPlay == nil || !*m.InPlay {
		t.Fatalf("stream message %+v; want in play, bet_delay_ms 1250", m)
	}
	if *ev.BetDelayMS != 5000 {
		t.Errorf("the event's delay became %d", *ev.BetDelayMS)
	}
	resp, err := http.Get(base + "/feed/v1/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var snap FeedSnapshot
	if err := json.NewDecoder(resp.Body).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Markets) != 1 || snap.Markets[0].BetDelayMS == nil || *snap.Markets[0].BetDelayMS != 1250 {
		t.Fatalf("snapshot %+v; want bet_delay_ms 1250", snap)
	}
}
