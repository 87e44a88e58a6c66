package replay

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// PlanOptions shape how a capture is replayed.
type PlanOptions struct {
	Speed    float64 // capture time / wall time; must be > 0 (4 plays 240 s in 60 s)
	Headroom float64 // bettor traffic multiplier; must be >= 1 (1.3 = 30% more)
	Seed     int64   // picks which sessions the fractional headroom clones, and each clone's offset
}

// Validate returns every problem with o, one sentence each.
func (o PlanOptions) Validate() []error {
	var errs []error
	if !(o.Speed > 0) || math.IsInf(o.Speed, 0) {
		errs = append(errs, fmt.Errorf("speed is %v; it must be a number above 0", o.Speed))
	}
	if !(o.Headroom >= 1) || math.IsInf(o.Headroom, 0) {
		errs = append(errs, fmt.Errorf("headroom is %v; it must be a number of at least 1", o.Headroom))
	}
	return errs
}

// Plan is a capture laid out on the wall clock of a replay.
type Plan struct {
	Entries  []Planned     // sorted by At; equal At keep capture order
	Duration time.Duration // the capture's length in wall time, or up to the last entry if later
}

// Planned is one event of a Plan.
type Planned struct {
	At    time.Duration // wall offset from the replay's start: t_us / speed, plus a clone's offset
	Event Event         // the event, with fresh ids when it is a clone
	Clone int           // 0 = as recorded, n = the nth headroom clone
}

// MinCloneOffset and MaxCloneOffset bound, inclusive, how long after its
// original a headroom clone is sent, in wall time and whole microseconds.
const (
	MinCloneOffset = time.Millisecond
	MaxCloneOffset = 50 * time.Millisecond
)

// CloneSuffix is appended with the clone number to every account and id of a
// cloned bettor session ("a7" → "a7~h1"), so clones never collide with the
// recorded sessions or with each other.
const CloneSuffix = "~h"

// NewPlan lays c out on the wall clock. Every offset is divided by
// opts.Speed. Headroom adds bettor traffic by cloning whole bettor sessions
// (every bettor event of an account) with fresh accounts and ids:
// floor(h-1) rounds clone every session, then one more round clones a
// seeded-random set of round((h-1-floor(h-1)) × sessions) of them, so the
// bettor traffic is about h × recorded. Feed events are never cloned (there
// is one match) and never moved.
//
// Each cloned session is shifted later by its own seeded offset, drawn
// uniformly from [MinCloneOffset, MaxCloneOffset] of wall time (added after
// dividing by the speed). Sending a clone at exactly its original's moment
// would double every request in the same instant, a micro-burst the
// recorded traffic never had; a real second bettor acts a little apart.
// The whole session moves by one offset, so its own order and spacing (a
// cash-out after its bet) are kept. The same capture, options and seed
// always give the same plan.
func NewPlan(c *Capture, opts PlanOptions) (*Plan, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("plan: %w", errors.Join(errs...))
	}
	// accounts in order of first appearance, so the seeded pick is stable.
	var accounts []string
	seen := map[string]bool{}
	for _, e := range c.Events {
		if !e.Kind.IsFeed() && !seen[e.Account] {
			seen[e.Account] = true
			accounts = append(accounts, e.Account)
		}
	}
	extra := opts.Headroom - 1
	full := int(math.Floor(extra))
	partial := int(math.Round((extra - float64(full)) * float64(len(accounts))))
	// clones[account] is how many clones its session gets.
	clones := make(map[string]int, len(accounts))
	for _, a := range accounts {
		clones[a] = full
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x68656164726f6f6d)) // "headroom"
	for _, i := range rng.Perm(len(accounts))[:partial] {
		clones[accounts[i]]++
	}
	// offsets[account][n-1] is the shift of the account's nth clone. A
	// stream of its own, drawn in account order, so it does not change
	// which sessions are picked.
	orng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x636c6f6e65206174)) // "clone at"
	span := int64((MaxCloneOffset - MinCloneOffset) / time.Microsecond)
	offsets := make(map[string][]time.Duration, len(accounts))
	for _, a := range accounts {
		for range clones[a] {
			offsets[a] = append(offsets[a], MinCloneOffset+time.Duration(orng.Int64N(span+1))*time.Microsecond)
		}
	}

	p := &Plan{Entries: make([]Planned, 0, len(c.Events)+full*len(c.Events))}
	var last int64
	for _, e := range c.Events {
		at := wallOffset(e.T, opts.Speed)
		last = max(last, e.T)
		p.Entries = append(p.Entries, Planned{At: at, Event: e})
		if e.Kind.IsFeed() {
			continue
		}
		for n := 1; n <= clones[e.Account]; n++ {
			p.Entries = append(p.Entries, Planned{At: at + offsets[e.Account][n-1], Event: cloneEvent(e, n), Clone: n})
		}
	}
	// A capture built in code may not be in order; a file always is. The
	// clones' offsets put them out of order too.
	slices.SortStableFunc(p.Entries, func(a, b Planned) int { return cmp.Compare(a.At, b.At) })
	p.Duration = wallOffset(max(c.Header.DurationUS, last), opts.Speed)
	if n := len(p.Entries); n > 0 {
		p.Duration = max(p.Duration, p.Entries[n-1].At) // a late clone still falls inside the plan
	}
	return p, nil
}

// wallOffset converts a capture offset in µs to wall time at speed.
func wallOffset(us int64, speed float64) time.Duration {
	return time.Duration(math.Round(float64(us) * float64(time.Microsecond) / speed))
}

// cloneEvent is e as the nth clone of its session sends it.
func cloneEvent(e Event, n int) Event {
	suffix := fmt.Sprintf("%s%d", CloneSuffix, n)
	e.Account += suffix
	e.ID += suffix
	if e.Bet != "" {
		e.Bet += suffix
	}
	return e
}

// Counts returns how many entries p has of each kind; a quick way to see the
// effect of headroom.
func (p *Plan) Counts() map[Kind]int {
	n := map[Kind]int{}
	for _, e := range p.Entries {
		n[e.Event.Kind]++
	}
	return n
}
