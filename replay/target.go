package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Target is where a replay sends bettor events: the platform under test,
// met only over the network.
type Target interface {
	// Send makes the request for one bettor event (deposit, withdraw, bet or
	// cashout) and reports what became of it. It never returns an error:
	// anything short of a definitive answer is OutcomeUnknown.
	Send(ctx context.Context, ev Event) Response
}

// Response is what became of one request to a Target.
type Response struct {
	Outcome    Outcome // accepted, rejected or unknown
	Code       string  // the platform's error code, e.g. EPRICECHANGED
	HTTPStatus int     // 0 when no answer arrived
	Err        string  // why the outcome is unknown or the rejection has no code
	// PendingAt is when the platform answered 202 pending, for a bet it
	// decides after its in-play delay; the other fields are then the
	// decision's, read by following the bet (zero when it answered at once).
	PendingAt time.Time
}

// DefaultRequestTimeout bounds one request of an HTTPTarget: past it, the
// outcome is unknown and reconciliation must resolve it.
const DefaultRequestTimeout = 5 * time.Second

// HTTPTarget sends bettor events to the reference platform's HTTP API
// (docs/api.md).
type HTTPTarget struct {
	base    string
	client  *http.Client
	timeout time.Duration
	ackLoss *AckLoss
}

// An HTTPTarget is the default Target of a replay.
var _ Target = (*HTTPTarget)(nil)

// HTTPTargetOption configures an HTTPTarget.
type HTTPTargetOption func(*HTTPTarget)

// RequestTimeout sets the per-request timeout (default DefaultRequestTimeout).
func RequestTimeout(d time.Duration) HTTPTargetOption {
	return func(t *HTTPTarget) { t.timeout = d }
}

// HTTPClient makes the target use c instead of its own client, for example
// one whose transport dials through a chaos link. Redirects should be off in
// c: a redirect is not an answer the API gives.
func HTTPClient(c *http.Client) HTTPTargetOption {
	return func(t *HTTPTarget) { t.client = c }
}

// NewHTTPTarget returns a Target for the API at baseURL (such as
// "http://127.0.0.1:8080"). Its default client keeps up to 1024 idle
// connections to the host, so a replay at peak does not spend its time
// opening connections, and follows no redirects.
func NewHTTPTarget(baseURL string, opts ...HTTPTargetOption) *HTTPTarget {
	t := &HTTPTarget{base: strings.TrimRight(baseURL, "/"), timeout: DefaultRequestTimeout}
	for _, o := range opts {
		o(t)
	}
	if t.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 0 // no overall cap
		tr.MaxIdleConnsPerHost = 1024
		tr.IdleConnTimeout = 90 * time.Second
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.client = &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if t.ackLoss != nil {
		c := *t.client
		if c.Transport != nil {
			t.ackLoss.next = c.Transport
		}
		c.Transport = t.ackLoss
		t.client = &c
	}
	return t
}

// request bodies of docs/api.md.
type (
	moneyBody struct {
		ID     string `json:"id"`
		Amount int64  `json:"amount"`
	}
	betBody struct {
		ID        string `json:"id"`
		Account   string `json:"account"`
		Market    string `json:"market"`
		Selection string `json:"selection"`
		Odds      string `json:"odds"`
		Stake     int64  `json:"stake"`
		// Policy is sent only when the capture gives one: without it the
		// platform applies its own default.
		Policy string `json:"policy,omitempty"`
	}
)

// route is the path and body of ev's request, or an error for a feed event.
func route(ev Event) (string, any, error) {
	switch ev.Kind {
	case KindDeposit:
		return "/v1/accounts/" + url.PathEscape(ev.Account) + "/deposits", moneyBody{ev.ID, ev.Amount}, nil
	case KindWithdraw:
		return "/v1/accounts/" + url.PathEscape(ev.Account) + "/withdrawals", moneyBody{ev.ID, ev.Amount}, nil
	case KindBet:
		return "/v1/bets", betBody{ev.ID, ev.Account, ev.Market, ev.Selection, ev.Odds, ev.Stake, ev.Policy}, nil
	case KindCashout:
		return "/v1/bets/" + url.PathEscape(ev.Bet) + "/cashout", moneyBody{ev.ID, ev.Amount}, nil
	}
	return "", nil, fmt.Errorf("%q is not a bettor event; feed events go to the feed server", ev.Kind)
}

// maxErrorBody bounds how much of an answer is read: enough for any
// {"code","message"}, not enough for a runaway body to matter.
const maxErrorBody = 64 << 10

