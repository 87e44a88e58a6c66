package scenarios

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/replay/bettors"
	"github.com/inplaylabs/inplay/replay/synth"
	"github.com/inplaylabs/inplay/reports"
)

// Options are the run's settings that do not belong in the scenario: where
// the services are, where the reports go, and whether to keep the data.
type Options struct {
	OutDir string        // folder for the reports, journal.jsonl, ledger.jsonl and platform.log
	Stack  stack.Options // how to find Redis and PostgreSQL
	Keep   bool          // keep the run's database and Redis keys
	Logger *slog.Logger  // progress; nil = discard
	// PlatformBinary is the inplay executable whose `inplay platform` is the
	// system under test; empty means this process's own executable.
	PlatformBinary string
	// PlatformArgs are extra flags for `inplay platform`, after the run's
	// own (for example --debug-addr to profile it).
	PlatformArgs []string
	// Launcher starts the system under test; nil means the reference
	// platform as a child process of PlatformBinary.
	Launcher Launcher
	// Unlinked makes no chaos links: the harness and the platform reach
	// each other and the stores directly. It is for measuring the
	// platform's own capacity (make bench), where the links' relaying in
	// the harness's process would share the platform's cores; a scenario
	// with faults is refused.
	Unlinked bool
	// Progress, when set, is given a live view of the replay while it
	// runs (see ProgressFunc); the CLI draws its progress line from it.
	Progress ProgressFunc
	// Shard makes the run one shard of a sharded run (inplay run --shard
	// i/n, docs/scale-out.md): it replays its 1/n of the bettors, and the
	// whole feed to its own platform. The zero Shard is the whole run.
	Shard replay.Shard
}

// Result is what a run produced.
type Result struct {
	Report *reports.Report
	Files  []string  // every file written to OutDir
	Run    stack.Run // the run's database and Redis prefix (still there with Keep)
	// PlatformPeakRSS is the platform's peak resident memory in bytes, at
	// the end of the run; 0 when the System cannot tell (see rssReader).
	PlatformPeakRSS int64
}

// rssReader is the optional ability of a System whose process the run can
// see: its peak resident memory.
type rssReader interface {
	PeakRSS() (int64, error)
}

// Run executes one scenario end to end (DESIGN.md, "One run, end to end")
// and writes its reports. A returned error means there is no verdict: a
// *herr.Error with code EINPUT (exit 3) or EENV (exit 4; a
// *stack.UnavailableError is its cause when no stack could be found).
// Whatever happens, the platform is stopped, the links removed and, unless
// Keep, the run's data dropped before Run returns.
func Run(ctx context.Context, sc *Scenario, opts Options) (*Result, error) {
	r := &runner{sc: sc, opts: opts, log: opts.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	defer r.cleanup(context.WithoutCancel(ctx))
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "--out", Problems: []string{err.Error()}}
	}
	// The load first: it is cheap, and bad input must fail before anything
	// is provisioned.
	if err := r.planLoad(); err != nil {
		return nil, err
	}
	if err := r.provision(ctx); err != nil {
		return nil, err
	}
	if err := r.link(ctx); err != nil {
		return nil, err
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	res, err := r.replay(ctx)
	if err != nil {
		return nil, err
	}
	if r.interrupted {
		// What was measured until the signal is still reported, bounded:
		// the user asked to stop, not to wait.
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interruptedVerdictBound)
		defer cancel()
		return r.verdict(vctx, res)
	}
	return r.verdict(ctx, res)
}

// interruptedVerdictBound bounds the reading of the ledger and the writing
// of the reports of an interrupted run.
const interruptedVerdictBound = 30 * time.Second

