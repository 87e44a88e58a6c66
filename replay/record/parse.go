package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/replay"
)

// MaxBody is the largest request body the recorder parses, the reference
// API's own bound (16 KiB). A larger body on a recorded route is still
// forwarded, streamed, but is not recorded: the API refuses it anyway.
const MaxBody = 16 << 10

// route is a recorded route: the capture kind its requests become, and the
// id its path carries (the account of a deposit or withdrawal, the bet of a
// cash-out).
type route struct {
	kind  replay.Kind
	param string
}

// routeOf matches a request to the reference API's bettor routes
// (docs/api.md), on the escaped path so that an id holding an escaped "/"
// stays one segment, as the API reads it. ok is false for every other
// request, which the recorder forwards without looking at it.
func routeOf(method, escapedPath string) (r route, ok bool) {
	if method != http.MethodPost {
		return route{}, false
	}
	seg := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	switch {
	case len(seg) == 2 && seg[0] == "v1" && seg[1] == "bets":
		return route{kind: replay.KindBet}, true
	case len(seg) == 4 && seg[0] == "v1" && seg[1] == "bets" && seg[2] != "" && seg[3] == "cashout":
		return route{kind: replay.KindCashout, param: seg[2]}, true
	case len(seg) == 4 && seg[0] == "v1" && seg[1] == "accounts" && seg[2] != "" && seg[3] == "deposits":
		return route{kind: replay.KindDeposit, param: seg[2]}, true
	case len(seg) == 4 && seg[0] == "v1" && seg[1] == "accounts" && seg[2] != "" && seg[3] == "withdrawals":
		return route{kind: replay.KindWithdraw, param: seg[2]}, true
	}
	return route{}, false
}

// Bodies of the reference API's bettor routes; pointers tell a missing
// field from a zero one.
type (
	betBody struct {
		ID        *string `json:"id"`
		Account   *string `json:"account"`
		Market    *string `json:"market"`
		Selection *string `json:"selection"`
		Odds      *string `json:"odds"`
		Stake     *int64  `json:"stake"`
	}
	moneyBody struct {
		ID     *string `json:"id"`
		Amount *int64  `json:"amount"`
	}
)

// ParseRequest turns one request of the reference API into the capture
// event it is (t_us left 0 for the caller to stamp). recorded is false for
// a request on no bettor route (anything but POST /v1/bets,
// /v1/bets/{bet}/cashout, /v1/accounts/{account}/deposits and
// /withdrawals); err is set when it is on one but its body cannot be a
// capture event: not one JSON object of the route's fields, a field
// missing or unknown, or a value the capture format refuses (bad odds, a
// stake or amount that is not positive). Those are the bodies the API
// answers with EINVALID, and a replay could not send them as they were.
//
// A cash-out's body names no account, which its capture event needs:
// betAccount gives the account of the bet it cashes out (the recorder
// remembers the bets it has seen). A cash-out of a bet it does not know
// is an error that wraps ErrUnknownBet.
func ParseRequest(method, escapedPath string, body []byte, betAccount func(bet string) (string, bool)) (ev replay.Event, recorded bool, err error) {
	r, ok := routeOf(method, escapedPath)
	if !ok {
		return replay.Event{}, false, nil
	}
	ev, err = parseBody(r, body, betAccount)
	return ev, true, err
}

// ErrUnknownBet is why a cash-out is not recorded when the bet it cashes
// out was placed before the recording started: its account is unknown.
var ErrUnknownBet = errors.New("cash-out of a bet the recording has not seen, so its account is unknown")

