package replay_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"
)

// The highest-rate search: each tool sends at a constant rate for
// maxRateStep, and a rate holds for inplay when its schedule lag p99 is at
// or under maxRateLag with nothing dropped and every request answered 201,
// and for vegeta when its achieved rate is within 1% of the requested one
// with every request answered 201. Rates rise by a quarter from
// maxRateFirst; a rate that fails is tried once more (the machine is
// shared, and one stall must not end the search), and a tool's search ends
// at its second failure in a row.
const (
	maxRateFirst = 1000
	maxRateLast  = 200_000
	maxRateStep  = 2 * time.Second
	maxRateLag   = time.Millisecond
)

// newTrivialServer answers POST /v1/bets with 201 and a small body at once:
// the cheapest server there is, so that what limits the rate is the client.
func newTrivialServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf [512]byte
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkMaxRate searches, in the same run and against the same trivial
// loopback server, for the highest constant rate each tool sustains:
// inplay (its engine and HTTPTarget, as `inplay run` sends) with schedule
// lag p99 at or under 1 ms and no drop, vegeta's library with its achieved
// rate within 1% of the requested one. At each rate the tools alternate
// which goes first. It reports both rates and the ratio inplay/vegeta; each
// step is logged. Run it with -benchtime 1x.
func BenchmarkMaxRate(b *testing.B) {
	srv := newTrivialServer(b)
	for range b.N {
		var (
			inBest, veBest int
			inLag          time.Duration
			inOn, veOn     = true, true // the tool's search goes on
			step           int
		)
		for rate := maxRateFirst; rate <= maxRateLast && (inOn || veOn); rate = rate * 5 / 4 {
			c := constantBets(rate, rate*int(maxRateStep/time.Second))
			inHeld, veHeld := false, false
			var lag time.Duration
			for attempt := 0; attempt < 2 && ((inOn && !inHeld) || (veOn && !veHeld)); attempt++ {
				step++
				tools := []func(){}
				if inOn && !inHeld {
					tools = append(tools, func() {
						runtime.GC()
						srv.CloseClientConnections()
						in := runInplay(b, srv.URL, c)
						lag = time.Duration(in.lag.ValueAtQuantile(99)) * time.Microsecond
						inHeld = lag <= maxRateLag && in.dropped == 0 && in.failed == 0
						b.Logf("%d/s, try %d: inplay %.0f/s, lag p99 %v, dropped %d, failed %d, held %v",
							rate, attempt+1, in.rate, lag, in.dropped, in.failed, inHeld)
					})
				}
				if veOn && !veHeld {
					tools = append(tools, func() {
						runtime.GC()
						srv.CloseClientConnections()
						ve := runVegeta(b, srv.URL, c, rate)
						veHeld = ve.rate >= 0.99*float64(rate) && ve.rate <= 1.01*float64(rate) && ve.failed == 0
						b.Logf("%d/s, try %d: vegeta %.1f/s, failed %d, held %v", rate, attempt+1, ve.rate, ve.failed, veHeld)
					})
				}
				if step%2 == 0 {
					slices.Reverse(tools) // the tools alternate which goes first
				}
				for _, run := range tools {
					run()
				}
			}
			if inOn {
				if inOn = inHeld; inHeld {
					inBest, inLag = rate, lag
				}
			}
			if veOn {
				if veOn = veHeld; veHeld {
					veBest = rate
				}
			}
		}
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(float64(inBest), "inplay-max-req/s")
		b.ReportMetric(float64(inLag.Microseconds())/1000, "inplay-lag-p99-ms")
		b.ReportMetric(float64(veBest), "vegeta-max-req/s")
		ratio := 0.0
		if veBest > 0 {
			ratio = float64(inBest) / float64(veBest)
		}
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "gomaxprocs")
		if inBest == 0 || veBest == 0 {
			b.Log(fmt.Sprintf("a tool held no rate from %d/s: inplay %d, vegeta %d", maxRateFirst, inBest, veBest))
		}
	}
}