// runner is one run's state, built up step by step; each step reads on its
// own and registers what must be undone in cleanup.
type runner struct {
	sc   *Scenario
	opts Options
	log  *slog.Logger

	undo []func(context.Context) // run in reverse order by cleanup

	// planLoad
	planOpts replay.PlanOptions
	planned  int64 // entries in the plan
	digest   string
	// provision
	svc   *stack.Services
	runID string
	run   *stack.Run
	// link
	layer    *chaos.Layer
	env      chaos.Env     // what the faults act through
	faults   []chaos.Fault // the plan for this run, random faults drawn
	feed     *replay.FeedServer
	launcher Launcher
	wiring   Wiring
	platLog  *os.File
	// rerunFiles are scenario.yaml and plan.yaml (writeRerun)
	rerunFiles []string
	// start
	sys System
	// replay
	records     []chaos.Record
	quotes      *replay.QuoteSubscribers
	interrupted bool // ctx ended during the replay: the verdict is "interrupted"
}

func (r *runner) defer_(f func(context.Context)) { r.undo = append(r.undo, f) }

func (r *runner) cleanup(ctx context.Context) {
	for i := len(r.undo) - 1; i >= 0; i-- {
		r.undo[i](ctx)
	}
}

// planLoad loads or generates the capture and plans it (step 5), in one
// streamed pass that checks every line (all problems at once), digests the
// capture and counts the plan; the replay reads it again as it goes.
func (r *runner) planLoad() error {
	r.planOpts = replay.PlanOptions{Speed: r.sc.Speed, Headroom: r.sc.Headroom, Seed: r.sc.Seed, Shard: r.opts.Shard}
	capture, closeCapture, err := openCapture(r.sc, replay.AllProblems())
	if err != nil {
		return err
	}
	defer closeCapture()
	digest := replay.NewDigester(capture)
	planner, err := replay.NewPlanner(digest, r.planOpts)
	if err != nil {
		return &herr.Error{Code: herr.EINPUT, Source: "capture", Problems: []string{err.Error()}}
	}
	sum, err := planner.Summary()
	if err != nil {
		return captureInputError(r.sc, err)
	}
	r.planned, r.digest = sum.Entries, digest.Sum()
	r.log.Info("load planned", "events", sum.Entries, "wall", sum.Duration.Round(time.Millisecond))
	return nil
}

// provision finds the stack and gives the run its own database and Redis
// key prefix (step 2).
func (r *runner) provision(ctx context.Context) error {
	svc, err := stack.Resolve(ctx, r.opts.Stack)
	if err != nil {
		return err
	}
	r.svc = svc
	r.defer_(func(ctx context.Context) { svc.Close(ctx) })
	r.runID = newRunID(r.sc.Name)
	run, err := svc.Provision(ctx, r.runID)
	if err != nil {
		return herr.Envf("provision run %s: %w", r.runID, err)
	}
	r.run = run
	r.log.Info("stack ready", "source", svc.Source, "database", run.DatabaseName, "redis_prefix", run.KeyPrefix)
	if !r.opts.Keep {
		r.defer_(func(ctx context.Context) {
			if err := run.Teardown(ctx); err != nil {
				r.log.Warn("teardown", "err", err)
			}
		})
	}
	return nil
}

