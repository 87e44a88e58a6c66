package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/synth"
)

// The open-loop comparison sends at each rate of openLoopRates for
// openLoopRun with each tool, openLoopRounds times, against the same
// loopback server. A shared machine stalls now and then, and a stall lands
// on whichever tool is running, so the tools alternate which goes first and
// the figures reported are medians over the rounds.
var openLoopRates = []int{500, 2000}

const (
	openLoopRounds  = 5
	openLoopRun     = 2 * time.Second              // sending time of one tool in one round
	openLoopBound   = openLoopRun + 15*time.Second // hard stop of one run, answers included
	openLoopWorkers = 256                          // requests in flight at most, for both tools
	serviceTime     = 2 * time.Millisecond         // the server's work per bet
	requestTimeout  = replay.DefaultRequestTimeout
)

// betServer is a real HTTP server on 127.0.0.1:0 that answers POST /v1/bets
// with 201 and a small JSON body after serviceTime, like a platform whose
// bet path costs a fixed 2 ms. It counts what it answered, so each tool's
// own count can be checked against it.
type betServer struct {
	*httptest.Server
	answered atomic.Int64
}

func newBetServer(tb testing.TB) *betServer {
	tb.Helper()
	s := &betServer{}
	// httptest listens on 127.0.0.1:0: the traffic never leaves loopback.
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/bets" {
			http.Error(w, `{"code":"ENOTFOUND","message":"no such route"}`, http.StatusNotFound)
			return
		}
		var bet struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(r.Body).Decode(&bet); err != nil {
			http.Error(w, `{"code":"EINVALID","message":"bad JSON"}`, http.StatusBadRequest)
			return
		}
		time.Sleep(serviceTime)
		s.answered.Add(1) // before the answer, so a client that has it sees the count
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":%q,"status":"accepted"}`, bet.ID)
	}))
	tb.Cleanup(s.Close)
	return s
}

// constantBets is a capture of n bets, one every second/rate, as a recorded
// peak at a constant rate would be.
func constantBets(rate, n int) *replay.Capture {
	gap := int64(time.Second/time.Microsecond) / int64(rate)
	c := &replay.Capture{Header: replay.Header{
		Capture: replay.CaptureVersion, Name: fmt.Sprintf("constant-%d", rate),
		Source: "bench", Currency: "EUR", DurationUS: int64(n) * gap,
	}}
	for i := range n {
		c.Events = append(c.Events, replay.Event{
			T: int64(i) * gap, Kind: replay.KindBet, Account: fmt.Sprintf("a%d", i%500+1),
			ID: fmt.Sprintf("b-%d", i), Market: "m1", Selection: "home", Odds: "2.5", Stake: 100,
		})
	}
	return c
}

// toolRun is what one tool measured in one run. Latencies are in µs.
type toolRun struct {
	rate     float64                 // requests sent / (last send - first send)
	latency  *hdrhistogram.Histogram // as the tool itself measures latency
	fromSent *hdrhistogram.Histogram // from the actual send to the answer
	lag      *hdrhistogram.Histogram // from the intended to the actual send
	sent     int64
	dropped  int64
	failed   int64 // sent, but not answered 201
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, replay.HistogramMaxUS, 3) }

func recordUS(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(d.Microseconds(), 0), replay.HistogramMaxUS))
}

// runInplay replays c once through inplay's engine and HTTPTarget, as
// `inplay run` would, at speed 1.
func runInplay(b *testing.B, url string, c *replay.Capture) toolRun {
	b.Helper()
	plan, err := replay.NewPlan(c, replay.PlanOptions{Speed: 1, Headroom: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), openLoopBound)
	defer cancel()
	eng := replay.NewEngine(replay.NewHTTPTarget(url, replay.RequestTimeout(requestTimeout)), nil,
		replay.Workers(openLoopWorkers), replay.DrainTimeout(5*time.Second), replay.KeepJournal())
	res, err := eng.Run(ctx, plan.Stream(), time.Now())
	if err != nil {
		b.Fatal(err)
	}
	r := toolRun{latency: res.Latency[replay.KindBet], lag: res.ScheduleLag, fromSent: newHist(),
		sent: res.Sent, dropped: res.Dropped}
	first, last := int64(-1), int64(0)
	for _, e := range res.Journal {
		if e.Outcome == replay.OutcomeDropped {
			continue
		}
		if first < 0 || e.SentUS < first {
			first = e.SentUS
		}
		last = max(last, e.SentUS)
		_ = r.fromSent.RecordValue(max(e.DoneUS-e.SentUS, 0))
		if e.HTTPStatus != http.StatusCreated {
			r.failed++
		}
	}
	if span := time.Duration(last-first) * time.Microsecond; span > 0 {
		r.rate = float64(r.sent) / span.Seconds()
	}
	return r
}