// parseBody decodes body as r's request and checks the event it makes.
func parseBody(r route, body []byte, betAccount func(bet string) (string, bool)) (replay.Event, error) {
	if len(body) > MaxBody {
		return replay.Event{}, fmt.Errorf("body is larger than %d bytes", MaxBody)
	}
	param, err := url.PathUnescape(r.param)
	if err != nil {
		return replay.Event{}, fmt.Errorf("path: %v", err)
	}
	ev := replay.Event{Kind: r.kind}
	var missing []string
	need := func(name string, set bool) {
		if !set {
			missing = append(missing, name)
		}
	}
	switch r.kind {
	case replay.KindBet:
		var b betBody
		if err := decodeStrict(body, &b); err != nil {
			return replay.Event{}, err
		}
		need("id", b.ID != nil)
		need("account", b.Account != nil)
		need("market", b.Market != nil)
		need("selection", b.Selection != nil)
		need("odds", b.Odds != nil)
		need("stake", b.Stake != nil)
		if len(missing) == 0 {
			ev.ID, ev.Account, ev.Market, ev.Selection, ev.Odds, ev.Stake = *b.ID, *b.Account, *b.Market, *b.Selection, *b.Odds, *b.Stake
		}
	default: // deposit, withdraw, cashout: {id, amount}
		var b moneyBody
		if err := decodeStrict(body, &b); err != nil {
			return replay.Event{}, err
		}
		need("id", b.ID != nil)
		need("amount", b.Amount != nil)
		if len(missing) == 0 {
			ev.ID, ev.Amount = *b.ID, *b.Amount
		}
		if r.kind == replay.KindCashout {
			ev.Bet = param
			if len(missing) == 0 && param != "" {
				acct, ok := "", false
				if betAccount != nil {
					acct, ok = betAccount(param)
				}
				if !ok {
					return replay.Event{}, fmt.Errorf("bet %q: %w", param, ErrUnknownBet)
				}
				ev.Account = acct
			}
		} else {
			ev.Account = param
		}
	}
	if len(missing) > 0 {
		return replay.Event{}, fmt.Errorf("body lacks %s", strings.Join(missing, ", "))
	}
	if err := ev.Validate(); err != nil {
		return replay.Event{}, err
	}
	return ev, nil
}

// decodeStrict decodes exactly one JSON object from b into v, refusing
// unknown fields, as the reference API does.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("body is empty")
		}
		return fmt.Errorf("body is not valid: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("body must hold exactly one JSON value")
	}
	return nil
}

// FeedMessage is one feed message as the recorder sees it.
type FeedMessage struct {
	Seq      int64
	Producer string
	Type     string
	// Event is the capture event of an odds, status, result or incident
	// message (t_us left 0); nil for a heartbeat or a type the recorder
	// does not record.
	Event *replay.Event
}

// ParseFeedMessage decodes one message of the reference feed protocol. A
// message that is not a JSON object, lacks seq or type, or whose event the
// capture format refuses (an odds message without prices, an unknown
// status, ...) is an error. The event's vendor_ms is the message's own
// vendor_ms when it has one, else its ts (when the vendor sent it), in
// Unix milliseconds; its producer is the message's.
func ParseFeedMessage(b []byte) (FeedMessage, error) {
	// The harness's own protocol decoding (unknown fields ignored, seq and
	// type required), so the recorder reads a message as the feed server
	// writes it.
	w, err := replay.ParseFeedMessage(b)
	if err != nil {
		return FeedMessage{}, err
	}
	m := FeedMessage{Seq: w.Seq, Producer: w.Producer, Type: w.Type}
	kind := replay.Kind(m.Type)
	if !kind.IsFeed() {
		return m, nil // heartbeat, snapshot_complete, or a type from a newer server
	}
	ev := replay.Event{Kind: kind, Market: w.Market, Producer: w.Producer, VendorMS: w.VendorMS}
	if ev.VendorMS == 0 && w.TS != "" {
		if ts, err := time.Parse(time.RFC3339Nano, w.TS); err == nil && ts.UnixMilli() > 0 {
			ev.VendorMS = ts.UnixMilli()
		}
	}
	// Each kind takes only its own fields, so a server that sends more
	// (a status message's prices, say) still records a valid event.
	switch kind {
	case replay.KindOdds:
		ev.Prices = w.Prices
	case replay.KindStatus:
		ev.Status, ev.InPlay, ev.BetDelayMS, ev.Removed, ev.Adjust = w.Status, w.InPlay, w.BetDelayMS, w.Removed, w.Adjust
	case replay.KindResult:
		if w.Winners != nil {
			ev.Winners = *w.Winners
		}
	case replay.KindIncident:
		ev.Incident = w.Incident
	}
	if len(ev.Winners) == 0 {
		ev.Winners = nil // [] and absent both void the market; the capture writes neither
	}
	if err := ev.Validate(); err != nil {
		return FeedMessage{}, fmt.Errorf("feed message seq %d: %v", m.Seq, err)
	}
	m.Event = &ev
	return m, nil
}
