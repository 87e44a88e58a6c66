package scenarios

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/chaos"
	"github.com/inplaylabs/inplay/platform/stack"
	"github.com/inplaylabs/inplay/replay"
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
}

// Result is what a run produced.
type Result struct {
	Report *reports.Report
	Files  []string  // every file written to OutDir
	Run    stack.Run // the run's database and Redis prefix (still there with Keep)
}

// EnvError means the environment is unusable: no stack, a port taken, a
// service failing mid-run. The CLI exits 4.
type EnvError struct{ Err error }

func (e *EnvError) Error() string { return e.Err.Error() }
func (e *EnvError) Unwrap() error { return e.Err }

func envErr(format string, args ...any) error { return &EnvError{Err: fmt.Errorf(format, args...)} }

// Run executes one scenario end to end (DESIGN.md, "One run, end to end")
// and writes its reports. A returned error means there is no verdict: an
// *InputError (exit 3), a *stack.UnavailableError or *EnvError (exit 4).
func Run(ctx context.Context, sc *Scenario, opts Options) (*Result, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, &InputError{Source: "--out", Problems: []string{err.Error()}}
	}

	// 5 first (cheap, and bad input must fail before anything is provisioned).
	capture, digest, err := loadCapture(sc)
	if err != nil {
		return nil, err
	}
	plan, err := replay.NewPlan(capture, replay.PlanOptions{Speed: sc.Speed, Headroom: sc.Headroom, Seed: sc.Seed})
	if err != nil {
		return nil, &InputError{Source: "capture", Problems: []string{err.Error()}}
	}
	log.Info("load planned", "events", len(plan.Entries), "wall", plan.Duration.Round(time.Millisecond))

	// 2. The stack: this run's own database and Redis prefix.
	svc, err := stack.Resolve(ctx, opts.Stack)
	if err != nil {
		return nil, err
	}
	defer svc.Close(context.WithoutCancel(ctx))
	runID := newRunID(sc.Name)
	run, err := svc.Provision(ctx, runID)
	if err != nil {
		return nil, envErr("provision run %s: %w", runID, err)
	}
	log.Info("stack ready", "source", svc.Source, "database", run.DatabaseName, "redis_prefix", run.KeyPrefix)
	if !opts.Keep {
		defer func() {
			if err := run.Teardown(context.WithoutCancel(ctx)); err != nil {
				log.Warn("teardown", "err", err)
			}
		}()
	}

	// 3. The chaos layer: a toxiproxy link on every hop the platform uses.
	layer, err := chaos.NewLayer(ctx)
	if err != nil {
		return nil, envErr("chaos layer: %w", err)
	}
	defer layer.Close()
	pgURL, err := url.Parse(run.DatabaseURL)
	if err != nil {
		return nil, envErr("database url: %w", err)
	}
	redisVia, err := layer.Link("redis", run.RedisAddr)
	if err != nil {
		return nil, envErr("link redis: %w", err)
	}
	pgVia, err := layer.Link("postgres", pgURL.Host)
	if err != nil {
		return nil, envErr("link postgres: %w", err)
	}
	proxiedPG := *pgURL
	proxiedPG.Host = pgVia

	// The feed server the platform subscribes to, as it would to a vendor.
	feed := replay.NewFeedServer("replay")
	defer feed.Close()
	feedURL, stopFeed, err := serve(feed)
	if err != nil {
		return nil, envErr("feed server: %w", err)
	}
	defer stopFeed()

	// 4. The platform. Its logs go to platform.log beside the reports: under
	// faults it logs every failed request, which is evidence for the
	// reader, not noise for the terminal.
	platLog, err := os.Create(filepath.Join(opts.OutDir, "platform.log"))
	if err != nil {
		return nil, &InputError{Source: "--out", Problems: []string{err.Error()}}
	}
	defer platLog.Close()
	plat, err := StartRefPlatform(ctx, RefPlatformConfig{
		PostgresURL: proxiedPG.String(),
		RedisAddr:   redisVia,
		RedisDB:     run.RedisDB,
		KeyPrefix:   run.KeyPrefix,
		FeedURL:     feedURL,
		InPlayDelay: sc.InPlayDelay,
		MaxStake:    sc.MaxStake,
		Logger:      slog.New(slog.NewTextHandler(platLog, nil)),
	})
	if err != nil {
		return nil, envErr("start platform: %w", err)
	}
	defer plat.Close()

	journalFile, err := os.Create(filepath.Join(opts.OutDir, "journal.jsonl"))
	if err != nil {
		return nil, &InputError{Source: "--out", Problems: []string{err.Error()}}
	}
	defer journalFile.Close()
	journal := bufio.NewWriterSize(journalFile, 1<<16)

	// 6 and 7: replay open loop, faults on the same clock.
	engine := replay.NewEngine(replay.NewHTTPTarget(plat.URL()), feed,
		replay.Workers(sc.Workers), replay.JournalTo(journal))
	start := time.Now().Add(200 * time.Millisecond)
	schedule := layer.Schedule(ctx, sc.Faults, start)
	log.Info("replay started", "planned", len(plan.Entries), "faults", len(sc.Faults))
	res, err := engine.Run(ctx, plan, start)
	if err != nil {
		return nil, envErr("replay: %w", err)
	}
	records := schedule.Wait()
	if err := journal.Flush(); err != nil {
		return nil, envErr("write journal: %w", err)
	}
	log.Info("replay done", "sent", res.Sent, "dropped", res.Dropped, "wall", res.Wall.Round(time.Millisecond))

	// 8. Drain: the checker reads the stores directly, never through a fault.
	pool, err := pgxpool.New(ctx, run.DatabaseURL)
	if err != nil {
		return nil, envErr("open ledger: %w", err)
	}
	defer pool.Close()
	source := reports.NewPostgresLedger(pool)
	ledger, drained, err := drain(ctx, source, res.Journal, sc.Drain)
	if err != nil {
		return nil, envErr("read ledger: %w", err)
	}
	if !drained {
		log.Warn("drain timed out", "bound", sc.Drain)
	}

	// 9 and 10: verdicts and reports.
	in := reports.Input{
		ScenarioName:   sc.Name,
		Seed:           sc.Seed,
		RunID:          runID,
		StartedAt:      start,
		Wall:           res.Wall,
		Speed:          sc.Speed,
		Headroom:       sc.Headroom,
		CaptureSHA256:  digest,
		StackSource:    svc.Source,
		Journal:        res.Journal,
		Faults:         faultsForReport(records),
		Objectives:     sc.Objectives,
		Reconcile:      sc.Reconcile,
		MaxScheduleLag: sc.MaxScheduleLag,
		DrainTimedOut:  !drained,
		// Settlement lag reads the ledger whether or not it is reconciled.
		Ledger: ledger,
	}
	report := reports.Evaluate(in)
	files, err := reports.WriteAll(opts.OutDir, report)
	if err != nil {
		return nil, envErr("write reports: %w", err)
	}
	ledgerPath := filepath.Join(opts.OutDir, "ledger.jsonl")
	if err := writeLedger(ledgerPath, ledger); err != nil {
		return nil, envErr("export ledger: %w", err)
	}
	files = append(files, journalFile.Name(), ledgerPath, platLog.Name())
	return &Result{Report: report, Files: files, Run: *run}, nil
}

