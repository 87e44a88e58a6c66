package chaos

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// getThrough plays the harness (api, stream) or the platform (feed) on an
// HTTP hop: it sends GET path through addr every 5 ms on pooled keep-alive
// connections, with a short timeout so a held answer does not stop it,
// until the test ends.
func getThrough(tb testing.TB, addr, path string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	client := &http.Client{Timeout: 200 * time.Millisecond}
	go func() {
		defer close(done)
		defer client.CloseIdleConnections()
		for range 20000 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
			if resp, err := client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
}

// TestToxicKindsLandOnHTTPHops checks that every fault kind lands on the
// three HTTP hops (api, feed, stream) with the same proof as on the stores:
// the API read-back, the hop's protocol probe, and the run's own traffic.
func TestToxicKindsLandOnHTTPHops(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"ok","seq":1,"markets":[]}`)
	}))
	t.Cleanup(upstream.Close)
	hostPort := strings.TrimPrefix(upstream.URL, "http://")
	kinds := []struct {
		kind   string
		params map[string]any
	}{
		{"latency", map[string]any{"latency": "150ms"}},
		{"down", nil},
		{"timeout", map[string]any{"timeout": "0s"}},
		{"reset_peer", map[string]any{"timeout": "0ms"}},
		{"bandwidth", map[string]any{"rate": 1}},
		{"slicer", map[string]any{"average_size": 8, "size_variation": 4, "delay": "10us"}},
		{"limit_data", map[string]any{"bytes": 5}},
		{"slow_close", map[string]any{"delay": "100ms"}},
	}
	for _, hop := range []struct{ target, path string }{
		{"api", "/healthz"}, {"feed", "/feed/v1/snapshot"}, {"stream", "/healthz"},
	} {
		for _, k := range kinds {
			t.Run(hop.target+"/"+k.kind, func(t *testing.T) {
				l := newLayer(t)
				getThrough(t, mustLink(t, l, hop.target, hostPort), hop.path)
				faults := []Fault{{Name: k.kind, Target: hop.target, Kind: k.kind, For: 300 * time.Millisecond, Params: k.params}}
				if errs := ValidateFaults(faults, Env{Layer: l}.Reach()); errs != nil {
					t.Fatalf("ValidateFaults: %v", errs)
				}
				rec := Env{Layer: l}.Schedule(context.Background(), faults, time.Now()).Wait()[0]
				if !rec.Injected || !rec.Healed || !rec.Landed {
					t.Errorf("injected %v healed %v landed %v: %s", rec.Injected, rec.Healed, rec.Landed, rec.Evidence)
				}
				if !strings.Contains(rec.Evidence.String(), "http GET "+hop.path) && k.kind != "down" {
					t.Errorf("evidence does not show the hop's HTTP probe: %s", rec.Evidence)
				}
			})
		}
	}
}