// link starts the feed server, lets the system under test take its
// addresses, and puts a toxiproxy link on every hop of chaos.Hops (step 3).
func (r *runner) link(ctx context.Context) error {
	layer, err := chaos.NewLayer(ctx)
	if err != nil {
		return herr.Envf("chaos layer: %w", err)
	}
	r.layer = layer
	r.defer_(func(context.Context) { layer.Close() })

	// The feed server the platform subscribes to, as it would to a vendor.
	r.feed = replay.NewFeedServer("replay")
	// A replay at speed N serves the feed's announced bet delays in its
	// own time, as it does every other interval: divided by N.
	r.feed.ScaleBetDelay(r.sc.Speed)
	r.defer_(func(context.Context) { r.feed.Close() })
	feedURL, stopFeed, err := serve(r.feed)
	if err != nil {
		return herr.Envf("feed server: %w", err)
	}
	r.defer_(func(context.Context) { stopFeed() })

	// The platform's logs go to platform.log beside the reports: under
	// faults it logs every failed request, which is evidence for the
	// reader, not noise for the terminal.
	if r.platLog, err = os.Create(filepath.Join(r.opts.OutDir, "platform.log")); err != nil {
		return &herr.Error{Code: herr.EINPUT, Source: "--out", Problems: []string{err.Error()}}
	}
	r.defer_(func(context.Context) { r.platLog.Close() })
	if r.launcher = r.opts.Launcher; r.launcher == nil {
		bin := r.opts.PlatformBinary
		if bin == "" {
			if bin, err = os.Executable(); err != nil {
				return herr.Envf("find the inplay executable for the platform: %w", err)
			}
		}
		r.launcher = &refLauncher{binary: bin, log: r.platLog, extraArgs: r.opts.PlatformArgs,
			cfg: PlatformSettings{InPlayDelay: r.sc.InPlayDelay, BetDelayFromFeed: r.sc.BetDelayFromFeed, HoldBets: r.sc.HoldBets, EventStore: r.sc.EventStore, MaxStake: r.sc.MaxStake}}
	}
	r.defer_(func(context.Context) { r.launcher.Close() })
	up, err := r.launcher.Prepare(ctx)
	if err != nil {
		return herr.Envf("prepare the platform: %w", err)
	}

	pgURL, err := url.Parse(r.run.DatabaseURL)
	if err != nil {
		return herr.Envf("database url: %w", err)
	}
	feedAddr, err := url.Parse(feedURL)
	if err != nil {
		return herr.Envf("feed url: %w", err)
	}
	upstream := map[string]string{
		"redis": r.run.RedisAddr, "postgres": pgURL.Host, "feed": feedAddr.Host,
		"api": up.API, "stream": up.Stream,
	}
	var via map[string]string
	if r.opts.Unlinked {
		if len(r.sc.Faults) > 0 || r.sc.Random != nil {
			return &herr.Error{Code: herr.EINPUT, Source: "faults", Problems: []string{"a run without links (Options.Unlinked) cannot inject faults"}}
		}
		via = maps.Clone(upstream)
	} else if via, err = r.linkHops(upstream); err != nil {
		return err
	}
	// The faults act through the links, the feed server's alterations, the
	// harness's end of the api link (ack_lost) and, when the launcher's
	// platform is under the run's control, its process and stores.
	ack := replay.NewAckLoss()
	r.env = chaos.Env{Layer: layer, Feed: r.feed, Answers: ack}
	if _, ok := r.launcher.(controlledLauncher); ok {
		r.env.Processes = map[string]chaos.Process{chaos.ProcessTarget: lateProcess{r, chaos.ProcessTarget}}
		r.env.Stores = lateStores{r}
	}
	// The plan was validated against all a run can have; check it again,
	// and draw its random faults, against what this run really has.
	faults, errs := r.sc.Plan(r.env.Reach())
	if len(errs) > 0 {
		var problems []string
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
		return &herr.Error{Code: herr.EINPUT, Source: "faults", Problems: problems}
	}
	r.faults = faults
	if r.rerunFiles, err = writeRerun(r.opts.OutDir, r.sc, faults); err != nil {
		return &herr.Error{Code: herr.EINPUT, Source: "--out", Problems: []string{err.Error()}}
	}
	if r.sc.Random != nil {
		for _, f := range faults {
			r.log.Info("fault planned", "name", f.Name, "target", f.Target, "kind", f.Kind, "at", f.At, "for", f.For, "params", f.Params)
		}
	}
	proxiedPG := *pgURL
	proxiedPG.Host = via["postgres"]
	r.wiring = Wiring{
		RedisAddr: via["redis"], RedisDB: r.run.RedisDB, KeyPrefix: r.run.KeyPrefix,
		PostgresURL: proxiedPG.String(),
		FeedURL:     "http://" + via["feed"],
		APIURL:      "http://" + via["api"],
		LedgerURL:   r.run.DatabaseURL,
		// The store faults reach the run's keys directly, never through
		// a fault on the redis link.
		StoreRedisAddr: r.run.RedisAddr,
		TargetOptions:  []replay.HTTPTargetOption{replay.LoseAnswers(ack)},
	}
	if via["stream"] != "" {
		r.wiring.StreamURL = "http://" + via["stream"]
	}
	r.log.Info("links ready", "links", layer.Links(), "toxiproxy", layer.APIURL())
	return nil
}

