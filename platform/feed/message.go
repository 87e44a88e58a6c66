package feed

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/inplaylabs/inplay/platform"
)

// The message types of the feed protocol (docs/feed-protocol.md).
const (
	TypeOdds             = "odds"
	TypeStatus           = "status"
	TypeResult           = "result"
	TypeIncident         = "incident"
	TypeRollback         = "rollback"
	TypeHeartbeat        = "heartbeat"
	TypeSnapshotComplete = "snapshot_complete"
)

// Message is one decoded feed message.
type Message struct {
	Seq      int64 // 0 when the message carried none (a heartbeat before anything was sent)
	Producer string
	TS       time.Time // zero when absent
	Type     string
	Market   string                // odds, status, result
	Prices   []platform.Selection  // odds; sorted by selection id
	Status   platform.MarketStatus // status
	Winners  []string              // result; empty (not nil) voids the market

	// Added within protocol v1 (docs/feed-protocol.md); zero when absent.
	ProducerSeq int64             // rises by one per producer
	Vendor      time.Time         // the vendor's own timestamp
	InPlay      *bool             // status: in play (true) or pre-match
	BetDelay    *time.Duration    // status: the market's in-play bet delay
	Removed     []string          // status: withdrawn selections
	Adjust      map[string]string // status: selection → adjustment factor, percent
	Incident    string            // incident: what happened ("goal", "wicket")
	// result: the dead-heat factors of winners and the void factor;
	// result and rollback: the market's settlement generation (Rollbacks).
	DeadHeat   map[string]platform.Factor
	VoidFactor platform.Factor
	Rollbacks  int64
}

// Result is m's result as the settlement takes it.
func (m Message) Result() platform.Result {
	return platform.Result{Winners: m.Winners, DeadHeat: m.DeadHeat, VoidFactor: m.VoidFactor, Rollbacks: m.Rollbacks}
}

// MaxBetDelay bounds a status message's bet_delay_ms.
const MaxBetDelay = time.Minute

// wireMessage is the JSON form. Pointers tell a missing field from a zero one.
type wireMessage struct {
	Seq      *int64            `json:"seq"`
	Producer string            `json:"producer"`
	TS       string            `json:"ts"`
	Type     *string           `json:"type"`
	Market   string            `json:"market"`
	Prices   map[string]string `json:"prices"`
	Status   string            `json:"status"`
	Winners  []string          `json:"winners"`

	ProducerSeq int64             `json:"producer_seq"`
	VendorMS    int64             `json:"vendor_ms"`
	InPlay      *bool             `json:"in_play"`
	BetDelayMS  *int64            `json:"bet_delay_ms"`
	Removed     []string          `json:"removed"`
	Adjust      map[string]string `json:"adjust"`
	Incident    string            `json:"incident"`
	DeadHeat    map[string]string `json:"dead_heat"`
	VoidFactor  *string           `json:"void_factor"`
	Rollbacks   int64             `json:"rollbacks"`
}

