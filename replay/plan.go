package replay

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
)

// PlanOptions shape how a capture is replayed.
type PlanOptions struct {
	Speed    float64 // capture time / wall time; must be > 0 (4 plays 240 s in 60 s)
	Headroom float64 // bettor traffic multiplier; must be >= 1 (1.3 = 30% more)
	Seed     int64   // picks which sessions the fractional headroom clones, and each clone's offset
	Shard    Shard   // which bettors this replay sends; the zero Shard is all of them
}

// Shard is a deterministic part of a plan's bettors, so that n harnesses can
// replay one capture together: shard Index of Count keeps the bettor
// accounts whose base account (the account as recorded, so that a headroom
// clone follows its original) hashes to Index, and every feed event, since
// every shard must see the same markets: which shard publishes them is the
// caller's choice. The zero Shard (Count 0) is the whole plan, as is Count 1.
// The hash does not depend on the seed, so an account is in the same shard
// whatever the seed.
type Shard struct {
	Index int
	Count int
}

// String is "i/n", as `--shard` takes it; "" for the whole plan.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Has reports whether the shard replays the bettor account (a base
// account, not a clone's).
func (s Shard) Has(account string) bool {
	if s.Count <= 1 {
		return true
	}
	return int(mix(hashString(shardDomain, account))%uint64(s.Count)) == s.Index
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
	if o.Shard.Count < 0 || (o.Shard.Count > 0 && (o.Shard.Index < 0 || o.Shard.Index >= o.Shard.Count)) {
		errs = append(errs, fmt.Errorf("shard is %d of %d; it must be i of n with 0 <= i < n", o.Shard.Index, o.Shard.Count))
	}
	if o.Shard.Count == 0 && o.Shard.Index != 0 {
		errs = append(errs, fmt.Errorf("shard index is %d but the shard count is 0", o.Shard.Index))
	}
	return errs
}

// Planned is one entry of a plan.
type Planned struct {
	At    time.Duration // wall offset from the replay's start: t_us / speed, plus a clone's offset
	Event Event         // the event, with fresh ids when it is a clone
	Clone int           // 0 = as recorded, n = the nth headroom clone
}

// PlanStream is a plan read one entry at a time, in At order (equal At keep
// the order the entries were planned in): what Engine.Run replays. Next
// returns io.EOF after the last entry; any other error ends the stream. A
// Planner is one, over a capture Stream of any size; Plan.Stream gives one
// over a plan held in memory.
type PlanStream interface {
	Next() (Planned, error)
}

// Plan is a plan held in memory: for tests, small captures, and callers
// that need the entries more than once.
type Plan struct {
	Entries  []Planned     // sorted by At; equal At keep planning order
	Duration time.Duration // the capture's length in wall time, or up to the last entry if later
}

// Stream returns p's entries as a PlanStream; nil for a nil Plan.
func (p *Plan) Stream() PlanStream {
	if p == nil {
		return nil
	}
	return &slicePlan{entries: p.Entries}
}

type slicePlan struct {
	entries []Planned
	i       int
}

