package scenarios

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/betting"
	"github.com/inplaylabs/inplay/platform/cashier"
	"github.com/inplaylabs/inplay/platform/feed"
	phttp "github.com/inplaylabs/inplay/platform/http"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/pricing"
	"github.com/inplaylabs/inplay/platform/prometheus"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/platform/risk"
	"github.com/inplaylabs/inplay/platform/settlement"
)

// refPlatformStartTimeout bounds how long StartRefPlatform waits for the
// stores to answer and the feed to connect.
const refPlatformStartTimeout = 15 * time.Second

// refPlatformPoolSize is the PostgreSQL pool size unless the URL sets
// pool_max_conns: bets wait on row locks, so a few more connections than
// cores keep the API from queueing behind them.
const refPlatformPoolSize = 32

// UntilUp calls try until it succeeds or ctx ends, backing off from 50 ms to
// 1 s, and returns the last error. A store's first answer at start may be a
// dropped connection (a platform started again while a fault resets its
// links), which is no reason to give up while the start's bound lasts.
func UntilUp(ctx context.Context, try func(context.Context) error) error {
	backoff := 50 * time.Millisecond
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// refRedisPipelines is how many Redis pipelines the platform runs at once
// (platform/redis.AutoPipeline): Redis runs commands one at a time, so more
// than a couple in flight only queue there instead of here, in batches.
const refRedisPipelines = 2

// RefPlatformConfig configures an in-process reference platform.
type RefPlatformConfig struct {
	PostgresURL string        // the run's (already migrated) database, possibly via a chaos proxy
	RedisAddr   string        // host:port, possibly via a chaos proxy
	RedisDB     int           // the Redis database number the run was given
	KeyPrefix   string        // the run's Redis key prefix
	FeedURL     string        // base URL of the feed server, e.g. http://127.0.0.1:1234
	InPlayDelay time.Duration // bet delay; 0 disables it
	// BetDelayFromFeed: each market's delay is the one its feed announces
	// (betting.Service.FeedDelay); InPlayDelay is kept for markets the feed
	// says nothing of.
	BetDelayFromFeed bool
	// HoldBets holds a bet's request open for its delay, answering with
	// the decision, instead of answering 202 pending at once and deciding
	// in the background (docs/api.md, "Pending bets").
	HoldBets bool
	MaxStake int64 // 0 = no limit
	// CashoutMarginBP is what a cash-out offer keeps back from the bet's
	// fair value, in basis points (betting.Service.CashoutMargin); 0 to
	// 10000.
	CashoutMarginBP int64
	Logger          *slog.Logger // nil = discard
	// Listen is the API's address; "" = 127.0.0.1:0 (a free loopback port).
	Listen string
	// Listener, when set, is served instead of listening on Listen: the
	// harness makes the listener and hands its file to the child process, so
	// the address is known (and linked) before the platform starts.
	Listener net.Listener
	// ShutdownTimeout bounds how long Close lets requests in flight finish;
	// 0 means 5 s.
	ShutdownTimeout time.Duration
	// QuoteStaleAfter is the age of a market's newest feed update past which
	// its quotes are marked delayed; 0 = 10 s.
	QuoteStaleAfter time.Duration
	// QuoteSubscribeTimeout is how long a quote stream client has to
	// subscribe; 0 = 5 s (the contract's). Tests shorten it.
	QuoteSubscribeTimeout time.Duration
}

// validate returns every problem with c at once.
func (c RefPlatformConfig) validate() error {
	var errs []error
	if c.PostgresURL == "" {
		errs = append(errs, errors.New("PostgresURL is required"))
	}
	if c.RedisAddr == "" {
		errs = append(errs, errors.New("RedisAddr is required"))
	}
	if c.FeedURL == "" {
		errs = append(errs, errors.New("FeedURL is required"))
	}
	if c.InPlayDelay < 0 {
		errs = append(errs, fmt.Errorf("InPlayDelay must not be negative, not %s", c.InPlayDelay))
	}
	if c.MaxStake < 0 {
		errs = append(errs, fmt.Errorf("MaxStake must not be negative, not %d", c.MaxStake))
	}
	if c.CashoutMarginBP < 0 || c.CashoutMarginBP > 10000 {
		errs = append(errs, fmt.Errorf("CashoutMarginBP must be 0 to 10000, not %d", c.CashoutMarginBP))
	}
	if c.QuoteStaleAfter < 0 {
		errs = append(errs, fmt.Errorf("QuoteStaleAfter must not be negative, not %s", c.QuoteStaleAfter))
	}
	if c.QuoteSubscribeTimeout < 0 {
		errs = append(errs, fmt.Errorf("QuoteSubscribeTimeout must not be negative, not %s", c.QuoteSubscribeTimeout))
	}
	return errors.Join(errs...)
}

// RefPlatform is a running reference platform: its HTTP API (with the quote
// stream and /metrics) on a loopback port, and its feed client following
// the feed server.
type RefPlatform struct {
	url     string
	feed    *feed.Client
	hub     *pricing.Hub
	quotes  *phttp.QuoteStream
	metrics *prometheus.Metrics
	ready   []phttp.HealthCheck
	server  *http.Server
	pool    *pgxpool.Pool
	ledger  *postgres.Store
	bets    *betting.Service
	redis   *goredis.Client
	pipe    *redis.AutoPipeline
	log     *slog.Logger
	grace   time.Duration

	rebuild  *pricing.Rebuilder
	stopFeed context.CancelFunc
	feedDone chan struct{}
	// rebuildDone is closed when the rebuilder has stopped (with the feed).
	rebuildDone chan struct{}
	serveDone   chan struct{}
	closeOnce   sync.Once
	closeErr    error
}

// StartRefPlatform wires the reference platform's stores, services, feed
// client, quote hub and stream, metrics and HTTP API together and starts
// them. It returns once the API listens on cfg.Listen and the feed is connected, or an error after a
// bounded wait (or when ctx is done first). ctx bounds the start only; the
// platform runs until Close.
func StartRefPlatform(ctx context.Context, cfg RefPlatformConfig) (*RefPlatform, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("reference platform: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	startCtx, cancel := context.WithTimeout(ctx, refPlatformStartTimeout)
	defer cancel()

	p := &RefPlatform{log: log, metrics: prometheus.New(), grace: cfg.ShutdownTimeout}
	if p.grace <= 0 {
		p.grace = 5 * time.Second
	}
	ok := false
	defer func() {
		if !ok {
			p.Close()
		}
	}()

	poolCfg, err := pgxpool.ParseConfig(cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("reference platform: postgres URL: %w", err)
	}
	if !strings.Contains(cfg.PostgresURL, "pool_max_conns") {
		poolCfg.MaxConns = refPlatformPoolSize
	}
	poolCfg.ConnConfig.Tracer = p.metrics.PostgresTracer()
	if _, ok := poolCfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		poolCfg.ConnConfig.RuntimeParams["application_name"] = postgres.ApplicationName
	}
	if p.pool, err = pgxpool.NewWithConfig(startCtx, poolCfg); err != nil {
		return nil, fmt.Errorf("reference platform: postgres: %w", err)
	}
	if err := UntilUp(startCtx, func(ctx context.Context) error { return p.pool.Ping(ctx) }); err != nil {
		return nil, fmt.Errorf("reference platform: postgres does not answer: %w", err)
	}
	// RESP2: the platform uses no push notifications, and RESP3 has the
	// client look for them around every reply.
	redisOpts := &goredis.Options{Addr: cfg.RedisAddr, DB: cfg.RedisDB, Protocol: 2}
	p.redis = goredis.NewClient(redisOpts)
	p.redis.AddHook(p.metrics.RedisHook())
	// Last, so the metrics see each command once, its queueing included.
	p.pipe = redis.NewAutoPipeline(redisOpts, refRedisPipelines)
	p.redis.AddHook(p.pipe.Hook())
	if err := UntilUp(startCtx, func(ctx context.Context) error { return p.redis.Ping(ctx).Err() }); err != nil {
		return nil, fmt.Errorf("reference platform: redis at %s does not answer: %w", cfg.RedisAddr, err)
	}

	ledger := postgres.NewStore(p.pool)
	p.ledger = ledger
	quotes := redis.NewQuoteStore(p.redis, cfg.KeyPrefix)
	// The hot state rebuilds itself when it is lost (a Redis flush): the
	// statuses from the ledger, the prices from the feed.
	p.rebuild = &pricing.Rebuilder{State: quotes, Markets: ledger, Logger: log.With("component", "rebuild")}
	quotes.OnLost(p.rebuild.Notify)
	if err := UntilUp(startCtx, p.rebuild.Init); err != nil {
		return nil, fmt.Errorf("reference platform: hot state: %w", err)
	}
	bets := &betting.Service{Ledger: ledger, Quotes: quotes, Limits: risk.Limits{MaxStake: cfg.MaxStake}, Delay: cfg.InPlayDelay,
		FeedDelay: cfg.BetDelayFromFeed, CashoutMargin: cfg.CashoutMarginBP, Log: log.With("component", "betting")}
	if !cfg.HoldBets {
		bets.Pending = redis.NewPendingStore(p.redis, cfg.KeyPrefix)
	}
	p.bets = bets
	p.hub = pricing.NewHub(pricing.HubConfig{StaleAfter: cfg.QuoteStaleAfter, Encode: phttp.EncodeQuote})
	// A platform started again (after a kill, a restart) finds its quotes in
	// Redis; the hub starts from them, so its first pushes are whole.
	var seed []*platform.Price
	if err := UntilUp(startCtx, func(ctx context.Context) (err error) { seed, err = quotes.Prices(ctx); return err }); err != nil {
		return nil, fmt.Errorf("reference platform: read the quotes to start from: %w", err)
	}
	p.hub.Seed(seed)
	settle := &settlement.Service{Ledger: ledger, Quotes: quotes, Publisher: p.hub, Logger: log.With("component", "settlement")}
	if p.feed, err = feed.New(feed.Config{
		URL:     cfg.FeedURL,
		Quotes:  &pricing.Service{Quotes: quotes, Ledger: ledger, Publisher: p.hub},
		Results: settle,
		Logger:  log.With("component", "feed"),
		OnLink:  p.hub.SetLive,
		Lag:     p.metrics.ObserveFeedLag,
	}); err != nil {
		return nil, fmt.Errorf("reference platform: %w", err)
	}
	p.metrics.WatchQuotes(p.hub)
	p.metrics.WatchSettlement(settle)
	p.metrics.WatchFeed(p.feed)
	p.rebuild.Feed = p.feed
	p.metrics.WatchRebuilds(p.rebuild)
	p.quotes = phttp.NewQuoteStream(phttp.QuoteStreamConfig{Hub: p.hub, Logger: log.With("component", "quotes"),
		SubscribeTimeout: cfg.QuoteSubscribeTimeout})
	stores := []phttp.HealthCheck{{Name: "postgres", Ping: ledger.Ping}, {Name: "redis", Ping: quotes.Ping}}
	p.ready = append(stores, phttp.HealthCheck{Name: "feed", Ping: p.feedLive})
	api := phttp.New(phttp.Config{
		Bets: bets, Cashouts: bets, Accounts: &cashier.Service{Ledger: ledger}, Logger: log.With("component", "api"),
		Health: stores, Ready: p.ready, Quotes: p.quotes, Metrics: p.metrics.Handler(), Observer: p.metrics,
	})

	l := cfg.Listener
	if l == nil {
		addr := cfg.Listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if l, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("reference platform: listen: %w", err)
		}
	}
	p.url = "http://" + l.Addr().String()
	p.server = &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	p.serveDone = make(chan struct{})
	go func() {
		defer close(p.serveDone)
		if err := p.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API server stopped", "err", err)
		}
	}()

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p.stopFeed = stop
	p.feedDone = make(chan struct{})
	go func() {
		defer close(p.feedDone)
		p.feed.Run(runCtx)
	}()
	p.rebuildDone = make(chan struct{})
	go func() {
		defer close(p.rebuildDone)
		p.rebuild.Run(runCtx)
	}()
	select {
	case <-p.feed.Ready():
	case <-startCtx.Done():
		st := p.feed.Stats()
		return nil, fmt.Errorf("reference platform: feed at %s not connected after %d attempts: %w",
			cfg.FeedURL, st.DialErrors, startCtx.Err())
	}
	// Bets an earlier run of the platform left pending (stopped or killed
	// before their delay ended) are decided now that the prices are in.
	if n, err := bets.Resume(startCtx); err != nil {
		return nil, fmt.Errorf("reference platform: resume pending bets: %w", err)
	} else if n > 0 {
		log.Warn("deciding bets an earlier run left pending", "bets", n)
	}
	log.Info("reference platform started", "url", p.url, "feed", cfg.FeedURL,
		"in_play_delay", cfg.InPlayDelay, "bet_delay_from_feed", cfg.BetDelayFromFeed, "hold_bets", cfg.HoldBets, "max_stake", cfg.MaxStake)
	ok = true
	return p, nil
}