// runVegeta sends the same bets with vegeta's Attacker and ConstantPacer at
// the same rate for as long. Vegeta's latency starts when a worker begins
// the request (Result.Timestamp), not at the time the pacer meant it to be
// sent, so a late send costs it nothing: its latency is the "from sent"
// kind. Vegeta does not measure schedule lag; this estimates it from the
// pacer's arithmetic (hit k is due at began + (k+1)/rate). Its latencies go
// into the same kind of HDR histogram as inplay's, not vegeta's t-digest, so
// the quantile estimator plays no part in the ratios; the rate is vegeta's.
func runVegeta(b *testing.B, url string, c *replay.Capture, rate int) toolRun {
	b.Helper()
	// The same bodies, marshalled per request as inplay's HTTPTarget does.
	type betBody struct {
		ID        string `json:"id"`
		Account   string `json:"account"`
		Market    string `json:"market"`
		Selection string `json:"selection"`
		Odds      string `json:"odds"`
		Stake     int64  `json:"stake"`
	}
	var next atomic.Int64
	hdr := http.Header{"Content-Type": []string{"application/json"}}
	targeter := vegeta.Targeter(func(t *vegeta.Target) error {
		ev := c.Events[int(next.Add(1)-1)%len(c.Events)]
		body, err := json.Marshal(betBody{ev.ID, ev.Account, ev.Market, ev.Selection, ev.Odds, ev.Stake})
		if err != nil {
			return err
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: url + "/v1/bets", Body: body, Header: hdr}
		return nil
	})
	atk := vegeta.NewAttacker(
		vegeta.MaxWorkers(openLoopWorkers),
		vegeta.Connections(1024), // inplay's MaxIdleConnsPerHost
		vegeta.Timeout(requestTimeout),
		vegeta.Redirects(vegeta.NoFollow),
	)
	stop := time.AfterFunc(openLoopBound, func() { atk.Stop() })
	defer stop.Stop()

	pacer := vegeta.ConstantPacer{Freq: rate, Per: time.Second}
	interval := time.Second / time.Duration(rate)
	r := toolRun{latency: newHist(), lag: newHist()}
	var m vegeta.Metrics
	began := time.Now() // Attack takes its own start a few µs later
	for res := range atk.Attack(targeter, pacer, openLoopRun, "bench") {
		m.Add(res)
		recordUS(r.latency, res.Latency)
		recordUS(r.lag, res.Timestamp.Sub(began.Add(time.Duration(res.Seq+1)*interval)))
		if res.Code != http.StatusCreated {
			r.failed++
		}
	}
	m.Close()
	r.fromSent, r.rate, r.sent = r.latency, m.Rate, int64(m.Requests)
	return r
}

func ms(h *hdrhistogram.Histogram, q float64) float64 {
	return float64(h.ValueAtQuantile(q)) / 1000
}