func (s *slicePlan) Next() (Planned, error) {
	if s.i >= len(s.entries) {
		return Planned{}, io.EOF
	}
	s.i++
	return s.entries[s.i-1], nil
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

// Planner lays a capture Stream out on the wall clock of a replay, one
// entry at a time and in bounded memory: a PlanStream. Every offset is
// divided by the speed. Headroom adds bettor traffic by cloning whole bettor
// sessions (every bettor event of an account) with fresh accounts and ids,
// so that the bettor traffic is about h × recorded:
//
//   - every account gets floor(h-1) clones, and one more with probability
//     h-1-floor(h-1), decided by a hash of (seed, account);
//   - each clone of an account is shifted later by its own offset in
//     [MinCloneOffset, MaxCloneOffset] of wall time (added after dividing
//     by the speed), also from a hash of (seed, account, clone number).
//
// Both depend on the account alone, never on the other accounts, so a
// capture of any size is planned without knowing its accounts upfront, and
// a shard (PlanOptions.Shard) clones exactly as the whole plan does. The
// cost is that the fractional part of the headroom is met on average, not
// exactly: with h = 1.3 each session is cloned with probability 0.3, so
// 10 sessions may get 1 or 5 clones where the rule before streaming gave
// exactly round(0.3 × 10) = 3; over thousands of sessions the difference is
// a fraction of a percent.
//
// Sending a clone at exactly its original's moment would double every
// request in the same instant, a micro-burst the recorded traffic never
// had; a real second bettor acts a little apart. The whole session moves by
// one offset, so its own order and spacing (a cash-out after its bet) are
// kept. Feed events are never cloned (there is one match) and never moved.
// A clone waits in a min-heap until no later event can come before it,
// which holds at most the entries of MaxCloneOffset of wall time. The same
// capture, options and seed always give the same plan.
type Planner struct {
	src      Stream
	opts     PlanOptions
	full     int     // clones every session gets
	frac     float64 // the chance of one more
	pending  plannedHeap
	order    uint64        // planning order, breaking ties of At
	lastAt   time.Duration // At of the last event read
	lastT    int64
	read     int64 // events read
	eof      bool
	err      error
	duration time.Duration
	suffix   [][]byte // CloneSuffix+n, by n-1
}

// NewPlanner returns a Planner of s's events. The stream must be in t_us
// order, as every capture file is (a Stream that is not is an error when
// the planner meets it).
func NewPlanner(s Stream, opts PlanOptions) (*Planner, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("plan: %w", errors.Join(errs...))
	}
	extra := opts.Headroom - 1
	full := int(math.Floor(extra))
	p := &Planner{
		src: s, opts: opts, full: full, frac: extra - float64(full),
		duration: wallOffset(s.Header().DurationUS, opts.Speed),
	}
	for n := 1; n <= full+1; n++ {
		p.suffix = append(p.suffix, []byte(CloneSuffix+strconv.Itoa(n)))
	}
	return p, nil
}

// Duration is the plan's length in wall time: the capture's duration
// (header) over the speed, or up to the latest event read or entry given
// out if that is later; final once Next has returned io.EOF.
func (p *Planner) Duration() time.Duration { return p.duration }

// Next returns the next entry in At order; io.EOF after the last one.
func (p *Planner) Next() (Planned, error) {
	for {
		if p.err != nil {
			return Planned{}, p.err
		}
		// The earliest pending entry is final once no event still to be
		// read can come before it: later events have At >= lastAt and a
		// later planning order, and their clones come later still.
		if len(p.pending) > 0 && (p.eof || p.pending[0].At <= p.lastAt) {
			e := p.pending.pop()
			p.duration = max(p.duration, e.At)
			return e.Planned, nil
		}
		if p.eof {
			p.err = io.EOF
			continue
		}
		e, err := p.src.Next()
		if err == io.EOF {
			p.eof = true
			p.duration = max(p.duration, wallOffset(p.lastT, p.opts.Speed))
			continue
		}
		if err != nil {
			p.err = err
			continue
		}
		p.read++
		at := wallOffset(e.T, p.opts.Speed)
		if at < p.lastAt {
			p.err = fmt.Errorf("plan: event %d (t_us %d) comes before the one read before it: a capture must be in t_us order", p.read, e.T)
			continue
		}
		p.lastAt, p.lastT = at, max(p.lastT, e.T)
		if e.Kind.IsFeed() {
			p.push(Planned{At: at, Event: e})
			continue
		}
		if !p.opts.Shard.Has(e.Account) {
			continue
		}
		p.push(Planned{At: at, Event: e})
		for n := 1; n <= p.clones(e.Account); n++ {
			p.push(Planned{At: at + p.cloneOffset(e.Account, n), Event: p.cloneEvent(e, n), Clone: n})
		}
	}
}

func (p *Planner) push(e Planned) {
	p.order++
	p.pending.push(pending{Planned: e, order: p.order})
}

// Hash domains, so that the shard, the clone count and the offsets of one
// account are independent draws.
const (
	shardDomain  = 0x7368617264000000 // "shard"
	clonesDomain = 0x68656164726f6f6d // "headroom"
	offsetDomain = 0x636c6f6e65206174 // "clone at"
)

