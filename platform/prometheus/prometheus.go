// Package prometheus is the reference platform's metrics adapter on
// prometheus/client_golang: GET /metrics, on a registry of the platform's
// own (never the global default, so several platforms in one process do not
// collide). The domain packages know nothing of it: they expose counters
// (pricing.Hub.Stats, settlement.Service.InProgress, feed.Client.Stats) that
// it reads at scrape time, and the HTTP adapter and feed client call the
// small observer methods here. Store errors are counted where the drivers
// report them: a pgx tracer and a go-redis hook.
//
// The metrics (docs/api.md, "Metrics"):
//
//	inplay_bets_total{outcome,code}              counter: bet requests by outcome and error code
//	inplay_bet_acceptance_seconds                histogram: how long an accepted bet took
//	inplay_cashouts_total{outcome,code}          counter: cash-out requests by outcome and error code
//	inplay_quotes_published_total                counter: quotes the hub published
//	inplay_quote_subscribers                     gauge: quote stream subscribers now
//	inplay_quote_subscribers_dropped_total       counter: subscribers dropped for falling behind
//	inplay_feed_lag_seconds                      histogram: applied time minus the feed message's ts
//	inplay_feed_live                             gauge: 1 while the feed is live
//	inplay_odds_staleness_seconds                gauge: age of the oldest open market's newest update
//	inplay_settlement_queue_depth                gauge: markets resulted and not yet settled
//	inplay_store_errors_total{store}             counter: failed calls to postgres or redis
//	inplay_hot_state_rebuilds_total              counter: rebuilds of the Redis hot state after it was lost
package prometheus

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/feed"
	"github.com/inplaylabs/inplay/platform/pricing"
)

// The store label values of inplay_store_errors_total.
const (
	StorePostgres = "postgres"
	StoreRedis    = "redis"
)

// Metrics is one platform's metrics and their registry.
type Metrics struct {
	reg         *prom.Registry
	bets        *prom.CounterVec
	cashouts    *prom.CounterVec
	betLatency  prom.Histogram
	feedLag     prom.Histogram
	storeErrors *prom.CounterVec
}

// New returns metrics on a fresh registry, with the Go runtime's and the
// process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prom.NewRegistry(),
		bets: prom.NewCounterVec(prom.CounterOpts{Name: "inplay_bets_total",
			Help: "Bet requests by outcome (accepted, repeated, rejected, failed) and error code (empty when accepted or repeated)."},
			[]string{"outcome", "code"}),
		cashouts: prom.NewCounterVec(prom.CounterOpts{Name: "inplay_cashouts_total",
			Help: "Cash-out requests by outcome (accepted, repeated, rejected, failed) and error code (empty when accepted or repeated)."},
			[]string{"outcome", "code"}),
		betLatency: prom.NewHistogram(prom.HistogramOpts{Name: "inplay_bet_acceptance_seconds",
			Help:    "How long the platform took to accept a bet, in-play delay included.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}),
		feedLag: prom.NewHistogram(prom.HistogramOpts{Name: "inplay_feed_lag_seconds",
			Help:    "How long after its ts each feed message was applied.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}}),
		storeErrors: prom.NewCounterVec(prom.CounterOpts{Name: "inplay_store_errors_total",
			Help: "Failed calls to a store: connection, timeout and server errors, not refusals the platform expects."},
			[]string{"store"}),
	}
	m.reg.MustRegister(m.bets, m.cashouts, m.betLatency, m.feedLag, m.storeErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Both stores show from the start, so a rate over them is never empty.
	m.storeErrors.WithLabelValues(StorePostgres)
	m.storeErrors.WithLabelValues(StoreRedis)
	return m
}

// Registry returns the registry, to add collectors to or gather in tests.
func (m *Metrics) Registry() *prom.Registry { return m.reg }

// Handler serves GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveCashout implements the HTTP adapter's CashoutObserver.
func (m *Metrics) ObserveCashout(outcome, code string) {
	m.cashouts.WithLabelValues(outcome, code).Inc()
}

// ObserveBet implements the HTTP adapter's BetObserver.
func (m *Metrics) ObserveBet(outcome, code string, took time.Duration) {
	m.bets.WithLabelValues(outcome, code).Inc()
	if outcome == "accepted" {
		m.betLatency.Observe(took.Seconds())
	}
}

// ObserveFeedLag records one applied feed message's lag (feed.Config.Lag).
func (m *Metrics) ObserveFeedLag(d time.Duration) { m.feedLag.Observe(max(d, 0).Seconds()) }

// StoreError counts one failed call to store (StorePostgres, StoreRedis).
func (m *Metrics) StoreError(store string) { m.storeErrors.WithLabelValues(store).Inc() }

// Quotes is what the quote metrics read (a pricing.Hub).
type Quotes interface {
	Stats() pricing.HubStats
	Staleness() time.Duration
}

// WatchQuotes registers the quote metrics, read from q at each scrape.
func (m *Metrics) WatchQuotes(q Quotes) {
	m.reg.MustRegister(
		prom.NewCounterFunc(prom.CounterOpts{Name: "inplay_quotes_published_total",
			Help: "Quotes published to the quote stream (each once, however many subscribers)."},
			func() float64 { return float64(q.Stats().Published) }),
		prom.NewGaugeFunc(prom.GaugeOpts{Name: "inplay_quote_subscribers", Help: "Quote stream subscribers now."},
			func() float64 { return float64(q.Stats().Subscribers) }),
		prom.NewCounterFunc(prom.CounterOpts{Name: "inplay_quote_subscribers_dropped_total",
			Help: "Quote stream subscribers dropped for falling behind (close 4429)."},
			func() float64 { return float64(q.Stats().Dropped) }),
		prom.NewGaugeFunc(prom.GaugeOpts{Name: "inplay_odds_staleness_seconds",
			Help: "Age of the newest feed update of the open market updated longest ago."},
			func() float64 { return q.Staleness().Seconds() }),
	)
}

// Settlements is what the settlement metric reads (a settlement.Service).
type Settlements interface{ InProgress() int64 }

// WatchSettlement registers the settlement queue depth, read from s.
func (m *Metrics) WatchSettlement(s Settlements) {
	m.reg.MustRegister(prom.NewGaugeFunc(prom.GaugeOpts{Name: "inplay_settlement_queue_depth",
		Help: "Markets resulted but not yet settled (settlement runs on the feed's path, so at most one)."},
		func() float64 { return float64(s.InProgress()) }))
}

// Feed is what the feed metrics read (a feed.Client).
type Feed interface{ Stats() feed.Stats }

// WatchFeed registers the feed's liveness, read from f.
func (m *Metrics) WatchFeed(f Feed) {
	m.reg.MustRegister(prom.NewGaugeFunc(prom.GaugeOpts{Name: "inplay_feed_live",
		Help: "1 while the feed stream is open and has delivered a message, else 0."},
		func() float64 {
			if f.Stats().Live {
				return 1
			}
			return 0
		}))
}

// Rebuilds is what the rebuild metric reads (a pricing.Rebuilder).
type Rebuilds interface{ Rebuilds() int64 }

// WatchRebuilds registers the count of hot state rebuilds, read from r.
func (m *Metrics) WatchRebuilds(r Rebuilds) {
	m.reg.MustRegister(prom.NewCounterFunc(prom.CounterOpts{Name: "inplay_hot_state_rebuilds_total",
		Help: "Rebuilds of the Redis hot state (statuses from the ledger, prices from the feed) after it was lost."},
		func() float64 { return float64(r.Rebuilds()) }))
}

// storeFailure reports whether err is a store failing, rather than the
// caller giving up or an answer the platform expects (no rows, a
// constraint it relies on).
func storeFailure(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, pgx.ErrNoRows) || errors.Is(err, goredis.Nil) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "08", "53", "57", "58", "XX": // connection, resources, operator, system, internal
			return true
		}
		return false
	}
	return true
}

