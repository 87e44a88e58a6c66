package replay

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Feed message types of the reference feed protocol (docs/feed-protocol.md).
const (
	FeedOdds             = "odds"
	FeedStatus           = "status"
	FeedResult           = "result"
	FeedIncident         = "incident"
	FeedRollback         = "rollback"
	FeedHeartbeat        = "heartbeat"
	FeedSnapshotComplete = "snapshot_complete"
)

// FeedTimeFormat is the layout of a feed message's ts: RFC 3339, UTC, with
// microseconds.
const FeedTimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// FeedMessage is one message of the feed stream.
type FeedMessage struct {
	Seq      int64             `json:"seq"`
	Producer string            `json:"producer"`
	TS       string            `json:"ts"`
	Type     string            `json:"type"`
	Market   string            `json:"market,omitempty"`
	Prices   map[string]string `json:"prices,omitempty"`
	Status   string            `json:"status,omitempty"`
	Winners  *[]string         `json:"winners,omitempty"` // set on results: [] voids the market

	// Added within protocol v1; a client that does not know them ignores
	// them (docs/feed-protocol.md).
	ProducerSeq int64             `json:"producer_seq,omitempty"` // rises by one per producer, from 1
	VendorMS    int64             `json:"vendor_ms,omitempty"`    // the vendor's own timestamp, Unix ms
	InPlay      *bool             `json:"in_play,omitempty"`      // status
	BetDelayMS  *int64            `json:"bet_delay_ms,omitempty"` // status
	Removed     []string          `json:"removed,omitempty"`      // status
	Adjust      map[string]string `json:"adjust,omitempty"`       // status
	Incident    string            `json:"incident,omitempty"`     // incident
	DeadHeat    map[string]string `json:"dead_heat,omitempty"`    // result: winner → dead-heat factor
	VoidFactor  string            `json:"void_factor,omitempty"`  // result: the share of each stake refunded
	// Rollbacks is the market's settlement generation: on a result, how
	// many rollbacks of the market came before it; on a rollback, how many
	// there have been counting this one (from 1). Absent: 0.
	Rollbacks int64 `json:"rollbacks,omitempty"`
}

// feedMessageFor is the stream message for a feed event: seq is the
// stream's, pseq the event's producer's, rollbacks the market's settlement
// generation (see FeedMessage.Rollbacks).
func feedMessageFor(ev Event, seq int64, producer string, pseq int64, ts time.Time, rollbacks int64) FeedMessage {
	m := FeedMessage{Seq: seq, Producer: producer, TS: ts.UTC().Format(FeedTimeFormat), Type: string(ev.Kind), Market: ev.Market,
		ProducerSeq: pseq, VendorMS: ev.VendorMS}
	switch ev.Kind {
	case KindOdds:
		m.Prices = ev.Prices
	case KindStatus:
		m.Status = ev.Status
		m.InPlay, m.BetDelayMS, m.Removed, m.Adjust = ev.InPlay, ev.BetDelayMS, ev.Removed, ev.Adjust
	case KindIncident:
		m.Incident = ev.Incident
	case KindResult:
		w := append([]string{}, ev.Winners...) // never nil, so a void result says []
		m.Winners = &w
		m.DeadHeat, m.VoidFactor, m.Rollbacks = ev.DeadHeat, ev.VoidFactor, rollbacks
	case KindRollback:
		m.Rollbacks = rollbacks
	}
	return m
}

// ParseFeedMessage decodes one stream message as a client must: unknown
// fields are ignored (forward compatibility), an unknown type is returned
// as it is for the caller to skip, but a message that is not a JSON object,
// or lacks seq or type, is a protocol error.
func ParseFeedMessage(b []byte) (FeedMessage, error) {
	var raw struct {
		FeedMessage
		Seq  *int64  `json:"seq"`
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return FeedMessage{}, fmt.Errorf("feed message: %w", err)
	}
	var errs []error
	if raw.Seq == nil {
		errs = append(errs, errors.New("feed message: no seq"))
	} else if *raw.Seq < 0 {
		errs = append(errs, fmt.Errorf("feed message: seq %d is negative", *raw.Seq))
	}
	if raw.Type == nil || *raw.Type == "" {
		errs = append(errs, errors.New("feed message: no type"))
	}
	if len(errs) > 0 {
		return FeedMessage{}, errors.Join(errs...)
	}
	m := raw.FeedMessage
	m.Seq, m.Type = *raw.Seq, *raw.Type
	return m, nil
}
