package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/internal/herr"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/inplaylabs/inplay/reports"
)

// The event store's subcommands of `inplay platform` (docs/event-store.md).
// They read the store with reports' documented reader, as reconciliation
// does, never with the platform's code.

func addStoreCommands(platform *cobra.Command) {
	platform.AddCommand(newVerifyCmd(), newRebuildCmd(), newAuditExportCmd())
}

// openStore opens a pool on url, checking that it answers.
func openStore(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, herr.WithExit(exitInput, errors.New("--postgres-url is required"))
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, herr.WithExit(exitInput, fmt.Errorf("--postgres-url: %w", err))
	}
	cctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	if err := pool.Ping(cctx); err != nil {
		pool.Close()
		return nil, herr.WithExit(exitEnv, fmt.Errorf("postgres does not answer: %w", err))
	}
	return pool, nil
}

// checkStore reads and checks the store at url.
func checkStore(ctx context.Context, url string) (*reports.EventStoreCheck, error) {
	pool, err := openStore(ctx, url)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	c, err := reports.CheckEventStore(ctx, reports.NewPostgresEventStore(pool))
	if errors.Is(err, reports.ErrNoEventStore) {
		return nil, herr.WithExit(exitEnv, fmt.Errorf("%s has no event store (tables events and event_head; migration 0007)", redactedURL(url)))
	}
	if err != nil {
		return nil, herr.WithExit(exitEnv, err)
	}
	return c, nil
}

func newVerifyCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "verify --postgres-url URL",
		Short: "Check the event store's hash chain",
		Long: `verify checks the reference platform's event store (docs/event-store.md):
positions run 1, 2, 3, ... with no gap, each prev_hash is the hash before it,
each hash is sha256(prev_hash || payload), each event's columns say what its
payload says, and the head is the last event.

Exit codes: 0 the chain verifies, 2 it breaks (the first broken position is
named), 3 bad flags, 4 the database cannot be reached or has no event store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdout := cmd.OutOrStdout()
			c, err := checkStore(cmd.Context(), url)
			if err != nil {
				return err
			}
			if c.FirstBreak != nil {
				fmt.Fprintf(stdout, "chain broken at position %d: %s\n", c.FirstBreak.Position, c.FirstBreak.Why)
				if c.Breaks > 1 {
					fmt.Fprintf(stdout, "%d events break the chain in all\n", c.Breaks)
				}
				return herr.Verdict(exitRecon)
			}
			fmt.Fprintf(stdout, "chain verified: %d events, head at position %d, hash %s\n",
				c.Events, c.Head.Position, hex.EncodeToString(c.Head.Hash))
			return nil
		},
	}
	cmd.Flags().StringVar(&url, "postgres-url", "", "the platform's database (required)")
	return cmd
}

func newRebuildCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "rebuild --postgres-url URL",
		Short: "Fold the event store back into the ledger and compare",
		Long: `rebuild folds the reference platform's event store (docs/event-store.md) back
into its tables, and every account's balance as the sum of its folded
postings, and compares them with the ledger's tables as they are. It prints
the balances that differ and every difference (the first ten, with a count).

Exit codes: 0 the store folds back to the ledger, 2 it does not, 3 bad flags,
4 the database cannot be reached or has no event store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdout := cmd.OutOrStdout()
			c, err := checkStore(cmd.Context(), url)
			if err != nil {
				return err
			}
			rows := 0
			for _, n := range c.Tables {
				rows += n
			}
			fmt.Fprintf(stdout, "folded %d events into %d rows of %d tables and %d balances\n", c.Events, rows, len(c.Tables), len(c.Balances))
			if c.FirstBreak != nil {
				fmt.Fprintf(stdout, "warning: the chain breaks at position %d (%s); the fold reads the store as it is\n", c.FirstBreak.Position, c.FirstBreak.Why)
			}
			if !c.Folds.Failed() {
				fmt.Fprintln(stdout, "the store folds back to the ledger: every row and balance matches")
				return nil
			}
			fmt.Fprintf(stdout, "%d differences:\n", c.Folds.Violations)
			for _, w := range c.Folds.Witnesses {
				fmt.Fprintf(stdout, "  [%s] %s\n", strings.Join(w.IDs, " "), w.Why)
			}
			if more := c.Folds.Violations - len(c.Folds.Witnesses); more > 0 {
				fmt.Fprintf(stdout, "  and %d more\n", more)
			}
			return herr.Verdict(exitRecon)
		},
	}
	cmd.Flags().StringVar(&url, "postgres-url", "", "the platform's database (required)")
	return cmd
}

