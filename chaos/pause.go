package chaos

import (
	"context"
	"fmt"
)

func init() {
	RegisterKind("pause", func(p *Params) Kind { return &Pause{process{kind: "pause"}} })
}

// Pause stops the target's process with SIGSTOP for the fault's For, then
// continues it with SIGCONT. It takes no params. It landed when the
// process's state read back from /proc after the SIGSTOP was stopped (T).
type Pause struct{ process }

// Inject sends SIGSTOP and reads the state back.
func (k *Pause) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	proc, ev, err := onProcess(ctx, env, f, "SIGSTOP to", Process.Pause)
	inj := Injection{Evidence: ev}
	if err != nil {
		return inj, err
	}
	inj.Heal = func(ctx context.Context) error {
		e, err := proc.Continue(ctx)
		if err != nil {
			return fmt.Errorf("continue the process: %w", err)
		}
		ev.Process = append(ev.Process, e)
		if stopped(e.State) {
			return fmt.Errorf("still stopped after SIGCONT: state %s", e.State)
		}
		return nil
	}
	inj.Landed = func() (bool, string) {
		if s := ev.Process[0].State; !stopped(s) {
			return false, fmt.Sprintf("state %q read back after SIGSTOP is not stopped (T)", s)
		}
		return true, "state T read back while paused"
	}
	return inj, nil
}

// String describes the fault.
func (k *Pause) String() string { return "pause: SIGSTOP, SIGCONT when the fault ends" }
