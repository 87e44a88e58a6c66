package chaos

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

// serveTCP runs handle for each connection on a 127.0.0.1:0 listener until
// the test ends.
func serveTCP(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				handle(conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedAddr returns an address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestProbes(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable) // an unhealthy service still answers
	}))
	t.Cleanup(web.Close)
	silent := serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) }) // reads until the client gives up
	garbage := serveTCP(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write([]byte("hello\r\n")) })
	noauth := serveTCP(t, func(c net.Conn) { c.Read(make([]byte, 64)); c.Write([]byte("-NOAUTH Authentication required.\r\n")) })
	hangup := serveTCP(t, func(c net.Conn) { c.Read(make([]byte, 64)) })

	tests := []struct {
		name    string
		probe   func(context.Context, string) ProbeResult
		addr    func(t *testing.T) string
		ok      bool
		stalled bool
		answer  string // prefix of Answer, or of the error when !ok
	}{
		// The real services answer.
		{"redis PONG", RedisProbe, func(t *testing.T) string { return servicetest.RedisAddr(t) }, true, false, "+PONG"},
		{"postgres SSLRequest", PostgresProbe, func(t *testing.T) string { return servicetest.PostgresAddr(t) }, true, false, ""},
		// Any status line proves the hop, even 503.
		{"http 503", HTTPProber{Path: "/healthz"}.Probe, func(*testing.T) string { return strings.TrimPrefix(web.URL, "http://") }, true, false, "HTTP/1.1 503"},
		// A password-protected Redis still answers the round trip.
		{"redis NOAUTH", RedisProbe, func(*testing.T) string { return noauth }, true, false, "-NOAUTH"},
		{"connect", ConnectProbe, func(*testing.T) string { return garbage }, true, false, ""},
		// Nothing listens: refused at once, not a stall.
		{"refused", RedisProbe, closedAddr, false, false, "dial tcp"},
		{"connect refused", ConnectProbe, closedAddr, false, false, "dial tcp"},
		// Accepts and never answers: a stall at the deadline.
		{"silent", RedisProbe, func(*testing.T) string { return silent }, false, true, ""},
		// Answers something else: a protocol error.
		{"wrong protocol", RedisProbe, func(*testing.T) string { return garbage }, false, false, `unexpected answer "hello"`},
		{"wrong postgres byte", PostgresProbe, func(*testing.T) string { return garbage }, false, false, `unexpected answer byte 'h'`},
		{"wrong http", HTTPProber{Path: "/"}.Probe, func(*testing.T) string { return garbage }, false, false, `unexpected status line`},
		// Hangs up without a word.
		{"hang-up", PostgresProbe, func(*testing.T) string { return hangup }, false, false, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr(t)
			// Long enough for a loaded machine; only "silent" waits it out.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			r := tt.probe(ctx, addr)
			if r.OK() != tt.ok || r.Stalled != tt.stalled {
				t.Fatalf("%s: OK=%v Stalled=%v (%s); want OK=%v Stalled=%v", r.Probe, r.OK(), r.Stalled, r.Outcome(), tt.ok, tt.stalled)
			}
			text := r.Answer
			if !tt.ok && r.Err != nil {
				text = r.Err.Error()
			}
			if !strings.Contains(text, tt.answer) {
				t.Errorf("%s: %q does not contain %q", r.Probe, text, tt.answer)
			}
		})
	}
}

func TestProberForUnknownTargetConnectsOnly(t *testing.T) {
	addr := serveTCP(t, func(net.Conn) {})
	r := probeOnce(proberFor("elsewhere").Probe, addr)
	if !r.OK() || r.RoundTrip || !strings.Contains(r.Probe, "no protocol probe for target elsewhere") {
		t.Errorf("probe %+v; want a connect-only probe that says so", r)
	}
}
