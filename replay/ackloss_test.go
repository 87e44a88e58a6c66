package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestAckLoss: while the fault is on, every second request reaches the
// server and is answered, and the harness loses the answer: its outcome is
// unknown, its id is reported, and its connection is not used again. Once
// the fault ends, every answer arrives.
func TestAckLoss(t *testing.T) {
	var (
		mu       sync.Mutex
		received []string
		conns    atomic.Int64
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			ID string `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		received = append(received, b.ID)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q,"status":"accepted"}`, b.ID)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	a := NewAckLoss()
	target := NewHTTPTarget(srv.URL, LoseAnswers(a))
	ctx := context.Background()
	bet := func(id string) Response {
		return target.Send(ctx, Event{Kind: KindBet, ID: id, Account: "a1", Market: "m1", Selection: "home", Odds: "2", Stake: 100})
	}
	if r := bet("before"); r.Outcome != OutcomeAccepted {
		t.Fatalf("before the fault: %+v", r)
	}
	end, err := a.StartAckLoss(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.StartAckLoss(ctx, 1); err == nil {
		t.Fatal("a second ack_lost fault at once was allowed")
	}
	connsBefore := conns.Load()
	var unknown []string
	for i := range 10 {
		id := fmt.Sprintf("b%d", i)
		r := bet(id)
		switch r.Outcome {
		case OutcomeUnknown:
			if !strings.Contains(r.Err, ErrAnswerLost.Error()) {
				t.Fatalf("bet %s unknown for another reason: %s", id, r.Err)
			}
			unknown = append(unknown, id)
		case OutcomeAccepted:
		default:
			t.Fatalf("bet %s: %+v", id, r)
		}
	}
	lost := end()
	if again := end(); !slices.Equal(again.Lost, lost.Lost) {
		t.Fatalf("end is not idempotent: %v then %v", lost.Lost, again.Lost)
	}
	want := []string{"b0", "b2", "b4", "b6", "b8"}
	if !slices.Equal(unknown, want) || !slices.Equal(lost.Lost, want) || lost.Requests != 10 {
		t.Fatalf("unknown %v, lost %v of %d requests; want %v of 10", unknown, lost.Lost, lost.Requests, want)
	}
	mu.Lock()
	got := slices.Clone(received)
	mu.Unlock()
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Fatalf("bet %s's answer was lost before it reached the server: server saw %v", id, got)
		}
	}
	// Each lost answer took its connection with it, so the next request
	// dialled anew.
	if n := conns.Load() - connsBefore; n < int64(len(want)) {
		t.Fatalf("%d new connections during the fault, want at least %d (one after each lost answer)", n, len(want))
	}
	for i := range 5 {
		if r := bet(fmt.Sprintf("after%d", i)); r.Outcome != OutcomeAccepted {
			t.Fatalf("after the fault: %+v", r)
		}
	}
	if _, err := a.StartAckLoss(ctx, -1); err == nil {
		t.Fatal("every -1 was allowed")
	}
}

// TestAckLossHealInFlight: a request chosen for loss whose answer arrives
// after the fault healed is answered as usual (it was a panic: the fault's
// bookkeeping was gone), and a fault started meanwhile does not take it.
func TestAckLossHealInFlight(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"id":"b1","status":"accepted"}`)
	}))
	defer srv.Close()
	a := NewAckLoss()
	target := NewHTTPTarget(srv.URL, LoseAnswers(a))
	ctx := context.Background()
	end, err := a.StartAckLoss(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan Response, 1)
	go func() {
		got <- target.Send(ctx, Event{Kind: KindBet, ID: "b1", Account: "a1", Market: "m1", Selection: "home", Odds: "2", Stake: 100})
	}()
	<-arrived
	if lost := end(); len(lost.Lost) != 0 || lost.Requests != 1 {
		t.Fatalf("healed with %+v, want 1 request and none lost yet", lost)
	}
	end2, err := a.StartAckLoss(ctx, 1) // a later fault: not the one that chose it
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	if r := <-got; r.Outcome != OutcomeAccepted {
		t.Fatalf("answer after the heal: %+v, want accepted", r)
	}
	if lost := end2(); len(lost.Lost) != 0 {
		t.Fatalf("the later fault lost %v", lost.Lost)
	}
}
