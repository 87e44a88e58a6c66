package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptrace"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Publisher takes feed events: a FeedServer, or anything that forwards them
// to a platform's feed. Publish returns the seq it assigned.
type Publisher interface {
	Publish(ev Event) int64
}

// Engine defaults.
const (
	DefaultWorkers      = 256              // requests in flight at most
	DefaultDrainTimeout = 10 * time.Second // wait for in-flight requests at the end
	// DefaultSpinWait is how close to an event's time the dispatcher stops
	// sleeping and yields instead (see SpinWait).
	DefaultSpinWait = 0
)

// HistogramMaxUS is the largest value, in µs (one hour), the engine's
// histograms hold; larger values are recorded as it. Three significant
// digits keep p99 exact to 0.1%.
const HistogramMaxUS = int64(time.Hour / time.Microsecond)

// Engine replays a plan open loop: every event is sent at its planned time,
// never after the previous answer. Bettor events go to a Target through at
// most Workers requests in flight; when none is free at an event's time,
// the event is dropped and counted, never queued, because a queued request
// would be sent late and hide the platform's slowness in the generator's.
// Feed events go to a Publisher, in plan order. The engine uses time.Now,
// timers and goroutines only, so testing/synctest can run it in virtual time.
//
// The plan streams (a PlanStream) and so does the journal: each entry is
// written to the JournalTo writer when it completes and then forgotten, so a
// replay's memory does not grow with its capture. The Result keeps counts
// and histograms, and the journal itself only with KeepJournal.
//
// Dispatch is one goroutine that takes each entry at its time and hands a
// bettor request to a pool of Workers long-lived goroutines through a
// buffered channel; the pool is the limit on requests in flight, so the
// hand-off never blocks, and an entry that finds every worker busy is
// dropped. No goroutine is started per event.
//
// A request's send time is the moment it went out, not the moment it was
// due: when the Target uses net/http with the context Send is given (as
// HTTPTarget does), it is when the request was written to the connection
// (httptrace WroteRequest); otherwise it is stamped in the worker right
// before Send is called. Either way every harness-side delay before the
// request leaves (the hand-off, scheduling the worker, marshalling,
// dialling) shows as schedule lag, which a run checks against its bound
// (exit 5), instead of passing silently as the platform's latency.
type Engine struct {
	target  Target
	feed    Publisher
	workers int
	journal io.Writer
	drain   time.Duration
	keep    bool
	spin    time.Duration
	cur     atomic.Pointer[run] // the run in progress, for Progress
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// Workers sets how many requests may be in flight at once (default
// DefaultWorkers; below 1 means 1).
func Workers(n int) EngineOption {
	return func(e *Engine) { e.workers = max(n, 1) }
}

// JournalTo writes each journal entry to w as a JSON line when it completes
// (so in completion order, not Seq order). Writes are serialized, one Write
// per line; give a buffered writer for a file.
func JournalTo(w io.Writer) EngineOption {
	return func(e *Engine) { e.journal = w }
}

// KeepJournal keeps every journal entry in Result.Journal, sorted by Seq:
// for tests and small plans, since it holds the whole run in memory.
func KeepJournal() EngineOption {
	return func(e *Engine) { e.keep = true }
}

// DrainTimeout bounds the wait for in-flight requests once dispatch ends
// (default DefaultDrainTimeout). Past it their contexts are cancelled, and
// a request still running a second later is journaled as unknown.
func DrainTimeout(d time.Duration) EngineOption {
	return func(e *Engine) { e.drain = d }
}

// SpinWait sets how close to an entry's time the dispatcher stops sleeping
// on a timer and yields (runtime.Gosched) until the time comes (default
// DefaultSpinWait; 0 never yields). Go's timers wake up to a millisecond
// late on Linux when the process is otherwise idle (the poller's timeout is
// in milliseconds), which at high rates would make every send late; yielding
// is precise, but keeps a core busy while it waits. Whatever it is set to,
// a late send is measured, never hidden.
func SpinWait(d time.Duration) EngineOption {
	return func(e *Engine) { e.spin = max(d, 0) }
}

// NewEngine returns an Engine that sends bettor events to target and feed
// events to feed. Either may be nil when the plan has no events for it.
func NewEngine(target Target, feed Publisher, opts ...EngineOption) *Engine {
	e := &Engine{target: target, feed: feed, workers: DefaultWorkers, drain: DefaultDrainTimeout, spin: DefaultSpinWait}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Result is what a replay did and measured.
type Result struct {
	Start time.Time     // the replay clock's zero
	Wall  time.Duration // from Start to the end of Run
	// Journal is every dispatched or dropped entry, sorted by Seq, only
	// with KeepJournal; otherwise it is nil and the journal is what was
	// written to JournalTo.
	Journal     []JournalEntry
	Planned     int64                            // entries dispatched or dropped: the whole plan, unless the run stopped early
	Sent        int64                            // requests sent plus feed events published
	Dropped     int64                            // bettor events with no free worker at their time
	Outcomes    map[Kind]map[Outcome]int64       // journal entries by kind and outcome
	ScheduleLag *hdrhistogram.Histogram          // µs from intended to actual send (see Engine), every sent entry
	Latency     map[Kind]*hdrhistogram.Histogram // µs from intended send to answer, per bettor kind
}

// newHistogram is a histogram of µs up to HistogramMaxUS.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, HistogramMaxUS, 3)
}

// Progress is a snapshot of the run in progress, cheap enough to take
// several times a second.
type Progress struct {
	Running    bool          // a Run is in progress
	Elapsed    time.Duration // since the replay clock's zero (negative before it)
	Dispatched int64         // entries taken from the plan and sent, published or dropped
	Sent       int64         // requests sent plus feed events published
	Dropped    int64
	Unknown    int64         // bettor requests with no definitive answer (timeouts, transport errors, 5xx)
	LagP99     time.Duration // schedule lag p99 so far
}

// Progress returns a snapshot of the run in progress, or of the last one
// once it has ended (Running false).
func (e *Engine) Progress() Progress {
	r := e.cur.Load()
	if r == nil {
		return Progress{}
	}
	p := Progress{
		Running:    !r.finished.Load(),
		Elapsed:    time.Since(r.start),
		Dispatched: r.dispatched.Load(),
		Sent:       r.sent.Load(),
		Dropped:    r.nDropped.Load(),
		Unknown:    r.unknown.Load(),
	}
	r.mu.Lock()
	p.LagP99 = time.Duration(r.lag.ValueAtQuantile(99)) * time.Microsecond
	r.mu.Unlock()
	return p
}

// Kind and outcome indexes of the run's counters.
var (
	countedKinds    = []Kind{KindOdds, KindStatus, KindResult, KindIncident, KindRollback, KindDeposit, KindWithdraw, KindBet, KindCashout}
	countedOutcomes = []Outcome{OutcomeAccepted, OutcomeRejected, OutcomeUnknown, OutcomeDropped, OutcomePublished}
)

func kindIndex(k Kind) int {
	return slices.Index(countedKinds, k) // -1: not counted (a Kind no capture has)
}

func outcomeIndex(o Outcome) int { return slices.Index(countedOutcomes, o) }

// run is the shared state of one Run.
type run struct {
	start time.Time
	keep  bool

	// Progress counters, read without the lock.
	dispatched, sent, nDropped, unknown atomic.Int64
	finished                            atomic.Bool
	busy                                atomic.Int64 // requests handed to the pool and not yet answered

	mu       sync.Mutex
	lag      *hdrhistogram.Histogram
	latency  map[Kind]*hdrhistogram.Histogram
	counts   [9][5]int64 // by kindIndex, outcomeIndex
	journal  []JournalEntry
	w        io.Writer
	buf      []byte // one encoded journal line
	jerr     error  // the first journal write error
	ended    bool   // abandoned requests are no longer recorded
	resSent  int64
	resDrops int64
}

// job is one bettor request handed to the pool.
type job struct {
	seq int64
	p   Planned
}

// slot is one worker's request in flight, where the drain finds it.
type slot struct {
	busy bool // under run.mu
	f    *inflight
}

// Run replays plan, with start as the time of offset 0 (start may be in the
// past or the future: every send time is start + At). It returns when every
// entry has been dispatched or dropped and the in-flight requests have
// answered (bounded by DrainTimeout). Cancelling ctx stops dispatch at once;
// the entries not yet reached are left out of the journal, in-flight
// requests still get DrainTimeout to answer, and Run returns the partial
// Result together with ctx's error. An error reading the plan, or a plan
// entry the engine cannot send (a feed event with no Publisher, a bettor
// event with no Target), stops dispatch the same way and is returned with
// the partial Result. A journal write error is returned too, with the full
// Result.
func (e *Engine) Run(ctx context.Context, plan PlanStream, start time.Time) (*Result, error) {
	if plan == nil || isNilPlan(plan) {
		return nil, errors.New("replay: Run needs a plan")
	}
	r := &run{
		start: start,
		keep:  e.keep,
		w:     e.journal,
		lag:   newHistogram(),
		latency: map[Kind]*hdrhistogram.Histogram{
			KindDeposit: newHistogram(), KindWithdraw: newHistogram(),
			KindBet: newHistogram(), KindCashout: newHistogram(),
		},
	}
	e.cur.Store(r)
	defer r.finished.Store(true)

	// Requests outlive a cancelled ctx until the drain bound, so an answer
	// already on its way is still recorded as what it was.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()

	var (
		work  chan job
		slots []slot
		wg    sync.WaitGroup
	)
	if e.target != nil {
		work = make(chan job, e.workers) // never full: at most workers are busy
		slots = make([]slot, e.workers)
		for i := range slots {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.worker(r, reqCtx, &slots[i], work)
			}()
		}
	}

	w := waiter{spin: e.spin}
	defer w.stop()
	ahead := startReadAhead(plan)
	defer ahead.close()
	var (
		stopped error
		seq     int64
	)
	for {
		p, err := ahead.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			stopped = fmt.Errorf("replay: reading the plan: %w", err)
			break
		}
		isFeed := p.Event.Kind.IsFeed()
		if isFeed && e.feed == nil {
			stopped = errors.New("replay: the plan has feed events but the engine has no Publisher")
			break
		}
		if !isFeed && e.target == nil {
			stopped = errors.New("replay: the plan has bettor events but the engine has no Target")
			break
		}
		waited, err := w.until(ctx, start.Add(p.At))
		if err != nil {
			stopped = err
			break
		}
		seq++
		r.dispatched.Add(1)
		if isFeed {
			entry := newJournalEntry(seq, p)
			sent := time.Now()
			entry.FeedSeq = e.feed.Publish(p.Event)
			entry.Outcome = OutcomePublished
			r.done(entry, sent, time.Now())
			continue
		}
		if r.busy.Load() >= int64(e.workers) {
			entry := newJournalEntry(seq, p)
			entry.Outcome = OutcomeDropped
			r.dropped(entry)
			continue
		}
		r.busy.Add(1)
		work <- job{seq: seq, p: p}
		if !waited {
			// Catching up (the entry was due before the dispatcher got
			// to it): let the worker start now, since on a busy or single
			// core a dispatcher that ran on through a catch-up would
			// starve the pool it hands to. Not on time: a yield puts the
			// dispatcher at the back of the global run queue, behind every
			// runnable goroutine, and would make the next send late.
			runtime.Gosched()
		}
	}
	if work != nil {
		close(work)
	}
	r.drain(&wg, slots, work, e.drain, cancelReqs)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	res := &Result{
		Start: start, Wall: time.Since(start),
		Planned: seq, Sent: r.resSent, Dropped: r.resDrops,
		ScheduleLag: r.lag, Latency: r.latency,
		Outcomes: map[Kind]map[Outcome]int64{},
	}
	for ki, k := range countedKinds {
		for oi, o := range countedOutcomes {
			if n := r.counts[ki][oi]; n > 0 {
				if res.Outcomes[k] == nil {
					res.Outcomes[k] = map[Outcome]int64{}
				}
				res.Outcomes[k][o] = n
			}
		}
	}
	if r.keep {
		res.Journal = r.journal
		slices.SortFunc(res.Journal, func(a, b JournalEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	var jerr error
	if r.jerr != nil {
		jerr = fmt.Errorf("replay: writing the journal: %w", r.jerr)
	}
	return res, errors.Join(stopped, jerr)
}

// isNilPlan catches a nil *Planner passed as a PlanStream.
func isNilPlan(p PlanStream) bool {
	pl, ok := p.(*Planner)
	return ok && pl == nil
}

// worker sends the requests handed to it, one at a time, until work is
// closed.
func (e *Engine) worker(r *run, reqCtx context.Context, s *slot, work <-chan job) {
	for j := range work {
		entry := newJournalEntry(j.seq, j.p)
		// Registered before the request starts, so a drain that gives up
		// on it still finds it. It is stamped sent only here, in the
		// worker: the hand-off and the scheduling of the worker are the
		// harness's delay.
		f := &inflight{entry: entry, start: r.start}
		f.ct.WroteRequest = f.wroteRequest
		r.mu.Lock()
		s.busy, s.f = !r.ended, f
		r.mu.Unlock()
		ctx := httptrace.WithClientTrace(reqCtx, &f.ct)
		f.started.Store(int64(time.Since(r.start)) | stampSet)
		resp := e.target.Send(ctx, j.p.Event)
		done := time.Now()
		r.busy.Add(-1) // free the worker before journaling: journal I/O must not cause drops
		entry.Outcome, entry.Code, entry.HTTPStatus, entry.Error = resp.Outcome, resp.Code, resp.HTTPStatus, resp.Err
		if !resp.PendingAt.IsZero() {
			entry.PendingUS = resp.PendingAt.Sub(r.start).Microseconds()
		}
		if entry.Outcome == "" {
			entry.Outcome = OutcomeUnknown // a Target that says nothing has not said yes
		}
		r.finish(s, entry, f.sent(done), done)
	}
}

// waiter waits for an entry's time: on a timer, then, for the last stretch,
// by yielding.
type waiter struct {
	spin  time.Duration
	timer *time.Timer
	// frozen is set once the clock was seen not to move while the
	// dispatcher yielded: a virtual clock (testing/synctest), which only
	// moves when every goroutine is blocked, so yielding would wait
	// forever; the timer alone is used from then on.
	frozen bool
}

// spinChecks is how many yields in a row may see the clock stand still
// before it is taken for a virtual clock. A real clock moves by at least a
// nanosecond across one runtime.Gosched.
const spinChecks = 64

// until waits for t; it reports whether it had to wait at all (false: t
// was already due), and ctx's error when ctx ended first.
func (w *waiter) until(ctx context.Context, t time.Time) (waited bool, err error) {
	for {
		d := time.Until(t)
		if d <= 0 {
			// Due or late: no waiting, but a cancel still stops dispatch.
			select {
			case <-ctx.Done():
				return waited, ctx.Err()
			default:
				return waited, nil
			}
		}
		waited = true
		if d <= w.spin && !w.frozen {
			if w.yield(ctx, t) {
				return waited, ctx.Err()
			}
			continue
		}
		sleep := d
		if !w.frozen {
			sleep = d - w.spin/2 // wake a little early; yield the rest
		}
		if w.timer == nil {
			w.timer = time.NewTimer(sleep)
		} else {
			w.timer.Reset(sleep)
		}
		select {
		case <-w.timer.C:
		case <-ctx.Done():
			w.timer.Stop()
			return waited, ctx.Err()
		}
	}
}

// yield spins with runtime.Gosched until t; it reports whether it
// returned because of ctx, and notes a virtual clock.
func (w *waiter) yield(ctx context.Context, t time.Time) (cancelled bool) {
	last := time.Now()
	still := 0
	for i := 0; ; i++ {
		runtime.Gosched()
		now := time.Now()
		if !now.Before(t) {
			return false
		}
		if now.Equal(last) {
			if still++; still >= spinChecks {
				w.frozen = true
				return false
			}
		} else {
			last, still = now, 0
		}
		if i%64 == 63 && ctx.Err() != nil {
			return true
		}
	}
}

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// drain waits for the pool's requests up to bound, then cancels them and
// waits one more second; whatever is still running then is journaled as
// unknown, since nobody can say whether it took effect.
func (r *run) drain(wg *sync.WaitGroup, slots []slot, work chan job, bound time.Duration, cancelReqs context.CancelFunc) {
	finished := make(chan struct{})
	go func() {
		wg.Wait()
		close(finished)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-finished:
		return
	case <-t.C:
	}
	cancelReqs()
	t.Reset(time.Second)
	select {
	case <-finished:
		return
	case <-t.C:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	var abandoned []*inflight
	for i := range slots {
		if slots[i].busy {
			abandoned = append(abandoned, slots[i].f)
			slots[i].busy = false
		}
	}
	// A request still queued for a worker (every worker stuck, the CPU
	// starved) is given up on too, as if its worker never ran.
	for queued := true; queued; {
		select {
		case j, ok := <-work:
			if queued = ok; ok {
				r.busy.Add(-1)
				abandoned = append(abandoned, &inflight{entry: newJournalEntry(j.seq, j.p), start: r.start})
			}
		default:
			queued = false
		}
	}
	slices.SortFunc(abandoned, func(a, b *inflight) int { return cmp.Compare(a.entry.Seq, b.entry.Seq) })
	for _, f := range abandoned {
		e := f.entry
		e.Outcome = OutcomeUnknown
		e.Error = "still in flight when the replay ended"
		r.sentLocked(&e, f.sent(now))
		r.recordLocked(e, now, true)
	}
	r.ended = true
}

// stampSet marks a stamp as set, so that a stamp of 0 ns is not "unset".
const stampSet = 1 << 62

// inflight is a bettor request between its worker's stamp and its answer.
// Its times are set by the worker and by the transport's goroutines, and
// read by the drain when it gives up, hence atomic; each is nanoseconds
// from the replay's start, with stampSet.
type inflight struct {
	entry   JournalEntry
	start   time.Time
	started atomic.Int64 // the worker's stamp, right before Send
	wrote   atomic.Int64 // when net/http finished writing it, if it did
	ct      httptrace.ClientTrace
}

// wroteRequest records when the request was written. WroteRequest comes
// after the request is flushed to the connection, the first moment the
// platform can see it; a failed write is not a send, so it keeps the
// worker's stamp. Each request has its own inflight, so a write reported
// after its worker has moved on cannot touch the next request.
func (f *inflight) wroteRequest(i httptrace.WroteRequestInfo) {
	if i.Err == nil {
		f.wrote.Store(int64(time.Since(f.start)) | stampSet)
	}
}

// sent is when the request went out: when it was written if the transport
// said so, else the worker's stamp, else (the worker never ran) fallback,
// which is no earlier than the request could have gone out.
func (f *inflight) sent(fallback time.Time) time.Time {
	if t := f.wrote.Load(); t != 0 {
		return f.start.Add(time.Duration(t &^ stampSet))
	}
	if t := f.started.Load(); t != 0 {
		return f.start.Add(time.Duration(t &^ stampSet))
	}
	return fallback
}

// newJournalEntry is the journal entry of planned entry seq, before sending.
func newJournalEntry(seq int64, p Planned) JournalEntry {
	ev := &p.Event
	e := JournalEntry{
		Seq: seq, Kind: ev.Kind, ID: ev.ID, Account: ev.Account, Market: ev.Market,
		Selection: ev.Selection, Odds: ev.Odds, Policy: ev.Policy, Stake: ev.Stake, Amount: ev.Amount,
		Bet: ev.Bet, Winners: ev.Winners, DeadHeat: ev.DeadHeat, VoidFactor: ev.VoidFactor, Clone: p.Clone,
		IntendedUS: p.At.Microseconds(),
	}
	if ev.Kind == KindStatus {
		// The market timeline, for reconciliation's status checks.
		e.Status, e.InPlay, e.BetDelayMS = ev.Status, ev.InPlay, ev.BetDelayMS
	}
	return e
}

// done records a feed entry published at sent and done at done.
func (r *run) done(e JournalEntry, sent, done time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	r.sentLocked(&e, sent)
	r.recordLocked(e, done, true)
}

// finish records a worker's request, sent at sent and answered at done,
// unless the drain has given up on it already.
func (r *run) finish(s *slot, e JournalEntry, sent, done time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || !s.busy {
		return // answered after the replay gave up on it: journaled as unknown already
	}
	s.busy, s.f = false, nil
	r.sentLocked(&e, sent)
	r.recordLocked(e, done, true)
}

// sentLocked stamps e as sent at sent and counts it, with its schedule lag.
// The caller holds r.mu.
func (r *run) sentLocked(e *JournalEntry, sent time.Time) {
	e.SentUS = sent.Sub(r.start).Microseconds()
	r.resSent++
	r.sent.Add(1)
	_ = r.lag.RecordValue(clampUS(e.SentUS - e.IntendedUS))
}

// dropped records an entry that was never sent.
func (r *run) dropped(e JournalEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resDrops++
	r.nDropped.Add(1)
	r.recordLocked(e, time.Time{}, false)
}

// recordLocked counts e and writes it to the journal, with its answer time
// and latency when it was sent. The caller holds r.mu.
func (r *run) recordLocked(e JournalEntry, done time.Time, sent bool) {
	if sent {
		e.DoneUS = done.Sub(r.start).Microseconds()
		if h := r.latency[e.Kind]; h != nil {
			// From the intended time: a late send is the generator's delay,
			// and the user would have waited through it too.
			_ = h.RecordValue(clampUS(e.DoneUS - e.IntendedUS))
		}
	}
	if e.Outcome == OutcomeUnknown && !e.Kind.IsFeed() {
		r.unknown.Add(1)
	}
	if ki, oi := kindIndex(e.Kind), outcomeIndex(e.Outcome); ki >= 0 && oi >= 0 {
		r.counts[ki][oi]++
	}
	if r.keep {
		r.journal = append(r.journal, e)
	}
	if r.w != nil && r.jerr == nil {
		r.buf = append(appendJournalEntry(r.buf[:0], &e), '\n')
		_, r.jerr = r.w.Write(r.buf)
	}
}

// clampUS fits a µs value into the histograms' range.
func clampUS(v int64) int64 {
	return min(max(v, 0), HistogramMaxUS)
}

// readAhead reads a plan in a goroutine of its own, a few batches ahead of
// dispatch, so that decoding and planning the capture (microseconds an
// entry for a file) run beside the dispatcher instead of in its path; it
// holds at most aheadBatches+1 batches of aheadBatch entries.
type readAhead struct {
	batches chan planBatch
	free    chan []Planned
	stop    chan struct{}
	done    chan struct{}
	cur     []Planned
	i       int
	err     error
}

type planBatch struct {
	entries []Planned
	err     error // after the entries: io.EOF at the end
}

const (
	aheadBatch   = 256
	aheadBatches = 4
)

func startReadAhead(p PlanStream) *readAhead {
	ra := &readAhead{
		batches: make(chan planBatch, aheadBatches),
		free:    make(chan []Planned, aheadBatches+1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	for range aheadBatches + 1 {
		ra.free <- make([]Planned, 0, aheadBatch)
	}
	go ra.fill(p)
	return ra
}

func (ra *readAhead) fill(p PlanStream) {
	defer close(ra.done)
	for {
		var b []Planned
		select {
		case b = <-ra.free:
		case <-ra.stop:
			return
		}
		var err error
		for len(b) < cap(b) {
			e, nerr := p.Next()
			if nerr != nil {
				err = nerr
				break
			}
			b = append(b, e)
		}
		select {
		case ra.batches <- planBatch{b, err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the plan's next entry, as PlanStream.Next.
func (ra *readAhead) Next() (Planned, error) {
	for ra.i >= len(ra.cur) {
		if ra.err != nil {
			return Planned{}, ra.err
		}
		if ra.cur != nil {
			clear(ra.cur) // let the events' maps and slices go
			ra.free <- ra.cur[:0]
		}
		b := <-ra.batches
		ra.cur, ra.i, ra.err = b.entries, 0, b.err
	}
	ra.i++
	return ra.cur[ra.i-1], nil
}

// close stops the reading and waits for it (an entry being read is
// finished first).
func (ra *readAhead) close() {
	close(ra.stop)
	<-ra.done
}
