package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/postgres"
)

// Run is one run's own share of the services: a database and a Redis key
// prefix that no other run uses.
type Run struct {
	DatabaseName string // inplay_<sanitized run id>
	DatabaseURL  string // the admin URL with the run's database in place of the admin one
	RedisURL     string // the Services' Redis URL; its path selects RedisDB
	RedisAddr    string // host:port, for clients (and chaos links) that take an address
	RedisDB      int    // the Redis database number; a client given RedisAddr must select it
	KeyPrefix    string // inplay:<run id>: — every key of the run starts with it

	adminURL string // where Teardown drops the database from
}

// Name rules. PostgreSQL identifiers are at most 63 bytes; a longer run id
// is refused rather than cut, since two cut ids could name one database.
const (
	databasePrefix = "inplay_"
	keyPrefixStart = "inplay:"
	maxRunID       = 63 - len(databasePrefix)
)

// DatabaseName returns the database name of a run: "inplay_" and the run id
// in lower case, with every character other than a-z, 0-9 and _ made "_".
func DatabaseName(runID string) (string, error) {
	if runID == "" {
		return "", errors.New("stack: the run id is empty")
	}
	if len(runID) > maxRunID {
		return "", fmt.Errorf("stack: run id %q is %d bytes; at most %d fit in a database name", runID, len(runID), maxRunID)
	}
	var b strings.Builder
	b.WriteString(databasePrefix)
	for _, r := range strings.ToLower(runID) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String(), nil
}

// Provision gives the run runID its own database, created through the admin
// URL and migrated to the platform's schema, and its Redis key prefix. A
// database of that name that exists already is an error: it belongs to
// someone else, and a run never touches data that is not its own. If the
// migration fails, the new database is dropped again.
func (s *Services) Provision(ctx context.Context, runID string) (*Run, error) {
	name, err := DatabaseName(runID)
	if err != nil {
		return nil, err
	}
	ropts, err := redis.ParseURL(s.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("stack: Redis URL: %w", err)
	}
	dbURL, err := withDatabase(s.PostgresURL, name)
	if err != nil {
		return nil, err
	}
	r := &Run{
		DatabaseName: name,
		DatabaseURL:  dbURL,
		RedisURL:     s.RedisURL,
		RedisAddr:    ropts.Addr,
		RedisDB:      ropts.DB,
		KeyPrefix:    keyPrefixStart + runID + ":",
		adminURL:     s.PostgresURL,
	}

	admin, err := pgx.Connect(ctx, s.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("stack: connect to PostgreSQL as admin: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("stack: create database %s: %w", name, err)
	}

	if err := migrate(ctx, dbURL); err != nil {
		_, derr := admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		return nil, errors.Join(fmt.Errorf("stack: migrate %s: %w", name, err), derr)
	}
	return r, nil
}

// migrate applies the platform's schema to the database at dbURL.
func migrate(ctx context.Context, dbURL string) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	return postgres.Migrate(ctx, pool)
}

// Teardown drops the run's database (WITH (FORCE), so connections left open
// by a crashed platform do not keep it alive) and unlinks every Redis key
// under the run's prefix. It touches nothing else: it refuses a database
// name or a key prefix that Provision would not have made, and checks every
// key it deletes against the prefix. Calling it twice is harmless.
func (r *Run) Teardown(ctx context.Context) error {
	if !strings.HasPrefix(r.DatabaseName, databasePrefix) || len(r.DatabaseName) == len(databasePrefix) {
		return fmt.Errorf("stack: refusing to drop %q: not a run database (%s...)", r.DatabaseName, databasePrefix)
	}
	if !strings.HasPrefix(r.KeyPrefix, keyPrefixStart) || !strings.HasSuffix(r.KeyPrefix, ":") || len(r.KeyPrefix) <= len(keyPrefixStart)+1 {
		return fmt.Errorf("stack: refusing to delete keys under %q: not a run prefix (%s<run id>:)", r.KeyPrefix, keyPrefixStart)
	}
	return errors.Join(r.dropDatabase(ctx), r.deleteKeys(ctx))
}

func (r *Run) dropDatabase(ctx context.Context) error {
	// A database cannot be dropped from a connection to itself. Provision
	// remembers the admin URL; a Run built by hand falls back to the
	// "postgres" database, which every installation has.
	adminURL := r.adminURL
	if adminURL == "" {
		var err error
		if adminURL, err = withDatabase(r.DatabaseURL, "postgres"); err != nil {
			return err
		}
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("stack: connect to drop %s: %w", r.DatabaseName, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{r.DatabaseName}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("stack: drop database %s: %w", r.DatabaseName, err)
	}
	return nil
}

// deleteKeys SCANs for the prefix and UNLINKs what it finds, in batches.
// SCAN visits every key present for the whole iteration, and ends when its
// cursor comes back to 0.
func (r *Run) deleteKeys(ctx context.Context) error {
	opts, err := redis.ParseURL(r.RedisURL)
	if err != nil {
		return fmt.Errorf("stack: Redis URL: %w", err)
	}
	quietRedis(nil)
	c := redis.NewClient(opts)
	defer c.Close()
	pattern := GlobEscape(r.KeyPrefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
		if err != nil {
			return fmt.Errorf("stack: scan %s*: %w", r.KeyPrefix, err)
		}
		mine := keys[:0]
		for _, k := range keys {
			if strings.HasPrefix(k, r.KeyPrefix) { // belt and braces over MATCH
				mine = append(mine, k)
			}
		}
		if len(mine) > 0 {
			if err := c.Unlink(ctx, mine...).Err(); err != nil {
				return fmt.Errorf("stack: unlink keys under %s: %w", r.KeyPrefix, err)
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// GlobEscape escapes the characters Redis's MATCH patterns treat specially
// (* ? [ ] \ ^ -), so that s matches only itself.
func GlobEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// withDatabase returns the PostgreSQL URL raw with its database set to name.
func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("stack: PostgreSQL URL %s is not a postgres:// URL", redacted(raw))
	}
	if u.Host == "" {
		return "", fmt.Errorf("stack: PostgreSQL URL %s has no host", redacted(raw))
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		u.Host = net.JoinHostPort(u.Hostname(), "5432")
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}
