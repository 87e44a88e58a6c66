package replay

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/inplaylabs/inplay/chaos"
)

// wire is what a test subscriber reads: every frame as sent, heartbeats
// included, from a goroutine of its own (a timed-out Read would close the
// connection). It ends when the connection does.
type wire struct {
	t      *testing.T
	frames chan []byte
}

func watch(t *testing.T, conn *websocket.Conn) *wire {
	t.Helper()
	w := &wire{t: t, frames: make(chan []byte, 1<<16)}
	go func() {
		defer close(w.frames)
		for {
			_, b, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			w.frames <- b
		}
	}()
	return w
}

// frame returns the next frame, raw; it fails the test after 10 s.
func (w *wire) frame() []byte {
	w.t.Helper()
	select {
	case b, ok := <-w.frames:
		if !ok {
			w.t.Fatal("the stream ended")
		}
		return b
	case <-time.After(10 * time.Second):
		w.t.Fatal("no frame within 10 s")
	}
	return nil
}

// data returns the next frame that is not a heartbeat, raw.
func (w *wire) data() []byte {
	w.t.Helper()
	for range 100 {
		b := w.frame()
		if m, err := ParseFeedMessage(b); err == nil && m.Type == FeedHeartbeat {
			continue
		}
		return b
	}
	w.t.Fatal("only heartbeats")
	return nil
}

// seqs reads n data messages and returns their seqs; -1 for one that does
// not parse.
func (w *wire) seqs(n int) []int64 {
	w.t.Helper()
	got := make([]int64, n)
	for i := range got {
		m, err := ParseFeedMessage(w.data())
		if err != nil {
			got[i] = -1
			continue
		}
		got[i] = m.Seq
	}
	return got
}

// quiet reads heartbeats until two carry seq, and fails on anything else:
// the stream is quiet at seq. A heartbeat comes every
// FeedHeartbeatInterval, after whatever the server had to send, so anything
// it was going to send would come before the second. Heartbeats with a
// lower seq come from before the subscriber caught up.
func (w *wire) quiet(seq int64) {
	w.t.Helper()
	for n, i := 0, 0; n < 2; i++ {
		b := w.frame()
		m, err := ParseFeedMessage(b)
		if err != nil || m.Type != FeedHeartbeat || m.Seq > seq {
			w.t.Fatalf("the stream should be quiet at seq %d, got %s", seq, b)
		}
		if m.Seq == seq {
			n++
		} else if i > 20 {
			w.t.Fatalf("heartbeats stay at seq %d, want %d", m.Seq, seq)
		}
	}
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// faultFeed is a feed with one live subscriber that has read pre messages.
func faultFeed(t *testing.T, pre int) (*FeedServer, string, *wire) {
	t.Helper()
	fs, base := startFeed(t)
	w := watch(t, dial(t, base, 0))
	for i := 0; fs.Subscribers() == 0; i++ { // live from seq 1 on: none is catch-up
		if i == 500 {
			t.Fatal("subscriber never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range pre {
		fs.Publish(oddsEvent(i))
	}
	if got := w.seqs(pre); !reflect.DeepEqual(got, seqRange(1, int64(pre))) {
		t.Fatalf("before the fault: seqs %v", got)
	}
	return fs, base, w
}

func startFault(t *testing.T, fs *FeedServer, f chaos.FeedFault) func() chaos.FeedAlterations {
	t.Helper()
	end, err := fs.StartFault(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { end() })
	return end
}

func checkAltered(t *testing.T, got chaos.FeedAlterations, messages int64, kind string, n int64, seqs []int64) {
	t.Helper()
	want := chaos.FeedAlterations{Messages: messages, Altered: map[string]int64{kind: n}, Seqs: seqs}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alterations = %+v, want %+v", got, want)
	}
}

// checkRestored publishes after the fault and checks it goes out as it is,
// once, in order.
func checkRestored(t *testing.T, fs *FeedServer, w *wire) {
	t.Helper()
	a := fs.Publish(oddsEvent(900))
	b := fs.Publish(oddsEvent(901))
	if got := w.seqs(2); !reflect.DeepEqual(got, []int64{a, b}) {
		t.Fatalf("after the fault: seqs %v, want [%d %d]", got, a, b)
	}
}

// checkLogTrue checks that a subscriber resuming after the fault reads the
// true log: every seq once, in order, as published.
func checkLogTrue(t *testing.T, fs *FeedServer, base string, after int64) {
	t.Helper()
	r := watch(t, dial(t, base, after))
	last := fs.Seq()
	for seq := after + 1; seq <= last; seq++ {
		b := r.data()
		if string(b) != string(fs.log[seq-1]) {
			t.Fatalf("resuming: seq %d is %s, want %s", seq, b, fs.log[seq-1])
		}
	}
}

func publishN(fs *FeedServer, n int) {
	for i := range n {
		fs.Publish(oddsEvent(100 + i))
	}
}

func TestFeedFaultDuplicate(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "duplicate", Every: 2})
	publishN(fs, 6) // 4..9
	// One in two, from the first of the fault: 4, 6 and 8 twice.
	if got, want := w.seqs(9), []int64{4, 4, 5, 6, 6, 7, 8, 8, 9}; !reflect.DeepEqual(got, want) {
		t.Fatalf("on the wire: %v, want %v", got, want)
	}
	checkAltered(t, end(), 6, "duplicated", 3, []int64{4, 6, 8})
	checkRestored(t, fs, w)
	checkLogTrue(t, fs, base, 0)
}

