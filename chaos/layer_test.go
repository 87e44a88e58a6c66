package chaos

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

func TestLinkCarriesTraffic(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	listen := mustLink(t, l, "redis", upstream)

	if r := probeOnce(RedisProbe, listen); !r.OK() || r.Answer != "+PONG" {
		t.Fatalf("PING through the link: %s, answer %q; want +PONG", r.Outcome(), r.Answer)
	}
	if got := l.Links(); !slices.Equal(got, []string{"redis"}) {
		t.Errorf("Links() = %v, want [redis]", got)
	}
	// The API is reachable by tools through APIURL. The proxy listens on its
	// own address behind the link's front, and answers there too.
	p, err := toxiclient.NewClient(l.APIURL()).Proxy("redis")
	if err != nil || p.Upstream != upstream || p.Listen == listen || !p.Enabled {
		t.Fatalf("API shows %+v, %v; want redis → %s, enabled, on an address other than the front's %s", p, err, upstream, listen)
	}
	if r := probeOnce(RedisProbe, p.Listen); !r.OK() {
		t.Fatalf("PING to the proxy: %s", r.Outcome())
	}
	// Only the exchange through the front is the platform's: PING\r\n up,
	// +PONG\r\n down. The one straight to the proxy is not counted.
	if up, down, err := l.Traffic("redis"); err != nil || up != 6 || down != 7 {
		t.Errorf("Traffic(redis) = %d, %d, %v; want 6 up, 7 down", up, down, err)
	}
	if _, _, err := l.Traffic("stream"); herr.CodeOf(err) != herr.EINPUT {
		t.Errorf("Traffic(stream) error %v, want code EINPUT", err)
	}
}

func TestLinkRefusesBadInput(t *testing.T) {
	l := newLayer(t)
	mustLink(t, l, "api", "127.0.0.1:1")
	tests := []struct {
		name, link, upstream string
		code                 herr.Code
	}{
		// The same name twice would make two proxies answer to one target.
		{"duplicate", "api", "127.0.0.1:2", herr.EINPUT},
		// Names go into API URL paths.
		{"slash in name", "re/dis", "127.0.0.1:6379", herr.EINPUT},
		// Upper case is refused so target names match the scenario's.
		{"upper case", "Redis", "127.0.0.1:6379", herr.EINPUT},
		// An empty name cannot be targeted.
		{"empty name", "", "127.0.0.1:6379", herr.EINPUT},
		// The upstream must say where to dial.
		{"upstream without port", "feed", "127.0.0.1", herr.EINPUT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Link(tt.link, tt.upstream)
			if herr.CodeOf(err) != tt.code {
				t.Fatalf("Link(%q, %q) = %v (code %s), want code %s", tt.link, tt.upstream, err, herr.CodeOf(err), tt.code)
			}
		})
	}
}

func TestCloseStopsLinks(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l, err := NewLayer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	listen := mustLink(t, l, "redis", upstream)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s after Close succeeded; the link should be gone", listen)
	}
	if _, err := l.Link("postgres", "127.0.0.1:5432"); err == nil {
		t.Fatal("Link after Close succeeded")
	}
}

func TestLatencyFaultRaisesRedisRTT(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	listen := mustLink(t, l, "redis", upstream)

	const latency = 300 * time.Millisecond
	// A long fault, ended by the run's context once the test has looked:
	// however slow the machine, the fault is still on while it looks.
	faults := []Fault{{Name: "redis-slow", Target: "redis", Kind: "latency", At: 0, For: time.Hour,
		Params: map[string]any{"latency": "300ms", "jitter": "10ms"}}}
	if errs := ValidateFaults(faults, Env{Layer: l}.Reach()); errs != nil {
		t.Fatalf("ValidateFaults: %v", errs)
	}
	ctx, endRun := context.WithCancel(context.Background())
	defer endRun()
	s := Env{Layer: l}.Schedule(ctx, faults, time.Now())

	eventually(t, "the latency toxic in the API", func() bool {
		p, err := l.Proxy("redis")
		return err == nil && len(p.ActiveToxics) == 1
	})
	// Our own probe, independent of the schedule's: a PING through the link
	// now waits for the toxic. Only a lower bound is asserted; it holds on
	// any machine, however loaded.
	if r := probeOnce(RedisProbe, listen); !r.OK() || r.RTT < latency/2 {
		t.Errorf("PING during the fault: %s; want an answer after at least %s", r.Outcome(), latency/2)
	}
	// Ending the run heals the fault; the schedule's own probe during the
	// fault still completes first (probes outlive the run's context).
	endRun()

	recs := s.Wait()
	if len(recs) != 1 {
		t.Fatalf("Wait returned %d records, want 1", len(recs))
	}
	rec := recs[0]
	t.Logf("evidence: %s", rec.Evidence)
	if !rec.Landed || !rec.Healed {
		t.Errorf("Landed=%v Healed=%v, want both: %s", rec.Landed, rec.Healed, rec.Evidence)
	}
	if rec.InjectedAt > rec.HealedAt || rec.HealedAt >= faults[0].For {
		t.Errorf("injected at %s, healed at %s; want a heal after the injection, when the run ended", rec.InjectedAt, rec.HealedAt)
	}
	for _, want := range []string{"link redis", "latency 300ms±10ms", "redis PING", "before", "during", "after", "50% of 300ms", "landed", "healed early"} {
		if !strings.Contains(rec.Evidence.String(), want) {
			t.Errorf("evidence lacks %q: %s", want, rec.Evidence)
		}
	}
	// Healed: the API shows no toxic, and PING answers again.
	p, err := l.Proxy("redis")
	if err != nil || len(p.ActiveToxics) != 0 {
		t.Errorf("after heal the API shows %v, %v; want no toxics", p, err)
	}
	if r := probeOnce(RedisProbe, listen); !r.OK() {
		t.Errorf("PING after heal: %s", r.Outcome())
	}
}

