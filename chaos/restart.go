package chaos

import (
	"context"
	"fmt"
)

func init() {
	RegisterKind("restart", func(p *Params) Kind { return &Restart{process{kind: "restart"}} })
}

// Restart stops the target's process gracefully (SIGTERM; it finishes what
// it has in flight) and starts it again at once, at the fault's At; its For
// only keeps other process faults off it. It takes no params. It landed when
// the old pid was seen gone with its exit and a new pid ready.
type Restart struct{ process }

// Inject stops the process and starts it again.
func (k *Restart) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	proc, ev, err := onProcess(ctx, env, f, "graceful restart of", Process.Stop)
	inj := Injection{Evidence: ev}
	if err != nil {
		return inj, err
	}
	e, err := proc.Start(ctx)
	if err != nil {
		// The process is stopped: a heal would only try the same again, so
		// the injection failed with the platform down, as the evidence says.
		return inj, fmt.Errorf("stopped, and the start after it failed: %w", err)
	}
	ev.Process = append(ev.Process, e)
	inj.Heal = func(context.Context) error { return nil }
	inj.Landed = func() (bool, string) { return goneAndBack(ev) }
	return inj, nil
}

// String describes the fault.
func (k *Restart) String() string { return "restart: SIGTERM, then started again at once" }
