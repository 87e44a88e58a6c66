package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
)

// testOptions are the URLs the tests use: the environment's, else the local
// defaults. It skips (or fails, in CI) when the services do not answer.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		RedisURL:     servicetest.RedisURL(t),
		PostgresURL:  servicetest.PostgresAdminURL(t),
		NoContainers: true,
	}
}

// testServices resolves the test services.
func testServices(t *testing.T) *Services {
	t.Helper()
	o := testOptions(t)
	s, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// runID returns a run id no other test run uses.
func runID(t *testing.T) string {
	var b [4]byte
	rand.Read(b[:])
	return "test_" + hex.EncodeToString(b[:])
}

func databaseExists(t *testing.T, adminURL, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func redisClient(t *testing.T, rawURL string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestResolveExplicitURLs(t *testing.T) {
	o := testOptions(t)
	s, err := Resolve(context.Background(), o)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	defer s.Close(context.Background())
	if s.Source != SourceURLs || s.RedisURL != o.RedisURL || s.PostgresURL != o.PostgresURL {
		t.Errorf("got %+v, want the given URLs with source %q", s, SourceURLs)
	}
}

func TestResolveURLsPointingNowhere(t *testing.T) {
	o := Options{
		RedisURL:    "redis://127.0.0.1:1/0",
		PostgresURL: "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable",
	}
	began := time.Now()
	_, err := Resolve(context.Background(), o)
	// Only catches a hang (waiting on Docker or a driver's long default);
	// a refused port answers at once.
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("Resolve took %s", took)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("Resolve error %v (%T), want *UnavailableError", err, err)
	}
	msg := err.Error()
	for _, want := range []string{
		"no Redis and no PostgreSQL",
		"1. INPLAY_REDIS_URL / INPLAY_POSTGRES_URL", "redis://127.0.0.1:1/0 does not answer", "127.0.0.1:1/test",
		"2. local services at 127.0.0.1:6379 and 127.0.0.1:5432", "not tried: a URL given explicitly must answer",
		"3. testcontainers (redis:7-alpine, postgres:16-alpine) on a Docker engine",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "secret") {
		t.Errorf("message shows the password:\n%s", msg)
	}
}

func TestResolveGivenURLHasNoFallback(t *testing.T) {
	// Redis is given and wrong; a local Redis may well answer, but it must
	// not be used in its place.
	_, err := Resolve(context.Background(), Options{RedisURL: "redis://127.0.0.1:1/0", NoContainers: true})
	var ue *UnavailableError
	if !errors.As(err, &ue) || len(ue.Missing) == 0 || ue.Missing[0] != "Redis" {
		t.Fatalf("Resolve error %v, want *UnavailableError missing Redis", err)
	}
	if !strings.Contains(ue.Ways[1], "Redis: not tried") {
		t.Errorf("way 2 for Redis: %q", ue.Ways[1])
	}
}

func TestResolveLocal(t *testing.T) {
	ctx := context.Background()
	if CheckRedis(ctx, LocalRedisURL) != nil || CheckPostgres(ctx, LocalPostgresURL) != nil {
		t.Skip("no local Redis and PostgreSQL at 127.0.0.1:6379 and 127.0.0.1:5432")
	}
	s, err := Resolve(ctx, Options{NoContainers: true})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	defer s.Close(ctx)
	if s.Source != SourceLocal || s.RedisURL != LocalRedisURL || s.PostgresURL != LocalPostgresURL {
		t.Errorf("got %+v, want the local services", s)
	}
}

func TestProvisionAndTeardown(t *testing.T) {
	s := testServices(t)
	ctx := context.Background()
	id := runID(t)
	r, err := s.Provision(ctx, id)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { r.Teardown(context.Background()) })

	if r.DatabaseName != "inplay_"+id || r.KeyPrefix != "inplay:"+id+":" || r.RedisAddr == "" {
		t.Errorf("run %+v", r)
	}
	// Migrated: the platform's tables are there, in the run's own database.
	conn, err := pgx.Connect(ctx, r.DatabaseURL)
	if err != nil {
		t.Fatalf("connect to the run's database: %v", err)
	}
	var db string
	var bets, postings *string
	err = conn.QueryRow(ctx, "SELECT current_database(), to_regclass('bets')::text, to_regclass('postings')::text").Scan(&db, &bets, &postings)
	conn.Close(ctx)
	if err != nil || db != r.DatabaseName || bets == nil || postings == nil {
		t.Fatalf("database %q, bets %v, postings %v, err %v", db, bets, postings, err)
	}

	// Keys: the run's own, and others that Teardown must leave alone.
	rc := redisClient(t, r.RedisURL)
	foreign := []string{"inplay:" + id + "x:k", "other:" + r.KeyPrefix + "k", "inplay:" + id} // longer id, another namespace, no colon
	mine := []string{r.KeyPrefix + "exposure:m1", r.KeyPrefix + "h"}
	for _, k := range append(append([]string{}, foreign...), mine...) {
		if err := rc.Set(ctx, k, "1", time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { rc.Del(context.Background(), foreign...) })

	if err := r.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if databaseExists(t, s.PostgresURL, r.DatabaseName) {
		t.Errorf("database %s still exists", r.DatabaseName)
	}
	if n := rc.Exists(ctx, mine...).Val(); n != 0 {
		t.Errorf("%d of the run's keys remain", n)
	}
	if n := rc.Exists(ctx, foreign...).Val(); n != int64(len(foreign)) {
		t.Errorf("only %d of %d foreign keys remain", n, len(foreign))
	}
	// Twice is harmless.
	if err := r.Teardown(ctx); err != nil {
		t.Errorf("second Teardown: %v", err)
	}
}

func TestTeardownEscapesGlobCharacters(t *testing.T) {
	s := testServices(t)
	ctx := context.Background()
	id := runID(t) + "*[a-z]?"
	r, err := s.Provision(ctx, id)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { r.Teardown(context.Background()) })
	rc := redisClient(t, r.RedisURL)
	// Would match the prefix read as a pattern, but is another run's key.
	foreign := "inplay:" + strings.TrimSuffix(id, "*[a-z]?") + "ZZbX:k"
	rc.Set(ctx, foreign, "1", time.Hour)
	rc.Set(ctx, r.KeyPrefix+"k", "1", time.Hour)
	t.Cleanup(func() { rc.Del(context.Background(), foreign) })
	if err := r.Teardown(ctx); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if rc.Exists(ctx, foreign).Val() != 1 || rc.Exists(ctx, r.KeyPrefix+"k").Val() != 0 {
		t.Errorf("foreign key kept: %d, own key kept: %d", rc.Exists(ctx, foreign).Val(), rc.Exists(ctx, r.KeyPrefix+"k").Val())
	}
}

func TestProvisionRefusesAnExistingDatabase(t *testing.T) {
	s := testServices(t)
	ctx := context.Background()
	id := runID(t)
	r, err := s.Provision(ctx, id)
	if err != nil {
		t.Fatalf("Provision: %v", err)
	}
	t.Cleanup(func() { r.Teardown(context.Background()) })
	// "a-b" and "a_b" name the same database: the second run must not share it.
	if _, err := s.Provision(ctx, strings.Replace(id, "_", "-", 1)); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second Provision: %v, want a refusal", err)
	}
	if !databaseExists(t, s.PostgresURL, r.DatabaseName) {
		t.Error("the refused Provision dropped the first run's database")
	}
}