// DecodeMessage decodes one feed message and checks it against the
// protocol. Unknown fields are ignored and an unknown type is returned as is
// (forward compatibility); the caller ignores it.
//
// On error (an EINVALID *platform.Error) the returned Message still carries
// the seq when one could be read, so the caller can tell which seq the
// broken message used up.
func DecodeMessage(data []byte) (Message, error) {
	var w wireMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return Message{}, platform.Errorf(platform.EINVALID, "feed message is not a JSON object: %v", err)
	}
	if dec.More() {
		return Message{}, platform.Errorf(platform.EINVALID, "feed message holds more than one JSON value")
	}
	m := Message{Producer: w.Producer, Market: w.Market, ProducerSeq: w.ProducerSeq, Incident: w.Incident}
	if w.VendorMS > 0 {
		m.Vendor = time.UnixMilli(w.VendorMS).UTC()
	}
	if w.Seq != nil {
		m.Seq = *w.Seq
	}
	if w.Type != nil {
		m.Type = *w.Type
	}
	var problems []string
	switch {
	case w.Seq == nil:
		problems = append(problems, "seq is missing")
	case *w.Seq < 0:
		problems = append(problems, "seq is negative")
		m.Seq = 0
	}
	if m.Type == "" {
		problems = append(problems, "type is missing")
	}
	if w.TS != "" {
		ts, err := time.Parse(time.RFC3339Nano, w.TS)
		if err != nil {
			problems = append(problems, "ts is not RFC 3339")
		}
		m.TS = ts
	}
	if w.ProducerSeq < 0 {
		problems = append(problems, "producer_seq is negative")
	}
	switch m.Type {
	case TypeOdds, TypeStatus, TypeResult, TypeIncident, TypeRollback:
		if m.Seq < 1 && w.Seq != nil && *w.Seq >= 0 {
			problems = append(problems, "seq must be at least 1")
		}
		if err := platform.CheckID(w.Market); err != nil {
			problems = append(problems, "market "+err.Error())
		}
	}
	switch m.Type {
	case TypeOdds:
		if len(w.Prices) == 0 {
			problems = append(problems, "prices are missing")
		}
		for id, v := range w.Prices {
			if err := platform.CheckID(id); err != nil {
				problems = append(problems, "selection "+err.Error())
				continue
			}
			o, err := platform.ParseOdds(v)
			if err != nil {
				problems = append(problems, "price of "+id+": "+platform.ErrorMessage(err))
				continue
			}
			m.Prices = append(m.Prices, platform.Selection{ID: id, Odds: o})
		}
		slices.SortFunc(m.Prices, func(a, b platform.Selection) int { return strings.Compare(a.ID, b.ID) })
	case TypeStatus:
		m.Status = platform.MarketStatus(w.Status)
		switch m.Status {
		case platform.MarketOpen, platform.MarketSuspended, platform.MarketClosed:
		default:
			problems = append(problems, "status "+quote(w.Status)+" is not open, suspended or closed")
		}
		problems = append(problems, m.definition(w)...)
	case TypeIncident:
		if w.Incident == "" {
			problems = append(problems, "incident is missing")
		}
	case TypeResult:
		if w.Winners == nil {
			problems = append(problems, "winners are missing (an empty list voids the market)")
		}
		m.Winners = make([]string, 0, len(w.Winners))
		for _, id := range w.Winners {
			if err := platform.CheckID(id); err != nil {
				problems = append(problems, "winner "+err.Error())
				continue
			}
			m.Winners = append(m.Winners, id)
		}
		problems = append(problems, m.factors(w)...)
	case TypeRollback:
		m.Rollbacks = w.Rollbacks
		if w.Rollbacks < 1 {
			problems = append(problems, "rollbacks is missing or below 1 (a rollback counts itself)")
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems) // map order must not make the message vary
		return m, platform.Errorf(platform.EINVALID, "feed message (seq %d, type %s): %s", m.Seq, quote(m.Type), strings.Join(problems, "; "))
	}
	return m, nil
}