// auditHeader is the first line of an audit export (docs/event-store.md).
type auditHeader struct {
	Audit         string    `json:"audit"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	FirstPosition int64     `json:"first_position"`
	LastPosition  int64     `json:"last_position"`
	Events        int64     `json:"events"`
	PrevHash      string    `json:"prev_hash"`
	LastHash      string    `json:"last_hash"`
	HeadPosition  int64     `json:"head_position"`
	HeadHash      string    `json:"head_hash"`
}

// auditLine is one event of an audit export.
type auditLine struct {
	Position int64     `json:"position"`
	At       time.Time `json:"at"`
	Table    string    `json:"table"`
	Op       string    `json:"op"`
	Kind     string    `json:"kind"`
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
	Payload  string    `json:"payload"`
}

// auditFormat names the export's format in its header.
const auditFormat = "inplay/v1"

func newAuditExportCmd() *cobra.Command {
	var url, from, to, out string
	cmd := &cobra.Command{
		Use:   "audit-export --postgres-url URL --from T --to T -o FILE",
		Short: "Write a window of the event store, with the hashes that prove it complete",
		Long: `audit-export writes every event of the reference platform's event store
appended in [--from, --to) (RFC 3339 times) to FILE as JSON Lines: the bets,
settlements, corrections, account actions and market states of the window,
each with its position, its payload and its chain hashes, after a header that
gives the hash of the event before the window, so that the export proves it
is complete (docs/event-store.md, "The audit export").

Exit codes: 0 written, 2 the chain does not verify over the window (the file
is still written), 3 bad flags, 4 the database cannot be reached or has no
event store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			stdout := cmd.OutOrStdout()
			var problems []string
			f, errF := time.Parse(time.RFC3339Nano, from)
			if errF != nil {
				problems = append(problems, fmt.Sprintf("--from %q is not an RFC 3339 time", from))
			}
			t, errT := time.Parse(time.RFC3339Nano, to)
			if errT != nil {
				problems = append(problems, fmt.Sprintf("--to %q is not an RFC 3339 time", to))
			}
			if errF == nil && errT == nil && !f.Before(t) {
				problems = append(problems, "--from must be before --to")
			}
			if out == "" {
				problems = append(problems, "-o FILE is required")
			}
			if url == "" {
				problems = append(problems, "--postgres-url is required")
			}
			if len(problems) > 0 {
				return herr.WithExit(exitInput, errors.New(strings.Join(problems, "; ")))
			}
			pool, err := openStore(cmd.Context(), url)
			if err != nil {
				return err
			}
			defer pool.Close()
			h, broken, err := auditExport(cmd.Context(), pool, f, t, out)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %d events (positions %d to %d) to %s\n", h.Events, h.FirstPosition, h.LastPosition, out)
			if broken != "" {
				fmt.Fprintln(stdout, "the chain does not verify over the window:", broken)
				return herr.Verdict(exitRecon)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "postgres-url", "", "the platform's database (required)")
	fl.StringVar(&from, "from", "", "start of the window, RFC 3339, inclusive (required)")
	fl.StringVar(&to, "to", "", "end of the window, RFC 3339, exclusive (required)")
	fl.StringVarP(&out, "out", "o", "", "the JSON Lines file to write (required)")
	return cmd
}

