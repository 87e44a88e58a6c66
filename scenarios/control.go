package scenarios

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/inplaylabs/inplay/chaos"
)

// stateTimeout bounds how long Pause and Continue wait to read the state
// they caused back from /proc: signal delivery is asynchronous.
const stateTimeout = 5 * time.Second

// platformControl is the reference platform's chaos.Process (target
// "platform"): it kills, stops, pauses and continues the child process and
// starts a new one on the same listener, so the api and stream links, and
// the address bettors use, survive a restart.
type platformControl struct{ p *refProcess }

var _ chaos.Process = platformControl{}

// Processes implements Controller: the platform, the one process the run
// controls.
func (p *refProcess) Processes() map[string]chaos.Process {
	return map[string]chaos.Process{"platform": platformControl{p}}
}

// running returns the newest child if it is running; the caller holds ctl.
func (p *refProcess) running() (*refChild, error) {
	p.mu.Lock()
	c, stopping := p.child, p.stopping
	p.mu.Unlock()
	if stopping {
		return nil, errors.New("the platform is stopped for good: the run is ending")
	}
	if c == nil {
		return nil, errors.New("the platform was never started")
	}
	select {
	case <-c.exited:
		return nil, fmt.Errorf("the platform (pid %d) is not running (%s)", c.pid(), c.how())
	default:
		return c, nil
	}
}

// Kill implements chaos.Process: SIGKILL to the platform's process group,
// and the wait until it is gone. The run does not count this end as a crash.
func (pc platformControl) Kill(ctx context.Context) (chaos.ProcessEvent, error) {
	p := pc.p
	p.ctl.Lock()
	defer p.ctl.Unlock()
	c, err := p.running()
	if err != nil {
		return chaos.ProcessEvent{Action: "kill"}, err
	}
	at, err := p.end(c, false)
	return chaos.ProcessEvent{Action: "kill", PID: c.pid(), At: at, Exit: c.exit()}, err
}

// Stop implements chaos.Process: SIGTERM (the platform finishes the
// requests in flight), SIGKILL past platformStopGrace.
func (pc platformControl) Stop(ctx context.Context) (chaos.ProcessEvent, error) {
	p := pc.p
	p.ctl.Lock()
	defer p.ctl.Unlock()
	c, err := p.running()
	if err != nil {
		return chaos.ProcessEvent{Action: "stop"}, err
	}
	at, err := p.end(c, true)
	return chaos.ProcessEvent{Action: "stop", PID: c.pid(), At: at, Exit: c.exit()}, err
}

// Start implements chaos.Process: a new child with the same flags (stores,
// prefix, feed) on the same listener, and the wait for its /readyz. A
// platform that does not come back is a crash for the run: Exited closes.
func (pc platformControl) Start(ctx context.Context) (chaos.ProcessEvent, error) {
	p := pc.p
	p.ctl.Lock()
	defer p.ctl.Unlock()
	p.mu.Lock()
	c, stopping := p.child, p.stopping
	p.mu.Unlock()
	if stopping {
		return chaos.ProcessEvent{Action: "start"}, errors.New("the platform is stopped for good: the run is ending")
	}
	if c != nil {
		select {
		case <-c.exited:
		default:
			return chaos.ProcessEvent{Action: "start", PID: c.pid()}, fmt.Errorf("the platform (pid %d) is still running", c.pid())
		}
	}
	ev, err := p.startChild(ctx)
	if err != nil {
		if nc := p.current(); nc != nil && nc != c {
			p.end(nc, false)
		}
		p.crash(fmt.Sprintf("the reference platform did not come back after a restart: %v", err))
		return ev, err
	}
	return ev, nil
}

// Pause implements chaos.Process: SIGSTOP to the platform's process group,
// then the state read back from /proc until it is stopped (T).
func (pc platformControl) Pause(ctx context.Context) (chaos.ProcessEvent, error) {
	p := pc.p
	p.ctl.Lock()
	defer p.ctl.Unlock()
	c, err := p.running()
	if err != nil {
		return chaos.ProcessEvent{Action: "pause"}, err
	}
	ev := chaos.ProcessEvent{Action: "pause", PID: c.pid(), At: time.Now()}
	if err := syscall.Kill(-c.pid(), syscall.SIGSTOP); err != nil {
		return ev, fmt.Errorf("SIGSTOP platform: %w", err)
	}
	p.mu.Lock()
	p.paused = true // from here on, the cleanup continues it before it stops it
	p.mu.Unlock()
	ev.State, err = waitState(ctx, c.pid(), stopped)
	return ev, err
}

// Continue implements chaos.Process: SIGCONT to the platform's process
// group, then the state read back until it is no longer stopped.
func (pc platformControl) Continue(ctx context.Context) (chaos.ProcessEvent, error) {
	p := pc.p
	p.ctl.Lock()
	defer p.ctl.Unlock()
	c, err := p.running()
	if err != nil {
		return chaos.ProcessEvent{Action: "continue"}, err
	}
	ev := chaos.ProcessEvent{Action: "continue", PID: c.pid(), At: time.Now()}
	if err := syscall.Kill(-c.pid(), syscall.SIGCONT); err != nil {
		return ev, fmt.Errorf("SIGCONT platform: %w", err)
	}
	ev.State, err = waitState(ctx, c.pid(), func(s string) bool { return !stopped(s) })
	if err == nil {
		p.mu.Lock()
		p.paused = false
		p.mu.Unlock()
	}
	return ev, err
}

// stopped reports whether a /proc state is "T (stopped)" (job control; "t"
// is a tracer's stop, which the harness never causes).
func stopped(state string) bool { return strings.HasPrefix(state, "T") }

// procState reads a process's state from /proc/PID/status, such as
// "S (sleeping)" or "T (stopped)".
func procState(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "State:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("no State in /proc/%d/status", pid)
}

// waitState polls pid's state until want accepts it, bounded by
// stateTimeout and ctx; it returns the last state read.
func waitState(ctx context.Context, pid int, want func(string) bool) (string, error) {
	deadline := time.Now().Add(stateTimeout)
	for {
		state, err := procState(pid)
		if err != nil {
			return "", err
		}
		if want(state) {
			return state, nil
		}
		if time.Now().After(deadline) {
			return state, fmt.Errorf("pid %d is still %q after %s", pid, state, stateTimeout)
		}
		select {
		case <-ctx.Done():
			return state, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