// linkHops puts a link on every hop of chaos.Hops that has an upstream and
// returns the address to dial for each.
func (r *runner) linkHops(upstream map[string]string) (map[string]string, error) {
	via := map[string]string{}
	for _, h := range chaos.Hops {
		addr, ok := upstream[h.Name]
		if !ok || addr == "" {
			continue // the system under test has no such hop
		}
		listen, err := r.layer.Link(h.Name, addr)
		if err != nil {
			return nil, herr.Envf("link %s (%s → %s): %w", h.Name, h.From, h.To, err)
		}
		via[h.Name] = listen
	}
	return via, nil
}

// start starts the system under test and waits until it is ready (step 4).
func (r *runner) start(ctx context.Context) error {
	sys, err := r.launcher.Start(ctx, r.wiring)
	if err != nil {
		return herr.Envf("start platform: %w", err)
	}
	r.sys = sys
	r.defer_(func(ctx context.Context) {
		if err := sys.Stop(ctx); err != nil {
			r.log.Warn("stop platform", "err", err)
		}
	})
	r.log.Info("platform ready", "pid", sys.Pid(), "api", r.wiring.APIURL)
	return nil
}

// replay runs the load open loop with the fault plan on the same clock
// (steps 6 and 7). A platform that dies on its own ends the replay early,
// and the run then has no verdict (exit 4, with its last log lines).
func (r *runner) replay(ctx context.Context) (*replay.Result, error) {
	journalFile, err := os.Create(filepath.Join(r.opts.OutDir, "journal.jsonl"))
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "--out", Problems: []string{err.Error()}}
	}
	r.defer_(func(context.Context) { journalFile.Close() })
	journal := bufio.NewWriterSize(journalFile, 1<<16)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var crashed atomic.Bool
	if exited := r.sys.Exited(); exited != nil {
		go func() {
			select {
			case <-exited:
				crashed.Store(true)
				cancel()
			case <-runCtx.Done():
			}
		}()
	}

	capture, closeCapture, err := openCapture(r.sc)
	if err != nil {
		return nil, err
	}
	defer closeCapture()
	plan, err := replay.NewPlanner(capture, r.planOpts)
	if err != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "capture", Problems: []string{err.Error()}}
	}
	engine := replay.NewEngine(r.sys.Target(), r.feed,
		replay.Workers(r.sc.Workers), replay.JournalTo(journal))
	// The replay clock's zero leaves the quote subscribers time to subscribe
	// (through the stream link), so they see the first update.
	start := time.Now().Add(time.Second)
	if err := r.subscribeQuotes(runCtx, start); err != nil {
		return nil, err
	}
	schedule := r.env.Schedule(runCtx, r.faults, start)
	r.log.Info("replay started", "planned", r.planned, "faults", len(r.faults))
	progressDone := r.startProgress(engine, start)
	res, err := engine.Run(runCtx, plan, start)
	progressDone()
	records := schedule.Wait()
	cancel()
	if crashed.Load() {
		return nil, herr.Envf("%s", r.sys.ExitReason())
	}
	if err != nil && ctx.Err() != nil && res != nil {
		// A signal (the run's ctx), not a failure: every fault has been
		// healed (the schedule heals on ctx's end), and what was sent is
		// in res. The verdict reports it as interrupted.
		r.interrupted = true
		r.log.Warn("run interrupted: healing, stopping the platform and reporting what was measured", "sent", res.Sent)
		err = nil
	}
	if err != nil {
		return nil, herr.Envf("replay: %w", err)
	}
	if err := journal.Flush(); err != nil {
		return nil, herr.Envf("write journal: %w", err)
	}
	r.records = records
	r.log.Info("replay done", "sent", res.Sent, "dropped", res.Dropped, "wall", res.Wall.Round(time.Millisecond))
	return res, nil
}

