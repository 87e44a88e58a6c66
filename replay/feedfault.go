package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/inplaylabs/inplay/chaos"
)

// The feed fault kinds a FeedServer injects (chaos.FeedFault.Kind), and the
// alteration each counts in chaos.FeedAlterations.Altered. One row per kind:
// StartFault validates against it and docs/feed-protocol.md describes it.
var feedFaultKinds = map[string]struct {
	altered    string // the key of FeedAlterations.Altered it counts
	perMessage bool   // it alters one message in Every
}{
	"dropout":   {"dropped", false},
	"duplicate": {"duplicated", true},
	"reorder":   {"reordered", true},
	"gap":       {"skipped", true},
	"stale":     {"resent", true},
	"malformed": {"malformed", true},
	"burst":     {"held", false},
	"skew":      {"skewed", true},
}

// FeedFaultKinds are the feed fault kinds StartFault takes, sorted.
func FeedFaultKinds() []string { return slices.Sorted(maps.Keys(feedFaultKinds)) }

// DefaultFeedReorderWindow is the reorder window when a fault gives none.
const DefaultFeedReorderWindow = 250 * time.Millisecond

// FeedStaleLookback is how far back a stale fault reaches: after seq N it
// sends seq N-FeedStaleLookback again (seq 1 while N is smaller), a message
// every subscriber has had.
const FeedStaleLookback = 10

// maxFeedFaultSeqs bounds FeedAlterations.Seqs, the evidence.
const maxFeedFaultSeqs = 20

// A FeedServer is the run's feed for the feed faults.
var _ chaos.Feed = (*FeedServer)(nil)

// feedFault is one feed fault, on or past. It alters only the messages
// published while it was on (seqs from..to), and only as sent live:
// neither the log, nor the snapshot, nor a subscriber catching up after a
// resume ever sees an alteration. The FeedServer's mu guards it.
type feedFault struct {
	kind   string
	every  int64
	window time.Duration
	skew   time.Duration
	from   int64 // the first seq published while on
	to     int64 // the last; only meaningful once !on
	on     bool

	messages int64
	altered  map[string]int64
	seqs     []int64

	// reorder: a held seq waits for the next one to overtake it; eligible
	// counts the messages that could be held (a partner cannot).
	pending  int64
	timer    *time.Timer
	swapped  map[int64]bool // held seq → sent after its successor (false: window ran out, sent in place)
	eligible int64
}

// covers reports whether seq was published while f was on.
func (f *feedFault) covers(seq int64) bool {
	return seq >= f.from && (f.on || seq <= f.to)
}

// chosen reports whether a per-message kind alters seq: one in every,
// from the first message of the fault on.
func (f *feedFault) chosen(seq int64) bool { return (seq-f.from)%f.every == 0 }

// alter counts one alteration and keeps its seq for the evidence.
func (f *feedFault) alter(what string, seq int64) {
	f.altered[what]++
	if len(f.seqs) < maxFeedFaultSeqs {
		f.seqs = append(f.seqs, seq)
	}
}

// staleSeq is the older seq a stale fault sends again after seq.
func staleSeq(seq int64) int64 { return max(1, seq-FeedStaleLookback) }

// StartFault starts altering what subscribers receive as f says (see
// chaos.FeedFault and docs/feed-protocol.md, "Feed faults"), and returns
// the function that ends it and reports what it altered. The log, the
// snapshot and the seqs Publish returns stay true: the harness measures
// against them. One fault at a time: a second StartFault while one is on is
// an error, as is an unknown kind or a bad parameter. end is idempotent and
// safe to call from any goroutine; Close ends a fault still on.
func (s *FeedServer) StartFault(ctx context.Context, f chaos.FeedFault) (func() chaos.FeedAlterations, error) {
	kind, ok := feedFaultKinds[f.Kind]
	var errs []error
	if !ok {
		errs = append(errs, fmt.Errorf("feed fault kind %q is not one of %v", f.Kind, FeedFaultKinds()))
	}
	if f.Every < 0 {
		errs = append(errs, fmt.Errorf("feed fault every %d is negative", f.Every))
	}
	if f.Window < 0 {
		errs = append(errs, fmt.Errorf("feed fault window %s is negative", f.Window))
	}
	if f.Kind == "skew" && f.Skew == 0 {
		errs = append(errs, errors.New("feed fault skew needs a non-zero skew"))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ff := &feedFault{kind: f.Kind, every: max(int64(f.Every), 1), window: f.Window, skew: f.Skew, on: true,
		altered: map[string]int64{kind.altered: 0}}
	if ff.window == 0 {
		ff.window = DefaultFeedReorderWindow
	}
	if f.Kind == "reorder" {
		ff.swapped = map[int64]bool{}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, errors.New("feed fault: the feed server is closed")
	case s.fault != nil:
		return nil, fmt.Errorf("feed fault %s: a %s fault is already on", f.Kind, s.fault.kind)
	}
	ff.from = int64(len(s.log)) + 1
	s.fault = ff
	s.faults = append(s.faults, ff)
	if f.Kind == "dropout" {
		s.silence = make(chan struct{})
		s.muted.Store(true)
	}

	var once sync.Once
	var result chaos.FeedAlterations
	return func() chaos.FeedAlterations {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.endFault(ff)
			result = chaos.FeedAlterations{Messages: ff.messages, Altered: maps.Clone(ff.altered), Seqs: slices.Clone(ff.seqs)}
		})
		return result
	}, nil
}

