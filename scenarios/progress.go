package scenarios

import (
	"slices"
	"time"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/replay"
)

// Progress is a live view of a run's replay, for a progress line: the
// engine's counters, the size of the plan, and the faults in force.
type Progress struct {
	replay.Progress
	Planned int64    // entries in the whole plan (requests and feed messages)
	Faults  []string // the faults of the plan in force now, by name
}

// ProgressFunc is told when a run's replay starts: snapshot gives a
// Progress whenever asked (it is cheap, and safe from any goroutine), and
// the ProgressFunc returns what to call when the replay has ended, after
// which snapshot gives the final figures.
type ProgressFunc func(snapshot func() Progress) (done func())

// startProgress hands the replay to Options.Progress, if any.
func (r *runner) startProgress(engine *replay.Engine, start time.Time) (done func()) {
	if r.opts.Progress == nil {
		return func() {}
	}
	faults := slices.Clone(r.faults)
	return r.opts.Progress(func() Progress {
		p := Progress{Progress: engine.Progress(), Planned: r.planned}
		p.Faults = inForce(faults, time.Since(start))
		return p
	})
}

// inForce names the faults planned to be in force at elapsed.
func inForce(faults []chaos.Fault, elapsed time.Duration) []string {
	var names []string
	for _, f := range faults {
		if elapsed >= f.At && elapsed < f.At+f.For {
			names = append(names, f.Name)
		}
	}
	return names
}