// subscribeQuotes starts the scenario's quote subscribers on the System's
// quote stream and waits, until start at most, for each to subscribe. They
// run until verdict stops them, after the drain, so that a quote still
// missing then is one that never arrived.
func (r *runner) subscribeQuotes(ctx context.Context, start time.Time) error {
	n := r.sc.QuoteSubscribers
	if n == 0 {
		return nil
	}
	base := r.sys.QuoteStreamURL()
	if base == "" {
		r.log.Warn("the platform has no quote stream; quote objectives will have no samples")
		return nil
	}
	q, err := replay.StartQuoteSubscribers(context.WithoutCancel(ctx), base, n, start)
	if err != nil {
		return herr.Envf("quote subscribers: %w", err)
	}
	r.quotes = q
	r.defer_(func(context.Context) { q.Stop() })
	wctx, cancel := context.WithDeadline(ctx, start)
	defer cancel()
	if err := q.WaitSubscribed(wctx); err != nil {
		return herr.Envf("quote stream at %s: %d subscribers could not subscribe before the replay's start: %w", base, n, err)
	}
	return nil
}

// verdict drains settlement, reaches the verdicts and writes the reports
// (steps 8 to 10).
func (r *runner) verdict(ctx context.Context, res *replay.Result) (*Result, error) {
	// The checker reads the stores directly, never through a fault.
	bound := r.sc.Drain
	if r.interrupted {
		bound = 0 // read once: an interrupted run does not wait for settlement
	}
	journal := reports.JournalFile(filepath.Join(r.opts.OutDir, "journal.jsonl"))
	ledger, drained, err := drain(ctx, r.sys.Ledger(), journal, bound)
	if err != nil {
		return nil, herr.Envf("read ledger: %w", err)
	}
	if !drained && !r.interrupted {
		r.log.Warn("drain timed out", "bound", r.sc.Drain)
	}
	var hot *reports.HotState
	if hs, ok := r.sys.(HotStater); ok && r.sc.Reconcile {
		if ledger, hot, err = settleHotState(ctx, r.sys.Ledger(), hs.HotState(), ledger); err != nil {
			return nil, herr.Envf("read hot state: %w", err)
		}
	}
	store, err := readEventStore(ctx, r.sys, r.sc.Reconcile)
	if err != nil {
		return nil, herr.Envf("read event store: %w", err)
	}
	var quotes *replay.QuoteObservations
	if r.quotes != nil {
		quotes = r.quotes.Stop()
	}
	sc := r.sc
	report := reports.Evaluate(reports.Input{
		ScenarioName:   sc.Name,
		Seed:           sc.Seed,
		RunID:          r.runID,
		StartedAt:      res.Start,
		Wall:           res.Wall,
		Speed:          sc.Speed,
		Headroom:       sc.Headroom,
		CaptureSHA256:  r.digest,
		StackSource:    r.svc.Source,
		JournalFrom:    journal,
		Faults:         faultsForReport(r.records),
		Objectives:     sc.Objectives,
		Reconcile:      sc.Reconcile,
		MaxScheduleLag: sc.MaxScheduleLag,
		DrainTimedOut:  !drained,
		Interrupted:    r.interrupted,
		Planned:        int(r.planned),
		Shard:          shardInfo(r.opts.Shard),
		// Settlement lag reads the ledger whether or not it is reconciled.
		Ledger:      ledger,
		Quotes:      quotes,
		HotState:    hot,
		EventStore:  store,
		InPlayDelay: sc.InPlayDelay,
	})
	files, err := reports.WriteAll(r.opts.OutDir, report)
	if err != nil {
		return nil, herr.Envf("write reports: %w", err)
	}
	ledgerPath := filepath.Join(r.opts.OutDir, "ledger.jsonl")
	if err := writeLedger(ledgerPath, ledger); err != nil {
		return nil, herr.Envf("export ledger: %w", err)
	}
	files = append(files, filepath.Join(r.opts.OutDir, "journal.jsonl"), ledgerPath, r.platLog.Name())
	files = append(files, r.rerunFiles...)
	out := &Result{Report: report, Files: files, Run: *r.run}
	if rr, ok := r.sys.(rssReader); ok {
		if rss, err := rr.PeakRSS(); err == nil {
			out.PlatformPeakRSS = rss
		}
	}
	return out, nil
}

