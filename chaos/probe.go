package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// ProbeResult is one probe through a link, on a new connection.
type ProbeResult struct {
	Probe     string        // what the probe did, e.g. "redis PING"
	RoundTrip bool          // the probe waits for an answer from upstream, so a delay on either stream shows in RTT
	RTT       time.Duration // request sent to answer read (connect time for connect-only probes); the timeout when Stalled
	Answer    string        // the start of the answer, for the evidence
	Err       error         // nil when the expected answer came
	Stalled   bool          // no answer before the probe's deadline
}

// OK reports whether the probe got the answer it expected.
func (r ProbeResult) OK() bool {
	return r.Err == nil && !r.Stalled
}

// Outcome describes the result in a few words: "0.4ms", "stalled after 1s",
// "failed after 0.1ms: connection refused".
func (r ProbeResult) Outcome() string {
	switch {
	case r.Stalled:
		return fmt.Sprintf("stalled after %s", round(r.RTT))
	case r.Err != nil:
		return fmt.Sprintf("failed after %s: %v", round(r.RTT), r.Err)
	default:
		return round(r.RTT).String()
	}
}

// Prober checks a link from outside: it opens a new connection to addr (the
// link's listen address) and does one short exchange that its target's
// protocol answers. Every call must open a new connection, because toxiproxy
// applies a toxic (and draws its toxicity) per connection.
type Prober interface {
	// Probe runs one probe and returns within ctx's deadline.
	Probe(ctx context.Context, addr string) ProbeResult
}

// ProberFunc adapts a function to a Prober.
type ProberFunc func(ctx context.Context, addr string) ProbeResult

// Probe calls f.
func (f ProberFunc) Probe(ctx context.Context, addr string) ProbeResult {
	return f(ctx, addr)
}

var (
	probersMu sync.RWMutex
	probers   = map[string]Prober{}
)

// RegisterProber sets the probe for links to target. Registering a target
// twice panics. A target without a prober gets a TCP connect probe, which
// shows a link that is down but not what happens to data.
func RegisterProber(target string, p Prober) {
	probersMu.Lock()
	defer probersMu.Unlock()
	if _, dup := probers[target]; dup {
		panic(fmt.Sprintf("chaos: prober for target %q registered twice", target))
	}
	probers[target] = p
}

// proberFor returns the prober for target, or a TCP connect probe.
func proberFor(target string) Prober {
	probersMu.RLock()
	defer probersMu.RUnlock()
	if p, ok := probers[target]; ok {
		return p
	}
	return ProberFunc(func(ctx context.Context, addr string) ProbeResult {
		r := ConnectProbe(ctx, addr)
		r.Probe = fmt.Sprintf("tcp connect (no protocol probe for target %s)", target)
		return r
	})
}

func init() {
	RegisterProber("redis", ProberFunc(RedisProbe))
	RegisterProber("postgres", ProberFunc(PostgresProbe))
	RegisterProber("api", HTTPProber{Path: "/healthz"})
	RegisterProber("feed", HTTPProber{Path: "/feed/v1/snapshot"})
	// The quote stream is served by the platform's API server: a probe of
	// its health through the stream link shows what that link does to data.
	RegisterProber("stream", HTTPProber{Path: "/healthz"})
}

// ConnectProbe only opens a TCP connection. It shows a link that refuses
// connections, nothing about data: toxiproxy accepts before it applies
// toxics.
func ConnectProbe(ctx context.Context, addr string) ProbeResult {
	r := ProbeResult{Probe: "tcp connect"}
	start := time.Now()
	conn, err := dial(ctx, addr)
	r.RTT = time.Since(start)
	if err != nil {
		r.Err, r.Stalled = err, isTimeout(err)
		return r
	}
	conn.Close()
	return r
}