// Send posts ev to its endpoint. A 2xx answer is accepted; a 4xx is rejected,
// with the code from its {"code"} body when there is one; a 5xx, a timeout,
// a transport error or any other status is unknown, since the request may
// have taken effect.
func (t *HTTPTarget) Send(ctx context.Context, ev Event) Response {
	path, body, err := route(ev)
	if err != nil {
		// Not a request at all: refused here, nothing reached the platform.
		return Response{Outcome: OutcomeRejected, Code: "EINVALID", Err: err.Error()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Response{Outcome: OutcomeRejected, Code: "EINVALID", Err: err.Error()}
	}
	parent := ctx // the caller's, for following a pending bet
	if t.ackLoss != nil {
		ctx = withEventID(ctx, ev.ID)
	}
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, bytes.NewReader(b))
	if err != nil {
		return Response{Outcome: OutcomeRejected, Code: "EINVALID", Err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return Response{Outcome: OutcomeUnknown, Err: transportError(err)}
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain what is left so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))

	r := Response{HTTPStatus: resp.StatusCode, Outcome: OutcomeOfStatus(resp.StatusCode)}
	if resp.StatusCode == http.StatusAccepted && ev.Kind == KindBet {
		// Pending: not a decision yet. Follow the bet to its end.
		return t.follow(parent, ev.ID, raw)
	}
	if r.Outcome == OutcomeAccepted {
		return r
	}
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if readErr == nil && json.Unmarshal(raw, &e) == nil && e.Code != "" {
		r.Code = e.Code
		if r.Outcome == OutcomeUnknown {
			r.Err = e.Message
		}
		return r
	}
	r.Err = fmt.Sprintf("HTTP %d without an error code: %q", resp.StatusCode, truncate(raw, 200))
	if readErr != nil {
		r.Err = fmt.Sprintf("HTTP %d, reading the body: %v", resp.StatusCode, readErr)
	}
	return r
}

// Following a pending bet (docs/api.md, "Pending bets"): the first read
// when its delay should have ended, then every pollInterval, within the
// request timeout counted from the delay's end.
const (
	pollInterval = 20 * time.Millisecond
	maxDecideIn  = time.Minute // the longest delay a platform may announce
)

// betState is GET /v1/bets/{id}'s body, as far as following reads it.
type betState struct {
	Status     string `json:"status"`
	DecideInMS *int64 `json:"decide_in_ms"`
	Code       string `json:"code"`
	Message    string `json:"message"`
}

// decideIn is how long the platform said a pending bet's delay still runs.
func (b betState) decideIn() time.Duration {
	if b.DecideInMS == nil || *b.DecideInMS < 0 {
		return 0
	}
	return min(time.Duration(*b.DecideInMS)*time.Millisecond, maxDecideIn)
}

// follow reads pending bet id until it is decided: booked (accepted, or
// already settled) is accepted, rejected is rejected with its code, and no
// decision within the timeout past the delay's end is unknown. An answer
// that is not a decision (a 404 while its record is rebuilt, a 5xx, a
// transport error) is read again, since the bet may still be decided.
func (t *HTTPTarget) follow(ctx context.Context, id string, first []byte) Response {
	r := Response{PendingAt: time.Now(), HTTPStatus: http.StatusAccepted}
	var st betState
	_ = json.Unmarshal(first, &st)
	budget := st.decideIn() + t.timeout
	if t.timeout <= 0 {
		budget = st.decideIn() + DefaultRequestTimeout
	}
	// The follow has a deadline of its own, from now, and none of ctx's
	// values: the caller's request trace (the engine's send time) and
	// deadline were the POST's. ctx ending still ends it.
	fctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	ctx = fctx
	wait := st.decideIn()
	last := "no answer"
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			r.Outcome, r.Err = OutcomeUnknown, fmt.Sprintf("timeout: pending bet %s not decided within %s (last read: %s)", id, budget, last)
			return r
		case <-timer.C:
		}
		wait = pollInterval
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+"/v1/bets/"+url.PathEscape(id), nil)
		if err != nil {
			r.Outcome, r.Err = OutcomeUnknown, err.Error()
			return r
		}
		resp, err := t.client.Do(req)
		if err != nil {
			last = transportError(err)
			continue
		}
		raw, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		st = betState{}
		if resp.StatusCode != http.StatusOK || readErr != nil || json.Unmarshal(raw, &st) != nil {
			last = fmt.Sprintf("HTTP %d %s", resp.StatusCode, truncate(raw, 200))
			continue
		}
		switch st.Status {
		case "pending":
			wait = max(st.decideIn(), pollInterval)
			last = "pending"
		case "rejected":
			r.Outcome, r.Code, r.HTTPStatus, r.Err = OutcomeRejected, st.Code, resp.StatusCode, ""
			if st.Code == "" {
				r.Err = "rejected without an error code: " + st.Message
			}
			return r
		case "accepted", "won", "lost", "void", "cashed_out":
			r.Outcome, r.HTTPStatus = OutcomeAccepted, resp.StatusCode
			return r
		default:
			last = fmt.Sprintf("status %q", st.Status)
		}
	}
}

// transportError names a transport failure, telling timeouts apart.
func transportError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// truncate shortens b to n bytes for an error message.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