// loadCapture reads the capture file, or generates one from the seed.
func loadCapture(sc *Scenario) (*replay.Capture, string, error) {
	if sc.CapturePath != "" {
		c, err := replay.OpenCapture(sc.CapturePath)
		if err != nil {
			var ce *replay.CaptureError
			if errors.As(err, &ce) {
				return nil, "", &InputError{Source: sc.CapturePath, Problems: ce.Problems}
			}
			return nil, "", &InputError{Source: sc.CapturePath, Problems: []string{err.Error()}}
		}
		return c, replay.CaptureDigest(c), nil
	}
	g := sc.Generate
	c, err := synth.Football(synth.FootballOptions{Seed: sc.Seed, Matches: g.Matches, Bettors: g.Bettors, Duration: g.Duration})
	if err != nil {
		return nil, "", &InputError{Source: "load.generate", Problems: []string{err.Error()}}
	}
	return c, replay.CaptureDigest(c), nil
}

// drain waits, bounded, until every bet on a market whose result was
// published is settled, and returns the ledger as it was then.
func drain(ctx context.Context, src reports.LedgerSource, journal []replay.JournalEntry, bound time.Duration) (*reports.Ledger, bool, error) {
	resulted := map[string]bool{}
	for _, e := range journal {
		if e.Kind == replay.KindResult && e.Outcome == replay.OutcomePublished {
			resulted[e.Market] = true
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

func faultsForReport(records []chaos.Record) []reports.Fault {
	out := make([]reports.Fault, 0, len(records))
	for _, r := range records {
		out = append(out, reports.Fault{
			Name: r.Name, Target: r.Target, Kind: r.Kind,
			InjectedAtS: r.InjectedAt.Seconds(), HealedAtS: r.HealedAt.Seconds(),
			Injected: r.Injected, Healed: r.Healed, Landed: r.Landed, Evidence: r.Evidence,
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
