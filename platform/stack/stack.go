// Package stack finds the Redis and PostgreSQL a run uses, and gives each run
// its own database and its own Redis key prefix.
//
// Resolution, in order (DESIGN.md, "Stack resolution"):
//
//  1. the URLs given (INPLAY_REDIS_URL, INPLAY_POSTGRES_URL or the matching
//     flags): a URL given must answer; there is no fallback for it;
//  2. otherwise local services at 127.0.0.1:6379 and 127.0.0.1:5432, if they
//     answer;
//  3. otherwise testcontainers (redis:7-alpine, postgres:16-alpine), if a
//     Docker engine answers;
//  4. otherwise an *UnavailableError naming the three ways and what failed
//     for each (the CLI exits 4).
//
// Each service is resolved on its own, so one URL may be given and the other
// service found locally. Real services only: there is no in-memory stand-in.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Environment variables read by OptionsFromEnv.
const (
	EnvRedisURL    = "INPLAY_REDIS_URL"
	EnvPostgresURL = "INPLAY_POSTGRES_URL"
)

// The local services of step 2. PostgreSQL's "postgres" database is the
// maintenance database every installation has; runs create their own.
const (
	LocalRedisURL    = "redis://127.0.0.1:6379/0"
	LocalPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// localRedis and localPostgres are the URLs step 2 tries; tests point them
// elsewhere to walk the later steps on a machine that has local services.
var (
	localRedis    = LocalRedisURL
	localPostgres = LocalPostgresURL
)

// The images of step 3.
const (
	RedisImage    = "redis:7-alpine"
	PostgresImage = "postgres:16-alpine"
)

// checkTimeout bounds each "does it answer" check, so that URLs pointing
// nowhere fail in seconds rather than at a driver's default timeout.
const checkTimeout = 2 * time.Second

// Sources of the services, in Services.Source.
const (
	SourceURLs           = "urls"
	SourceLocal          = "local"
	SourceTestcontainers = "testcontainers"
)

// Options says where to look for Redis and PostgreSQL.
type Options struct {
	RedisURL     string // e.g. redis://127.0.0.1:6379/0 (flag/env INPLAY_REDIS_URL)
	PostgresURL  string // admin URL, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable (flag/env INPLAY_POSTGRES_URL)
	NoContainers bool   // skip the testcontainers step
	Logger       *slog.Logger
}

// OptionsFromEnv reads INPLAY_REDIS_URL and INPLAY_POSTGRES_URL. Unset
// variables leave the URLs empty, which lets Resolve look further.
func OptionsFromEnv() Options {
	return Options{
		RedisURL:    strings.TrimSpace(os.Getenv(EnvRedisURL)),
		PostgresURL: strings.TrimSpace(os.Getenv(EnvPostgresURL)),
	}
}

// Services are the Redis and PostgreSQL a run uses.
type Services struct {
	RedisURL    string
	PostgresURL string // admin URL: runs create their databases through it
	// Source is how they were found: "urls", "local" or "testcontainers";
	// "urls+local" and the like when the two services came different ways.
	Source string

	terminate []func(context.Context) error // containers to stop on Close
	closeOnce sync.Once
	closeErr  error
}

// Close terminates the containers Resolve started, if any. It is safe to
// call more than once.
func (s *Services) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, t := range s.terminate {
			errs = append(errs, t(ctx))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// UnavailableError says that no Redis or no PostgreSQL could be found. It
// names the three ways and what happened on each, so one message tells the
// user what to fix. The CLI maps it to exit code 4.
type UnavailableError struct {
	Missing []string  // "Redis", "PostgreSQL": what could not be found
	Ways    [3]string // what happened on each way, in order
}

// Error returns the one message, over several lines.
func (e *UnavailableError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no %s for the run; inplay looks in three ways:\n", strings.Join(e.Missing, " and no "))
	fmt.Fprintf(&b, "  1. %s / %s (or --redis-url / --postgres-url): %s\n", EnvRedisURL, EnvPostgresURL, e.Ways[0])
	fmt.Fprintf(&b, "  2. local services at 127.0.0.1:6379 and 127.0.0.1:5432: %s\n", e.Ways[1])
	fmt.Fprintf(&b, "  3. testcontainers (%s, %s) on a Docker engine: %s", RedisImage, PostgresImage, e.Ways[2])
	return b.String()
}

// service is one of the two services being resolved.
type service struct {
	name     string // Redis, PostgreSQL
	given    string // the URL from Options
	local    string // the URL of step 2
	check    func(ctx context.Context, url string) error
	url      string // the result
	source   string
	problems [3]string
}

// Resolve finds Redis and PostgreSQL; see the package comment for the order.
// ctx bounds the whole search, container starts included.
func Resolve(ctx context.Context, o Options) (*Services, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	quietRedis(log)
	svcs := []*service{
		{name: "Redis", given: o.RedisURL, local: localRedis, check: CheckRedis},
		{name: "PostgreSQL", given: o.PostgresURL, local: localPostgres, check: CheckPostgres},
	}

	// 1 and 2, for both services at once: each check waits up to checkTimeout.
	var wg sync.WaitGroup
	for _, s := range svcs {
		wg.Go(func() { s.resolveURLOrLocal(ctx) })
	}
	wg.Wait()

	// 3, for whatever is still missing and was not given explicitly.
	out := &Services{}
	var want []*service
	for _, s := range svcs {
		if s.url == "" && s.given == "" {
			want = append(want, s)
		}
	}
	switch {
	case len(want) == 0:
	case o.NoContainers:
		for _, s := range want {
			s.problems[2] = "skipped (--no-containers)"
		}
	default:
		if err := dockerAnswers(ctx); err != nil {
			for _, s := range want {
				s.problems[2] = fmt.Sprintf("no Docker engine answers (%v)", err)
			}
			break
		}
		for _, s := range want {
			log.Info("starting a container", "service", s.name)
			url, terminate, err := startContainer(ctx, s.name)
			if terminate != nil {
				out.terminate = append(out.terminate, terminate)
			}
			if err == nil {
				err = s.check(ctx, url)
			}
			if err != nil {
				s.problems[2] = fmt.Sprintf("%s container failed: %v", s.name, err)
				continue
			}
			s.url, s.source = url, SourceTestcontainers
		}
	}

	var missing []string
	for _, s := range svcs {
		if s.url == "" {
			missing = append(missing, s.name)
		}
	}
	if len(missing) > 0 {
		out.Close(context.WithoutCancel(ctx)) // a container that did start is not needed
		e := &UnavailableError{Missing: missing}
		for way := range e.Ways {
			var parts []string
			for _, s := range svcs {
				if s.problems[way] != "" {
					parts = append(parts, s.name+": "+s.problems[way])
				}
			}
			e.Ways[way] = strings.Join(parts, "; ")
		}
		return nil, e
	}
	out.RedisURL, out.PostgresURL = svcs[0].url, svcs[1].url
	out.Source = svcs[0].source
	if svcs[1].source != svcs[0].source {
		out.Source += "+" + svcs[1].source
	}
	log.Info("stack resolved", "source", out.Source, "redis", redacted(out.RedisURL), "postgres", redacted(out.PostgresURL))
	return out, nil
}

// resolveURLOrLocal runs steps 1 and 2 for one service, writing down what
// happened on each so that a failure can name it.
func (s *service) resolveURLOrLocal(ctx context.Context) {
	if s.given != "" {
		if err := s.check(ctx, s.given); err != nil {
			s.problems[0] = fmt.Sprintf("%s does not answer: %v", redacted(s.given), err)
			s.problems[1] = "not tried: a URL given explicitly must answer, with no fallback"
			s.problems[2] = s.problems[1]
			return
		}
		s.url, s.source = s.given, SourceURLs
		return
	}
	s.problems[0] = "no URL given"
	if err := s.check(ctx, s.local); err != nil {
		s.problems[1] = fmt.Sprintf("%s does not answer: %v", redacted(s.local), err)
		return
	}
	s.url, s.source = s.local, SourceLocal
}

// goRedisLog is where go-redis's own log lines go once quietRedis has run:
// the logger of the latest Resolve, at debug level; nowhere before one.
var (
	goRedisLog     atomic.Pointer[slog.Logger]
	goRedisLogOnce sync.Once
)

// goRedisLogger hands go-redis's internal log lines to goRedisLog. By
// default go-redis prints them to stderr ("pool.go:770 ... failed to dial"),
// which spoils the one message a failed check ends in: the check's error
// already says the same, once, in its place.
type goRedisLogger struct{}

// Printf logs one go-redis line at debug level.
func (goRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if log := goRedisLog.Load(); log != nil {
		log.DebugContext(ctx, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
	}
}

// quietRedis routes go-redis's log lines to log (when not nil), and
// installs goRedisLogger the first time. go-redis has one logger per
// process, so the in-process platform's go-redis lines go the same way.
// redis.SetLogger stores atomically and the logger is set once, so clients
// already running do not race with it.
func quietRedis(log *slog.Logger) {
	if log != nil {
		goRedisLog.Store(log)
	}
	goRedisLogOnce.Do(func() { redis.SetLogger(goRedisLogger{}) })
}

// CheckRedis reports whether the Redis at rawURL answers PING within a
// short timeout. go-redis's own log lines go to the logger of the latest
// Resolve at debug level, not to stderr.
func CheckRedis(ctx context.Context, rawURL string) error {
	quietRedis(nil)
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return fmt.Errorf("bad Redis URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = checkTimeout, checkTimeout, checkTimeout
	opts.MaxRetries = -1 // a check, not a workload: one try
	opts.PoolSize = 1
	opts.DialerRetries = 1
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := redis.NewClient(opts)
	defer c.Close()
	return c.Ping(ctx).Err()
}

// CheckPostgres reports whether the PostgreSQL at rawURL accepts a
// connection and answers a query within a short timeout.
func CheckPostgres(ctx context.Context, rawURL string) error {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return fmt.Errorf("bad PostgreSQL URL: %w", err)
	}
	cfg.ConnectTimeout = checkTimeout
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// redacted hides a password in a URL before it is printed.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