// RedisProbe sends PING on a new connection and expects +PONG. A Redis that
// wants a password answers -NOAUTH, which still proves the round trip, so
// any RESP error line counts as an answer too (recorded in Answer).
func RedisProbe(ctx context.Context, addr string) ProbeResult {
	return exchange(ctx, addr, "redis PING", []byte("PING\r\n"), func(b []byte) (int, error) {
		line, ok := lineOf(b)
		if !ok {
			return 0, nil
		}
		if len(line) > 0 && (line[0] == '-' || string(line) == "+PONG") {
			return len(line), nil
		}
		return len(line), fmt.Errorf("unexpected answer %q", line)
	})
}

// PostgresProbe sends an SSLRequest (int32 length 8, int32 80877103) and
// expects the one-byte answer 'S' or 'N'. It needs no credentials and starts
// no session.
func PostgresProbe(ctx context.Context, addr string) ProbeResult {
	req := []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
	return exchange(ctx, addr, "postgres SSLRequest", req, func(b []byte) (int, error) {
		if len(b) < 1 {
			return 0, nil
		}
		if b[0] == 'S' || b[0] == 'N' {
			return 1, nil
		}
		return 1, fmt.Errorf("unexpected answer byte %q", b[0])
	})
}

// HTTPProber sends GET Path over HTTP/1.1 and waits for the status line. Any
// status counts as an answer: the probe measures the hop, not the service's
// health (a /healthz that answers 503 while Redis is down still crossed the
// link).
type HTTPProber struct {
	Path string // e.g. /healthz
}

// Probe sends the request on a new connection.
func (h HTTPProber) Probe(ctx context.Context, addr string) ProbeResult {
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: inplay-chaos-probe\r\nConnection: close\r\n\r\n", h.Path, addr)
	return exchange(ctx, addr, "http GET "+h.Path, []byte(req), func(b []byte) (int, error) {
		line, ok := lineOf(b)
		if !ok {
			return 0, nil
		}
		if len(line) >= 12 && string(line[:7]) == "HTTP/1." {
			return len(line), nil
		}
		return len(line), fmt.Errorf("unexpected status line %q", line)
	})
}

// exchange dials addr, writes req and reads until answer says the reply is
// complete (n > 0) or wrong (err). RTT runs from the write to the answer, so
// the connect itself, which toxiproxy answers locally, is not counted.
func exchange(ctx context.Context, addr, name string, req []byte, answer func([]byte) (int, error)) (r ProbeResult) {
	r = ProbeResult{Probe: name, RoundTrip: true}
	start := time.Now()
	conn, err := dial(ctx, addr)
	if err != nil {
		r.RTT, r.Err, r.Stalled = time.Since(start), err, isTimeout(err)
		return r
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	start = time.Now()
	defer func() { r.RTT = time.Since(start) }()
	if _, err := conn.Write(req); err != nil {
		r.Err, r.Stalled = err, isTimeout(err)
		return r
	}
	buf := make([]byte, 0, 256)
	chunk := make([]byte, 256)
	for len(buf) < 4096 {
		n, err := conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if used, aerr := answer(buf); used > 0 || aerr != nil {
			r.Answer = printable(buf[:min(max(used, 1), len(buf), 60)])
			r.Err = aerr
			return r
		}
		if err != nil {
			r.Err, r.Stalled = err, isTimeout(err)
			return r
		}
	}
	r.Err = errors.New("answer too long")
	return r
}

// dial opens a TCP connection bounded by ctx.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// isTimeout reports whether err is a deadline, not a refusal or a reset.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// lineOf returns the first CRLF-terminated line of b, without the CRLF.
func lineOf(b []byte) ([]byte, bool) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], true
		}
	}
	return nil, false
}

// printable keeps an answer readable in the evidence.
func printable(b []byte) string {
	out := make([]rune, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7f {
			out = append(out, rune(c))
		} else {
			out = append(out, '.')
		}
	}
	return string(out)
}

// round keeps durations short in the evidence: 0.4ms, 203.1ms, 1.2s.
func round(d time.Duration) time.Duration {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(10 * time.Millisecond)
	}
}
