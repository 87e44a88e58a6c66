// Package pgtest gives tests fresh, private stores: a newly created and
// migrated PostgreSQL database, or a Redis key prefix of their own, both
// removed when the test ends.
//
// The services come from INPLAY_POSTGRES_URL and INPLAY_REDIS_URL, or the
// local defaults. A service that does not answer skips the test, unless
// INPLAY_REQUIRE_SERVICES=1 (as in CI), which fails it instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/postgres"
)

// Default service addresses, used when the environment names none.
const (
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

// PostgresURL is the server tests create their databases on.
func PostgresURL() string {
	if u := os.Getenv("INPLAY_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// RedisURL is the Redis server tests put their keys on.
func RedisURL() string {
	if u := os.Getenv("INPLAY_REDIS_URL"); u != "" {
		return u
	}
	return DefaultRedisURL
}

// unavailable skips the test, or fails it when the environment demands the
// services (CI), so a missing service can never pass a build silently.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("INPLAY_REQUIRE_SERVICES") == "1" {
		tb.Fatalf("%s (INPLAY_REQUIRE_SERVICES=1)", msg)
	}
	tb.Skipf("%s; set INPLAY_POSTGRES_URL/INPLAY_REDIS_URL or start the services", msg)
}

func randomSuffix(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(b[:])
}

// NewDatabase creates a database with a random name, applies the platform's
// migrations to it and returns its URL. The database is dropped (with
// FORCE, so lingering connections do not block it) when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	adminURL := PostgresURL()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		unavailable(tb, "PostgreSQL at %s does not answer: %v", redact(adminURL), err)
		return ""
	}
	defer admin.Close(context.Background())

	name := "inplay_test_" + randomSuffix(tb)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})

	u, err := url.Parse(adminURL)
	if err != nil {
		tb.Fatalf("parse %s: %v", redact(adminURL), err)
	}
	u.Path = "/" + name
	dbURL := u.String()

	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		tb.Fatalf("open %s: %v", name, err)
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		tb.Fatalf("migrate %s: %v", name, err)
	}
	return dbURL
}

// NewPool is NewDatabase plus a connection pool to it, closed when the test
// ends (before the database is dropped).
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewDatabase(tb)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		tb.Fatalf("open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// RedisPrefix returns the address of the test Redis and a random key prefix
// (ending in ':') that belongs to this test alone. Every key under the
// prefix is deleted when the test ends; no other key is touched.
func RedisPrefix(tb testing.TB) (addr, prefix string) {
	tb.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		tb.Fatalf("parse %s: %v", redact(RedisURL()), err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		unavailable(tb, "Redis at %s does not answer: %v", opts.Addr, err)
		return "", ""
	}
	prefix = "inplaytest:" + randomSuffix(tb) + ":"
	tb.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, client, prefix); err != nil {
			tb.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
	return opts.Addr, prefix
}

// NewRedis is RedisPrefix plus a client for it, closed when the test ends.
func NewRedis(tb testing.TB) (client *redis.Client, prefix string) {
	tb.Helper()
	addr, prefix := RedisPrefix(tb)
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		tb.Fatalf("parse %s: %v", redact(RedisURL()), err)
	}
	opts.Addr = addr
	client = redis.NewClient(opts)
	tb.Cleanup(func() { client.Close() })
	return client, prefix
}

// DeletePrefix deletes every key that starts with prefix, scanning in
// batches so a large keyspace never blocks the server.
func DeletePrefix(ctx context.Context, client redis.UniversalClient, prefix string) error {
	iter := client.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := client.Del(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return client.Del(ctx, batch...).Err()
	}
	return nil
}

// escapeGlob quotes the characters SCAN MATCH treats as a pattern, so a
// prefix only ever matches itself.
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// redact hides a password in a URL before it goes into a test log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