func TestFeedFaultGap(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "gap", Every: 2})
	publishN(fs, 6)
	if got, want := w.seqs(3), []int64{5, 7, 9}; !reflect.DeepEqual(got, want) {
		t.Fatalf("on the wire: %v, want %v", got, want)
	}
	// The heartbeat owns up to what was skipped: a client sees the gap even
	// when the last message is the one skipped.
	fs.Publish(oddsEvent(200)) // 10, skipped
	w.quiet(10)
	// Resume serves the skipped seqs, even while the fault is on.
	checkLogTrue(t, fs, base, 3)
	if snap := fs.Snapshot(); snap.Seq != 10 || snap.Markets[0].Prices["home"] != oddsEvent(200).Prices["home"] {
		t.Errorf("snapshot = %+v: it must hold the skipped messages", snap)
	}
	checkAltered(t, end(), 7, "skipped", 4, []int64{4, 6, 8, 10})
	checkRestored(t, fs, w)
}

func TestFeedFaultStale(t *testing.T) {
	fs, base, w := faultFeed(t, 12)
	end := startFault(t, fs, chaos.FeedFault{Kind: "stale", Every: 3})
	publishN(fs, 6) // 13..18
	// After 13 and 16, the messages FeedStaleLookback before them again.
	if got, want := w.seqs(8), []int64{13, 3, 14, 15, 16, 6, 17, 18}; !reflect.DeepEqual(got, want) {
		t.Fatalf("on the wire: %v, want %v", got, want)
	}
	checkAltered(t, end(), 6, "resent", 2, []int64{3, 6})
	checkRestored(t, fs, w)
	checkLogTrue(t, fs, base, 0)
}

func TestFeedFaultMalformed(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "malformed"}) // Every 0: all
	publishN(fs, 3)
	for seq := int64(4); seq <= 6; seq++ {
		b := w.data()
		if _, err := ParseFeedMessage(b); err == nil {
			t.Fatalf("seq %d went out whole: %s", seq, b)
		}
		if !strings.HasPrefix(string(fs.log[seq-1]), string(b)) || !strings.Contains(string(b), fmt.Sprintf(`"seq":%d,`, seq)) {
			t.Fatalf("seq %d went out as %s: want a prefix of the message with its seq", seq, b)
		}
	}
	checkAltered(t, end(), 3, "malformed", 3, []int64{4, 5, 6})
	checkRestored(t, fs, w)
	checkLogTrue(t, fs, base, 0)
}

func TestFeedFaultSkew(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "skew", Skew: -90 * time.Second})
	publishN(fs, 2)
	for seq := int64(4); seq <= 5; seq++ {
		got, err := ParseFeedMessage(w.data())
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ParseFeedMessage(fs.log[seq-1])
		gotTS, _ := time.Parse(FeedTimeFormat, got.TS)
		wantTS, _ := time.Parse(FeedTimeFormat, want.TS)
		if d := gotTS.Sub(wantTS); d != -90*time.Second {
			t.Errorf("seq %d: ts %s, %s off the true %s; want -1m30s", seq, got.TS, d, want.TS)
		}
		got.TS = want.TS
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seq %d: %+v, want %+v but for ts", seq, got, want)
		}
	}
	checkAltered(t, end(), 2, "skewed", 2, []int64{4, 5})
	checkRestored(t, fs, w)
	checkLogTrue(t, fs, base, 0)
}

