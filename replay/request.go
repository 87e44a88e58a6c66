package replay

import (
	"encoding/json"
	"net/http"
)

// Request is the HTTP request an HTTPTarget makes for one bettor event,
// written out so that another load tool (replay/k6) sends exactly the same
// requests without a second copy of the routes of docs/api.md.
type Request struct {
	Method string // always POST in API v1
	Path   string // e.g. /v1/bets, escaped
	Body   []byte // the JSON body, as HTTPTarget sends it
}

// RequestFor returns the request for ev, or an error for a feed event,
// which goes to the feed server, not to the API.
func RequestFor(ev Event) (Request, error) {
	path, body, err := route(ev)
	if err != nil {
		return Request{}, err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Request{}, err
	}
	return Request{Method: http.MethodPost, Path: path, Body: b}, nil
}

// OutcomeOfStatus is what HTTPTarget makes of an answer's HTTP status: 2xx
// accepted, 4xx rejected, anything else (5xx, 3xx, 0 for no answer)
// unknown, since the request may have taken effect.
func OutcomeOfStatus(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return OutcomeAccepted
	case status >= 400 && status < 500:
		return OutcomeRejected
	}
	return OutcomeUnknown
}