func TestTeardownRefusesForeignNames(t *testing.T) {
	tests := []struct {
		name string
		run  Run
	}{
		// A database Provision did not make, such as the admin one.
		{"admin database", Run{DatabaseName: "test", KeyPrefix: "inplay:x:"}},
		// The bare prefix would be every run's database.
		{"bare prefix", Run{DatabaseName: "inplay_", KeyPrefix: "inplay:x:"}},
		// An empty prefix would be every key.
		{"empty key prefix", Run{DatabaseName: "inplay_x", KeyPrefix: ""}},
		// Without the closing colon, run "x" would take run "xy"'s keys.
		{"open key prefix", Run{DatabaseName: "inplay_x", KeyPrefix: "inplay:x"}},
		// Every run's keys.
		{"no run id", Run{DatabaseName: "inplay_x", KeyPrefix: "inplay::"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run.Teardown(context.Background()); err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Errorf("Teardown: %v, want a refusal", err)
			}
		})
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		// The runner's ids pass through.
		{"runner id", "smoke_20261129t084454_a1b2c3", "inplay_smoke_20261129t084454_a1b2c3", ""},
		// Upper case folds; anything outside a-z0-9_ becomes _.
		{"mixed", "Smoke-Run.1", "inplay_smoke_run_1", ""},
		{"unicode", "café", "inplay_caf_", ""},
		{"empty", "", "", "empty"},
		// Cutting would let two ids share a database.
		{"too long", strings.Repeat("a", 57), "", "at most 56"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DatabaseName(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("DatabaseName(%q) = %q, %v; want error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("DatabaseName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		// The path is replaced, the query kept.
		{"replace", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "postgres://postgres@127.0.0.1:5432/inplay_x?sslmode=disable", true},
		// A missing port gets PostgreSQL's default.
		{"default port", "postgresql://u:p@db/test", "postgresql://u:p@db:5432/inplay_x", true},
		{"ipv6", "postgres://[::1]/test", "postgres://[::1]:5432/inplay_x", true},
		// Key/value connection strings cannot be rewritten safely.
		{"keyword form", "host=127.0.0.1 dbname=test", "", false},
		{"wrong scheme", "mysql://127.0.0.1/test", "", false},
		{"no host", "postgres:///test", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withDatabase(tt.in, "inplay_x")
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("withDatabase(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestResolveWalksEveryWay(t *testing.T) {
	// No URLs and no local services: Resolve goes on to Docker.
	defer func(r, p string) { localRedis, localPostgres = r, p }(localRedis, localPostgres)
	localRedis, localPostgres = "redis://127.0.0.1:1/0", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable"
	ctx := context.Background()
	dockerErr := dockerAnswers(ctx)

	tests := []struct {
		name         string
		noContainers bool
		way3         string
	}{
		// The flag stops the search before Docker.
		{"no containers", true, "Redis: skipped (--no-containers); PostgreSQL: skipped (--no-containers)"},
		// Without an engine, the Docker check says so instead of hanging or panicking.
		{"no docker", false, "Redis: no Docker engine answers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.noContainers && dockerErr == nil {
				t.Skip("a Docker engine answers here; TestContainers covers step 3")
			}
			_, err := Resolve(ctx, Options{NoContainers: tt.noContainers})
			var ue *UnavailableError
			if !errors.As(err, &ue) {
				t.Fatalf("Resolve: %v, want *UnavailableError", err)
			}
			if ue.Ways[0] != "Redis: no URL given; PostgreSQL: no URL given" ||
				!strings.Contains(ue.Ways[1], "Redis: redis://127.0.0.1:1/0 does not answer") ||
				!strings.Contains(ue.Ways[1], "PostgreSQL: postgres://postgres@127.0.0.1:1/postgres?sslmode=disable does not answer") ||
				!strings.Contains(ue.Ways[2], tt.way3) {
				t.Errorf("message:\n%s", err)
			}
		})
	}
}
