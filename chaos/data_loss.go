package chaos

import "context"

func init() {
	RegisterKind("data_loss", func(p *Params) Kind { return &DataLoss{store{kind: "data_loss", target: "redis"}} })
}

// DataLoss deletes every Redis key of the run (its prefix, and only it) at
// the fault's At; the platform must rebuild its hot state from PostgreSQL.
// It takes no params. It landed when at least one key was deleted.
type DataLoss struct{ store }

// Inject flushes the run's keys.
func (k *DataLoss) Inject(ctx context.Context, env Env, f Fault) (Injection, error) {
	ev := &Evidence{What: "flush of the run's keys on redis"}
	inj := Injection{Evidence: ev}
	s, err := stores(env, k.kind)
	if err != nil {
		return inj, err
	}
	n, err := s.FlushRedis(ctx)
	if err != nil {
		return inj, err
	}
	ev.KeysFlushed = &n
	inj.Heal = nothingToHeal
	inj.Landed = func() (bool, string) {
		if n <= 0 {
			return false, "no key of the run was there to flush"
		}
		return true, ""
	}
	return inj, nil
}

// String describes the fault.
func (k *DataLoss) String() string { return "data_loss: every key under the run's prefix deleted" }
