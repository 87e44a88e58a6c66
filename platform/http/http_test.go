package http_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/inplaylabs/inplay/platform"
	"github.com/inplaylabs/inplay/platform/betting"
	"github.com/inplaylabs/inplay/platform/cashier"
	phttp "github.com/inplaylabs/inplay/platform/http"
	"github.com/inplaylabs/inplay/platform/postgres"
	"github.com/inplaylabs/inplay/platform/postgres/pgtest"
	"github.com/inplaylabs/inplay/platform/redis"
	"github.com/inplaylabs/inplay/platform/risk"
)

// newAPI serves the API over real stores on a real listener.
func newAPI(t *testing.T, checks ...phttp.HealthCheck) (url string, pool *pgxpool.Pool, quotes *redis.QuoteStore) {
	t.Helper()
	pool = pgtest.NewPool(t)
	ledger := postgres.NewStore(pool)
	client, prefix := pgtest.NewRedis(t)
	quotes = redis.NewQuoteStore(client, prefix)
	bets := &betting.Service{Ledger: ledger, Quotes: quotes, Limits: risk.Limits{MaxStake: 100000}}
	if checks == nil {
		checks = []phttp.HealthCheck{{Name: "postgres", Ping: ledger.Ping}, {Name: "redis", Ping: quotes.Ping}}
	}
	srv := httptest.NewServer(phttp.NewServer(bets, &cashier.Service{Ledger: ledger}, nil, checks...))
	t.Cleanup(srv.Close)
	return srv.URL, pool, quotes
}

func call(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q, body %s", method, url, ct, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, url, data, err)
	}
	return resp.StatusCode, out
}

