package replay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http/httptrace"
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
)

// HistogramMaxUS is the largest value, in µs (one hour), the engine's
// histograms hold; larger values are recorded as it. Three significant
// digits keep p99 exact to 0.1%.
const HistogramMaxUS = int64(time.Hour / time.Microsecond)

// Engine replays a Plan open loop: every event is sent at its planned time,
// never after the previous answer. Bettor events go to a Target through at
// most Workers requests in flight; when none is free at an event's time,
// the event is dropped and counted, never queued, because a queued request
// would be sent late and hide the platform's slowness in the generator's.
// Feed events go to a Publisher, in plan order. The engine uses time.Now,
// timers and goroutines only, so testing/synctest can run it in virtual time.
//
// A request's send time is the moment it went out, not the moment it was
// due: when the Target uses net/http with the context Send is given (as
// HTTPTarget does), it is when the request was written to the connection
// (httptrace WroteRequest); otherwise it is stamped in the worker right
// before Send is called. Either way every harness-side delay before the
// request leaves (scheduling the worker, marshalling, dialling) shows as
// schedule lag, which a run checks against its bound (exit 5), instead of
// passing silently as the platform's latency.
type Engine struct {
	target  Target
	feed    Publisher
	workers int
	journal io.Writer
	drain   time.Duration
}

// EngineOption configures an Engine.
type EngineOption func(*Engine)

// Workers sets how many requests may be in flight at once (default
// DefaultWorkers; below 1 means 1).
func Workers(n int) EngineOption {
	return func(e *Engine) { e.workers = max(n, 1) }
}

// JournalTo writes each journal entry to w as a JSON line when it completes
// (so in completion order, not Seq order). Writes are serialized.
func JournalTo(w io.Writer) EngineOption {
	return func(e *Engine) { e.journal = w }
}

// DrainTimeout bounds the wait for in-flight requests once dispatch ends
// (default DefaultDrainTimeout). Past it their contexts are cancelled, and
// a request still running a second later is journaled as unknown.
func DrainTimeout(d time.Duration) EngineOption {
	return func(e *Engine) { e.drain = d }
}

// NewEngine returns an Engine that sends bettor events to target and feed
// events to feed. Either may be nil when the plan has no events for it.
func NewEngine(target Target, feed Publisher, opts ...EngineOption) *Engine {
	e := &Engine{target: target, feed: feed, workers: DefaultWorkers, drain: DefaultDrainTimeout}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Result is what a replay did and measured.
type Result struct {
	Start       time.Time                        // the replay clock's zero
	Wall        time.Duration                    // from Start to the end of Run
	Journal     []JournalEntry                   // every dispatched or dropped entry, sorted by Seq
	Planned     int64                            // entries in the plan
	Sent        int64                            // requests sent plus feed events published
	Dropped     int64                            // bettor events with no free worker at their time
	ScheduleLag *hdrhistogram.Histogram          // µs from intended to actual send (see Engine), every sent entry
	Latency     map[Kind]*hdrhistogram.Histogram // µs from intended send to answer, per bettor kind
}

// newHistogram is a histogram of µs up to HistogramMaxUS.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, HistogramMaxUS, 3)
}

// run is the shared state of one Run.
type run struct {
	start time.Time
	mu    sync.Mutex
	res   *Result
	enc   *json.Encoder
	jerr  error               // the first journal write error
	live  map[int64]*inflight // requests in flight, by Seq
	ended bool                // abandoned requests are no longer recorded
}

