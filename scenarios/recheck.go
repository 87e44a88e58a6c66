package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/replay"
	"github.com/inplaylabs/inplay/reports"
)

// RecheckOptions say where a kept run's stores and journal are, for Recheck
// (`inplay reconcile`).
type RecheckOptions struct {
	// PostgresURL is the run's database (inplay run --keep prints it);
	// LedgerFile a ledger.jsonl export instead. Exactly one is given.
	PostgresURL string
	LedgerFile  string
	// The database's event store, when it has one, is checked too
	// (postings_append_only, event_store_folds_to_ledger); a ledger file
	// has none, and leaves them not checked.
	//
	// RedisURL and RedisPrefix are the run's Redis and key prefix, for
	// hot_state_matches_ledger; without them it is not checked.
	RedisURL    string
	RedisPrefix string
	// Journal is the run's folder (its journal.jsonl, and report.json and
	// scenario.yaml when there, for the faults and the in-play delay), or
	// a journal file.
	Journal string
	// InPlayDelay overrides the delay read from the folder's scenario.yaml;
	// nil: the scenario's, or 0 (the conservative choice) without one.
	InPlayDelay *time.Duration
}

// RecheckResult is a kept run reconciled again.
type RecheckResult struct {
	Invariants []reports.Invariant `json:"invariants"`
	// ExitCode is 2 when a checked invariant failed, else 0.
	ExitCode int `json:"exit_code"`
}

// Recheck reconciles a kept run after the fact: the same invariants, by the
// same code, as the run's own verdict, on the stores as they are now. Bad
// options or an unreadable journal, report or scenario are an *herr.Error;
// a store that cannot be read is any other error.
func Recheck(ctx context.Context, o RecheckOptions) (*RecheckResult, error) {
	var problems []string
	if (o.PostgresURL == "") == (o.LedgerFile == "") {
		problems = append(problems, "give the ledger as exactly one of --postgres-url and --ledger")
	}
	if (o.RedisURL == "") != (o.RedisPrefix == "") {
		problems = append(problems, "--redis-url and --redis-prefix go together (the run's prefix: inplay run --keep prints it)")
	}
	if o.Journal == "" {
		problems = append(problems, "--journal is required: the run's folder or its journal.jsonl")
	}
	if len(problems) > 0 {
		return nil, &herr.Error{Code: herr.EINPUT, Source: "inplay reconcile", Problems: problems}
	}

	journalPath, opts, err := recheckJournal(o)
	if err != nil {
		return nil, err
	}
	// Read the journal once up front: a bad journal is bad input (3), not
	// an unreachable store.
	var jerr error
	for _, err := range reports.JournalFile(journalPath)() {
		if err != nil {
			jerr = err
			break
		}
	}
	if jerr != nil {
		return nil, &herr.Error{Code: herr.EINPUT, Source: journalPath, Problems: []string{jerr.Error()}}
	}

	var ledger *reports.Ledger
	if o.LedgerFile != "" {
		// A file, not a store: missing or malformed, it is bad input.
		if ledger, err = reports.OpenJSONLLedger(o.LedgerFile); err != nil {
			return nil, &herr.Error{Code: herr.EINPUT, Source: o.LedgerFile, Problems: []string{err.Error()}}
		}
	} else {
		pool, err := pgxpool.New(ctx, o.PostgresURL)
		if err != nil {
			return nil, &herr.Error{Code: herr.EINPUT, Source: "--postgres-url", Problems: []string{err.Error()}}
		}
		defer pool.Close()
		if ledger, err = reports.NewPostgresLedger(pool).Ledger(ctx); err != nil {
			return nil, fmt.Errorf("read the ledger: %w", err)
		}
		store, err := reports.CheckEventStore(ctx, reports.NewPostgresEventStore(pool))
		switch {
		case errors.Is(err, reports.ErrNoEventStore):
		case err != nil:
			return nil, fmt.Errorf("read the event store: %w", err)
		default:
			opts.EventStore = store
		}
	}
	if o.RedisURL != "" {
		ropts, err := goredis.ParseURL(o.RedisURL)
		if err != nil {
			return nil, &herr.Error{Code: herr.EINPUT, Source: "--redis-url", Problems: []string{err.Error()}}
		}
		client := goredis.NewClient(ropts)
		defer client.Close()
		if opts.HotState, err = reports.NewRedisHotState(client, o.RedisPrefix).HotState(ctx); err != nil {
			return nil, fmt.Errorf("read the hot state: %w", err)
		}
	}

	entries := func(yield func(replay.JournalEntry) bool) {
		for e, err := range reports.JournalFile(journalPath)() {
			if err != nil || !yield(e) {
				return
			}
		}
	}
	res := &RecheckResult{Invariants: reports.ReconcileEntries(iter.Seq[replay.JournalEntry](entries), ledger, opts)}
	for _, inv := range res.Invariants {
		if inv.Failed() {
			res.ExitCode = reports.ExitReconcile
		}
	}
	return res, nil
}

// recheckJournal finds the journal, and the options the run's folder
// gives: its faults (report.json) and in-play delay (scenario.yaml).
func recheckJournal(o RecheckOptions) (string, reports.ReconcileOptions, error) {
	var opts reports.ReconcileOptions
	st, err := os.Stat(o.Journal)
	if err != nil {
		return "", opts, &herr.Error{Code: herr.EINPUT, Source: "--journal", Problems: []string{err.Error()}}
	}
	path := o.Journal
	if st.IsDir() {
		path = filepath.Join(o.Journal, "journal.jsonl")
		if b, err := os.ReadFile(filepath.Join(o.Journal, "report.json")); err == nil {
			var rep reports.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				return "", opts, &herr.Error{Code: herr.EINPUT, Source: filepath.Join(o.Journal, "report.json"), Problems: []string{err.Error()}}
			}
			opts.Faults = rep.Faults
			for _, p := range rep.Problems {
				opts.DrainTimedOut = opts.DrainTimedOut || p == reports.ProblemDrainTimedOut
			}
		}
		src := filepath.Join(o.Journal, ScenarioFile)
		if data, err := os.ReadFile(src); err == nil {
			sc, err := Parse(src, data)
			if err != nil {
				return "", opts, err
			}
			opts.InPlayDelay = sc.InPlayDelay
		}
	}
	if o.InPlayDelay != nil {
		opts.InPlayDelay = *o.InPlayDelay
	}
	return path, opts, nil
}
