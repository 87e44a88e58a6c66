package chaos

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

func TestPooledClientTrafficCountedDuringLatency(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	listen := mustLink(t, l, "redis", upstream)

	// The platform's side: a pooled go-redis client that keeps one
	// connection for the whole test. Toxiproxy's own byte counters would see
	// nothing of it until that connection closed.
	client := redis.NewClient(&redis.Options{Addr: listen, PoolSize: 1, MaxRetries: -1,
		DialTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	t.Cleanup(func() { client.Close() })
	ctx, stopClient := context.WithCancel(context.Background())
	pinged := make(chan int)
	go func() {
		n := 0
		for i := 0; i < 10000 && ctx.Err() == nil; i++ {
			if client.Ping(ctx).Err() == nil {
				n++
			}
		}
		pinged <- n
	}()

	faults := []Fault{{Name: "redis-slow", Target: "redis", Kind: "latency", For: time.Second,
		Params: map[string]any{"latency": "100ms"}}}
	rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
	stopClient()
	n := <-pinged
	t.Logf("evidence: %s", rec.Evidence)

	if !rec.Injected || !rec.Landed || !rec.Healed {
		t.Errorf("Injected=%v Landed=%v Healed=%v, want all: %s", rec.Injected, rec.Landed, rec.Healed, rec.Evidence)
	}
	// Each PING is 14 bytes up and 7 down; at least a few crossed the fault.
	if rec.TrafficBytes < 21 || !strings.Contains(rec.Evidence.String(), "B downstream of the platform's own traffic during the fault") {
		t.Errorf("TrafficBytes %d after %d PINGs; want the client's bytes in the record: %s", rec.TrafficBytes, n, rec.Evidence)
	}
	if s := client.PoolStats(); s.Misses != 1 {
		t.Errorf("the client dialled %d connections, want 1: the bytes must come from a pooled connection", s.Misses)
	}
}

func TestTrafficThroughLink(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	tests := []struct {
		name    string
		kind    string
		params  map[string]any
		traffic bool // whether the platform sends through the link
		landed  bool
		want    string
	}{
		// Bandwidth is invisible to a PING; the platform's bytes through the
		// capped link prove it was crossed.
		{"bandwidth crossed", "bandwidth", map[string]any{"rate": 1}, true, true, "B downstream of the platform's own traffic during the fault; landed"},
		// In place, but nothing of the platform's went through it.
		{"bandwidth idle", "bandwidth", map[string]any{"rate": 1}, false, false, "link carried none of the platform's own traffic during the fault; nothing shows the fault was crossed; NOT landed"},
		// The probes cross the link too, and are not counted: an idle link
		// shows no traffic, while the probe still proves the latency.
		{"latency idle", "latency", map[string]any{"latency": "100ms"}, false, true, "link carried none of the platform's own traffic during the fault; landed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayer(t)
			listen := mustLink(t, l, "redis", upstream)
			if tt.traffic {
				pingThrough(t, listen)
			}
			faults := []Fault{{Name: "f", Target: "redis", Kind: tt.kind, For: 300 * time.Millisecond, Params: tt.params}}
			rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
			t.Logf("evidence: %s", rec.Evidence)
			if rec.Landed != tt.landed || !rec.Injected || !rec.Healed || (rec.TrafficBytes > 0) != tt.traffic {
				t.Errorf("Landed=%v Injected=%v Healed=%v TrafficBytes=%d; want Landed=%v, traffic %v",
					rec.Landed, rec.Injected, rec.Healed, rec.TrafficBytes, tt.landed, tt.traffic)
			}
			if !strings.Contains(rec.Evidence.String(), tt.want) {
				t.Errorf("evidence lacks %q: %s", tt.want, rec.Evidence)
			}
		})
	}
}

func TestInjectionFailureIsNotInjected(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	mustLink(t, l, "redis", upstream)
	// Someone deletes the proxy behind the layer's back: the injection
	// reaches toxiproxy and is refused.
	api := toxiclient.NewClient(l.APIURL())
	p, err := l.Proxy("redis")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Put it back, so that Close finds what it made.
		if _, err := api.CreateProxy("redis", "127.0.0.1:0", upstream); err != nil {
			t.Errorf("recreate the proxy: %v", err)
		}
	})

	faults := []Fault{{Name: "orphan", Target: "redis", Kind: "latency", For: time.Second, Params: map[string]any{"latency": "100ms"}}}
	rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
	t.Logf("evidence: %s", rec.Evidence)
	if rec.Injected || rec.InjectedAt != 0 || rec.Landed || rec.Healed || rec.TrafficBytes != 0 {
		t.Errorf("record %+v; want not injected, not landed, not healed, no traffic", rec)
	}
	if !strings.Contains(rec.Evidence.String(), "failed") || !strings.Contains(rec.Evidence.String(), "NOT landed") {
		t.Errorf("evidence does not say the injection failed: %s", rec.Evidence)
	}
}

func TestFrontRelaysFaithfully(t *testing.T) {
	echo := serveTCP(t, func(c net.Conn) { io.Copy(c, c) })
	l := newLayer(t)
	listen := mustLink(t, l, "echo", echo)

	t.Run("counts exactly and passes a half-close on", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", listen, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		msg := bytes.Repeat([]byte("inplay!"), 1000)
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo through the link: %v", err)
		}
		// Our half-close reaches the echo server, which ends, and its end
		// comes back as an end of stream.
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if n, err := conn.Read(got); n != 0 || err != io.EOF {
			t.Errorf("after the half-close read %d bytes, %v; want 0, EOF", n, err)
		}
		if up, down, err := l.Traffic("echo"); err != nil || up != int64(len(msg)) || down != int64(len(msg)) {
			t.Errorf("Traffic = %d up, %d down, %v; want %d each way", up, down, err, len(msg))
		}
	})

	t.Run("passes a reset on", func(t *testing.T) {
		p, err := l.Proxy("echo")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.AddToxic("rst", "reset_peer", "upstream", 1, toxiclient.Attributes{"timeout": 0}); err != nil {
			t.Fatal(err)
		}
		defer p.RemoveToxic("rst")
		conn, err := net.DialTimeout("tcp", listen, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte("hello"))
		_, err = conn.Read(make([]byte, 8))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("read through a reset link: %v; want connection reset", err)
		}
	})
}