func TestDownFaultRefusesConnections(t *testing.T) {
	upstream := servicetest.PostgresAddr(t)
	l := newLayer(t)
	listen := mustLink(t, l, "postgres", upstream)

	// Long, and ended by the run's context once the test has looked.
	faults := []Fault{{Name: "pg-down", Target: "postgres", Kind: "down", For: time.Hour}}
	if errs := ValidateFaults(faults, Env{Layer: l}.Reach()); errs != nil {
		t.Fatalf("ValidateFaults: %v", errs)
	}
	ctx, endRun := context.WithCancel(context.Background())
	defer endRun()
	s := Env{Layer: l}.Schedule(ctx, faults, time.Now())
	eventually(t, "the proxy disabled", func() bool {
		p, err := l.Proxy("postgres")
		return err == nil && !p.Enabled
	})
	if conn, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
		conn.Close()
		t.Errorf("dial %s while down succeeded", listen)
	}
	endRun()

	rec := s.Wait()[0]
	t.Logf("evidence: %s", rec.Evidence)
	if !rec.Landed || !rec.Healed {
		t.Errorf("Landed=%v Healed=%v, want both: %s", rec.Landed, rec.Healed, rec.Evidence)
	}
	for _, want := range []string{"link postgres down", "enabled=false", "postgres SSLRequest", "failed after"} {
		if !strings.Contains(rec.Evidence.String(), want) {
			t.Errorf("evidence lacks %q: %s", want, rec.Evidence)
		}
	}
	// Healed on the same address: the SSLRequest is answered again.
	if r := probeOnce(PostgresProbe, listen); !r.OK() {
		t.Errorf("SSLRequest after heal: %s", r.Outcome())
	}
}

func TestToxicKindsLand(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	tests := []struct {
		name   string
		kind   string
		params map[string]any
		want   string // in the evidence
	}{
		// The answer comes, only slower; a one-line PING cannot feel it, so
		// the platform's traffic through the toxic proves it.
		{"bandwidth", "bandwidth", map[string]any{"rate": 1}, "the API read-back and the link's traffic decide; link carried"},
		// Delays only the close, after the exchange.
		{"slow_close", "slow_close", map[string]any{"delay": "100ms"}, "the API read-back and the link's traffic decide; link carried"},
		// Holds the answer: the PING stalls.
		{"timeout holds", "timeout", map[string]any{"timeout": "0s"}, "stalled"},
		// Closes after 50ms: the PING fails or stalls.
		{"timeout closes", "timeout", map[string]any{"timeout": "50ms"}, "during"},
		// Resets at the first data: the PING fails.
		{"reset_peer", "reset_peer", map[string]any{"timeout": "0ms"}, "failed"},
		// Cuts +PONG into pieces; the probe reassembles them.
		{"slicer", "slicer", map[string]any{"average_size": 2, "size_variation": 1, "delay": "10us"}, "slicer 2±1 bytes"},
		// Closes after 3 bytes of +PONG.
		{"limit_data", "limit_data", map[string]any{"bytes": 3}, "limit_data 3 bytes"},
		// Latency on the request side shows in the round trip too.
		{"latency upstream", "latency", map[string]any{"latency": "200ms", "stream": "upstream"}, "upstream"},
		// A toxicity below 1 is drawn per connection, so several probes run.
		{"latency half toxicity", "latency", map[string]any{"latency": "200ms", "toxicity": 0.5}, "toxicity 0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayer(t)
			pingThrough(t, mustLink(t, l, "redis", upstream))
			faults := []Fault{{Name: tt.name, Target: "redis", Kind: tt.kind, For: 300 * time.Millisecond, Params: tt.params}}
			if errs := ValidateFaults(faults, Env{Layer: l}.Reach()); errs != nil {
				t.Fatalf("ValidateFaults: %v", errs)
			}
			rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
			t.Logf("evidence: %s", rec.Evidence)
			if !rec.Injected || !rec.Healed || !strings.Contains(rec.Evidence.String(), tt.want) {
				t.Errorf("Injected=%v Healed=%v, evidence without %q: %s", rec.Injected, rec.Healed, tt.want, rec.Evidence)
			}
			// The pinger kept sending through the fault, whatever it did to
			// the answers.
			if rec.TrafficBytes <= 0 {
				t.Errorf("TrafficBytes %d, want the pinger's bytes: %s", rec.TrafficBytes, rec.Evidence)
			}
			// Half toxicity can miss all five probe connections (1 in 32):
			// then the record must say so rather than claim it landed.
			if !rec.Landed && !(tt.params["toxicity"] != nil && strings.Contains(rec.Evidence.String(), "NOT landed")) {
				t.Errorf("not landed: %s", rec.Evidence)
			}
			p, err := l.Proxy("redis")
			if err != nil || len(p.ActiveToxics) != 0 {
				t.Errorf("after heal the API shows %v, %v; want no toxics", p, err)
			}
		})
	}
}