// openCapture opens sc's capture for one pass, as a stream, in bounded
// memory: the file read as it goes (opts say how bad lines are met), with
// load.bettors' population overlaid when there is one, or the capture
// generated from the seed, made as it is read (the same bytes each pass).
// Call the returned func when done.
func openCapture(sc *Scenario, opts ...replay.ReadOption) (replay.Stream, func(), error) {
	if sc.CapturePath != "" {
		c, err := replay.OpenStream(sc.CapturePath, opts...)
		if err != nil {
			return nil, nil, captureInputError(sc, err)
		}
		if sc.Bettors != nil {
			s, err := bettors.Overlay(c, *sc.Bettors)
			if err != nil {
				c.Close()
				return nil, nil, &herr.Error{Code: herr.EINPUT, Source: "load.bettors", Problems: []string{err.Error()}}
			}
			return overlaid{s}, func() { c.Close() }, nil
		}
		return c, func() { c.Close() }, nil
	}
	g := sc.Generate
	s, err := synth.FootballStream(synth.FootballOptions{Seed: sc.Seed, Matches: g.Matches, Bettors: g.Bettors, Duration: g.Duration,
		Corrections: g.Corrections})
	if err != nil {
		return nil, nil, &herr.Error{Code: herr.EINPUT, Source: "load.generate", Problems: []string{err.Error()}}
	}
	return s, func() {}, nil
}

// overlaid is a capture with load.bettors overlaid: an error the overlay
// finds (the capture's own ids under its prefix) is bad input of
// load.bettors, not of the capture file.
type overlaid struct{ replay.Stream }

func (o overlaid) Next() (replay.Event, error) {
	e, err := o.Stream.Next()
	if err != nil && err != io.EOF && strings.HasPrefix(err.Error(), "bettors: ") {
		var ce *herr.Error
		if !errors.As(err, &ce) {
			return e, &herr.Error{Code: herr.EINPUT, Source: "load.bettors", Problems: []string{err.Error()}}
		}
	}
	return e, err
}

// captureInputError is a capture that cannot be read, with every problem.
func captureInputError(sc *Scenario, err error) error {
	source := sc.CapturePath
	if source == "" {
		source = "load.generate"
	}
	var he *herr.Error
	if errors.As(err, &he) {
		if he.Source == replay.CaptureSource {
			return &herr.Error{Code: herr.EINPUT, Source: source, Problems: he.Problems, Omitted: he.Omitted}
		}
		return he
	}
	return &herr.Error{Code: herr.EINPUT, Source: source, Problems: []string{err.Error()}}
}

