package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/scenarios"
)

// platformFlags are the settings of `inplay platform`. Every flag has an
// INPLAY_* variable of the same name (--redis-url: INPLAY_REDIS_URL); a flag
// given on the command line wins over its variable.
type platformFlags struct {
	listen           string
	listenFD         int
	redisURL         string
	postgresURL      string
	redisPrefix      string
	feedURL          string
	inPlayDelay      time.Duration
	betDelayFromFeed bool
	holdBets         bool
	eventStore       bool
	maxStake         int64
	cashoutMarginBP  int64
	quoteStaleAfter  time.Duration
	shutdownTimeout  time.Duration
	startTimeout     time.Duration
	logFormat        string
	logLevel         string
	debugAddr        string
}

// storeCheckTimeout bounds the first contact with each store, so that an
// unreachable one is an exit 4 in seconds, not a hang.
const storeCheckTimeout = 5 * time.Second

func newPlatformCmd(stderr io.Writer) *cobra.Command {
	var pf platformFlags
	cmd := &cobra.Command{
		Use:   "platform",
		Short: "Run the reference in-play platform as its own process",
		Long: `platform runs the reference in-play platform: the bet API, the quote stream
(GET /v1/quotes/stream), /metrics, /healthz and /readyz on --listen; its
ledger in the PostgreSQL database of --postgres-url, which it migrates; its hot
state in Redis under --redis-prefix; and its odds from the feed server at
--feed-url, over the reference feed protocol (docs/feed-protocol.md).

Every flag can also be set by an INPLAY_* variable of the same name, for
example INPLAY_FEED_URL for --feed-url; a flag on the command line wins.

On SIGTERM or SIGINT it stops taking bets, finishes the requests in flight
(within --shutdown-timeout) and exits 0. A bet is acknowledged only after its
ledger entry is committed.

Its subcommands verify, rebuild and audit-export read the event store of a
ledger database (docs/event-store.md).

Exit codes: 0 stopped by a signal, 3 a bad flag or variable, 4 a store or the
feed cannot be reached, or the API cannot listen.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envDefaults(cmd.Flags()); err != nil {
				return herr.WithExit(exitInput, err)
			}
			if err := pf.validate(); err != nil {
				return herr.WithExit(exitInput, err)
			}
			return servePlatform(cmd.Context(), pf, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&pf.listen, "listen", "127.0.0.1:8080", "address of the bet API, quote stream, /metrics, /healthz and /readyz")
	f.IntVar(&pf.listenFD, "listen-fd", 0, "serve on this inherited file descriptor (a listening TCP socket) instead of --listen; the harness uses it")
	f.StringVar(&pf.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis for the hot state (quotes); its path selects the database")
	f.StringVar(&pf.postgresURL, "postgres-url", "", "PostgreSQL database of the ledger (required); migrated at start")
	f.StringVar(&pf.redisPrefix, "redis-prefix", "inplay:", "prefix of every Redis key the platform writes")
	f.StringVar(&pf.feedURL, "feed-url", "", "base URL of the feed server to subscribe to, e.g. http://127.0.0.1:9000 (required)")
	f.DurationVar(&pf.inPlayDelay, "in-play-delay", 0, "in-play bet delay: how long a bet waits before it is checked again and booked (0: none)")
	f.BoolVar(&pf.eventStore, "event-store", false, "record every ledger change in the hash-chained event store (docs/event-store.md); off by default, on the record, since its serial commit caps placement (docs/event-store.md, \"Cost\")")
	f.BoolVar(&pf.holdBets, "hold-bets", false, "hold a bet's request open for its in-play delay and answer the decision, instead of 202 pending at once")
	f.BoolVar(&pf.betDelayFromFeed, "bet-delay-from-feed", false, "each market's bet delay is the feed's: its bet_delay_ms while in play, none pre-match; --in-play-delay is kept for markets the feed says neither of")
	f.Int64Var(&pf.maxStake, "max-stake", 0, "largest stake one bet may have, in minor units (0: no limit)")
	f.Int64Var(&pf.cashoutMarginBP, "cashout-margin-bp", 0, "what a cash-out offer keeps back from the bet's fair value at the current price, in basis points, 0 to 10000 (docs/api.md, \"Cash-out\")")
	f.DurationVar(&pf.quoteStaleAfter, "quote-stale-after", 10*time.Second, "a quote is flagged delayed when its market's newest feed update is older than this")
	f.DurationVar(&pf.shutdownTimeout, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long requests in flight may take to finish")
	f.DurationVar(&pf.startTimeout, "start-timeout", 15*time.Second, "how long to wait for the stores and the feed at start")
	f.StringVar(&pf.logFormat, "log-format", "text", "log format on stderr: text or json")
	f.StringVar(&pf.logLevel, "log-level", "info", "least level logged: debug, info, warn or error")
	f.StringVar(&pf.debugAddr, "debug-addr", "", "serve Go's /debug/pprof/ profiles on this address, apart from the API (empty: off)")
	addStoreCommands(cmd)
	return cmd
}

// envDefaults sets every flag not given on the command line from its
// INPLAY_* variable, if set. A bad value names the variable.
func envDefaults(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "help" {
			return
		}
		name := "INPLAY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		v, ok := os.LookupEnv(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, strings.TrimSpace(v)); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %v", name, v, err))
		}
	})
	return errors.Join(errs...)
}

// validate returns every problem with the flags at once.
func (pf platformFlags) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if pf.postgresURL == "" {
		bad("--postgres-url (INPLAY_POSTGRES_URL) is required")
	} else if _, err := pgxpool.ParseConfig(pf.postgresURL); err != nil {
		bad("--postgres-url: %v", err)
	}
	if _, err := goredis.ParseURL(pf.redisURL); err != nil {
		bad("--redis-url: %v", err)
	}
	if pf.feedURL == "" {
		bad("--feed-url (INPLAY_FEED_URL) is required")
	} else if !strings.HasPrefix(pf.feedURL, "http://") && !strings.HasPrefix(pf.feedURL, "https://") {
		bad("--feed-url %q must start with http:// or https://", pf.feedURL)
	}
	if pf.listenFD < 0 {
		bad("--listen-fd must not be negative, not %d", pf.listenFD)
	}
	if pf.listenFD == 0 {
		if _, _, err := net.SplitHostPort(pf.listen); err != nil {
			bad("--listen %q is not host:port: %v", pf.listen, err)
		}
	}
	if pf.inPlayDelay < 0 {
		bad("--in-play-delay must not be negative, not %s", pf.inPlayDelay)
	}
	if pf.maxStake < 0 {
		bad("--max-stake must not be negative (0 = no limit), not %d", pf.maxStake)
	}
	if pf.cashoutMarginBP < 0 || pf.cashoutMarginBP > 10000 {
		bad("--cashout-margin-bp must be 0 to 10000, not %d", pf.cashoutMarginBP)
	}
	for name, d := range map[string]time.Duration{"--quote-stale-after": pf.quoteStaleAfter,
		"--shutdown-timeout": pf.shutdownTimeout, "--start-timeout": pf.startTimeout} {
		if d <= 0 {
			bad("%s must be positive, not %s", name, d)
		}
	}
	if pf.debugAddr != "" {
		if _, _, err := net.SplitHostPort(pf.debugAddr); err != nil {
			bad("--debug-addr %q is not host:port: %v", pf.debugAddr, err)
		}
	}
	if pf.logFormat != "text" && pf.logFormat != "json" {
		bad("--log-format %q is not one of: text, json", pf.logFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(pf.logLevel)); err != nil {
		bad("--log-level %q is not one of: debug, info, warn, error", pf.logLevel)
	}
	return errors.Join(errs...)
}

func (pf platformFlags) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(pf.logLevel)) // validated
	opts := &slog.HandlerOptions{Level: lvl}
	if pf.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// servePlatform migrates the ledger, starts the platform and serves until
// ctx is done (SIGTERM or SIGINT), then shuts it down.
func servePlatform(ctx context.Context, pf platformFlags, stderr io.Writer) error {
	log := pf.logger(stderr)
	envFail := func(format string, args ...any) error {
		err := fmt.Errorf(format, args...)
		log.Error("platform not started", "err", err)
		return herr.WithExit(exitEnv, err)
	}

	ropts, _ := goredis.ParseURL(pf.redisURL) // validated
	checkCtx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	if err := stack.CheckRedis(checkCtx, pf.redisURL); err != nil {
		return envFail("redis at %s does not answer: %v", ropts.Addr, err)
	}
	if err := migrateLedger(checkCtx, pf.postgresURL, pf.eventStore); err != nil {
		return envFail("postgres: %v", err)
	}

	var ln net.Listener
	if pf.listenFD > 0 {
		f := os.NewFile(uintptr(pf.listenFD), "listener")
		l, err := net.FileListener(f)
		f.Close() // FileListener dups the descriptor
		if err != nil {
			return envFail("--listen-fd %d is not a listening socket: %v", pf.listenFD, err)
		}
		ln = l
	} else {
		l, err := net.Listen("tcp", pf.listen)
		if err != nil {
			return envFail("cannot listen on %s: %v", pf.listen, err)
		}
		ln = l
	}

	if pf.debugAddr != "" {
		stop, err := serveProfiles(pf.debugAddr)
		if err != nil {
			ln.Close()
			return envFail("--debug-addr: %v", err)
		}
		defer stop()
		log.Info("profiles served", "addr", pf.debugAddr)
	}

	startCtx, cancelStart := context.WithTimeout(ctx, pf.startTimeout)
	defer cancelStart()
	plat, err := scenarios.StartRefPlatform(startCtx, scenarios.RefPlatformConfig{
		PostgresURL:      pf.postgresURL,
		RedisAddr:        ropts.Addr,
		RedisDB:          ropts.DB,
		KeyPrefix:        pf.redisPrefix,
		FeedURL:          pf.feedURL,
		InPlayDelay:      pf.inPlayDelay,
		BetDelayFromFeed: pf.betDelayFromFeed,
		HoldBets:         pf.holdBets,
		MaxStake:         pf.maxStake,
		CashoutMarginBP:  pf.cashoutMarginBP,
		Logger:           log,
		Listener:         ln,
		ShutdownTimeout:  pf.shutdownTimeout,
		QuoteStaleAfter:  pf.quoteStaleAfter,
	})
	if err != nil {
		ln.Close()
		if ctx.Err() != nil {
			return nil // stopped before it was up: nothing to finish
		}
		return envFail("%v", err)
	}
	log.Info("platform serving", "addr", ln.Addr().String(), "pid", os.Getpid())
	<-ctx.Done()
	log.Info("stopping: no new bets; finishing the requests in flight", "bound", pf.shutdownTimeout)
	if err := plat.Close(); err != nil {
		log.Warn("stopped with errors", "err", err)
	}
	log.Info("platform stopped")
	return nil
}

// migrateLedger brings the ledger's schema up to date, and its event store
// on or off as asked (on the record: docs/event-store.md).
func migrateLedger(ctx context.Context, url string, eventStore bool) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	// Retried within ctx: a platform started again under faults (a kill,
	// then a reset on its link) must not give up on one dropped connection.
	if err := scenarios.UntilUp(ctx, func(ctx context.Context) error { return pool.Ping(ctx) }); err != nil {
		return fmt.Errorf("does not answer: %w", err)
	}
	if err := scenarios.UntilUp(ctx, func(ctx context.Context) error { return postgres.Migrate(ctx, pool) }); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	reason := "inplay platform --event-store=" + strconv.FormatBool(eventStore)
	if err := scenarios.UntilUp(ctx, func(ctx context.Context) error { return postgres.SetEventStore(ctx, pool, eventStore, reason) }); err != nil {
		return fmt.Errorf("event store: %w", err)
	}
	return nil
}

// serveProfiles serves net/http/pprof's handlers on their own listener, so
// that profiling never shares the API's port, its links or its limits.
func serveProfiles(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}
