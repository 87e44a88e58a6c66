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
