package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"
)

// Kind is one kind of fault, configured for one fault of the plan: a struct
// whose fields are its parameters, made from the fault's params by the
// function registered under its name (RegisterKind).
//
// Its one method puts the fault in place. Everything that follows, while the
// fault is on and after, is in the Injection it returns: how to prove that it
// landed and how to heal it. A kind reaches the world only through env: the
// Layer's links, the run's processes, stores and feed server.
type Kind interface {
	// Inject puts fault f in place through env and returns how to prove and
	// heal it. ctx bounds the injection only. When it returns an error,
	// nothing of the fault is left in place; the Injection it returns with
	// the error may still carry evidence of what was tried.
	Inject(ctx context.Context, env Env, f Fault) (Injection, error)
}

// Injection is a fault in place.
type Injection struct {
	// At is when the fault went in (after a baseline probe, say); zero
	// means when Inject returned.
	At time.Time
	// Evidence is what the kind did and found, filled in by Inject, Prove
	// and Heal. The schedule adds the times and the verdict.
	Evidence *Evidence
	// Prove confirms, right after the injection and while the fault is in
	// place, that it is: a read-back through the fault's own control and a
	// probe of its effect. nil when the proof comes with the heal (a feed
	// fault's counts, a killed process back).
	Prove func(ctx context.Context)
	// Heal takes the fault off, checks that it is off, and records what it
	// saw. It is called exactly once, also when the run ends early. An error
	// means the fault may still be in place.
	Heal func(ctx context.Context) error
	// Landed judges the evidence once the fault healed: whether it proves
	// the fault landed, and, when the evidence does not say it already, why
	// not. A fault that cannot be confirmed did not land.
	Landed func() (landed bool, why string)
}

// The optional abilities of a kind, found by type assertion.
type (
	// targeter is a kind that checks its target against what the run
	// reaches. Every kind of this package is one; a kind that is not may
	// act on any target the run has.
	targeter interface {
		checkTarget(target string, r Reach) *herr.Error
	}
	// excluder is a kind that cannot overlap another of the same group on
	// one target: two "down" faults would bring the link up when the first
	// healed; a kill during a pause would leave the process stopped.
	excluder interface {
		exclusionGroup() string
	}
	// sampler is a kind that can draw its own params for a random plan; a
	// kind that is neither one nor without required params is never drawn.
	sampler interface {
		sampleParams(r *rng) map[string]any
	}
)

var (
	kindsMu sync.RWMutex
	kinds   = map[string]func(p *Params) Kind{}
)

// RegisterKind makes a fault kind available under name. newKind reads the
// kind's params from p and returns it configured; it reads every param the
// kind knows, and p keeps the problems and reports the params nobody read.
// Registering the same name twice panics: two kinds answering to one name
// would make a scenario mean two things.
func RegisterKind(name string, newKind func(p *Params) Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[name]; dup {
		panic(fmt.Sprintf("chaos: fault kind %q registered twice", name))
	}
	kinds[name] = newKind
}

// Kinds returns the names of the registered fault kinds, sorted.
func Kinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	return slices.Sorted(maps.Keys(kinds))
}

// newKind configures the kind registered under name from raw params, and
// returns it with every problem of its params.
func newKind(name string, raw map[string]any) (Kind, []string, bool) {
	kindsMu.RLock()
	f, ok := kinds[name]
	kindsMu.RUnlock()
	if !ok {
		return nil, nil, false
	}
	p := NewParams(raw)
	k := f(p)
	return k, p.Problems(), true
}

// describeKind says what a configured kind does, for the evidence: its
// String when it has one, else its name.
func describeKind(k Kind, name string) string {
	if s, ok := k.(fmt.Stringer); ok {
		return s.String()
	}
	return name
}
