package stack

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// childEnv makes the test binary, run again by TestFailedChecksPrintOneMessage,
// play the CLI: resolve a stack that is not there and print the error.
const childEnv = "INPLAY_STACK_TEST_CHILD"

func TestFailedChecksPrintOneMessage(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		_, err := Resolve(context.Background(), Options{
			RedisURL:     "redis://127.0.0.1:1/0",
			PostgresURL:  "postgres://postgres@127.0.0.1:1/test?sslmode=disable",
			NoContainers: true,
		})
		fmt.Printf("resolve: %v\n", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedChecksPrintOneMessage$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	// The message the CLI turns into exit 4 is there, and nothing else
	// reached stderr: go-redis's "failed to dial" line went to the logger.
	if !strings.Contains(stdout.String(), "resolve: no Redis and no PostgreSQL") {
		t.Errorf("child printed no unavailable error:\n%s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr is not empty:\n%s", stderr.String())
	}
}

func TestGoRedisLinesGoToTheStackLogger(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err := Resolve(context.Background(), Options{RedisURL: "redis://127.0.0.1:1/0", PostgresURL: "postgres://postgres@127.0.0.1:1/x", NoContainers: true, Logger: log})
	if err == nil {
		t.Fatal("Resolve found services on port 1")
	}
	// go-redis's pool reports the dial it gave up on; at debug level, so a
	// CLI at its usual level shows only the error.
	got := buf.String()
	for _, want := range []string{"level=DEBUG", "failed to dial", "component=go-redis"} {
		if !strings.Contains(got, want) {
			t.Errorf("the stack logger lacks %q:\n%s", want, got)
		}
	}
}