// endFault ends f if it is still on and wakes every subscriber, so held
// messages go out at once. The caller holds s.mu.
func (s *FeedServer) endFault(f *feedFault) {
	if !f.on {
		return
	}
	f.on = false
	f.to = int64(len(s.log))
	if f.pending != 0 {
		f.swapped[f.pending] = false // nothing overtook it: sent in place
		f.pending = 0
	}
	if f.timer != nil {
		f.timer.Stop()
	}
	if s.fault == f {
		s.fault = nil
	}
	if s.silence != nil {
		close(s.silence)
		s.silence = nil
		s.muted.Store(false)
	}
	s.wakeAll()
}

// wakeAll wakes every subscriber. The caller holds s.mu.
func (s *FeedServer) wakeAll() {
	for sub := range s.subs {
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// faultPublished decides, once for every subscriber, what the fault on does
// to the message of seq, just published, and counts it. The caller holds
// s.mu.
func (s *FeedServer) faultPublished(f *feedFault, seq int64) {
	f.messages++
	label := feedFaultKinds[f.kind].altered
	switch f.kind {
	case "dropout", "burst":
		s.holdUpTo = seq // held messages are not a subscriber's lag
		f.alter(label, seq)
	case "stale":
		if f.chosen(seq) && seq > 1 {
			f.alter(label, staleSeq(seq))
		}
	case "reorder":
		if f.pending != 0 { // seq overtakes the held one
			f.swapped[f.pending] = true
			f.alter(label, f.pending)
			f.pending = 0
			f.timer.Stop()
			return
		}
		f.eligible++
		if (f.eligible-1)%f.every != 0 {
			return
		}
		f.pending = seq
		f.timer = time.AfterFunc(f.window, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if f.pending == seq {
				f.swapped[seq] = false
				f.pending = 0
				s.wakeAll()
			}
		})
	default: // duplicate, gap, malformed, skew
		if f.chosen(seq) {
			f.alter(label, seq)
		}
	}
}

// feedFrame is one frame to send a subscriber, and the seq after which the
// subscriber stands once it is sent (0: the frame is not the last of its
// seq). A nil data sends nothing: the seq is skipped.
type feedFrame struct {
	data []byte
	done int64
}

// frames appends to out what a subscriber sends live from seq next on, up
// to a batch, and stops at a seq that is held. The caller holds s.mu.
func (s *FeedServer) frames(out []feedFrame, sub *feedSub, next int64) []feedFrame {
	n := int64(len(s.log))
	for seq := next; seq <= n && len(out) < feedBatch; {
		if seq <= sub.base || len(s.faults) == 0 { // catching up, or never a fault
			out = append(out, feedFrame{s.log[seq-1], seq})
			seq++
			continue
		}
		var used int64
		out, used = s.altered(out, seq)
		if used == 0 {
			break
		}
		seq += used
	}
	return out
}

// altered appends the live frames of seq, as the fault that covers it says,
// and returns how many seqs they use up (0: seq is held, wait). The caller
// holds s.mu.
func (s *FeedServer) altered(out []feedFrame, seq int64) ([]feedFrame, int64) {
	msg := s.log[seq-1]
	var f *feedFault
	for i := len(s.faults) - 1; i >= 0; i-- {
		if s.faults[i].from <= seq {
			if s.faults[i].covers(seq) {
				f = s.faults[i]
			}
			break
		}
	}
	if f == nil {
		return append(out, feedFrame{msg, seq}), 1
	}
	switch f.kind {
	case "burst":
		if f.on {
			return out, 0
		}
	case "reorder":
		if swap, ok := f.swapped[seq]; ok && swap {
			return append(out, feedFrame{s.log[seq], 0}, feedFrame{msg, seq + 1}), 2
		}
		if f.pending == seq {
			return out, 0
		}
	case "duplicate":
		if f.chosen(seq) {
			return append(out, feedFrame{msg, seq}, feedFrame{msg, seq}), 1
		}
	case "gap":
		if f.chosen(seq) {
			return append(out, feedFrame{nil, seq}), 1
		}
	case "stale":
		if f.chosen(seq) && seq > 1 {
			return append(out, feedFrame{msg, seq}, feedFrame{s.log[staleSeq(seq)-1], seq}), 1
		}
	case "malformed":
		if f.chosen(seq) {
			// Cut in half: it does not parse, and its seq (the first
			// field) can still be read by eye.
			return append(out, feedFrame{msg[:len(msg)/2], seq}), 1
		}
	case "skew":
		if f.chosen(seq) {
			return append(out, feedFrame{skewed(msg, f.skew), seq}), 1
		}
	}
	return append(out, feedFrame{msg, seq}), 1
}

// skewed is msg with its ts shifted by d.
func skewed(msg []byte, d time.Duration) []byte {
	var m FeedMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return msg // the log holds only what Publish encoded
	}
	ts, err := time.Parse(FeedTimeFormat, m.TS)
	if err != nil {
		return msg
	}
	m.TS = ts.Add(d).UTC().Format(FeedTimeFormat)
	b, err := json.Marshal(m)
	if err != nil {
		return msg
	}
	return b
}
