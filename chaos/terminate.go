package chaos

import "context"

func init() {
	RegisterKind("terminate", func(p *Params) Kind { return &Terminate{store{kind: "terminate", target: "postgres"}} })
}

// Terminate ends the platform's connections to the run's database with
// pg_terminate_backend at the fault's At (and only those). It takes no
// params. It landed when at least one backend was ended.
type Terminate struct{ store }

// Inject terminates the backends.
func (k *Terminate) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	ev := &Evidence{What: "pg_terminate_backend on the run's database"}
	inj := Injection{Evidence: ev}
	s, err := stores(env, k.kind)
	if err != nil {
		return inj, err
	}
	pids, err := s.TerminatePostgres(ctx)
	if err != nil {
		return inj, err
	}
	ev.BackendsTerminated = append([]int{}, pids...)
	inj.Heal = nothingToHeal
	inj.Landed = func() (bool, string) {
		if len(pids) == 0 {
			return false, "the platform had no connection to the run's database to end"
		}
		return true, ""
	}
	return inj, nil
}

// String describes the fault.
func (k *Terminate) String() string {
	return "terminate: the platform's backends on the run's database ended"
}