// drain waits, bounded, until every bet on a market whose result was
// published is settled, and returns the ledger as it was then.
func drain(ctx context.Context, src reports.LedgerSource, journal func() iter.Seq2[replay.JournalEntry, error], bound time.Duration) (*reports.Ledger, bool, error) {
	resulted := map[string]bool{}
	for e, err := range journal() {
		if err != nil {
			return nil, false, err
		}
		// A rollback leaves its market's bets open until a later result.
		if e.Outcome == replay.OutcomePublished && (e.Kind == replay.KindResult || e.Kind == replay.KindRollback) {
			resulted[e.Market] = e.Kind == replay.KindResult
		}
	}
	deadline := time.Now().Add(bound)
	for {
		l, err := src.Ledger(ctx)
		if err != nil {
			return nil, false, err
		}
		pending := 0
		for _, b := range l.Bets {
			if b.Status == reports.BetAccepted && resulted[b.Market] {
				pending++
			}
		}
		if pending == 0 {
			return l, true, nil
		}
		if time.Now().After(deadline) {
			return l, false, nil
		}
		select {
		case <-ctx.Done():
			return l, false, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readEventStore checks the System's event store, when it offers one and
// the run reconciles; nil when there is none to check.
func readEventStore(ctx context.Context, sys System, reconcile bool) (*reports.EventStoreCheck, error) {
	es, ok := sys.(EventStorer)
	if !ok || !reconcile {
		return nil, nil
	}
	c, err := reports.CheckEventStore(ctx, es.EventStore())
	if errors.Is(err, reports.ErrNoEventStore) {
		return nil, nil
	}
	return c, err
}

// hotStateSettle bounds how long settleHotState waits for the hot state to
// catch up with the ledger.
const hotStateSettle = 2 * time.Second

// settleHotState reads the hot state, and while it disagrees with the
// ledger (the platform writes the ledger first and its hot state second,
// and a last feed message may still be on its way) reads both again, for
// hotStateSettle at most. It returns the last pair read; a disagreement
// left then is the invariant's to report.
func settleHotState(ctx context.Context, src reports.LedgerSource, hot reports.HotStateSource, l *reports.Ledger) (*reports.Ledger, *reports.HotState, error) {
	deadline := time.Now().Add(hotStateSettle)
	for {
		hs, err := hot.HotState(ctx)
		if err != nil {
			return l, nil, err
		}
		if !reports.CheckHotState(l, hs).Failed() || time.Now().After(deadline) {
			return l, hs, nil
		}
		select {
		case <-ctx.Done():
			return l, hs, nil
		case <-time.After(200 * time.Millisecond):
		}
		if l, err = src.Ledger(ctx); err != nil {
			return nil, nil, err
		}
	}
}

func faultsForReport(records []chaos.Record) []reports.Fault {
	out := make([]reports.Fault, 0, len(records))
	for _, r := range records {
		out = append(out, reports.Fault{
			Name: r.Name, Target: r.Target, Kind: r.Kind,
			InjectedAtS: r.InjectedAt.Seconds(), HealedAtS: r.HealedAt.Seconds(),
			Injected: r.Injected, Healed: r.Healed, Landed: r.Landed, Evidence: r.Evidence.String(),
		})
	}
	return out
}

func writeLedger(path string, l *reports.Ledger) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := reports.WriteJSONL(w, l); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// serve runs h on a fresh loopback port and returns its base URL.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// newRunID names a run after its scenario, the time and a random suffix, so
// that concurrent runs on one machine never share a database or prefix.
func newRunID(name string) string {
	var b [3]byte
	_, _ = io.ReadFull(rand.Reader, b[:])
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, name)
	if len(clean) > 20 {
		clean = clean[:20]
	}
	return fmt.Sprintf("%s_%s_%s", clean, time.Now().UTC().Format("20060102t150405"), hex.EncodeToString(b[:]))
}

// shardInfo is report.json's run.shard for s; nil for a whole run.
func shardInfo(s replay.Shard) *reports.ShardInfo {
	if s.Count < 1 {
		return nil
	}
	return &reports.ShardInfo{Index: s.Index, Count: s.Count}
}