// clones is how many clones the account's session gets.
func (p *Planner) clones(account string) int {
	n := p.full
	if p.frac > 0 {
		u := float64(mix(hashString(clonesDomain^uint64(p.opts.Seed), account))>>11) / (1 << 53)
		if u < p.frac {
			n++
		}
	}
	return n
}

// cloneOffset is the shift of the account's nth clone: whole µs, uniform
// over [MinCloneOffset, MaxCloneOffset].
func (p *Planner) cloneOffset(account string, n int) time.Duration {
	span := uint64((MaxCloneOffset - MinCloneOffset) / time.Microsecond)
	h := mix(hashString(offsetDomain^uint64(p.opts.Seed), account) ^ mix(uint64(n)))
	return MinCloneOffset + time.Duration(h%(span+1))*time.Microsecond
}

// cloneEvent is e as the nth clone of its session sends it.
func (p *Planner) cloneEvent(e Event, n int) Event {
	suffix := p.suffix[n-1]
	e.Account = concat(e.Account, suffix)
	e.ID = concat(e.ID, suffix)
	if e.Bet != "" {
		e.Bet = concat(e.Bet, suffix)
	}
	return e
}

func concat(s string, suffix []byte) string {
	b := make([]byte, 0, len(s)+len(suffix))
	return string(append(append(b, s...), suffix...))
}

// hashString is FNV-1a (64 bits) of s, started from seed: stable across
// processes, machines and Go versions, unlike hash/maphash.
func hashString(seed uint64, s string) uint64 {
	h := uint64(14695981039346656037) ^ mix(seed)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is splitmix64's finalizer: it spreads FNV's weak low bits over all 64.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// pending is an entry waiting in the planner's heap.
type pending struct {
	Planned
	order uint64
}

// plannedHeap is a min-heap by (At, planning order), typed so that an
// entry is never boxed in an interface (container/heap would allocate twice
// per entry).
type plannedHeap []pending

func (h plannedHeap) less(i, j int) bool {
	return h[i].At < h[j].At || (h[i].At == h[j].At && h[i].order < h[j].order)
}

func (h *plannedHeap) push(x pending) {
	*h = append(*h, x)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *plannedHeap) pop() pending {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = pending{} // let the event's maps and slices go
	s = s[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.less(l, m) {
			m = l
		}
		if r < n && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// PlanSummary is what a plan holds, counted as it streams.
type PlanSummary struct {
	Entries  int64
	Counts   map[Kind]int64
	Duration time.Duration
}

// Summary reads the rest of p and counts it: a run reads its capture once
// this way, to check it and to know the plan's size, before it replays it.
func (p *Planner) Summary() (PlanSummary, error) {
	s := PlanSummary{Counts: map[Kind]int64{}}
	for {
		e, err := p.Next()
		if err == io.EOF {
			s.Duration = p.Duration()
			return s, nil
		}
		if err != nil {
			return s, err
		}
		s.Entries++
		s.Counts[e.Event.Kind]++
	}
}

// NewPlan lays a capture held in memory out on the wall clock, as a Planner
// does, and holds the whole plan. A capture built in code may not be in
// order (a file always is): its events are sorted by their wall time first,
// equal times keeping capture order.
func NewPlan(c *Capture, opts PlanOptions) (*Plan, error) {
	if errs := opts.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("plan: %w", errors.Join(errs...))
	}
	events := c.Events
	less := func(a, b Event) int { return cmp.Compare(wallOffset(a.T, opts.Speed), wallOffset(b.T, opts.Speed)) }
	if !slices.IsSortedFunc(events, less) {
		events = slices.Clone(events)
		slices.SortStableFunc(events, less)
	}
	pl, err := NewPlanner(&sliceStream{header: c.Header, events: events}, opts)
	if err != nil {
		return nil, err
	}
	p := &Plan{Entries: make([]Planned, 0, len(events))}
	for {
		e, err := pl.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p.Entries = append(p.Entries, e)
	}
	p.Duration = pl.Duration()
	return p, nil
}

// wallOffset converts a capture offset in µs to wall time at speed.
func wallOffset(us int64, speed float64) time.Duration {
	return time.Duration(math.Round(float64(us) * float64(time.Microsecond) / speed))
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
