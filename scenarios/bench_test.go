package scenarios

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/internal/servicetest"
	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/replay"
)

// The platform benchmark: bets offered at a constant rate, stepped up, each
// step a whole run (inplay platform as its own process, through the links,
// with reconciliation), and pgbench -N on the same machine for scale.
// make bench runs it; INPLAY_BENCH_RATES and INPLAY_BENCH_SECONDS shorten
// it by hand.

// Bench shape: enough accounts and markets that no row is hot.
const (
	benchAccounts = 2000
	benchMarkets  = 50
	benchStake    = 100
	// benchWarmup is the deposits' stretch, before the first bet: 2000
	// deposits spread over it, so a step measures bets, not a deposit
	// backlog.
	benchWarmup = 6 * time.Second
)

func benchRates(b *testing.B) []int {
	return benchRatesFrom(b, "INPLAY_BENCH_RATES", "1000,2000,3000,4000,5000,6000")
}

// benchRatesFrom reads a comma-separated list of rates from env, or def.
func benchRatesFrom(b *testing.B, env, def string) []int {
	raw := os.Getenv(env)
	if raw == "" {
		raw = def
	}
	var rates []int
	for _, f := range strings.Split(raw, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r <= 0 {
			b.Fatalf("%s: %q is not a positive rate", env, f)
		}
		rates = append(rates, r)
	}
	return rates
}

func benchSeconds(b *testing.B) int {
	raw := os.Getenv("INPLAY_BENCH_SECONDS")
	if raw == "" {
		return 60
	}
	s, err := strconv.Atoi(raw)
	if err != nil || s <= 0 {
		b.Fatalf("INPLAY_BENCH_SECONDS: %q is not a positive number", raw)
	}
	return s
}

// benchCapture is a capture of deposits and odds, then bets at rate per
// second for d, each at the quoted price on an open market, so every bet
// that the platform can take in time is accepted.
func benchCapture(rate int, d time.Duration) *replay.Capture {
	c := &replay.Capture{Header: replay.Header{Capture: replay.CaptureVersion, Name: "platform-bench", Source: "bench", Currency: "GBP"}}
	for m := range benchMarkets {
		c.Events = append(c.Events, replay.Event{T: 0, Kind: replay.KindOdds, Market: fmt.Sprintf("m%d", m),
			Prices: map[string]string{"home": "2", "away": "1.9"}})
	}
	for a := range benchAccounts {
		c.Events = append(c.Events, replay.Event{T: int64(a) * (benchWarmup - time.Second).Microseconds() / benchAccounts,
			Kind: replay.KindDeposit, Account: fmt.Sprintf("a%d", a), ID: fmt.Sprintf("d%d", a), Amount: 1 << 40})
	}
	start := benchWarmup.Microseconds()
	n := int(int64(rate) * int64(d/time.Second))
	for i := range n {
		c.Events = append(c.Events, replay.Event{T: start + int64(i)*1_000_000/int64(rate), Kind: replay.KindBet,
			ID: fmt.Sprintf("b%d", i), Account: fmt.Sprintf("a%d", i%benchAccounts), Market: fmt.Sprintf("m%d", i%benchMarkets),
			Selection: "home", Odds: "2", Stake: benchStake})
	}
	c.Header.DurationUS = start + d.Microseconds()
	return c
}

// BenchmarkPlatform steps the offered rate twice: with links=off the harness
// reaches the platform and the platform its stores directly, which measures
// the platform's own capacity (the bar); with links=on every hop goes
// through its toxiproxy link, as in a run with faults, whose relaying in the
// harness's process shares the same two cores. INPLAY_BENCH_LINKED_RATES
// sets the linked steps (default 1000,2000,3000).
func BenchmarkPlatform(b *testing.B) {
	so := resolveStack(b)
	secs := benchSeconds(b)
	linked := benchRatesFrom(b, "INPLAY_BENCH_LINKED_RATES", "1000,2000,3000")
	for _, mode := range []struct {
		name     string
		unlinked bool
		rates    []int
	}{{"links=off", true, benchRates(b)}, {"links=on", false, linked}} {
		for _, rate := range mode.rates {
			b.Run(fmt.Sprintf("%s/bets=%d", mode.name, rate), func(b *testing.B) {
				for range b.N {
					benchStep(b, so, rate, time.Duration(secs)*time.Second, mode.unlinked)
				}
			})
		}
	}
}