func TestScheduleOrderOnRealClock(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	pingThrough(t, mustLink(t, l, "redis", upstream)) // bandwidth lands only on the platform's traffic
	faults := []Fault{
		{Name: "second", Target: "redis", Kind: "bandwidth", At: 300 * time.Millisecond, For: 200 * time.Millisecond, Params: map[string]any{"rate": 10}},
		{Name: "first", Target: "redis", Kind: "latency", At: 0, For: 200 * time.Millisecond, Params: map[string]any{"latency": "50ms"}},
	}
	// The replay's zero may lie ahead of the call.
	start := time.Now().Add(100 * time.Millisecond)
	recs := Env{Layer: l}.Schedule(context.Background(), faults, start).Wait()
	if len(recs) != 2 || recs[0].Name != "second" || recs[1].Name != "first" {
		t.Fatalf("records %+v, want one per fault in the plan's order", recs)
	}
	second, first := recs[0], recs[1]
	// Timers never fire early, so these lower bounds and the order hold on
	// any machine; no upper bound is asserted.
	if first.InjectedAt < 0 || first.HealedAt < 200*time.Millisecond {
		t.Errorf("first: injected %s, healed %s", first.InjectedAt, first.HealedAt)
	}
	if second.InjectedAt < 300*time.Millisecond || second.HealedAt < 500*time.Millisecond {
		t.Errorf("second: injected %s, healed %s", second.InjectedAt, second.HealedAt)
	}
	if !(first.InjectedAt < second.InjectedAt && first.HealedAt <= second.HealedAt) {
		t.Errorf("order: first %s–%s, second %s–%s", first.InjectedAt, first.HealedAt, second.InjectedAt, second.HealedAt)
	}
	for _, r := range recs {
		if !r.Landed || !r.Healed {
			t.Errorf("%s: Landed=%v Healed=%v: %s", r.Name, r.Landed, r.Healed, r.Evidence)
		}
	}
}

