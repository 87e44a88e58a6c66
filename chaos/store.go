package chaos

import (
	"context"

	"github.com/inplaylabs/inplay/internal/herr"
)

// This file is the store family: faults that take the run's own data away
// from its stores, through the run's Stores control (control.go), which
// touches only the run's key prefix and database. A store fault is done at
// its At and has nothing to put back: healing is the platform's job
// (rebuilding its hot state, reconnecting), which the run's SLOs and
// reconciliation judge.

// store is what both store kinds share: the kind's name and the one target
// it acts on.
type store struct {
	kind, target string
}

// checkTarget: a store kind acts on its one store, when the run controls
// its stores.
func (s store) checkTarget(target string, r Reach) *herr.Error {
	if target != s.target {
		return inputf("kind %s acts on %s only, not %s", s.kind, s.target, target)
	}
	if !r.Stores {
		return inputf("kind %s needs control of the run's stores, and this run has none", s.kind)
	}
	return nil
}

// stores returns the run's Stores, or why there are none.
func stores(env Env, kind string) (Stores, error) {
	if env.Stores == nil {
		return nil, inputf("kind %s needs control of the run's stores, and this run has none", kind)
	}
	return env.Stores, nil
}

// nothingToHeal is the heal of a fault that leaves nothing in place.
func nothingToHeal(context.Context) error { return nil }

// storeKindFor names the store kind that takes a shared service's run data
// away, for messages that refuse a process kind on it.
func storeKindFor(target string) string {
	if target == "postgres" {
		return "terminate"
	}
	return "data_loss"
}
