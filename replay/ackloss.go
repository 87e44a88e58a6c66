package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/inplaylabs/inplay/chaos"
)

// AckLoss is the harness's side of the protocol fault ack_lost: an
// http.RoundTripper in front of an HTTPTarget's transport that, while the
// fault is on, lets every request reach the platform as usual, waits until
// the platform's whole answer has come back, and then throws the answer
// away and closes its connection, as a network that lost the answer on its
// way back would. The platform has done what it did (a bet it accepted is
// committed); the harness records the outcome as unknown, and
// reconciliation must resolve it to present once or absent.
//
// The answer is lost after it has fully arrived, never before the request
// was sent: what is tested is the client not knowing, not the request not
// arriving (other faults do that).
type AckLoss struct {
	next http.RoundTripper

	mu    sync.Mutex
	on    bool
	gen   int64 // counts faults started, so an answer is charged to its own
	every int64
	seen  int64 // requests answered since the fault started
	lost  []string
	ids   map[string]bool
}

var _ chaos.Answers = (*AckLoss)(nil)

// ErrAnswerLost is the error of a request whose answer an ack_lost fault
// threw away.
var ErrAnswerLost = errors.New("the answer was lost on its way back (ack_lost fault)")

// NewAckLoss returns an AckLoss with no fault on. An HTTPTarget given it
// with the LoseAnswers option puts it in front of its transport.
func NewAckLoss() *AckLoss {
	return &AckLoss{next: http.DefaultTransport}
}

// LoseAnswers puts a in front of the HTTPTarget's transport, so that an
// ack_lost fault can lose the target's answers.
func LoseAnswers(a *AckLoss) HTTPTargetOption {
	return func(t *HTTPTarget) { t.ackLoss = a }
}

type eventIDKey struct{}

// withEventID tells an AckLoss whose event a request carries.
func withEventID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, eventIDKey{}, id)
}

// RoundTrip sends req on the transport behind; while a fault is on, it loses
// the answers it is told to.
func (a *AckLoss) RoundTrip(req *http.Request) (*http.Response, error) {
	gen, lose := a.lose()
	if !lose {
		return a.next.RoundTrip(req)
	}
	// Its connection goes with the answer: a lost answer leaves the client
	// with a dead exchange, never one it can use again.
	req = req.Clone(req.Context())
	req.Close = true
	resp, err := a.next.RoundTrip(req)
	if err != nil {
		return resp, err // lost anyway, and not by this fault
	}
	// The whole answer arrives first: the platform has sent it, and only
	// then is it lost. Reading it to the end is what makes that so.
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	id, _ := req.Context().Value(eventIDKey{}).(string)
	if id == "" {
		id = req.Method + " " + req.URL.Path
	}
	a.mu.Lock()
	if !a.on || a.gen != gen {
		// The fault healed while this answer was on its way: it arrives,
		// since a loss after the heal would be in no fault's evidence.
		a.mu.Unlock()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	if !a.ids[id] {
		a.ids[id] = true
		a.lost = append(a.lost, id)
	}
	a.mu.Unlock()
	return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrAnswerLost)
}

// lose says whether the answer to the request now being sent is to be lost,
// and by which fault.
func (a *AckLoss) lose() (int64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.on {
		return 0, false
	}
	a.seen++
	return a.gen, a.every <= 1 || a.seen%a.every == 1
}

// StartAckLoss implements chaos.Answers: it loses one answer in every (1 or
// 0: all) until the returned function is called. One fault at a time.
func (a *AckLoss) StartAckLoss(_ context.Context, every int) (func() chaos.AnswersLost, error) {
	if every < 0 {
		return nil, fmt.Errorf("ack_lost: every must be at least 1, not %d", every)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.on {
		return nil, errors.New("ack_lost: a fault is already losing answers")
	}
	a.gen++
	a.on, a.every, a.seen, a.lost, a.ids = true, int64(every), 0, nil, map[string]bool{}
	var once sync.Once
	var out chaos.AnswersLost
	return func() chaos.AnswersLost {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.on = false
			out = chaos.AnswersLost{Requests: a.seen, Lost: a.lost}
			a.lost, a.ids = nil, nil
		})
		return out
	}, nil
}
