package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/betting"
	"github.com/inplaylabs/inplay/platform/cashier"
	phttp "github.com/inplaylabs/inplay/platform/http"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/prometheus"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/platform/risk"
)

// TestCashoutAPI drives POST /v1/bets/{id}/cashout over real stores: each
// way a cash-out is answered, and the ledger it leaves.
func TestCashoutAPI(t *testing.T) {
	base, pool, quotes := newAPI(t)
	ctx := context.Background()
	price := func(market, odds string, seq int64) {
		t.Helper()
		o, err := platform.ParseOdds(odds)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := quotes.SetOdds(ctx, market, []platform.Selection{{ID: "home", Odds: o}}, seq, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	price("m1", "3", 1)
	price("m2", "3", 1)
	for _, r := range []struct{ path, body string }{
		{"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`},
		{"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"3","stake":1000}`},
		{"/v1/bets", `{"id":"b-2","account":"a1","market":"m1","selection":"home","odds":"3","stake":1000}`},
		{"/v1/bets", `{"id":"b-3","account":"a1","market":"m2","selection":"home","odds":"3","stake":1000}`},
	} {
		if status, body := call(t, "POST", base+r.path, r.body); status != 201 {
			t.Fatalf("%s %s: %d %v", r.path, r.body, status, body)
		}
	}
	price("m1", "2", 2) // b-1 and b-2 are now worth 1500 each
	if _, err := quotes.SetStatus(ctx, "m2", platform.MarketSuspended, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}

	// The rows run in order: later ones rely on earlier ones' effects.
	tests := []struct {
		name   string
		path   string
		body   string
		status int
		code   string
		want   map[string]any // fields of a success, the bet's under "bet."
	}{
		// Asking for more than the offer (1500).
		{"moved price", "/v1/bets/b-1/cashout", `{"id":"c-1","amount":1501}`, 422, platform.EPRICECHANGED, nil},
		// The offer: cashed out, paying the amount.
		{"accepted", "/v1/bets/b-1/cashout", `{"id":"c-1","amount":1500}`, 201, "",
			map[string]any{"id": "c-1", "amount": 1500.0, "bet.id": "b-1", "bet.status": "cashed_out", "bet.payout": 1500.0}},
		// Its resend: 200, the same answer.
		{"resend", "/v1/bets/b-1/cashout", `{"id":"c-1","amount":1500}`, 200, "",
			map[string]any{"id": "c-1", "amount": 1500.0, "bet.status": "cashed_out", "bet.payout": 1500.0}},
		// Less than the offer is fine for a new id, but the id is taken
		// with another amount, or another bet.
		{"conflict amount", "/v1/bets/b-1/cashout", `{"id":"c-1","amount":1400}`, 409, platform.ECONFLICT, nil},
		{"conflict bet", "/v1/bets/b-2/cashout", `{"id":"c-1","amount":1500}`, 409, platform.ECONFLICT, nil},
		// A new id on the cashed-out bet.
		{"not open", "/v1/bets/b-1/cashout", `{"id":"c-2","amount":1000}`, 422, platform.EBETCLOSED, nil},
		// The market is suspended.
		{"suspended", "/v1/bets/b-3/cashout", `{"id":"c-3","amount":500}`, 422, platform.EMARKETSUSPENDED, nil},
		// No such bet.
		{"no bet", "/v1/bets/b-9/cashout", `{"id":"c-4","amount":500}`, 404, platform.ENOTFOUND, nil},
		// Bad bodies.
		{"no amount", "/v1/bets/b-2/cashout", `{"id":"c-5"}`, 400, platform.EINVALID, nil},
		{"zero amount", "/v1/bets/b-2/cashout", `{"id":"c-5","amount":0}`, 400, platform.EINVALID, nil},
		{"fractional amount", "/v1/bets/b-2/cashout", `{"id":"c-5","amount":1.5}`, 400, platform.EINVALID, nil},
		{"unknown field", "/v1/bets/b-2/cashout", `{"id":"c-5","amount":10,"bet":"b-2"}`, 400, platform.EINVALID, nil},
		// A less-than-fair amount is taken and paid as asked.
		{"below the offer", "/v1/bets/b-2/cashout", `{"id":"c-6","amount":1200}`, 201, "",
			map[string]any{"id": "c-6", "amount": 1200.0, "bet.status": "cashed_out", "bet.payout": 1200.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, "POST", base+tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d (body %v)", status, tt.status, body)
			}
			if tt.code != "" {
				if body["code"] != tt.code || len(body) != 2 {
					t.Fatalf("error body %v, want {code: %s, message: ...}", body, tt.code)
				}
				return
			}
			bet, _ := body["bet"].(map[string]any)
			for k, v := range tt.want {
				got, ok := body[k]
				if len(k) > 4 && k[:4] == "bet." {
					got, ok = bet[k[4:]]
				}
				if !ok || got != v {
					t.Errorf("%s = %#v, want %#v (body %v)", k, got, v, body)
				}
			}
		})
	}
	// Player: 10000 − 3000 staked + 1500 + 1200; house −500 + −200.
	for _, q := range []struct {
		sql  string
		want int64
	}{
		{`SELECT balance FROM accounts WHERE id = 'a1'`, 9700},
		{`SELECT balance FROM accounts WHERE id = 'house'`, -700},
		{`SELECT count(*) FROM transactions WHERE kind = 'cashout'`, 2},
		{`SELECT count(*) FROM cashouts`, 2},
		{`SELECT COALESCE(sum(balance), 0) FROM accounts WHERE kind = 'suspense'`, 1000},
	} {
		var n int64
		if err := pool.QueryRow(ctx, q.sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
		if n != q.want {
			t.Errorf("%s = %d, want %d", q.sql, n, q.want)
		}
	}
}

// TestCashoutAPIConcurrent sends cash-outs of one bet at once under
// different ids: exactly one wins, the others are refused EBETCLOSED, and
// the books balance.
func TestCashoutAPIConcurrent(t *testing.T) {
	base, pool, quotes := newAPI(t)
	ctx := context.Background()
	if _, err := quotes.SetOdds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 25000}}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ path, body string }{
		{"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`},
		{"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.5","stake":2000}`},
	} {
		if status, body := call(t, "POST", base+r.path, r.body); status != 201 {
			t.Fatalf("%s %s: %d %v", r.path, r.body, status, body)
		}
	}
	const n = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		codes    = map[any]int{}
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := call(t, "POST", base+"/v1/bets/b-1/cashout", fmt.Sprintf(`{"id":"c-%d","amount":%d}`, i, 1900+i))
			mu.Lock()
			defer mu.Unlock()
			statuses[status]++
			codes[body["code"]]++
		}()
	}
	wg.Wait()
	if statuses[201] != 1 || statuses[422] != n-1 || codes[platform.EBETCLOSED] != n-1 {
		t.Fatalf("statuses %v codes %v: want one 201 and %d EBETCLOSED", statuses, codes, n-1)
	}
	var payout, credited, cashouts, unbalanced, drift int64
	for _, q := range []struct {
		sql string
		to  *int64
	}{
		{`SELECT payout FROM bets WHERE id = 'b-1' AND status = 'cashed_out'`, &payout},
		{`SELECT p.amount FROM postings p JOIN transactions t ON t.id = p.tx_id WHERE t.kind = 'cashout' AND p.account_id = 'a1'`, &credited},
		{`SELECT count(*) FROM cashouts`, &cashouts},
		{`SELECT count(*) FROM (SELECT tx_id FROM postings GROUP BY tx_id HAVING sum(amount) <> 0) x`, &unbalanced},
		{`SELECT count(*) FROM accounts a WHERE a.balance <> COALESCE((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0)`, &drift},
	} {
		if err := pool.QueryRow(ctx, q.sql).Scan(q.to); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if payout < 1900 || payout != credited || cashouts != 1 || unbalanced != 0 || drift != 0 {
		t.Fatalf("payout %d, credited %d, %d cash-out rows, %d unbalanced transactions, %d balances off their postings",
			payout, credited, cashouts, unbalanced, drift)
	}
}

// TestCashoutMetrics: /metrics counts cash-out requests by outcome and
// code, apart from bets.
func TestCashoutMetrics(t *testing.T) {
	pool := pgtest.NewPool(t)
	ledger := postgres.NewStore(pool)
	client, prefix := pgtest.NewRedis(t)
	quotes := redis.NewQuoteStore(client, prefix)
	m := prometheus.New()
	bets := &betting.Service{Ledger: ledger, Quotes: quotes, Limits: risk.Limits{MaxStake: 100000}}
	srv := httptest.NewServer(phttp.New(phttp.Config{Bets: bets, Cashouts: bets, Accounts: &cashier.Service{Ledger: ledger},
		Metrics: m.Handler(), Observer: m}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if _, err := quotes.SetOdds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 20000}}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		path, body string
		status     int
	}{
		{"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`, 201},
		{"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2","stake":1000}`, 201},
		{"/v1/bets/b-1/cashout", `{"id":"c-1","amount":1000}`, 201},
		{"/v1/bets/b-1/cashout", `{"id":"c-1","amount":1000}`, 200},
		{"/v1/bets/b-1/cashout", `{"id":"c-2","amount":1000}`, 422},
		{"/v1/bets/b-1/cashout", `{"id":"c-3"}`, 400},
	} {
		if status, body := call(t, "POST", srv.URL+r.path, r.body); status != r.status {
			t.Fatalf("%s %s: %d %v, want %d", r.path, r.body, status, body, r.status)
		}
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`inplay_cashouts_total{code="",outcome="accepted"} 1`,
		`inplay_cashouts_total{code="",outcome="repeated"} 1`,
		`inplay_cashouts_total{code="EBETCLOSED",outcome="rejected"} 1`,
		`inplay_cashouts_total{code="EINVALID",outcome="rejected"} 1`,
		`inplay_bets_total{code="",outcome="accepted"} 1`,
	} {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("/metrics has no line %s", line)
		}
	}
}
