package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/replay"
)

// TestMain lets the test binary play `inplay` for the process tests:
// with INPLAY_TEST_AS_INPLAY=1 it runs the CLI on its arguments instead.
func TestMain(m *testing.M) {
	if os.Getenv("INPLAY_TEST_AS_INPLAY") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// inplayCmd is `inplay ARGS...` as its own process.
func inplayCmd(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "INPLAY_TEST_AS_INPLAY=1")
	return cmd
}

func TestPlatformBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  []string
		code int
		want []string
	}{
		// Required settings missing: every one is named at once.
		{"nothing given", []string{"platform"}, nil, exitInput,
			[]string{"--postgres-url (INPLAY_POSTGRES_URL) is required", "--feed-url (INPLAY_FEED_URL) is required"}},
		// A flag cobra does not know.
		{"unknown flag", []string{"platform", "--turbo"}, nil, exitInput, []string{"turbo"}},
		// A bad variable names the variable.
		{"bad variable", []string{"platform", "--feed-url", "http://x", "--postgres-url", "postgres://x/y"},
			[]string{"INPLAY_IN_PLAY_DELAY=soon"}, exitInput, []string{`INPLAY_IN_PLAY_DELAY="soon"`}},
		// Bad values, each named.
		{"bad values", []string{"platform", "--feed-url", "ftp://x", "--postgres-url", "postgres://x/y",
			"--max-stake", "-1", "--log-format", "xml", "--cashout-margin-bp", "10001"}, nil, exitInput,
			[]string{"--feed-url", "--max-stake must not be negative", "--log-format", "--cashout-margin-bp must be 0 to 10000"}},
		// A store that does not answer is the environment: exit 4, one message.
		{"redis unreachable", []string{"platform", "--feed-url", "http://127.0.0.1:1", "--redis-url", "redis://127.0.0.1:1/0",
			"--postgres-url", "postgres://postgres@127.0.0.1:1/x?sslmode=disable"}, nil, exitEnv,
			[]string{"redis at 127.0.0.1:1 does not answer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := inplayCmd(tt.args...)
			cmd.Env = append(cmd.Env, tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", code, tt.code, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// TestPlatformSIGTERM runs `inplay platform` on real stores and a real feed,
// holds a bet in its in-play delay, sends SIGTERM, and checks that the bet
// is still answered (booked) and the platform exits 0.
func TestPlatformSIGTERM(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	redisAddr, prefix := pgtest.RedisPrefix(t)
	feed := replay.NewFeedServer("test")
	fs := httptest.NewServer(feed)
	t.Cleanup(func() { feed.Close(); fs.Close() })
	feed.Publish(replay.Event{Kind: replay.KindOdds, Market: "m1", Prices: map[string]string{"home": "2.5", "away": "1.6"}})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := inplayCmd("platform", "--listen", addr, "--postgres-url", dbURL,
		"--redis-url", "redis://"+redisAddr+"/0", "--redis-prefix", prefix, "--feed-url", fs.URL,
		"--in-play-delay", "1500ms", "--hold-bets", "--log-format", "json")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("platform not up: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(path, body string) (int, string) {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/v1/accounts/a1/deposits", `{"id":"d1","amount":10000}`); code != 201 {
		t.Fatalf("deposit: %d %s", code, body)
	}

	type answer struct {
		code int
		body string
	}
	bet := make(chan answer, 1)
	go func() {
		code, body := post("/v1/bets", `{"id":"b1","account":"a1","market":"m1","selection":"home","odds":"2.5","stake":500}`)
		bet <- answer{code, body}
	}()
	time.Sleep(500 * time.Millisecond) // the bet is in its in-play delay
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-bet:
		if a.code != 201 {
			t.Fatalf("the bet in flight at SIGTERM was answered %d %s, want 201\n%s", a.code, a.body, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the bet in flight was never answered")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("platform exit after SIGTERM: %v, want 0\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("platform did not exit after SIGTERM")
	}
	// New connections are refused once it is gone.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the platform still answers after it exited")
	}
	if !strings.Contains(logs.String(), `"msg":"platform stopped"`) {
		t.Errorf("logs lack the stop line:\n%s", logs.String())
	}
}