func TestFeedFaultReorder(t *testing.T) {
	t.Run("overtaken within the window", func(t *testing.T) {
		fs, base, w := faultFeed(t, 3)
		// A window a slow machine cannot outlast between two Publish calls.
		end := startFault(t, fs, chaos.FeedFault{Kind: "reorder", Window: time.Minute})
		publishN(fs, 7) // 4..10: three pairs swapped, 10 held for a partner
		if got, want := w.seqs(6), []int64{5, 4, 7, 6, 9, 8}; !reflect.DeepEqual(got, want) {
			t.Fatalf("on the wire: %v, want %v", got, want)
		}
		w.quiet(9) // 10 waits for one to overtake it
		checkAltered(t, end(), 7, "reordered", 3, []int64{4, 6, 8})
		if got := w.seqs(1); got[0] != 10 { // the end sends it in place
			t.Fatalf("after the end: seq %d, want 10", got[0])
		}
		checkRestored(t, fs, w)
		checkLogTrue(t, fs, base, 0)
	})
	t.Run("one in every", func(t *testing.T) {
		fs, _, w := faultFeed(t, 3)
		end := startFault(t, fs, chaos.FeedFault{Kind: "reorder", Every: 2, Window: time.Minute})
		publishN(fs, 6) // 4 held, 5 overtakes it; 6 not; 7 held, 8 overtakes; 9 not
		if got, want := w.seqs(6), []int64{5, 4, 6, 8, 7, 9}; !reflect.DeepEqual(got, want) {
			t.Fatalf("on the wire: %v, want %v", got, want)
		}
		checkAltered(t, end(), 6, "reordered", 2, []int64{4, 7})
	})
	t.Run("window runs out", func(t *testing.T) {
		fs, _, w := faultFeed(t, 3)
		end := startFault(t, fs, chaos.FeedFault{Kind: "reorder", Window: 20 * time.Millisecond})
		fs.Publish(oddsEvent(1))
		if got := w.seqs(1); got[0] != 4 { // held for the window, then sent in place
			t.Fatalf("seq %d, want 4", got[0])
		}
		checkAltered(t, end(), 1, "reordered", 0, nil)
	})
}

func TestFeedFaultBurst(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "burst"})
	publishN(fs, 5)
	w.quiet(3) // held: the stream says nothing past 3
	// A subscriber that resumes meanwhile is caught up from the log.
	checkLogTrue(t, fs, base, 0)
	checkAltered(t, end(), 5, "held", 5, []int64{4, 5, 6, 7, 8})
	if got := w.seqs(5); !reflect.DeepEqual(got, seqRange(4, 8)) {
		t.Fatalf("at the end: %v, want 4..8", got)
	}
	checkRestored(t, fs, w)
}

func TestFeedFaultDropout(t *testing.T) {
	fs, base, w := faultFeed(t, 3)
	end := startFault(t, fs, chaos.FeedFault{Kind: "dropout"})
	publishN(fs, 3)
	late := watch(t, dial(t, base, 0)) // connects during the dropout
	// Nothing for three heartbeat intervals, heartbeats included. A frame
	// already being written when the fault began may still land: at most
	// one, and never one published during the dropout.
	quiet := time.After(3 * FeedHeartbeatInterval)
	stray := 0
	for done := false; !done; {
		select {
		case b := <-w.frames:
			if m, err := ParseFeedMessage(b); err != nil || m.Seq > 3 {
				t.Fatalf("during the dropout: %s", b)
			}
			stray++
		case b := <-late.frames:
			t.Fatalf("during the dropout, to a new subscriber: %s", b)
		case <-quiet:
			done = true
		}
	}
	if stray > 1 {
		t.Fatalf("%d frames during the dropout", stray)
	}
	checkAltered(t, end(), 3, "dropped", 3, []int64{4, 5, 6})
	// The stream resumes where it stopped: nothing lost, nothing twice.
	if got := w.seqs(3); !reflect.DeepEqual(got, seqRange(4, 6)) {
		t.Fatalf("after the dropout: %v, want 4..6", got)
	}
	if got := late.seqs(6); !reflect.DeepEqual(got, seqRange(1, 6)) {
		t.Fatalf("the new subscriber: %v, want 1..6", got)
	}
	w.quiet(6)
	checkRestored(t, fs, w)
}

