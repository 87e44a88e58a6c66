package chaos

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// front is the platform's side of a link: a TCP relay on the address the
// platform dials, in front of the link's toxiproxy proxy. It counts the bytes
// it carries as they pass, so that a fault's record can show the platform's
// own traffic crossed the fault. The probes dial the proxy directly, so
// their bytes are not counted.
//
// Why not toxiproxy's proxy metrics: toxiproxy 2.12 adds a connection's bytes
// to toxiproxy_proxy_{received,sent}_bytes_total only when that connection
// ends (link.go, after io.Copy returns). A platform keeps pooled connections
// open for the whole run, so during a fault those counters would show only
// the probes' short connections, not the platform's traffic.
//
// The relay keeps the proxy's behaviour visible to the platform: a half-close
// is passed on as a half-close, a reset as a reset, and while the link is
// down (stop) its listener is closed, so new connections are refused as the
// disabled proxy refuses them.
type front struct {
	proxy string // the toxiproxy proxy's listen address
	addr  string // where the platform dials; the same after stop and start

	upstream   atomic.Int64 // bytes relayed platform → proxy
	downstream atomic.Int64 // bytes relayed proxy → platform

	mu     sync.Mutex
	ln     net.Listener // nil while stopped
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup // accept loops and relays
}

// frontDialTimeout bounds the dial to the proxy, which is on loopback: a
// dial that takes longer has failed.
const frontDialTimeout = 5 * time.Second

// newFront listens on a new 127.0.0.1 port and relays to proxy.
func newFront(proxy string) (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &front{proxy: proxy, addr: ln.Addr().String(), conns: make(map[net.Conn]struct{})}
	f.mu.Lock()
	f.serve(ln)
	f.mu.Unlock()
	return f, nil
}

// traffic returns the bytes relayed so far in each direction.
func (f *front) traffic() (upstream, downstream int64) {
	return f.upstream.Load(), f.downstream.Load()
}

// serve starts accepting on ln. f.mu is held.
func (f *front) serve(ln net.Listener) {
	f.ln = ln
	f.wg.Add(1)
	go f.accept(ln)
}

// accept relays every connection ln accepts until ln is closed.
func (f *front) accept(ln net.Listener) {
	defer f.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, as net/http does,
			// rather than spin or give up on the link.
			time.Sleep(backoff)
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

// track registers c so that close can end it; false once f is closed.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *front) untrack(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
}

// relay joins the platform's connection c to a new connection to the proxy
// and copies both ways until both directions have ended.
func (f *front) relay(c net.Conn) {
	defer f.wg.Done()
	defer f.untrack(c)
	defer c.Close()
	p, err := net.DialTimeout("tcp", f.proxy, frontDialTimeout)
	if err != nil {
		// The proxy refused (it is being disabled, or gone): a reset is the
		// nearest a relay that has accepted can come to a refusal.
		reset(c)
		return
	}
	if !f.track(p) {
		p.Close()
		return
	}
	defer f.untrack(p)
	defer p.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(p, c, &f.upstream)
	}()
	pipe(c, p, &f.downstream)
	<-done
}

// pipe copies src to dst, counting each chunk once it is written, until src
// ends. An end of stream is passed on as a half-close; a reset as a reset;
// anything else closes both.
func pipe(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			w, werr := dst.Write(buf[:k])
			n.Add(int64(w))
			if werr != nil {
				src.Close()
				dst.Close()
				return
			}
		}
		switch {
		case err == nil:
			continue
		case errors.Is(err, io.EOF):
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return
			}
			dst.Close()
		case errors.Is(err, syscall.ECONNRESET):
			reset(dst)
			src.Close()
		default:
			src.Close()
			dst.Close()
		}
		return
	}
}

// reset closes c with a TCP reset rather than an orderly close.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// stop closes the listener, so that new connections are refused, and leaves
// the connections open: the proxy being disabled closes its side of them,
// and each relay passes that on.
func (f *front) stop() {
	f.mu.Lock()
	ln := f.ln
	f.ln = nil
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// start listens again on the same address after stop; it does nothing if
// the listener is open.
func (f *front) start() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return fmt.Errorf("the link's front on %s is closed", f.addr)
	}
	if f.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen again on %s: %w", f.addr, err)
	}
	f.serve(ln)
	return nil
}

// close stops the listener and every connection, and waits for the relays
// to end. It is safe to call twice.
func (f *front) close() {
	f.mu.Lock()
	f.closed = true
	ln := f.ln
	f.ln = nil
	conns := make([]net.Conn, 0, len(f.conns))
	for c := range f.conns {
		conns = append(conns, c)
	}
	f.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	f.wg.Wait()
}
