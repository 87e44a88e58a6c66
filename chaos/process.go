package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/inplaylabs/inplay/internal/herr"
)

// This file is the process family: faults on a process of the system under
// test (target "platform"), through the run's Process control (control.go).
// Each kind records the ProcessEvents it caused; they are its proof: a
// process gone and a new one ready, a state read back from /proc.

// groupProcess is the exclusion group of the process kinds: a kill, a pause
// and a restart of one process cannot overlap.
const groupProcess = "process"

// process is what every kind of the family shares: the name of its kind,
// its target rule and its exclusion group.
type process struct {
	kind string
}

// checkTarget: a process kind acts on a process the run controls, never on
// the machine's shared Redis or PostgreSQL.
func (p process) checkTarget(target string, r Reach) *herr.Error {
	switch {
	case target == "redis" || target == "postgres":
		return inputf("kind %s cannot target %s: the machine's Redis and PostgreSQL serve other runs and tests, "+
			"so inplay never kills, pauses or restarts them; use %s (the run's own data only) or down on the %s link",
			p.kind, target, storeKindFor(target), target)
	case !slices.Contains(r.Processes, target) && slices.Contains(LinkTargets, target):
		return inputf("kind %s acts on a process, and %s is a link; use target %s", p.kind, target, ProcessTarget)
	case !slices.Contains(r.Processes, target):
		return inputf("target %s has no process control in this run (controlled: %s)", target, orNone(r.Processes))
	}
	return nil
}

// exclusionGroup: see groupProcess.
func (p process) exclusionGroup() string { return groupProcess }

// control returns the Process of the target, or why there is none.
func control(env Env, target string) (Process, error) {
	proc, ok := env.Processes[target]
	if !ok || proc == nil {
		return nil, inputf("target %s has no process control in this run", target)
	}
	return proc, nil
}

// gone and back: the proof of kill and restart. The first event must show
// the old process ended, the last a new one started and ready.
func goneAndBack(ev *Evidence) (bool, string) {
	if len(ev.Process) < 2 {
		return false, "the process was not seen both gone and started again"
	}
	end, start := ev.Process[0], ev.Process[len(ev.Process)-1]
	switch {
	case end.PID <= 0 || end.Exit == "":
		return false, fmt.Sprintf("no exit was seen for the old process (pid %d)", end.PID)
	case start.Action != "start" || start.PID <= 0:
		return false, "no new process was seen ready"
	case start.PID == end.PID:
		return false, fmt.Sprintf("the process after the start has the old pid %d", end.PID)
	}
	return true, fmt.Sprintf("pid %d gone, pid %d ready", end.PID, start.PID)
}

// stopped reports whether a /proc state read back is stopped ("T (stopped)",
// or "t (tracing stop)").
func stopped(state string) bool {
	return strings.HasPrefix(state, "T") || strings.HasPrefix(state, "t")
}

// onProcess injects a process kind: act at once on the target's Process,
// recording the event it returns.
func onProcess(ctx context.Context, env Env, f Fault, what string, act func(Process, context.Context) (ProcessEvent, error)) (Process, *Evidence, error) {
	ev := &Evidence{What: fmt.Sprintf("%s %s", what, f.Target)}
	proc, err := control(env, f.Target)
	if err != nil {
		return nil, ev, err
	}
	e, err := act(proc, ctx)
	if err != nil {
		return proc, ev, err
	}
	ev.Process = append(ev.Process, e)
	return proc, ev, nil
}
