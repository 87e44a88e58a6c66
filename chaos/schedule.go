package chaos

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Record is what became of one fault: when it was injected and healed, on
// the replay clock, and the evidence that it landed.
type Record struct {
	Name, Target, Kind   string
	InjectedAt, HealedAt time.Duration // offsets from start; HealedAt 0 with Healed=false if never healed
	// Injected is true once the fault went in; false when the injection
	// failed or the run ended first.
	Injected bool
	Healed   bool
	Landed   bool
	// TrafficBytes is what the platform itself sent and received through
	// the link between the injection and the heal, both ways together; the
	// probes are not counted. 0 for faults not on a link.
	TrafficBytes int64
	// Evidence is the proof, with the numbers; its String is what the
	// report shows.
	Evidence Evidence
}

// Schedule is a fault plan running on the replay clock.
type Schedule struct {
	done    chan struct{}
	records []Record
}

// Wait blocks until every fault has healed, or, once the Schedule's context
// is done, until every fault still injected has been healed early, and
// returns one Record per fault in the plan's order.
func (s *Schedule) Wait() []Record {
	<-s.done
	return slices.Clone(s.records)
}

// Schedule runs the plan on the replay clock through env and returns at
// once: each fault is injected at start+At (its kind's Inject, which for a
// link takes a baseline probe just before), proved at once (Prove), and
// healed at start+At+For (Heal). start is the replay's zero; it may be in
// the future. When ctx is done, faults not yet injected are not injected,
// and those injected are healed at once. The times recorded are the real
// ones: a heal waits for the proof, so with a For shorter than a probe,
// HealedAt can pass At+For by up to that probe.
//
// The plan should have passed ValidateFaults(faults, env.Reach()); a fault
// that does not is not injected, and its Record says why.
func (e Env) Schedule(ctx context.Context, faults []Fault, start time.Time) *Schedule {
	return schedule(ctx, faults, start, e.Reach(), func(ctx context.Context, f Fault, k Kind) (Injection, error) {
		return k.Inject(ctx, e, f)
	})
}

// injectFunc injects one configured fault. The schedule decides when; the
// kind does it through the Env. The split keeps the timing testable on
// virtual time, where toxiproxy's sockets and real processes cannot go.
type injectFunc func(ctx context.Context, f Fault, k Kind) (Injection, error)

// schedule starts one goroutine per fault.
func schedule(ctx context.Context, faults []Fault, start time.Time, reach Reach, inject injectFunc) *Schedule {
	s := &Schedule{done: make(chan struct{}), records: make([]Record, len(faults))}
	remaining := make(chan struct{}, len(faults))
	for i, f := range faults {
		go func() {
			s.records[i] = runFault(ctx, f, start, reach, inject)
			remaining <- struct{}{}
		}()
	}
	go func() {
		for range faults {
			<-remaining
		}
		close(s.done)
	}()
	return s
}

// runFault takes one fault through injection, proof and heal, and writes
// down what happened.
func runFault(ctx context.Context, f Fault, start time.Time, reach Reach, inject injectFunc) Record {
	rec := Record{Name: f.Name, Target: f.Target, Kind: f.Kind}
	notIn := func(format string, args ...any) Record {
		rec.Evidence = Evidence{NotInjected: fmt.Sprintf(format, args...)}
		return rec
	}
	k, problems, ok := newKind(f.Kind, f.Params)
	if !ok {
		return notIn("kind %q is unknown", f.Kind)
	}
	if len(problems) > 0 {
		return notIn("%s", strings.Join(problems, "; "))
	}
	if f.At < 0 || f.For < 0 {
		return notIn("at %s and for %s must not be negative", f.At, f.For)
	}
	if err := checkTarget(k, f.Kind, f.Target, reach); err != nil {
		return notIn("%s", err.Error())
	}
	if !sleepUntil(ctx, start.Add(f.At)) {
		return notIn("%s", notInjected(ctx, f))
	}

	// Once a fault is on, its proof and heal must still happen when the run
	// ends: they get a context the run's end does not cancel, and each of
	// their steps is bounded on its own.
	opCtx := context.WithoutCancel(ctx)
	inj, err := inject(opCtx, f, k)
	ev := inj.Evidence
	if ev == nil {
		ev = &Evidence{What: fmt.Sprintf("%s on %s", f.Kind, f.Target)}
	}
	if ev.Fault == "" {
		ev.Fault = describeKind(k, f.Kind)
	}
	if inj.At.IsZero() {
		inj.At = time.Now()
	}
	ev.InjectedAt = inj.At.Sub(start)
	if err != nil {
		ev.InjectErr = err
		rec.Evidence = *ev
		return rec
	}
	rec.Injected = true
	rec.InjectedAt = ev.InjectedAt
	if inj.Prove != nil {
		inj.Prove(opCtx)
	}

	ev.Early = !sleepUntil(ctx, start.Add(f.At+f.For))
	if ev.Early {
		ev.Cause = context.Cause(ctx)
	}
	healErr := inj.Heal(opCtx)
	if ev.healedAt.IsZero() {
		ev.healedAt = time.Now()
	}
	ev.HealedAt = ev.healedAt.Sub(start)
	ev.HealErr = healErr
	ev.Healed = healErr == nil
	if inj.Landed != nil {
		ev.Landed, ev.Why = inj.Landed()
	} else {
		ev.Why = "the kind gives no proof of landing"
	}
	rec.Healed, rec.Landed = ev.Healed, ev.Landed
	if rec.Healed {
		rec.HealedAt = ev.HealedAt
	}
	if ev.Traffic != nil {
		rec.TrafficBytes = ev.Traffic.Total()
	}
	rec.Evidence = *ev
	return rec
}

// sleepUntil waits until t or ctx is done, and reports whether t came first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	if ctx.Err() != nil {
		return false
	}
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