// definition takes a status message's market definition fields, and
// returns what is wrong with them.
func (m *Message) definition(w wireMessage) []string {
	var problems []string
	m.InPlay = w.InPlay
	if w.BetDelayMS != nil {
		d := time.Duration(*w.BetDelayMS) * time.Millisecond
		if d < 0 || d > MaxBetDelay {
			problems = append(problems, "bet_delay_ms is outside 0 to 60000")
		}
		m.BetDelay = &d
	}
	for _, id := range w.Removed {
		if err := platform.CheckID(id); err != nil {
			problems = append(problems, "removed selection "+err.Error())
			continue
		}
		m.Removed = append(m.Removed, id)
	}
	for id, v := range w.Adjust {
		if err := platform.CheckID(id); err != nil {
			problems = append(problems, "adjust selection "+err.Error())
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err != nil || f < 0 || f > 100 {
			problems = append(problems, "adjust of "+id+" is not a percentage")
			continue
		}
		if m.Adjust == nil {
			m.Adjust = map[string]string{}
		}
		m.Adjust[id] = v
	}
	return problems
}

// factors takes a result's dead_heat, void_factor and rollbacks, and
// returns what is wrong with them.
func (m *Message) factors(w wireMessage) []string {
	var problems []string
	if w.Rollbacks < 0 {
		problems = append(problems, "rollbacks is negative")
	}
	m.Rollbacks = max(w.Rollbacks, 0)
	if w.DeadHeat != nil && len(w.DeadHeat) == 0 {
		problems = append(problems, "dead_heat is empty")
	}
	for id, v := range w.DeadHeat {
		if !slices.Contains(m.Winners, id) {
			problems = append(problems, "dead_heat names "+quote(id)+", which is not a winner")
			continue
		}
		f, err := platform.ParseFactor(v)
		if err != nil {
			problems = append(problems, "dead_heat of "+id+": "+platform.ErrorMessage(err))
			continue
		}
		if m.DeadHeat == nil {
			m.DeadHeat = map[string]platform.Factor{}
		}
		m.DeadHeat[id] = f
	}
	if w.VoidFactor != nil {
		f, err := platform.ParseFactor(*w.VoidFactor)
		switch {
		case err != nil:
			problems = append(problems, "void_factor: "+platform.ErrorMessage(err))
		case len(m.Winners) == 0:
			problems = append(problems, "void_factor on a void result (no winners)")
		default:
			m.VoidFactor = f
		}
	}
	return problems
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Snapshot is the feed's full state at one seq (GET /feed/v1/snapshot).
type Snapshot struct {
	Seq      int64
	Producer string
	Markets  []SnapshotMarket
}

// SnapshotMarket is one market in a Snapshot.
type SnapshotMarket struct {
	Market   string
	Status   platform.MarketStatus // "" when the snapshot gives none
	Prices   []platform.Selection
	Winners  []string       // nil until resulted; empty voids the market
	InPlay   *bool          // nil when the snapshot gives none
	BetDelay *time.Duration // nil when the snapshot gives none
	// The standing result's factors, and the market's settlement
	// generation (0 when the snapshot gives none).
	DeadHeat   map[string]platform.Factor
	VoidFactor platform.Factor
	Rollbacks  int64
}

// Result is the market's standing result as the settlement takes it;
// meaningful only when Winners is not nil.
func (m SnapshotMarket) Result() platform.Result {
	return platform.Result{Winners: m.Winners, DeadHeat: m.DeadHeat, VoidFactor: m.VoidFactor, Rollbacks: m.Rollbacks}
}

type wireSnapshot struct {
	Seq      *int64 `json:"seq"`
	Producer string `json:"producer"`
	Markets  []struct {
		Market  string            `json:"market"`
		Status  string            `json:"status"`
		Prices  map[string]string `json:"prices"`
		Winners []string          `json:"winners"`
		InPlay  *bool             `json:"in_play"`
		BetMS   *int64            `json:"bet_delay_ms"`

		DeadHeat   map[string]string `json:"dead_heat"`
		VoidFactor *string           `json:"void_factor"`
		Rollbacks  int64             `json:"rollbacks"`
	} `json:"markets"`
}

// DecodeSnapshot decodes and checks a snapshot. Returns EINVALID errors.
func DecodeSnapshot(data []byte) (*Snapshot, error) {
	var w wireSnapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return nil, platform.Errorf(platform.EINVALID, "snapshot is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, platform.Errorf(platform.EINVALID, "snapshot holds more than one JSON value")
	}
	if w.Seq == nil || *w.Seq < 0 {
		return nil, platform.Errorf(platform.EINVALID, "snapshot seq is missing or negative")
	}
	s := &Snapshot{Seq: *w.Seq, Producer: w.Producer, Markets: make([]SnapshotMarket, 0, len(w.Markets))}
	for i, wm := range w.Markets {
		if err := platform.CheckID(wm.Market); err != nil {
			return nil, platform.Errorf(platform.EINVALID, "snapshot market %d: market %v", i, err)
		}
		m := SnapshotMarket{Market: wm.Market, Status: platform.MarketStatus(wm.Status), InPlay: wm.InPlay}
		if wm.BetMS != nil {
			d := time.Duration(*wm.BetMS) * time.Millisecond
			if d < 0 || d > MaxBetDelay {
				return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: bet_delay_ms is outside 0 to 60000", wm.Market)
			}
			m.BetDelay = &d
		}
		if wm.Status != "" && !m.Status.Valid() {
			return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: status %s is unknown", wm.Market, quote(wm.Status))
		}
		for id, v := range wm.Prices {
			if err := platform.CheckID(id); err != nil {
				return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: selection %v", wm.Market, err)
			}
			o, err := platform.ParseOdds(v)
			if err != nil {
				return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: price of %q: %s", wm.Market, id, platform.ErrorMessage(err))
			}
			m.Prices = append(m.Prices, platform.Selection{ID: id, Odds: o})
		}
		slices.SortFunc(m.Prices, func(a, b platform.Selection) int { return strings.Compare(a.ID, b.ID) })
		if wm.Winners != nil {
			m.Winners = make([]string, 0, len(wm.Winners))
			for _, id := range wm.Winners {
				if err := platform.CheckID(id); err != nil {
					return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: winner %v", wm.Market, err)
				}
				m.Winners = append(m.Winners, id)
			}
		}
		// The factors are checked as a result message's are.
		fm := Message{Winners: m.Winners}
		if problems := fm.factors(wireMessage{DeadHeat: wm.DeadHeat, VoidFactor: wm.VoidFactor, Rollbacks: wm.Rollbacks}); len(problems) > 0 {
			slices.Sort(problems)
			return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: %s", wm.Market, strings.Join(problems, "; "))
		}
		if m.Winners == nil && (wm.DeadHeat != nil || wm.VoidFactor != nil) {
			return nil, platform.Errorf(platform.EINVALID, "snapshot market %q: dead_heat or void_factor without a result", wm.Market)
		}
		m.DeadHeat, m.VoidFactor, m.Rollbacks = fm.DeadHeat, fm.VoidFactor, fm.Rollbacks
		s.Markets = append(s.Markets, m)
	}
	return s, nil
}
