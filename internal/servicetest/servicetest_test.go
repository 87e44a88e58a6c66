package servicetest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a test, to watch a helper skip or fail it.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls helper with a recorder on a goroutine of its own, as the
// testing package does, so that Skipf and Fatalf can end it.
func run(helper func(testing.TB) string) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(r)
	}()
	<-done
	return r
}

func TestServiceDown(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		url     string
		helper  func(testing.TB) string
		require string
		want    []string // in the message
		fail    bool
	}{
		// Sad: nothing listens on port 1, so each helper ends the test.
		{"postgres skips locally", EnvPostgresURL, "postgres://postgres:secret@127.0.0.1:1/test?sslmode=disable", PostgresAdminURL, "",
			[]string{"PostgreSQL at 127.0.0.1:1", EnvPostgresURL + "=postgres://postgres:xxxxx@127.0.0.1:1/test", "does not answer", "set " + EnvPostgresURL}, false},
		{"postgres fails in CI", EnvPostgresURL, "postgres://postgres@127.0.0.1:1/test?sslmode=disable", PostgresAdminURL, "1",
			[]string{"PostgreSQL at 127.0.0.1:1", EnvPostgresURL, "does not answer", EnvRequire + "=1"}, true},
		{"postgres address skips", EnvPostgresURL, "postgres://postgres@127.0.0.1:1/test?sslmode=disable", PostgresAddr, "",
			[]string{"PostgreSQL at 127.0.0.1:1"}, false},
		{"redis skips locally", EnvRedisURL, "redis://127.0.0.1:1/0", RedisURL, "",
			[]string{"Redis at 127.0.0.1:1", EnvRedisURL + "=redis://127.0.0.1:1/0", "does not answer", "set " + EnvRedisURL}, false},
		{"redis fails in CI", EnvRedisURL, "redis://127.0.0.1:1/0", RedisAddr, "1",
			[]string{"Redis at 127.0.0.1:1", "does not answer", EnvRequire + "=1"}, true},
		{"anything but 1 still skips", EnvRedisURL, "redis://127.0.0.1:1/0", RedisURL, "true",
			[]string{"Redis at 127.0.0.1:1"}, false},
		{"an unparsable URL fails even locally", EnvRedisURL, "redis://127.0.0.1:notaport/0", RedisURL, "",
			[]string{"Redis URL", "not valid"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.url)
			t.Setenv(EnvRequire, tt.require)
			r := run(tt.helper)
			if r.failed != tt.fail || r.skipped == tt.fail {
				t.Fatalf("failed %v skipped %v (%q), want failed %v", r.failed, r.skipped, r.msg, tt.fail)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.msg, w) {
					t.Errorf("message %q lacks %q", r.msg, w)
				}
			}
			if strings.Contains(r.msg, "secret") {
				t.Errorf("message %q shows the password", r.msg)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Setenv(EnvPostgresURL, "")
	t.Setenv(EnvRedisURL, " ")
	if got := ConfiguredPostgresURL(); got != DefaultPostgresURL {
		t.Errorf("ConfiguredPostgresURL() = %q, want %q", got, DefaultPostgresURL)
	}
	if got := ConfiguredRedisURL(); got != DefaultRedisURL {
		t.Errorf("ConfiguredRedisURL() = %q, want %q", got, DefaultRedisURL)
	}
}

// TestServicesUp runs against the real services (and so skips without
// them, or fails under INPLAY_REQUIRE_SERVICES=1).
func TestServicesUp(t *testing.T) {
	if got := PostgresAdminURL(t); got != ConfiguredPostgresURL() {
		t.Errorf("PostgresAdminURL = %q, want %q", got, ConfiguredPostgresURL())
	}
	if got := RedisOptions(t).Addr; got != RedisAddr(t) {
		t.Errorf("RedisOptions().Addr = %q, RedisAddr = %q", got, RedisAddr(t))
	}
	if got := PostgresAddr(t); got == "" {
		t.Error("PostgresAddr is empty")
	}
}
