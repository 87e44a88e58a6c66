package record

import (
	"sync"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// flushEvery is how often the writer flushes what it has written, so a
// recorder that is killed rather than stopped loses at most this much.
const flushEvery = time.Second

// slot states.
const (
	pending = iota // stamped, its outcome not known yet
	keep           // to be written
	skip           // not to be written (malformed, unanswered, lost)
)

// slot is one stamped arrival: a request or a feed message.
type slot struct {
	t     int64 // t_us: when it arrived, since the recorder started
	state int
	ev    replay.Event
}

// journal puts every recorded event in arrival order on one clock and
// writes them from a goroutine of its own, so a request never waits on
// the file. An arrival is stamped at once (begin), in a queue ordered by
// stamp; whether it is written is known only later (a request once the
// upstream answers), and the writer writes the queue's head as soon as
// it is known, so the file is in arrival order and t_us never goes back.
// A slow request holds back the events that arrived after it, in memory,
// until it is answered.
type journal struct {
	start time.Time
	cw    *replay.CaptureWriter
	flush func() error // flushes cw and whatever it writes to

	mu     sync.Mutex
	last   int64   // the latest stamp
	queue  []*slot // stamped and not yet taken by the writer, in stamp order
	closed bool
	lost   int64 // still pending when the journal closed

	wake chan struct{} // cap 1: the queue's head was resolved
	done chan struct{} // closed when the writer has finished

	// The writer's own, read after done.
	written map[replay.Kind]int64
	err     error // the first write error; later events are discarded
}

func newJournal(start time.Time, cw *replay.CaptureWriter, flush func() error) *journal {
	j := &journal{start: start, cw: cw, flush: flush, wake: make(chan struct{}, 1), done: make(chan struct{}),
		written: map[replay.Kind]int64{}}
	go j.run()
	return j
}

// begin stamps an arrival now. It returns nil once the journal is closed.
func (j *journal) begin() *slot {
	t := time.Since(j.start).Microseconds()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	// Stamped under the lock, so the queue's order is the stamps' order.
	t = max(t, j.last)
	j.last = t
	s := &slot{t: t}
	j.queue = append(j.queue, s)
	return s
}

// resolve settles s: written with its stamp as ev's t_us when write is
// true, else skipped. It reports whether s was still pending (false when
// it was settled before, or lost when the journal closed, or s is nil).
func (j *journal) resolve(s *slot, ev replay.Event, write bool) bool {
	if s == nil {
		return false
	}
	j.mu.Lock()
	if s.state != pending {
		j.mu.Unlock()
		return false
	}
	s.state = skip
	if write {
		s.state = keep
		s.ev = ev
		s.ev.T = s.t
	}
	head := j.queue[0] == s
	j.mu.Unlock()
	if head {
		select {
		case j.wake <- struct{}{}:
		default: // already woken
		}
	}
	return true
}

// close stops the journal: arrivals still pending are lost (counted, not
// written), the rest is written and flushed. It returns the first write
// error.
func (j *journal) close() error {
	j.mu.Lock()
	if !j.closed {
		j.closed = true
		for _, s := range j.queue {
			if s.state == pending {
				s.state = skip
				j.lost++
			}
		}
	}
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	<-j.done
	return j.err
}

// run is the writer: it takes the resolved head of the queue and writes
// it, until the journal is closed and empty.
func (j *journal) run() {
	defer close(j.done)
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var batch []*slot
	for {
		select {
		case <-j.wake:
		case <-tick.C:
			j.setErr(j.flush())
			continue
		}
		j.mu.Lock()
		n := 0
		for n < len(j.queue) && j.queue[n].state != pending {
			n++
		}
		batch = append(batch[:0], j.queue[:n]...)
		clear(j.queue[:n])
		j.queue = j.queue[n:]
		finished := j.closed && len(j.queue) == 0
		j.mu.Unlock()
		for i, s := range batch {
			if s.state == keep && j.err == nil {
				if err := j.cw.Write(s.ev); err != nil {
					j.setErr(err)
				} else {
					j.written[s.ev.Kind]++
				}
			}
			batch[i] = nil
		}
		if finished {
			j.setErr(j.flush())
			return
		}
	}
}

func (j *journal) setErr(err error) {
	if j.err == nil {
		j.err = err
	}
}
