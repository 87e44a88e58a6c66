package replay

import (
	"maps"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Outcome is what became of one journaled request.
type Outcome string

// The outcomes a journal entry can have.
const (
	// OutcomeAccepted: the platform acknowledged the request (2xx).
	OutcomeAccepted Outcome = "accepted"
	// OutcomeRejected: the platform refused it with a domain error code (4xx);
	// it must have taken no effect.
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnknown: no definitive answer (timeout, transport error, 5xx);
	// it may or may not have taken effect, and reconciliation must resolve it.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeDropped: never sent, because the generator had no free worker at
	// its intended send time. Counted, never queued.
	OutcomeDropped Outcome = "dropped"
	// OutcomePublished: a feed event was published to the feed server.
	OutcomePublished Outcome = "published"
)

// JournalEntry records one planned event of a replay and what became of it.
// Times are microseconds from the replay's start (the replay clock's zero).
// The journal is written as JSON Lines (journal.jsonl) in the run's folder.
type JournalEntry struct {
	Seq       int64    `json:"seq"`                 // position in the plan, from 1
	Kind      Kind     `json:"kind"`                // event kind
	ID        string   `json:"id,omitempty"`        // request id (bet id, deposit id, ...)
	Account   string   `json:"account,omitempty"`   // bettor account
	Market    string   `json:"market,omitempty"`    // market, for bets and feed events
	Selection string   `json:"selection,omitempty"` // bets
	Odds      string   `json:"odds,omitempty"`      // requested odds, for bets
	Policy    string   `json:"policy,omitempty"`    // bets: the price policy sent ("" = none, the platform's default)
	Stake     int64    `json:"stake,omitempty"`     // bets, minor units
	Amount    int64    `json:"amount,omitempty"`    // deposits, withdrawals, cash-outs
	Bet       string   `json:"bet,omitempty"`       // cash-outs: the bet cashed out
	Winners   []string `json:"winners,omitempty"`   // results
	// DeadHeat and VoidFactor are a result's settlement factors, as the
	// capture gave them (docs/ledger.md turns them into payouts). Added
	// within v1: absent means a dead heat of 1 and no void.
	DeadHeat   map[string]string `json:"dead_heat,omitempty"`    // results: winner → dead-heat factor
	VoidFactor string            `json:"void_factor,omitempty"`  // results: the share of each stake refunded
	Status     string            `json:"status,omitempty"`       // status events: the market's new status
	InPlay     *bool             `json:"in_play,omitempty"`      // status events, when the capture gives it
	BetDelayMS *int64            `json:"bet_delay_ms,omitempty"` // status events, when the capture gives it
	Clone      int               `json:"clone,omitempty"`        // 0 = as recorded, n = nth headroom clone
	FeedSeq    int64             `json:"feed_seq,omitempty"`     // feed events: seq assigned by the feed server
	IntendedUS int64             `json:"intended_us"`            // when the plan said to send it
	SentUS     int64             `json:"sent_us,omitempty"`      // when it was actually sent; feed events: when handed to the feed server
	DoneUS     int64             `json:"done_us,omitempty"`      // when the answer (or error) arrived; a pending bet: its decision, read by following it
	PendingUS  int64             `json:"pending_us,omitempty"`   // a pending bet: when the platform answered 202 pending
	Outcome    Outcome           `json:"outcome"`                // see the Outcome constants
	Code       string            `json:"code,omitempty"`         // platform error code, e.g. EPRICECHANGED
	HTTPStatus int               `json:"http_status,omitempty"`  // HTTP status, when there was one
	Error      string            `json:"error,omitempty"`        // transport error text, for unknown outcomes
}

// LatencyUS is the latency measured from the intended send time, as the
// open-loop contract requires; it is zero for entries that were never sent.
func (e JournalEntry) LatencyUS() int64 {
	if e.DoneUS == 0 {
		return 0
	}
	return e.DoneUS - e.IntendedUS
}

// appendJournalEntry appends e's JSON encoding to b: the bytes
// encoding/json gives for it (field order, omitempty, and HTML-safe string
// escaping, as a json.Encoder writes by default), without reflection, since
// the engine writes one entry per event. TestAppendJournalEntryMatchesJSON
// and its fuzz test hold it to encoding/json.
func appendJournalEntry(b []byte, e *JournalEntry) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, string(e.Kind))
	b = appendStringField(b, `,"id":`, e.ID)
	b = appendStringField(b, `,"account":`, e.Account)
	b = appendStringField(b, `,"market":`, e.Market)
	b = appendStringField(b, `,"selection":`, e.Selection)
	b = appendStringField(b, `,"odds":`, e.Odds)
	b = appendStringField(b, `,"policy":`, e.Policy)
	b = appendIntField(b, `,"stake":`, e.Stake)
	b = appendIntField(b, `,"amount":`, e.Amount)
	b = appendStringField(b, `,"bet":`, e.Bet)
	if len(e.Winners) > 0 {
		b = append(b, `,"winners":[`...)
		for i, w := range e.Winners {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, w)
		}
		b = append(b, ']')
	}
	if len(e.DeadHeat) > 0 {
		// encoding/json writes a map's keys sorted, each escaped as a string.
		b = append(b, `,"dead_heat":{`...)
		for i, k := range slices.Sorted(maps.Keys(e.DeadHeat)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, e.DeadHeat[k])
		}
		b = append(b, '}')
	}
	b = appendStringField(b, `,"void_factor":`, e.VoidFactor)
	b = appendStringField(b, `,"status":`, e.Status)
	if e.InPlay != nil {
		b = strconv.AppendBool(append(b, `,"in_play":`...), *e.InPlay)
	}
	if e.BetDelayMS != nil {
		b = strconv.AppendInt(append(b, `,"bet_delay_ms":`...), *e.BetDelayMS, 10)
	}
	b = appendIntField(b, `,"clone":`, int64(e.Clone))
	b = appendIntField(b, `,"feed_seq":`, e.FeedSeq)
	b = append(b, `,"intended_us":`...)
	b = strconv.AppendInt(b, e.IntendedUS, 10)
	b = appendIntField(b, `,"sent_us":`, e.SentUS)
	b = appendIntField(b, `,"done_us":`, e.DoneUS)
	b = appendIntField(b, `,"pending_us":`, e.PendingUS)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, string(e.Outcome))
	b = appendStringField(b, `,"code":`, e.Code)
	b = appendIntField(b, `,"http_status":`, int64(e.HTTPStatus))
	b = appendStringField(b, `,"error":`, e.Error)
	return append(b, '}')
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, name...), v)
}

func appendIntField(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, name...), v, 10)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json
// does with HTML escaping on: <, > and & as \u003c, \u003e and \u0026, the
// control characters (\b, \f, \n, \r and \t short), invalid UTF-8 as
// \ufffd, and U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