func TestFeedFaultStartRefusals(t *testing.T) {
	fs, _ := startFeed(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		f    chaos.FeedFault
		want string
	}{
		{"unknown kind", context.Background(), chaos.FeedFault{Kind: "latency"}, `kind "latency"`},
		{"negative every", context.Background(), chaos.FeedFault{Kind: "gap", Every: -1}, "every -1"},
		{"negative window", context.Background(), chaos.FeedFault{Kind: "reorder", Window: -time.Second}, "window -1s"},
		{"skew of nothing", context.Background(), chaos.FeedFault{Kind: "skew"}, "non-zero skew"},
		{"context done", cancelled, chaos.FeedFault{Kind: "gap"}, "canceled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := fs.StartFault(tc.ctx, tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one that says %q", err, tc.want)
			}
		})
	}
	t.Run("one at a time", func(t *testing.T) {
		end := startFault(t, fs, chaos.FeedFault{Kind: "gap"})
		if _, err := fs.StartFault(context.Background(), chaos.FeedFault{Kind: "duplicate"}); err == nil || !strings.Contains(err.Error(), "already on") {
			t.Fatalf("a second fault: err = %v", err)
		}
		first := end()
		if again := end(); !reflect.DeepEqual(first, again) {
			t.Errorf("end again = %+v, want %+v", again, first)
		}
		end2 := startFault(t, fs, chaos.FeedFault{Kind: "duplicate"})
		end2()
	})
	t.Run("closed", func(t *testing.T) {
		fs.Close()
		if _, err := fs.StartFault(context.Background(), chaos.FeedFault{Kind: "gap"}); err == nil {
			t.Error("a closed server took a fault")
		}
	})
}

func TestFeedFaultCloseHeals(t *testing.T) {
	fs, _, w := faultFeed(t, 1)
	end := startFault(t, fs, chaos.FeedFault{Kind: "dropout"})
	publishN(fs, 2)
	fs.Close() // subscribers parked in the silence leave
	if got := end(); got.Messages != 2 {
		t.Errorf("alterations after Close = %+v", got)
	}
	for range w.frames { // drains until the connection ends
	}
	if _, err := fs.StartFault(context.Background(), chaos.FeedFault{Kind: "burst"}); err == nil {
		t.Error("a closed server took a fault")
	}
}

// TestFeedFaultConcurrency runs every kind in turn while a publisher and
// many subscribers run, ending each fault from two goroutines at once; at
// the end every subscriber gets the last seq and the log is intact. Run it
// with -race.
func TestFeedFaultConcurrency(t *testing.T) {
	fs, base := startFeed(t)
	const subs = 6
	wires := make([]*wire, subs)
	for i := range wires {
		wires[i] = watch(t, dial(t, base, 0))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			fs.Publish(oddsEvent(i % 1000))
			if i%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for _, kind := range FeedFaultKinds() {
		end, err := fs.StartFault(context.Background(), chaos.FeedFault{Kind: kind, Every: 3, Window: 5 * time.Millisecond, Skew: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		var ends sync.WaitGroup
		results := make([]chaos.FeedAlterations, 2)
		for i := range results {
			ends.Go(func() { results[i] = end() })
		}
		ends.Wait()
		if !reflect.DeepEqual(results[0], results[1]) {
			t.Errorf("%s: two ends disagree: %+v and %+v", kind, results[0], results[1])
		}
	}
	close(stop)
	wg.Wait()
	last := fs.Publish(oddsEvent(999))
	for _, w := range wires {
		for {
			b := w.frame()
			if m, err := ParseFeedMessage(b); err == nil && m.Seq == last && m.Type == FeedOdds {
				break
			}
		}
	}
	checkLogTrue(t, fs, base, 0)
}