// PostgresTracer returns a pgx tracer (for pgx.ConnConfig.Tracer) that
// counts failed queries, batches and connects as postgres store errors.
func (m *Metrics) PostgresTracer() pgx.QueryTracer { return pgTracer{m} }

type pgTracer struct{ m *Metrics }

func (t pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (t pgTracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if storeFailure(data.Err) {
		t.m.StoreError(StorePostgres)
	}
}

func (t pgTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (t pgTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd counts a failed batch once, however many of its queries failed.
func (t pgTracer) TraceBatchEnd(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	if storeFailure(data.Err) {
		t.m.StoreError(StorePostgres)
	}
}

func (t pgTracer) TraceConnectStart(ctx context.Context, _ pgx.TraceConnectStartData) context.Context {
	return ctx
}

func (t pgTracer) TraceConnectEnd(_ context.Context, data pgx.TraceConnectEndData) {
	if storeFailure(data.Err) {
		t.m.StoreError(StorePostgres)
	}
}

// RedisHook returns a go-redis hook that counts failed commands and
// pipelines as redis store errors.
func (m *Metrics) RedisHook() goredis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

// redisFailure reports whether err, from cmds, is Redis failing. A
// script's first EVALSHA on a fresh server answers NOSCRIPT and go-redis
// then sends the script itself; and go-redis's connection handshake (HELLO,
// CLIENT SETINFO, ...) fails on older servers, which go-redis ignores.
// Neither is a failure.
func redisFailure(err error, cmds ...goredis.Cmder) bool {
	if !storeFailure(err) || goredis.HasErrorPrefix(err, "NOSCRIPT") {
		return false
	}
	return slices.ContainsFunc(cmds, func(c goredis.Cmder) bool { return c.Name() != "hello" && c.Name() != "client" })
}

// DialHook counts nothing: a failed dial fails the command that needed it,
// which is counted.
func (h redisHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h redisHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if redisFailure(err, cmd) {
			h.m.StoreError(StoreRedis)
		}
		return err
	}
}

// ProcessPipelineHook counts a failed pipeline once.
func (h redisHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		if redisFailure(err, cmds...) {
			h.m.StoreError(StoreRedis)
		}
		return err
	}
}
