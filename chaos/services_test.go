package chaos

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// newLayer starts a Layer that is closed when the test ends.
func newLayer(tb testing.TB) *Layer {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := NewLayer(ctx)
	if err != nil {
		tb.Fatalf("NewLayer: %v", err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return l
}

// mustLink links name to upstream or fails the test.
func mustLink(tb testing.TB, l *Layer, name, upstream string) string {
	tb.Helper()
	listen, err := l.Link(name, upstream)
	if err != nil {
		tb.Fatalf("Link(%s, %s): %v", name, upstream, err)
	}
	return listen
}

// probeOnce runs one probe with a generous timeout.
func probeOnce(p func(context.Context, string) ProbeResult, addr string) ProbeResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p(ctx, addr)
}

// eventually polls cond every 10ms for at most 5s: the faults run on their
// own goroutines, and the test waits for the state it wants to inspect.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}

// pingThrough plays the platform on a link: it sends PING to Redis through
// addr every 5ms on one long-lived connection, as a pooled client does, and
// dials again when a fault cuts or holds it, until the test ends. A PONG
// later than 100ms counts as held, so that a fault holding the answer to a
// PING sent just before it cannot keep the pinger quiet for the whole fault.
// It returns the count of PONGs. At most 20000 rounds, so it ends on its own.
func pingThrough(tb testing.TB, addr string) *atomic.Int64 {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	var pongs atomic.Int64
	go func() {
		defer close(done)
		var conn net.Conn
		defer func() {
			if conn != nil {
				conn.Close()
			}
		}()
		var d net.Dialer
		answer := make([]byte, len("+PONG\r\n"))
		for range 20000 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			if conn == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					continue
				}
				conn = c
			}
			conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
			_, err := conn.Write([]byte("PING\r\n"))
			if err == nil {
				_, err = io.ReadFull(conn, answer)
			}
			if err != nil || string(answer) != "+PONG\r\n" {
				conn.Close()
				conn = nil
				continue
			}
			pongs.Add(1)
		}
	}()
	return &pongs
}
