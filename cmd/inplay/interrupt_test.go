package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/internal/servicetest"
	"github.com/inplaylabs/inplay/reports"
)

// interruptScenario pauses the platform and slows its Redis link for longer
// than the test waits: the SIGINT lands while both faults are on.
const interruptScenario = `name: interrupted
description: a run that a SIGINT stops in the middle of its faults
seed: 5
load:
  generate: {profile: football, matches: 2, bettors: 60, duration: 180s}
  speed: 3
faults:
  - {name: slow-redis, at: 1s, for: 50s, target: redis, kind: latency, params: {latency: 5}}
  - {name: nap, at: 2s, for: 40s, target: platform, kind: pause}
slos:
  - {metric: bet_acceptance, p99: 1s}
reconcile: strict
drain: 10s
`

// TestRunSIGINT sends a real SIGINT to `inplay run` while the platform is
// paused (SIGSTOP) and a toxic is on the Redis link, and checks that the
// run heals and cleans up on that path: exit 130, a report that says it
// was interrupted with what was measured, both faults healed, the platform
// process gone (a stopped process must be continued to stop), and the
// run's database and Redis keys dropped (no --keep).
func TestRunSIGINT(t *testing.T) {
	redisURL := servicetest.RedisURL(t)
	pgURL := servicetest.PostgresAdminURL(t)
	dir := t.TempDir()
	scPath := filepath.Join(dir, "interrupted.yaml")
	if err := os.WriteFile(scPath, []byte(interruptScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// The real binary, not this test binary playing it: a run starts its
	// platform from its own executable, without the test's variables.
	bin := filepath.Join(dir, "inplay")
	if b, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build inplay: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "run", scPath, "--out", out, "-v", "--no-containers", "--redis-url", redisURL, "--postgres-url", pgURL)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	// The run's log names its database, Redis prefix and platform pid.
	var (
		database, prefix string
		pid              int
		logTail          []string
	)
	reDB := regexp.MustCompile(`database=(\S+) redis_prefix=(\S+)`)
	rePID := regexp.MustCompile(`msg="platform ready" pid=(\d+)`)
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for pid == 0 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("inplay run ended before its platform was ready:\n%s", strings.Join(logTail, "\n"))
			}
			logTail = append(logTail, l)
			if m := reDB.FindStringSubmatch(l); m != nil {
				database, prefix = m[1], m[2]
			}
			if m := rePID.FindStringSubmatch(l); m != nil {
				pid, _ = strconv.Atoi(m[1])
			}
		case <-deadline:
			t.Fatalf("no platform ready within 2 minutes:\n%s", strings.Join(logTail, "\n"))
		}
	}
	if database == "" || prefix == "" {
		t.Fatalf("the log did not name the run's database and prefix:\n%s", strings.Join(logTail, "\n"))
	}
	go func() {
		for range lines {
		}
	}()

	// Wait, bounded, until the pause has landed: the kernel says stopped.
	stopped := false
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if state(pid) == "T" {
			stopped = true
			break
		}
	}
	if !stopped {
		t.Fatalf("platform pid %d never stopped (state %q)", pid, state(pid))
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(2 * time.Minute):
		t.Fatal("inplay run did not end within 2 minutes of SIGINT")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != reports.ExitInterrupted {
		t.Fatalf("inplay run after SIGINT: %v, want exit %d", err, reports.ExitInterrupted)
	}

	// The report: interrupted, with what was measured, every fault healed.
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no report after SIGINT: %v", err)
	}
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Verdict != reports.VerdictInterrupted || rep.ExitCode != reports.ExitInterrupted {
		t.Errorf("report: interrupted=%v verdict=%s exit=%d", rep.Interrupted, rep.Verdict, rep.ExitCode)
	}
	if len(rep.Problems) == 0 || !strings.Contains(rep.Problems[0], "interrupted by a signal") {
		t.Errorf("the report does not say it was interrupted first: %q", rep.Problems)
	}
	if rep.Load.Sent == 0 || rep.Load.Sent >= rep.Load.Planned { // stopped partway: some of the plan, not all
		t.Errorf("load: sent %d of planned %d", rep.Load.Sent, rep.Load.Planned)
	}
	for _, f := range rep.Faults {
		if !f.Injected || !f.Healed {
			t.Errorf("fault %s: injected=%v healed=%v: %s", f.Name, f.Injected, f.Healed, f.Evidence)
		}
	}
	t.Logf("after SIGINT: %s; sent %d of %d", rep.Problems[0], rep.Load.Sent, rep.Load.Planned)
	for _, f := range rep.Faults {
		t.Logf("fault %s: %s", f.Name, f.Evidence)
	}
	if len(rep.Faults) != 2 {
		t.Errorf("%d faults in the report, want 2", len(rep.Faults))
	}
	if _, err := os.Stat(filepath.Join(out, "journal.jsonl")); err != nil {
		t.Errorf("no journal: %v", err)
	}

	// The platform is gone: continued, then stopped, and reaped.
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("platform pid %d still exists (state %q)", pid, state(pid))
	}
	// The run's data is gone: no --keep.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, database).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s: %d left (%v)", database, n, err)
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opts)
	defer rc.Close()
	keys, err := rc.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 0 {
		t.Errorf("redis keys under %s left: %v (%v)", prefix, keys, err)
	}
}

// state is the one-letter state of pid from /proc, "" when it is gone.
func state(pid int) string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(raw)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2 : i+3]
	}
	return ""
}
