// Package replay holds the capture format (events, reader, writer), the replay
// plan and the open-loop engine that sends a capture through a platform.
//
// # Capture format v1
//
// A capture is JSON Lines. The first line is a header:
//
//	{"capture":"inplay/v1","name":"smoke","source":"synth","seed":7,"duration_us":240000000}
//
// Every following line is one Event, ordered by t_us (microseconds from the
// start of the capture; equal values keep file order). A file whose name ends
// in .gz is gunzipped transparently. Decoding is strict: an unknown field, an
// unknown kind, a missing required field or a t_us that goes backwards is an
// error that names the line.
//
// Event kinds and the fields each one uses:
//
//	odds      market, prices {selection: decimal odds}        feed
//	status    market, status (open|suspended|closed)          feed
//	result    market, winners [selection...] (empty = void)   feed
//	incident  market, incident (what happened: "goal", "wicket", "four", ...)   feed
//	rollback  market (undo the market's settlement; a later result resettles it)   feed
//	deposit   account, id, amount                             bettor
//	withdraw  account, id, amount                             bettor
//	bet       account, id, market, selection, odds, stake     bettor
//	cashout   account, id, bet, amount                        bettor
//
// Optional fields (all additive within v1; a capture without them means what
// it meant before they existed):
//
//	in_play       status   the market is in play (true) or pre-match (false)
//	bet_delay_ms  status   the market's in-play bet delay, ms (0 = none)
//	removed       status   selections withdrawn from the market (non-runners)
//	adjust        status   {selection: adjustment factor, percent as a decimal string}
//	producer      feed     the vendor producer that sent it ("betfair", "live", "prematch")
//	vendor_ms     feed     the vendor's own timestamp, Unix epoch milliseconds
//	policy        bet      the price policy: exact, better or any; absent: none is sent, the platform's default holds
//	dead_heat     result   {winner: dead-heat factor}: the share of the win a dead-heated winner pays; absent: 1
//	void_factor   result   the share of every stake refunded (a partial void); absent: none
//
// A factor is an exact decimal string above 0 and at most 1, with at most
// four fractional digits ("0.5", "0.3333", "1"), as Sportradar's
// bet_settlement gives dead_heat_factor and void_factor. Only a winner may
// have a dead-heat factor, and a void result (no winners) takes neither. A
// bet's payout on a result with factors is docs/ledger.md's: the void
// share of its stake comes back, and the rest is settled as won (times its
// winner's dead-heat factor) or lost. A rollback (Sportradar's
// rollback_bet_settlement) undoes the market's settlement: its bets are open
// again until a later result settles them afresh. A rollback of a market
// never resulted, or already rolled back, changes nothing. The kind
// rollback and the two result fields were added within v1.
//
// and in the header, start_ms: the wall time of t_us 0, Unix epoch
// milliseconds, when the capture was recorded rather than generated.
//
// A status event is the market's definition as of its t_us: when in_play or
// bet_delay_ms is absent, the market's earlier value holds. A bet's odds are
// the price its bettor last saw; its policy says which prices the bettor
// takes instead (exact: that price only; better: that price or a higher
// one; any: whatever the market offers when the bet is decided). The
// harness sends it with the bet (POST /v1/bets' policy), and reconciliation
// holds the booked odds to it.
//
// # Versioning
//
// A reader of v1 decodes strictly: a field it does not know is an error that
// names the line and the field, never silently dropped, so a capture that
// uses a newer field is refused by an older reader instead of being
// misread. Within v1, fields are only ever added, each optional, each with a
// meaning that leaves a capture without it unchanged; writers omit an
// optional field that holds its default, so a capture that does not use a
// newer field reads with every older v1 reader. The version changes (to
// inplay/v2, and readers refuse a version they do not know) when a field's
// meaning or unit changes, a field becomes required, or a kind or field is
// removed.
//
// Money (stake, amount) is int64 minor units. Odds are exact decimal strings
// with at most four fractional digits, between 1.01 and 1000 ("2.5", "1.91").
// An id is the client-chosen idempotency key of the request: sending the same
// id twice must never take effect twice.
package replay

