package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/inplaylabs/inplay/platform/postgres"
)

// platformBackends lists the platform's backends on the run's database now.
func (s *ctlSystem) platformBackends(t *testing.T) []int {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.ApplicationName)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out
}

// TestTerminatePostgres: the fault ends the platform's connections and only
// those, and the platform books bets afterwards without half-writing any.
func TestTerminatePostgres(t *testing.T) {
	s := startCtlSystem(t, PlatformSettings{})
	s.open(t, "m1")

	// Someone else on the same database: a connection of another name.
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "someone-else"
	other, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	otherPid := int(other.PgConn().PID())

	before := s.platformBackends(t)
	if len(before) == 0 {
		t.Fatal("the platform has no connection to terminate")
	}
	pids, err := s.stores.TerminatePostgres(ctx30(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) == 0 {
		t.Fatalf("no backend terminated; the platform had %v", before)
	}
	for _, pid := range pids {
		// The pool may have opened one more since the list was read, but
		// never under another name.
		if pid == otherPid {
			t.Fatalf("terminated the other application's backend %d", pid)
		}
	}
	t.Logf("terminated %v (the platform had %v)", pids, before)
	var one int
	if err := other.QueryRow(context.Background(), `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("the other application's connection did not survive: %v", err)
	}
	for _, pid := range pids {
		if slices.Contains(s.platformBackends(t), pid) {
			t.Errorf("backend %d still there", pid)
		}
	}

	// Bets at once, on connections that may be gone: each is booked once
	// and acknowledged, or answered with an error and booked at most once,
	// never half-written.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("t-%d", i)
			status, _, err := s.call(ctx30(t), "POST", "/v1/bets", betBody(id, "m1"))
			if err != nil {
				status = -1
			}
			mu.Lock()
			statuses[id] = status
			mu.Unlock()
		}()
	}
	wg.Wait()
	for id, status := range statuses {
		n := s.count(t, `SELECT count(*) FROM bets WHERE id = $1`, id)
		stakes := s.count(t, `SELECT count(*) FROM transactions WHERE kind = 'stake' AND ref = $1`, id)
		switch {
		case status == http.StatusCreated && (n != 1 || stakes != 1):
			t.Errorf("bet %s acknowledged but booked %d times with %d stakes", id, n, stakes)
		case status != http.StatusCreated && (n > 1 || stakes != n):
			t.Errorf("bet %s answered %d, booked %d times with %d stakes", id, status, n, stakes)
		}
		if status != http.StatusCreated {
			t.Logf("bet %s answered %d", id, status)
		}
	}
	if n := s.count(t, `SELECT count(*) FROM (SELECT tx_id FROM postings GROUP BY tx_id HAVING sum(amount) <> 0) x`); n != 0 {
		t.Errorf("%d unbalanced transactions", n)
	}
	s.waitBet(t, "after-terminate", "m1")
	if !s.ready(t) {
		t.Error("/readyz is not 200 after the terminate")
	}
}

// TestGlobEscape: a prefix matches only itself in SCAN MATCH.
func TestGlobEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"inplay:run1:", "inplay:run1:"},                                     // nothing special
		{`a*b?c[d]e\f`, `a\*b\?c\[d\]e\\f`},                                  // every glob character
		{"inplay:x_20260101t000000_ab12:", "inplay:x_20260101t000000_ab12:"}, // a run's prefix
	} {
		if got := globEscape(tt.in); got != tt.want {
			t.Errorf("globEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