// median is the middle value of xs (the mean of the middle two when even).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// BenchmarkOpenLoop sends bets at a constant rate with inplay's open-loop
// engine and with vegeta, in turn, against the same loopback server, and
// reports each tool's figures and the inplay/vegeta ratios: medians over
// openLoopRounds rounds, each ratio taken within a round. Run it with
// -benchtime 1x: one iteration is 2 × openLoopRounds × openLoopRun of
// sending per rate. Each round is logged.
//
// The latencies are not measured from the same point. inplay's latency runs
// from the intended send time (so a late send is charged, as the user would
// have waited through it); vegeta's runs from when a worker actually starts
// the request (coordinated omission: a pacer that fell behind looks fast).
// inplay-sent-p99-ms is inplay measured vegeta's way, and ratio-p99-sent
// compares on that common basis; ratio-p99 compares the tools as each
// reports. Both tools are capped at openLoopWorkers in flight: past it,
// inplay drops and counts the event, while vegeta's pacer waits and then
// sends in a burst to catch up.
func BenchmarkOpenLoop(b *testing.B) {
	srv := newBetServer(b)
	// run is one tool's run, checked against what the server answered.
	run := func(b *testing.B, name string, send func() toolRun) toolRun {
		b.Helper()
		// Each run starts with a collected heap and no connections left
		// over from the other tool.
		runtime.GC()
		srv.CloseClientConnections()
		before := srv.answered.Load()
		r := send()
		if got, want := srv.answered.Load()-before, r.sent-r.failed; got != want {
			b.Errorf("%s: the server answered %d bets, %s counted %d", name, got, name, want)
		}
		return r
	}
	for _, rate := range openLoopRates {
		b.Run(fmt.Sprintf("rps=%d", rate), func(b *testing.B) {
			c := constantBets(rate, rate*int(openLoopRun/time.Second))
			m := map[string][]float64{}
			add := func(unit string, v float64) { m[unit] = append(m[unit], v) }
			var drops, inErrs, veErrs int64
			for i := range b.N * openLoopRounds {
				inplay := func() toolRun { return runInplay(b, srv.URL, c) }
				veg := func() toolRun { return runVegeta(b, srv.URL, c, rate) }
				var in, ve toolRun
				if i%2 == 0 {
					in = run(b, "inplay", inplay)
					ve = run(b, "vegeta", veg)
				} else {
					ve = run(b, "vegeta", veg)
					in = run(b, "inplay", inplay)
				}
				drops, inErrs, veErrs = drops+in.dropped, inErrs+in.failed, veErrs+ve.failed
				add("inplay-req/s", in.rate)
				add("vegeta-req/s", ve.rate)
				add("inplay-p50-ms", ms(in.latency, 50))
				add("inplay-p99-ms", ms(in.latency, 99))
				add("inplay-sent-p99-ms", ms(in.fromSent, 99))
				add("vegeta-p50-ms", ms(ve.latency, 50))
				add("vegeta-p99-ms", ms(ve.latency, 99))
				add("inplay-lag-p99-ms", ms(in.lag, 99))
				add("vegeta-lag-p99-ms", ms(ve.lag, 99))
				add("ratio-req/s", in.rate/ve.rate)
				add("ratio-p99", ms(in.latency, 99)/ms(ve.latency, 99))
				add("ratio-p99-sent", ms(in.fromSent, 99)/ms(ve.latency, 99))
				first := "inplay"
				if i%2 == 1 {
					first = "vegeta"
				}
				b.Logf("round %d (%s first): req/s %.1f/%.1f, p99 ms %.2f (sent %.2f)/%.2f, lag p99 ms %.2f/%.2f, drops %d",
					i+1, first, in.rate, ve.rate, ms(in.latency, 99), ms(in.fromSent, 99), ms(ve.latency, 99),
					ms(in.lag, 99), ms(ve.lag, 99), in.dropped)
			}
			b.ReportMetric(0, "ns/op") // the wall time of fixed-length runs says nothing
			for unit, vs := range m {
				b.ReportMetric(median(vs), unit)
			}
			b.ReportMetric(slices.Min(m["ratio-p99"]), "ratio-p99-min")
			b.ReportMetric(slices.Max(m["ratio-p99"]), "ratio-p99-max")
			b.ReportMetric(float64(drops), "inplay-drops")
			b.ReportMetric(float64(inErrs), "inplay-errors")
			b.ReportMetric(float64(veErrs), "vegeta-errors")
		})
	}
}

// BenchmarkReadCapture decodes a generated capture (three matches, 500
// bettors, ten minutes) from memory with the strict reader.
func BenchmarkReadCapture(b *testing.B) {
	c, err := synth.Football(synth.FootballOptions{Seed: 7, Matches: 3, Bettors: 500, Duration: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := replay.WriteCapture(&buf, c); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var events int
	for b.Loop() {
		got, err := replay.ReadCapture(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		events += len(got.Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(len(c.Events)), "events")
}
