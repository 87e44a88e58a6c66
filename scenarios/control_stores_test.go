package scenarios

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/replay"
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
		if got := redis.EscapeGlob(tt.in); got != tt.want {
			t.Errorf("EscapeGlob(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// metric reads one unlabelled value from the platform's /metrics.
func (s *ctlSystem) metric(t *testing.T, name string) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctlWait)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.api+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

// TestFlushRedis: the data loss takes the run's keys and only those, and
// the platform rebuilds its hot state: settled stays settled, open comes
// back with its prices from the feed and takes bets.
func TestFlushRedis(t *testing.T) {
	s := startCtlSystem(t, PlatformSettings{})
	s.open(t, "m1")
	// m2 is bet on and settled: the ledger's record says so.
	s.feed.Publish(replay.Event{Kind: replay.KindOdds, Market: "m2", Prices: map[string]string{"home": "2.2", "away": "4"}})
	s.waitBet(t, "m2-bet", "m2")
	s.feed.Publish(replay.Event{Kind: replay.KindResult, Market: "m2", Winners: []string{"home"}})
	for deadline := time.Now().Add(ctlWait); s.count(t, `SELECT count(*) FROM markets WHERE id = 'm2' AND status = 'settled'`) != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("m2 never settled")
		}
	}

	// Someone else's keys on the same Redis.
	rc := goredis.NewClient(&goredis.Options{Addr: s.redis})
	defer rc.Close()
	_, otherPrefix := pgtest.RedisPrefix(t)
	ctx := ctx30(t)
	if err := rc.Set(ctx, otherPrefix+"quote:m1", "not the run's", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// A key that only an unescaped pattern would take for the run's.
	lookalike := strings.TrimSuffix(s.prefix, ":") + "X:epoch"
	if err := rc.Set(ctx, lookalike, "not the run's either", 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A client of its own: rc is closed by the time cleanups run.
		c := goredis.NewClient(&goredis.Options{Addr: s.redis})
		defer c.Close()
		if err := c.Del(context.Background(), lookalike).Err(); err != nil {
			t.Errorf("delete %s: %v", lookalike, err)
		}
	})
	before := s.metric(t, "inplay_hot_state_rebuilds_total")

	n, err := s.stores.FlushRedis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 { // quote and market of m1 and m2, and the epoch
		t.Fatalf("flushed %d keys, want at least 5", n)
	}
	for _, k := range []string{otherPrefix + "quote:m1", lookalike} {
		if got, err := rc.Get(ctx, k).Result(); err != nil || got == "" {
			t.Errorf("key %s outside the run's prefix was touched: %q %v", k, got, err)
		}
	}

	// The platform notices and rebuilds, once.
	for deadline := time.Now().Add(ctlWait); s.metric(t, "inplay_hot_state_rebuilds_total") < before+1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the platform never rebuilt its hot state")
		}
	}
	if st, err := rc.HGet(ctx, s.prefix+"market:m2", "status").Result(); err != nil || st != "settled" {
		t.Errorf("m2's status after the rebuild = %q %v, want settled", st, err)
	}
	if status, body := s.mustCall(t, "POST", "/v1/bets", betBody("m2-after", "m2")); status != http.StatusUnprocessableEntity || body["code"] != "EMARKETSUSPENDED" {
		t.Errorf("a bet on the settled m2 after the rebuild = %d %v, want EMARKETSUSPENDED", status, body)
	}
	odds, err := rc.HGetAll(ctx, s.prefix+"quote:m1").Result()
	if err != nil || odds["home"] != "2.5" || odds["away"] != "3" {
		t.Errorf("m1's odds after the rebuild = %v %v, want home 2.5, away 3 from the feed", odds, err)
	}
	s.waitBet(t, "m1-after", "m1")
	if s.metric(t, "inplay_hot_state_rebuilds_total") != before+1 {
		t.Errorf("rebuilt more than once for one flush")
	}
}