// CaptureVersion is the value of the header's "capture" field.
const CaptureVersion = "inplay/v1"

// Kind is the kind of a capture event.
type Kind string

// The event kinds of capture format v1.
const (
	KindOdds     Kind = "odds"
	KindStatus   Kind = "status"
	KindResult   Kind = "result"
	KindBet      Kind = "bet"
	KindCashout  Kind = "cashout"
	KindDeposit  Kind = "deposit"
	KindWithdraw Kind = "withdraw"
	// KindIncident is something that happened in the match (a goal, a
	// wicket), from a score feed: it moves no money and no price, but
	// bettors react to it. Added within v1 (see Versioning).
	KindIncident Kind = "incident"
	// KindRollback undoes a market's settlement (a correction): its bets
	// are open again until a later result resettles the market. Added
	// within v1 (see Versioning).
	KindRollback Kind = "rollback"
)

// IsFeed reports whether events of kind k travel over the feed protocol
// (to the platform) rather than as bettor requests (to the Target).
func (k Kind) IsFeed() bool {
	return k == KindOdds || k == KindStatus || k == KindResult || k == KindIncident || k == KindRollback
}

// Market statuses carried by status events.
const (
	StatusOpen      = "open"
	StatusSuspended = "suspended"
	StatusClosed    = "closed"
)

// Header is the first line of a capture.
type Header struct {
	Capture    string `json:"capture"`               // always CaptureVersion
	Name       string `json:"name,omitempty"`        // human name of the capture
	Source     string `json:"source,omitempty"`      // synth, betfair, recorded, ...
	Seed       int64  `json:"seed,omitempty"`        // generator seed, when generated
	Currency   string `json:"currency,omitempty"`    // ISO 4217; amounts are its minor units
	DurationUS int64  `json:"duration_us,omitempty"` // capture length in microseconds
	StartMS    int64  `json:"start_ms,omitempty"`    // wall time of t_us 0, Unix epoch ms, when recorded
}

// Event is one line of a capture after the header.
type Event struct {
	T         int64             `json:"t_us"`
	Kind      Kind              `json:"kind"`
	Market    string            `json:"market,omitempty"`
	Prices    map[string]string `json:"prices,omitempty"`
	Status    string            `json:"status,omitempty"`
	Winners   []string          `json:"winners,omitempty"`
	Account   string            `json:"account,omitempty"`
	ID        string            `json:"id,omitempty"`
	Bet       string            `json:"bet,omitempty"`
	Selection string            `json:"selection,omitempty"`
	Odds      string            `json:"odds,omitempty"`
	Stake     int64             `json:"stake,omitempty"`
	Amount    int64             `json:"amount,omitempty"`

	// Optional fields (see the package doc).
	InPlay     *bool             `json:"in_play,omitempty"`      // status
	BetDelayMS *int64            `json:"bet_delay_ms,omitempty"` // status
	Removed    []string          `json:"removed,omitempty"`      // status
	Adjust     map[string]string `json:"adjust,omitempty"`       // status
	Producer   string            `json:"producer,omitempty"`     // feed kinds
	VendorMS   int64             `json:"vendor_ms,omitempty"`    // feed kinds
	Policy     string            `json:"policy,omitempty"`       // bet
	Incident   string            `json:"incident,omitempty"`     // incident: what happened
	DeadHeat   map[string]string `json:"dead_heat,omitempty"`    // result: winner → dead-heat factor
	VoidFactor string            `json:"void_factor,omitempty"`  // result: the share of each stake refunded
}

// Bet price policies (Event.Policy): what the bettor accepts when the price
// moved from the odds they asked for. "" sends none, so the platform's
// default applies (the reference platform's is better).
const (
	PolicyExact  = "exact"
	PolicyBetter = "better"
	PolicyAny    = "any"
)

// MaxBetDelayMS bounds a status event's bet_delay_ms: a minute, far above
// any real in-play delay (Betfair's are 0-12 s).
const MaxBetDelayMS = 60_000

// Capture is a header and its events, in order.
type Capture struct {
	Header Header
	Events []Event
}
