package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// apiRecorder is an HTTP edge standing in for the platform's API: it records
// each request and answers with the status and body it is given.
type apiRecorder struct {
	mu     sync.Mutex
	method string
	path   string
	body   map[string]any
	status int
	answer string
}

func (a *apiRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.method, a.path, a.body = r.Method, r.URL.EscapedPath(), nil
	_ = json.Unmarshal(b, &a.body)
	if r.Header.Get("Content-Type") != "application/json" {
		a.path = "wrong content type"
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.answer)
}

func TestHTTPTargetRequests(t *testing.T) {
	api := &apiRecorder{status: http.StatusCreated, answer: `{}`}
	srv := httptest.NewServer(api)
	defer srv.Close()
	target := NewHTTPTarget(srv.URL + "/") // a trailing slash is tolerated
	cases := []struct {
		name string
		ev   Event
		path string
		body string // the JSON body, keys sorted
	}{
		{"deposit", Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: 10000}, "/v1/accounts/a1/deposits", `{"amount":10000,"id":"d-1"}`},
		{"withdraw", Event{Kind: KindWithdraw, Account: "a1", ID: "w-1", Amount: 500}, "/v1/accounts/a1/withdrawals", `{"amount":500,"id":"w-1"}`},
		{"bet", Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500},
			"/v1/bets", `{"account":"a1","id":"b-1","market":"m1","odds":"2.10","selection":"home","stake":500}`},
		{"bet with a policy", Event{Kind: KindBet, Account: "a1", ID: "b-2", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500, Policy: PolicyAny},
			"/v1/bets", `{"account":"a1","id":"b-2","market":"m1","odds":"2.10","policy":"any","selection":"home","stake":500}`},
		{"cashout", Event{Kind: KindCashout, Account: "a1", ID: "c-1", Bet: "b-1", Amount: 450}, "/v1/bets/b-1/cashout", `{"amount":450,"id":"c-1"}`},
		{"a clone's account is escaped in the path", Event{Kind: KindDeposit, Account: "a 1~h1", ID: "d-1~h1", Amount: 1}, "/v1/accounts/a%201~h1/deposits", `{"amount":1,"id":"d-1~h1"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := target.Send(context.Background(), tc.ev)
			if resp.Outcome != OutcomeAccepted || resp.HTTPStatus != 201 {
				t.Fatalf("Send = %+v, want accepted 201", resp)
			}
			api.mu.Lock()
			defer api.mu.Unlock()
			body, _ := json.Marshal(api.body)
			if api.method != "POST" || api.path != tc.path || string(body) != tc.body {
				t.Errorf("request %s %s %s; want POST %s %s", api.method, api.path, body, tc.path, tc.body)
			}
		})
	}
}

func TestHTTPTargetOutcomes(t *testing.T) {
	bet := Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2.10", Stake: 500}
	cases := []struct {
		name    string
		status  int
		answer  string
		outcome Outcome
		code    string
		err     string // a substring of Err, "" for none
	}{
		{"created", 201, `{"id":"b-1"}`, OutcomeAccepted, "", ""},
		{"idempotent replay", 200, `{"id":"b-1"}`, OutcomeAccepted, "", ""},
		{"price changed", 422, `{"code":"EPRICECHANGED","message":"price is 2.00"}`, OutcomeRejected, "EPRICECHANGED", ""},
		{"conflict", 409, `{"code":"ECONFLICT","message":"id reused"}`, OutcomeRejected, "ECONFLICT", ""},
		{"a 4xx without a code is still a refusal", 405, "method not allowed", OutcomeRejected, "", "HTTP 405 without an error code"},
		{"internal error may have taken effect", 500, `{"code":"EINTERNAL","message":"boom"}`, OutcomeUnknown, "EINTERNAL", "boom"},
		{"gateway error without a body", 502, "", OutcomeUnknown, "", "HTTP 502"},
		{"a redirect is not an answer", 302, "", OutcomeUnknown, "", "HTTP 302"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&apiRecorder{status: tc.status, answer: tc.answer})
			defer srv.Close()
			resp := NewHTTPTarget(srv.URL).Send(context.Background(), bet)
			if resp.Outcome != tc.outcome || resp.Code != tc.code || resp.HTTPStatus != tc.status {
				t.Errorf("Send = %+v; want %s %q %d", resp, tc.outcome, tc.code, tc.status)
			}
			if (tc.err == "") != (resp.Err == "") || !strings.Contains(resp.Err, tc.err) {
				t.Errorf("Err = %q, want %q", resp.Err, tc.err)
			}
		})
	}
}

func TestHTTPTargetFailures(t *testing.T) {
	dep := Event{Kind: KindDeposit, Account: "a1", ID: "d-1", Amount: 100}
	t.Run("timeout is unknown", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer srv.Close()
		defer close(release)
		resp := NewHTTPTarget(srv.URL, RequestTimeout(50*time.Millisecond)).Send(context.Background(), dep)
		if resp.Outcome != OutcomeUnknown || !strings.HasPrefix(resp.Err, "timeout") {
			t.Errorf("Send = %+v, want unknown with a timeout", resp)
		}
	})
	t.Run("connection refused is unknown", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		resp := NewHTTPTarget("http://"+addr).Send(context.Background(), dep)
		if resp.Outcome != OutcomeUnknown || resp.Err == "" || resp.HTTPStatus != 0 {
			t.Errorf("Send = %+v, want unknown with an error", resp)
		}
	})
	t.Run("a feed event is refused without a request", func(t *testing.T) {
		resp := NewHTTPTarget("http://127.0.0.1:1").Send(context.Background(), Event{Kind: KindOdds, Market: "m1"})
		if resp.Outcome != OutcomeRejected || resp.Code != "EINVALID" {
			t.Errorf("Send = %+v, want rejected EINVALID", resp)
		}
	})
	t.Run("a custom client is used", func(t *testing.T) {
		used := false
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			used = true
			return http.DefaultTransport.RoundTrip(r)
		})}
		srv := httptest.NewServer(&apiRecorder{status: 201})
		defer srv.Close()
		if resp := NewHTTPTarget(srv.URL, HTTPClient(client)).Send(context.Background(), dep); resp.Outcome != OutcomeAccepted || !used {
			t.Errorf("Send = %+v, custom client used: %v", resp, used)
		}
	})
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A bet answered 202 pending is followed (GET /v1/bets/{id}) to its
// decision: the response is the decision's, with when it went pending.
func TestHTTPTargetFollowsPendingBets(t *testing.T) {
	var gets atomic.Int64
	decision := `{"status":"accepted","odds":"2.1"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"id":"b-1","status":"pending","odds":null,"decide_in_ms":30}`)
		case gets.Add(1) == 1:
			fmt.Fprint(w, `{"id":"b-1","status":"pending","decide_in_ms":0}`)
		default:
			fmt.Fprint(w, decision)
		}
	}))
	defer srv.Close()
	ev := Event{Kind: KindBet, Account: "a1", ID: "b-1", Market: "m1", Selection: "home", Odds: "2", Stake: 1}
	for _, tt := range []struct {
		decision string
		outcome  Outcome
		code     string
	}{
		{`{"status":"accepted","odds":"2.1"}`, OutcomeAccepted, ""},
		{`{"status":"won"}`, OutcomeAccepted, ""},
		{`{"status":"rejected","code":"EPRICECHANGED","message":"moved"}`, OutcomeRejected, "EPRICECHANGED"},
	} {
		gets.Store(0)
		decision = tt.decision
		start := time.Now()
		resp := NewHTTPTarget(srv.URL).Send(context.Background(), ev)
		if resp.Outcome != tt.outcome || resp.Code != tt.code || resp.PendingAt.IsZero() || resp.PendingAt.Before(start) {
			t.Errorf("%s: Send = %+v; want %s %q, pending at set", tt.decision, resp, tt.outcome, tt.code)
		}
		if took := time.Since(start); took < 30*time.Millisecond || gets.Load() < 2 {
			t.Errorf("%s: decided after %s and %d reads; want the announced delay waited, then reads until decided", tt.decision, took, gets.Load())
		}
	}
	// Never decided: unknown once the timeout past the delay has run out.
	gets.Store(0)
	decision = `{"status":"pending","decide_in_ms":0}`
	resp := NewHTTPTarget(srv.URL, RequestTimeout(100*time.Millisecond)).Send(context.Background(), ev)
	if resp.Outcome != OutcomeUnknown || !strings.Contains(resp.Err, "not decided") {
		t.Errorf("never decided: %+v", resp)
	}
}
