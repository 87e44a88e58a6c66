package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
)

// The shape of the benchmark ledger: many players and markets, so bets
// spread the way a peak does, and a pool the size the reference platform
// opens (scenarios.refPlatformPoolSize).
const (
	benchAccounts = 2000
	benchMarkets  = 200
	benchPoolSize = 32
)

// benchModes are the ways of booking bets a benchmark compares.
var benchModes = []struct {
	name string
	opt  postgres.Option
	// storeOff turns the event store's triggers off (docs/event-store.md),
	// to measure what it costs.
	storeOff bool
}{
	{"alone", postgres.WithGroupCommit(postgres.GroupCommit{MaxBatch: 1}), false}, // one transaction per bet
	{"group", postgres.WithGroupCommit(postgres.DefaultGroupCommit), false},
	{"alone-store-off", postgres.WithGroupCommit(postgres.GroupCommit{MaxBatch: 1}), true},
	{"group-store-off", postgres.WithGroupCommit(postgres.DefaultGroupCommit), true},
}

// eventTriggers are the event store's triggers (migration 0007).
var eventTriggers = []string{"accounts", "markets", "transactions", "postings", "bets"}

// storeOff turns the event store's triggers off on pool's database.
func storeOff(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	for _, t := range eventTriggers {
		if _, err := pool.Exec(context.Background(), `ALTER TABLE `+t+` DISABLE TRIGGER `+t+`_events`); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStore opens a Store on a fresh database with benchAccounts funded
// players and benchMarkets open markets.
func benchStore(b *testing.B, off bool, opts ...postgres.Option) (*postgres.Store, *pgxpool.Pool) {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = benchPoolSize
	// Named, so pg_stat_activity can tell this run from other tests'.
	cfg.ConnConfig.RuntimeParams["application_name"] = "inplay-ledger-bench"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if off {
		storeOff(b, pool)
	}
	s := postgres.NewStore(pool, opts...)
	b.Cleanup(s.Close)
	ctx := context.Background()
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 16 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < benchAccounts; i = next.Add(1) - 1 {
				req := platform.TransferRequest{ID: fmt.Sprintf("seed-%d", i), Account: benchAccount(int(i)), Amount: 1_000_000_000}
				if _, _, err := s.Deposit(ctx, req); err != nil {
					b.Errorf("seed %s: %v", req.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for m := range benchMarkets {
		if err := s.SetMarketStatus(ctx, benchMarket(m), platform.MarketOpen); err != nil {
			b.Fatal(err)
		}
	}
	return s, pool
}

func benchAccount(i int) string { return fmt.Sprintf("p%04d", i) }
func benchMarket(i int) string  { return fmt.Sprintf("m%03d", i) }

// benchBet is bet number n of a run: a random player on a random market.
func benchBet(run string, n int64, odds platform.Odds) platform.Bet {
	return bet(fmt.Sprintf("%s-%d", run, n), benchAccount(rand.N(benchAccounts)),
		benchMarket(rand.N(benchMarkets)), "home", 100, odds)
}

// latencies collects per-bet latencies from many goroutines.
type latencies struct {
	mu  sync.Mutex
	d   []time.Duration
	err map[string]int // error code -> count
}

func (l *latencies) add(d time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if l.err == nil {
			l.err = map[string]int{}
		}
		l.err[platform.ErrorCode(err)]++
		return
	}
	l.d = append(l.d, d)
}

// report reports accepted bets/s over elapsed and the p50/p99 latency of
// the accepted bets, and fails on any refused bet (every bet is funded).
func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	b.Helper()
	slices.Sort(l.d)
	q := func(p float64) float64 {
		if len(l.d) == 0 {
			return 0
		}
		return float64(l.d[min(len(l.d)-1, int(p*float64(len(l.d))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "accepted/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(0, "ns/op")
	if len(l.err) > 0 {
		b.Errorf("refused bets: %v", l.err)
	}
}

// BenchmarkPlaceBetConcurrent is closed-loop saturation: 256 goroutines
// each place their next bet as soon as the last one is answered, b.N bets
// in all (run it with -benchtime 20000x), one bet per transaction and
// group-committed. accepted/s is the ceiling; latency is what a bet waits
// at that ceiling.
//
//	go test -run '^$' -bench PlaceBetConcurrent -benchtime 20000x ./platform/postgres/
func BenchmarkPlaceBetConcurrent(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			s, pool := benchStore(b, mode.storeOff, mode.opt)
			odds := mustOdds(b, "1.91")
			const workers = 256
			var (
				l    latencies
				next atomic.Int64
				wg   sync.WaitGroup
			)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for range workers {
				wg.Go(func() {
					for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
						t0 := time.Now()
						_, _, err := s.PlaceBet(ctx, benchBet("c", n, odds))
						l.add(time.Since(t0), err)
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			l.report(b, elapsed)
			checkBooks(b, pool)
		})
	}
}

// BenchmarkPlaceBetOpenLoop sends bets at a constant rate for 4 s per rate,
// each at its planned time whatever the earlier ones are doing, and
// measures latency from that planned time, so a store that falls behind is
// charged for it. Run it once, one mode at a time to keep each run short:
//
//	go test -run '^$' -bench 'PlaceBetOpenLoop/group' -benchtime 1x ./platform/postgres/
func BenchmarkPlaceBetOpenLoop(b *testing.B) {
	const (
		duration = 4 * time.Second
		inFlight = 4096 // beyond this a send is dropped and counted
	)
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			s, pool := benchStore(b, mode.storeOff, mode.opt)
			odds := mustOdds(b, "1.91")
			for _, rate := range []int{1000, 3000, 5000} {
				b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
					var (
						l       latencies
						wg      sync.WaitGroup
						dropped int
						sem     = make(chan struct{}, inFlight)
						total   = int64(duration.Seconds() * float64(rate))
						run     = fmt.Sprintf("o%d", rate)
					)
					ctx := context.Background()
					start := time.Now()
					for n := range total {
						due := start.Add(time.Duration(n) * time.Second / time.Duration(rate))
						time.Sleep(time.Until(due))
						select {
						case sem <- struct{}{}:
						default:
							dropped++
							continue
						}
						wg.Go(func() {
							defer func() { <-sem }()
							_, _, err := s.PlaceBet(ctx, benchBet(run, n, odds))
							l.add(time.Since(due), err)
						})
					}
					wg.Wait()
					l.report(b, time.Since(start))
					b.ReportMetric(float64(dropped), "dropped")
				})
			}
			checkBooks(b, pool)
		})
	}
}
