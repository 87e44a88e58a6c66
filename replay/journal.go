package replay

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
	Seq        int64    `json:"seq"`                   // position in the plan, from 1
	Kind       Kind     `json:"kind"`                  // event kind
	ID         string   `json:"id,omitempty"`          // request id (bet id, deposit id, ...)
	Account    string   `json:"account,omitempty"`     // bettor account
	Market     string   `json:"market,omitempty"`      // market, for bets and feed events
	Selection  string   `json:"selection,omitempty"`   // bets
	Odds       string   `json:"odds,omitempty"`        // requested odds, for bets
	Stake      int64    `json:"stake,omitempty"`       // bets, minor units
	Amount     int64    `json:"amount,omitempty"`      // deposits, withdrawals, cash-outs
	Bet        string   `json:"bet,omitempty"`         // cash-outs: the bet cashed out
	Winners    []string `json:"winners,omitempty"`     // results
	Clone      int      `json:"clone,omitempty"`       // 0 = as recorded, n = nth headroom clone
	FeedSeq    int64    `json:"feed_seq,omitempty"`    // feed events: seq assigned by the feed server
	IntendedUS int64    `json:"intended_us"`           // when the plan said to send it
	SentUS     int64    `json:"sent_us,omitempty"`     // when it was actually sent; feed events: when handed to the feed server
	DoneUS     int64    `json:"done_us,omitempty"`     // when the answer (or error) arrived
	Outcome    Outcome  `json:"outcome"`               // see the Outcome constants
	Code       string   `json:"code,omitempty"`        // platform error code, e.g. EPRICECHANGED
	HTTPStatus int      `json:"http_status,omitempty"` // HTTP status, when there was one
	Error      string   `json:"error,omitempty"`       // transport error text, for unknown outcomes
}

// LatencyUS is the latency measured from the intended send time, as the
// open-loop contract requires; it is zero for entries that were never sent.
func (e JournalEntry) LatencyUS() int64 {
	if e.DoneUS == 0 {
		return 0
	}
	return e.DoneUS - e.IntendedUS
}