// auditExport writes the window [from, to) to path from one snapshot,
// checking the chain as it goes; broken says where it fails ("" when it
// verifies).
func auditExport(ctx context.Context, pool *pgxpool.Pool, from, to time.Time, path string) (auditHeader, string, error) {
	h := auditHeader{Audit: auditFormat, From: from.UTC(), To: to.UTC()}
	envErr := func(err error) error { return herr.WithExit(exitEnv, fmt.Errorf("audit export: %w", err)) }
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return h, "", envErr(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('events') IS NOT NULL`).Scan(&exists); err != nil {
		return h, "", envErr(err)
	}
	if !exists {
		return h, "", herr.WithExit(exitEnv, errors.New("the database has no event store (migration 0007)"))
	}
	var headHash []byte
	if err := tx.QueryRow(ctx, `SELECT position, hash FROM event_head`).Scan(&h.HeadPosition, &headHash); err != nil {
		return h, "", envErr(err)
	}
	h.HeadHash = hex.EncodeToString(headHash)
	// The window: from the first event at or after from to the last before
	// to, by position (at rises with it, taken under the chain's lock).
	var first, last *int64
	if err := tx.QueryRow(ctx, `SELECT min(position) FROM events WHERE at >= $1`, from).Scan(&first); err != nil {
		return h, "", envErr(err)
	}
	if err := tx.QueryRow(ctx, `SELECT max(position) FROM events WHERE at < $1`, to).Scan(&last); err != nil {
		return h, "", envErr(err)
	}
	if first == nil {
		n := h.HeadPosition + 1
		first = &n
	}
	if last == nil || *last < *first {
		n := *first - 1
		last = &n
	}
	h.FirstPosition, h.LastPosition = *first, *last
	prev := reports.GenesisHash
	if *first > 1 {
		if err := tx.QueryRow(ctx, `SELECT hash FROM events WHERE position = $1`, *first-1).Scan(&prev); err != nil {
			return h, "", envErr(fmt.Errorf("the event before the window, %d: %w", *first-1, err))
		}
	}
	h.PrevHash, h.LastHash = hex.EncodeToString(prev), hex.EncodeToString(prev)

	// Events first, to a buffer of lines, so the header (with its counts)
	// leads the file.
	var lines []auditLine
	broken := ""
	next := *first
	rows, err := tx.Query(ctx, `SELECT position, at, tbl, op, payload, prev_hash, hash FROM events
		WHERE position BETWEEN $1 AND $2 ORDER BY position`, *first, *last)
	if err != nil {
		return h, "", envErr(err)
	}
	var (
		e       reports.Event
		payload string
	)
	_, err = pgx.ForEachRow(rows, []any{&e.Position, &e.At, &e.Table, &e.Op, &payload, &e.PrevHash, &e.Hash}, func() error {
		if broken == "" {
			switch {
			case e.Position != next:
				broken = fmt.Sprintf("position %d follows %d", e.Position, next-1)
			case hex.EncodeToString(e.PrevHash) != hex.EncodeToString(prev):
				broken = fmt.Sprintf("position %d: its prev_hash is not the hash before it", e.Position)
			case hex.EncodeToString(reports.EventHash(e.PrevHash, []byte(payload))) != hex.EncodeToString(e.Hash):
				broken = fmt.Sprintf("position %d: its hash is not sha256(prev_hash || payload)", e.Position)
			}
		}
		next, prev = e.Position+1, e.Hash
		lines = append(lines, auditLine{Position: e.Position, At: e.At.UTC(), Table: e.Table, Op: e.Op,
			Kind: auditKind(e.Table, payload), PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash), Payload: payload})
		return nil
	})
	if err != nil {
		return h, "", envErr(err)
	}
	if broken == "" && next != *last+1 {
		broken = fmt.Sprintf("positions %d to %d are missing", next, *last)
	}
	h.Events = int64(len(lines))
	h.LastHash = hex.EncodeToString(prev)

	f, err := os.Create(path)
	if err != nil {
		return h, "", herr.WithExit(exitInput, fmt.Errorf("-o: %w", err))
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		f.Close()
		return h, "", envErr(err)
	}
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return h, "", envErr(err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return h, "", envErr(err)
	}
	if err := f.Close(); err != nil {
		return h, "", envErr(err)
	}
	return h, broken, nil
}

// auditKind says what an event is about: a transaction's kind (deposit,
// withdraw, stake, settle, void, cashout, a correction), or its table's
// record (bet, account, market, posting).
func auditKind(table, payload string) string {
	if table == "transactions" {
		var p struct {
			New, Old *struct {
				Kind string `json:"kind"`
			}
		}
		if json.Unmarshal([]byte(payload), &p) == nil {
			switch {
			case p.New != nil:
				return p.New.Kind
			case p.Old != nil:
				return p.Old.Kind
			}
		}
	}
	return strings.TrimSuffix(table, "s")
}
