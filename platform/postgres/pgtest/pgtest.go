// Package pgtest gives tests fresh, private stores: a newly created and
// migrated PostgreSQL database, or a Redis key prefix of their own, both
// removed when the test ends.
//
// The services are found by internal/servicetest: INPLAY_POSTGRES_URL and
// INPLAY_REDIS_URL, or the local defaults. A service that does not answer
// skips the test, unless INPLAY_REQUIRE_SERVICES=1 (as in CI), which fails
// it instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
	"github.com/inplaylabs/inplay/platform/postgres"
	platredis "github.com/inplaylabs/inplay/platform/redis"
)

// Default service addresses, used when the environment names none.
const (
	DefaultPostgresURL = servicetest.DefaultPostgresURL
	DefaultRedisURL    = servicetest.DefaultRedisURL
)

// PostgresURL is the server tests create their databases on. It does not
// probe the server; NewDatabase does.
func PostgresURL() string { return servicetest.ConfiguredPostgresURL() }

// RedisURL is the Redis server tests put their keys on. It does not probe
// the server; RedisPrefix does.
func RedisURL() string { return servicetest.ConfiguredRedisURL() }

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

	adminURL := servicetest.PostgresAdminURL(tb)
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("connect to %s: %v", redact(adminURL), err)
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
	opts := servicetest.RedisOptions(tb)
	client := redis.NewClient(opts)
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
	iter := client.Scan(ctx, 0, platredis.EscapeGlob(prefix)+"*", 500).Iterator()
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

// redact hides a password in a URL before it goes into a test log.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