func TestCancelHealsEarly(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	l := newLayer(t)
	mustLink(t, l, "redis", upstream)
	faults := []Fault{
		{Name: "long", Target: "redis", Kind: "latency", For: time.Hour, Params: map[string]any{"latency": "100ms"}},
		{Name: "later", Target: "redis", Kind: "down", At: time.Hour, For: time.Second},
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := Env{Layer: l}.Schedule(ctx, faults, time.Now())
	eventually(t, "the latency toxic in the API", func() bool {
		p, err := l.Proxy("redis")
		return err == nil && len(p.ActiveToxics) == 1
	})
	cancel()
	recs := s.Wait()
	long, later := recs[0], recs[1]
	if !long.Healed || long.HealedAt >= time.Hour || !strings.Contains(long.Evidence.String(), "healed early") {
		t.Errorf("long: Healed=%v at %s: %s", long.Healed, long.HealedAt, long.Evidence)
	}
	if later.Healed || later.Landed || later.InjectedAt != 0 || !strings.Contains(later.Evidence.String(), "not injected") {
		t.Errorf("later: %+v", later)
	}
	p, err := l.Proxy("redis")
	if err != nil || len(p.ActiveToxics) != 0 || !p.Enabled {
		t.Errorf("after cancel the API shows %+v, %v; want enabled, no toxics", p, err)
	}
}

func TestScheduleRecordsUnlinkedTarget(t *testing.T) {
	l := newLayer(t)
	faults := []Fault{{Name: "x", Target: "stream", Kind: "down", For: time.Second}}
	rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
	if rec.Landed || rec.Healed || !strings.Contains(rec.Evidence.String(), "not injected") || !strings.Contains(rec.Evidence.String(), "no chaos link") {
		t.Errorf("record %+v; want not injected for want of a link", rec)
	}
}

// TestToxicsBothWays puts every toxic of toxiproxy v2.12.0 on a real link in
// each direction, with the platform's traffic going through it, and checks
// that each lands and heals with the direction read back from the API.
func TestToxicsBothWays(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	toxics := []struct {
		kind   string
		params map[string]any
	}{
		{"latency", map[string]any{"latency": "150ms"}},
		{"bandwidth", map[string]any{"rate": 1}},
		{"slow_close", map[string]any{"delay": "100ms"}},
		{"timeout", map[string]any{"timeout": "0s"}},
		{"reset_peer", map[string]any{"timeout": "0ms"}},
		{"slicer", map[string]any{"average_size": 2, "size_variation": 1, "delay": "10us"}},
		{"limit_data", map[string]any{"bytes": 3}},
	}
	for _, tx := range toxics {
		for _, stream := range []string{"upstream", "downstream"} {
			t.Run(tx.kind+"/"+stream, func(t *testing.T) {
				l := newLayer(t)
				pingThrough(t, mustLink(t, l, "redis", upstream))
				params := map[string]any{"stream": stream}
				for k, v := range tx.params {
					params[k] = v
				}
				faults := []Fault{{Name: "f", Target: "redis", Kind: tx.kind, For: 300 * time.Millisecond, Params: params}}
				env := Env{Layer: l}
				if errs := ValidateFaults(faults, env.Reach()); errs != nil {
					t.Fatalf("ValidateFaults: %v", errs)
				}
				rec := env.Schedule(context.Background(), faults, time.Now()).Wait()[0]
				ev := rec.Evidence.String()
				if !rec.Injected || !rec.Landed || !rec.Healed {
					t.Errorf("Injected=%v Landed=%v Healed=%v: %s", rec.Injected, rec.Landed, rec.Healed, ev)
				}
				if want := "(" + tx.kind + " " + stream + ","; !strings.Contains(rec.Evidence.ReadBack, want) {
					t.Errorf("read-back %q lacks %q", rec.Evidence.ReadBack, want)
				}
				if p, err := l.Proxy("redis"); err != nil || len(p.ActiveToxics) != 0 {
					t.Errorf("after heal the API shows %v, %v; want no toxics", p, err)
				}
			})
		}
	}
}

// TestToxicBareNumbers: toxiproxy's own bare numbers reach toxiproxy in its
// own units, as the API reads them back, and a duration with a unit means
// the same.
func TestToxicBareNumbers(t *testing.T) {
	upstream := servicetest.RedisAddr(t)
	tests := []struct {
		name   string
		kind   string
		params map[string]any
		want   string // in the API read-back
	}{
		// Milliseconds, as toxiproxy's latency takes them.
		{"latency ms", "latency", map[string]any{"latency": 200, "jitter": 10}, "jitter=10 latency=200"},
		{"latency with a unit", "latency", map[string]any{"latency": "0.2s", "jitter": "10ms"}, "jitter=10 latency=200"},
		{"timeout ms", "timeout", map[string]any{"timeout": 50}, "timeout=50"},
		{"reset_peer ms", "reset_peer", map[string]any{"timeout": 5}, "timeout=5"},
		{"slow_close ms", "slow_close", map[string]any{"delay": 100}, "delay=100"},
		// Microseconds, as toxiproxy's slicer takes them.
		{"slicer µs", "slicer", map[string]any{"average_size": 4, "delay": 25}, "average_size=4 delay=25"},
		{"slicer with a unit", "slicer", map[string]any{"average_size": 4, "delay": "25us"}, "average_size=4 delay=25"},
		// KB/s and bytes are toxiproxy's numbers as they were.
		{"bandwidth KB/s", "bandwidth", map[string]any{"rate": 64}, "rate=64"},
		{"limit_data bytes", "limit_data", map[string]any{"bytes": 1024}, "bytes=1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayer(t)
			pingThrough(t, mustLink(t, l, "redis", upstream))
			faults := []Fault{{Name: "n", Target: "redis", Kind: tt.kind, For: 200 * time.Millisecond, Params: tt.params}}
			env := Env{Layer: l}
			if errs := ValidateFaults(faults, env.Reach()); errs != nil {
				t.Fatalf("ValidateFaults: %v", errs)
			}
			rec := env.Schedule(context.Background(), faults, time.Now()).Wait()[0]
			if !rec.Injected || !rec.Healed || !strings.Contains(rec.Evidence.ReadBack, tt.want) {
				t.Errorf("Injected=%v Healed=%v, read-back lacks %q: %s", rec.Injected, rec.Healed, tt.want, rec.Evidence)
			}
		})
	}
}
