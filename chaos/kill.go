package chaos

import (
	"context"
	"fmt"
)

func init() {
	RegisterKind("kill", func(p *Params) Kind { return &Kill{process{kind: "kill"}} })
}

// Kill kills the target's process with SIGKILL at the fault's At, and starts
// it again after its For. It takes no params. It landed when the old pid was
// seen gone with its exit and a new pid ready.
type Kill struct{ process }

// Inject sends SIGKILL and waits until the process is gone.
func (k *Kill) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	proc, ev, err := onProcess(ctx, env, f, "SIGKILL to", Process.Kill)
	inj := Injection{Evidence: ev}
	if err != nil {
		return inj, err
	}
	inj.Heal = func(ctx context.Context) error {
		e, err := proc.Start(ctx)
		if err != nil {
			return fmt.Errorf("start the process again: %w", err)
		}
		ev.Process = append(ev.Process, e)
		return nil
	}
	inj.Landed = func() (bool, string) { return goneAndBack(ev) }
	return inj, nil
}

// String describes the fault.
func (k *Kill) String() string { return "kill: SIGKILL, started again when the fault ends" }