// URL returns the base URL of the HTTP API.
func (p *RefPlatform) URL() string { return p.url }

// QuotesURL returns the WebSocket URL of the quote stream.
func (p *RefPlatform) QuotesURL() string {
	return "ws" + strings.TrimPrefix(p.url, "http") + "/v1/quotes/stream"
}

// Ready returns nil when the platform is ready, as GET /readyz answers it:
// PostgreSQL and Redis answer and the feed is live. Otherwise an
// EUNAVAILABLE error names what is not.
func (p *RefPlatform) Ready(ctx context.Context) error {
	var down []string
	for _, c := range p.ready {
		if err := c.Ping(ctx); err != nil {
			down = append(down, c.Name)
		}
	}
	if len(down) > 0 {
		return platform.Errorf(platform.EUNAVAILABLE, "not ready: %s", strings.Join(down, ", "))
	}
	return nil
}

// feedLive is the feed's readiness check: a stream open that has delivered
// a message since it connected.
func (p *RefPlatform) feedLive(context.Context) error {
	if st := p.feed.Stats(); !st.Live {
		if st.Connected {
			return platform.Errorf(platform.EUNAVAILABLE, "connected, but no message yet")
		}
		return platform.Errorf(platform.EUNAVAILABLE, "not connected")
	}
	return nil
}