func TestAPI(t *testing.T) {
	base, pool, quotes := newAPI(t)
	ctx := context.Background()
	if _, err := quotes.SetOdds(ctx, "m1", []platform.Selection{{ID: "home", Odds: 21000}}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := quotes.SetOdds(ctx, "m2", []platform.Selection{{ID: "home", Odds: 21000}}, 1, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := quotes.SetStatus(ctx, "m2", platform.MarketSuspended, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	bigBody := `{"id":"` + strings.Repeat("x", phttp.MaxBodyBytes) + `"}`

	// The rows run in order: later ones rely on earlier ones' effects.
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		code   string         // for errors
		want   map[string]any // fields a success must have
	}{
		// The first deposit creates the account.
		{"deposit", "POST", "/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`, 201, "",
			map[string]any{"id": "d-1", "account": "a1", "amount": 10000.0, "balance": 10000.0}},
		// Its replay answers 200 and the same body.
		{"deposit replay", "POST", "/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`, 200, "",
			map[string]any{"id": "d-1", "account": "a1", "amount": 10000.0, "balance": 10000.0}},
		// The same id with another amount.
		{"deposit conflict", "POST", "/v1/accounts/a1/deposits", `{"id":"d-1","amount":5}`, 409, platform.ECONFLICT, nil},
		// A non-positive amount.
		{"deposit zero", "POST", "/v1/accounts/a1/deposits", `{"id":"d-2","amount":0}`, 400, platform.EINVALID, nil},
		// A missing field.
		{"deposit no amount", "POST", "/v1/accounts/a1/deposits", `{"id":"d-2"}`, 400, platform.EINVALID, nil},
		// An unknown field.
		{"deposit unknown field", "POST", "/v1/accounts/a1/deposits", `{"id":"d-2","amount":1,"currency":"EUR"}`, 400, platform.EINVALID, nil},
		// A withdrawal.
		{"withdraw", "POST", "/v1/accounts/a1/withdrawals", `{"id":"w-1","amount":500}`, 201, "",
			map[string]any{"id": "w-1", "balance": 9500.0}},
		// More than the balance.
		{"withdraw short", "POST", "/v1/accounts/a1/withdrawals", `{"id":"w-2","amount":9501}`, 422, platform.EFUNDS, nil},
		// The account.
		{"account", "GET", "/v1/accounts/a1", "", 200, "", map[string]any{"account": "a1", "balance": 9500.0}},
		// No such account.
		{"no account", "GET", "/v1/accounts/zz", "", 404, platform.ENOTFOUND, nil},
		// A bet at a better price than asked.
		{"bet", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":500}`, 201, "",
			map[string]any{"id": "b-1", "account": "a1", "market": "m1", "selection": "home", "stake": 500.0,
				"requested_odds": "2", "odds": "2.1", "policy": "better", "status": "accepted", "payout": 0.0, "settled_at": nil}},
		// Its resend naming the default policy: the same request.
		{"bet replay default policy", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":500,"policy":"better"}`, 200, "",
			map[string]any{"id": "b-1", "odds": "2.1", "policy": "better"}},
		// Its resend under another policy: another request.
		{"bet other policy", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":500,"policy":"any"}`, 409, platform.ECONFLICT, nil},
		// exact refuses a better price than asked.
		{"exact, price moved up", "POST", "/v1/bets", `{"id":"b-e","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":10,"policy":"exact"}`, 422, platform.EPRICECHANGED, nil},
		// exact at the price: booked at it.
		{"exact", "POST", "/v1/bets", `{"id":"b-e","account":"a1","market":"m1","selection":"home","odds":"2.1","stake":10,"policy":"exact"}`, 201, "",
			map[string]any{"id": "b-e", "requested_odds": "2.1", "odds": "2.1", "policy": "exact"}},
		// any takes a lower price than asked, and books it.
		{"any, price moved down", "POST", "/v1/bets", `{"id":"b-a","account":"a1","market":"m1","selection":"home","odds":"3","stake":10,"policy":"any"}`, 201, "",
			map[string]any{"id": "b-a", "requested_odds": "3", "odds": "2.1", "policy": "any"}},
		// An unknown policy, and an empty one, are refused.
		{"unknown policy", "POST", "/v1/bets", `{"id":"b-p","account":"a1","market":"m1","selection":"home","odds":"2","stake":10,"policy":"sometimes"}`, 400, platform.EINVALID, nil},
		{"empty policy", "POST", "/v1/bets", `{"id":"b-p","account":"a1","market":"m1","selection":"home","odds":"2","stake":10,"policy":""}`, 400, platform.EINVALID, nil},
		// Its resend.
		{"bet replay", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":500}`, 200, "",
			map[string]any{"id": "b-1", "requested_odds": "2", "odds": "2.1", "status": "accepted"}},
		// Its resend with the same odds spelled another way: the same request.
		{"bet replay other spelling", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2","stake":500}`, 200, "",
			map[string]any{"id": "b-1", "requested_odds": "2", "odds": "2.1"}},
		// The same id asking for lower odds, which the booked 2.1 would satisfy.
		{"bet other requested odds", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"1.90","stake":500}`, 409, platform.ECONFLICT, nil},
		// The same id asking for the booked price rather than what it asked.
		{"bet accepted odds as requested", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.1","stake":500}`, 409, platform.ECONFLICT, nil},
		// The same id, another stake.
		{"bet conflict", "POST", "/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2.00","stake":600}`, 409, platform.ECONFLICT, nil},
		// The price is below the request.
		{"price changed", "POST", "/v1/bets", `{"id":"b-2","account":"a1","market":"m1","selection":"home","odds":"2.2","stake":500}`, 422, platform.EPRICECHANGED, nil},
		// The market is suspended.
		{"suspended", "POST", "/v1/bets", `{"id":"b-3","account":"a1","market":"m2","selection":"home","odds":"2","stake":500}`, 422, platform.EMARKETSUSPENDED, nil},
		// The stake is above the limit.
		{"limit", "POST", "/v1/bets", `{"id":"b-4","account":"a1","market":"m1","selection":"home","odds":"2","stake":100001}`, 422, platform.ELIMIT, nil},
		// The stake is above the balance.
		{"funds", "POST", "/v1/bets", `{"id":"b-5","account":"a1","market":"m1","selection":"home","odds":"2","stake":9001}`, 422, platform.EFUNDS, nil},
		// No such market.
		{"no market", "POST", "/v1/bets", `{"id":"b-6","account":"a1","market":"m9","selection":"home","odds":"2","stake":1}`, 404, platform.ENOTFOUND, nil},
		// Odds as a float are refused: they must be exact.
		{"float odds", "POST", "/v1/bets", `{"id":"b-7","account":"a1","market":"m1","selection":"home","odds":2.0,"stake":1}`, 400, platform.EINVALID, nil},
		// Odds with five decimals.
		{"bad odds", "POST", "/v1/bets", `{"id":"b-7","account":"a1","market":"m1","selection":"home","odds":"2.00001","stake":1}`, 400, platform.EINVALID, nil},
		// A fractional stake.
		{"fractional stake", "POST", "/v1/bets", `{"id":"b-7","account":"a1","market":"m1","selection":"home","odds":"2","stake":1.5}`, 400, platform.EINVALID, nil},
		// Two JSON values.
		{"two values", "POST", "/v1/bets", `{"id":"b-7"} {}`, 400, platform.EINVALID, nil},
		// Not JSON.
		{"garbage", "POST", "/v1/bets", `id=b-7`, 400, platform.EINVALID, nil},
		// Empty.
		{"empty", "POST", "/v1/bets", ``, 400, platform.EINVALID, nil},
		// Too large.
		{"too large", "POST", "/v1/bets", bigBody, 400, platform.EINVALID, nil},
		// The bet, read back, with the odds it asked for.
		{"get bet", "GET", "/v1/bets/b-1", "", 200, "", map[string]any{"id": "b-1", "account": "a1", "market": "m1",
			"selection": "home", "stake": 500.0, "requested_odds": "2", "odds": "2.1", "status": "accepted", "payout": 0.0, "settled_at": nil}},
		// No such bet.
		{"no bet", "GET", "/v1/bets/b-9", "", 404, platform.ENOTFOUND, nil},
		// No such route.
		{"no route", "GET", "/v2/bets", "", 404, platform.ENOTFOUND, nil},
		// A method the route does not serve.
		{"wrong method", "DELETE", "/v1/bets/b-1", "", 404, platform.ENOTFOUND, nil},
		// Health.
		{"healthz", "GET", "/healthz", "", 200, "", map[string]any{"status": "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, tt.method, base+tt.path, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d (body %v)", status, tt.status, body)
			}
			if tt.code != "" {
				msg, _ := body["message"].(string)
				if body["code"] != tt.code || msg == "" || len(body) != 2 {
					t.Fatalf("error body %v, want {code: %s, message: ...}", body, tt.code)
				}
				return
			}
			for k, v := range tt.want {
				if got, ok := body[k]; !ok || got != v {
					t.Errorf("%s = %#v, want %#v (body %v)", k, got, v, body)
				}
			}
		})
	}
	// Only b-1, b-e and b-a were booked, once each: no refused request
	// (the conflicts included) left a transaction or a posting behind.
	for _, q := range []struct {
		sql  string
		want int64
	}{
		{`SELECT count(*) FROM bets`, 3},
		{`SELECT count(*) FROM transactions WHERE kind = 'stake'`, 3},
		{`SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.tx_id WHERE t.kind = 'stake' AND t.ref = 'b-1'`, 2},
		{`SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.tx_id WHERE t.kind = 'stake'`, 6},
		{`SELECT count(*) FROM bets WHERE policy = 'any' AND odds_e4 < requested_odds_e4`, 1},
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

func TestHealthzReportsDownDependency(t *testing.T) {
	base, _, _ := newAPI(t, phttp.HealthCheck{Name: "redis", Ping: func(context.Context) error { return errors.New("connection refused") }})
	status, body := call(t, "GET", base+"/healthz", "")
	if status != 500 || body["code"] != platform.EINTERNAL || !strings.Contains(body["message"].(string), "redis") {
		t.Fatalf("healthz = %d %v", status, body)
	}
}

func TestErrorStatusCoversEveryCode(t *testing.T) {
	want := map[string]int{
		platform.EINVALID: 400, platform.ENOTFOUND: 404, platform.ECONFLICT: 409,
		platform.EPRICECHANGED: 422, platform.EMARKETSUSPENDED: 422, platform.EFUNDS: 422,
		platform.ELIMIT: 422, platform.EBETCLOSED: 422, platform.EUNAVAILABLE: 503, platform.EINTERNAL: 500,
	}
	for _, code := range platform.Codes {
		t.Run(code, func(t *testing.T) {
			if got := phttp.ErrorStatus(code); got != want[code] {
				t.Fatalf("ErrorStatus(%s) = %d, want %d (docs/api.md)", code, got, want[code])
			}
		})
	}
}

// TestPendingBetOverHTTP: with a delay and a pending store, POST /v1/bets
// answers 202 pending with where to follow it, GET shows it pending, then
// booked; a bet its delay refuses reads as rejected with the code.
func TestPendingBetOverHTTP(t *testing.T) {
	pool := pgtest.NewPool(t)
	ledger := postgres.NewStore(pool)
	client, prefix := pgtest.NewRedis(t)
	quotes := redis.NewQuoteStore(client, prefix)
	bets := &betting.Service{Ledger: ledger, Quotes: quotes, Limits: risk.Limits{MaxStake: 100000},
		Delay: 300 * time.Millisecond, Pending: redis.NewPendingStore(client, prefix)}
	t.Cleanup(func() { bets.Close(context.Background()) })
	srv := httptest.NewServer(phttp.NewServer(bets, &cashier.Service{Ledger: ledger}, nil))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, m := range []string{"m1", "m2"} {
		if _, err := quotes.SetOdds(ctx, m, []platform.Selection{{ID: "home", Odds: 21000}}, 1, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if status, _ := call(t, "POST", srv.URL+"/v1/accounts/a1/deposits", `{"id":"d-1","amount":10000}`); status != 201 {
		t.Fatalf("deposit: %d", status)
	}
	status, body := call(t, "POST", srv.URL+"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2","stake":500}`)
	if status != 202 || body["status"] != "pending" || body["odds"] != nil || body["decide_in_ms"] == nil {
		t.Fatalf("POST = %d %v; want 202 pending, no odds yet, decide_in_ms", status, body)
	}
	if status, body := call(t, "POST", srv.URL+"/v1/bets", `{"id":"b-2","account":"a1","market":"m2","selection":"home","odds":"2","stake":500}`); status != 202 {
		t.Fatalf("POST b-2 = %d %v", status, body)
	}
	if status, body := call(t, "GET", srv.URL+"/v1/bets/b-1", ""); status != 200 || body["status"] != "pending" {
		t.Fatalf("GET during the delay = %d %v", status, body)
	}
	if _, err := quotes.SetStatus(ctx, "m2", platform.MarketSuspended, 2, time.Time{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, b1 := call(t, "GET", srv.URL+"/v1/bets/b-1", "")
		_, b2 := call(t, "GET", srv.URL+"/v1/bets/b-2", "")
		if b1["status"] == "accepted" && b2["status"] == "rejected" {
			if b1["odds"] != "2.1" || b2["code"] != platform.EMARKETSUSPENDED {
				t.Fatalf("decided: %v / %v", b1, b2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not decided in 5s: %v / %v", b1, b2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Resends: the booked bet as booked (200), the refused one refused.
	if status, body := call(t, "POST", srv.URL+"/v1/bets", `{"id":"b-1","account":"a1","market":"m1","selection":"home","odds":"2","stake":500}`); status != 200 || body["status"] != "accepted" {
		t.Fatalf("resend of b-1 = %d %v", status, body)
	}
	if status, body := call(t, "POST", srv.URL+"/v1/bets", `{"id":"b-2","account":"a1","market":"m2","selection":"home","odds":"2","stake":500}`); status != 422 || body["code"] != platform.EMARKETSUSPENDED {
		t.Fatalf("resend of b-2 = %d %v", status, body)
	}
}