// Run replays plan, with start as the time of offset 0 (start may be in the
// past or the future: every send time is start + At). It returns when every
// entry has been dispatched or dropped and the in-flight requests have
// answered (bounded by DrainTimeout). Cancelling ctx stops dispatch at once;
// the entries not yet reached are left out of the journal, in-flight
// requests still get DrainTimeout to answer, and Run returns the partial
// Result together with ctx's error. A journal write error is returned too,
// with the full Result: the in-memory journal is complete regardless.
func (e *Engine) Run(ctx context.Context, plan *Plan, start time.Time) (*Result, error) {
	if plan == nil {
		return nil, errors.New("replay: Run needs a plan")
	}
	for _, p := range plan.Entries {
		if p.Event.Kind.IsFeed() && e.feed == nil {
			return nil, errors.New("replay: the plan has feed events but the engine has no Publisher")
		}
		if !p.Event.Kind.IsFeed() && e.target == nil {
			return nil, errors.New("replay: the plan has bettor events but the engine has no Target")
		}
	}
	r := &run{
		start: start,
		live:  map[int64]*inflight{},
		res: &Result{
			Start:       start,
			Journal:     make([]JournalEntry, 0, len(plan.Entries)),
			Planned:     int64(len(plan.Entries)),
			ScheduleLag: newHistogram(),
			Latency: map[Kind]*hdrhistogram.Histogram{
				KindDeposit: newHistogram(), KindWithdraw: newHistogram(),
				KindBet: newHistogram(), KindCashout: newHistogram(),
			},
		},
	}
	if e.journal != nil {
		r.enc = json.NewEncoder(e.journal)
	}
	// Requests outlive a cancelled ctx until the drain bound, so an answer
	// already on its way is still recorded as what it was.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	slots := make(chan struct{}, e.workers)
	var wg sync.WaitGroup

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var stopped error
dispatch:
	for i, p := range plan.Entries {
		intended := start.Add(p.At)
		if d := time.Until(intended); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				stopped = ctx.Err()
				break dispatch
			}
		} else if err := ctx.Err(); err != nil {
			stopped = err
			break
		}
		entry := newJournalEntry(int64(i+1), p)
		if p.Event.Kind.IsFeed() {
			sent := time.Now()
			entry.FeedSeq = e.feed.Publish(p.Event)
			entry.Outcome = OutcomePublished
			r.done(entry, sent, time.Now())
			continue
		}
		select {
		case slots <- struct{}{}:
		default:
			entry.Outcome = OutcomeDropped
			r.dropped(entry)
			continue
		}
		// Registered before the goroutine starts, so a drain that gives up
		// on it still finds it. It is not stamped sent here: the worker may
		// take a while to be scheduled, and that delay is the harness's.
		f := r.begin(entry)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := httptrace.WithClientTrace(reqCtx, f.trace())
			f.started.Store(new(time.Now()))
			resp := e.target.Send(ctx, p.Event)
			done := time.Now()
			<-slots // free the slot before journaling: journal I/O must not cause drops
			entry.Outcome, entry.Code, entry.HTTPStatus, entry.Error = resp.Outcome, resp.Code, resp.HTTPStatus, resp.Err
			if entry.Outcome == "" {
				entry.Outcome = OutcomeUnknown // a Target that says nothing has not said yes
			}
			r.done(entry, f.sent(done), done)
		}()
	}
	r.drain(&wg, e.drain, cancelReqs)

	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	res := r.res
	slices.SortFunc(res.Journal, func(a, b JournalEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	res.Wall = time.Since(start)
	var jerr error
	if r.jerr != nil {
		jerr = fmt.Errorf("replay: writing the journal: %w", r.jerr)
	}
	return res, errors.Join(stopped, jerr)
}

// drain waits for in-flight requests up to bound, then cancels them and
// waits one more second; whatever is still running then is journaled as
// unknown, since nobody can say whether it took effect.
func (r *run) drain(wg *sync.WaitGroup, bound time.Duration, cancelReqs context.CancelFunc) {
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
	for _, seq := range slices.Sorted(maps.Keys(r.live)) {
		f := r.live[seq]
		e := f.entry
		e.Outcome = OutcomeUnknown
		e.Error = "still in flight when the replay ended"
		r.sentLocked(&e, f.sent(now))
		r.recordLocked(e, now, true)
	}
	r.ended = true
}

// inflight is a bettor request between dispatch and its answer. Its times
// are set by the worker and by the transport's goroutines, and read by the
// drain when it gives up, hence atomic.
type inflight struct {
	entry   JournalEntry
	started atomic.Pointer[time.Time] // the worker's stamp, right before Send
	wrote   atomic.Pointer[time.Time] // when net/http finished writing it, if it did
}

// trace records when the request was written. WroteRequest comes after the
// request is flushed to the connection, the first moment the platform can
// see it; a failed write is not a send, so it keeps the worker's stamp.
func (f *inflight) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			f.wrote.Store(new(time.Now()))
		}
	}}
}

// sent is when the request went out: when it was written if the transport
// said so, else the worker's stamp, else (the worker never ran) fallback,
// which is no earlier than the request could have gone out.
func (f *inflight) sent(fallback time.Time) time.Time {
	if t := f.wrote.Load(); t != nil {
		return *t
	}
	if t := f.started.Load(); t != nil {
		return *t
	}
	return fallback
}

// newJournalEntry is the journal entry of planned entry seq, before sending.
func newJournalEntry(seq int64, p Planned) JournalEntry {
	ev := p.Event
	return JournalEntry{
		Seq: seq, Kind: ev.Kind, ID: ev.ID, Account: ev.Account, Market: ev.Market,
		Selection: ev.Selection, Odds: ev.Odds, Stake: ev.Stake, Amount: ev.Amount,
		Bet: ev.Bet, Winners: ev.Winners, Clone: p.Clone,
		IntendedUS: p.At.Microseconds(),
	}
}

// begin notes that a request is in flight; it is counted as sent, with its
// schedule lag, once its send time is known.
func (r *run) begin(e JournalEntry) *inflight {
	f := &inflight{entry: e}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.live[e.Seq] = f
	}
	return f
}

// done records an entry sent at sent and answered at done.
func (r *run) done(e JournalEntry, sent, done time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return // answered after the replay gave up on it: journaled as unknown already
	}
	r.sentLocked(&e, sent)
	delete(r.live, e.Seq)
	r.recordLocked(e, done, true)
}

// sentLocked stamps e as sent at sent and counts it, with its schedule lag.
// The caller holds r.mu.
func (r *run) sentLocked(e *JournalEntry, sent time.Time) {
	e.SentUS = sent.Sub(r.start).Microseconds()
	r.res.Sent++
	r.res.ScheduleLag.RecordValue(clampUS(e.SentUS - e.IntendedUS))
}

// dropped records an entry that was never sent.
func (r *run) dropped(e JournalEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Dropped++
	r.recordLocked(e, time.Time{}, false)
}

// recordLocked appends e to the journal, with its answer time and latency
// when it was sent. The caller holds r.mu.
func (r *run) recordLocked(e JournalEntry, done time.Time, sent bool) {
	if sent {
		e.DoneUS = done.Sub(r.start).Microseconds()
		if h := r.res.Latency[e.Kind]; h != nil {
			// From the intended time: a late send is the generator's delay,
			// and the user would have waited through it too.
			h.RecordValue(clampUS(e.DoneUS - e.IntendedUS))
		}
	}
	r.res.Journal = append(r.res.Journal, e)
	if r.enc != nil && r.jerr == nil {
		r.jerr = r.enc.Encode(e)
	}
}

// clampUS fits a µs value into the histograms' range.
func clampUS(v int64) int64 {
	return min(max(v, 0), HistogramMaxUS)
}