// Metrics returns the platform's metrics, the ones GET /metrics serves.
func (p *RefPlatform) Metrics() *prometheus.Metrics { return p.metrics }

// Rebuilds returns how many times the hot state was rebuilt after a loss.
func (p *RefPlatform) Rebuilds() int64 { return p.rebuild.Rebuilds() }

// FeedStats returns the feed client's counters.
func (p *RefPlatform) FeedStats() feed.Stats { return p.feed.Stats() }

// Close stops taking requests: it closes the quote stream's subscribers
// with 1001 and lets the bets in flight finish (within the shutdown bound);
// then it stops the feed client and closes the pools. The API goes before
// the feed: a bet in its in-play delay still needs the stores, and a bet
// must be answered from what committed. It is idempotent.
func (p *RefPlatform) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.quotes != nil {
			p.quotes.Close()
		}
		if p.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), p.grace)
			if err := p.server.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("shut down API: %w", err))
				p.server.Close()
			}
			cancel()
			<-p.serveDone
		}
		if p.bets != nil {
			// Decisions under way finish while the stores are up; a bet
			// whose delay has not ended stays pending for the next start.
			ctx, cancel := context.WithTimeout(context.Background(), p.grace)
			if err := p.bets.Close(ctx); err != nil {
				errs = append(errs, fmt.Errorf("finish pending bets: %w", err))
			}
			cancel()
		}
		if p.stopFeed != nil {
			p.stopFeed()
			<-p.feedDone
			<-p.rebuildDone
		}
		if p.redis != nil {
			if err := p.redis.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close redis: %w", err))
			}
		}
		if p.pipe != nil {
			if err := p.pipe.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close redis pipelines: %w", err))
			}
		}
		if p.ledger != nil {
			p.ledger.Close() // answers every bet still queued for a batch
		}
		if p.pool != nil {
			p.pool.Close()
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}
