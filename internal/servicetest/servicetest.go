// Package servicetest finds the real Redis and PostgreSQL the tests run
// against, and decides what a test does when one does not answer.
//
// Each service comes from its environment variable (INPLAY_POSTGRES_URL,
// INPLAY_REDIS_URL), or else the local default. The functions that take a
// testing.TB probe the service with a short timeout first. When it does not
// answer, the test is skipped, unless INPLAY_REQUIRE_SERVICES=1 (as in CI),
// which fails it instead, so a missing service never passes a build
// silently. Either way the one message names the variable, the address and
// the error.
//
// The package only finds services. Isolation (a database, a key prefix of
// a test's own, and their cleanup) stays with the helpers of each package,
// such as platform/postgres/pgtest. It imports no inplay package, so every
// package's tests may use it.
package servicetest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Environment variables the package reads.
const (
	EnvPostgresURL = "INPLAY_POSTGRES_URL" // admin URL: tests create their databases through it
	EnvRedisURL    = "INPLAY_REDIS_URL"
	// EnvRequire, set to "1", turns a skip for a missing service into a
	// failure. CI sets it.
	EnvRequire = "INPLAY_REQUIRE_SERVICES"
)

// Local defaults, used when the environment names no service.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// ProbeTimeout bounds each probe, so that a service that is down or an
// address that goes nowhere costs a test seconds, not a driver's default.
const ProbeTimeout = 5 * time.Second

// service is one of the services tests depend on.
type service struct {
	name  string // for messages: "PostgreSQL", "Redis"
	env   string
	def   string
	addr  func(raw string) (string, error)            // host:port of a URL
	probe func(ctx context.Context, raw string) error // nil when it answers
}

var (
	postgresService = service{name: "PostgreSQL", env: EnvPostgresURL, def: DefaultPostgresURL, addr: postgresAddr, probe: probePostgres}
	redisService    = service{name: "Redis", env: EnvRedisURL, def: DefaultRedisURL, addr: redisAddr, probe: probeRedis}
)

// ConfiguredPostgresURL is the PostgreSQL admin URL from INPLAY_POSTGRES_URL,
// or DefaultPostgresURL. It does not probe the server.
func ConfiguredPostgresURL() string { return postgresService.configured() }

// ConfiguredRedisURL is the Redis URL from INPLAY_REDIS_URL, or
// DefaultRedisURL. It does not probe the server.
func ConfiguredRedisURL() string { return redisService.configured() }

// PostgresAdminURL returns the PostgreSQL admin URL after checking that the
// server accepts a connection and answers a query; otherwise it skips the
// test (or fails it under INPLAY_REQUIRE_SERVICES=1).
func PostgresAdminURL(tb testing.TB) string {
	tb.Helper()
	raw, _ := postgresService.require(tb)
	return raw
}

// PostgresAddr is PostgresAdminURL's server as host:port, for tests that
// talk to it below the driver (through a proxy, say).
func PostgresAddr(tb testing.TB) string {
	tb.Helper()
	_, addr := postgresService.require(tb)
	return addr
}

// RedisURL returns the Redis URL after checking that the server answers
// PING; otherwise it skips the test (or fails it under
// INPLAY_REQUIRE_SERVICES=1).
func RedisURL(tb testing.TB) string {
	tb.Helper()
	raw, _ := redisService.require(tb)
	return raw
}

// RedisOptions is RedisURL, parsed for go-redis.
func RedisOptions(tb testing.TB) *redis.Options {
	tb.Helper()
	raw, _ := redisService.require(tb)
	opts, err := redis.ParseURL(raw)
	if err != nil { // require parsed it already
		tb.Fatalf("%s: %v", redisService.env, err)
	}
	return opts
}

// RedisAddr is RedisURL's server as host:port.
func RedisAddr(tb testing.TB) string {
	tb.Helper()
	_, addr := redisService.require(tb)
	return addr
}

// configured is the URL from the environment, else the default.
func (s service) configured() string {
	if raw := strings.TrimSpace(os.Getenv(s.env)); raw != "" {
		return raw
	}
	return s.def
}

// require probes the service and returns its URL and address, or ends the
// test: a URL that does not parse fails it (the configuration is wrong,
// whatever the environment), a service that does not answer skips it, or
// fails it when the environment demands the services.
func (s service) require(tb testing.TB) (raw, addr string) {
	tb.Helper()
	raw = s.configured()
	source := s.env + "=" + redact(raw)
	if os.Getenv(s.env) == "" {
		source = s.env + " unset, default " + redact(raw)
	}
	addr, err := s.addr(raw)
	if err != nil {
		tb.Fatalf("%s URL (%s) is not valid: %v", s.name, source, err)
		return "", ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
	defer cancel()
	if err := s.probe(ctx, raw); err != nil {
		msg := fmt.Sprintf("%s at %s (%s) does not answer: %v", s.name, addr, source, err)
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%s; %s=1 requires it", msg, EnvRequire)
			return "", ""
		}
		tb.Skipf("%s; set %s to a running server (or %s=1 to fail instead of skipping)", msg, s.env, EnvRequire)
		return "", ""
	}
	return raw, addr
}

func postgresAddr(raw string) (string, error) {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), nil
}

func redisAddr(raw string) (string, error) {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return "", err
	}
	return opts.Addr, nil
}

// probePostgres connects and runs SELECT 1.
func probePostgres(ctx context.Context, raw string) error {
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = ProbeTimeout
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// probeRedis sends one PING, with no retry. It dials once itself first:
// go-redis logs a failed dial to stderr, which would repeat, out of place,
// what the test's message says.
func probeRedis(ctx context.Context, raw string) error {
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, opts.Network, opts.Addr)
	if err != nil {
		return err
	}
	conn.Close()
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = ProbeTimeout, ProbeTimeout, ProbeTimeout
	opts.MaxRetries = -1
	opts.PoolSize = 1
	opts.DialerRetries = 1
	c := redis.NewClient(opts)
	defer c.Close()
	return c.Ping(ctx).Err()
}

// redact hides a password in a URL before it goes into a test log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