func benchStep(b *testing.B, so stack.Options, rate int, d time.Duration, unlinked bool) {
	dir := b.TempDir()
	capPath := filepath.Join(dir, "capture.jsonl")
	f, err := os.Create(capPath)
	if err != nil {
		b.Fatal(err)
	}
	if err := replay.WriteCapture(f, benchCapture(rate, d)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	yaml := fmt.Sprintf(`
name: bench-%d
seed: 1
load:
  capture: %s
  speed: 1
  workers: 2048
  max_schedule_lag: 100ms
slos:
  - {metric: bet_acceptance, p99: 50ms}
reconcile: strict
drain: 30s
`, rate, capPath)
	sc, err := Parse("bench.yaml", []byte(yaml))
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	b.ResetTimer()
	opts := Options{OutDir: out, Stack: so, PlatformBinary: platformBinary, Unlinked: unlinked}
	if addr := os.Getenv("INPLAY_BENCH_PPROF"); addr != "" {
		// Profile the platform by hand while a step runs:
		// go tool pprof http://ADDR/debug/pprof/profile?seconds=20
		opts.PlatformArgs = []string{"--debug-addr", addr}
	}
	res, err := Run(ctx, sc, opts)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	rep := res.Report
	violations := 0
	for _, inv := range rep.Invariants {
		violations += inv.Violations
	}
	hist, accepted, first, last := betLatencies(b, filepath.Join(out, "journal.jsonl"))
	span := float64(last-first) / 1e6
	b.ReportMetric(float64(rate), "offered/s")
	b.ReportMetric(float64(accepted)/max(span, 1e-9), "accepted/s")
	b.ReportMetric(float64(hist.ValueAtQuantile(50))/1000, "p50-ms")
	b.ReportMetric(float64(hist.ValueAtQuantile(99))/1000, "p99-ms")
	b.ReportMetric(float64(hist.Max())/1000, "max-ms")
	b.ReportMetric(float64(rep.Load.Dropped), "dropped")
	b.ReportMetric(float64(rep.Load.Bets.Unknown), "unknown")
	b.ReportMetric(float64(violations), "violations")
	b.ReportMetric(float64(res.PlatformPeakRSS)/(1<<20), "rss-MB")
	b.ReportMetric(rep.Load.ScheduleLagP99MS, "lag-p99-ms")
}

// betLatencies reads the journal: every sent bet's latency from its
// intended time, the accepted count, and the first and last intended times
// of the accepted bets (µs).
func betLatencies(b *testing.B, path string) (*hdrhistogram.Histogram, int, int64, int64) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := hdrhistogram.New(1, replay.HistogramMaxUS, 3)
	accepted := 0
	var first, last int64 = -1, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e replay.JournalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			b.Fatal(err)
		}
		if e.Kind != replay.KindBet || e.DoneUS == 0 {
			continue
		}
		h.RecordValue(max(e.LatencyUS(), 1))
		if e.Outcome == replay.OutcomeAccepted {
			accepted++
			if first < 0 || e.IntendedUS < first {
				first = e.IntendedUS
			}
			last = max(last, e.IntendedUS)
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return h, accepted, max(first, 0), last
}

// BenchmarkPgbench runs pgbench -N (TPC-B without the contended
// branch/teller updates) on a scratch database of the same PostgreSQL, with
// as many clients as the platform's pool, for scale.
func BenchmarkPgbench(b *testing.B) {
	admin := servicetest.PostgresAdminURL(b)
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench is not on the PATH (Debian: postgresql-client)")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	name := fmt.Sprintf("inplay_pgbench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		b.Fatal(err)
	}
	defer func() {
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		conn.Close(ctx)
	}()
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "PGHOST="+cfg.Host, fmt.Sprintf("PGPORT=%d", cfg.Port), "PGUSER="+cfg.User)
	pgb := func(args ...string) string {
		cmd := exec.Command("pgbench", append(args, name)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("pgbench %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	pgb("-i", "-q", "-s", "10")
	secs := min(benchSeconds(b), 30)
	b.ResetTimer()
	out := pgb("-N", "-c", "32", "-j", "2", "-T", strconv.Itoa(secs))
	b.StopTimer()
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindStringSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench's output:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	b.ReportMetric(tps, "tps")
}
