package scenarios

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

// shortRun is a run that lasts ~10 s of wall time, for the process tests.
const shortRun = `
name: proc
seed: 3
load:
  generate: {profile: football, matches: 1, bettors: 20, duration: 60s}
  speed: 6
  max_schedule_lag: 1s
slos:
  - {metric: error_rate, max: 100%}
reconcile: strict
drain: 5s
`

// spyLauncher starts the reference platform and hands the running System
// to the test, which plays the part of a crash or of Ctrl-C.
type spyLauncher struct {
	*refLauncher
	mu      sync.Mutex
	started System
	onStart func(System)
}

func (s *spyLauncher) Start(ctx context.Context, w Wiring) (System, error) {
	sys, err := s.refLauncher.Start(ctx, w)
	if err == nil {
		s.mu.Lock()
		s.started = sys
		s.mu.Unlock()
		s.onStart(sys)
	}
	return sys, err
}

func (s *spyLauncher) system() System {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// alive reports whether a process with this pid still exists (and is not a
// zombie waiting to be reaped: the run reaps its child).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestPlatformProcess(t *testing.T) {
	so := resolveStack(t)
	sc, err := Parse("proc.yaml", []byte(shortRun))
	if err != nil {
		t.Fatal(err)
	}

	// A platform that dies on its own mid-run ends the run with exit 4 (an
	// *herr.Error), saying how it died and quoting its last log lines.
	t.Run("a crash ends the run with exit 4 and the platform's last lines", func(t *testing.T) {
		out := t.TempDir()
		spy := &spyLauncher{onStart: func(sys System) {
			time.AfterFunc(2*time.Second, func() { syscall.Kill(sys.Pid(), syscall.SIGKILL) })
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, err := Run(ctx, sc, Options{OutDir: out, Stack: so, Launcher: lazyRef(spy, out)})
		var env *herr.Error
		if !errors.As(err, &env) {
			t.Fatalf("Run returned %v, want an *herr.Error", err)
		}
		for _, want := range []string{"exited on its own", "killed by", "last lines of", "platform serving"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q:\n%v", want, err)
			}
		}
	})

	// Ctrl-C (the run's context cancelled) mid-replay stops the platform:
	// no process outlives the run.
	t.Run("cancelling the run stops the platform", func(t *testing.T) {
		out := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		spy := &spyLauncher{onStart: func(System) { time.AfterFunc(2*time.Second, cancel) }}
		Run(ctx, sc, Options{OutDir: out, Stack: so, Launcher: lazyRef(spy, out)})
		sys := spy.system()
		if sys == nil {
			t.Fatal("the platform never started")
		}
		if pid := sys.Pid(); pid == 0 || alive(pid) {
			t.Fatalf("platform pid %d still running after the run returned", pid)
		}
	})
}

// lazyRef fills the spy's reference launcher the way Run would, with
// platform.log in out.
func lazyRef(spy *spyLauncher, out string) Launcher {
	return &lazyLauncher{spy: spy, out: out}
}

// lazyLauncher opens platform.log at Prepare, as the runner does for its
// own reference launcher.
type lazyLauncher struct {
	spy *spyLauncher
	out string
}

func (l *lazyLauncher) Prepare(ctx context.Context) (Upstreams, error) {
	f, err := createIn(l.out, "platform-spy.log")
	if err != nil {
		return Upstreams{}, err
	}
	l.spy.refLauncher = &refLauncher{binary: platformBinary, log: f}
	return l.spy.refLauncher.Prepare(ctx)
}

func (l *lazyLauncher) Start(ctx context.Context, w Wiring) (System, error) {
	return l.spy.Start(ctx, w)
}

func (l *lazyLauncher) Close() error {
	if l.spy.refLauncher == nil {
		return nil
	}
	return errors.Join(l.spy.refLauncher.Close(), l.spy.refLauncher.log.Close())
}
